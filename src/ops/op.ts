/**
 * @file How a differentiable primitive is declared and run.
 *
 * An op is one object: `forward(ctx, inputs, args)` computes the output with kernels and saves
 * what backward needs; `backward(ctx, grad, args)` returns one gradient per input (or null),
 * written with tensor ops so that higher-order gradients come for free. `apply` runs the forward
 * and, when recording, attaches an `OpNode`. The node checks that saved tensors were not changed
 * in place, and reduces/casts each returned gradient to its input's shape and dtype, so ops may
 * return gradients in the broadcast shape of their output.
 */
import { Node, graphFreedError, isGradEnabled } from '../autograd.ts'
import { TesseraError, fmtShape } from '../errors.ts'
import { sameShape, type Shape } from '../shape.ts'
import type { DType } from '../dtype.ts'
import { Tensor, gradNodeOf } from '../tensor.ts'

export class Ctx {
  saved: Tensor[] = []
  private versions: number[] = []
  /** Which inputs need a gradient; backward may skip the others. */
  readonly needsGrad: boolean[]
  readonly inputShapes: Shape[]
  readonly inputDTypes: DType[]

  constructor(inputs: readonly Tensor[], recording: boolean) {
    this.needsGrad = inputs.map((t) => recording && t.requiresGrad)
    this.inputShapes = inputs.map((t) => t.shape)
    this.inputDTypes = inputs.map((t) => t.dtype)
  }

  /** Keeps tensors for backward, remembering their version to catch later in-place changes. */
  save(...tensors: Tensor[]): void {
    for (const t of tensors) {
      this.saved.push(t)
      this.versions.push(t.version)
    }
  }

  checkVersions(op: string): void {
    this.saved.forEach((t, i) => {
      if (t.version !== this.versions[i]) {
        throw new TesseraError(
          `backward: a tensor of shape ${fmtShape(t.shape)} saved by ${op} was modified by an in-place operation ` +
          `(version ${this.versions[i]} when saved, ${t.version} now); use an out-of-place op or clone() it first`,
        )
      }
    })
  }
}

export interface OpDef<A = void> {
  readonly name: string
  forward(ctx: Ctx, inputs: Tensor[], args: A): Tensor
  backward(ctx: Ctx, grad: Tensor, args: A): (Tensor | null)[]
}

/** The graph node of one op application. */
class OpNode<A> extends Node {
  private freed = false
  constructor(readonly op: OpDef<A>, readonly ctx: Ctx, readonly args: A, next: (Node | null)[]) {
    super(next)
  }

  get name(): string { return this.op.name }

  apply(grad: Tensor): (Tensor | null)[] {
    if (this.freed) throw graphFreedError(this.op.name)
    this.ctx.checkVersions(this.op.name)
    const grads = this.op.backward(this.ctx, grad, this.args)
    return grads.map((g, i) => (g && this.ctx.needsGrad[i] ? fitGrad(this.op.name, g, this.ctx.inputShapes[i], this.ctx.inputDTypes[i]) : null))
  }

  override release(): void {
    if (this.ctx.saved.length > 0) this.freed = true
    this.ctx.saved = []
  }
}

/** Sums a gradient over broadcast dims down to `shape`, and casts it to the input's dtype. */
function fitGrad(op: string, g: Tensor, shape: Shape, dtype: DType): Tensor {
  let out = g
  if (!sameShape(g.shape, shape)) {
    const lead = g.shape.length - shape.length
    if (lead < 0) throw new TesseraError(`backward of ${op}: gradient of shape ${fmtShape(g.shape)} does not fit input of shape ${fmtShape(shape)}`)
    const dims: number[] = []
    for (let i = 0; i < g.shape.length; i++) {
      if (i < lead) dims.push(i)
      else if (shape[i - lead] === 1 && g.shape[i] !== 1) dims.push(i)
      else if (shape[i - lead] !== g.shape[i]) {
        throw new TesseraError(`backward of ${op}: gradient of shape ${fmtShape(g.shape)} does not fit input of shape ${fmtShape(shape)}`)
      }
    }
    out = (dims.length > 0 ? out.sum(dims, true) : out).reshape(shape as number[])
  }
  return out.dtype === dtype ? out : out.to(dtype)
}

/** Runs `op` on `inputs`, recording a graph node when grad mode is on and an input requires grad. */
export function apply<A>(op: OpDef<A>, inputs: Tensor[], args: A): Tensor {
  let recording = false
  if (isGradEnabled()) for (const t of inputs) if (t.requiresGrad) { recording = true; break }
  const ctx = new Ctx(inputs, recording)
  const out = op.forward(ctx, inputs, args)
  if (recording) {
    out.gradFn = new OpNode(op, ctx, args, inputs.map(gradNodeOf))
    out.setRequiresGradInternal()
  }
  return out
}

/** For a kernel-based backward that is not itself differentiable: fail loudly under createGraph. */
export function firstOrderOnly(op: string): void {
  if (isGradEnabled()) throw new TesseraError(`${op}: higher-order gradients (createGraph) are not supported through this op`)
}

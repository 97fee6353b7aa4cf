/**
 * @file User-defined differentiable functions (like `torch.autograd.Function`), for fused kernels
 * and for papers whose layers define their own backward (reversible layers, custom normalisation).
 */
import { TesseraError } from './errors.ts'
import { noGrad } from './autograd.ts'
import type { Tensor } from './tensor.ts'
import { apply, type Ctx, type OpDef } from './ops/op.ts'

export interface CustomFunction {
  name: string
  /** Computes the output (no graph is recorded inside); call `ctx.save(...)` for backward. */
  forward(ctx: Ctx, ...inputs: Tensor[]): Tensor
  /** One gradient per input (null for none), given the output gradient. `ctx.needsGrad[i]` says which are wanted. */
  backward(ctx: Ctx, grad: Tensor): (Tensor | null)[]
}

/**
 * Turns a forward/backward pair into a differentiable function.
 * @example
 *   const square = customOp({ name: 'square',
 *     forward: (ctx, x) => { ctx.save(x); return x.mul(x) },
 *     backward: (ctx, g) => [g.mul(ctx.saved[0]).mul(2)] })
 */
export function customOp(fn: CustomFunction): (...inputs: Tensor[]) => Tensor {
  const op: OpDef<void> = {
    name: fn.name,
    forward(ctx, inputs) {
      const out = noGrad(() => fn.forward(ctx, ...inputs))
      // Never attach a graph node to a tensor the caller passed in.
      return inputs.includes(out) ? out.detach() : out
    },
    backward(ctx, g) {
      const grads = fn.backward(ctx, g)
      if (!Array.isArray(grads) || grads.length !== ctx.inputShapes.length) {
        throw new TesseraError(`${fn.name}: backward returned ${Array.isArray(grads) ? grads.length : typeof grads} gradients for ${ctx.inputShapes.length} inputs`)
      }
      return grads
    },
  }
  return (...inputs: Tensor[]) => apply(op, inputs, undefined)
}

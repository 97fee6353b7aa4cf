/**
 * @file Convolution primitives: `unfold` (im2col) and `fold` (col2im), each other's adjoint, and the
 * direct depthwise 2-D convolution with its two gradient ops (three bilinear maps whose adjoints are
 * each other, so every order of gradient stays inside the three).
 *
 * Everything else in the family is composed in `src/conv.ts`: conv = unfold -> matmul (kernels.gemm)
 * -> reshape, transposed conv = matmul -> fold.
 *
 * Shapes: images (N, C, *S) with S = 1..3 spatial dims; columns (N, C K, L), K = prod(kernel),
 * L = prod(blocks), row c K + k, column = the block's row-major position.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import type { Window3 } from '../kernels/conv.ts'
import type { Depthwise2d } from '../kernels/depthwise.ts'
import { kernels } from '../kernels/registry.ts'
import { numel } from '../shape.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'
import { profileState } from '../profile-state.ts'

/** A sliding window over S = 1..3 spatial dims (every array has S entries). */
export interface Sliding {
  /** The image's spatial size: unfold's input, fold's output. */
  size: number[]
  kernel: number[]
  stride: number[]
  dilation: number[]
  padBefore: number[]
  /** Padding after each dim; it only sets the block count (negative trims trailing image rows). */
  padAfter: number[]
}

/** Blocks per dim: floor((size + padBefore + padAfter - dilation (kernel - 1) - 1) / stride) + 1. */
export function blocks(w: Sliding): number[] {
  return w.size.map((s, i) => Math.floor((s + w.padBefore[i] + w.padAfter[i] - w.dilation[i] * (w.kernel[i] - 1) - 1) / w.stride[i]) + 1)
}

/** The window lifted to the kernels' 3-D form (leading dims of size 1). */
function lift(w: Sliding, N: number, C: number): Window3 {
  const lead = 3 - w.size.length
  const up = (a: number[], fill: number): number[] => [...new Array<number>(lead).fill(fill), ...a]
  return { N, C, size: up(w.size, 1), out: up(blocks(w), 1), kernel: up(w.kernel, 1), stride: up(w.stride, 1), dilation: up(w.dilation, 1), pad: up(w.padBefore, 0) }
}

/** (N, C, *S) strides lifted to (N, C, D, H, W); missing dims have size 1, so their stride is unused. */
const lift5 = (strides: readonly number[]): number[] => [strides[0], strides[1], ...new Array<number>(5 - strides.length).fill(0), ...strides.slice(2)]

export const unfoldOp: OpDef<Sliding> = {
  name: 'unfold',
  forward(_ctx, [x], w) {
    const [N, C] = x.shape
    const g = lift(w, N, C)
    const cols = emptyTensor([N, C * numel(w.kernel), numel(blocks(w))], x.dtype) // (N, C K, L)
    kernels.im2col(cols.storage, x.storage, x.offset, lift5(x.strides), g)
    return cols
  },
  backward: (_ctx, g, w) => [foldRaw(g, w)],
}

export const foldOp: OpDef<Sliding> = {
  name: 'fold',
  forward(_ctx, [cols], w) {
    const N = cols.shape[0], C = cols.shape[1] / numel(w.kernel)
    const out = emptyTensor([N, C, ...w.size], cols.dtype) // (N, C, *S)
    kernels.col2im(out.storage, cols.storage, cols.offset, cols.strides, lift(w, N, C))
    return out
  },
  backward: (_ctx, g, w) => [unfoldRaw(g, w)],
}

/** im2col of a validated (N, C, *S) image: (N, C K, L). */
export const unfoldRaw = (x: Tensor, w: Sliding): Tensor => apply(unfoldOp, [x], w)
/** col2im of validated (N, C K, L) columns: (N, C, *w.size), overlapping blocks summed. */
export const foldRaw = (cols: Tensor, w: Sliding): Tensor => apply(foldOp, [cols], w)

// ---------------------------------------------------------------- depthwise

/** y (N, C M, Ho, Wo) = depthwise conv of x (N, C, H, W) with w (C M, 1, kH, kW). */
export const depthwiseConv2dOp: OpDef<Depthwise2d> = {
  name: 'depthwiseConv2d',
  forward(ctx, [x, w], g) {
    const y = emptyTensor([g.N, g.C * g.M, g.Ho, g.Wo], x.dtype)
    if (profileState.counting > 0) profileState.macs += g.N * g.C * g.M * g.Ho * g.Wo * g.kH * g.kW
    kernels.depthwiseConv2dForward(y.storage, x.storage, x.offset, x.strides, w.storage, w.offset, w.strides, g)
    ctx.save(x, w)
    return y
  },
  // y = A_w x is bilinear: dx = A_w^T dy, dw = the weight-side adjoint at (x, dy).
  backward: ({ saved: [x, w], needsGrad }, dy, g) => [
    needsGrad[0] ? apply(depthwiseConv2dGradInputOp, [dy, w], g) : null,
    needsGrad[1] ? apply(depthwiseConv2dGradWeightOp, [x, dy], g) : null,
  ],
}

/** dx (N, C, H, W) = A_w^T dy, for dy (N, C M, Ho, Wo). */
export const depthwiseConv2dGradInputOp: OpDef<Depthwise2d> = {
  name: 'depthwiseConv2dGradInput',
  forward(ctx, [dy, w], g) {
    const dx = emptyTensor([g.N, g.C, g.H, g.W], dy.dtype)
    kernels.depthwiseConv2dBackwardInput(dx.storage, dy.storage, dy.offset, dy.strides, w.storage, w.offset, w.strides, g)
    ctx.save(dy, w)
    return dx
  },
  // <gx, A_w^T dy> = <A_w gx, dy>: linear in dy through the forward op, in w through grad-weight at (gx, dy).
  backward: ({ saved: [dy, w], needsGrad }, gx, g) => [
    needsGrad[0] ? apply(depthwiseConv2dOp, [gx, w], g) : null,
    needsGrad[1] ? apply(depthwiseConv2dGradWeightOp, [gx, dy], g) : null,
  ],
}

/** dw (C M, 1, kH, kW) = d <A_w x, dy> / dw, for x (N, C, H, W) and dy (N, C M, Ho, Wo). */
export const depthwiseConv2dGradWeightOp: OpDef<Depthwise2d> = {
  name: 'depthwiseConv2dGradWeight',
  forward(ctx, [x, dy], g) {
    const dw = emptyTensor([g.C * g.M, 1, g.kH, g.kW], x.dtype)
    kernels.depthwiseConv2dBackwardWeight(dw.storage, x.storage, x.offset, x.strides, dy.storage, dy.offset, dy.strides, g)
    ctx.save(x, dy)
    return dw
  },
  // <gw, dw(x, dy)> = <A_gw x, dy>: linear in x through grad-input with weight gw, in dy through the forward op.
  backward: ({ saved: [x, dy], needsGrad }, gw, g) => [
    needsGrad[0] ? apply(depthwiseConv2dGradInputOp, [dy, gw], g) : null,
    needsGrad[1] ? apply(depthwiseConv2dOp, [x, gw], g) : null,
  ],
}

/** Depthwise geometry of a validated 2-D window for x (N, C, H, W) and C M output channels. */
export function depthwiseGeometry(N: number, C: number, M: number, w: Sliding): Depthwise2d {
  const [Ho, Wo] = blocks(w)
  return {
    N, C, M, H: w.size[0], W: w.size[1], Ho, Wo, kH: w.kernel[0], kW: w.kernel[1],
    sH: w.stride[0], sW: w.stride[1], dH: w.dilation[0], dW: w.dilation[1], pH: w.padBefore[0], pW: w.padBefore[1],
  }
}

/** The three depthwise ops applied directly (for tests): forward, grad-input, grad-weight. */
export const depthwiseRaw = {
  forward: (x: Tensor, w: Tensor, g: Depthwise2d): Tensor => apply(depthwiseConv2dOp, [x, w], g),
  gradInput: (dy: Tensor, w: Tensor, g: Depthwise2d): Tensor => apply(depthwiseConv2dGradInputOp, [dy, w], g),
  gradWeight: (x: Tensor, dy: Tensor, g: Depthwise2d): Tensor => apply(depthwiseConv2dGradWeightOp, [x, dy], g),
}

export const convOps = {
  unfold: unfoldOp, fold: foldOp,
  depthwiseConv2d: depthwiseConv2dOp,
  depthwiseConv2dGradInput: depthwiseConv2dGradInputOp,
  depthwiseConv2dGradWeight: depthwiseConv2dGradWeightOp,
}

// ---------------------------------------------------------------- argument checks shared with pooling

export type IntOrTuple = number | readonly number[]

/** `v` as S positive (or, with min 0, non-negative) integers; a number or a 1-tuple repeats. */
export function tuple(op: string, name: string, v: IntOrTuple, S: number, min = 1): number[] {
  const list = typeof v === 'number' ? new Array<number>(S).fill(v) : Array.isArray(v) && v.length === 1 ? new Array<number>(S).fill(v[0]) : v
  check(Array.isArray(list) && list.length === S && list.every((d) => Number.isInteger(d) && d >= min), op, () =>
    `${name} must be ${min > 0 ? 'a positive' : 'a non-negative'} integer or a tuple of ${S}, got ${JSON.stringify(v)}`)
  return list.slice()
}

/** Checks a floating tensor of rank S + 2 (batched) or S + 1 (unbatched); returns it batched. */
export function batched(op: string, x: Tensor, S: number, layout: string): [Tensor, boolean] {
  check(x instanceof Tensor, op, () => 'input must be a tensor')
  check(isFloating(x.dtype), op, () => `input must be a floating point tensor, got ${x.dtype}`)
  if (x.ndim === S + 1) return [x.unsqueeze(0), false]
  if (x.ndim !== S + 2) throw new TesseraError(`${op}: expected input of rank ${S + 1} (${layout}) or ${S + 2} (N, ${layout}), got shape ${fmtShape(x.shape)}`)
  return [x, true]
}

/** Checks that every dilated kernel fits in its padded image and leaves at least one block. */
export function checkFits(op: string, w: Sliding, shape: readonly number[]): void {
  w.size.forEach((s, i) => {
    const padded = s + w.padBefore[i] + w.padAfter[i], span = w.dilation[i] * (w.kernel[i] - 1) + 1
    check(w.kernel[i] >= 1, op, () => `kernel size must be positive in every spatial dim, got ${fmtShape(w.kernel)}`)
    check(padded >= span, op, () =>
      `kernel size ${fmtShape(w.kernel)} (dilated extent ${span} in spatial dim ${i}) is larger than the padded input size ${padded} (input ${fmtShape(shape)}, padding ${fmtShape(w.padBefore)}/${fmtShape(w.padAfter)})`)
  })
}

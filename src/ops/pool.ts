/**
 * @file Pooling: max pooling (a primitive returning values, with int32 argmax indices on the side;
 * its backward scatters through the indices with `scatterAdd`, so it stays differentiable) and
 * average pooling (a primitive and its adjoint, each the other's backward). 1-D pooling runs as 2-D
 * with H = 1; adaptive pooling is the same primitives with adaptive window tables.
 * Semantics (ceilMode, countIncludePad, divisorOverride, index layout) follow `torch.nn.functional`:
 * https://pytorch.org/docs/stable/nn.functional.html#pooling-functions
 *
 * Shapes: x (N, C, L) or (N, C, H, W), or unbatched without N; outputs (N, C, Lo) / (N, C, Ho, Wo);
 * indices index the flattened input plane (L or H W), as PyTorch's `return_indices`.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import {
  adaptiveAxis, poolOutputSize, windowAxis, type PoolAxis, type WindowSpec,
} from '../kernels/pool.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import type { ValuesIndices } from '../functional.ts'
import { batched, tuple, type IntOrTuple } from './conv.ts'
import { scatterAdd } from './indexing.ts'
import { apply, type OpDef } from './op.ts'

/** Window tables of the two pooled axes (H, W). */
export interface PoolArgs { h: PoolAxis; w: PoolAxis }
/** Max pooling also hands its indices back to the caller through `slot`. */
export interface MaxPoolArgs extends PoolArgs { slot: { indices: Tensor | null } }

export const maxPoolOp: OpDef<MaxPoolArgs> = {
  name: 'maxPool',
  forward(ctx, [x], a) {
    const [N, C] = x.shape
    const values = emptyTensor([N, C, a.h.out, a.w.out], x.dtype) // (N, C, Ho, Wo)
    const indices = emptyTensor([N, C, a.h.out, a.w.out], 'int32') // (N, C, Ho, Wo) into the (H W) plane
    kernels.maxPool2dForward(values.storage, indices.storage as Int32Array, x.storage, x.offset, x.strides, N, C, a.h, a.w)
    ctx.save(indices)
    a.slot.indices = indices
    return values
  },
  // dx[n, c, indices[n, c, o]] += g[n, c, o]: a scatterAdd on the flattened planes (its own
  // gradient, a gather, keeps higher orders available).
  backward({ saved: [indices], inputShapes }, g, { h, w }) {
    const [N, C] = inputShapes[0]
    const L = h.out * w.out
    const zeros = emptyTensor([N, C, h.size * w.size], g.dtype)
    return [scatterAdd(zeros, 2, indices.reshape([N, C, L]), g.reshape([N, C, L])).reshape(inputShapes[0] as number[])]
  },
}

export const avgPoolOp: OpDef<PoolArgs> = {
  name: 'avgPool',
  forward(_ctx, [x], { h, w }) {
    const [N, C] = x.shape
    const out = emptyTensor([N, C, h.out, w.out], x.dtype) // (N, C, Ho, Wo)
    kernels.avgPool2dForward(out.storage, x.storage, x.offset, x.strides, N, C, h, w)
    return out
  },
  backward: (_ctx, g, a) => [apply(avgPoolBackwardOp, [g], a)],
}

/** The adjoint of avgPool: each output gradient spread evenly over its window. */
export const avgPoolBackwardOp: OpDef<PoolArgs> = {
  name: 'avgPoolBackward',
  forward(_ctx, [dy], { h, w }) {
    const [N, C] = dy.shape
    const dx = emptyTensor([N, C, h.size, w.size], dy.dtype) // (N, C, H, W)
    kernels.avgPool2dBackward(dx.storage, dy.storage, dy.offset, dy.strides, N, C, h, w)
    return dx
  },
  backward: (_ctx, g, a) => [apply(avgPoolOp, [g], a)],
}

export const poolOps = { maxPool: maxPoolOp, avgPool: avgPoolOp, avgPoolBackward: avgPoolBackwardOp }

// ---------------------------------------------------------------- public functions

export interface MaxPoolOptions {
  kernelSize: IntOrTuple
  /** Default: kernelSize. */
  stride?: IntOrTuple | null
  padding?: IntOrTuple
  dilation?: IntOrTuple
  ceilMode?: boolean
  returnIndices?: boolean
}

export interface AvgPoolOptions {
  kernelSize: IntOrTuple
  /** Default: kernelSize. */
  stride?: IntOrTuple | null
  padding?: IntOrTuple
  ceilMode?: boolean
  /** Divide by the window size including padding (default true). */
  countIncludePad?: boolean
  /** Divide every window by this instead (2-D only, as PyTorch). */
  divisorOverride?: number
}

const LAYOUT = ['', 'C, L', 'C, H, W']

/** (N, C, H, W) view of a validated 1-D or 2-D pooling input, and whether it was batched. */
function planes(op: string, input: Tensor, S: number): [Tensor, boolean] {
  const [x, isBatched] = batched(op, input, S, LAYOUT[S])
  check(x.shape.slice(2).every((s) => s > 0), op, () => `input spatial size must be positive, got ${fmtShape(input.shape)}`)
  return [S === 1 ? x.unsqueeze(2) : x, isBatched]
}

/** Drops the dims `planes` added. */
function unplanes(y: Tensor, S: number, isBatched: boolean): Tensor {
  const z = S === 1 ? y.squeeze(2) : y
  return isBatched ? z : z.squeeze(0)
}

/** Per-axis window tables (H then W) of a regular pooling; 1-D gets a trivial H axis. */
function windowTables(op: string, x: Tensor, S: number, opts: MaxPoolOptions & AvgPoolOptions, includePad: boolean): PoolArgs {
  check(opts !== null && typeof opts === 'object' && opts.kernelSize !== undefined, op, () => 'options need kernelSize')
  const kernel = tuple(op, 'kernelSize', opts.kernelSize, S)
  const stride = opts.stride === undefined || opts.stride === null || (Array.isArray(opts.stride) && opts.stride.length === 0)
    ? kernel : tuple(op, 'stride', opts.stride, S)
  const pad = tuple(op, 'padding', opts.padding ?? 0, S, 0)
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, S)
  check(pad.every((p, i) => p <= kernel[i] / 2), op, () =>
    `padding ${fmtShape(pad)} should be at most half of kernelSize ${fmtShape(kernel)}`)
  const size = x.shape.slice(4 - S)
  const specs: WindowSpec[] = kernel.map((k, i) => ({ kernel: k, stride: stride[i], pad: pad[i], dilation: dilation[i] }))
  const out = size.map((s, i) => poolOutputSize(s, specs[i], opts.ceilMode === true))
  check(out.every((o) => o >= 1), op, () =>
    `output size ${fmtShape(out)} is too small (input ${fmtShape(size)}, kernelSize ${fmtShape(kernel)}, stride ${fmtShape(stride)}, padding ${fmtShape(pad)}, dilation ${fmtShape(dilation)})`)
  const axes = size.map((s, i) => windowAxis(s, out[i], specs[i], includePad))
  return S === 1 ? { h: adaptiveAxis(1, 1), w: axes[0] } : { h: axes[0], w: axes[1] }
}

/** Runs maxPool on (N, C, H, W) planes; returns values and indices. */
function maxPoolPlanes(op: string, x: Tensor, tables: PoolArgs): ValuesIndices {
  for (const a of [tables.h, tables.w]) {
    if (a.count.some((c) => c === 0)) throw new TesseraError(`${op}: a pooling window covers only padding (input ${fmtShape(x.shape)})`)
  }
  const slot: { indices: Tensor | null } = { indices: null }
  const values = apply(maxPoolOp, [x], { ...tables, slot })
  return { values, indices: slot.indices! }
}

function maxPoolNd(op: string, S: number, input: Tensor, opts: MaxPoolOptions): Tensor | ValuesIndices {
  const [x, isBatched] = planes(op, input, S)
  const { values, indices } = maxPoolPlanes(op, x, windowTables(op, x, S, opts, false))
  const v = unplanes(values, S, isBatched)
  return opts.returnIndices ? { values: v, indices: unplanes(indices, S, isBatched) } : v
}

/**
 * 1-D max pooling: y[n, c, o] = max_{k} x[n, c, o s - p + k d] over in-bounds taps.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.MaxPool1d.html
 * @example
 *   const y = F.maxPool1d(randn([2, 3, 9]), { kernelSize: 3, stride: 2 }) // [2, 3, 4]
 */
export function maxPool1d(x: Tensor, opts: MaxPoolOptions & { returnIndices: true }): ValuesIndices
export function maxPool1d(x: Tensor, opts: MaxPoolOptions): Tensor
export function maxPool1d(x: Tensor, opts: MaxPoolOptions): Tensor | ValuesIndices {
  return maxPoolNd('maxPool1d', 1, x, opts)
}

/**
 * 2-D max pooling: y[n, c, i, j] = max_{kh, kw} x[n, c, i sH - pH + kh dH, j sW - pW + kw dW].
 * With returnIndices, also the argmax as an index into the flattened (H W) input plane.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
 * @example
 *   const { values, indices } = F.maxPool2d(randn([1, 3, 8, 8]), { kernelSize: 2, returnIndices: true }) // [1, 3, 4, 4] each
 */
export function maxPool2d(x: Tensor, opts: MaxPoolOptions & { returnIndices: true }): ValuesIndices
export function maxPool2d(x: Tensor, opts: MaxPoolOptions): Tensor
export function maxPool2d(x: Tensor, opts: MaxPoolOptions): Tensor | ValuesIndices {
  return maxPoolNd('maxPool2d', 2, x, opts)
}

function avgPoolNd(op: string, S: number, input: Tensor, opts: AvgPoolOptions): Tensor {
  const [x, isBatched] = planes(op, input, S)
  const tables = windowTables(op, x, S, opts, opts.countIncludePad !== false)
  const override = opts.divisorOverride
  if (override !== undefined) {
    check(Number.isInteger(override) && override !== 0, op, () => `divisorOverride must be a nonzero integer, got ${override}`)
    tables.h.div.fill(override)
    tables.w.div.fill(1)
  }
  return unplanes(apply(avgPoolOp, [x], tables), S, isBatched)
}

/**
 * 1-D average pooling: y[n, c, o] = sum_k x[n, c, o s - p + k] / divisor, the divisor being the
 * window clipped to the padded input (countIncludePad) or to the input.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AvgPool1d.html
 * @example
 *   const y = F.avgPool1d(randn([2, 3, 9]), { kernelSize: 3, padding: 1, countIncludePad: false }) // [2, 3, 3]
 */
export function avgPool1d(x: Tensor, opts: Omit<AvgPoolOptions, 'divisorOverride'>): Tensor {
  return avgPoolNd('avgPool1d', 1, x, { ...opts, divisorOverride: undefined })
}

/**
 * 2-D average pooling over kH x kW windows, with PyTorch's ceilMode / countIncludePad / divisorOverride.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html
 * @example
 *   const y = F.avgPool2d(randn([1, 3, 7, 7]), { kernelSize: 2, ceilMode: true }) // [1, 3, 4, 4]
 */
export function avgPool2d(x: Tensor, opts: AvgPoolOptions): Tensor {
  return avgPoolNd('avgPool2d', 2, x, opts)
}

/** Adaptive window tables for 1-D (trivial H axis) or 2-D; null in outputSize keeps that dim. */
function adaptiveTables(op: string, x: Tensor, S: number, outputSize: number | readonly (number | null)[]): PoolArgs {
  const size = x.shape.slice(4 - S)
  const given = typeof outputSize === 'number' ? new Array<number>(S).fill(outputSize) : outputSize
  check(Array.isArray(given) && given.length === S, op, () => `outputSize must be an integer or a tuple of ${S}, got ${JSON.stringify(outputSize)}`)
  const out = given.map((o, i) => (o === null ? size[i] : o))
  check(out.every((o) => Number.isInteger(o) && o >= 1), op, () => `outputSize must hold positive integers, got ${JSON.stringify(outputSize)}`)
  const axes = out.map((o, i) => adaptiveAxis(size[i], o))
  return S === 1 ? { h: adaptiveAxis(1, 1), w: axes[0] } : { h: axes[0], w: axes[1] }
}

/**
 * Adaptive 1-D average pooling: output o averages x over [floor(o L / Lo), ceil((o + 1) L / Lo)).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool1d.html
 * @example
 *   const y = F.adaptiveAvgPool1d(randn([2, 3, 10]), 4) // [2, 3, 4]
 */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  const [x, isBatched] = planes('adaptiveAvgPool1d', input, 1)
  return unplanes(apply(avgPoolOp, [x], adaptiveTables('adaptiveAvgPool1d', x, 1, outputSize)), 1, isBatched)
}

/**
 * Adaptive 2-D average pooling, the same windows along H and W; null keeps a dim's size.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
 * @example
 *   const y = F.adaptiveAvgPool2d(randn([1, 8, 7, 7]), 1) // [1, 8, 1, 1] (global average pooling)
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | readonly (number | null)[]): Tensor {
  const [x, isBatched] = planes('adaptiveAvgPool2d', input, 2)
  return unplanes(apply(avgPoolOp, [x], adaptiveTables('adaptiveAvgPool2d', x, 2, outputSize)), 2, isBatched)
}

function adaptiveMaxNd(op: string, S: number, input: Tensor, outputSize: number | readonly (number | null)[], returnIndices: boolean): Tensor | ValuesIndices {
  const [x, isBatched] = planes(op, input, S)
  const { values, indices } = maxPoolPlanes(op, x, adaptiveTables(op, x, S, outputSize))
  const v = unplanes(values, S, isBatched)
  return returnIndices ? { values: v, indices: unplanes(indices, S, isBatched) } : v
}

/**
 * Adaptive 1-D max pooling over PyTorch's adaptive windows; with returnIndices also the argmax.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool1d.html
 * @example
 *   const y = F.adaptiveMaxPool1d(randn([2, 3, 10]), 4) // [2, 3, 4]
 */
export function adaptiveMaxPool1d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices: true): ValuesIndices
export function adaptiveMaxPool1d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices?: false): Tensor
export function adaptiveMaxPool1d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices = false): Tensor | ValuesIndices {
  return adaptiveMaxNd('adaptiveMaxPool1d', 1, x, outputSize, returnIndices)
}

/**
 * Adaptive 2-D max pooling; indices index the flattened (H W) input plane.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool2d.html
 * @example
 *   const { values, indices } = F.adaptiveMaxPool2d(randn([1, 8, 7, 7]), [2, 3], true) // [1, 8, 2, 3] each
 */
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices: true): ValuesIndices
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices?: false): Tensor
export function adaptiveMaxPool2d(x: Tensor, outputSize: number | readonly (number | null)[], returnIndices = false): Tensor | ValuesIndices {
  return adaptiveMaxNd('adaptiveMaxPool2d', 2, x, outputSize, returnIndices)
}

/**
 * @file Layout ops. reshape, permute, expand and slice return views that share storage (reshape
 * copies only when the strides make a view impossible); copy and cast make new storage.
 * sliceScatter (zeros with one strided slice filled in) is slice's adjoint.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { contiguousStrides, isContiguous, normalizeDim, numel, viewStrides } from '../shape.ts'
import { isFloating, type DType } from '../dtype.ts'
import { copyStrided, unaryInto } from '../kernels/elementwise.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'

/** A fresh contiguous copy of `x`'s elements, cast to `dtype` (no graph). */
export function rawCopy(x: Tensor, dtype: DType = x.dtype): Tensor {
  const out = emptyTensor(x.shape, dtype)
  if (dtype === 'bool' && x.dtype !== 'bool') unaryInto('toBool', out.storage, x.storage, x.offset, x.strides, x.shape)
  else copyStrided(out.storage, 0, out.strides, x.storage, x.offset, x.strides, x.shape)
  return out
}

export const reshapeOp: OpDef<{ shape: number[]; allowCopy: boolean }> = {
  name: 'reshape',
  forward(_ctx, [x], { shape, allowCopy }) {
    const strides = viewStrides(x.shape, x.strides, shape)
    if (strides) return x.asView(shape, strides, x.offset)
    if (!allowCopy) {
      throw new TesseraError(`view: shape ${fmtShape(x.shape)} with strides ${fmtShape(x.strides)} cannot be viewed as ${fmtShape(shape)} without a copy; use reshape()`)
    }
    return rawCopy(x).asView(shape, contiguousStrides(shape), 0)
  },
  backward: (ctx, g) => [g.reshape(ctx.inputShapes[0] as number[])],
}

/** Resolves one -1 entry and checks the element count. */
export function inferShape(op: string, x: Tensor, shape: readonly number[]): number[] {
  const out = shape.slice()
  const free = out.indexOf(-1)
  if (out.some((d, i) => !Number.isInteger(d) || (d < 0 && i !== free)) || out.lastIndexOf(-1) !== free) {
    throw new TesseraError(`${op}: invalid shape ${fmtShape(shape)} (at most one -1, other sizes non-negative integers)`)
  }
  if (free >= 0) {
    const known = out.reduce((p, d, i) => (i === free ? p : p * d), 1)
    check(known !== 0 && x.numel() % known === 0, op, () => `cannot infer -1 in ${fmtShape(shape)} for ${x.numel()} elements (input ${fmtShape(x.shape)})`)
    out[free] = x.numel() / known
  }
  check(numel(out) === x.numel(), op, () => `shape ${fmtShape(shape)} is invalid for input of shape ${fmtShape(x.shape)} (${x.numel()} elements)`)
  return out
}

export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return apply(reshapeOp, [x], { shape: inferShape('reshape', x, shape), allowCopy: true })
}

export function view(x: Tensor, shape: readonly number[]): Tensor {
  return apply(reshapeOp, [x], { shape: inferShape('view', x, shape), allowCopy: false })
}

export const permuteOp: OpDef<{ dims: number[] }> = {
  name: 'permute',
  forward: (_ctx, [x], { dims }) => x.asView(dims.map((d) => x.shape[d]), dims.map((d) => x.strides[d]), x.offset),
  backward(_ctx, g, { dims }) {
    const inverse = new Array<number>(dims.length)
    dims.forEach((d, i) => { inverse[d] = i })
    return [g.permute(inverse)]
  },
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  check(dims.length === x.ndim, 'permute', () => `got ${dims.length} dims ${fmtShape(dims)} for a tensor of rank ${x.ndim}`)
  const norm = dims.map((d) => normalizeDim('permute', d, x.ndim))
  check(new Set(norm).size === norm.length, 'permute', () => `dims ${fmtShape(dims)} repeat a dim`)
  return apply(permuteOp, [x], { dims: norm })
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  if (x.ndim < 2 && dim0 === dim1) return x
  const dims = Array.from({ length: x.ndim }, (_, i) => i)
  const a = normalizeDim('transpose', dim0, x.ndim)
  const b = normalizeDim('transpose', dim1, x.ndim)
  dims[a] = b
  dims[b] = a
  return apply(permuteOp, [x], { dims })
}

export const expandOp: OpDef<{ shape: number[] }> = {
  name: 'expand',
  forward(_ctx, [x], { shape }) {
    const lead = shape.length - x.ndim
    const strides = shape.map((_, i) => (i < lead || x.shape[i - lead] !== shape[i] ? 0 : x.strides[i - lead]))
    return x.asView(shape, strides, x.offset)
  },
  backward: (_ctx, g) => [g], // the node sums over the expanded dims
}

/** Broadcasts size-1 dims (and new leading dims) to `shape` without copying; -1 keeps a dim. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  const lead = shape.length - x.ndim
  check(lead >= 0, 'expand', () => `target ${fmtShape(shape)} has fewer dims than input ${fmtShape(x.shape)}`)
  const target = shape.map((d, i) => {
    const own = i >= lead ? x.shape[i - lead] : undefined
    const size = d === -1 && own !== undefined ? own : d
    const ok = Number.isInteger(size) && size >= 0 && (own === undefined || own === size || own === 1)
    check(ok, 'expand', () => `cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)} (dim ${i})`)
    return size
  })
  return apply(expandOp, [x], { shape: target })
}

export interface SliceArgs { dim: number; start: number; step: number; length: number }

export const sliceOp: OpDef<SliceArgs> = {
  name: 'slice',
  forward(_ctx, [x], { dim, start, step, length }) {
    const shape = x.shape.slice()
    const strides = x.strides.slice()
    shape[dim] = length
    strides[dim] *= step
    return x.asView(shape, strides, x.offset + (length > 0 ? start * x.strides[dim] : 0))
  },
  backward: (ctx, g, args) => [sliceScatter(g, ctx.inputShapes[0] as number[], args)],
}

/** Python-style slice `x[..., start:end:step, ...]` on one dim; negative bounds count from the end. */
export function slice(x: Tensor, dim: number, start = 0, end = Infinity, step = 1): Tensor {
  const d = normalizeDim('slice', dim, x.ndim)
  check(x.ndim > 0, 'slice', () => 'cannot slice a 0-d tensor')
  check(Number.isInteger(step) && step > 0, 'slice', () => `step must be a positive integer, got ${step}`)
  const n = x.shape[d]
  const clampIndex = (i: number): number => Math.min(Math.max(i < 0 ? i + n : i, 0), n)
  const s = clampIndex(start)
  const e = Math.max(clampIndex(end), s)
  return apply(sliceOp, [x], { dim: d, start: s, step, length: Math.ceil((e - s) / step) })
}

export const sliceScatterOp: OpDef<SliceArgs & { shape: number[] }> = {
  name: 'sliceScatter',
  forward(_ctx, [g], { shape, dim, start, step }) {
    const out = emptyTensor(shape, g.dtype)
    const strides = out.strides.slice()
    const offset = g.shape[dim] > 0 ? start * strides[dim] : 0
    strides[dim] *= step
    copyStrided(out.storage, offset, strides, g.storage, g.offset, g.strides, g.shape)
    return out
  },
  backward: (_ctx, g, { dim, start, step, length }) => [apply(sliceOp, [g], { dim, start, step, length })],
}

/** Zeros of `shape` with `g` written into the slice (dim, start, step): slice's adjoint. */
export function sliceScatter(g: Tensor, shape: number[], args: SliceArgs): Tensor {
  return apply(sliceScatterOp, [g], { ...args, shape })
}

export const copyOp: OpDef = {
  name: 'copy',
  forward: (_ctx, [x]) => rawCopy(x),
  backward: (_ctx, g) => [g],
}

export function clone(x: Tensor): Tensor {
  return apply(copyOp, [x], undefined)
}

export function contiguous(x: Tensor): Tensor {
  return isContiguous(x.shape, x.strides) ? x : apply(copyOp, [x], undefined)
}

export const castOp: OpDef<{ dtype: DType }> = {
  name: 'cast',
  forward: (_ctx, [x], { dtype }) => rawCopy(x, dtype),
  backward: (_ctx, g) => [g], // the node casts the gradient back to the input dtype
}

/** Converts to `dtype` (returns `x` itself when it already has it). Differentiable between float dtypes. */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x
  if (!isFloating(dtype)) return rawCopy(x, dtype)
  return apply(castOp, [x], { dtype })
}

/**
 * @file Index and assembly ops: gather, scatter, scatterAdd, indexSelect, indexAdd, cat, pad, flip.
 * Index tensors are int32 (tessera's index dtype) and are range-checked before any kernel runs.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { normalizeDim, normalizeDims } from '../shape.ts'
import { promoteTypes, type DType } from '../dtype.ts'
import { gatherInto, indexAddInto, indexSelectInto, scatterInto } from '../kernels/indexing.ts'
import { copyStrided } from '../kernels/elementwise.ts'
import { Tensor, emptyTensor, scalarTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'
import { rawCopy } from './view.ts'

/** A contiguous Int32Array of the index values, after checking dtype and range [0, size). */
function indexValues(op: string, index: Tensor, size: number): Int32Array {
  check(index instanceof Tensor, op, () => 'index must be a tensor')
  check(index.dtype === 'int32' || index.dtype === 'int8', op, () => `index must be an int32 tensor, got ${index.dtype}`)
  // A contiguous view may be a prefix of a longer storage: take only its numel() elements.
  const values = index.dtype === 'int32' && index.isContiguous() && index.offset === 0
    ? (index.storage as Int32Array).subarray(0, index.numel()) : rawCopy(index, 'int32').storage as Int32Array
  for (let i = 0; i < values.length; i++) {
    const v = values[i]
    if (v < 0 || v >= size) throw new TesseraError(`${op}: index ${v} is out of bounds for dim of size ${size}`)
  }
  return values
}

function checkIndexShape(op: string, x: Tensor, index: Tensor, dim: number, other = 'input'): void {
  check(index.ndim === x.ndim, op, () => `index has rank ${index.ndim} but ${other} has rank ${x.ndim} (index ${fmtShape(index.shape)}, ${other} ${fmtShape(x.shape)})`)
  index.shape.forEach((d, i) => check(i === dim || d <= x.shape[i], op, () =>
    `index ${fmtShape(index.shape)} is larger than ${other} ${fmtShape(x.shape)} at dim ${i}`))
}

interface DimArgs { dim: number }

export const gatherOp: OpDef<DimArgs> = {
  name: 'gather',
  forward(ctx, [x, index], { dim }) {
    const out = emptyTensor(index.shape, x.dtype)
    gatherInto(out.storage, x.storage, x.offset, x.strides, indexValues('gather', index, x.shape[dim] ?? 1), index.shape, dim)
    ctx.save(index)
    return out
  },
  backward: ({ saved: [index], inputShapes }, g, { dim }) => [scatterAdd(zerosOf(inputShapes[0] as number[], g.dtype), dim, index, g), null],
}

const zerosOf = (shape: number[], dtype: DType): Tensor => emptyTensor(shape, dtype)

/** out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1 (any rank). */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeDim('gather', dim, x.ndim)
  checkIndexShape('gather', x, index, d)
  return apply(gatherOp, [x, index], { dim: d })
}

export const scatterOps = {
  // out = x with out[index[p] along dim] = src[p]; dx = g with those places zeroed, dsrc = gather(g)
  scatter: {
    name: 'scatter',
    forward: (ctx, [x, index, src], { dim }) => scatterForward(ctx.save.bind(ctx), x, index, src, dim, false),
    backward: ({ saved: [index], needsGrad, inputShapes }, g, { dim }) => [
      needsGrad[0] ? scatter(g, dim, index, 0) : null,
      null,
      needsGrad[2] ? gatherForSrc('scatter', g, dim, index, inputShapes[2] as number[]) : null,
    ],
  },
  scatterAdd: {
    name: 'scatterAdd',
    forward: (ctx, [x, index, src], { dim }) => scatterForward(ctx.save.bind(ctx), x, index, src, dim, true),
    backward: ({ saved: [index], needsGrad, inputShapes }, g, { dim }) => [
      g,
      null,
      needsGrad[2] ? gatherForSrc('scatterAdd', g, dim, index, inputShapes[2] as number[]) : null,
    ],
  },
} satisfies Record<string, OpDef<DimArgs>>

function gatherForSrc(op: string, g: Tensor, dim: number, index: Tensor, srcShape: number[]): Tensor {
  check(index.shape.every((d, i) => d === srcShape[i]), op, () =>
    `the gradient for src needs src and index of the same shape (src ${fmtShape(srcShape)}, index ${fmtShape(index.shape)})`)
  return g.gather(dim, index)
}

function scatterForward(save: (...t: Tensor[]) => void, x: Tensor, index: Tensor, src: Tensor, dim: number, add: boolean): Tensor {
  const out = rawCopy(x)
  const values = indexValues(add ? 'scatterAdd' : 'scatter', index, x.shape[dim] ?? 1)
  const srcStrides = src.ndim === 0 ? index.shape.map(() => 0) : src.strides
  scatterInto(out.storage, out.strides, src.storage, src.offset, srcStrides, values, index.shape, dim, add)
  save(index)
  return out
}

function scatterArgs(op: string, x: Tensor, dim: number, index: Tensor, src: Tensor | number): [number, Tensor] {
  const d = normalizeDim(op, dim, x.ndim)
  checkIndexShape(op, x, index, d)
  const s = typeof src === 'number' ? scalarTensor(src, x.dtype) : src
  if (s.ndim > 0) checkIndexShape(op, s, index, -1, 'src')
  return [d, s]
}

/** Copy of x with x[index[p] along dim] = src[p] (src may be a number). */
export function scatter(x: Tensor, dim: number, index: Tensor, src: Tensor | number): Tensor {
  const [d, s] = scatterArgs('scatter', x, dim, index, src)
  return apply(scatterOps.scatter, [x, index, s], { dim: d })
}

/** Copy of x with src[p] added at x[index[p] along dim]; repeated indices accumulate. */
export function scatterAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const [d, s] = scatterArgs('scatterAdd', x, dim, index, src)
  return apply(scatterOps.scatterAdd, [x, index, s], { dim: d })
}

/** Splits a shape around `dim` into (outer, size, inner) element counts. */
function around(shape: readonly number[], dim: number): [number, number, number] {
  const outer = shape.slice(0, dim).reduce((p, d) => p * d, 1)
  const inner = shape.slice(dim + 1).reduce((p, d) => p * d, 1)
  return [outer, shape[dim] ?? 1, inner]
}

export const indexOps = {
  indexSelect: {
    name: 'indexSelect',
    forward(ctx, [x, index], { dim }) {
      const values = indexValues('indexSelect', index, x.shape[dim] ?? 1)
      const shape = x.shape.slice()
      if (x.ndim > 0) shape[dim] = values.length
      const out = emptyTensor(shape, x.dtype)
      const c = x.isContiguous() && x.offset === 0 ? x : rawCopy(x)
      const [outer, n, inner] = around(x.shape, dim)
      indexSelectInto(out.storage, c.storage, outer, n, inner, values)
      ctx.save(index)
      return out
    },
    backward: ({ saved: [index], inputShapes }, g, { dim }) => [indexAdd(zerosOf(inputShapes[0] as number[], g.dtype), dim, index, g), null],
  },
  indexAdd: {
    name: 'indexAdd',
    forward(ctx, [x, index, src], { dim }) {
      const values = indexValues('indexAdd', index, x.shape[dim] ?? 1)
      const out = rawCopy(x)
      const s = src.isContiguous() && src.offset === 0 ? src : rawCopy(src)
      const [outer, n, inner] = around(x.shape, dim)
      indexAddInto(out.storage, s.storage, outer, n, inner, values)
      ctx.save(index)
      return out
    },
    backward: ({ saved: [index], needsGrad }, g, { dim }) => [g, null, needsGrad[2] ? indexSelect(g, dim, index) : null],
  },
} satisfies Record<string, OpDef<DimArgs>>

function checkIndex1d(op: string, index: Tensor): void {
  check(index instanceof Tensor && index.ndim <= 1, op, () => `index must be a 1-D int32 tensor, got shape ${index instanceof Tensor ? fmtShape(index.shape) : typeof index}`)
}

/** Rows of x along `dim` picked by the 1-D `index`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  checkIndex1d('indexSelect', index)
  return apply(indexOps.indexSelect, [x, index], { dim: normalizeDim('indexSelect', dim, x.ndim) })
}

/** Copy of x with src's slices along `dim` added at rows `index` (repeats accumulate). */
export function indexAdd(x: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  checkIndex1d('indexAdd', index)
  const d = normalizeDim('indexAdd', dim, x.ndim)
  const expected = x.shape.slice()
  if (x.ndim > 0) expected[d] = index.numel()
  check(src.shape.length === expected.length && src.shape.every((s, i) => s === expected[i]), 'indexAdd', () =>
    `src must have shape ${fmtShape(expected)} (x ${fmtShape(x.shape)} with ${index.numel()} indices at dim ${d}), got ${fmtShape(src.shape)}`)
  return apply(indexOps.indexAdd, [x, index, src.to(x.dtype)], { dim: d })
}

export const catOp: OpDef<{ dim: number; dtype: DType }> = {
  name: 'cat',
  forward(_ctx, xs, { dim, dtype }) {
    const shape = xs[0].shape.slice()
    shape[dim] = xs.reduce((s, x) => s + x.shape[dim], 0)
    const out = emptyTensor(shape, dtype)
    let offset = 0
    for (const x of xs) {
      copyStrided(out.storage, offset * out.strides[dim], out.strides, x.storage, x.offset, x.strides, x.shape)
      offset += x.shape[dim]
    }
    return out
  },
  backward(ctx, g, { dim }) {
    let start = 0
    return ctx.inputShapes.map((s, i) => {
      const piece = ctx.needsGrad[i] ? g.narrow(dim, start, s[dim]) : null
      start += s[dim]
      return piece
    })
  },
}

/** Joins tensors along an existing dim; all other dims must match. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  check(Array.isArray(tensors) && tensors.length > 0, 'cat', () => 'expected a non-empty list of tensors')
  // As in PyTorch, 1-D empty tensors are skipped so they can seed a concatenation.
  const xs = tensors.filter((t) => !(t.ndim === 1 && t.numel() === 0))
  if (xs.length === 0) return tensors[0].clone()
  const ref = xs[0]
  check(ref.ndim > 0, 'cat', () => 'zero-dimensional tensors cannot be concatenated')
  const d = normalizeDim('cat', dim, ref.ndim)
  xs.forEach((x, i) => check(x.ndim === ref.ndim && x.shape.every((s: number, j: number) => j === d || s === ref.shape[j]), 'cat', () =>
    `tensor ${i} has shape ${fmtShape(x.shape)}, expected ${fmtShape(ref.shape.map((s: number, j: number) => (j === d ? -1 : s)))} (-1: any size) for dim ${d}`))
  const dtype = xs.reduce<DType>((t, x) => promoteTypes(t, x.dtype), xs[0].dtype)
  return apply(catOp, xs, { dim: d, dtype })
}

export const padOp: OpDef<{ pads: number[]; value: number }> = {
  name: 'pad',
  forward(_ctx, [x], { pads, value }) {
    const shape = x.shape.map((s, i) => s + pads[2 * i] + pads[2 * i + 1])
    const out = emptyTensor(shape, x.dtype)
    if (value !== 0) out.storage.fill(value)
    const offset = pads.reduce((o, p, k) => (k % 2 === 0 ? o + p * out.strides[k / 2] : o), 0)
    copyStrided(out.storage, offset, out.strides, x.storage, x.offset, x.strides, x.shape)
    return out
  },
  backward(ctx, g, { pads }) {
    let out = g
    ctx.inputShapes[0].forEach((s, i) => { out = out.narrow(i, pads[2 * i], s) })
    return [out]
  },
}

/**
 * Constant padding, PyTorch order: `pads` = [last-dim left, last-dim right, 2nd-last left, ...].
 * Pads must be non-negative integers.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  check(pads.length % 2 === 0 && pads.length / 2 <= x.ndim, 'pad', () =>
    `pads must have an even length of at most 2 * rank (${2 * x.ndim}), got ${pads.length}`)
  check(pads.every((p) => Number.isInteger(p) && p >= 0), 'pad', () => `pads must be non-negative integers, got ${fmtShape(pads)}`)
  const perDim = new Array<number>(2 * x.ndim).fill(0) // (left, right) per dim, dim 0 first
  for (let k = 0; k < pads.length / 2; k++) {
    const dim = x.ndim - 1 - k
    perDim[2 * dim] = pads[2 * k]
    perDim[2 * dim + 1] = pads[2 * k + 1]
  }
  return apply(padOp, [x], { pads: perDim, value })
}

export const flipOp: OpDef<{ dims: number[] }> = {
  name: 'flip',
  forward(_ctx, [x], { dims }) {
    // Read through a negative-stride view of x, then copy into fresh storage.
    let offset = x.offset
    const strides = x.strides.slice()
    for (const d of dims) {
      if (x.shape[d] > 0) offset += (x.shape[d] - 1) * strides[d]
      strides[d] = -strides[d]
    }
    const out = emptyTensor(x.shape, x.dtype)
    copyStrided(out.storage, 0, out.strides, x.storage, offset, strides, x.shape)
    return out
  },
  backward: (_ctx, g, { dims }) => [g.flip(dims)],
}

/** Reverses the order of elements along `dims` (a copy, as in PyTorch). */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  return apply(flipOp, [x], { dims: normalizeDims('flip', dims, x.ndim) })
}

/**
 * @file Shape and stride arithmetic: contiguity, NumPy broadcasting, dim normalisation, and
 * coalescing a strided layout into as few loops as possible (after candle's `strided_blocks`).
 *
 * Strides are in elements. A layout is (shape, strides, offset) over a flat storage array.
 */
import { TesseraError, fmtShape } from './errors.ts'

export type Shape = readonly number[]

export function numel(shape: Shape): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides for `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]
  }
  return strides
}

/** True when the layout visits storage in row-major order with no gaps (size-1 dims ignored). */
export function isContiguous(shape: Shape, strides: Shape): boolean {
  let expected = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue
    if (strides[i] !== expected) return false
    expected *= shape[i]
  }
  return true
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** NumPy broadcasting: align right, each pair of dims equal or one of them 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  if (shapes.length === 2 && sameShape(shapes[0], shapes[1])) return shapes[0].slice()
  const rank = Math.max(...shapes.map((s) => s.length))
  const out = new Array<number>(rank).fill(1)
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i
      const d = s[i]
      if (d === out[j] || d === 1) continue
      if (out[j] === 1) out[j] = d
      else throw new TesseraError(`${op}: shapes ${shapes.map(fmtShape).join(' and ')} cannot be broadcast together (dim ${j}: ${out[j]} vs ${d})`)
    }
  }
  return out
}

/** Strides that read a (shape, strides) layout as if expanded to `target` (0 where broadcast). */
export function broadcastStrides(shape: Shape, strides: Shape, target: Shape): number[] {
  const out = new Array<number>(target.length).fill(0)
  const lead = target.length - shape.length
  for (let i = 0; i < shape.length; i++) out[lead + i] = shape[i] === 1 ? 0 : strides[i]
  return out
}

/** Maps a possibly negative dim into [0, rank). */
export function normalizeDim(op: string, dim: number, rank: number): number {
  const r = Math.max(rank, 1)
  if (!Number.isInteger(dim) || dim < -r || dim >= r) {
    throw new TesseraError(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-r}..${r - 1})`)
  }
  return dim < 0 ? dim + r : dim
}

/** Normalises a dim list (undefined means all dims), rejecting repeats. Sorted ascending. */
export function normalizeDims(op: string, dims: number | readonly number[] | undefined, rank: number): number[] {
  if (dims === undefined) return Array.from({ length: rank }, (_, i) => i)
  const list = typeof dims === 'number' ? [dims] : dims
  const out = list.map((d) => normalizeDim(op, d, rank)).sort((a, b) => a - b)
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new TesseraError(`${op}: dim ${out[i]} appears more than once in ${JSON.stringify(list)}`)
  }
  return rank === 0 ? [] : out
}

export function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TesseraError(`${op}: shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`)
  }
  return shape.slice()
}

/**
 * Merges adjacent dims that every operand walks with one stride, and drops size-1 dims, so that
 * strided loops run as few and as long inner rows as possible. `strides[k]` are operand k's strides.
 * Returns the merged shape (at least rank 1) and per-operand merged strides.
 */
export function coalesce(shape: Shape, strides: readonly Shape[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = []
  const outStrides: number[][] = strides.map(() => [])
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]
    if (d === 1) continue
    const last = outShape.length - 1
    const mergeable = last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * d)
    if (mergeable) {
      outShape[last] *= d
      strides.forEach((s, k) => { outStrides[k][last] = s[i] })
    } else {
      outShape.push(d)
      strides.forEach((s, k) => outStrides[k].push(s[i]))
    }
  }
  if (outShape.length === 0) {
    outShape.push(1)
    outStrides.forEach((s) => s.push(0))
  }
  return { shape: outShape, strides: outStrides }
}

/**
 * Strides for viewing a (shape, strides) layout as `newShape` without a copy, or null when the
 * memory layout does not allow it (then reshape must copy). Follows PyTorch's `computeStride`.
 */
export function viewStrides(shape: Shape, strides: Shape, newShape: Shape): number[] | null {
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(newShape)
  const out = new Array<number>(newShape.length)
  let viewD = newShape.length - 1
  let chunkBase = strides[strides.length - 1]
  let tensorNumel = 1
  let viewNumel = 1
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase
        viewNumel *= newShape[viewD]
        viewD--
      }
      if (viewNumel !== tensorNumel) return null
      if (d > 0) {
        chunkBase = strides[d - 1]
        tensorNumel = 1
        viewNumel = 1
      }
    }
  }
  if (viewD !== -1) return null
  return out
}

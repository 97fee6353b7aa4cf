/**
 * @file Index kernels: gather, scatter (assign or add), index-select and index-add.
 *
 * Index arrays are Int32Array, contiguous, already range-checked by the op. For gather and scatter
 * `dim` is the indexed axis; every other axis of the index is read at the same coordinate in the
 * data operands (PyTorch semantics: index.size(d) <= input.size(d) for d != dim).
 */
import type { TypedArray } from '../dtype.ts'
import type { Shape } from '../shape.ts'

type Arr = TypedArray

/** Calls visit(k, coords) for each multi-index of `shape` in row-major order (k = flat position). */
function forEachIndex(shape: Shape, visit: (k: number, coords: Int32Array) => void): void {
  const rank = shape.length
  const coords = new Int32Array(rank)
  let total = 1
  for (const d of shape) total *= d
  for (let k = 0; k < total; k++) {
    visit(k, coords)
    for (let d = rank - 1; d >= 0; d--) {
      if (++coords[d] < shape[d]) break
      coords[d] = 0
    }
  }
}

function offsetOf(coords: Int32Array, strides: Shape, off: number, dim: number, at: number): number {
  let o = off
  for (let d = 0; d < coords.length; d++) o += (d === dim ? at : coords[d]) * strides[d]
  return o
}

/** out[pos] = x[pos with coordinate `dim` replaced by index[pos]]; out is contiguous over idxShape. */
export function gatherInto(out: Arr, x: Arr, xOff: number, xStrides: Shape, index: Int32Array, idxShape: Shape, dim: number): void {
  forEachIndex(idxShape, (k, c) => { out[k] = x[offsetOf(c, xStrides, xOff, dim, index[k])] })
}

/**
 * out[pos with `dim` replaced by index[pos]] = src[pos] (or += when `add`). `out` is a contiguous
 * copy of the destination tensor with strides outStrides; src is read through its own strides.
 */
export function scatterInto(out: Arr, outStrides: Shape, src: Arr, srcOff: number, srcStrides: Shape, index: Int32Array, idxShape: Shape, dim: number, add: boolean): void {
  forEachIndex(idxShape, (k, c) => {
    const o = offsetOf(c, outStrides, 0, dim, index[k])
    const v = src[offsetOf(c, srcStrides, srcOff, -1, 0)]
    out[o] = add ? out[o] + v : v
  })
}

/** out (outer, m, inner) = x (outer, n, inner) at rows index[0..m), both contiguous. */
export function indexSelectInto(out: Arr, x: Arr, outer: number, n: number, inner: number, index: Int32Array): void {
  const m = index.length
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const src = (o * n + index[j]) * inner
      const dst = (o * m + j) * inner
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i]
    }
  }
}

/** out (outer, n, inner) += src (outer, m, inner) scattered to rows index[0..m); repeats add up. */
export function indexAddInto(out: Arr, src: Arr, outer: number, n: number, inner: number, index: Int32Array): void {
  const m = index.length
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < m; j++) {
      const dst = (o * n + index[j]) * inner
      const s = (o * m + j) * inner
      for (let i = 0; i < inner; i++) out[dst + i] += src[s + i]
    }
  }
}

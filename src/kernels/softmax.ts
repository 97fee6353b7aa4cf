/**
 * @file Softmax and log-softmax over the middle axis of a contiguous (outer, n, inner) block.
 * Both subtract the maximum along the axis first, so rows like [1e4, 1e4 - 1] are exact; sums are
 * float64.
 * NOTE: softmax stores e^{x - m} in the output before scaling by 1/sum, so float32 results round
 * twice (within 1 ulp of the correctly rounded value); this saves one exp per element.
 *
 * `softmaxRef` is the plain loop with `Math.exp`. `softmaxInto` is the tuned path: float32 outputs
 * use `expF32` (error < 4e-11 relative, see fastmath.ts), float64 outputs keep `Math.exp` and give
 * the same bits as `softmaxRef`; and for inner > 1 it sweeps whole (n, inner) slabs with the inner
 * axis contiguous instead of walking each strided column separately.
 */
import type { TypedArray } from '../dtype.ts'
import { expF32 } from './fastmath.ts'

/** out = softmax(x) (or log-softmax when `log`), both (outer, n, inner): the obvious loop. */
export function softmaxRef(out: TypedArray, x: TypedArray, outer: number, n: number, inner: number, log: boolean): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i
      let m = -Infinity
      let nan = false
      for (let j = 0; j < n; j++) { const v = x[base + j * inner]; if (v > m) m = v; else if (v !== v) nan = true }
      if (nan) { for (let j = 0; j < n; j++) out[base + j * inner] = NaN; continue }
      // NOTE: an all -Inf row has no finite max; shifting by 0 gives 0/0 = NaN, as PyTorch does.
      if (m === -Infinity || m === Infinity) m = m === Infinity ? m : 0
      let sum = 0
      if (log) {
        for (let j = 0; j < n; j++) sum += Math.exp(x[base + j * inner] - m)
        const shift = m + Math.log(sum)
        for (let j = 0; j < n; j++) out[base + j * inner] = x[base + j * inner] - shift
      } else {
        // One exp per element: store e^{x - m}, then scale by 1/sum.
        for (let j = 0; j < n; j++) { const e = Math.exp(x[base + j * inner] - m); out[base + j * inner] = e; sum += e }
        const inv = 1 / sum
        for (let j = 0; j < n; j++) out[base + j * inner] *= inv
      }
    }
  }
}

/** One contiguous row of n at `base` (inner = 1). */
function softmaxRow(out: TypedArray, x: TypedArray, base: number, n: number, log: boolean, f32: boolean): void {
  const end = base + n
  let m = -Infinity
  for (let j = base; j < end; j++) { const v = x[j]; if (v > m) m = v; else if (v !== v) m = NaN }
  // NaN poisons m (nothing compares above it), so every e^{x - m} and the sum are NaN: a NaN row.
  if (m === -Infinity) m = 0 // all -Inf: 0/0 = NaN below, as in softmaxRef
  let sum = 0
  if (log) {
    if (f32) for (let j = base; j < end; j++) sum += expF32(x[j] - m)
    else for (let j = base; j < end; j++) sum += Math.exp(x[j] - m)
    const shift = m + Math.log(sum)
    for (let j = base; j < end; j++) out[j] = x[j] - shift
    return
  }
  if (f32) for (let j = base; j < end; j++) { const e = expF32(x[j] - m); out[j] = e; sum += e }
  else for (let j = base; j < end; j++) { const e = Math.exp(x[j] - m); out[j] = e; sum += e }
  const inv = 1 / sum
  for (let j = base; j < end; j++) out[j] *= inv
}

// Per-column maxima and sums of one (n, inner) slab, grown on demand.
let colMax = new Float64Array(0) // (inner,)
let colSum = new Float64Array(0) // (inner,)

/** One (n, inner) slab at `base`: the same arithmetic as softmaxRef per column, swept row by row. */
function softmaxSlab(out: TypedArray, x: TypedArray, base: number, n: number, inner: number, log: boolean, f32: boolean): void {
  const m = colMax, s = colSum
  m.fill(-Infinity, 0, inner)
  s.fill(0, 0, inner)
  for (let j = 0; j < n; j++) {
    const r = base + j * inner
    for (let i = 0; i < inner; i++) { const v = x[r + i]; if (v > m[i]) m[i] = v; else if (v !== v) m[i] = NaN }
  }
  for (let i = 0; i < inner; i++) if (m[i] === -Infinity) m[i] = 0
  for (let j = 0; j < n; j++) {
    const r = base + j * inner
    if (log) {
      if (f32) for (let i = 0; i < inner; i++) s[i] += expF32(x[r + i] - m[i])
      else for (let i = 0; i < inner; i++) s[i] += Math.exp(x[r + i] - m[i])
    } else if (f32) {
      for (let i = 0; i < inner; i++) { const e = expF32(x[r + i] - m[i]); out[r + i] = e; s[i] += e }
    } else {
      for (let i = 0; i < inner; i++) { const e = Math.exp(x[r + i] - m[i]); out[r + i] = e; s[i] += e }
    }
  }
  // s becomes the shift (log) or the scale 1/sum (softmax) of each column.
  for (let i = 0; i < inner; i++) s[i] = log ? m[i] + Math.log(s[i]) : 1 / s[i]
  for (let j = 0; j < n; j++) {
    const r = base + j * inner
    if (log) for (let i = 0; i < inner; i++) out[r + i] = x[r + i] - s[i]
    else for (let i = 0; i < inner; i++) out[r + i] *= s[i]
  }
}

/**
 * Tuned out = softmax(x) (or log-softmax when `log`), both (outer, n, inner). Equal to
 * `softmaxRef` bitwise for float64 outputs, within 1 float32 ulp (plus the exp error) for float32.
 */
export function softmaxInto(out: TypedArray, x: TypedArray, outer: number, n: number, inner: number, log: boolean): void {
  const f32 = out instanceof Float32Array
  if (inner === 1) {
    for (let o = 0; o < outer; o++) softmaxRow(out, x, o * n, n, log, f32)
    return
  }
  if (colMax.length < inner) { colMax = new Float64Array(inner); colSum = new Float64Array(inner) }
  for (let o = 0; o < outer; o++) softmaxSlab(out, x, o * n * inner, n, inner, log, f32)
}

/**
 * @file Softmax and log-softmax over the middle axis of a contiguous (outer, n, inner) block.
 * Both subtract the row maximum first, so rows like [1e4, 1e4 - 1] are exact; sums are float64.
 * NOTE: softmax stores e^{x - m} in the output before scaling by 1/sum, so float32 results round
 * twice (within 1 ulp of the correctly rounded value); this saves one exp per element.
 */
import type { TypedArray } from '../dtype.ts'

/** out = softmax(x) (or log-softmax when `log`), both (outer, n, inner). */
export function softmaxInto(out: TypedArray, x: TypedArray, outer: number, n: number, inner: number, log: boolean): void {
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

/**
 * @file Reduction kernels. All accumulate in float64 (JavaScript numbers) and round once on store.
 *
 * Layout: the caller orders the input as (kept dims..., reduced dims...) and coalesces the reduced
 * dims into one run of `n` elements at stride `s` (copying first when they do not coalesce), so
 * every reducer is a single loop `x[base + i*s]`, i < n.
 */
import type { TypedArray } from '../dtype.ts'
import type { Shape } from '../shape.ts'
import { forEachRow } from './strided.ts'

type Arr = TypedArray
type Reducer = (x: Arr, b: number, s: number, n: number, correction: number) => number

export const REDUCERS = {
  sum: (x, b, s, n) => { let acc = 0; for (let i = 0; i < n; i++) acc += x[b + i * s]; return acc },
  mean: (x, b, s, n) => { let acc = 0; for (let i = 0; i < n; i++) acc += x[b + i * s]; return acc / n },
  prod: (x, b, s, n) => { let acc = 1; for (let i = 0; i < n; i++) acc *= x[b + i * s]; return acc },
  // Integer product modulo 2^32, exact where float64 would lose the low bits.
  prodInt: (x, b, s, n) => { let acc = 1; for (let i = 0; i < n; i++) acc = Math.imul(acc, x[b + i * s]); return acc },
  amax: (x, b, s, n) => {
    let m = -Infinity
    for (let i = 0; i < n; i++) { const v = x[b + i * s]; if (v > m) m = v; else if (v !== v) return NaN }
    return m
  },
  amin: (x, b, s, n) => {
    let m = Infinity
    for (let i = 0; i < n; i++) { const v = x[b + i * s]; if (v < m) m = v; else if (v !== v) return NaN }
    return m
  },
  // First index of the maximum; a NaN counts as the maximum (as in PyTorch).
  argmax: (x, b, s, n) => {
    let m = -Infinity, k = 0
    for (let i = 0; i < n; i++) { const v = x[b + i * s]; if (v !== v) return i; if (v > m) { m = v; k = i } }
    return k
  },
  argmin: (x, b, s, n) => {
    let m = Infinity, k = 0
    for (let i = 0; i < n; i++) { const v = x[b + i * s]; if (v !== v) return i; if (v < m) { m = v; k = i } }
    return k
  },
  // logsumexp = m + log(sum_i e^{x_i - m}) with m = max x_i, so nothing overflows.
  logsumexp: (x, b, s, n) => {
    let m = -Infinity
    for (let i = 0; i < n; i++) { const v = x[b + i * s]; if (v > m) m = v; else if (v !== v) return NaN }
    if (m === -Infinity || m === Infinity) return m
    let acc = 0
    for (let i = 0; i < n; i++) acc += Math.exp(x[b + i * s] - m)
    return m + Math.log(acc)
  },
  // Two-pass variance: mean first, then the sum of squared deviations over max(0, n - correction).
  var: (x, b, s, n, correction) => {
    let mean = 0
    for (let i = 0; i < n; i++) mean += x[b + i * s]
    mean /= n
    let acc = 0
    for (let i = 0; i < n; i++) { const d = x[b + i * s] - mean; acc += d * d }
    return acc / Math.max(0, n - correction)
  },
  // NOTE: `=== 0`, not truthiness: NaN counts as true, as in a cast to bool.
  all: (x, b, s, n) => { for (let i = 0; i < n; i++) if (x[b + i * s] === 0) return 0; return 1 },
  any: (x, b, s, n) => { for (let i = 0; i < n; i++) if (x[b + i * s] !== 0) return 1; return 0 },
} satisfies Record<string, Reducer>

export type ReduceName = keyof typeof REDUCERS

/**
 * out[k] = reduce(x over the run at base(k), stride s, length n), where base(k) walks the kept
 * layout (xOff, keptStrides, keptShape) in row-major order. out has numel(keptShape) elements.
 */
export function reduceInto(name: ReduceName, out: Arr, x: Arr, xOff: number, keptShape: Shape, keptStrides: Shape, n: number, s: number, correction = 0): void {
  const f: Reducer = REDUCERS[name]
  let k = 0
  if (keptShape.length === 0) {
    out[0] = f(x, xOff, s, n, correction)
    return
  }
  forEachRow(keptShape, [keptStrides], [xOff], (pos, m, inner) => {
    const ks = inner[0]
    for (let j = 0; j < m; j++) out[k++] = f(x, pos[0] + j * ks, s, n, correction)
  })
}

/** Inclusive prefix sum along the middle axis of a contiguous (outer, n, inner) block. */
export function cumsumInto(out: Arr, x: Arr, outer: number, n: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i
      let acc = 0
      for (let j = 0; j < n; j++) {
        acc += x[base + j * inner]
        out[base + j * inner] = acc
      }
    }
  }
}

/**
 * d/dx_j prod_i x_i = prod_{i != j} x_i, by exclusive prefix and suffix products so that zeros
 * are handled exactly (no division). Same (base, stride, n) run layout as the reducers; `out` is
 * contiguous over (kept..., n).
 */
export function prodOthersInto(out: Arr, x: Arr, xOff: number, keptShape: Shape, keptStrides: Shape, n: number, s: number): void {
  let k = 0
  const visit = (b: number): void => {
    let prefix = 1
    for (let i = 0; i < n; i++) { out[k + i] = prefix; prefix *= x[b + i * s] }
    let suffix = 1
    for (let i = n - 1; i >= 0; i--) { out[k + i] *= suffix; suffix *= x[b + i * s] }
    k += n
  }
  if (keptShape.length === 0) return visit(xOff)
  forEachRow(keptShape, [keptStrides], [xOff], (pos, m, inner) => {
    for (let j = 0; j < m; j++) visit(pos[0] + j * inner[0])
  })
}

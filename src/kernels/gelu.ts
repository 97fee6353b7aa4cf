/**
 * @file Fused GELU backward: dx = g (Phi(x) + x phi(x)) in one pass over g and x, where
 * Phi(x) = (1 + erf(x / sqrt 2)) / 2 and phi(x) = e^{-x^2/2} / sqrt(2 pi) (Hendrycks & Gimpel
 * 2016, https://arxiv.org/abs/1606.08415). The composite backward in src/ops/elementwise.ts builds
 * the same formula from six tensor ops; this kernel replaces it when no graph is being recorded.
 *
 * Operands: dx is contiguous over `shape`; g and x are any strided (or broadcast) views of it.
 * `geluBackwardRef` uses the exact float64 erf and `Math.exp`; `geluBackward` is the same for a
 * float64 dx, and for a float32 dx uses `normalCdfF32` and `expF32` (relative errors below 2.5e-8
 * and 4e-11 on Phi and phi, so the factor Phi + x phi is off by less than 3e-8 (|Phi| + |x phi|)).
 */
import type { TypedArray } from '../dtype.ts'
import { contiguousStrides, type Shape } from '../shape.ts'
import { forEachRow } from './strided.ts'
import { erf } from './math.ts'
import { expF32, normalCdfF32 } from './fastmath.ts'

type Arr = TypedArray
const INV_SQRT_2PI = 0.3989422804014327

/** dx (contiguous over shape) = g * gelu'(x), exact: the oracle. */
export function geluBackwardRef(dx: Arr, g: Arr, gOff: number, gStrides: Shape, x: Arr, xOff: number, xStrides: Shape, shape: Shape): void {
  forEachRow(shape, [contiguousStrides(shape), gStrides, xStrides], [0, gOff, xOff], (pos, n, inner) => {
    const o = pos[0], gi = pos[1], gs = inner[1], xi = pos[2], xs = inner[2]
    for (let i = 0; i < n; i++) {
      const v = x[xi + i * xs]
      const cdf = 0.5 * (1 + erf(v * Math.SQRT1_2))
      const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v)
      dx[o + i] = g[gi + i * gs] * (cdf + v * pdf)
    }
  })
}

/** Tuned dx = g * gelu'(x): float32 dx with the fast erf and exp, float64 dx as the Ref. */
export function geluBackward(dx: Arr, g: Arr, gOff: number, gStrides: Shape, x: Arr, xOff: number, xStrides: Shape, shape: Shape): void {
  if (!(dx instanceof Float32Array)) return geluBackwardRef(dx, g, gOff, gStrides, x, xOff, xStrides, shape)
  forEachRow(shape, [contiguousStrides(shape), gStrides, xStrides], [0, gOff, xOff], (pos, n, inner) => {
    const o = pos[0], gi = pos[1], gs = inner[1], xi = pos[2], xs = inner[2]
    for (let i = 0; i < n; i++) {
      const v = x[xi + i * xs]
      const cdf = normalCdfF32(v)
      const pdf = INV_SQRT_2PI * expF32(-0.5 * v * v)
      dx[o + i] = g[gi + i * gs] * (cdf + v * pdf)
    }
  })
}

/**
 * @file Scalar special functions the kernels need and `Math` lacks: erf (for exact GELU) and the
 * standard normal pdf. Accurate to about 1e-15 absolute in float64.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126
const INV_SQRT_PI = 0.5641895835477563

/**
 * erf(x). For |x| < 3 the all-positive series erf x = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (2n+1)!!
 * (no cancellation); for 3 <= |x| < 6 the Laplace continued fraction
 * erfc x = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))); beyond 6 erf is +-1 in float64.
 */
export function erf(x: number): number {
  if (x !== x) return NaN
  const ax = Math.abs(x)
  if (ax >= 6) return x > 0 ? 1 : -1
  if (ax < 3) {
    const x2 = x * x
    let term = x
    let sum = x
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1)
      sum += term
      if (Math.abs(term) < 1e-17 * Math.abs(sum)) break
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum
  }
  let k = ax
  for (let n = 60; n >= 1; n--) k = ax + (n / 2) / k
  const erfc = (Math.exp(-ax * ax) * INV_SQRT_PI) / k
  return x > 0 ? 1 - erfc : erfc - 1
}

/**
 * x^y with C's (IEEE 754) special cases, which PyTorch follows: pow(1, y) = 1 for every y, NaN too,
 * and pow(-1, +-Infinity) = 1. JavaScript's Math.pow gives NaN for both.
 */
/**
 * Integer power modulo 2^32 (exponentiation by squaring with Math.imul), for int32/int8 tensors:
 * exact where float64 pow would lose the low bits beyond 2^53. `y` must be a non-negative integer.
 */
export function ipow(x: number, y: number): number {
  let result = 1
  let base = x | 0
  for (let e = y; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = Math.imul(result, base)
    base = Math.imul(base, base)
  }
  return result
}

export function pow(x: number, y: number): number {
  if (x === 1 || (x === -1 && (y === Infinity || y === -Infinity))) return 1
  return Math.pow(x, y)
}

const INV_SQRT_2PI = 0.3989422804014327
/** Standard normal density phi(x) = e^{-x^2/2} / sqrt(2 pi). */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x)
}

/** Standard normal cdf Phi(x) = (1 + erf(x / sqrt 2)) / 2. */
export function normalCdf(x: number): number {
  return 0.5 * (1 + erf(x * Math.SQRT1_2))
}

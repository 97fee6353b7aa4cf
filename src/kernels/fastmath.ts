/**
 * @file Fast scalar exp, normal cdf and erf for kernels whose output is float32. Each returns a
 * float64 number whose error is far below float32 rounding, so the value stored into a
 * Float32Array is the correctly rounded one or one ulp from it. The oracles are `Math.exp` and the
 * float64 `erf` in `./math.ts`; test/kernels/fastmath.test.ts sweeps all three against them.
 * Float64 kernels keep `Math.exp` and the exact `erf`.
 *
 * Why: V8 compiles `Math.exp` to a call into fdlibm (about 10 ns here) and the exact erf is a
 * series of up to 200 terms; these inline into the calling loop (4 to 5 ns per element). The
 * integer rounding uses the 1.5 * 2^52 shifter because `Math.round` costs as much as the call.
 */
import { erf } from './math.ts'

// ---------------------------------------------------------------- exp

const EXP_BITS = 6
const EXP_N = 1 << EXP_BITS
const EXP_MASK = EXP_N - 1
/** 2^(j/64) for j = 0..63, each correctly rounded to float64. */
const EXP_TABLE = new Float64Array(EXP_N) // (64,)
for (let j = 0; j < EXP_N; j++) EXP_TABLE[j] = Math.pow(2, j / EXP_N)
/** 2^m for m = -200..199, exact in float64. */
const POW2_BIAS = 200
const POW2 = new Float64Array(2 * POW2_BIAS) // (400,)
for (let m = -POW2_BIAS; m < POW2_BIAS; m++) POW2[m + POW2_BIAS] = Math.pow(2, m)

const INV_STEP = EXP_N / Math.LN2 // 64 / ln 2
const STEP = Math.LN2 / EXP_N // ln 2 / 64
/** Adding and subtracting 1.5 * 2^52 rounds a double with |v| < 2^51 to the nearest integer. */
const SHIFTER = 6755399441055744

/**
 * e^x for a result that will be stored as float32 (Tang's table method):
 *
 *   x = (64 m + j) ln2/64 + r,  |r| <= ln2/128,  e^x = 2^m * 2^(j/64) * e^r,
 *
 * with e^r from its degree-3 Taylor polynomial. Error relative to the exact e^x, before the float32
 * store: truncation r^4/24 <= 3.6e-11, plus about 1e-14 from the float64 reduction and the table;
 * below 4e-11 = 3e-4 float32 ulp in all. After the store the result is the correctly rounded
 * float32 unless e^x lies within 4e-11 of a rounding midpoint, and never more than 1 ulp from
 * `Math.fround(Math.exp(x))`, subnormal results included (the sweep in the test checks this).
 * Edges: x > 89 gives Infinity (e^88.73 overflows float32), x < -104 gives 0 (e^-104 is below half
 * the smallest float32 subnormal), NaN gives NaN.
 * Reference: P. T. P. Tang, "Table-driven implementation of the exponential function in IEEE
 * floating-point arithmetic", ACM TOMS 15(2), 1989. https://doi.org/10.1145/63522.214389
 * @example
 *   out[j] = expF32(x[j] - max) // out is a Float32Array
 */
export function expF32(x: number): number {
  if (!(x < 89 && x > -104)) return x !== x ? x : x > 0 ? Infinity : 0
  const kd = x * INV_STEP + SHIFTER - SHIFTER // nearest integer to 64 x / ln2; |kd| < 6700
  const k = kd | 0
  const r = x - kd * STEP
  // NOTE: k >> 6 is floor(k / 64) and k & 63 the remainder, negative k included (two's complement).
  return EXP_TABLE[k & EXP_MASK] * POW2[(k >> EXP_BITS) + POW2_BIAS] * (1 + r * (1 + r * (0.5 + r * (1 / 6))))
}

// ---------------------------------------------------------------- normal cdf and erf

/**
 * erfc(a) for a >= 0.5 as t exp(-a^2 + P(t)), t = 1 / (1 + 0.45 a), the form of Numerical
 * Recipes' `erfcc` with a degree-8 P fitted by `scripts/fit_erfc_tail.py` (weighted least squares
 * in log space on [0.5, 10.5]). Relative error below 1.7e-8 there (with `expF32`'s 4e-11); past
 * a = 10.2 the result is below the float32 range and `expF32` returns 0.
 */
function erfcTail(a: number): number {
  const t = 1 / (1 + 0.45 * a)
  return t * expF32(-a * a + (-1.3708614133424195 + t * (0.9998919497486926 + t * (0.3979199619734345 +
    t * (0.14857260726015506 + t * (-0.14399266000975536 + t * (0.2940329698385113 + t * (-0.8630962499667656 +
    t * (0.7515625543277535 + t * -0.214141787994433)))))))))
}

/** Phi on [-3, 6) in 144 intervals of width 1/16. */
const CDF_LO = -3
const CDF_HI = 6
const CDF_SCALE = 16
const CDF_INTERVALS = (CDF_HI - CDF_LO) * CDF_SCALE
const INV_SQRT_2PI = 0.3989422804014327
/**
 * Degree-4 Taylor coefficients of Phi at each interval's centre c, in the local variable
 * s = (x - c) * 16 in [-1/2, 1/2): Phi^(k)(c) / (16^k k!), from phi(c) = e^{-c^2/2} / sqrt(2 pi),
 * Phi'' = -c phi, Phi''' = (c^2 - 1) phi, Phi'''' = (3c - c^3) phi, and Phi(c) from the exact erf.
 */
const CDF_TABLE = new Float64Array(CDF_INTERVALS * 5) // (144, 5)
for (let k = 0; k < CDF_INTERVALS; k++) {
  const c = CDF_LO + (k + 0.5) / CDF_SCALE
  const phi = INV_SQRT_2PI * Math.exp(-0.5 * c * c)
  const h = 1 / CDF_SCALE
  CDF_TABLE[5 * k] = 0.5 * (1 + erf(c * Math.SQRT1_2))
  CDF_TABLE[5 * k + 1] = phi * h
  CDF_TABLE[5 * k + 2] = (-c * phi * h * h) / 2
  CDF_TABLE[5 * k + 3] = ((c * c - 1) * phi * h ** 3) / 6
  CDF_TABLE[5 * k + 4] = ((3 * c - c * c * c) * phi * h ** 4) / 24
}

/**
 * The standard normal cdf Phi(x) = (1 + erf(x / sqrt 2)) / 2 for float32 results, accurate
 * relative to Phi itself (so x Phi(x), GELU, keeps its relative accuracy in the negative tail).
 *
 * On [-3, 6): the table above. The Taylor remainder is |Phi^(5)| (1/32)^5 / 120 <= 3e-10 absolute,
 * at most 2.5e-8 relative (at x = -3, where Phi = 0.00135). Below -3 (0.13% of standard normal
 * samples): Phi = erfc(|x| / sqrt 2) / 2 by `erfcTail` (1.7e-8 relative). From 6 up: 1
 * (1 - Phi(6) < 1e-9). NaN gives NaN. The test sweeps it against the exact erf.
 * Reference: https://dlmf.nist.gov/7.2 (erf and erfc; Phi(x) = erfc(-x / sqrt 2) / 2)
 * @example
 *   out[i] = v * normalCdfF32(v) // GELU into a Float32Array
 */
export function normalCdfF32(x: number): number {
  if (x >= CDF_LO && x < CDF_HI) {
    const t = (x - CDF_LO) * CDF_SCALE // exact for float32 x
    const k = t | 0
    const s = t - k - 0.5
    const b = 5 * k
    const c = CDF_TABLE
    return c[b] + s * (c[b + 1] + s * (c[b + 2] + s * (c[b + 3] + s * c[b + 4])))
  }
  if (x >= CDF_HI) return 1
  return 0.5 * erfcTail(-x * Math.SQRT1_2) // x < -3, or NaN
}

/**
 * erf(z) = 2 Phi(z sqrt 2) - 1 for float32 results, from `normalCdfF32`. Absolute error below
 * 1e-9 (the test proves |err| < 1.5e-7 by a dense sweep with a derivative bound between points).
 * NOTE: an absolute bound: near 0, where erf(z) ~ 1.13 z, the relative error grows as 1/|z|.
 * GELU therefore uses `normalCdfF32` directly rather than 1 + erf.
 * @example
 *   const e = erfF32(0.5) // 0.5204998778...
 */
export function erfF32(z: number): number {
  return 2 * normalCdfF32(z * Math.SQRT2) - 1
}

/**
 * @file Vectorised float32 math for the elementwise WebAssembly module: exp, tanh, sigmoid and the
 * normal cdf / density behind GELU, each emitted as f32x4 code into a `Body` (src/wasm/body.ts).
 * Each emitter reads its argument from a v128 local and leaves the result on the stack.
 *
 * exp4 (Cody-Waite): k = nearest(x log2 e), r = (x − k LN2_HI) − k LN2_LO (k LN2_HI exact for
 * |k| < 2^8), e^r by its degree-7 Taylor polynomial (|r| <= ln2/2: truncation 5e-9 relative), times
 * 2^k built as 2^(k>>1) · 2^(k − (k>>1)) so that both factors stay normal for k in [−150, 128]: the
 * one rounding into the subnormal range happens at the last product, and results overflow to +∞
 * past ln(FLT_MAX) = 88.72. Lanes with x > 89 give +∞, x < −104 give 0 (e^−104 is below half the
 * smallest subnormal), NaN stays NaN. Unlike softmax-module.ts's exp4 (which flushes below −87.3)
 * this one keeps subnormal results, as `Math.exp` rounded to float32 does.
 *
 * Phi (the standard normal cdf) for float32 relative accuracy, a = |x| / sqrt 2:
 * - a < 1/2: Phi = 1/2 + erf(x/sqrt 2)/2 with erf's Taylor series (7 terms; truncation < 3e-11);
 * - a >= 1/2: erfc(a) = t e^{−a²} e^{P(t)}, t = 1/(1 + 0.45 a), with the degree-8 P fitted for
 *   `erfcTail` in src/kernels/fastmath.ts (relative error < 1.7e-8 on [0.5, 10.5]);
 *   Phi = erfc/2 for x < 0 and 1 − erfc/2 for x > 0. NOTE: e^{−a²} = e^{−u²/2} (u = |x|) is
 *   computed as e^{−uh²/2} e^{−(u−uh)(u+uh)/2} with uh = u truncated to 12 significant bits, so
 *   uh² is exact: a rounded float32 u² (up to 200) would put an error of 1e-5 into the exponent,
 *   i.e. 200 ulp into the negative tail. u is clamped to 20 (Phi(−20) underflows float32).
 */
import type { Body } from './body.ts'
import { ValType } from './encode.ts'

const V128 = ValType.V128
const LOG2E = 1.4426950408889634
const LN2_HI = 0.693145751953125 // ln 2 to 16 significant bits
const LN2_LO = 1.4286067653302226e-6 // ln 2 − LN2_HI
const EXP_COEFFS = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]
const INV_SQRT_2PI = 0.3989422804014327

/** Taylor coefficients of erf(z)/z in z²: 2/sqrt(pi) (−1)^n / (n! (2n + 1)), highest first. */
const ERF_COEFFS = Array.from({ length: 7 }, (_, n) => {
  let fact = 1
  for (let i = 2; i <= n; i++) fact *= i
  return (2 / Math.sqrt(Math.PI)) * (n % 2 ? -1 : 1) / (fact * (2 * n + 1))
}).reverse()

/**
 * Taylor coefficients of (tanh(x) − x)/x³ in x², highest first, from tanh' = 1 − tanh²:
 * (2n + 1) c_n = −Σ_{i+j=n−1} c_i c_j with c_0 = 1. Terms kept while c_n 0.25^n > 1e-10
 * (the series is used for |x| < 1/2; the first dropped term is below 2^-33 relative).
 */
const TANH_COEFFS = ((): number[] => {
  const c = [1]
  for (let n = 1; ; n++) {
    let s = 0
    for (let i = 0; i < n; i++) s += c[i] * c[n - 1 - i]
    c.push(-s / (2 * n + 1))
    if (Math.abs(c[n]) * 0.25 ** n < 1e-10) break
  }
  return c.slice(1, -1).reverse()
})()

/** erfcTail's P(t) coefficients (src/kernels/fastmath.ts), highest degree first. */
const ERFC_P = [-0.214141787994433, 0.7515625543277535, -0.8630962499667656, 0.2940329698385113, -0.14399266000975536,
  0.14857260726015506, 0.3979199619734345, 0.9998919497486926, -1.3708614133424195]

/**
 * Scratch v128 locals and the emitters. NOTE: every emitter runs `streams` independent vectors with
 * their statements interleaved (stream 0's statement, stream 1's, ...): one vector's exp is a
 * chain of ~30 dependent SIMD ops, and GELU's body is too long for the CPU to overlap consecutive
 * loop iterations by itself, so without the interleave it runs at the chain's latency.
 * Arguments and results are arrays of v128 locals, one per stream.
 */
export class VecMath {
  private readonly s: number[][] = []
  constructor(readonly f: Body, readonly streams: number) {}

  /** The i-th scratch locals, one per stream (allocated on first use). */
  tmp(i: number): number[] {
    while (this.s.length <= i) this.s.push(Array.from({ length: this.streams }, () => this.f.local(V128)))
    return this.s[i]
  }

  /** Emits `stmt(k)` for each stream k (each statement must leave the stack as it found it). */
  each(stmt: (k: number) => void): void {
    for (let k = 0; k < this.streams; k++) stmt(k)
  }

  /** acc = c[0] z^m + ... + c[m] by Horner, interleaved across streams. */
  horner(acc: number[], z: number[], c: readonly number[]): void {
    const f = this.f
    this.each((k) => f.f32x4(c[0]).set(acc[k]))
    for (let i = 1; i < c.length; i++) this.each((k) => f.get(acc[k]).get(z[k]).simd('f32x4.mul').f32x4(c[i]).simd('f32x4.add').set(acc[k]))
  }

  /** out = e^x (see the file comment). Uses scratch 0-2; `out` may be `x`. */
  exp(x: number[], out: number[]): void {
    const f = this.f, r = this.tmp(0), k = this.tmp(1), p = this.tmp(2)
    this.each((s) => f.get(x[s]).f32x4(LOG2E).simd('f32x4.mul').simd('f32x4.nearest').set(r[s]))
    // k as i32 lanes; r = (x − k LN2_HI) − k LN2_LO
    this.each((s) => f.get(r[s]).simd('i32x4.trunc_sat_f32x4_s').set(k[s]))
    this.each((s) => f.get(x[s]).get(r[s]).f32x4(LN2_HI).simd('f32x4.mul').simd('f32x4.sub').get(r[s]).f32x4(LN2_LO).simd('f32x4.mul').simd('f32x4.sub').set(r[s]))
    this.horner(p, r, EXP_COEFFS)
    // × 2^(k>>1) × 2^(k − (k>>1)), each as the bit pattern (e + 127) << 23
    this.each((s) => f.get(k[s]).i32(1).simd('i32x4.shr_s').set(r[s]))
    this.each((s) => {
      f.get(p[s]).get(r[s]).i32(127).simd('i32x4.splat').simd('i32x4.add').i32(23).simd('i32x4.shl').simd('f32x4.mul')
      f.get(k[s]).get(r[s]).simd('i32x4.sub').i32(127).simd('i32x4.splat').simd('i32x4.add').i32(23).simd('i32x4.shl').simd('f32x4.mul').set(p[s])
    })
    // x > 89: +∞; x < −104: 0 (comparisons are false for NaN, which stays NaN)
    this.each((s) => {
      f.f32x4(Infinity).get(p[s]).get(x[s]).f32x4(89).simd('f32x4.gt').simd('v128.bitselect')
      f.get(x[s]).f32x4(-104).simd('f32x4.lt').simd('v128.andnot').set(out[s])
    })
  }

  /** out = tanh x: odd Taylor series for |x| < 1/2, else sign(x) (1 − e)/(1 + e), e = e^{−2|x|}. Scratch 0-5. */
  tanh(x: number[], out: number[]): void {
    const f = this.f, ax = this.tmp(3), e = this.tmp(4), z = this.tmp(5)
    this.each((s) => f.get(x[s]).simd('f32x4.abs').tee(ax[s]).f32x4(-2).simd('f32x4.mul').set(e[s]))
    this.exp(e, e)
    // large: (1 − e)/(1 + e) >= 0 (x's sign bit is or-ed in at the end)
    this.each((s) => f.f32x4(1).get(e[s]).simd('f32x4.sub').f32x4(1).get(e[s]).simd('f32x4.add').simd('f32x4.div').set(e[s]))
    // small: x + x³ q(x²)
    this.each((s) => f.get(x[s]).get(x[s]).simd('f32x4.mul').set(z[s]))
    this.horner(out, z, TANH_COEFFS)
    this.each((s) => {
      f.get(x[s]).get(out[s]).get(z[s]).simd('f32x4.mul').get(x[s]).simd('f32x4.mul').simd('f32x4.add')
      f.get(e[s]).get(ax[s]).f32x4(0.5).simd('f32x4.lt').simd('v128.bitselect')
      // NOTE: x + x·(x² q) is +0 at x = −0 (q < 0 makes x·(x² q) = (−0)(−0)); tanh has x's sign, so or it in
      f.get(x[s]).f32x4(-0).simd('v128.and').simd('v128.or').set(out[s])
    })
  }

  /** out = 1/(1 + e^{−x}), as e/(1 + e) with e = e^{−|x|} for x < 0. Scratch 0-4. */
  sigmoid(x: number[], out: number[]): void {
    const f = this.f, e = this.tmp(3), t = this.tmp(4)
    this.each((s) => f.get(x[s]).simd('f32x4.abs').simd('f32x4.neg').set(e[s]))
    this.exp(e, e)
    this.each((s) => {
      f.f32x4(1).f32x4(1).get(e[s]).simd('f32x4.add').simd('f32x4.div').set(t[s])
      f.get(e[s]).get(t[s]).simd('f32x4.mul').get(t[s]).get(x[s]).f32x4(0).simd('f32x4.lt').simd('v128.bitselect').set(out[s])
    })
  }

  /** cdf = Phi(x); with `pdf` also phi(x) = e^{−x²/2}/sqrt(2 pi). Scratch 0-9. */
  normal(x: number[], cdf: number[], pdf?: number[]): void {
    const f = this.f, u = this.tmp(3), uh = this.tmp(4), d = this.tmp(5), t = this.tmp(6), e1 = this.tmp(7), w = this.tmp(8), z = this.tmp(9)
    this.each((s) => {
      f.get(x[s]).simd('f32x4.abs').f32x4(20).simd('f32x4.min').tee(u[s]) // NaN propagates
      f.i32(-4096).simd('i32x4.splat').simd('v128.and').set(uh[s]) // 12 significant bits
      f.get(u[s]).get(uh[s]).simd('f32x4.sub').get(u[s]).get(uh[s]).simd('f32x4.add').simd('f32x4.mul').f32x4(-0.5).simd('f32x4.mul').set(d[s]) // −(u² − uh²)/2
      f.get(uh[s]).get(uh[s]).simd('f32x4.mul').f32x4(-0.5).simd('f32x4.mul').set(e1[s])
    })
    this.exp(e1, e1) // e^{−uh²/2}
    if (pdf !== undefined) {
      this.exp(d, pdf)
      this.each((s) => f.get(pdf[s]).get(e1[s]).simd('f32x4.mul').f32x4(INV_SQRT_2PI).simd('f32x4.mul').set(pdf[s]))
    }
    // tail: erfc(a) = t e1 e^{d + P(t)}, t = 1/(1 + 0.45 a)
    this.each((s) => f.f32x4(1).f32x4(1).get(u[s]).f32x4(0.45 * Math.SQRT1_2).simd('f32x4.mul').simd('f32x4.add').simd('f32x4.div').set(t[s]))
    this.horner(w, t, ERFC_P)
    this.each((s) => f.get(w[s]).get(d[s]).simd('f32x4.add').set(w[s]))
    // small: erf(x/sqrt 2) = v Q(v²), v = x/sqrt 2 (this Horner chain is independent of the exp below)
    this.each((s) => f.get(x[s]).f32x4(Math.SQRT1_2).simd('f32x4.mul').tee(z[s]).get(z[s]).simd('f32x4.mul').set(cdf[s]))
    this.horner(d, cdf, ERF_COEFFS)
    this.each((s) => f.get(d[s]).get(z[s]).simd('f32x4.mul').f32x4(0.5).simd('f32x4.mul').f32x4(0.5).simd('f32x4.add').set(z[s]))
    this.exp(w, w)
    this.each((s) => {
      f.get(w[s]).get(t[s]).simd('f32x4.mul').get(e1[s]).simd('f32x4.mul').f32x4(0.5).simd('f32x4.mul').set(w[s]) // erfc/2
      // x < 0: erfc/2; else 1 − erfc/2; a < 1/2: the series
      f.get(w[s]).f32x4(1).get(w[s]).simd('f32x4.sub').get(x[s]).f32x4(0).simd('f32x4.lt').simd('v128.bitselect')
      f.set(t[s]).get(z[s]).get(t[s]).get(u[s]).f32x4(Math.SQRT1_2).simd('f32x4.lt').simd('v128.bitselect').set(cdf[s])
    })
  }
}

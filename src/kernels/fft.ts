/**
 * @file Radix-2 iterative FFT (Cooley & Tukey 1965) and FFT-based causal long convolution, as used
 * by S4/S4D (Gu et al. 2022, https://arxiv.org/abs/2206.11893, Sec. 2: y = irfft(rfft(u, 2L)
 * rfft(K, 2L))[:L]).
 *
 * Complex data are split arrays (re, im) of a power-of-two length n. `fft` is in place, bit-reversal
 * then log2(n) butterfly stages with twiddles from a per-size table (computed once, cached).
 * `rfft` / `irfft` give the n/2 + 1 non-negative-frequency bins of a real signal.
 * `fftConvInto` convolves two real signals with ONE complex FFT of z = u + i k (the two spectra are
 * separated by conjugate symmetry) and one inverse FFT; any lengths are zero-padded to the next
 * power of two >= Lu + Lk - 1 so that the circular convolution equals the linear one.
 * `causalConvDirect` is the O(L Lk) oracle.
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

/** Smallest power of two >= n (1 for n <= 1). */
export function nextPow2(n: number): number {
  let p = 1
  while (p < n) p *= 2
  return p
}

const TWIDDLES = new Map<number, { cos: Float64Array; sin: Float64Array }>()

/** cos/sin(2 pi k / n) for k < n/2: (n/2,) each. */
function twiddles(n: number): { cos: Float64Array; sin: Float64Array } {
  let t = TWIDDLES.get(n)
  if (!t) {
    const h = n >> 1
    t = { cos: new Float64Array(h), sin: new Float64Array(h) }
    for (let k = 0; k < h; k++) { t.cos[k] = Math.cos((2 * Math.PI * k) / n); t.sin[k] = Math.sin((2 * Math.PI * k) / n) }
    TWIDDLES.set(n, t)
  }
  return t
}

/**
 * In-place complex DFT X_k = Σ_j x_j e^{∓2πi jk/n} (minus sign forward). The inverse is unscaled
 * here only if `scale` is false; by default the inverse divides by n.
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false, scale = true): void {
  const n = re.length
  if (n <= 1) return
  if ((n & (n - 1)) !== 0) throw new Error(`fft: length ${n} is not a power of two`)
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      let t = re[i]; re[i] = re[j]; re[j] = t
      t = im[i]; im[i] = im[j]; im[j] = t
    }
  }
  const { cos, sin } = twiddles(n)
  const sgn = inverse ? 1 : -1
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1, step = n / len
    for (let s = 0; s < n; s += len) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step], wi = sgn * sin[k * step]
        const a = s + k, b = a + half
        const xr = re[b] * wr - im[b] * wi
        const xi = re[b] * wi + im[b] * wr
        re[b] = re[a] - xr; im[b] = im[a] - xi
        re[a] += xr; im[a] += xi
      }
    }
  }
  if (inverse && scale) for (let i = 0; i < n; i++) { re[i] /= n; im[i] /= n }
}

/** Plain O(n^2) DFT: the oracle for `fft`. */
export function dftRef(re: Float64Array, im: Float64Array, inverse = false): { re: Float64Array; im: Float64Array } {
  const n = re.length
  const or = new Float64Array(n), oi = new Float64Array(n) // (n,)
  const sgn = inverse ? 1 : -1
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const ang = (sgn * 2 * Math.PI * ((j * k) % n)) / n
      or[k] += re[j] * Math.cos(ang) - im[j] * Math.sin(ang)
      oi[k] += re[j] * Math.sin(ang) + im[j] * Math.cos(ang)
    }
    if (inverse) { or[k] /= n; oi[k] /= n }
  }
  return { re: or, im: oi }
}

/** Real FFT of x zero-padded to n (a power of two): bins 0..n/2, each (n/2 + 1,). */
export function rfft(x: ArrayLike<number>, n: number): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(n), im = new Float64Array(n) // (n,)
  for (let i = 0; i < Math.min(n, x.length); i++) re[i] = x[i]
  fft(re, im)
  return { re: re.slice(0, n / 2 + 1), im: im.slice(0, n / 2 + 1) }
}

/** Inverse of `rfft`: n real samples from the n/2 + 1 bins (Hermitian symmetry fills the rest). */
export function irfft(binsRe: ArrayLike<number>, binsIm: ArrayLike<number>, n: number): Float64Array {
  const re = new Float64Array(n), im = new Float64Array(n) // (n,)
  for (let k = 0; k <= n / 2; k++) { re[k] = binsRe[k]; im[k] = binsIm[k] }
  for (let k = n / 2 + 1; k < n; k++) { re[k] = binsRe[n - k]; im[k] = -binsIm[n - k] }
  fft(re, im, true)
  return re
}

/** Scratch of one FFT convolution size, reused across calls: (n,) each. */
export interface ConvScratch { n: number; re: Float64Array; im: Float64Array }

export function convScratch(L: number, Lk: number): ConvScratch {
  const n = nextPow2(L + Lk - 1)
  return { n, re: new Float64Array(n), im: new Float64Array(n) }
}

/**
 * out[oOff + t] = Σ_{j <= t, j < Lk} k[kOff + j] u[uOff + t - j] for t < L (causal, first L outputs),
 * by FFT: z = u + i k; U = (Z_m + conj Z_{n-m}) / 2, K = (Z_m - conj Z_{n-m}) / 2i; y = ifft(U K).
 */
export function fftConvInto(out: Arr, oOff: number, u: Arr, uOff: number, L: number, k: Arr, kOff: number, Lk: number, s: ConvScratch): void {
  const { n, re, im } = s
  re.fill(0); im.fill(0)
  for (let t = 0; t < L; t++) re[t] = u[uOff + t]
  for (let j = 0; j < Lk; j++) im[j] = k[kOff + j]
  fft(re, im)
  // Product spectrum P_m = U_m K_m for m and n - m together (they are computed from the same pair).
  for (let m = 0; m <= n / 2; m++) {
    const mm = (n - m) & (n - 1)
    const ar = re[m], ai = im[m], br = re[mm], bi = -im[mm] // Z_m and conj(Z_{n-m})
    const ur = (ar + br) / 2, ui = (ai + bi) / 2 // U_m
    const kr = (ai - bi) / 2, ki = -(ar - br) / 2 // K_m = (Z_m - conj Z_{n-m}) / 2i
    const pr = ur * kr - ui * ki, pi = ur * ki + ui * kr // P_m
    re[m] = pr; im[m] = pi
    if (mm !== m) { re[mm] = pr; im[mm] = -pi } // P_{n-m} = conj(P_m): the product is real
  }
  fft(re, im, true)
  for (let t = 0; t < L; t++) out[oOff + t] = re[t]
}

/** The O(L Lk) loop: out[t] = Σ_{j <= t} k[j] u[t - j]. */
export function causalConvDirect(out: Arr, oOff: number, u: Arr, uOff: number, L: number, k: Arr, kOff: number, Lk: number): void {
  for (let t = 0; t < L; t++) {
    let acc = 0
    const jEnd = Math.min(t, Lk - 1)
    for (let j = 0; j <= jEnd; j++) acc += k[kOff + j] * u[uOff + t - j]
    out[oOff + t] = acc
  }
}

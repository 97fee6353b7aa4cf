/**
 * @file S4D raw kernels (Gu, Gupta, Goel, Ré 2022, "On the Parameterization and Initialization of
 * Diagonal State Space Models", https://arxiv.org/abs/2206.11893; state-spaces/s4 `s4d.py`).
 *
 * Complex numbers are float pairs in split arrays (re, im). Per channel h there are N2 = N/2 modes
 * (their conjugates are implied, hence the factor 2 Re). Shapes:
 *   Are, Aim, Cre, Cim: (H, N2)   dt: (H,)   K: (H, L)
 * ZOH (Sec. 3.2, Eqn (5) Vandermonde form): dA = exp(dt A), C' = C (exp(dt A) - 1) / A,
 *   K[h, l] = 2 Re Σ_n C'_n dA_n^l.
 * Bilinear (S4 Eqn (3)): dA = (1 + dt A / 2) / (1 - dt A / 2), C' = C dt / (1 - dt A / 2).
 * This is the non-differentiable oracle of `src/ssm/s4d.ts` (which builds the same kernel from ops).
 */
import type { TypedArray } from '../dtype.ts'

export type S4DInit = 'lin' | 'inv' | 'real'
export type Discretization = 'zoh' | 'bilinear'

/**
 * Diagonal A init for N2 modes of an order-N SSM (N = 2 N2), Sec. 4 / Table 1:
 * Lin: -1/2 + i π n; Inv: -1/2 + i (N/π)(N/(2n+1) - 1); Real: -(n + 1).
 */
export function s4dInitA(kind: S4DInit, N2: number): { re: Float64Array; im: Float64Array } {
  const N = 2 * N2
  const re = new Float64Array(N2), im = new Float64Array(N2) // (N2,)
  for (let n = 0; n < N2; n++) {
    if (kind === 'lin') { re[n] = -0.5; im[n] = Math.PI * n }
    else if (kind === 'inv') { re[n] = -0.5; im[n] = (N / Math.PI) * (N / (2 * n + 1) - 1) }
    else { re[n] = -(n + 1); im[n] = 0 }
  }
  return { re, im }
}

/** dA and the input weight dB (B = 1) of one mode: [dAre, dAim, dBre, dBim]. */
export function discretizeMode(ar: number, ai: number, dt: number, disc: Discretization): [number, number, number, number] {
  const zr = dt * ar, zi = dt * ai // dt A
  if (disc === 'zoh') {
    const e = Math.exp(zr), er = e * Math.cos(zi), ei = e * Math.sin(zi) // exp(dt A)
    // (exp(dt A) - 1) / A
    const nr = er - 1, ni = ei, den = ar * ar + ai * ai
    return [er, ei, (nr * ar + ni * ai) / den, (ni * ar - nr * ai) / den]
  }
  // 1 / (1 - dt A / 2)
  const pr = 1 - zr / 2, pi = -zi / 2, den = pr * pr + pi * pi
  const ir = pr / den, ii = -pi / den
  const qr = 1 + zr / 2, qi = zi / 2
  return [qr * ir - qi * ii, qr * ii + qi * ir, dt * ir, dt * ii]
}

/** K (H, L) = 2 Re Σ_n C_n dB_n dA_n^l, powers by running products (float64). */
export function ssmKernelVandermonde(K: TypedArray, Are: TypedArray, Aim: TypedArray, Cre: TypedArray, Cim: TypedArray, dt: TypedArray,
  H: number, N2: number, L: number, disc: Discretization): void {
  K.fill(0, 0, H * L)
  for (let h = 0; h < H; h++) {
    for (let n = 0; n < N2; n++) {
      const j = h * N2 + n
      const [ar, ai, br, bi] = discretizeMode(Are[j], Aim[j], dt[h], disc)
      let pr = Cre[j] * br - Cim[j] * bi, pi = Cre[j] * bi + Cim[j] * br // C' dA^0
      for (let l = 0; l < L; l++) {
        K[h * L + l] += 2 * pr
        const t = pr * ar - pi * ai
        pi = pr * ai + pi * ar
        pr = t
      }
    }
  }
}

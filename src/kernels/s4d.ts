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
import { TesseraError } from '../errors.ts'

export type S4DInit = 'lin' | 'inv' | 'real' | 'legs' | 'rand'
export type Discretization = 'zoh' | 'bilinear'

/** A source of N(0, 1) samples (a `Generator` from src/rng.ts fits). */
export interface NormalSource { nextNormal(): number }

/**
 * Diagonal A init for N2 modes of an order-N SSM (N = 2 N2), Sec. 4 / Table 1 and state-spaces/s4
 * `src/models/sequence/kernels/dplr.py`:
 *   Lin:  -1/2 + i π n
 *   Inv:  -1/2 + i (N/π)(N/(2n+1) - 1)
 *   Real: -(n + 1)
 *   LegS: -1/2 + i ω_n, ±i ω_n the eigenvalues of the skew part of the HiPPO-LegS normal matrix
 *         (`hippoLegSImag`), largest first as in the reference
 *   Rand: -1/2 + i exp(z_n), z_n ~ N(0, 1) drawn from `rng` (required)
 * Reference: https://arxiv.org/abs/2206.11893
 * @example
 *   const { re, im } = s4dInitA('legs', 32) // re all -0.5, im[0] ≈ 1303.27 (N = 64)
 *   const r = s4dInitA('rand', 32, new Generator(0))
 */
export function s4dInitA(kind: S4DInit, N2: number, rng?: NormalSource): { re: Float64Array; im: Float64Array } {
  if (!Number.isInteger(N2) || N2 < 1) throw new TesseraError(`s4dInitA: N2 must be a positive integer, got ${N2}`)
  const N = 2 * N2
  const re = new Float64Array(N2), im = new Float64Array(N2) // (N2,)
  if (kind === 'legs') {
    re.fill(-0.5)
    im.set(hippoLegSImag(N))
    return { re, im }
  }
  if (kind === 'rand' && !rng) throw new TesseraError("s4dInitA: init 'rand' needs a random source (a Generator)")
  for (let n = 0; n < N2; n++) {
    if (kind === 'lin') { re[n] = -0.5; im[n] = Math.PI * n }
    else if (kind === 'inv') { re[n] = -0.5; im[n] = (N / Math.PI) * (N / (2 * n + 1) - 1) }
    else if (kind === 'real') { re[n] = -(n + 1); im[n] = 0 }
    else if (kind === 'rand') { re[n] = -0.5; im[n] = Math.exp(rng!.nextNormal()) }
    else throw new TesseraError(`s4dInitA: unknown init '${String(kind)}' (expected lin, inv, real, legs or rand)`)
  }
  return { re, im }
}

/**
 * The N/2 positive imaginary parts ω of the HiPPO-LegS normal matrix's eigenvalues, descending.
 * HiPPO-LegS A[n,k] = -sqrt(2n+1) sqrt(2k+1) (n > k), -(n+1) (n = k), 0 (n < k), and P_n = sqrt(n + 1/2);
 * the normal part A + P P^T = -I/2 + S with S skew-symmetric:
 *   S[n,k] = sign(k - n) sqrt(2n+1) sqrt(2k+1) / 2,
 * whose eigenvalues are ±i ω_j. ω_j^2 are the eigenvalues (each twice) of the symmetric S^T S,
 * found by cyclic Jacobi rotations in float64.
 * Reference: Gu et al. 2022 (S4D), https://arxiv.org/abs/2206.11893, Sec. 4; state-spaces/s4 `hippo.nplr`.
 */
export function hippoLegSImag(N: number): Float64Array {
  if (!Number.isInteger(N) || N < 2 || N % 2 !== 0) throw new TesseraError(`hippoLegSImag: N must be an even integer >= 2, got ${N}`)
  const S = new Float64Array(N * N) // (N, N) skew-symmetric
  for (let n = 0; n < N; n++) for (let k = 0; k < N; k++) S[n * N + k] = Math.sign(k - n) * Math.sqrt((2 * n + 1) * (2 * k + 1)) / 2
  const M = new Float64Array(N * N) // (N, N) = S^T S, symmetric PSD
  for (let i = 0; i < N; i++) {
    for (let j = i; j < N; j++) {
      let t = 0
      for (let r = 0; r < N; r++) t += S[r * N + i] * S[r * N + j]
      M[i * N + j] = t; M[j * N + i] = t
    }
  }
  const ev = symmetricEigenvalues(M, N).sort((a, b) => b - a) // ω^2 descending, each twice
  const out = new Float64Array(N / 2) // (N/2,)
  for (let j = 0; j < N / 2; j++) out[j] = Math.sqrt(Math.max(0, (ev[2 * j] + ev[2 * j + 1]) / 2))
  return out
}

/** Eigenvalues of a symmetric M (n, n) by cyclic Jacobi rotations (M is overwritten). */
export function symmetricEigenvalues(M: Float64Array, n: number): number[] {
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0
    for (let i = 0; i < n; i++) { diag += M[i * n + i] ** 2; for (let j = i + 1; j < n; j++) off += M[i * n + j] ** 2 }
    if (off <= 1e-30 * diag || off === 0) break
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = M[p * n + q]
        if (apq === 0) continue
        // Rotation zeroing M[p, q]: tan t = sign(θ) / (|θ| + sqrt(θ^2 + 1)), θ = (M_qq - M_pp) / (2 M_pq).
        const theta = (M[q * n + q] - M[p * n + p]) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1), s = t * c
        for (let k = 0; k < n; k++) { // columns p, q
          const mkp = M[k * n + p], mkq = M[k * n + q]
          M[k * n + p] = c * mkp - s * mkq; M[k * n + q] = s * mkp + c * mkq
        }
        for (let k = 0; k < n; k++) { // rows p, q
          const mpk = M[p * n + k], mqk = M[q * n + k]
          M[p * n + k] = c * mpk - s * mqk; M[q * n + k] = s * mpk + c * mqk
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => M[i * n + i])
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

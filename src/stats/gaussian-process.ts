/**
 * @file Gaussian-process regression (Rasmussen & Williams 2006, Alg. 2.1) in float64 with an RBF
 * kernel, used by paper 35 (TinyNet, "Model Rubik's Cube: Twisting Resolution, Depth and Width for
 * TinyNets", https://arxiv.org/abs/2010.14819) to fit resolution r(c) and depth d(c) against the
 * FLOPs ratio c. Plain typed arrays, no autograd: inputs X (N, P) row-major, targets y (N).
 *
 *   k(x, x') = σ_f² exp(−‖x − x'‖² / (2 ℓ²))
 *   K = k(X, X) + σ_n² I = L Lᵀ (Cholesky),   α = K⁻¹ (y − m)
 *   mean(x*) = m + k(x*, X) α,   var(x*) = k(x*, x*) − ‖L⁻¹ k(X, x*)‖²
 *   log p(y | X) = −½ (y − m)ᵀ α − Σ log L_ii − N/2 log 2π
 * with m = 0 ('zero') or the mean of y ('constant', the default: extrapolates to the data mean).
 */
import { TesseraError } from '../errors.ts'

/**
 * In-place lower Cholesky factor of a symmetric positive definite (n, n) row-major matrix: returns L
 * with A = L Lᵀ (upper triangle zeroed). Throws when A is not positive definite.
 */
export function cholesky(a: Float64Array, n: number): Float64Array {
  if (a.length !== n * n) throw new TesseraError(`cholesky: expected ${n * n} entries for an (${n}, ${n}) matrix, got ${a.length}`)
  const L = new Float64Array(n * n) // (n, n)
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]
    for (let k = 0; k < j; k++) s -= L[j * n + k] * L[j * n + k]
    if (!(s > 0)) throw new TesseraError(`cholesky: matrix is not positive definite (pivot ${j} = ${s}); add noise or jitter`)
    const d = Math.sqrt(s)
    L[j * n + j] = d
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k]
      L[i * n + j] = t / d
    }
  }
  return L
}

/** Solves L z = b (forward substitution), L lower triangular (n, n). */
export function solveLower(L: Float64Array, b: Float64Array, n: number): Float64Array {
  const z = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k]
    z[i] = s / L[i * n + i]
  }
  return z
}

/** Solves Lᵀ z = b (back substitution), L lower triangular (n, n). */
export function solveUpperT(L: Float64Array, b: Float64Array, n: number): Float64Array {
  const z = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * z[k]
    z[i] = s / L[i * n + i]
  }
  return z
}

export interface GaussianProcessOptions {
  kernel?: 'rbf'
  /** RBF length scale ℓ (default 1). */
  lengthScale?: number
  /** Signal variance σ_f² (default 1). */
  variance?: number
  /** Observation noise variance σ_n² (default 0: exact interpolation; a 1e-10 jitter keeps K factorable). */
  noise?: number
  /** Prior mean: 0 or the training mean (default 'constant'). */
  mean?: 'zero' | 'constant'
}

type Points = readonly (number | readonly number[])[]
const asRow = (x: number | readonly number[]): readonly number[] => (typeof x === 'number' ? [x] : x)

/**
 * A fitted GP regressor. `predict(x)` gives posterior means, `predictVariance(x)` the latent variances.
 * Reference: http://gaussianprocess.org/gpml/chapters/RW2.pdf (Algorithm 2.1)
 * @example
 *   const gp = gaussianProcess([0, 1, 2], [0, 1, 4], { lengthScale: 1, noise: 0 })
 *   gp.predict([1])[0] // 1 (interpolates its training points)
 */
export class GaussianProcess {
  readonly n: number
  readonly p: number
  readonly lengthScale: number
  readonly variance: number
  readonly noise: number
  readonly priorMean: number
  private readonly X: Float64Array // (N, P)
  private readonly L: Float64Array // (N, N)
  private readonly alpha: Float64Array // (N)
  readonly logMarginalLikelihood: number

  constructor(X: Points, y: readonly number[], opts: GaussianProcessOptions = {}) {
    const n = X.length
    if (n === 0 || y.length !== n) throw new TesseraError(`gaussianProcess: need N >= 1 inputs and N targets, got ${n} inputs and ${y.length} targets`)
    if ((opts.kernel ?? 'rbf') !== 'rbf') throw new TesseraError(`gaussianProcess: only the 'rbf' kernel is implemented, got '${opts.kernel}'`)
    const p = asRow(X[0]).length
    this.n = n; this.p = p
    this.lengthScale = opts.lengthScale ?? 1
    this.variance = opts.variance ?? 1
    this.noise = opts.noise ?? 0
    if (!(this.lengthScale > 0 && this.variance > 0 && this.noise >= 0)) {
      throw new TesseraError(`gaussianProcess: need lengthScale > 0, variance > 0, noise >= 0, got ${this.lengthScale}, ${this.variance}, ${this.noise}`)
    }
    this.X = new Float64Array(n * p)
    X.forEach((row, i) => {
      const r = asRow(row)
      if (r.length !== p) throw new TesseraError(`gaussianProcess: every input needs ${p} features, row ${i} has ${r.length}`)
      this.X.set(r, i * p)
    })
    this.priorMean = (opts.mean ?? 'constant') === 'constant' ? y.reduce((a, b) => a + b, 0) / n : 0
    const K = new Float64Array(n * n) // (N, N)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = this.k(this.X, i, this.X, j)
    // NOTE: noise 0 makes K singular for repeated inputs; a 1e-10 σ_f² jitter keeps it factorable
    // without moving the interpolated values beyond ~1e-9.
    for (let i = 0; i < n; i++) K[i * n + i] += this.noise + 1e-10 * this.variance
    this.L = cholesky(K, n)
    const r = Float64Array.from(y, (v) => v - this.priorMean) // (N)
    this.alpha = solveUpperT(this.L, solveLower(this.L, r, n), n)
    let quad = 0, logDet = 0
    for (let i = 0; i < n; i++) { quad += r[i] * this.alpha[i]; logDet += Math.log(this.L[i * n + i]) }
    this.logMarginalLikelihood = -0.5 * quad - logDet - (n / 2) * Math.log(2 * Math.PI)
  }

  /** k between row i of A and row j of B. */
  private k(A: Float64Array, i: number, B: Float64Array, j: number): number {
    let d2 = 0
    for (let q = 0; q < this.p; q++) { const d = A[i * this.p + q] - B[j * this.p + q]; d2 += d * d }
    return this.variance * Math.exp(-d2 / (2 * this.lengthScale * this.lengthScale))
  }

  private kStar(x: number | readonly number[]): Float64Array {
    const r = Float64Array.from(asRow(x))
    if (r.length !== this.p) throw new TesseraError(`GaussianProcess.predict: inputs need ${this.p} features, got ${r.length}`)
    return Float64Array.from({ length: this.n }, (_, i) => this.k(this.X, i, r, 0)) // (N)
  }

  /** Posterior mean m + k(x*, X) α at each query point. */
  predict(Xs: Points): number[] {
    return Xs.map((x) => {
      const ks = this.kStar(x)
      let s = this.priorMean
      for (let i = 0; i < this.n; i++) s += ks[i] * this.alpha[i]
      return s
    })
  }

  /** Posterior variance of the latent function, k(x*, x*) − ‖L⁻¹ k*‖², at each query point. */
  predictVariance(Xs: Points): number[] {
    return Xs.map((x) => {
      const v = solveLower(this.L, this.kStar(x), this.n)
      let s = this.variance
      for (let i = 0; i < this.n; i++) s -= v[i] * v[i]
      return Math.max(0, s)
    })
  }
}

/** Fits a GP regressor to (X, y); see `GaussianProcess`. Reference: http://gaussianprocess.org/gpml/chapters/RW2.pdf */
export function gaussianProcess(X: Points, y: readonly number[], opts: GaussianProcessOptions = {}): GaussianProcess {
  return new GaussianProcess(X, y, opts)
}

/**
 * Picks the length scale (and keeps the other options) maximising the log marginal likelihood over
 * a log-spaced grid of `candidates` (default 25 values from 0.01 to 10), and returns that fit.
 */
export function fitGaussianProcess(X: Points, y: readonly number[], opts: GaussianProcessOptions & { candidates?: readonly number[] } = {}): GaussianProcess {
  const grid = opts.candidates ?? Array.from({ length: 25 }, (_, i) => 10 ** (-2 + (3 * i) / 24))
  let best: GaussianProcess | null = null
  for (const l of grid) {
    const gp = new GaussianProcess(X, y, { ...opts, lengthScale: l })
    if (!best || gp.logMarginalLikelihood > best.logMarginalLikelihood) best = gp
  }
  return best!
}

/**
 * @file Singular value decomposition of a real matrix in float64 by one-sided Jacobi (Hestenes):
 * plane rotations applied to the columns of A until every pair is orthogonal; the column norms are
 * then the singular values. Reduced form A = U diag(S) Vᵀ, U (m, k), S (k,) descending, Vh (k, n),
 * k = min(m, n), as `torch.linalg.svd(A, full_matrices=False)`. No gradient. Used by sheet 21
 * (Greenformers) to initialise low-rank factorizations (Eckart–Young: the rank-r truncation is the
 * best rank-r approximation in Frobenius norm).
 *
 * Reference: Demmel & Veselić, "Jacobi's method is more accurate than QR", SIAM J. Matrix Anal.
 * Appl. 13 (1992), Sec. 4 (one-sided Jacobi); Golub & Van Loan (4th ed.), Sec. 8.6.4.
 *
 * Layout: row-major Float64Arrays, A (m, n), U (m, k), S (k), Vh (k, n).
 */
import { check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'

/**
 * One-sided Jacobi SVD of the row-major (m, n) matrix `a` with m ≥ n (not modified).
 * For each column pair (p, q) with α = |a_p|², β = |a_q|², γ = a_p·a_q, the rotation
 * ζ = (β − α)/(2γ), t = sign(ζ)/(|ζ| + √(1+ζ²)), c = 1/√(1+t²), s = c t zeroes γ; sweeps repeat until
 * every |γ| ≤ tol √(αβ). Zero singular values get orthonormal completion columns in U.
 */
export function jacobiSVD(a: Float64Array, m: number, n: number, tol = 1e-15, maxSweeps = 60): { u: Float64Array; s: Float64Array; vh: Float64Array } {
  check(m >= n, 'jacobiSVD', () => `needs m >= n, got (${m}, ${n}); transpose first`)
  const w = Float64Array.from(a) // (m, n), columns become U diag(S)
  const v = new Float64Array(n * n) // (n, n) accumulated rotations, V
  for (let i = 0; i < n; i++) v[i * n + i] = 1
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let rotated = false
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p], y = w[i * n + q]
          alpha += x * x; beta += y * y; gamma += x * y
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue
        rotated = true
        const zeta = (beta - alpha) / (2 * gamma)
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta))
        const c = 1 / Math.sqrt(1 + t * t), s = c * t
        for (let i = 0; i < m; i++) {
          const x = w[i * n + p], y = w[i * n + q]
          w[i * n + p] = c * x - s * y; w[i * n + q] = s * x + c * y
        }
        for (let i = 0; i < n; i++) {
          const x = v[i * n + p], y = v[i * n + q]
          v[i * n + p] = c * x - s * y; v[i * n + q] = s * x + c * y
        }
      }
    }
    if (!rotated) break
  }
  const norms = Array.from({ length: n }, (_, j) => {
    let s2 = 0
    for (let i = 0; i < m; i++) s2 += w[i * n + j] * w[i * n + j]
    return Math.sqrt(s2)
  })
  const order = norms.map((_, j) => j).sort((x, y) => norms[y] - norms[x])
  const u = new Float64Array(m * n) // (m, n)
  const s = new Float64Array(n) // (n,)
  const vh = new Float64Array(n * n) // (n, n)
  const scale = norms[order[0]] || 1
  order.forEach((j, c) => {
    s[c] = norms[j]
    for (let i = 0; i < n; i++) vh[c * n + i] = v[i * n + j]
    if (norms[j] > 1e-14 * scale) for (let i = 0; i < m; i++) u[i * n + c] = w[i * n + j] / norms[j]
    else completeColumn(u, m, n, c)
  })
  return { u, s, vh }
}

/** Fills column c of U (m, n) with a unit vector orthogonal to columns 0..c−1 (Gram–Schmidt on e_i). */
function completeColumn(u: Float64Array, m: number, n: number, c: number): void {
  for (let e = 0; e < m; e++) {
    const x = new Float64Array(m) // (m,)
    x[e] = 1
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < c; j++) {
        let d = 0
        for (let i = 0; i < m; i++) d += u[i * n + j] * x[i]
        for (let i = 0; i < m; i++) x[i] -= d * u[i * n + j]
      }
    }
    let nrm = 0
    for (let i = 0; i < m; i++) nrm += x[i] * x[i]
    nrm = Math.sqrt(nrm)
    if (nrm > 1e-8) { for (let i = 0; i < m; i++) u[i * n + c] = x[i] / nrm; return }
  }
}

/**
 * Reduced SVD of a 2-D float tensor: A = U diag(S) Vh, U (m, k) and Vhᵀ (n, k) with orthonormal
 * columns, S (k,) non-negative and descending, k = min(m, n). Computed in float64, returned in A's
 * dtype, no gradient.
 * Reference: https://pytorch.org/docs/stable/generated/torch.linalg.svd.html
 * @example
 *   const { U, S, Vh } = svd(randn([5, 3], { dtype: 'float64' }))
 *   U.mul(S).matmul(Vh) // ~ A
 */
export function svd(a: Tensor): { U: Tensor; S: Tensor; Vh: Tensor } {
  check(a.ndim === 2, 'svd', () => `expected a 2-D matrix, got shape ${fmtShape(a.shape)}`)
  check(isFloating(a.dtype), 'svd', () => `expected a float32 or float64 tensor, got ${a.dtype}`)
  const [m, n] = a.shape
  if (m >= n) {
    const { u, s, vh } = jacobiSVD(Float64Array.from(a.data()), m, n)
    return { U: fromTypedArray(u, [m, n]).to(a.dtype), S: fromTypedArray(s, [n]).to(a.dtype), Vh: fromTypedArray(vh, [n, n]).to(a.dtype) }
  }
  // A = Bᵀ with B (n, m) = Ub S Vbh  ⇒  A = Vbhᵀ S Ubᵀ
  const { u, s, vh } = jacobiSVD(Float64Array.from(a.mT.data()), n, m)
  return {
    U: fromTypedArray(vh, [m, m]).to(a.dtype).mT.contiguous(),
    S: fromTypedArray(s, [m]).to(a.dtype),
    Vh: fromTypedArray(u, [n, m]).to(a.dtype).mT.contiguous(),
  }
}

/**
 * @file Householder QR of a real matrix in float64: the reduced factorisation A = Q R with
 * Q (m, k) having orthonormal columns and R (k, n) upper triangular, k = min(m, n).
 * Used by `nn.init.orthogonal_`. No gradient: the result is a pair of new leaves.
 *
 * Reference: Golub & Van Loan, "Matrix Computations" (4th ed.), Algorithm 5.2.1 (Householder QR)
 * and 5.1.1 (the Householder vector); https://en.wikipedia.org/wiki/Householder_transformation
 *
 * Layout: row-major Float64Arrays, A (m, n), Q (m, k), R (k, n).
 */
import { check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'

/**
 * Reduced QR of the row-major (m, n) matrix `a` (not modified). Each step j reflects column j below
 * the diagonal onto a multiple of e_j with H = I - 2 v v^T, v = (x - alpha e_1) / |x - alpha e_1|,
 * alpha = -sign(x_0) |x| (the sign that avoids cancellation), so diag(R) may be negative.
 * Q is accumulated by applying the reflectors to the first k columns of I in reverse order.
 */
export function householderQR(a: Float64Array, m: number, n: number): { q: Float64Array; r: Float64Array } {
  const k = Math.min(m, n)
  const work = Float64Array.from(a) // (m, n), becomes R in its upper triangle
  const vs: Float64Array[] = [] // vs[j]: (m - j) unit Householder vector, or empty when H_j = I
  for (let j = 0; j < k; j++) {
    let norm2 = 0
    for (let i = j; i < m; i++) norm2 += work[i * n + j] * work[i * n + j]
    const norm = Math.sqrt(norm2)
    const x0 = work[j * n + j]
    const alpha = x0 >= 0 ? -norm : norm
    const v = new Float64Array(m - j) // (m - j)
    for (let i = j; i < m; i++) v[i - j] = work[i * n + j]
    v[0] -= alpha
    let vn2 = 0
    for (let i = 0; i < v.length; i++) vn2 += v[i] * v[i]
    if (vn2 === 0) { vs.push(new Float64Array(0)); continue } // the column is already zero below the diagonal
    const inv = 1 / Math.sqrt(vn2)
    for (let i = 0; i < v.length; i++) v[i] *= inv
    // work[j:, j:] -= 2 v (v^T work[j:, j:])
    for (let c = j; c < n; c++) {
      let dot = 0
      for (let i = j; i < m; i++) dot += v[i - j] * work[i * n + c]
      dot *= 2
      for (let i = j; i < m; i++) work[i * n + c] -= dot * v[i - j]
    }
    vs.push(v)
  }
  const r = new Float64Array(k * n) // (k, n)
  for (let i = 0; i < k; i++) for (let c = i; c < n; c++) r[i * n + c] = work[i * n + c]
  const q = new Float64Array(m * k) // (m, k), starts as the first k columns of I
  for (let i = 0; i < k; i++) q[i * k + i] = 1
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j]
    if (v.length === 0) continue
    for (let c = 0; c < k; c++) {
      let dot = 0
      for (let i = j; i < m; i++) dot += v[i - j] * q[i * k + c]
      dot *= 2
      for (let i = j; i < m; i++) q[i * k + c] -= dot * v[i - j]
    }
  }
  return { q, r }
}

/**
 * Reduced QR decomposition of a 2-D float tensor: A = Q R, Q (m, k) with orthonormal columns,
 * R (k, n) upper triangular, k = min(m, n). Computed in float64, returned in A's dtype, no gradient.
 * Reference: https://pytorch.org/docs/stable/generated/torch.linalg.qr.html
 * @example
 *   const { Q, R } = qr(randn([5, 3], { dtype: 'float64' }))
 *   Q.mT.matmul(Q) // ~ eye(3)
 */
export function qr(a: Tensor): { Q: Tensor; R: Tensor } {
  check(a.ndim === 2, 'qr', () => `expected a 2-D matrix, got shape ${fmtShape(a.shape)}`)
  check(isFloating(a.dtype), 'qr', () => `expected a float32 or float64 tensor, got ${a.dtype}`)
  const [m, n] = a.shape
  const k = Math.min(m, n)
  const { q, r } = householderQR(Float64Array.from(a.data()), m, n)
  const Q = fromTypedArray(q, [m, k]).to(a.dtype)
  const R = fromTypedArray(r, [k, n]).to(a.dtype)
  return { Q, R }
}

/**
 * @file Moore–Penrose pseudo-inverse and least squares through the SVD (src/linalg/svd.ts), in
 * float64, no gradient. Used by sheet 04 (SN-Net) to initialise stitching layers from paired
 * activations: [X1, 1] M ≈ X2 solved as M = pinv([X1, 1]) X2.
 *
 * Layout: A (m, n) -> pinv(A) (n, m); lstsq: A (m, n), B (m, k) -> X (n, k).
 * Reference: Golub & Van Loan (4th ed.), Sec. 5.5.2 (the SVD and the pseudo-inverse);
 * https://pytorch.org/docs/stable/generated/torch.linalg.pinv.html
 */
import { check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { jacobiSVD } from './svd.ts'

/**
 * Pseudo-inverse of the row-major (m, n) matrix `a` as a row-major (n, m) Float64Array:
 * A = U diag(S) Vᵀ  ⇒  A⁺ = V diag(S⁺) Uᵀ, S⁺_i = 1/S_i if S_i > rtol · S_max else 0.
 */
export function pinvF64(a: Float64Array, m: number, n: number, rtol = Math.max(m, n) * Number.EPSILON): Float64Array {
  const out = new Float64Array(n * m) // (n, m)
  if (m === 0 || n === 0) return out
  // jacobiSVD needs rows ≥ cols: factor A or Aᵀ.
  const tall = m >= n
  const k = Math.min(m, n)
  const src = tall ? a : transpose(a, m, n)
  const { u, s, vh } = jacobiSVD(src, tall ? m : n, k) // u (rows, k), s (k,), vh (k, k)
  const cutoff = rtol * s[0]
  const sInv = Float64Array.from(s, (x) => (x > cutoff && x > 0 ? 1 / x : 0)) // (k,)
  // tall: A = U S Vh ⇒ A⁺ = Vhᵀ S⁺ Uᵀ, (n, m)[i, j] = Σ_c vh[c, i] sInv[c] u[j, c]
  // wide: Aᵀ = U S Vh ⇒ A = Vhᵀ S Uᵀ ⇒ A⁺ = U S⁺ Vh, (n, m)[i, j] = Σ_c u[i, c] sInv[c] vh[c, j]
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let acc = 0
      for (let c = 0; c < k; c++) {
        if (sInv[c] === 0) continue
        acc += tall ? vh[c * k + i] * sInv[c] * u[j * k + c] : u[i * k + c] * sInv[c] * vh[c * k + j]
      }
      out[i * m + j] = acc
    }
  }
  return out
}

function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n) // (n, m)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]
  return t
}

/**
 * Moore–Penrose pseudo-inverse of a 2-D float tensor: A⁺ = V diag(S⁺) Uᵀ from the reduced SVD,
 * singular values below rtol · S_max treated as zero (default rtol = max(m, n) · ε_float64, as
 * `torch.linalg.pinv` for float64). Computed in float64, returned in A's dtype, no gradient.
 * Reference: https://pytorch.org/docs/stable/generated/torch.linalg.pinv.html
 * @example
 *   const Ap = linalg.pinv(A)     // A (m, n) -> (n, m); A Ap A ≈ A
 */
export function pinv(a: Tensor, opts: { rtol?: number } = {}): Tensor {
  check(a.ndim === 2, 'pinv', () => `expected a 2-D matrix, got shape ${fmtShape(a.shape)}`)
  check(isFloating(a.dtype), 'pinv', () => `expected a float32 or float64 tensor, got ${a.dtype}`)
  const [m, n] = a.shape
  const p = pinvF64(Float64Array.from(a.contiguous().data() as ArrayLike<number>), m, n, opts.rtol)
  return fromTypedArray(p, [n, m]).to(a.dtype)
}

/**
 * Minimum-norm least-squares solution of A X ≈ B: X = A⁺ B (A (m, n), B (m, k) or (m,) -> X (n, k)
 * or (n,)). Computed in float64 (the product too), returned in A's dtype, no gradient.
 * Reference: https://pytorch.org/docs/stable/generated/torch.linalg.lstsq.html
 * @example
 *   const X = linalg.lstsq(A, B)  // argmin_X ‖A X − B‖_F, smallest ‖X‖_F among minimisers
 */
export function lstsq(a: Tensor, b: Tensor, opts: { rtol?: number } = {}): Tensor {
  check(a.ndim === 2, 'lstsq', () => `A must be 2-D, got shape ${fmtShape(a.shape)}`)
  check((b.ndim === 1 || b.ndim === 2) && b.shape[0] === a.shape[0], 'lstsq', () => `B must be (m,) or (m, k) with m = ${a.shape[0]}, got ${fmtShape(b.shape)}`)
  check(isFloating(a.dtype) && isFloating(b.dtype), 'lstsq', () => `expected float tensors, got ${a.dtype} and ${b.dtype}`)
  const [m, n] = a.shape
  const k = b.ndim === 1 ? 1 : b.shape[1]
  const p = pinvF64(Float64Array.from(a.contiguous().data() as ArrayLike<number>), m, n, opts.rtol) // (n, m)
  const bd = Float64Array.from(b.contiguous().data() as ArrayLike<number>) // (m, k)
  const x = new Float64Array(n * k) // (n, k)
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < m; r++) {
      const pir = p[i * m + r]
      if (pir === 0) continue
      for (let c = 0; c < k; c++) x[i * k + c] += pir * bd[r * k + c]
    }
  }
  return fromTypedArray(x, b.ndim === 1 ? [n] : [n, k]).to(a.dtype)
}

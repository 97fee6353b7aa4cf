/**
 * @file Dense matrix multiply C = A B for float data, with any element strides on A and B.
 *
 * A is (M, K) read as a[aOff + i*aRs + p*aCs]; B is (K, N) read as b[bOff + p*bRs + j*bCs];
 * C is (M, N) contiguous at cOff. Products accumulate in float64 and round once on store.
 * `gemmRef` is the plain triple loop oracle; `gemm` is the tuned path.
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

export interface GemmOperands {
  M: number
  N: number
  K: number
  a: Arr; aOff: number; aRs: number; aCs: number
  b: Arr; bOff: number; bRs: number; bCs: number
  c: Arr; cOff: number
}

/** C[i,j] = sum_p A[i,p] B[p,j]: the obvious loop. */
export function gemmRef(g: GemmOperands): void {
  const { M, N, K, a, b, c } = g
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0
      for (let p = 0; p < K; p++) acc += a[g.aOff + i * g.aRs + p * g.aCs] * b[g.bOff + p * g.bRs + j * g.bCs]
      c[g.cOff + i * N + j] = acc
    }
  }
}

const KC = 256 // rows of B packed per panel: a panel of KC x N doubles stays in L2 for N up to ~512

/**
 * Tuned path: B is packed (KC rows at a time) into a contiguous float64 panel, then each row of C
 * accumulates in a float64 row buffer with an i-p-j loop whose inner loop is unit stride on both
 * the panel and the accumulator. Every C element still sums its K products in order p = 0..K-1,
 * so the result is bitwise equal to `gemmRef`.
 */
export function gemm(g: GemmOperands): void {
  const { M, N, K, a, b, c } = g
  if (M === 0 || N === 0) return
  const acc = new Float64Array(M * N) // (M, N) running sums
  const panel = new Float64Array(Math.min(KC, K) * N) // (kc, N) packed rows of B
  for (let p0 = 0; p0 < K; p0 += KC) {
    const kc = Math.min(KC, K - p0)
    for (let p = 0; p < kc; p++) {
      const src = g.bOff + (p0 + p) * g.bRs
      const dst = p * N
      for (let j = 0; j < N; j++) panel[dst + j] = b[src + j * g.bCs]
    }
    for (let i = 0; i < M; i++) {
      const arow = g.aOff + i * g.aRs + p0 * g.aCs
      const crow = i * N
      for (let p = 0; p < kc; p++) {
        const aip = a[arow + p * g.aCs]
        const prow = p * N
        for (let j = 0; j < N; j++) acc[crow + j] += aip * panel[prow + j]
      }
    }
  }
  for (let i = 0; i < M * N; i++) c[g.cOff + i] = acc[i]
}

/**
 * @file Symmetric INT8 quantization and integer GEMM, after Jacob et al. 2018, "Quantization and
 * Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference"
 * (https://arxiv.org/abs/1712.05877), with zero point 0 (symmetric) and one scale per row or per
 * group of a row.
 *
 * A float matrix W of shape (R, C) is stored as `codes` Int8Array (R, C) and `scales` Float32Array
 * (R, ceil(C / G)): group g of row r covers columns [g G, min((g+1) G, C)). G = C is per-channel
 * (one scale per output row), as for a Linear weight; the same routine quantizes activations
 * dynamically per row. scale = max|w| / 127 over the group, code = roundHalfEven(w / scale) clamped
 * to [-127, 127], value = code * scale. An all-zero group gets scale 0 and codes 0.
 *
 * `gemmI8` computes C (M, N) int32 = A (M, K) int8 times W (N, K) int8 transposed, summing the K
 * products exactly (|acc| <= 127^2 K < 2^31 for K <= 133143; the caller checks K). `requantize`
 * turns it back to float: y[i, j] = acc[i, j] sA[i] sW[j] (+ bias[j]).
 * Pure typed-array functions: no tensor or autograd imports.
 */

/** The largest K for which 127 * 127 * K fits in an int32 accumulator. */
export const I8_MAX_K = Math.floor(0x7fffffff / (127 * 127))

/** Rounds to the nearest integer, ties to even (IEEE roundTiesToEven, like numpy.rint / torch.round). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v) // ties go up (towards +inf)
  // NOTE: a tie is exactly when r - v === 0.5; then choose the even neighbour.
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** Symmetric INT8 quantization of W (R, C) in groups of G columns; writes codes (R, C) and scales (R, ceil(C/G)). */
export function quantizeI8(codes: Int8Array, scales: Float32Array, w: ArrayLike<number>, R: number, C: number, G: number): void {
  const nG = Math.ceil(C / G)
  for (let r = 0; r < R; r++) {
    const row = r * C // start of row r in w and codes
    for (let g = 0; g < nG; g++) {
      const c0 = g * G, c1 = Math.min(c0 + G, C)
      let amax = 0
      for (let c = c0; c < c1; c++) { const a = Math.abs(w[row + c]); if (a > amax) amax = a }
      const s = Math.fround(amax / 127)
      scales[r * nG + g] = s
      for (let c = c0; c < c1; c++) {
        const q = s === 0 ? 0 : roundHalfEven(w[row + c] / s)
        codes[row + c] = q > 127 ? 127 : q < -127 ? -127 : q
      }
    }
  }
}

/** out (R, C) = codes (R, C) times the scale of each element's group (scales (R, ceil(C/G))). */
export function dequantizeI8(out: Float32Array | Float64Array, codes: Int8Array, scales: Float32Array, R: number, C: number, G: number): void {
  const nG = Math.ceil(C / G)
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) out[r * C + c] = codes[r * C + c] * scales[r * nG + Math.floor(c / G)]
  }
}

/** acc[i, j] = sum_p a[i, p] w[j, p]: A (M, K) int8, W (N, K) int8, acc (M, N) int32. The obvious loop. */
export function gemmI8Ref(acc: Int32Array, a: Int8Array, w: Int8Array, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0
      for (let p = 0; p < K; p++) s += a[i * K + p] * w[j * K + p]
      acc[i * N + j] = s
    }
  }
}

/**
 * Tuned `gemmI8Ref`: four weight rows per pass share each activation load, and products are added
 * with int32 arithmetic (exact while K <= I8_MAX_K), so the result equals the Ref exactly.
 */
export function gemmI8(acc: Int32Array, a: Int8Array, w: Int8Array, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    const ai = i * K // row i of A
    let j = 0
    for (; j + 4 <= N; j += 4) {
      const w0 = j * K, w1 = w0 + K, w2 = w1 + K, w3 = w2 + K // rows j..j+3 of W
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let p = 0; p < K; p++) {
        const x = a[ai + p]
        s0 = (s0 + x * w[w0 + p]) | 0; s1 = (s1 + x * w[w1 + p]) | 0
        s2 = (s2 + x * w[w2 + p]) | 0; s3 = (s3 + x * w[w3 + p]) | 0
      }
      acc[i * N + j] = s0; acc[i * N + j + 1] = s1; acc[i * N + j + 2] = s2; acc[i * N + j + 3] = s3
    }
    for (; j < N; j++) {
      const wj = j * K
      let s = 0
      for (let p = 0; p < K; p++) s = (s + a[ai + p] * w[wj + p]) | 0
      acc[i * N + j] = s
    }
  }
}

/**
 * y (M, N) = acc (M, N) * sA (M,) * sW (N,) + bias (N,): the float result of an integer GEMM
 * whose A was quantized per row and W per output channel (Jacob et al. 2018, Eqn (4) with zero
 * points 0). `sA` null means A held exact integers (scale 1).
 */
export function requantize(y: Float32Array, acc: Int32Array, sA: Float32Array | null, sW: Float32Array, bias: ArrayLike<number> | null, M: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const sa = sA ? sA[i] : 1
    for (let j = 0; j < N; j++) y[i * N + j] = acc[i * N + j] * sa * sW[j] + (bias ? bias[j] : 0)
  }
}

/** y (M, N) = x (M, K) float times dequant(W) (N, K) transposed, with W per-channel int8; float64 sums. */
export function matmulFloatI8(y: Float32Array, x: ArrayLike<number>, w: Int8Array, sW: Float32Array, bias: ArrayLike<number> | null, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    const xi = i * K // row i of x
    for (let j = 0; j < N; j++) {
      const wj = j * K // row j of W
      let s = 0
      for (let p = 0; p < K; p++) s += x[xi + p] * w[wj + p]
      y[i * N + j] = s * sW[j] + (bias ? bias[j] : 0)
    }
  }
}

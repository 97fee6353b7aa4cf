/**
 * @file Products with quantized weights that decode codes on the fly, as ggml's `vec_dot_q4_0` /
 * `vec_dot_q8_0` do (https://github.com/ggerganov/ggml), never materialising the float32 weight
 * matrix. W is (N, K) (one row per output, like a Linear weight); x is (K,) or X is (M, K); y is
 * (N,) or Y is (M, N).
 *   Q8: codes Int8Array (N, K), scales Float32Array (N, nG), groups of G columns (see quant.ts).
 *   Q4: packed 4-bit codes Uint8Array (N, ceil(K/2)) with scales (N, nG) and, if asymmetric, zeros
 *       Uint8Array (N, nG) (see quant-pack.ts); G must be even so every group starts on a byte.
 * Per group g the tuned matvecs use sum_k (u_k - z) s x_k = s (sum_k u_k x_k - z sum_k x_k), with
 * the group sums of x computed once; `matmulQ4` decodes one weight row at a time into a (K,)
 * scratch shared by all rows of X. Each `...Ref` dequantizes all of W to float32 first and takes
 * float64 dot products, so tuned and Ref agree to float rounding (about 1e-6 of sum |w x|), and
 * exactly when codes, scales and x are small integers or powers of two (every sum is then exact).
 */
import { dequantizeI8 } from './quant.ts'
import { dequantizePacked, packedRowBytes, type PackedLayout } from './quant-pack.ts'

/** y (N,) = dequant(W) (N, K) x (K,) for per-group int8 W: dequantize, then dot. */
export function matvecQ8Ref(y: Float32Array, codes: Int8Array, scales: Float32Array, x: ArrayLike<number>, N: number, K: number, G: number): void {
  const w = new Float32Array(N * K) // (N, K)
  dequantizeI8(w, codes, scales, N, K, G)
  for (let n = 0; n < N; n++) {
    let s = 0
    for (let k = 0; k < K; k++) s += w[n * K + k] * x[k]
    y[n] = s
  }
}

/**
 * Tuned `matvecQ8Ref`: integer codes times x summed per group and scaled once per group; four
 * rows per pass share each load of x (as the float gemm's matvec path does).
 */
export function matvecQ8(y: Float32Array, codes: Int8Array, scales: Float32Array, x: ArrayLike<number>, N: number, K: number, G: number): void {
  const nG = Math.ceil(K / G)
  let n = 0
  for (; n + 4 <= N; n += 4) {
    const r0 = n * K, r1 = r0 + K, r2 = r1 + K, r3 = r2 + K // rows n..n+3 of codes
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0
    for (let g = 0; g < nG; g++) {
      const k0 = g * G, k1 = Math.min(k0 + G, K)
      let t0 = 0, t1 = 0, t2 = 0, t3 = 0
      for (let k = k0; k < k1; k++) {
        const v = x[k]
        t0 += codes[r0 + k] * v; t1 += codes[r1 + k] * v; t2 += codes[r2 + k] * v; t3 += codes[r3 + k] * v
      }
      const si = n * nG + g
      a0 += scales[si] * t0; a1 += scales[si + nG] * t1; a2 += scales[si + 2 * nG] * t2; a3 += scales[si + 3 * nG] * t3
    }
    y[n] = a0; y[n + 1] = a1; y[n + 2] = a2; y[n + 3] = a3
  }
  for (; n < N; n++) {
    const row = n * K // row n of codes
    let acc = 0
    for (let g = 0; g < nG; g++) {
      const k0 = g * G, k1 = Math.min(k0 + G, K)
      let t = 0
      for (let k = k0; k < k1; k++) t += codes[row + k] * x[k]
      acc += scales[n * nG + g] * t
    }
    y[n] = acc
  }
}

/** y (N,) = dequant(W) x for 4-bit packed W: dequantize to float32, then dot. */
export function matvecQ4Ref(y: Float32Array, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, x: ArrayLike<number>, L: PackedLayout): void {
  matmulQ4Ref(y, x, data, scales, zeros, L, 1)
}

/** Sums of x (K,) over each group of G columns, into xs (nG,). */
function groupSums(xs: Float64Array, x: ArrayLike<number>, xOff: number, K: number, G: number): void {
  for (let g = 0; g < xs.length; g++) {
    let s = 0
    for (let k = g * G, k1 = Math.min(k + G, K); k < k1; k++) s += x[xOff + k]
    xs[g] = s
  }
}

/** sum_k u_k x_k over columns [k0, k1) of one packed 4-bit row at byte `row`; k0 even. */
function nibbleDot(data: Uint8Array, row: number, x: ArrayLike<number>, xOff: number, k0: number, k1: number): number {
  let t0 = 0, t1 = 0
  const bEnd = row + (k1 >> 1)
  let xi = xOff + k0
  for (let b = row + (k0 >> 1); b < bEnd; b++, xi += 2) {
    const v = data[b]
    t0 += (v & 15) * x[xi]; t1 += (v >> 4) * x[xi + 1]
  }
  if (k1 & 1) t0 += (data[bEnd] & 15) * x[xi] // odd K: the last byte holds one code
  return t0 + t1
}

/**
 * sum_k u_k x_k over columns [k0, k0 + 8 nw) of a packed 4-bit row read as 32-bit words starting at
 * word `w0` (little-endian: code k0 is the low nibble of the first byte).
 */
function wordDot(words: Uint32Array, w0: number, nw: number, x: ArrayLike<number>, k0: number): number {
  let t0 = 0, t1 = 0
  for (let i = 0, k = k0; i < nw; i++, k += 8) {
    const v = words[w0 + i]
    t0 += (v & 15) * x[k] + ((v >>> 8) & 15) * x[k + 2] + ((v >>> 16) & 15) * x[k + 4] + ((v >>> 24) & 15) * x[k + 6]
    t1 += ((v >>> 4) & 15) * x[k + 1] + ((v >>> 12) & 15) * x[k + 3] + ((v >>> 20) & 15) * x[k + 5] + (v >>> 28) * x[k + 7]
  }
  return t0 + t1
}

/**
 * Tuned `matvecQ4Ref`: decodes nibbles inside the dot product; y (N,). When rows and groups are
 * whole 32-bit words (K and G multiples of 8, data 4-byte aligned, little-endian host) codes are
 * read eight at a time. NOTE: the word path assumes a little-endian host, as every JS engine on
 * x86 and ARM is; it is checked once below.
 */
export function matvecQ4(y: Float32Array, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, x: ArrayLike<number>, L: PackedLayout): void {
  const { R: N, C: K, G } = L
  const nG = Math.ceil(K / G), rowBytes = packedRowBytes(K, 4)
  const xs = new Float64Array(nG) // (nG,) group sums of x
  groupSums(xs, x, 0, K, G)
  const words = K % 8 === 0 && G % 8 === 0 && data.byteOffset % 4 === 0 && LITTLE_ENDIAN
    ? new Uint32Array(data.buffer, data.byteOffset, (N * rowBytes) >> 2) : null // (N, K/8)
  const xd = Float64Array.from(x as ArrayLike<number>) // (K,) x widened once, so the inner loops skip float32 loads
  let n = 0
  if (words) {
    // Four rows per pass share each load of x.
    const wpr = rowBytes >> 2 // words per row
    for (; n + 4 <= N; n += 4) {
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0
      for (let g = 0; g < nG; g++) {
        const k0 = g * G, k1 = Math.min(k0 + G, K), w0 = n * wpr + (k0 >> 3), nw = (k1 - k0) >> 3
        let t0 = 0, t1 = 0, t2 = 0, t3 = 0
        for (let i = 0, k = k0; i < nw; i++, k += 8) {
          const x0 = xd[k], x1 = xd[k + 1], x2 = xd[k + 2], x3 = xd[k + 3], x4 = xd[k + 4], x5 = xd[k + 5], x6 = xd[k + 6], x7 = xd[k + 7]
          let v = words[w0 + i]
          t0 += (v & 15) * x0 + ((v >>> 4) & 15) * x1 + ((v >>> 8) & 15) * x2 + ((v >>> 12) & 15) * x3 + ((v >>> 16) & 15) * x4 + ((v >>> 20) & 15) * x5 + ((v >>> 24) & 15) * x6 + (v >>> 28) * x7
          v = words[w0 + wpr + i]
          t1 += (v & 15) * x0 + ((v >>> 4) & 15) * x1 + ((v >>> 8) & 15) * x2 + ((v >>> 12) & 15) * x3 + ((v >>> 16) & 15) * x4 + ((v >>> 20) & 15) * x5 + ((v >>> 24) & 15) * x6 + (v >>> 28) * x7
          v = words[w0 + 2 * wpr + i]
          t2 += (v & 15) * x0 + ((v >>> 4) & 15) * x1 + ((v >>> 8) & 15) * x2 + ((v >>> 12) & 15) * x3 + ((v >>> 16) & 15) * x4 + ((v >>> 20) & 15) * x5 + ((v >>> 24) & 15) * x6 + (v >>> 28) * x7
          v = words[w0 + 3 * wpr + i]
          t3 += (v & 15) * x0 + ((v >>> 4) & 15) * x1 + ((v >>> 8) & 15) * x2 + ((v >>> 12) & 15) * x3 + ((v >>> 16) & 15) * x4 + ((v >>> 20) & 15) * x5 + ((v >>> 24) & 15) * x6 + (v >>> 28) * x7
        }
        const gi = n * nG + g, xg = xs[g]
        a0 += scales[gi] * (t0 - (zeros ? zeros[gi] : 8) * xg)
        a1 += scales[gi + nG] * (t1 - (zeros ? zeros[gi + nG] : 8) * xg)
        a2 += scales[gi + 2 * nG] * (t2 - (zeros ? zeros[gi + 2 * nG] : 8) * xg)
        a3 += scales[gi + 3 * nG] * (t3 - (zeros ? zeros[gi + 3 * nG] : 8) * xg)
      }
      y[n] = a0; y[n + 1] = a1; y[n + 2] = a2; y[n + 3] = a3
    }
  }
  for (; n < N; n++) {
    const row = n * rowBytes
    let acc = 0
    for (let g = 0; g < nG; g++) {
      const gi = n * nG + g, k0 = g * G, k1 = Math.min(k0 + G, K)
      const z = zeros ? zeros[gi] : 8
      const t = words ? wordDot(words, (row + (k0 >> 1)) >> 2, (k1 - k0) >> 3, xd, k0) : nibbleDot(data, row, xd, 0, k0, k1)
      acc += scales[gi] * (t - z * xs[g])
    }
    y[n] = acc
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Y (M, N) = X (M, K) dequant(W)^T for 4-bit packed W (N, K): dequantize to float32, then the triple loop. */
export function matmulQ4Ref(Y: Float32Array, X: ArrayLike<number>, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, L: PackedLayout, M: number): void {
  const { R: N, C: K } = L
  const w = new Float32Array(N * K) // (N, K)
  dequantizePacked(w, data, scales, zeros, L)
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0
      for (let k = 0; k < K; k++) s += X[i * K + k] * w[n * K + k]
      Y[i * N + n] = s
    }
  }
}

/**
 * Tuned `matmulQ4Ref`: each weight row is decoded once into a (K,) float64 scratch of
 * (u - z) s and reused by all M rows of X, four at a time; the (N, K) float matrix is never built.
 */
export function matmulQ4(Y: Float32Array, X: ArrayLike<number>, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, L: PackedLayout, M: number): void {
  const { R: N, C: K, G } = L
  const nG = Math.ceil(K / G), rowBytes = packedRowBytes(K, 4)
  const xd = Float64Array.from(X as ArrayLike<number>) // (M, K) activations widened once
  const w = new Float64Array(K) // (K,) decoded row n of W
  for (let n = 0; n < N; n++) {
    const row = n * rowBytes
    for (let g = 0; g < nG; g++) {
      const gi = n * nG + g, z = zeros ? zeros[gi] : 8, s = scales[gi]
      const k0 = g * G, k1 = Math.min(k0 + G, K)
      let k = k0
      for (let b = row + (k0 >> 1); k + 2 <= k1; k += 2, b++) { const v = data[b]; w[k] = ((v & 15) - z) * s; w[k + 1] = ((v >> 4) - z) * s }
      if (k < k1) w[k] = ((data[row + (k >> 1)] & 15) - z) * s // odd K: a lone low nibble
    }
    let i = 0
    for (; i + 4 <= M; i += 4) {
      const x0 = i * K, x1 = x0 + K, x2 = x1 + K, x3 = x2 + K // rows i..i+3 of X
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let k = 0; k < K; k++) {
        const wk = w[k]
        s0 += xd[x0 + k] * wk; s1 += xd[x1 + k] * wk; s2 += xd[x2 + k] * wk; s3 += xd[x3 + k] * wk
      }
      Y[i * N + n] = s0; Y[(i + 1) * N + n] = s1; Y[(i + 2) * N + n] = s2; Y[(i + 3) * N + n] = s3
    }
    for (; i < M; i++) {
      let acc = 0
      for (let k = 0; k < K; k++) acc += xd[i * K + k] * w[k]
      Y[i * N + n] = acc
    }
  }
}

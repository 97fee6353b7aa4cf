/**
 * @file WebAssembly SIMD drop-ins for the quantized kernels, with exactly the typed-array
 * signatures: `gemmI8Wasm` (kernels.gemmI8, src/kernels/quant.ts), `matvecQ8Wasm`, `matvecQ4Wasm`,
 * `matmulQ4Wasm` (kernels.matvecQ8 / matvecQ4 / matmulQ4, src/kernels/quant-matvec.ts). The
 * generated kernels are in src/wasm/quant-module.ts. Each call copies its operands into the kernel
 * memory, padded so the kernels have no tails (zero codes and zero x contribute exactly 0), runs
 * the export and copies the result out.
 *
 *   gemmI8:   A (M, K) -> (Mp, Kp), W (N, K) -> (Np, Kp), Kp = roundUp(K, 16), Np = roundUp(N, 4);
 *             bit-for-bit equal to `gemmI8Ref` (int32 wrapping sums, as the Ref's Int32Array store).
 *   Q8 / Q4:  each group of G columns padded to Gp = roundUp(G, 16) (Q8) or roundUp(G, 32) (Q4);
 *             x (K,) -> (nG, Gp), for Q4 reordered per 32 columns as [16 even | 16 odd].
 * Fallbacks to the typed-array kernel (exact): x or X not a Float32Array (float64 activations
 * must not be rounded to float32), groups shorter than 16 columns (Q8) or 32 (Q4), where padding
 * would at least double the work, and sizes too small to pay for the copies and the call.
 */
import { gemmI8 } from '../kernels/quant.ts'
import { matmulQ4, matvecQ4, matvecQ8 } from '../kernels/quant-matvec.ts'
import { packedRowBytes, type PackedLayout } from '../kernels/quant-pack.ts'
import { quantModuleBytes } from './quant-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

/** The module name (also the `.wasm` file the build writes). */
export const WASM_QUANT_MODULE = 'quant'

/** Below this many multiply-adds the typed-array kernels win (call and copy overhead). */
export const WASM_QUANT_MIN_WORK = 4096

type GemmFn = (a: number, w: number, acc: number, rows: number, Np: number, Kp: number) => void
interface QuantExports {
  gemmI8x1: GemmFn
  gemmI8x2: GemmFn
  matvecQ8: (codes: number, scales: number, x: number, y: number, Np: number, nG: number, Gp: number) => void
  matvecQ4: (data: number, scales: number, zeros: number, x: number, y: number, Np: number, nG: number, Gp: number) => void
  matmulQ4: (data: number, scales: number, zeros: number, X: number, Y: number, wrow: number, M: number, N: number, nG: number, Gp: number) => void
}
let ex: QuantExports | null = null
const exportsOf = (): QuantExports => (ex ??= instantiate(compileModule(WASM_QUANT_MODULE, () => quantModuleBytes({ min: 16 }))) as unknown as QuantExports)

const up = (n: number, m: number): number => Math.ceil(n / m) * m

/**
 * acc (M, N) int32 = A (M, K) int8 times W (N, K)^T int8, exact (wrapping int32 sums, equal to
 * `gemmI8Ref`). Reference: Jacob et al. 2018, https://arxiv.org/abs/1712.05877
 *   gemmI8Wasm(acc, xq, wCodes, M, N, K)   // same arguments as kernels.gemmI8
 */
export function gemmI8Wasm(acc: Int32Array, a: Int8Array, w: Int8Array, M: number, N: number, K: number): void {
  if (M === 0 || N === 0) return
  if (K === 0 || M * N * K < WASM_QUANT_MIN_WORK) { gemmI8(acc, a, w, M, N, K); return }
  const e = exportsOf()
  const Kp = up(K, 16), Np = up(N, 4), Mp = up(M, 2)
  // Kernel memory (bytes): A (Mp, Kp) i8 | W (Np, Kp) i8 | acc (Mp, Np) i32; all offsets 16-aligned.
  const aAt = 0, wAt = Mp * Kp, cAt = wAt + Np * Kp
  const buf = kernelMemory(cAt + Mp * Np * 4).buffer
  padRows(new Int8Array(buf, aAt, Mp * Kp), a, M, K, Kp)
  padRows(new Int8Array(buf, wAt, Np * Kp), w, N, K, Kp)
  const M2 = M - (M % 2)
  if (M2 > 0) e.gemmI8x2(aAt, wAt, cAt, M2, Np, Kp)
  if (M2 < M) e.gemmI8x1(aAt + M2 * Kp, wAt, cAt + M2 * Np * 4, 1, Np, Kp)
  const c = new Int32Array(buf, cAt, Mp * Np) // (Mp, Np)
  if (Np === N) acc.set(c.subarray(0, M * N))
  else for (let i = 0; i < M; i++) acc.set(c.subarray(i * Np, i * Np + N), i * N)
}

/** dst (R', Cp) = src (R, C) zero padded (R' >= R rows, Cp >= C columns). */
function padRows(dst: Int8Array, src: Int8Array, R: number, C: number, Cp: number): void {
  if (Cp === C) { dst.set(src.subarray(0, R * C)); dst.fill(0, R * C); return }
  dst.fill(0)
  for (let r = 0; r < R; r++) dst.set(src.subarray(r * C, r * C + C), r * Cp)
}

/** dst (R, nG, gpBytes) = each src row (srcRow bytes) cut into nG groups of gBytes (the last lastBytes), zero padded. */
function padGroups(dst: Uint8Array | Int8Array, src: Uint8Array | Int8Array, R: number, srcRow: number, nG: number, gBytes: number, gpBytes: number, lastBytes: number): void {
  if (gBytes === gpBytes && nG * gBytes === srcRow) { dst.set(src.subarray(0, R * srcRow)); dst.fill(0, R * srcRow); return }
  dst.fill(0)
  for (let r = 0; r < R; r++) {
    for (let g = 0; g < nG; g++) {
      const s = r * srcRow + g * gBytes
      dst.set(src.subarray(s, s + (g === nG - 1 ? lastBytes : gBytes)), (r * nG + g) * gpBytes)
    }
  }
}

/**
 * y (N,) = dequant(W) x for per-group int8 W (N, K): y_n = Σ_g s_ng Σ_{k∈g} c_nk x_k; float32
 * products and 4-term lane sums, float64 across chunks and groups (see quant-module.ts).
 * Reference: ggml `ggml_vec_dot_q8_0_q8_0`, https://github.com/ggerganov/ggml
 *   matvecQ8Wasm(y, q.codes, q.scales, x, N, K, q.groupSize)
 */
export function matvecQ8Wasm(y: Float32Array, codes: Int8Array, scales: Float32Array, x: ArrayLike<number>, N: number, K: number, G: number): void {
  const Geff = Math.min(G, K)
  if (!(x instanceof Float32Array) || Geff < 16 || N * K < WASM_QUANT_MIN_WORK) { matvecQ8(y, codes, scales, x, N, K, G); return }
  const e = exportsOf()
  const nG = Math.ceil(K / G), Gp = up(Geff, 16), Np = up(N, 4)
  // Kernel memory (bytes): codes (Np, nG, Gp) i8 | scales (Np, nG) f32 | x (nG, Gp) f32 | y (Np,) f32.
  const sAt = Np * nG * Gp, xAt = up(sAt + Np * nG * 4, 16), yAt = xAt + nG * Gp * 4
  const buf = kernelMemory(yAt + Np * 4).buffer
  padGroups(new Int8Array(buf, 0, Np * nG * Gp), codes, N, K, nG, Geff, Gp, K - (nG - 1) * Geff)
  const s = new Float32Array(buf, sAt, Np * nG)
  s.set(scales.subarray(0, N * nG)); s.fill(0, N * nG)
  groupX(new Float32Array(buf, xAt, nG * Gp), x, K, Geff, Gp, false)
  e.matvecQ8(0, sAt, xAt, yAt, Np, nG, Gp)
  y.set(new Float32Array(buf, yAt, N))
}

/** dst (nG, Gp) = x (K,) in groups of G, zero padded; `perm` orders each 32 columns [even | odd]. */
function groupX(dst: Float32Array, x: Float32Array, K: number, G: number, Gp: number, perm: boolean): void {
  dst.fill(0)
  if (!perm) {
    if (G === Gp) dst.set(x.subarray(0, K))
    else for (let g = 0, k = 0; k < K; g++, k += G) dst.set(x.subarray(k, Math.min(k + G, K)), g * Gp)
    return
  }
  for (let k = 0; k < K; k++) {
    const g = Math.floor(k / G), c = k - g * G // column c of group g
    const base = g * Gp + (c & ~31), o = c & 31
    dst[base + (o & 1 ? 16 : 0) + (o >> 1)] = x[k]
  }
}

/** Packed Q4 operands in the kernel memory, from `at` (bytes); returns the offsets. */
function layoutQ4(buf: ArrayBuffer, at: number, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, L: PackedLayout, Rp: number): { dAt: number; sAt: number; zAt: number; end: number; nG: number; Gp: number } {
  const { R, C: K, G } = L
  const Geff = Math.min(G, K), nG = Math.ceil(K / G), Gp = up(Geff, 32)
  const dAt = at, sAt = up(dAt + Rp * nG * (Gp >> 1), 16), zAt = sAt + Rp * nG * 4, end = up(zAt + Rp * nG, 16)
  const rowBytes = packedRowBytes(K, 4), last = K - (nG - 1) * Geff
  padGroups(new Uint8Array(buf, dAt, Rp * nG * (Gp >> 1)), data, R, rowBytes, nG, Geff >> 1, Gp >> 1, (last + 1) >> 1)
  const s = new Float32Array(buf, sAt, Rp * nG)
  s.set(scales.subarray(0, R * nG)); s.fill(0, R * nG)
  const z = new Uint8Array(buf, zAt, Rp * nG)
  if (zeros) { z.set(zeros.subarray(0, R * nG)); z.fill(0, R * nG) } else z.fill(8) // symmetric: z = 2^(b-1)
  return { dAt, sAt, zAt, end, nG, Gp }
}

/** Whether the Q4 layout takes the SIMD path (4-bit, even groups of at least 32 columns unless G >= K). */
const q4Fits = (L: PackedLayout): boolean => L.bits === 4 && L.G % 2 === 0 && Math.min(L.G, L.C) >= 32

/**
 * y (N,) = dequant(W) x for 4-bit packed W: y_n = Σ_g s_ng Σ_{k∈g} (u_nk - z_ng) x_k, nibbles
 * decoded in SIMD registers and u - z formed in int8. Reference: ggml `ggml_vec_dot_q4_0_q8_0`.
 *   matvecQ4Wasm(y, q.data, q.scales, q.zeros, x, q)
 */
export function matvecQ4Wasm(y: Float32Array, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, x: ArrayLike<number>, L: PackedLayout): void {
  const { R: N, C: K } = L
  if (!(x instanceof Float32Array) || !q4Fits(L) || N * K < WASM_QUANT_MIN_WORK) { matvecQ4(y, data, scales, zeros, x, L); return }
  const e = exportsOf()
  const Np = up(N, 4)
  const nG0 = Math.ceil(K / L.G), Gp0 = up(Math.min(L.G, K), 32)
  const need = Np * nG0 * (Gp0 / 2 + 5) + 64 + nG0 * Gp0 * 4 + Np * 4
  const buf = kernelMemory(need).buffer
  const { dAt, sAt, zAt, end, nG, Gp } = layoutQ4(buf, 0, data, scales, zeros, L, Np)
  const xAt = end, yAt = xAt + nG * Gp * 4
  groupX(new Float32Array(buf, xAt, nG * Gp), x, K, Math.min(L.G, K), Gp, true)
  e.matvecQ4(dAt, sAt, zAt, xAt, yAt, Np, nG, Gp)
  y.set(new Float32Array(buf, yAt, N))
}

/**
 * Y (M, N) = X (M, K) dequant(W)^T for 4-bit packed W (N, K): each weight row decoded once to
 * exact (u - z) floats and dotted with all M rows. Reference: ggml `ggml_mul_mat` with Q4 weights.
 *   matmulQ4Wasm(Y, X, q.data, q.scales, q.zeros, q, M)
 */
export function matmulQ4Wasm(Y: Float32Array, X: ArrayLike<number>, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, L: PackedLayout, M: number): void {
  const { R: N, C: K } = L
  if (M === 0 || N === 0) return
  if (!(X instanceof Float32Array) || !q4Fits(L) || N * K < WASM_QUANT_MIN_WORK) { matmulQ4(Y, X, data, scales, zeros, L, M); return } // per row of Y, never M
  const e = exportsOf()
  const nG0 = Math.ceil(K / L.G), Gp0 = up(Math.min(L.G, K), 32), Kp = nG0 * Gp0
  const need = N * nG0 * (Gp0 / 2 + 5) + 64 + (M + 1) * Kp * 4 + M * N * 4
  const buf = kernelMemory(need).buffer
  const { dAt, sAt, zAt, end, nG, Gp } = layoutQ4(buf, 0, data, scales, zeros, L, N)
  const xAt = end, wAt = xAt + M * Kp * 4, yAt = wAt + Kp * 4
  const Xp = new Float32Array(buf, xAt, M * Kp) // (M, nG, Gp) permuted
  for (let i = 0; i < M; i++) groupX(Xp.subarray(i * Kp, (i + 1) * Kp), X.subarray(i * K, (i + 1) * K), K, Math.min(L.G, K), Gp, true)
  e.matmulQ4(dAt, sAt, zAt, xAt, yAt, wAt, M, N, nG, Gp)
  Y.set(new Float32Array(buf, yAt, M * N))
}

/**
 * @file The WebAssembly SIMD quantized kernels (src/wasm/quant.ts) against their typed-array Refs.
 * gemmI8 must equal `gemmI8Ref` bit for bit: odd M, N, K (1, 3, 17, 33, 255) around the 2 x 4 tile
 * and the 16-column step, -128 codes, K = I8_MAX_K at the extreme codes (±127: the exact sum fits
 * int32) and all -128 (the sum exceeds 2^31; both wrap modulo 2^32 on the Int32Array store).
 * matvecQ8 / matvecQ4 / matmulQ4 bound: |y - yRef| <= 10 * 2^-24 * Σ_k |w_nk x_k| + 1e-37, with w
 * the Ref's float32 dequantized weights. Derivation: the SIMD path rounds each exact integer code
 * (or u - z) times x once in float32, sums 4 products per lane (3 roundings), folds the two halves
 * (1), then sums in float64 and scales in float64: at most 5 float32 roundings per product (γ_5);
 * the Ref rounds w = c s to float32 (1); both round y to float32 once (1 each): 8 units of 2^-24,
 * independent of K and G. Odd sizes, odd and short last groups, with and without zero points,
 * subarray views at odd byte offsets, NaN/±Inf in x, and the exact fallbacks.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { I8_MAX_K, gemmI8Ref, dequantizeI8 } from '../../src/kernels/quant.ts'
import { matmulQ4, matmulQ4Ref, matvecQ4, matvecQ4Ref, matvecQ8, matvecQ8Ref } from '../../src/kernels/quant-matvec.ts'
import { dequantizePacked, packedRowBytes, quantizePacked, type PackedLayout } from '../../src/kernels/quant-pack.ts'
import { gemmI8Wasm, matmulQ4Wasm, matvecQ4Wasm, matvecQ8Wasm, WASM_QUANT_MODULE } from '../../src/wasm/quant.ts'
import { quantModuleBytes } from '../../src/wasm/quant-module.ts'
import { hasModule, validates, wasmFeatures } from '../../src/wasm/runtime.ts'
import { Generator } from '../../src/rng.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule(WASM_QUANT_MODULE)
const run = (name: string, fn: () => void): void => test(name, () => { if (canRun()) fn() })
const g = new Generator(10)
const int8 = (n: number, lo = -128, hi = 127): Int8Array => Int8Array.from({ length: n }, () => lo + Math.floor((hi - lo + 1) * g.nextFloat64()))
const uniform = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextFloat64())
const BOUND = 10 * 2 ** -24

function checkGemm(M: number, N: number, K: number, a = int8(M * K), w = int8(N * K)): void {
  const ref = new Int32Array(M * N), out = new Int32Array(M * N).fill(0x7eadbeef)
  gemmI8Ref(ref, a, w, M, N, K)
  gemmI8Wasm(out, a, w, M, N, K)
  for (let i = 0; i < M * N; i++) if (out[i] !== ref[i]) assert.unreachable(`gemmI8 M=${M} N=${N} K=${K} at ${i}: ${out[i]} vs ${ref[i]}`)
}

test('the generated module validates', () => {
  if (!wasmFeatures().simd) return
  assert.ok(validates(quantModuleBytes({ min: 16 })))
})

run('gemmI8 equals gemmI8Ref bit for bit on odd M, N, K with -128 codes', () => {
  const sizes = [1, 3, 17, 33, 255]
  for (const M of sizes) for (const N of sizes) for (const K of [1, 17, 33, 255]) if (M * N * K <= 255 * 255 * 33) checkGemm(M, N, K)
  checkGemm(64, 64, 64) // whole tiles, no padding
  assert.ok(hasModule(WASM_QUANT_MODULE)) // the SIMD path ran (compiled on first use)
})

run('gemmI8 at K = I8_MAX_K: ±127 codes exact, all -128 wraps like the Ref', () => {
  const K = I8_MAX_K, M = 3, N = 5
  const a = int8(M * K, 127, 127), w = int8(N * K, -127, 127)
  for (let i = 0; i < K; i++) { w[i] = 127; w[K + i] = -127 } // rows 0, 1: the extreme sums ±127² K
  checkGemm(M, N, K, a, w)
  const ref = new Int32Array(M * N)
  gemmI8Ref(ref, a, w, M, N, K)
  assert.is(ref[0], 127 * 127 * K)
  assert.is(ref[1], -127 * 127 * K)
  checkGemm(M, N, K, int8(M * K, -128, -128), int8(N * K, -128, -128)) // 2^14 K > 2^31: wraps mod 2^32
})

run('gemmI8 reads subarray views at odd byte offsets', () => {
  const M = 5, N = 7, K = 129
  const A = int8(M * K + 3), W = int8(N * K + 1)
  checkGemm(M, N, K, A.subarray(3), W.subarray(1))
})

/** |y - ref| per row against 10 * 2^-24 Σ|w x| (w: (N, K) dequantized f32); NaN must match. */
function checkRows(tag: string, y: Float32Array, ref: Float32Array, w: Float32Array, X: ArrayLike<number>, M: number, N: number, K: number): void {
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      const o = y[i * N + n], r = ref[i * N + n]
      if (Number.isNaN(r) || !Number.isFinite(r)) { assert.ok(Object.is(o, r) || (Number.isNaN(o) && Number.isNaN(r)), `${tag} (${i}, ${n}): ${o} vs ${r}`); continue }
      let s = 0
      for (let k = 0; k < K; k++) s += Math.abs(w[n * K + k] * X[i * K + k])
      assert.ok(Math.abs(o - r) <= BOUND * s + 1e-37, `${tag} (${i}, ${n}): ${o} vs ${r} (bound ${BOUND * s})`)
    }
  }
}

function checkQ8(N: number, K: number, G: number, x = uniform(K), codes = int8(N * K)): void {
  const nG = Math.ceil(K / G)
  const scales = uniform(N * nG, 0, 0.05)
  const y = new Float32Array(N).fill(NaN), ref = new Float32Array(N), w = new Float32Array(N * K)
  matvecQ8Wasm(y, codes, scales, x, N, K, G)
  matvecQ8Ref(ref, codes, scales, x, N, K, G)
  dequantizeI8(w, codes, scales, N, K, G)
  checkRows(`matvecQ8 N=${N} K=${K} G=${G}`, y, ref, w, x, 1, N, K)
}

run('matvecQ8 within the float32 bound: per channel, odd groups, short last groups', () => {
  for (const [N, K, G] of [[37, 255, 255], [33, 255, 17], [17, 256, 16], [9, 999, 33], [64, 1024, 32], [5, 1027, 64], [3, 4096, 4096]]) checkQ8(N, K, G)
  checkQ8(23, 300, 1000) // G > K: one group per row
})

run('matvecQ8 views at odd offsets and NaN/±Inf in x', () => {
  const N = 19, K = 333, G = 37
  const big = uniform(K + 3), codes = int8(N * K + 1)
  checkQ8(N, K, G, big.subarray(3), codes.subarray(1))
  const x = uniform(K); x[5] = Infinity; x[200] = -Infinity
  checkQ8(N, K, G, x)
  const xn = uniform(K); xn[100] = NaN
  const y = new Float32Array(N)
  matvecQ8Wasm(y, int8(N * K), uniform(N * Math.ceil(K / G)), xn, N, K, G)
  assert.ok(y.every(Number.isNaN))
})

interface Q4Case { L: PackedLayout; data: Uint8Array; scales: Float32Array; zeros: Uint8Array | null; w: Float32Array }
function q4Case(N: number, K: number, G: number, symmetric: boolean): Q4Case {
  const L: PackedLayout = { R: N, C: K, G, bits: 4, symmetric }
  const nG = Math.ceil(K / G)
  const data = new Uint8Array(N * packedRowBytes(K, 4)), scales = new Float32Array(N * nG), zeros = symmetric ? null : new Uint8Array(N * nG)
  quantizePacked(data, scales, zeros, uniform(N * K, symmetric ? -1 : -0.3, 1), L)
  const w = new Float32Array(N * K) // (N, K) what the Ref multiplies with
  dequantizePacked(w, data, scales, zeros, L)
  return { L, data, scales, zeros, w }
}

const Q4_SHAPES: [number, number, number][] = [[37, 255, 256], [33, 256, 32], [17, 999, 34], [9, 1027, 66], [5, 4096, 128], [64, 512, 64]]

run('matvecQ4 within the float32 bound, symmetric and with zero points, odd K and short groups', () => {
  for (const [N, K, G] of Q4_SHAPES) {
    for (const sym of [true, false]) {
      const c = q4Case(N, K, G, sym), x = uniform(K)
      const y = new Float32Array(N).fill(NaN), ref = new Float32Array(N)
      matvecQ4Wasm(y, c.data, c.scales, c.zeros, x, c.L)
      matvecQ4Ref(ref, c.data, c.scales, c.zeros, x, c.L)
      checkRows(`matvecQ4 N=${N} K=${K} G=${G} sym=${sym}`, y, ref, c.w, x, 1, N, K)
    }
  }
})

run('matmulQ4 within the float32 bound for M = 1, 3, 16', () => {
  for (const [N, K, G] of Q4_SHAPES.slice(0, 4)) {
    for (const M of [1, 3, 16]) {
      const c = q4Case(N, K, G, M !== 3), X = uniform(M * K)
      const Y = new Float32Array(M * N).fill(NaN), ref = new Float32Array(M * N)
      matmulQ4Wasm(Y, X, c.data, c.scales, c.zeros, c.L, M)
      matmulQ4Ref(ref, X, c.data, c.scales, c.zeros, c.L, M)
      checkRows(`matmulQ4 M=${M} N=${N} K=${K} G=${G}`, Y, ref, c.w, X, M, N, K)
    }
  }
})

run('Q4 views at odd offsets and ±Inf / NaN in x', () => {
  const N = 13, K = 333, G = 34
  const c = q4Case(N, K, G, false)
  const d = new Uint8Array(c.data.length + 1); d.set(c.data, 1)
  const x = uniform(K + 1).subarray(1); x[7] = Infinity; x[300] = -Infinity
  const y = new Float32Array(N), ref = new Float32Array(N)
  matvecQ4Wasm(y, d.subarray(1), c.scales, c.zeros, x, c.L)
  matvecQ4Ref(ref, c.data, c.scales, c.zeros, x, c.L)
  checkRows('matvecQ4 Inf', y, ref, c.w, x, 1, N, K)
  x[100] = NaN
  matmulQ4Wasm(y, x, c.data, c.scales, c.zeros, c.L, 1)
  assert.ok(y.every(Number.isNaN))
})

test('fallbacks equal the typed-array kernels exactly: float64 x, short groups, tiny sizes', () => {
  const N = 41, K = 130 // N K above WASM_QUANT_MIN_WORK: only the dtype or the group size sends these to the fallback
  const codes = int8(N * K), x64 = Float64Array.from(uniform(K)), x32 = uniform(K)
  for (const [G, x] of [[K, x64], [5, x32], [15, x32]] as const) {
    const s = uniform(N * Math.ceil(K / G), 0, 0.1), a = new Float32Array(N), b = new Float32Array(N)
    matvecQ8Wasm(a, codes, s, x, N, K, G); matvecQ8(b, codes, s, x, N, K, G)
    assert.equal([...a], [...b])
  }
  for (const [G, x, M] of [[32, x64, 2], [8, x32, 2], [30, x32, 1]] as const) {
    const c = q4Case(N, K, G, false), a = new Float32Array(M * N), b = new Float32Array(M * N)
    const X = M === 1 ? x : Float32Array.from({ length: M * K }, (_, i) => x[i % K])
    const X2 = x instanceof Float64Array ? Float64Array.from(X) : X
    matvecQ4Wasm(a.subarray(0, N), c.data, c.scales, c.zeros, x, c.L); matvecQ4(b.subarray(0, N), c.data, c.scales, c.zeros, x, c.L)
    assert.equal([...a], [...b])
    matmulQ4Wasm(a, X2, c.data, c.scales, c.zeros, c.L, M); matmulQ4(b, X2, c.data, c.scales, c.zeros, c.L, M)
    assert.equal([...a], [...b])
  }
  const acc = new Int32Array(6), ref = new Int32Array(6), a8 = int8(2 * 7), w8 = int8(3 * 7)
  gemmI8Wasm(acc, a8, w8, 2, 3, 7); gemmI8Ref(ref, a8, w8, 2, 3, 7)
  assert.equal([...acc], [...ref])
})

test.run()

/**
 * @file Quantized products, typed-array kernels (the baseline) against the WebAssembly SIMD drop-ins
 * of src/wasm/quant.ts: gemmI8 (int8 x int8 -> int32) at 256 and 512, matvecQ8 (per channel) and
 * matvecQ4 (groups of 32, symmetric) at 4096 x 4096 (an LLM decode step) and 1024 x 1024, and
 * matmulQ4 with M = 16. The second reference row is the float32 product of the same shape through
 * `kernels.gemm` (tensor matmul: typed-array GEMM, and the WASM GEMM with `wasmImpl`). tfjs has no
 * int8 or int4 matmul (its quantization only compresses stored weights, dequantized on load), so
 * there is no peer row. Every wasm call includes copying its operands into the kernel memory.
 * Run alone: `npx tsx bench/quant-wasm.bench.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url'
import { Generator, randn } from '../src/index.ts'
import { gemmI8 } from '../src/kernels/quant.ts'
import { matmulQ4, matvecQ4, matvecQ8 } from '../src/kernels/quant-matvec.ts'
import { packedRowBytes, quantizePacked, type PackedLayout } from '../src/kernels/quant-pack.ts'
import { quantizeI8 } from '../src/kernels/quant.ts'
import { gemmI8Wasm, matmulQ4Wasm, matvecQ4Wasm, matvecQ8Wasm } from '../src/wasm/quant.ts'
import { markdown, runWorkloads, wasmImpl, type Workload } from './harness.ts'

const f32Rows = (fn: () => unknown): Workload['impls'] => [{ label: 'f32 kernels.gemm (js)', fn }, wasmImpl(fn, 'f32 kernels.gemm (wasm)')]

function gemmI8Workload(n: number): Workload {
  const g = new Generator(n)
  const int8 = (): Int8Array => Int8Array.from({ length: n * n }, () => Math.floor(g.nextFloat64() * 255) - 127)
  const a = int8(), w = int8(), acc = new Int32Array(n * n) // (n, n) each
  const A = randn([n, n], { generator: g }), B = randn([n, n], { generator: g })
  return {
    key: `gemm-i8-${n}`, title: `gemmI8 ${n}x${n}x${n} (int8 -> int32)`, flops: 2 * n ** 3,
    impls: [{ label: 'typed-array', fn: () => gemmI8(acc, a, w, n, n, n) }, { label: 'wasm', fn: () => gemmI8Wasm(acc, a, w, n, n, n) }, ...f32Rows(() => A.matmul(B))],
  }
}

function matvecWorkloads(n: number, M: number | null): Workload[] {
  const g = new Generator(100 + n)
  const W = randn([n, n], { generator: g }).mul(1 / Math.sqrt(n)), x = randn([n], { generator: g }) // (n, n), (n,)
  const wd = W.data() as Float32Array, xd = x.data() as Float32Array
  const codes = new Int8Array(n * n), s8 = new Float32Array(n) // (n, n), (n,) per channel
  quantizeI8(codes, s8, wd, n, n, n)
  const L: PackedLayout = { R: n, C: n, G: 32, bits: 4, symmetric: true }
  const data = new Uint8Array(n * packedRowBytes(n, 4)), s4 = new Float32Array(n * n / 32) // (n, n/2), (n, n/32)
  quantizePacked(data, s4, null, wd, L)
  const y = new Float32Array(n) // (n,)
  const out: Workload[] = [
    { key: `matvec-q8-${n}`, title: `matvecQ8 ${n}x${n} per channel`, flops: 2 * n * n, impls: [
      { label: 'typed-array', fn: () => matvecQ8(y, codes, s8, xd, n, n, n) }, { label: 'wasm', fn: () => matvecQ8Wasm(y, codes, s8, xd, n, n, n) }, ...f32Rows(() => W.matmul(x))] },
    { key: `matvec-q4-${n}`, title: `matvecQ4 ${n}x${n} G=32`, flops: 2 * n * n, impls: [
      { label: 'typed-array', fn: () => matvecQ4(y, data, s4, null, xd, L) }, { label: 'wasm', fn: () => matvecQ4Wasm(y, data, s4, null, xd, L) }, ...f32Rows(() => W.matmul(x))] },
  ]
  if (M) {
    const X = randn([M, n], { generator: g }), Xd = X.data() as Float32Array, Y = new Float32Array(M * n) // (M, n), (M, n)
    out.push({ key: `matmul-q4-${M}x${n}`, title: `matmulQ4 (${M}, ${n}) x (${n}, ${n})^T G=32`, flops: 2 * M * n * n, impls: [
      { label: 'typed-array', fn: () => matmulQ4(Y, Xd, data, s4, null, L, M) }, { label: 'wasm', fn: () => matmulQ4Wasm(Y, Xd, data, s4, null, L, M) }, ...f32Rows(() => X.matmul(W.T))] })
  }
  return out
}

export function quantWasmWorkloads({ quick }: { quick: boolean }): Workload[] {
  return quick
    ? [gemmI8Workload(256), ...matvecWorkloads(1024, 16)]
    : [gemmI8Workload(256), gemmI8Workload(512), ...matvecWorkloads(1024, 16), ...matvecWorkloads(4096, 16)]
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  console.log(markdown(await runWorkloads(quantWasmWorkloads({ quick }), { time: quick ? 300 : 1000, log: (l) => console.error(l) })))
}

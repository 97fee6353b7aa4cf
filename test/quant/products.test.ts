/**
 * @file Quantized products: the INT8 x INT8 -> INT32 GEMM against its Ref (exact), on-the-fly
 * Q8 / Q4 matvec and Q4 matmul against their dequantize-first Refs (float rounding), against a
 * float GEMM on the dequantized weights, `QLinear` against `nn.Linear`, NaN-prefilled outputs,
 * odd sizes, and the TesseraErrors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, randn, tensor, type Tensor } from '../../src/index.ts'
import {
  QLinear, dequantizeInt8, dequantizePacked, int8Matmul, matmulQ4, matvecQ4, matvecQ8, quantizeInt8, quantizePacked,
} from '../../src/quant/index.ts'
import { gemmI8, gemmI8Ref, I8_MAX_K } from '../../src/kernels/quant.ts'
import { matmulQ4 as matmulQ4K, matmulQ4Ref, matvecQ4 as matvecQ4K, matvecQ4Ref, matvecQ8 as matvecQ8K, matvecQ8Ref } from '../../src/kernels/quant-matvec.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const normal = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed) })
const SIZES: [number, number, number][] = [[1, 1, 1], [3, 5, 7], [4, 9, 33], [2, 13, 64], [5, 8, 100], [1, 17, 31]] // (M, N, K)

/** Asserts every element is finite (a NaN prefill left in place fails) and |a - r| <= tol sum|w x|. */
function assertTunedRef(a: Float32Array, r: Float32Array, scaleOf: (i: number) => number, msg: string): void {
  for (let i = 0; i < a.length; i++) {
    assert.ok(Number.isFinite(a[i]) && Number.isFinite(r[i]), `${msg}: element ${i} unwritten (${a[i]}, ${r[i]})`)
    assert.ok(Math.abs(a[i] - r[i]) <= 1e-6 * scaleOf(i) + 1e-30, `${msg}: [${i}] tuned ${a[i]} vs ref ${r[i]}`)
  }
}

test('gemmI8 equals gemmI8Ref exactly, odd sizes, extreme codes; I8_MAX_K is the int32 bound', () => {
  const g = new Generator(5)
  for (const [M, N, K] of SIZES) {
    const a = Int8Array.from({ length: M * K }, () => g.nextInt(-127, 128))
    const w = Int8Array.from({ length: N * K }, () => g.nextInt(-127, 128))
    const acc = new Int32Array(M * N).fill(-0x80000000), ref = new Int32Array(M * N).fill(0x7fffffff)
    gemmI8(acc, a, w, M, N, K); gemmI8Ref(ref, a, w, M, N, K)
    assert.equal(Array.from(acc), Array.from(ref), `${M}x${N}x${K}`)
  }
  const K = 1000, a = new Int8Array(K).fill(-127), w = new Int8Array(4 * K).fill(-127)
  const acc = new Int32Array(4)
  gemmI8(acc, a, w, 1, 4, K)
  assert.equal(Array.from(acc), new Array(4).fill(127 * 127 * K))
  assert.ok(127 * 127 * I8_MAX_K <= 0x7fffffff && 127 * 127 * (I8_MAX_K + 1) > 0x7fffffff)
})

test('int8Matmul: exact on integer data (scale 1), within budget of the float product otherwise', () => {
  // integer data with max|row| = 127 gives scale 1: the result is the exact integer product
  const A = tensor([[127, -3, 5], [-127, 0, 1]]), W = tensor([[1, 2, 127], [127, -127, 0], [-127, 9, 8], [127, 127, 127]])
  const y = int8Matmul(quantizeInt8(A), quantizeInt8(W), [0.5, 0, 0, 0])
  assertClose(y, A.matmul(W.T).add(tensor([0.5, 0, 0, 0])), { atol: 0, rtol: 0 })
  for (const [M, N, K] of SIZES) {
    const x = normal([M, K], M + K), w = normal([N, K], N * K)
    const qa = quantizeInt8(x), qw = quantizeInt8(w)
    // equals the float GEMM of the dequantized operands up to float rounding
    assertClose(int8Matmul(qa, qw), dequantizeInt8(qa).matmul(dequantizeInt8(qw).T), { atol: 1e-5, rtol: 1e-5 })
  }
})

test('matvecQ8 (per channel and per group) equals matvecQ8Ref; NaN-prefilled', () => {
  for (const [, N, K] of SIZES) for (const G of [K, 8, 32, 3]) {
    const w = normal([N, K], N + 7 * K), x = normal([K], K)
    const q = quantizeInt8(w, { groupSize: G })
    const a = new Float32Array(N).fill(NaN), r = new Float32Array(N).fill(NaN)
    const xs = x.data()
    matvecQ8K(a, q.codes, q.scales, xs, N, K, G); matvecQ8Ref(r, q.codes, q.scales, xs, N, K, G)
    const wd = dequantizeInt8(q).data()
    assertTunedRef(a, r, (n) => Array.from({ length: K }, (_, k) => Math.abs(wd[n * K + k] * xs[k])).reduce((s, v) => s + v, 0), `Q8 ${N}x${K} G${G}`)
    assertClose(matvecQ8(q, x), tensor(Array.from(a)), { atol: 0, rtol: 0 })
  }
})

test('matvecQ4 / matmulQ4 equal their Refs, symmetric and asymmetric, odd K and short last groups; NaN-prefilled', () => {
  for (const [M, N, K] of SIZES) for (const G of [32, 8, 2]) for (const symmetric of [true, false]) {
    const w = normal([N, K], 3 * N + K + G), x = normal([M, K], M * 11 + K)
    const q = quantizePacked(w, { bits: 4, groupSize: G, symmetric })
    const xs = x.data(), wd = dequantizePacked(q).data()
    const bound = (i: number): number => { const m = Math.floor(i / N), n = i % N; let s = 0; for (let k = 0; k < K; k++) s += Math.abs(wd[n * K + k] * xs[m * K + k]); return s }
    const y = new Float32Array(M * N).fill(NaN), r = new Float32Array(M * N).fill(NaN)
    matmulQ4K(y, xs, q.data, q.scales, q.zeros, q, M); matmulQ4Ref(r, xs, q.data, q.scales, q.zeros, q, M)
    assertTunedRef(y, r, bound, `matmulQ4 ${M}x${N}x${K} G${G} sym=${symmetric}`)
    const v = new Float32Array(N).fill(NaN), vr = new Float32Array(N).fill(NaN)
    matvecQ4K(v, q.data, q.scales, q.zeros, xs, q); matvecQ4Ref(vr, q.data, q.scales, q.zeros, xs, q)
    assertTunedRef(v, vr, bound, `matvecQ4 ${N}x${K} G${G} sym=${symmetric}`)
    // the public API against a float GEMM on the dequantized (fake-quantized) weights, to 1e-5
    assertClose(matmulQ4(x, q), x.matmul(dequantizePacked(q).T), { atol: 1e-5, rtol: 1e-5 })
    assertClose(matvecQ4(q, x.select(0, 0)), x.select(0, 0).matmul(dequantizePacked(q).T), { atol: 1e-5, rtol: 1e-5 })
  }
})

test('pure-integer paths are exact: Q4 / Q8 products with scale 1 and integer x equal the Refs bitwise', () => {
  const g = new Generator(8)
  for (const [M, N, K] of [[3, 9, 64], [2, 5, 33], [5, 13, 40]]) {
    // every group holds a +-7 (Q4) or +-127 (Q8), so the scales are exactly 1
    const w4 = Array.from({ length: N * K }, (_, i) => ((i % K) % 8 === 0 ? 7 : g.nextInt(-7, 8)))
    const w8 = Array.from({ length: N * K }, (_, i) => ((i % K) % 8 === 0 ? -127 : g.nextInt(-127, 128)))
    const X = Float32Array.from({ length: M * K }, () => g.nextInt(-50, 51)) // (M, K)
    const q4 = quantizePacked(tensor(w4).reshape([N, K]), { groupSize: 8 }), q8 = quantizeInt8(tensor(w8).reshape([N, K]), { groupSize: 8 })
    assert.ok(q4.scales.every((s) => s === 1) && q8.scales.every((s) => s === 1))
    const y = new Float32Array(M * N).fill(NaN), r = new Float32Array(M * N).fill(NaN)
    matmulQ4K(y, X, q4.data, q4.scales, null, q4, M); matmulQ4Ref(r, X, q4.data, q4.scales, null, q4, M)
    assert.equal(Array.from(y), Array.from(r))
    const v = new Float32Array(N).fill(NaN), vr = new Float32Array(N).fill(NaN), x = X.subarray(0, K)
    matvecQ4K(v, q4.data, q4.scales, null, x, q4); matvecQ4Ref(vr, q4.data, q4.scales, null, x, q4)
    assert.equal(Array.from(v), Array.from(vr))
    matvecQ8K(v.fill(NaN), q8.codes, q8.scales, x, N, K, 8); matvecQ8Ref(vr.fill(NaN), q8.codes, q8.scales, x, N, K, 8)
    assert.equal(Array.from(v), Array.from(vr))
  }
})

test('QLinear: float and dynamic activations track nn.Linear; buffers; leading dims kept', () => {
  const lin = new nn.Linear(37, 11, { generator: new Generator(9) })
  const x = normal([2, 3, 37], 10)
  const ref = lin.forward(x) as Tensor
  const qf = QLinear.fromLinear(lin), qd = QLinear.fromLinear(lin, { activations: 'dynamic' })
  const yf = qf.forward(x), yd = qd.forward(x)
  assert.equal(yf.shape, [2, 3, 11]); assert.equal(yd.shape, [2, 3, 11])
  // weight-only: exactly the float product with the dequantized weight (float64 sums)
  const wq = dequantizeInt8(quantizeInt8(lin.weight))
  assertClose(yf, x.matmul(wq.T).add(lin.bias!), { atol: 1e-5, rtol: 1e-5 })
  // dynamic: the int8 GEMM of the per-row quantized input
  const qx = quantizeInt8(x.reshape([6, 37]))
  assertClose(yd.reshape([6, 11]), int8Matmul(qx, quantizeInt8(lin.weight), lin.bias!.data()), { atol: 0, rtol: 0 })
  // error against float: sum_k |x_k| s_W/2 + |w_k| s_x/2 bounds each output; check a loose version
  const err = yf.sub(ref).abs().amax().item(), errD = yd.sub(ref).abs().amax().item()
  assert.ok(err < 0.02 && errD < 0.05, `QLinear error ${err} / ${errD}`)
  assert.equal(qf.parameters ? [...qf.parameters()].length : 0, 0)
  assert.is(qf.weightCodes.dtype, 'int8')
  assert.equal(Object.keys(qf.stateDict()), ['weightCodes', 'weightScales', 'bias'])
  const nobias = QLinear.fromLinear(new nn.Linear(4, 2, { bias: false }))
  assert.equal(Object.keys(nobias.stateDict()), ['weightCodes', 'weightScales'])
})

test('errors: mismatched shapes, per-group operands, odd groups for Q4, bad options', () => {
  const q = quantizeInt8(tensor([[1, 2, 3]])), g = quantizeInt8(tensor([[1, 2, 3, 4]]), { groupSize: 2 })
  assertThrows(() => int8Matmul(q, g), /inner dims differ/)
  assertThrows(() => int8Matmul(g, g), /quantized per row/)
  const p = quantizePacked(normal([2, 6], 1), { groupSize: 3 })
  assertThrows(() => matvecQ4(p, normal([6], 2)), /groupSize must be even/)
  const p3 = quantizePacked(normal([2, 6], 1), { bits: 3 })
  assertThrows(() => matmulQ4(normal([1, 6], 2), p3), /needs a 4-bit packed matrix, got 3 bits/)
  const p4 = quantizePacked(normal([2, 6], 1))
  assertThrows(() => matvecQ4(p4, normal([5], 2)), /x must have shape \[6\]/)
  assertThrows(() => matmulQ4(normal([6], 2), p4), /x must have shape \[M,6\]/)
  assertThrows(() => matvecQ8(q, normal([2], 2)), /matvecQ8: x must have shape \[3\]/)
  const lin = new nn.Linear(4, 2)
  assertThrows(() => QLinear.fromLinear(lin).forward(normal([3, 5], 1)), /QLinear: input has 5 features/)
  assertThrows(() => QLinear.fromLinear(lin, { activations: 'int4' as 'float' }), /activations must be/)
})

test.run()

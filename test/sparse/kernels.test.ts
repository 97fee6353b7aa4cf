/**
 * @file Delta-CSR format and sparse kernels (Elsen et al. 2020, sheet 27; SparseByteNN 1xN groups,
 * sheet 53): pack/unpack round trip with the format invariants, tuned `spmm` bitwise equal to
 * `spmmRef` on NaN-prefilled outputs over odd sizes, nr in {1, 2, 4} and sparsity 0, 0.5, 0.9, 1,
 * both equal to the dense product of the masked weight, an instrumented count of the input reads
 * (work = nnz P), the adjoint kernels against dense loops, and block masks.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator } from '../../src/index.ts'
import { blockMagnitudeMask, packDeltaCSR, unpackDeltaCSR, type SparsePattern } from '../../src/kernels/sparse.ts'
import { spmm, spmmRef, spmmTransposed, sddmm } from '../../src/kernels/sparse-spmm.ts'
import { assertClose } from '../helpers.ts'

const gen = new Generator(27)
const rand = (n: number, F: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): Float32Array | Float64Array => {
  const a = new F(n)
  for (let i = 0; i < n; i++) a[i] = gen.nextFloat32() * 2 - 1
  return a
}
/** A random 0/1 mask (Cout, K) keeping each entry with probability 1 - sparsity (rows differ). */
const randomMask = (n: number, sparsity: number): Uint8Array => Uint8Array.from({ length: n }, () => (gen.nextFloat32() >= sparsity ? 1 : 0))

function pack(W: Float32Array | Float64Array, Cout: number, K: number, nr: number, mask: Uint8Array | null) {
  return packDeltaCSR(W, Cout, K, nr, mask, (n) => (W instanceof Float32Array ? new Float32Array(n) : new Float64Array(n)))
}

/** Dense Y (N, Cout, P) = clamp(b + (W * mask) X) in float64. */
function denseRef(Wm: ArrayLike<number>, x: ArrayLike<number>, bias: ArrayLike<number> | null, N: number, Cout: number, K: number, P: number, min = -Infinity, max = Infinity): number[] {
  const y: number[] = []
  for (let n = 0; n < N; n++) for (let co = 0; co < Cout; co++) for (let p = 0; p < P; p++) {
    let acc = bias ? bias[co] : 0
    for (let k = 0; k < K; k++) acc += Wm[co * K + k] * x[(n * K + k) * P + p]
    y.push(Math.min(max, Math.max(min, acc)))
  }
  return y
}

const masked = (W: ArrayLike<number>, m: Uint8Array): Float64Array => Float64Array.from(W, (w, i) => (m[i] ? w : 0))

test('pack -> unpack round trip and format invariants (nr 1/2/4, odd Cout, sparsity 0/0.5/0.9/1)', () => {
  for (const nr of [1, 2, 4]) for (const sp of [0, 0.5, 0.9, 1]) for (const [Cout, K] of [[7, 5], [8, 13], [1, 1], [9, 3]]) {
    const W = rand(Cout * K), m = randomMask(Cout * K, sp)
    const { pattern: s, values } = pack(W, Cout, K, nr, m)
    const out = new Float64Array(Cout * K).fill(NaN)
    unpackDeltaCSR(out, s, values)
    assert.equal(Array.from(out), Array.from(masked(W, m)), `nr ${nr} sparsity ${sp} (${Cout},${K})`)
    assert.is(s.nnzPerBlock.reduce((a, b) => a + b, 0), s.nnz)
    assert.is(s.inputDeltas.reduce((a, b) => a + b, 0), 0, 'deltas sum to 0 (rewind)')
    const keptSlots = s.keep ? s.keep.reduce((a, b) => a + b, 0) : s.nnz * nr
    assert.is(keptSlots, m.reduce((a, b) => a + b, 0), 'kept slots = mask nonzeros')
    for (let j = 0; j < s.nnz; j++) if (j + 1 < s.nnz) assert.is(s.inputIndex[j] + s.inputDeltas[j], s.inputIndex[j + 1])
  }
})

test('pack without a mask uses the nonzeros of W; a shared block pattern has no padding', () => {
  const W = new Float64Array([0, 1, 0, 2, 0, 3, 0, 4]) // (2, 4), both rows keep columns 1 and 3
  const { pattern: s, values } = pack(W, 2, 4, 2, null)
  assert.is(s.nnz, 2)
  assert.is(s.keep, null)
  assert.equal(Array.from(values), [1, 3, 2, 4])
  assert.equal(Array.from(s.inputDeltas), [2, -2])
})

function checkSpmm(nr: number, sp: number, N: number, Cout: number, K: number, P: number, f32: boolean, withBias: boolean, clamp: boolean): void {
  const F = f32 ? Float32Array : Float64Array
  const W = rand(Cout * K, F), m = randomMask(Cout * K, sp), x = rand(N * K * P + 3, F), bias = withBias ? rand(Cout, F) : null
  const { pattern: s, values } = pack(W, Cout, K, nr, m)
  const [min, max] = clamp ? [-0.3, 0.6] : [-Infinity, Infinity]
  const g = { N, P, min, max }
  const yRef = new F(N * Cout * P).fill(NaN), yTuned = new F(N * Cout * P).fill(NaN)
  spmmRef(yRef, x, 3, s, values, bias, g)
  spmm(yTuned, x, 3, s, values, bias, g)
  const label = `nr ${nr} sp ${sp} N ${N} (${Cout},${K}) P ${P} ${f32 ? 'f32' : 'f64'}`
  assert.equal(Array.from(yTuned), Array.from(yRef), `tuned == ref bitwise: ${label}`)
  const dense = denseRef(masked(W, m), x.subarray(3), bias, N, Cout, K, P, min, max)
  assertClose(yRef, dense, { atol: f32 ? 1e-5 : 1e-12, rtol: f32 ? 1e-5 : 1e-12, msg: label })
}

test('spmm == spmmRef bitwise, both == dense masked product (odd sizes, clamp, bias, f32/f64)', () => {
  for (const nr of [1, 2, 4]) for (const sp of [0, 0.5, 0.9, 1]) {
    for (const [N, Cout, K, P] of [[1, 7, 5, 13], [2, 8, 16, 37], [1, 5, 3, 1], [2, 12, 9, 8], [1, 9, 20, 4]]) {
      checkSpmm(nr, sp, N, Cout, K, P, false, true, false)
      checkSpmm(nr, sp, N, Cout, K, P, true, sp !== 0.5, true)
    }
  }
})

test('instrumented spmm reads each kept input strip once per pixel: nnz nr P multiply-adds', () => {
  for (const nr of [1, 2, 4]) for (const sp of [0, 0.5, 0.9]) {
    const Cout = 8, K = 12, P = 16, N = 2
    const W = rand(Cout * K), m = randomMask(Cout * K, sp)
    const { pattern: s, values } = pack(W, Cout, K, nr, m)
    const x = rand(N * K * P)
    let reads = 0
    const counted = new Proxy(x, { get(t, key) { if (typeof key === 'string' && /^\d+$/.test(key)) reads++; return Reflect.get(t, key) } })
    spmm(new Float64Array(N * Cout * P), counted, 0, s, values, null, { N, P, min: -Infinity, max: Infinity })
    // Every input element read feeds the nr rows of its block: multiply-adds = reads * nr.
    assert.is(reads * nr, N * s.nnz * nr * P, `nr ${nr} sparsity ${sp}`)
    assert.ok(s.nnz * nr <= Cout * K)
  }
})

test('spmmTransposed and sddmm equal the dense adjoints', () => {
  for (const nr of [1, 2, 4]) for (const sp of [0, 0.5, 0.9, 1]) {
    const N = 2, Cout = 7, K = 6, P = 5
    const W = rand(Cout * K), m = randomMask(Cout * K, sp), Wm = masked(W, m)
    const { pattern: s, values } = pack(W, Cout, K, nr, m)
    const dy = rand(N * Cout * P), x = rand(N * K * P)
    const dx = new Float64Array(N * K * P).fill(NaN)
    spmmTransposed(dx, dy, 0, s, values, N, P)
    const dxRef: number[] = []
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) for (let p = 0; p < P; p++) {
      let acc = 0
      for (let co = 0; co < Cout; co++) acc += Wm[co * K + k] * dy[(n * Cout + co) * P + p]
      dxRef.push(acc)
    }
    assertClose(dx, dxRef, { atol: 1e-12 })
    const dv = new Float64Array(s.nnz * nr).fill(NaN)
    sddmm(dv, dy, 0, x, 0, s, N, P)
    const dW = new Float64Array(Cout * K)
    unpackDeltaCSR(dW, s, dv)
    for (let co = 0; co < Cout; co++) for (let k = 0; k < K; k++) {
      let acc = 0
      for (let n = 0; n < N; n++) for (let p = 0; p < P; p++) acc += dy[(n * Cout + co) * P + p] * x[(n * K + k) * P + p]
      assert.ok(Math.abs(dW[co * K + k] - (m[co * K + k] ? acc : 0)) < 1e-12)
    }
    if (s.keep) for (let q = 0; q < dv.length; q++) if (!s.keep[q]) assert.is(dv[q], 0, 'padding slots get no gradient')
  }
})

test('blockMagnitudeMask: blocks all-zero or all-one, floor(ratio * #blocks) zeroed (1xN groups, k x k)', () => {
  for (const [rows, cols] of [[1, 1], [4, 1], [2, 9], [4, 9]]) for (const ratio of [0, 0.3, 0.5, 0.9, 1]) {
    const Cout = 8, K = 18
    const W = rand(Cout * K)
    const mask = blockMagnitudeMask(W, Cout, K, ratio, { rows, cols, score: 'l1' })
    const bR = Cout / rows, bC = K / cols
    let zeroBlocks = 0
    let maxDropped = 0, minKept = Infinity
    for (let bi = 0; bi < bR; bi++) for (let bj = 0; bj < bC; bj++) {
      let sum = 0, l1 = 0
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) { const i = (bi * rows + r) * K + bj * cols + c; sum += mask[i]; l1 += Math.abs(W[i]) }
      assert.ok(sum === 0 || sum === rows * cols, 'block constant')
      if (sum === 0) { zeroBlocks++; maxDropped = Math.max(maxDropped, l1) } else minKept = Math.min(minKept, l1)
    }
    assert.is(zeroBlocks, Math.floor(ratio * bR * bC))
    assert.ok(maxDropped <= minKept, 'lowest-score blocks dropped')
    // nr = rows packs with no padding: every slot is kept.
    if (rows <= 4 && rows !== 3) assert.is(pack(W, Cout, K, rows, mask).pattern.keep, null)
  }
})

test('pattern fields are consistent', () => {
  const W = rand(10 * 7), { pattern: s } = pack(W, 10, 7, 4, randomMask(70, 0.5))
  const p: SparsePattern = s
  assert.is(p.nBlocks, 3)
  assert.is(p.blockStart[p.nBlocks], p.nnz)
  assert.ok(p.keep !== null, 'the partial last block pads rows')
})

test.run()

/**
 * @file Quantization formats: roundHalfEven, INT8 per channel / per group, packed INT2/3/4/8
 * (symmetric and asymmetric), GGUF Q4_0 / Q8_0 with hand-checked blocks, error budgets
 * (|dequant - w| <= scale / 2 per element, up to float32 rounding) and the TesseraErrors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, randn, tensor, type Tensor } from '../../src/index.ts'
import {
  quantizeInt8, dequantizeInt8, quantizePacked, dequantizePacked, quantBytes, writeGGUFBlocks, readGGUFBlocks,
  roundHalfEven, packBits, unpackBits,
} from '../../src/quant/index.ts'
import { packedRowBytes } from '../../src/kernels/quant-pack.ts'
import { assertThrows } from '../helpers.ts'

const normal = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed) })
/** Float32 slack on top of the scale/2 budget: rounding of the stored scale and of the product. */
const slack = (w: number): number => Math.abs(w) * 2 ** -21 + 1e-30

test('roundHalfEven: ties to even, both signs, like numpy.rint', () => {
  const cases: [number, number][] = [[0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [-3.5, -4], [2.4999, 2], [2.5001, 3], [-2.5001, -3], [7, 7], [-126.5, -126], [126.5, 126]]
  for (const [v, e] of cases) assert.ok(roundHalfEven(v) === e, `roundHalfEven(${v}) = ${roundHalfEven(v)}, expected ${e}`)
})

test('int8: hand-checked per-channel codes and scales', () => {
  const q = quantizeInt8(tensor([[127, -63.5, 0.5, 1.5], [0, 0, 0, 0], [-2.54, 1.27, 0.635, 0]]))
  assert.equal(Array.from(q.scales), [1, 0, Math.fround(0.02)])
  // -63.5 and 0.5 and 1.5 are ties: -64 (even), 0, 2
  assert.equal(Array.from(q.codes), [127, -64, 0, 2, 0, 0, 0, 0, -127, 64, 32, 0])
})

test('int8: round trip within scale/2 per element, per channel and per group, odd sizes', () => {
  for (const [R, C, G] of [[7, 37, undefined], [5, 37, 8], [3, 100, 32], [1, 1, 1], [4, 33, 32]] as const) {
    const w = normal([R, C], R * 100 + C)
    const q = quantizeInt8(w, { groupSize: G })
    const g = G ?? C, nG = Math.ceil(C / g)
    assert.is(q.scales.length, R * nG)
    const src = w.data(), back = dequantizeInt8(q).data()
    for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
      const s = q.scales[r * nG + Math.floor(c / g)], i = r * C + c
      assert.ok(Math.abs(back[i] - src[i]) <= s / 2 + slack(src[i]), `int8 [${r},${c}] G=${g}: |${back[i]} - ${src[i]}| > ${s}/2`)
      assert.ok(Math.abs(q.codes[i]) <= 127)
    }
  }
})

test('packBits/unpackBits: exact round trip for 1..8 bits, odd lengths; INT4 nibble order', () => {
  const g = new Generator(3)
  for (let bits = 1; bits <= 8; bits++) {
    for (const n of [1, 2, 7, 31, 33, 64]) {
      const u = Uint8Array.from({ length: n }, () => g.nextInt(0, 1 << bits))
      const packed = new Uint8Array(packedRowBytes(n, bits) + 2).fill(0xaa) // extra bytes must be untouched
      packBits(packed, u, n, bits, 1)
      assert.is(packed[0], 0xaa); assert.is(packed[packed.length - 1], 0xaa)
      const back = new Uint8Array(n)
      unpackBits(back, packed, n, bits, 1)
      assert.equal(Array.from(back), Array.from(u), `bits ${bits} n ${n}`)
    }
  }
  const p = new Uint8Array(2)
  packBits(p, [1, 2, 3], 3, 4)
  assert.equal(Array.from(p), [0x21, 0x03]) // element 0 low nibble, element 1 high nibble
  const p3 = new Uint8Array(2)
  packBits(p3, [7, 0, 5], 3, 3) // bits 0-2 = 7, 3-5 = 0, 6-8 = 5 (straddles)
  assert.equal(Array.from(p3), [0b01000111, 0b1])
})

test('packed: symmetric INT4 codes cover [-7, 7] exactly and every value in [-7,7]*s round-trips', () => {
  const vals = Array.from({ length: 15 }, (_, i) => (i - 7) * 0.25) // exact multiples of s = 0.25
  const q = quantizePacked(tensor([vals]), { bits: 4, groupSize: 16 })
  assert.equal(Array.from(q.scales), [0.25])
  assert.equal(Array.from(dequantizePacked(q).data()), vals)
  const u = new Uint8Array(15)
  unpackBits(u, q.data, 15, 4)
  assert.equal(Array.from(u), Array.from({ length: 15 }, (_, i) => i + 1)) // u = q + 8
})

test('packed: asymmetric hand-checked zero point', () => {
  // range [min(w,0), max(w,0)] = [-1, 2]: scale = 3/15 = 0.2, z = round(1/0.2) = 5
  const q = quantizePacked(tensor([[-1, 0, 2, 0.3]]), { bits: 4, symmetric: false })
  assert.equal(Array.from(q.scales), [Math.fround(0.2)])
  assert.equal(Array.from(q.zeros!), [5])
  const u = new Uint8Array(4)
  unpackBits(u, q.data, 4, 4)
  assert.equal(Array.from(u), [0, 5, 15, 7]) // 0.3/0.2 = 1.5 -> 2 (tie to even) + 5
})

test('packed: error budget scale/2 for INT2/3/4/8, symmetric and asymmetric, odd sizes, memory', () => {
  for (const bits of [2, 3, 4, 8]) for (const symmetric of [true, false]) {
    for (const [R, C, G] of [[5, 37, 32], [3, 65, 8], [2, 7, 3], [4, 64, 64]]) {
      const w = normal([R, C], bits * 1000 + C + (symmetric ? 1 : 0))
      const q = quantizePacked(w, { bits, groupSize: G, symmetric })
      const nG = Math.ceil(C / G)
      assert.is(q.data.length, R * Math.ceil((C * bits) / 8))
      assert.is(quantBytes(q), q.data.length + 4 * R * nG + (symmetric ? 0 : R * nG))
      const src = w.data(), back = dequantizePacked(q).data()
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) {
        const s = q.scales[r * nG + Math.floor(c / G)], i = r * C + c
        assert.ok(Math.abs(back[i] - src[i]) <= s / 2 + slack(src[i]), `${bits}-bit sym=${symmetric} [${r},${c}]: |${back[i]} - ${src[i]}| > ${s}/2`)
      }
    }
  }
})

test('packed: all-zero groups give scale 0 and exact zeros', () => {
  for (const symmetric of [true, false]) {
    const q = quantizePacked(tensor([[0, 0, 0, 1]]), { bits: 4, groupSize: 2, symmetric })
    assert.is(q.scales[0], 0)
    assert.equal(Array.from(dequantizePacked(q).data()), [0, 0, 0, 1])
  }
})

test('GGUF Q4_0: hand-checked blocks (ggml quantize_row_q4_0_ref)', () => {
  // x = -16..15: m = -16, d = 2 (fp16 0x4000), id = 0.5; q_j = trunc(x_j/2 + 8.5), capped at 15
  const x = Array.from({ length: 32 }, (_, i) => i - 16)
  const b = writeGGUFBlocks(tensor(x), 'Q4_0')
  assert.equal(Array.from(b), [0x00, 0x40, 128, 145, 145, 162, 162, 179, 179, 196, 196, 213, 213, 230, 230, 247, 247, 248])
  const back = Array.from(readGGUFBlocks(b, 'Q4_0', [32]).data())
  assert.equal(back, x.map((v, j) => 2 * (Math.min(15, Math.trunc(v / 2 + 8.5)) - 8)))
  // m = +8 gives a negative d = -1 (fp16 0xBC00): 8 -> q 0, 4 -> 4, -4 -> 12, 0 -> 8
  const y = new Array(32).fill(0); y[0] = 8; y[1] = 4; y[16] = -4
  const b2 = writeGGUFBlocks(tensor(y), 'Q4_0')
  assert.equal(Array.from(b2.slice(0, 4)), [0x00, 0xbc, 0 | (12 << 4), 4 | (8 << 4)])
  assert.equal(Array.from(readGGUFBlocks(b2, 'Q4_0', [32]).data()), y)
})

test('GGUF Q8_0: hand-checked block (ggml quantize_row_q8_0_ref, roundf ties away from zero)', () => {
  const x = Array.from({ length: 32 }, (_, j) => j - 16); x[0] = -127; x[1] = 2.5; x[2] = -2.5
  const b = writeGGUFBlocks(tensor(x), 'Q8_0')
  const q = [-127, 3, -3, ...Array.from({ length: 29 }, (_, k) => k + 3 - 16)]
  assert.equal(Array.from(b), [0x00, 0x3c, ...q.map((v) => v & 0xff)])
  assert.equal(Array.from(readGGUFBlocks(b, 'Q8_0', [32]).data()), q)
})

test('GGUF: error budgets on random data (Q8_0 d/2, Q4_0 |d|/2 except the +8 end, |d|)', () => {
  const n = 32 * 9
  const x = normal([n], 77), src = x.data()
  for (const type of ['Q4_0', 'Q8_0'] as const) {
    const b = writeGGUFBlocks(x, type)
    assert.is(b.length, (n / 32) * (type === 'Q4_0' ? 18 : 34))
    const back = readGGUFBlocks(b, type, [9, 32]).data()
    for (let blk = 0; blk < n / 32; blk++) {
      const o = blk * (type === 'Q4_0' ? 18 : 34)
      const h = b[o] | (b[o + 1] << 8)
      const d = Math.abs((h & 0x3ff | 0x400) * 2 ** (((h >> 10) & 31) - 25)) // normal fp16 magnitude
      for (let j = 0; j < 32; j++) {
        const i = blk * 32 + j, ratio = Math.abs(src[i] / d)
        // fp16 rounding of d adds at most 8 or 127 times half an fp16 ulp (2^-11 relative)
        const budget = (type === 'Q4_0' && src[i] * (h & 0x8000 ? -1 : 1) > 7.5 * d ? d : d / 2) + (type === 'Q4_0' ? 8 : 127) * d * 2 ** -11
        assert.ok(Math.abs(back[i] - src[i]) <= budget + slack(src[i]), `${type} [${i}] x/d=${ratio}: |${back[i]} - ${src[i]}| > ${budget}`)
      }
    }
  }
})

test('errors: bad shapes, bits, group sizes and GGUF lengths are TesseraErrors', () => {
  assertThrows(() => quantizeInt8(tensor([1, 2, 3])), /quantizeInt8: expected a 2-D/)
  assertThrows(() => quantizeInt8(tensor([[1, 2]]), { groupSize: 0 }), /groupSize must be a positive integer/)
  assertThrows(() => quantizeInt8(tensor([[1, 2]], { dtype: 'int32' })), /expected a float tensor/)
  assertThrows(() => quantizePacked(tensor([[1, 2]]), { bits: 5 }), /bits must be one of 2, 3, 4, 8/)
  assertThrows(() => quantizePacked(tensor([[1, 2]]), { groupSize: 2.5 }), /groupSize must be a positive integer/)
  assertThrows(() => writeGGUFBlocks(tensor([1, 2, 3]), 'Q4_0'), /Q4_0: GGUF blocks hold 32 values; the length 3/)
  assertThrows(() => readGGUFBlocks(new Uint8Array(17), 'Q4_0', [32]), /needs 18 bytes, got 17/)
  assertThrows(() => readGGUFBlocks(new Uint8Array(34), 'Q8_0', [33]), /not a multiple of 32/)
})

test.run()

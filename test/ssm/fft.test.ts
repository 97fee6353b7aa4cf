/**
 * @file FFT kernels and causal long convolution: fft vs the O(n^2) DFT, rfft/irfft round trip,
 * fftConv vs direct convolution on lengths 1, 7, 64, 1000 (odd and even), gradcheck of both paths.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn } from '../../src/index.ts'
import { causalConvDirect, dftRef, fft, fftConvInto, convScratch, irfft, nextPow2, rfft } from '../../src/kernels/fft.ts'
import { causalConv1dLong, fftConv } from '../../src/ops/fft.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const test = suite('fft')

function rnd(n: number, seed: number): Float64Array {
  return randn([n], { dtype: 'float64', generator: new Generator(seed) }).data() as Float64Array
}

test('fft equals the plain DFT, forward and inverse, n = 1..256', () => {
  for (const n of [1, 2, 4, 8, 64, 256]) {
    const re = rnd(n, n), im = rnd(n, n + 1)
    for (const inverse of [false, true]) {
      const want = dftRef(re, im, inverse)
      const r = re.slice(), i = im.slice()
      fft(r, i, inverse)
      assertClose(r, Array.from(want.re), { atol: 1e-10 })
      assertClose(i, Array.from(want.im), { atol: 1e-10 })
    }
  }
  assert.throws(() => fft(new Float64Array(6), new Float64Array(6)), /power of two/)
})

test('rfft gives the first n/2 + 1 DFT bins; irfft inverts it', () => {
  const x = rnd(100, 3)
  const n = nextPow2(100)
  assert.is(n, 128)
  const bins = rfft(x, n)
  const padded = new Float64Array(n); padded.set(x)
  const want = dftRef(padded, new Float64Array(n))
  assertClose(bins.re, Array.from(want.re.slice(0, n / 2 + 1)), { atol: 1e-9 })
  assertClose(bins.im, Array.from(want.im.slice(0, n / 2 + 1)), { atol: 1e-9 })
  assertClose(irfft(bins.re, bins.im, n), Array.from(padded), { atol: 1e-12 })
})

test('fftConvInto equals direct causal convolution on L = 1, 7, 64, 1000 and short kernels', () => {
  for (const [L, Lk] of [[1, 1], [7, 7], [7, 3], [64, 64], [1000, 1000], [1000, 17], [33, 40]]) {
    const u = rnd(L, L), k = rnd(Lk, Lk + 7)
    const a = new Float64Array(L).fill(NaN), b = new Float64Array(L).fill(NaN) // (L,)
    fftConvInto(a, 0, u, 0, L, k, 0, Lk, convScratch(L, Lk))
    causalConvDirect(b, 0, u, 0, L, k, 0, Lk)
    assertClose(a, Array.from(b), { atol: 1e-9, rtol: 1e-9, msg: `L=${L} Lk=${Lk}` })
  }
})

test('causalConv1dLong: fft, direct and auto agree (float32 to 1e-5 relative); output dtype follows u', () => {
  for (const L of [1, 7, 64, 1000]) {
    const g = new Generator(L)
    const u = randn([2, 3, L], { generator: g }), k = randn([3, L], { generator: g }).mul(1 / Math.sqrt(L))
    const direct = causalConv1dLong(u, k, 'direct')
    assert.is(direct.dtype, 'float32')
    assertClose(fftConv(u, k), direct, { atol: 1e-5, rtol: 1e-5, msg: `L=${L}` })
    assertClose(causalConv1dLong(u, k), direct, { atol: 1e-5, rtol: 1e-5 })
  }
})

test('gradcheck u and k through both paths (L = 7 and 9 with Lk = 4)', () => {
  for (const method of ['fft', 'direct'] as const) {
    for (const [L, Lk] of [[7, 7], [9, 4]]) {
      const g = new Generator(L + Lk)
      const u = randn([2, 2, L], { dtype: 'float64', generator: g }).requiresGrad_()
      const k = randn([2, Lk], { dtype: 'float64', generator: g }).requiresGrad_()
      gradcheck((u, k) => causalConv1dLong(u, k, method), [u, k])
    }
  }
})

test('shape errors', () => {
  const u = randn([1, 3, 5])
  assertThrows(() => causalConv1dLong(u, randn([2, 5])), /k must be .D=3/)
  assertThrows(() => causalConv1dLong(randn([3, 5]), randn([3, 5])), /u must be a floating .B, D, L./)
})

test.run()

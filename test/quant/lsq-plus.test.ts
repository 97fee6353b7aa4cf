/**
 * @file LSQ+ (Bhalgat et al. 2020, https://arxiv.org/abs/2004.09576): values and the Eqn (5)-(6)
 * gradients to x (STE), s and beta hand-checked with g = 1/sqrt(N p), agreement with `lsq` at
 * beta = 0, per-channel scale and offset, gradcheck where smooth (the clipped region), errors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, tensor, type Tensor } from '../../src/index.ts'
import { lsq, lsqPlus } from '../../src/quant/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const leaf = (v: number[] | number[][]): Tensor => tensor(v, { dtype: 'float64' }).requiresGrad_(true)

test('lsqPlus unsigned 2 bits: values, ties to even, and gradients to x, s, beta (hand-checked)', () => {
  // n = 0, p = 3; s = 0.5, beta = -0.25: v = (x + 0.25) / 0.5 = [1.1, -1.5, 4.5, 1.5, 0.5]
  const x = leaf([0.3, -1, 2, 0.5, 0]), s = leaf([0.5]), beta = leaf([-0.25])
  const y = lsqPlus(x, s, beta, { bits: 2 })
  assertClose(y, [0.25, -0.25, 1.25, 0.75, -0.25], { atol: 1e-15 })
  y.mul(tensor([1, 2, 3, 4, 5], { dtype: 'float64' })).sum().backward()
  assertClose(x.grad!, [1, 0, 0, 4, 5], { atol: 0, rtol: 0 })
  // dy/ds = round(v) - v inside, n = 0 below, p = 3 above: 1(-0.1) + 2(0) + 3(3) + 4(0.5) + 5(-0.5)
  assertClose(s.grad!, [8.4 / Math.sqrt(5 * 3)], { atol: 1e-12 })
  // dy/dbeta = 1 on the clipped elements (weights 2 and 3), 0 inside
  assertClose(beta.grad!, [5 / Math.sqrt(5 * 3)], { atol: 1e-12 })
})

test('lsqPlus signed 3 bits with gradScale 1 (levels -4..3)', () => {
  const x = leaf([1.1, -5, 0.9, 7]), s = leaf([1]), beta = leaf([0.5])
  // v = [0.6, -5.5, 0.4, 6.5] -> [1, -4(clip), 0, 3(clip)]
  const y = lsqPlus(x, s, beta, { bits: 3, signed: true, gradScale: 1 })
  assertClose(y, [1.5, -3.5, 0.5, 3.5], { atol: 1e-15 })
  y.sum().backward()
  assertClose(x.grad!, [1, 0, 1, 0], { atol: 0, rtol: 0 })
  assertClose(s.grad!, [0.4 - 4 - 0.4 + 3], { atol: 1e-12 })
  assertClose(beta.grad!, [2], { atol: 0 })
})

test('lsqPlus with beta = 0 equals lsq (values, dx, ds); signed and unsigned', () => {
  const x = randn([3, 7], { dtype: 'float64', generator: new Generator(1) }).mul(2)
  for (const signed of [true, false]) {
    const x1 = x.detach().requiresGrad_(true), x2 = x.detach().requiresGrad_(true)
    const s1 = leaf([0.3]), s2 = leaf([0.3]), b = leaf([0])
    const y1 = lsqPlus(x1, s1, b, { bits: 4, signed }), y2 = lsq(x2, s2, { bits: 4, signed })
    assertClose(y1, y2, { atol: 0, rtol: 0 })
    y1.sum().backward(); y2.sum().backward()
    assertClose(x1.grad!, x2.grad!, { atol: 0, rtol: 0 })
    assertClose(s1.grad!, s2.grad!, { atol: 1e-12 })
  }
})

test('lsqPlus per channel equals per-tensor lsqPlus on each channel; N counts one channel', () => {
  const x = randn([2, 3, 4], { dtype: 'float64', generator: new Generator(2) })
  const s = leaf([0.2, 0.4, 0.1]), beta = leaf([-0.3, 0.1, 0.05])
  const xs = x.detach().requiresGrad_(true)
  const y = lsqPlus(xs, s, beta, { bits: 3, axis: 1 })
  y.sum().backward()
  for (let c = 0; c < 3; c++) {
    const xc = x.select(1, c).contiguous().detach().requiresGrad_(true)
    const sc = leaf([[0.2, 0.4, 0.1][c]]), bc = leaf([[-0.3, 0.1, 0.05][c]])
    const yc = lsqPlus(xc, sc, bc, { bits: 3 })
    yc.sum().backward()
    assertClose(y.select(1, c), yc, { atol: 0, rtol: 0 })
    assertClose(xs.grad!.select(1, c), xc.grad!, { atol: 0, rtol: 0 })
    assertClose([s.grad!.data()[c]], sc.grad!, { atol: 1e-12 })
    assertClose([beta.grad!.data()[c]], bc.grad!, { atol: 1e-12 })
  }
})

test('lsqPlus gradcheck where smooth: every element clipped, gradScale 1 (dy/ds = n or p, dy/dbeta = 1)', () => {
  // NOTE: inside (n, p) the STE gradient is deliberately not the true (zero) derivative of rounding.
  gradcheck((a, b, c) => lsqPlus(a, b, c, { bits: 2, gradScale: 1 }), [leaf([3, -3, 5, -4.5, 2.2]), leaf([0.5]), leaf([0.1])])
  gradcheck((a, b, c) => lsqPlus(a, b, c, { bits: 2, signed: true, gradScale: 1 }), [leaf([3, -3, 5, -4.5]), leaf([0.5]), leaf([-0.2])])
  gradcheck((a, b, c) => lsqPlus(a, b, c, { bits: 2, axis: 1, gradScale: 1 }), [leaf([[3, -3], [5, -4.5]]), leaf([0.5, 0.25]), leaf([0.2, -0.1])])
})

test('lsqPlus errors', () => {
  const x = tensor([[1, 2], [3, 4]])
  assertThrows(() => lsqPlus(x, tensor([1, 1]), tensor([0]), { bits: 4 }), /per-tensor scale must have one element/)
  assertThrows(() => lsqPlus(x, tensor([1]), tensor([0, 0]), { bits: 4 }), /per-tensor offset must have one element/)
  assertThrows(() => lsqPlus(x, tensor([1, 1]), tensor([0, 0, 0]), { bits: 4, axis: 1 }), /per-channel offset must have shape \[2\]/)
  assertThrows(() => lsqPlus(x, tensor([0]), tensor([0]), { bits: 4 }), /scales must be positive/)
  assertThrows(() => lsqPlus(x, tensor([1]), tensor([NaN]), { bits: 4 }), /offsets must be finite/)
  assertThrows(() => lsqPlus(x, tensor([1]), tensor([0]), { bits: 1 }), /bits must be an integer in \[2, 16\]/)
  assertThrows(() => lsqPlus(x, tensor([1]), tensor([0]), { bits: 4, axis: 2 }), /axis 2 is out of range/)
  assertThrows(() => lsqPlus(tensor([1, 2], { dtype: 'int32' }), tensor([1]), tensor([0]), { bits: 4 }), /expected a float tensor/)
  assert.ok(true)
})

test.run()

/**
 * @file Differentiable quantizers: `fakeQuant` values on the integer grid (PyTorch
 * fake_quantize_per_tensor/per_channel_affine semantics), idempotence, straight-through
 * gradients; `lsq` values and Esser et al. 2020 gradients (hand-checked), per-channel steps,
 * gradcheck where the function is smooth (the clipped region), and the TesseraErrors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, tensor, type Tensor } from '../../src/index.ts'
import { fakeQuant, lsq } from '../../src/quant/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const leaf = (v: number[] | number[][], dtype: 'float32' | 'float64' = 'float64'): Tensor => tensor(v, { dtype }).requiresGrad_(true)

test('fakeQuant per tensor: ties to even, clamping, STE mask (hand-checked)', () => {
  const x = leaf([0.125, 0.375, 0.625, 31.75, 32, -32, -32.25])
  const y = fakeQuant(x, { bits: 8, scale: 0.25 })
  assertClose(y, [0, 0.5, 0.5, 31.75, 31.75, -32, -32], { atol: 0, rtol: 0 })
  y.sum().backward()
  assertClose(x.grad!, [1, 1, 1, 1, 0, 1, 0], { atol: 0, rtol: 0 })
})

test('fakeQuant unsigned with zero point, and per channel with a narrow range', () => {
  const x = leaf([-3, -4, 12, 13, 0.4])
  const y = fakeQuant(x, { bits: 4, scale: 1, zeroPoint: 3, unsigned: true })
  assertClose(y, [-3, -3, 12, 12, 0], { atol: 0, rtol: 0 })
  y.mul(tensor([1, 2, 3, 4, 5], { dtype: 'float64' })).sum().backward()
  assertClose(x.grad!, [1, 0, 3, 0, 5], { atol: 0, rtol: 0 })
  const w = leaf([[0.5, 4, -4], [0.5, 8, -7.6]])
  const yw = fakeQuant(w, { bits: 4, scale: [0.5, 1], perChannel: 0, qmin: -7, qmax: 7 })
  assertClose(yw, [[0.5, 3.5, -3.5], [0, 7, -7]], { atol: 0, rtol: 0 })
  yw.sum().backward()
  assertClose(w.grad!, [[1, 0, 0], [1, 0, 0]], { atol: 0, rtol: 0 }) // -7.6 rounds to -8: outside [-7, 7]
})

test('fakeQuant: output on the grid and idempotent; gradcheck where smooth (saturated)', () => {
  const x = randn([4, 9], { dtype: 'float64', generator: new Generator(1) })
  const s = [0.1, 0.2, 0.3, 0.05]
  const y = fakeQuant(x, { bits: 4, scale: s, perChannel: 0, qmin: -7, qmax: 7 })
  const yd = y.data()
  for (let i = 0; i < yd.length; i++) {
    const q = yd[i] / s[Math.floor(i / 9)]
    assert.ok(Math.abs(q - Math.round(q)) < 1e-9 && Math.abs(q) <= 7 + 1e-9, `element ${i}: ${q} is off the grid`)
  }
  assertClose(fakeQuant(y, { bits: 4, scale: s, perChannel: 0, qmin: -7, qmax: 7 }), y, { atol: 0, rtol: 0 })
  // NOTE: fakeQuant is piecewise constant; away from steps its true derivative is 0, which the STE
  // also returns once every element is clipped, so finite differences can check it there.
  gradcheck((t) => fakeQuant(t, { bits: 3, scale: 0.5 }), [tensor([3.3, -4.7, 10, -9], { dtype: 'float64' }).requiresGrad_(true)])
})

test('lsq: values and gradients of Esser et al. 2020 Eqn (3) with g = 1/sqrt(N Qp) (hand-checked)', () => {
  // 3 bits signed: Qn = 4, Qp = 3; s = 0.5
  const x = leaf([0.3, -3, 2, 0.75, -0.25]), s = leaf([0.5])
  const y = lsq(x, s, { bits: 3 })
  assertClose(y, [0.5, -2, 1.5, 1, 0], { atol: 1e-15 })
  y.sum().backward()
  assertClose(x.grad!, [1, 0, 0, 1, 1], { atol: 0, rtol: 0 })
  // dy/ds: round(v) - v = 0.4, -Qn = -4, Qp = 3, 2 - 1.5 = 0.5, 0 + 0.5 = 0.5
  assertClose(s.grad!, [(0.4 - 4 + 3 + 0.5 + 0.5) / Math.sqrt(5 * 3)], { atol: 1e-12 })
  // unsigned (post-ReLU): Qp = 7, nothing below 0
  const a = leaf([-1, 1.2, 9]), sa = leaf([1])
  const ya = lsq(a, sa, { bits: 3, signed: false, gradScale: 1 })
  assertClose(ya, [0, 1, 7], { atol: 0 })
  ya.sum().backward()
  assertClose(sa.grad!, [0 + (1 - 1.2) + 7], { atol: 1e-12 })
})

test('lsq per channel equals per-tensor lsq on each channel; gradient scale uses N per channel', () => {
  const W = randn([3, 8], { dtype: 'float64', generator: new Generator(4) })
  const x = W.detach().requiresGrad_(true), s = leaf([0.2, 0.3, 0.1])
  const y = lsq(x, s, { bits: 4, axis: 0 })
  y.sum().backward()
  for (let c = 0; c < 3; c++) {
    const xc = W.select(0, c).detach().requiresGrad_(true), sc = leaf([[0.2, 0.3, 0.1][c]])
    const yc = lsq(xc, sc, { bits: 4 })
    yc.sum().backward()
    assertClose(y.select(0, c), yc, { atol: 0, rtol: 0 })
    assertClose(s.grad!.select(0, c).reshape([1]), sc.grad!, { atol: 1e-12 })
  }
})

test('lsq gradcheck where smooth: every element clipped, gradScale 1 (dy/ds = -Qn or Qp exactly)', () => {
  const x = tensor([3, -3, 5, -4.5, 2.2], { dtype: 'float64' }).requiresGrad_(true)
  const s = tensor([0.5], { dtype: 'float64' }).requiresGrad_(true)
  gradcheck((a, b) => lsq(a, b, { bits: 3, gradScale: 1 }), [x, s])
  const sc = tensor([0.5, 0.25], { dtype: 'float64' }).requiresGrad_(true)
  gradcheck((a, b) => lsq(a, b, { bits: 2, axis: 1, gradScale: 1 }), [tensor([[3, -3], [5, -4.5]], { dtype: 'float64' }).requiresGrad_(true), sc])
})

test('errors: bad bits, scales, zero points, axes, step shapes', () => {
  const x = tensor([[1, 2], [3, 4]])
  assertThrows(() => fakeQuant(x, { bits: 0, scale: 1 }), /bits must be an integer in \[1, 16\]/)
  assertThrows(() => fakeQuant(x, { scale: 0 }), /scales must be positive/)
  assertThrows(() => fakeQuant(x, { scale: [1, 2] }), /without a perChannel axis/)
  assertThrows(() => fakeQuant(x, { scale: [1, 2, 3], perChannel: 0 }), /scale has 3 values for 2 channels/)
  assertThrows(() => fakeQuant(x, { scale: 1, perChannel: 2 }), /perChannel axis 2 is out of range/)
  assertThrows(() => fakeQuant(x, { scale: 1, zeroPoint: 0.5 }), /zero point 0.5 must be an integer/)
  assertThrows(() => fakeQuant(x, { scale: 1, qmin: 3, qmax: 3 }), /need qmin < qmax/)
  assertThrows(() => lsq(x, tensor([1, 1]), { bits: 4 }), /per-tensor step must have one element/)
  assertThrows(() => lsq(x, tensor([1, 1, 1]), { bits: 4, axis: 1 }), /per-channel step must have shape \[2\]/)
  assertThrows(() => lsq(x, tensor([-1]), { bits: 4 }), /step sizes must be positive/)
  assertThrows(() => lsq(x, tensor([1]), { bits: 1 }), /bits must be an integer in \[2, 16\]/)
})

test.run()

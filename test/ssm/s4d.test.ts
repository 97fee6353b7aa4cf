/**
 * @file S4D (https://arxiv.org/abs/2206.11893): init tables, kernel vs the raw Vandermonde oracle and
 * the one-mode analytic form, convolution mode == recurrent mode (1e-4, L = 256) for every init and
 * both discretisations, gradcheck of logDt, logAReal, AImag, C, D on a tiny instance, param groups.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, stack, tensor, optim } from '../../src/index.ts'
import { s4dInitA, ssmKernelVandermonde } from '../../src/kernels/s4d.ts'
import { S4D } from '../../src/ssm/s4d.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const test = suite('s4d')

test('init tables: Lin imag = π n, Inv imag 1283.4 at n = 0 and 0.3234 at n = 31 (N = 64), real parts <= 0', () => {
  const lin = s4dInitA('lin', 32), inv = s4dInitA('inv', 32), real = s4dInitA('real', 32)
  assertClose(lin.im, Array.from({ length: 32 }, (_, n) => Math.PI * n), { atol: 1e-12 })
  assert.ok(Math.abs(inv.im[0] - 1283.4) < 0.05, `inv[0] = ${inv.im[0]}`)
  assert.ok(Math.abs(inv.im[31] - 0.3234) < 1e-4, `inv[31] = ${inv.im[31]}`)
  for (const t of [lin, inv, real]) assert.ok(t.re.every((r) => r <= 0))
  assertClose(real.re, Array.from({ length: 32 }, (_, n) => -(n + 1)))
})

test('kernel from ops equals the raw Vandermonde kernel (zoh, bilinear; lin, inv, real)', () => {
  for (const disc of ['zoh', 'bilinear'] as const) {
    for (const init of ['lin', 'inv', 'real'] as const) {
      const m = new S4D(3, { dState: 8, init, disc, dtype: 'float64', generator: new Generator(1) })
      const L = 50
      const K = new Float64Array(3 * L)
      const Are = m.logAReal.exp().neg().data(), C = m.C.data()
      ssmKernelVandermonde(K, Are, m.AImag.data(), C.filter((_, i) => i % 2 === 0), C.filter((_, i) => i % 2 === 1), m.logDt.exp().data(), 3, 4, L, disc)
      assertClose(m.kernel(L), Array.from(K), { atol: 1e-10, rtol: 1e-8, msg: `${disc} ${init}` })
    }
  }
})

test('one mode, C dB = 1: K_l = 2 Re exp(dt A l), and |K| decays when Re A < 0', () => {
  const m = new S4D(1, { dState: 2, dtype: 'float64', generator: new Generator(2) })
  m.logDt.detach().fill_(Math.log(0.1)); m.logAReal.detach().fill_(Math.log(0.5)); m.AImag.detach().fill_(3)
  const { dB } = m.discretize()
  const b = { re: dB.re.item(), im: dB.im.item() }, den = b.re ** 2 + b.im ** 2
  m.C.detach().copy_(tensor([[[b.re / den, -b.im / den]]], { dtype: 'float64' })) // C = 1 / dB
  const K = Array.from(m.kernel(100).data())
  assertClose(K, K.map((_, l) => 2 * Math.exp(-0.05 * l) * Math.cos(0.3 * l)), { atol: 1e-12 })
  assert.ok(Math.abs(K[99]) < 2 * Math.exp(-0.05 * 99) + 1e-12 && Math.exp(-0.05 * 99) < 0.01)
})

test('convolution mode equals recurrent mode to 1e-4 at L = 256 (each init, zoh and bilinear)', () => {
  for (const disc of ['zoh', 'bilinear'] as const) {
    for (const init of ['lin', 'inv', 'real'] as const) {
      const m = new S4D(4, { dState: 16, init, disc, dtype: 'float64', generator: new Generator(3) })
      const u = randn([2, 4, 256], { dtype: 'float64', generator: new Generator(4) })
      const conv = m.forward(u)
      let s = m.initialState(2)
      const ys = []
      for (let t = 0; t < 256; t++) { const [y, n] = m.step(s, u.select(2, t)); ys.push(y); s = n }
      assertClose(stack(ys, 2), conv, { atol: 1e-4, rtol: 1e-4, msg: `${disc} ${init}` })
    }
  }
})

test('float32 module: conv == recurrent to 1e-4 relative at L = 256', () => {
  const m = new S4D(2, { dState: 8, generator: new Generator(5) })
  const u = randn([1, 2, 256], { generator: new Generator(6) })
  let s = m.initialState(1)
  const ys = []
  for (let t = 0; t < 256; t++) { const [y, n] = m.step(s, u.select(2, t)); ys.push(y); s = n }
  assertClose(stack(ys, 2), m.forward(u), { atol: 1e-4, rtol: 1e-4 })
})

test('gradcheck: gradients reach logDt, logAReal, AImag, C, D and the input (zoh and bilinear)', () => {
  for (const disc of ['zoh', 'bilinear'] as const) {
    const m = new S4D(2, { dState: 4, disc, dtype: 'float64', dtMin: 0.05, dtMax: 0.5, generator: new Generator(7) })
    const u = randn([1, 2, 6], { dtype: 'float64', generator: new Generator(8) }).requiresGrad_()
    const params = [m.logDt, m.logAReal, m.AImag, m.C, m.D]
    gradcheck((u) => m.forward(u), [u, ...params])
    for (const p of params) assert.ok(p.grad && p.grad.abs().sum().item() > 0, 'nonzero grad')
  }
})

test('param groups: A and dt have lr = min(1e-3, lr) and no weight decay', () => {
  const m = new S4D(2, { dState: 4 })
  const opt = new optim.AdamW(m.paramGroups(0.01), { lr: 0.01, weightDecay: 0.05 })
  const groups = opt.paramGroups as unknown as { params: unknown[]; lr: number; weightDecay: number }[]
  assert.is(groups[1].lr, 0.001); assert.is(groups[1].weightDecay, 0)
  assert.is(groups[0].lr, 0.01); assert.is(groups[0].weightDecay, 0.05)
  assert.equal(groups[1].params, [m.logDt, m.logAReal, m.AImag])
  assertThrows(() => new S4D(2, { dState: 3 }), /dState an even integer/)
})

test.run()

/**
 * @file S4D (https://arxiv.org/abs/2206.11893): init tables (Lin, Inv, Real, LegS against numpy's
 * eigh of the HiPPO-LegS normal matrix, seeded Rand), kernel vs the raw Vandermonde oracle and
 * the one-mode analytic form, convolution mode == recurrent mode (1e-4, L = 256) for every init and
 * both discretisations, gradcheck of logDt, logAReal, AImag, C, D on a tiny instance, param groups.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, stack, tensor, optim } from '../../src/index.ts'
import { hippoLegSImag, s4dInitA, ssmKernelVandermonde, symmetricEigenvalues } from '../../src/kernels/s4d.ts'
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

test('LegS init: real parts -1/2, imag = eigenvalues of the HiPPO-LegS normal matrix (numpy eigh), descending', () => {
  // N = 2: S = [[0, √3/2], [-√3/2, 0]] has eigenvalues ±i √3/2
  assertClose(s4dInitA('legs', 1).im, [Math.sqrt(3) / 2], { atol: 1e-14 })
  // numpy 2.4.6: -eigh(AP * -1j) imag parts of state-spaces/s4 hippo.nplr('legs', 8), the negative half
  const legs8 = s4dInitA('legs', 4)
  assertClose(legs8.im, [19.85741037, 5.35420852, 1.95779415, 0.42748871], { atol: 1e-8 })
  const legs = s4dInitA('legs', 32)
  assert.ok(legs.re.every((r) => r === -0.5))
  for (let n = 1; n < 32; n++) assert.ok(legs.im[n] < legs.im[n - 1], `strictly decreasing at ${n}`)
  assert.ok(Math.abs(legs.im[0] - 1303.27384298) < 1e-6 && Math.abs(legs.im[31] - 0.26385693) < 1e-8, `${legs.im[0]} ${legs.im[31]}`)
  // trace identity: ||S||_F^2 = 2 Σ ω_j^2, with S[n,k]^2 = (2n+1)(2k+1)/4 off the diagonal
  let fro = 0
  for (let n = 0; n < 64; n++) for (let k = 0; k < 64; k++) if (n !== k) fro += ((2 * n + 1) * (2 * k + 1)) / 4
  assert.ok(Math.abs(2 * legs.im.reduce((a, w) => a + w * w, 0) - fro) < 1e-9 * fro)
  assert.equal(Array.from(hippoLegSImag(64)), Array.from(legs.im))
  // the Jacobi solver on a known spectrum: Q diag(1, 2, 3) Q^T for a rotation Q
  const c = Math.cos(0.3), sn = Math.sin(0.3)
  const ev = symmetricEigenvalues(Float64Array.from([1 * c * c + 2 * sn * sn, (2 - 1) * c * sn, 0, (2 - 1) * c * sn, 1 * sn * sn + 2 * c * c, 0, 0, 0, 3]), 3)
  assertClose(ev.sort(), [1, 2, 3], { atol: 1e-14 })
})

test('Rand init: real parts -1/2, imag = exp(N(0, 1)) > 0, seeded determinism, per-channel rows in S4D', () => {
  const a = s4dInitA('rand', 16, new Generator(9)), b = s4dInitA('rand', 16, new Generator(9)), c = s4dInitA('rand', 16, new Generator(10))
  assert.ok(a.re.every((r) => r === -0.5) && a.im.every((w) => w > 0))
  assert.equal(Array.from(a.im), Array.from(b.im))
  assert.not.equal(Array.from(a.im), Array.from(c.im))
  const g = new Generator(9)
  assertClose(a.im, Array.from({ length: 16 }, () => Math.exp(g.nextNormal())), { atol: 0, rtol: 0 })
  // log-normal: the log of many draws has mean ≈ 0, std ≈ 1
  const logs = Array.from(s4dInitA('rand', 4000, new Generator(11)).im, Math.log)
  const mean = logs.reduce((x, y) => x + y, 0) / logs.length, sd = Math.sqrt(logs.reduce((x, y) => x + (y - mean) ** 2, 0) / logs.length)
  assert.ok(Math.abs(mean) < 0.06 && Math.abs(sd - 1) < 0.05, `mean ${mean} sd ${sd}`)
  const m1 = new S4D(3, { dState: 8, init: 'rand', dtype: 'float64', generator: new Generator(4) })
  const m2 = new S4D(3, { dState: 8, init: 'rand', dtype: 'float64', generator: new Generator(4) })
  assertClose(m1.AImag, m2.AImag, { atol: 0, rtol: 0 })
  assertClose(m1.logAReal, new Array(3).fill(new Array(4).fill(Math.log(0.5))), { atol: 1e-15 })
  const im = Array.from(m1.AImag.data())
  assert.not.equal(im.slice(0, 4), im.slice(4, 8), 'each channel draws its own row')
  assertThrows(() => s4dInitA('rand', 4), /'rand' needs a random source/)
  assertThrows(() => s4dInitA('nope' as 'lin', 4), /unknown init 'nope'/)
  assertThrows(() => new S4D(2, { init: 'hippo' as 'lin' }), /S4D: init must be one of/)
})

test('kernel from ops equals the raw Vandermonde kernel (zoh, bilinear; every init)', () => {
  for (const disc of ['zoh', 'bilinear'] as const) {
    for (const init of ['lin', 'inv', 'real', 'legs', 'rand'] as const) {
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
    for (const init of ['lin', 'inv', 'real', 'legs', 'rand'] as const) {
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

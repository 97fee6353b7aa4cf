/** @file LAMB and LARS semantics from sheet 29: hand-computed steps, trust ratio, zero norms, exclusions. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { optim, tensor, zeros, type Tensor } from '../../src/index.ts'
import { assertClose } from '../helpers.ts'

const f64 = (x: number[] | number[][]): Tensor => tensor(x, { dtype: 'float64' }).requiresGrad_()
const norm = (x: ArrayLike<number>): number => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0))
const delta = (after: Tensor, before: number[]): number[] => Array.from(after.data()).map((v, i) => v - before[i])

test('LAMB: a hand-computed two-tensor step (t = 1: u = g/(|g|+ε) elementwise, plus λw)', () => {
  const W = f64([[3, 4]]), b = f64([0.5, -0.5])
  const opt = new optim.LAMB([['fc.weight', W], ['fc.bias', b]], { lr: 0.1, weightDecay: 0.01, eps: 1e-6 })
  W.grad = tensor([[1, -2]], { dtype: 'float64' })
  b.grad = tensor([0.1, 0.2], { dtype: 'float64' })
  opt.step()
  // fc.weight: u = g/(|g|+ε) + λw, r = ‖w‖/‖u‖ = 5/‖u‖, w ← w − lr r u
  const u = [1 / (1 + 1e-6) + 0.01 * 3, -2 / (2 + 1e-6) + 0.01 * 4]
  const r = 5 / Math.hypot(u[0], u[1])
  assertClose(W, [[3 - 0.1 * r * u[0], 4 - 0.1 * r * u[1]]], { atol: 1e-7, rtol: 0 })
  // fc.bias is excluded by default (1-D, name ends in 'bias'): no decay, r = 1
  assertClose(b, [0.5 - 0.1 * 0.1 / (0.1 + 1e-6), -0.5 - 0.1 * 0.2 / (0.2 + 1e-6)], { atol: 1e-7, rtol: 0 })
  // the numbers themselves, for the record
  assertClose(W, [[2.63423635, 4.34090608]], { atol: 1e-7, rtol: 0 })
})

test('LAMB: with λ = 0 every step moves a tensor by exactly lr·‖w‖, and scaling the loss changes nothing', () => {
  const grads = [[[0.3, -1.2], [2, 0.01]], [[-0.5, 0.4], [1, 1]], [[2, 2], [-3, 0.5]]]
  const run = (scale: number, eps: number): number[][] => {
    const W = f64([[1, -2], [0.5, 3]])
    const opt = new optim.LAMB([['w', W]], { lr: 0.05, eps })
    const out: number[][] = []
    for (const g of grads) {
      const before = Array.from(W.data())
      W.grad = tensor(g, { dtype: 'float64' }).mul(scale)
      opt.step()
      const d = delta(W, before)
      assert.ok(Math.abs(norm(d) - 0.05 * norm(before)) < 1e-12, `‖Δw‖ ${norm(d)} vs lr‖w‖ ${0.05 * norm(before)}`)
      out.push(d)
    }
    return out
  }
  const base = run(1, 1e-6)
  run(1000, 1e-6).forEach((d, s) => assertClose(d, base[s], { rtol: 2e-4, atol: 0, msg: `×1000 (up to ε/|g| ≤ 1e-4), step ${s}` }))
  const exact = run(1, 0)
  run(1000, 0).forEach((d, s) => assertClose(d, exact[s], { rtol: 1e-12, atol: 0, msg: `ε = 0, step ${s}` }))
})

test('LAMB: a zero-initialised tensor gets ratio 1 (no division by zero) and still moves', () => {
  const b = zeros([3], { dtype: 'float64' }).requiresGrad_()
  const opt = new optim.LAMB([['b', b]], { lr: 0.1, excludeFromWeightDecay: () => false })
  b.grad = tensor([1, -2, 3], { dtype: 'float64' })
  opt.step()
  assertClose(b, [-0.1 / (1 + 1e-6), 0.2 / (2 + 1e-6), -0.3 / (3 + 1e-6)], { atol: 1e-12, rtol: 0 })
  // a zero update (zero gradient, no decay) leaves the weights alone instead of producing NaN
  const W = f64([[1, 2]])
  const opt2 = new optim.LAMB([['W', W]], { lr: 0.1 })
  W.grad = zeros([1, 2], { dtype: 'float64' })
  opt2.step()
  assertClose(W, [[1, 2]], { atol: 0, rtol: 0 })
})

test('LAMB: names matching the exclusion get no decay and ratio 1; the rules can differ', () => {
  const mk = () => ({ ln: f64([[1, 2], [3, 4]]), head: f64([[1, 2], [3, 4]]) })
  const g = [[0.5, -1], [0.25, 2]]
  const stepOnce = (opts: Partial<optim.LAMBOptions> & optim.LAMBRules): { ln: number[]; head: number[] } => {
    const p = mk()
    const opt = new optim.LAMB([['encoder.LayerNorm.weight', p.ln], ['head.weight', p.head]], { lr: 0.1, weightDecay: 0.1, eps: 0, ...opts })
    p.ln.grad = tensor(g, { dtype: 'float64' })
    p.head.grad = tensor(g, { dtype: 'float64' })
    opt.step()
    return { ln: delta(p.ln, [1, 2, 3, 4]), head: delta(p.head, [1, 2, 3, 4]) }
  }
  const sign = g.flat().map(Math.sign) // u without decay at t = 1 (ε = 0)
  const withDecay = sign.map((s, i) => s + 0.1 * [1, 2, 3, 4][i])
  const adapted = (u: number[]) => u.map((x) => -0.1 * norm([1, 2, 3, 4]) / norm(u) * x)
  for (const rule of [undefined, /LayerNorm/, (name: string) => name.includes('LayerNorm')]) {
    const d = stepOnce({ excludeFromWeightDecay: rule })
    assertClose(d.ln, sign.map((s) => -0.1 * s), { atol: 1e-12, msg: `excluded, rule ${rule}` })
    assertClose(d.head, adapted(withDecay), { atol: 1e-12, msg: `not excluded, rule ${rule}` })
  }
  // decay excluded, adaptation kept
  const d = stepOnce({ excludeFromWeightDecay: /LayerNorm/, excludeFromLayerAdaptation: () => false })
  assertClose(d.ln, adapted(sign), { atol: 1e-12 })
})

test('LAMB: trustClip bounds ‖w‖ in the ratio (φ of Algorithm 2)', () => {
  const W = f64([[3, 4]])
  const opt = new optim.LAMB([['W', W]], { lr: 0.1, trustClip: [0, 2] })
  W.grad = tensor([[1, 1]], { dtype: 'float64' })
  opt.step()
  assert.ok(Math.abs(norm(delta(W, [3, 4])) - 0.1 * 2) < 1e-12)
})

test('defaultExclude: 1-D tensors, biases and normalization layers', () => {
  const m = zeros([2, 2])
  for (const n of ['fc.bias', 'layers.0.norm1.weight', 'encoder.LayerNorm.weight', 'bn1.weight', 'blocks.3.ln_f.weight', 'ln.weight']) {
    assert.ok(optim.defaultExclude(n, m), n)
  }
  for (const n of ['fc.weight', 'linear.weight', 'blocks.0.attn.proj.weight', '']) assert.not.ok(optim.defaultExclude(n, m), n)
  assert.ok(optim.defaultExclude('fc.weight', zeros([3])), 'any 1-D tensor')
})

test('LARS: first step size is lr·η·‖w‖·‖g+λw‖/(‖g‖+λ‖w‖)', () => {
  const w0 = [[1, -2, 0.5], [3, 0, -1]], g = [[0.2, 0.1, -0.4], [1, 0.5, 0]]
  const W = f64(w0)
  const [lr, eta, lam] = [0.5, 0.02, 0.1]
  const opt = new optim.LARS([['fc.weight', W]], { lr, trustCoef: eta, weightDecay: lam, momentum: 0.9 })
  W.grad = tensor(g, { dtype: 'float64' })
  opt.step()
  const wn = norm(w0.flat()), gn = norm(g.flat()), gwn = norm(g.flat().map((x, i) => x + lam * w0.flat()[i]))
  assert.ok(Math.abs(norm(delta(W, w0.flat())) - lr * eta * wn * gwn / (gn + lam * wn)) < 1e-14)
})

test('LARS: excluded and zero-norm tensors take plain momentum SGD steps (local lr 1, no decay)', () => {
  const b = f64([0.5, -1]), z = zeros([2, 2], { dtype: 'float64' }).requiresGrad_()
  const opt = new optim.LARS([['fc.bias', b], ['w', z]], { lr: 0.1, weightDecay: 0.5, momentum: 0.9 })
  for (let s = 0; s < 2; s++) {
    b.grad = tensor([1, 2], { dtype: 'float64' })
    z.grad = tensor([[1, 0], [0, 1]], { dtype: 'float64' })
    opt.step()
  }
  // buffer: 0.1 g, then 0.9·0.1 g + 0.1 g = 0.19 g; total displacement 0.29 g
  assertClose(b, [0.5 - 0.29, -1 - 0.58], { atol: 1e-12 })
  // z: first step ‖w‖ = 0 gives local lr 1 with decay 0.5·0 = 0; the second step is adapted
  const afterFirst = [-0.1, 0, 0, -0.1]
  const wn = norm(afterFirst), gn = norm([1, 0, 0, 1])
  const local = 0.001 * wn / (gn + 0.5 * wn)
  const expected = afterFirst.map((w, i) => w - (0.9 * -afterFirst[i] + 0.1 * local * ([1, 0, 0, 1][i] + 0.5 * w)))
  assertClose(z, expected, { atol: 1e-12 })
})

test.run()

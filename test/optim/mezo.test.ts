/** @file MeZO (sheet 46): the sheet's five proofs, determinism, convergence, non-differentiable objectives, errors. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { optim, nn, tensor, randn, isGradEnabled, Generator, type Tensor } from '../../src/index.ts'
import * as memory from '../../src/memory.ts'
import { MeZO, normalStream, type ZPass } from '../../src/optim/mezo.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const f64 = (x: number[] | number[][]): Tensor => tensor(x, { dtype: 'float64' }).requiresGrad_()
const halfSq = (t: Tensor): number => { let s = 0; for (const v of t.storage) s += v * v; return s / 2 }

test('MeZO: exactly two closure calls per step, under noGrad, and no gradient buffers or storage allocated', () => {
  const w = randn([5, 3], { generator: new Generator(1) }).requiresGrad_()
  const opt = new MeZO([w], { lr: 0.01, seed: 3 })
  let calls = 0
  const closure = (): number => { calls++; assert.is(isGradEnabled(), false); return halfSq(w) }
  const m = memory.measure(() => opt.step(closure))
  assert.is(calls, 2)
  assert.is(w.grad, null)
  assert.is(m.allocatedBytes, 0, 'the optimizer allocates no tensor storage (z is never stored)')
  assert.is(opt.state.size, 0)
  assert.ok(!Object.values(opt).some((v) => v && typeof v === 'object' && 'storage' in v), 'no tensor held by the optimizer')
  // a closure that builds a graph gets none: its output does not require grad
  const loss = opt.step(() => { const l = w.square().sum(); assert.is(l.requiresGrad, false); return l })
  assert.type(loss.projectedGrad, 'number')
})

test('MeZO: with lr = 0 a step restores the parameters (float32 within 1e-6 relative, float64 within 1e-15)', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    const w = randn([64], { generator: new Generator(2), dtype }).requiresGrad_()
    const before = Array.from(w.storage)
    const opt = new MeZO([w], { lr: 0, eps: 1e-3, seed: 9 })
    for (let i = 0; i < 5; i++) opt.step(() => halfSq(w))
    const tol = dtype === 'float32' ? 1e-6 : 1e-15
    Array.from(w.storage).forEach((v, i) => assert.ok(Math.abs(v - before[i]) <= tol * Math.max(1, Math.abs(before[i])), `${dtype} [${i}] ${v} vs ${before[i]}`))
  }
})

test('MeZO: the z of the update equals the z of the +ε, −2ε and restore passes (debug hook), and matches normalStream(seed)', () => {
  const a = f64([[0.1, 0.2], [0.3, 0.4]]), b = f64([1, 2, 3])
  const seen: Record<ZPass, number[]> = { plus: [], minus: [], restore: [], update: [] }
  const opt = new MeZO([a, b], { lr: 0.1, seed: 5, onZ: (pass, _p, _e, z) => seen[pass].push(z) })
  const { seed } = opt.step(() => halfSq(a) + halfSq(b))
  assert.is(seen.plus.length, 7)
  assert.equal(seen.minus, seen.plus)
  assert.equal(seen.restore, seen.plus)
  assert.equal(seen.update, seen.plus)
  const z = normalStream(seed)
  assert.equal(seen.plus, Array.from({ length: 7 }, z))
})

test('MeZO: on L = ½‖θ‖² the mean of g·z over many seeds approaches ∇L = θ (unbiased)', () => {
  const theta = [1, -2, 0.5, 3]
  const w = f64(theta)
  const N = 20000
  const sum = [0, 0, 0, 0]
  let zs: number[] = []
  const opt = new MeZO([w], { lr: 0, eps: 1e-3, seed: 11, onZ: (pass, _p, _e, z) => { if (pass === 'update') zs.push(z) } })
  for (let n = 0; n < N; n++) {
    zs = []
    const { projectedGrad: g } = opt.step(() => halfSq(w))
    zs.forEach((z, i) => { sum[i] += g * z })
  }
  assertClose(sum.map((s) => s / N), theta, { atol: 0.15, rtol: 0 })
})

test('MeZO: weight decay is skipped for names matching bias/LayerNorm (default rule) and applied elsewhere', () => {
  const W = f64([[2, -4]]), bias = f64([2]), ln = f64([2]), lnw = f64([2])
  const opt = new MeZO([['fc.weight', W], ['fc.bias', bias], ['encoder.LayerNorm.weight', ln], ['ln.layer_norm.weight', lnw]], { lr: 0.1, weightDecay: 0.5, seed: 1 })
  const r = opt.step(() => 7) // constant objective: g = 0, so only decay moves θ
  assert.is(r.projectedGrad, 0)
  assertClose(W, [[2 * (1 - 0.05), -4 * (1 - 0.05)]], { atol: 1e-12, rtol: 0 })
  assertClose(bias, [2], { atol: 1e-12, rtol: 0 })
  assertClose(ln, [2], { atol: 1e-12, rtol: 0 })
  assertClose(lnw, [2], { atol: 1e-12, rtol: 0 })
})

test('MeZO: same seed, same trajectory bit for bit; another seed differs', () => {
  const run = (seed: number): number[] => {
    const w = randn([10], { generator: new Generator(4) }).requiresGrad_()
    const opt = new MeZO([w], { lr: 0.05, seed })
    for (let i = 0; i < 20; i++) opt.step(() => halfSq(w))
    return Array.from(w.storage)
  }
  assert.equal(run(7), run(7))
  assert.not.equal(run(7), run(8))
})

test('MeZO: stateDict/loadStateDict carry the seed stream, so a resumed run continues bit for bit', () => {
  const w = randn([6], { generator: new Generator(4) })
  const opt = new MeZO([w], { lr: 0.05, seed: 21 })
  for (let i = 0; i < 10; i++) opt.step(() => halfSq(w))
  const sd = opt.stateDict()
  const w2 = w.clone()
  for (let i = 0; i < 10; i++) opt.step(() => halfSq(w))
  const opt2 = new MeZO([w2], { lr: 1, seed: 0 })
  opt2.loadStateDict(sd)
  assert.is(opt2.stepCount, 10)
  assert.is(opt2.paramGroups[0].lr, 0.05)
  for (let i = 0; i < 10; i++) opt2.step(() => halfSq(w2))
  assert.equal(Array.from(w2.storage), Array.from(w.storage))
})

test('MeZO: only the listed subset moves, and MeZO fits a small linear regression', () => {
  const gen = new Generator(0)
  const X = randn([64, 4], { generator: gen })
  const trueW = tensor([[1, -2, 0.5, 3]])
  const Y = X.matmul(trueW.T)
  const fc = new nn.Linear(4, 1, { generator: gen })
  const other = randn([3], { generator: gen })
  const otherBefore = Array.from(other.storage)
  const mse = (): number => fc.forward(X).sub(Y).square().mean().item()
  const start = mse()
  const opt = new MeZO(fc.namedParameters(), { lr: 0.02, eps: 1e-3, seed: 2 })
  for (let i = 0; i < 1500; i++) opt.step(mse)
  const end = mse()
  assert.ok(end < 0.01 * start, `loss ${start} -> ${end}`)
  assert.equal(Array.from(other.storage), otherBefore)
})

test('MeZO: optimizes a non-differentiable objective (0-1 error of a linear classifier)', () => {
  const gen = new Generator(3)
  const X = randn([200, 2], { generator: gen })
  const labels = Array.from({ length: 200 }, (_, i) => (X.storage[2 * i] - X.storage[2 * i + 1] > 0 ? 1 : 0))
  const w = tensor([-1, 1], { dtype: 'float64' }) // starts as the worst classifier
  const errorRate = (): number => {
    let wrong = 0
    for (let i = 0; i < 200; i++) if ((w.storage[0] * X.storage[2 * i] + w.storage[1] * X.storage[2 * i + 1] > 0 ? 1 : 0) !== labels[i]) wrong++
    return wrong / 200
  }
  const start = errorRate()
  const opt = new MeZO([w], { lr: 0.5, eps: 0.3, seed: 1 })
  for (let i = 0; i < 400; i++) opt.step(errorRate)
  assert.ok(start > 0.9 && errorRate() < 0.1, `error ${start} -> ${errorRate()}`)
})

test('MeZO: works with LR schedulers; a throwing closure or non-finite loss leaves θ restored', () => {
  const w = f64([1, 2, 3])
  const opt = new MeZO([w], { lr: 0.1 })
  const sched = new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 })
  opt.step(() => halfSq(w)); sched.step()
  assert.is(opt.paramGroups[0].lr, 0.05)
  const before = Array.from(w.storage)
  let n = 0
  assert.throws(() => opt.step(() => { if (++n === 2) throw new Error('boom'); return halfSq(w) }), /boom/)
  assertClose(w, before, { atol: 1e-15, rtol: 0 })
  assertThrows(() => opt.step(() => NaN), /non-finite loss/)
  assertClose(w, before, { atol: 1e-15, rtol: 0 })
})

test('MeZO: clear errors', () => {
  const w = f64([1])
  assertThrows(() => new MeZO([w], { lr: 0.1, eps: 0 }), /eps must be a finite number > 0/)
  assertThrows(() => new MeZO([w], { lr: -1 }), /invalid lr/)
  assertThrows(() => (new MeZO([w], { lr: 0.1 }) as unknown as { step: () => void }).step(), /needs a closure/)
  assertThrows(() => new MeZO([w], { lr: 0.1 }).step(() => 'x' as unknown as number), /must return a number/)
})

test.run()

/** @file Optimizer trajectories against test/fixtures/optim.json (PyTorch 1.13; LAMB/LARS float64 references), and convergence. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, optim, randn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose } from '../helpers.ts'
import { caseName, fx, replay } from './fixture.ts'

function compare(actual: number[][][], expected: number[][][], tol: { rtol: number; atol: number }, msg: string): void {
  expected.forEach((step, s) => step.forEach((p, i) => assertClose(actual[s][i], p, { ...tol, msg: `${msg} step ${s + 1} param ${i}` })))
}

for (const c of fx.optimizers) {
  test(`${caseName(c)}: float64 trajectory matches the reference`, () => {
    compare(replay(c, 'float64'), c.trajectories.float64, { rtol: 1e-10, atol: 1e-12 }, caseName(c))
  })
  test(`${caseName(c)}: float32 trajectory matches ${c.trajectories.float32 ? 'torch float32' : 'the float64 reference'}`, () => {
    compare(replay(c, 'float32'), c.trajectories.float32 ?? c.trajectories.float64, { rtol: 2e-6, atol: 1e-6 }, caseName(c))
  })
}

test('every optimizer and option family is covered by the fixture', () => {
  const names = new Set(fx.optimizers.map((c) => c.optimizer))
  for (const n of ['SGD', 'Adam', 'AdamW', 'Adagrad', 'RMSprop', 'LAMB', 'LARS']) assert.ok(names.has(n as never), n)
  assert.ok(fx.optimizers.some((c) => c.groups), 'a parameter-group case')
  assert.match(fx.generator, /torch 1\.13/)
})

test('parameter groups keep their own hyperparameters, which can be changed between steps', () => {
  const model = new nn.Linear(3, 2, { generator: new Generator(0) })
  const opt = new optim.SGD([{ params: [model.weight] }, { params: [model.bias!], lr: 0.5, weightDecay: 0.1 }], { lr: 0.1 })
  assert.equal(opt.paramGroups.map((g) => [g.lr, g.weightDecay, g.momentum]), [[0.1, 0, 0], [0.5, 0.1, 0]])
  const w0 = Array.from(model.weight.data()), b0 = Array.from(model.bias!.data())
  model.weight.grad = tensor([[1, 1, 1], [1, 1, 1]])
  model.bias!.grad = tensor([1, 1])
  opt.paramGroups[0].lr = 0.2
  opt.step()
  assertClose(model.weight, w0.map((w) => w - 0.2))
  assertClose(model.bias!, b0.map((b) => b - 0.5 * (1 + 0.1 * b)))
})

test('namedParameters keeps names in the group; bare tensors get empty names', () => {
  const model = new nn.Linear(3, 2, { generator: new Generator(0) })
  assert.equal(new optim.AdamW(model.namedParameters()).paramGroups[0].paramNames, ['weight', 'bias'])
  assert.equal(new optim.AdamW(model.parameters()).paramGroups[0].paramNames, ['', ''])
})

test('parameters without a gradient are skipped and get no state', () => {
  const a = randn([3]).requiresGrad_(), b = randn([2]).requiresGrad_()
  const b0 = Array.from(b.data())
  const opt = new optim.Adam([a, b], { lr: 0.1 })
  a.grad = tensor([1, 2, 3])
  opt.step()
  assert.equal(Array.from(b.data()), b0)
  assert.ok(opt.state.has(a) && !opt.state.has(b))
})

test('updates are in place: views and modules see the new values, and the version bumps', () => {
  const model = new nn.Linear(2, 1, { generator: new Generator(3) })
  const view = model.weight.reshape([2])
  const before = model.weight.version
  const opt = new optim.SGD(model.parameters(), { lr: 1 })
  model.weight.grad = tensor([[1, 2]])
  const w0 = Array.from(model.weight.data())
  opt.step()
  assertClose(view, [w0[0] - 1, w0[1] - 2])
  assert.ok(model.weight.version > before)
})

test('zeroGrad sets grads to null, or zeroes them in place', () => {
  const p = randn([2]).requiresGrad_()
  const opt = new optim.SGD([p], { lr: 0.1 })
  p.grad = tensor([1, 2])
  const g = p.grad
  opt.zeroGrad(false)
  assert.is(p.grad, g)
  assert.equal(Array.from(g.data()), [0, 0])
  opt.zeroGrad()
  assert.is(p.grad, null)
})

test('step(closure) evaluates the closure with grad on and returns its value', () => {
  const p = tensor([3, -2]).requiresGrad_()
  const opt = new optim.SGD([p], { lr: 0.25 })
  const loss = opt.step(() => { opt.zeroGrad(); const l = p.mul(p).sum(); l.backward(); return l.item() })
  assert.is(loss, 13)
  assertClose(p, [1.5, -1])
})

/** f(w) = Σ a_i (w_i − c_i)², minimum at c. */
function quadratic(w: Tensor): Tensor {
  return w.sub(tensor([1, -2, 0.5, 3])).square().mul(tensor([1, 10, 0.1, 3])).sum()
}

test('convergence: Adam reaches the minimum of an ill-conditioned quadratic', () => {
  const w = tensor([0, 0, 0, 0]).requiresGrad_()
  const opt = new optim.Adam([w], { lr: 0.05 })
  const sched = new optim.ExponentialLR(opt, { gamma: 0.995 })
  for (let i = 0; i < 1500; i++) {
    opt.zeroGrad()
    quadratic(w).backward()
    opt.step()
    sched.step()
  }
  assertClose(w, [1, -2, 0.5, 3], { atol: 1e-3, rtol: 0 })
  assert.ok(quadratic(w).item() < 1e-6)
})

test('convergence: every optimizer decreases the quadratic', () => {
  const make: [string, (p: Tensor[]) => optim.Optimizer][] = [
    ['SGD', (p) => new optim.SGD(p, { lr: 0.02, momentum: 0.9, nesterov: true })],
    ['AdamW', (p) => new optim.AdamW(p, { lr: 0.05, amsgrad: true })],
    ['Adagrad', (p) => new optim.Adagrad(p, { lr: 0.5 })],
    ['RMSprop', (p) => new optim.RMSprop(p, { lr: 0.01, centered: true })],
    ['LAMB', (p) => new optim.LAMB(p, { lr: 0.05, excludeFromWeightDecay: () => false })],
    ['LARS', (p) => new optim.LARS(p, { lr: 5, trustCoef: 0.01, momentum: 0.5, excludeFromWeightDecay: () => false })],
  ]
  for (const [name, mk] of make) {
    const w = tensor([0.5, 0.5, 0.5, 0.5]).requiresGrad_()
    const opt = mk([w])
    const start = quadratic(w).item()
    for (let i = 0; i < 200; i++) { opt.zeroGrad(); quadratic(w).backward(); opt.step() }
    assert.ok(quadratic(w).item() < 0.2 * start, `${name}: ${start} -> ${quadratic(w).item()}`)
  }
})

test.run()

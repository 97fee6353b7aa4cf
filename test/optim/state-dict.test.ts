/** @file Optimizer state dicts: torch's layout in camelCase, and save/load giving bit-identical continued training. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { optim, Tensor, tensor } from '../../src/index.ts'
import { assertThrows } from '../helpers.ts'
import { flat, fx, makeOptimizer, makeParams, setGrads, type OptimizerCase } from './fixture.ts'

const CASES: OptimizerCase[] = [
  { optimizer: 'SGD', options: { lr: 0.1, momentum: 0.9, nesterov: true }, trajectories: { float64: [] } },
  { optimizer: 'Adam', options: { lr: 0.01, amsgrad: true, weightDecay: 0.1 }, trajectories: { float64: [] } },
  { optimizer: 'AdamW', options: { lr: 0.01 }, groups: [{ params: [0, 2], options: { lr: 0.03 } }, { params: [1], options: { weightDecay: 0 } }], trajectories: { float64: [] } },
  { optimizer: 'Adagrad', options: { lr: 0.1, lrDecay: 0.01 }, trajectories: { float64: [] } },
  { optimizer: 'RMSprop', options: { lr: 0.01, momentum: 0.9, centered: true }, trajectories: { float64: [] } },
  { optimizer: 'LAMB', options: { lr: 0.02, weightDecay: 0.1 }, trajectories: { float64: [] } },
  { optimizer: 'LARS', options: { lr: 0.5, weightDecay: 0.01 }, trajectories: { float64: [] } },
]

function train(opt: optim.Optimizer, params: Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    setGrads(params, s)
    opt.step()
    opt.paramGroups[0].lr *= 0.9 // a scheduler-like change that the state dict must carry
  }
}

for (const c of CASES) {
  test(`${c.optimizer}: 3 steps, save, load into a new optimizer, 3 more steps == 6 straight steps, bit for bit`, () => {
    const straight = makeParams('float32')
    const straightOpt = makeOptimizer(c, straight)
    train(straightOpt, straight.map(([, p]) => p), 0, 6)

    const first = makeParams('float32')
    const firstOpt = makeOptimizer(c, first)
    train(firstOpt, first.map(([, p]) => p), 0, 3)
    const sd = firstOpt.stateDict()
    const saved = first.map(([, p]) => Array.from(p.data()))
    train(firstOpt, first.map(([, p]) => p), 3, 4) // stepping on after saving must not change the snapshot

    const resumed: [string, Tensor][] = first.map(([n], i) => [n, flat('float32', saved[i], fx.params.shapes[i]).requiresGrad_()])
    const resumedOpt = makeOptimizer(c, resumed)
    resumedOpt.loadStateDict(sd)
    train(resumedOpt, resumed.map(([, p]) => p), 3, 6)
    straight.forEach(([name, p], i) => assert.equal(Array.from(resumed[i][1].data()), Array.from(p.data()), name))
    assert.equal(resumedOpt.paramGroups.map((g) => g.lr), straightOpt.paramGroups.map((g) => g.lr))
  })
}

test("the layout is torch's: state by index, groups with hyperparameters and param indices", () => {
  const named = makeParams('float32')
  const opt = new optim.Adam([{ params: [named[0]] }, { params: [named[1], named[2]], lr: 0.5 }], { lr: 0.01 })
  setGrads(named.map(([, p]) => p), 2) // param 1 has no gradient at this step
  opt.step()
  const sd = opt.stateDict()
  assert.equal(Object.keys(sd.state).map(Number), [0, 2])
  assert.equal(Object.keys(sd.state[0]).sort(), ['expAvg', 'expAvgSq', 'step'])
  assert.is(sd.state[0].step, 1)
  assert.ok(sd.state[2].expAvg instanceof Tensor)
  assert.equal(sd.paramGroups, [
    { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [0] },
    { lr: 0.5, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, params: [1, 2] },
  ])
  sd.paramGroups[0].betas = [0.5, 0.5]
  assert.equal(opt.paramGroups[0].betas, [0.9, 0.999], 'the dict does not alias the groups')
})

test('loading a mismatched state dict throws and leaves the optimizer unchanged', () => {
  const a = tensor([1, 2]).requiresGrad_(), b = tensor([[1, 2, 3]]).requiresGrad_()
  const opt = new optim.SGD([a, b], { lr: 0.1, momentum: 0.9 })
  a.grad = tensor([1, 1]); b.grad = tensor([[1, 1, 1]])
  opt.step()
  const sd = opt.stateDict()
  const two = new optim.SGD([{ params: [a] }, { params: [b] }], { lr: 0.1, momentum: 0.9 })
  assertThrows(() => two.loadStateDict(sd), /1 parameter groups, the optimizer has 2/)
  const one = new optim.SGD([a], { lr: 0.1, momentum: 0.9 })
  assertThrows(() => one.loadStateDict(sd), /group 0 has 2 parameters in the state dict, 1 in the optimizer/)
  const swapped = new optim.SGD([b, a], { lr: 0.3, momentum: 0.9 })
  assertThrows(() => swapped.loadStateDict(sd), /state 'momentumBuffer' of parameter 0 has shape \[2\], the parameter has \[1,3\]/)
  assert.is(swapped.paramGroups[0].lr, 0.3)
  assert.is(swapped.state.size, 0)
  assertThrows(() => opt.loadStateDict({ state: {}, paramGroups: [{ params: [0, 1], lr: -1 }] }), /invalid lr -1/)
  assert.is(opt.paramGroups[0].lr, 0.1)
  assertThrows(() => new optim.Adam([a, b]).loadStateDict(sd), /the state of parameter 0 lacks 'step' \(was it saved by another kind of optimizer\?\)/)
  assert.is(opt.state.size, 2)
})

test('loading casts state to the parameter dtype', () => {
  const p32 = tensor([1, 2]).requiresGrad_()
  const opt32 = new optim.Adam([p32])
  p32.grad = tensor([0.5, -0.5])
  opt32.step()
  const p64 = tensor([1, 2], { dtype: 'float64' }).requiresGrad_()
  const opt64 = new optim.Adam([p64])
  opt64.loadStateDict(opt32.stateDict())
  assert.is((opt64.state.get(p64)!.expAvg as Tensor).dtype, 'float64')
})

test.run()

/** @file LR schedulers against torch.optim.lr_scheduler step by step (test/fixtures/optim.json). */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { optim, zeros } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fx } from './fixture.ts'

/** SGD (momentum 0.9) or Adam with two groups at lr 0.1 and 0.01, like the fixture script. */
function twoGroups(kind: 'SGD' | 'Adam'): optim.AnyOptimizer {
  const groups = [{ params: [zeros([2]).requiresGrad_()], lr: 0.1 }, { params: [zeros([3]).requiresGrad_()], lr: 0.01 }]
  return kind === 'SGD' ? new optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new optim.Adam(groups)
}

type Ctor = new (o: optim.AnyOptimizer, opts: never) => optim.LRScheduler
const SCHEDULERS: Record<string, Ctor> = {
  StepLR: optim.StepLR, MultiStepLR: optim.MultiStepLR, ExponentialLR: optim.ExponentialLR,
  CosineAnnealingLR: optim.CosineAnnealingLR, OneCycleLR: optim.OneCycleLR, WarmupDecayLR: optim.WarmupDecayLR,
}

function momenta(opt: optim.AnyOptimizer): number[] {
  return opt.paramGroups.map((g) => {
    const h = g as unknown as { betas?: number[]; momentum?: number }
    return h.betas ? h.betas[0] : h.momentum!
  })
}

for (const c of fx.schedulers) {
  test(`${c.scheduler} ${JSON.stringify(c.options)} on ${c.optimizer}: lr (and momentum) match torch for 30 steps`, () => {
    const opt = twoGroups(c.optimizer)
    const sched = new SCHEDULERS[c.scheduler](opt, c.options as never)
    c.lrs.forEach((expected, t) => {
      if (t > 0) { opt.step(); sched.step() }
      assertClose(sched.getLastLr(), expected, { rtol: 1e-12, atol: 1e-15, msg: `lr at step ${t}` })
      assertClose(opt.paramGroups.map((g) => g.lr), expected, { rtol: 1e-12, atol: 1e-15, msg: `group lr at step ${t}` })
      assertClose(momenta(opt), c.momentum[t], { rtol: 1e-12, atol: 1e-15, msg: `momentum at step ${t}` })
    })
  })
}

test('every scheduler is covered by the fixture', () => {
  for (const name of Object.keys(SCHEDULERS)) assert.ok(fx.schedulers.some((c) => c.scheduler === name), name)
})

test('a scheduler state dict resumes the schedule', () => {
  const opt = twoGroups('SGD')
  const sched = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 20 })
  for (let i = 0; i < 7; i++) sched.step()
  const sd = sched.stateDict()
  const straight: number[][] = []
  for (let i = 0; i < 5; i++) { sched.step(); straight.push(sched.getLastLr()) }
  const opt2 = twoGroups('SGD')
  const resumed = new optim.OneCycleLR(opt2, { maxLr: 1, totalSteps: 20 })
  resumed.loadStateDict(sd)
  for (let i = 0; i < 5; i++) { resumed.step(); assert.equal(resumed.getLastLr(), straight[i]) }
})

test('warmupPoly and warmupCosine: linear warmup from 0, then decay', () => {
  const opt = twoGroups('SGD')
  const sched = optim.warmupPoly(opt, { warmupSteps: 4, totalSteps: 10 })
  const lrs = [sched.getLastLr()[0]]
  for (let i = 0; i < 11; i++) { sched.step(); lrs.push(sched.getLastLr()[0]) }
  assertClose(lrs, [0, 0.025, 0.05, 0.075, 0.1, 0.1 * 5 / 6, 0.1 * 4 / 6, 0.05, 0.1 * 2 / 6, 0.1 / 6, 0, 0], { atol: 1e-15 })
  const cos = optim.warmupCosine(twoGroups('SGD'), { warmupSteps: 0, totalSteps: 2, minLrRatio: 0.5 })
  cos.step()
  assertClose(cos.getLastLr(), [0.075, 0.0075], { atol: 1e-15 })
})

test('scheduler errors', () => {
  assertThrows(() => new optim.StepLR(twoGroups('SGD'), { stepSize: 0 }), /stepSize must be a positive integer/)
  assertThrows(() => new optim.CosineAnnealingLR(twoGroups('SGD'), { tMax: 1.5 }), /tMax must be a positive integer/)
  assertThrows(() => new optim.WarmupDecayLR(twoGroups('SGD'), { warmupSteps: 10, totalSteps: 10 }), /totalSteps must be an integer > warmupSteps/)
  assertThrows(() => new optim.OneCycleLR(twoGroups('SGD'), { maxLr: 1 }), /give totalSteps, or epochs and stepsPerEpoch/)
  assertThrows(() => new optim.OneCycleLR(twoGroups('SGD'), { maxLr: [1, 2, 3], totalSteps: 5 }), /expected 2 values for maxLr/)
  const p = zeros([1]).requiresGrad_()
  assertThrows(() => new optim.OneCycleLR(new optim.Adagrad([p]), { maxLr: 1, totalSteps: 5 }), /must have momentum or betas/)
  const sched = new optim.OneCycleLR(twoGroups('SGD'), { maxLr: 1, totalSteps: 2 })
  sched.step(); sched.step()
  assertThrows(() => sched.step(), /tried to step 4 times; the schedule has 2 total steps/)
})

test.run()

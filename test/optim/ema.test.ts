/**
 * @file optim.EMA (src/optim/ema.ts): the update ema ← d·ema + (1 − d)·θ against a hand recursion,
 * convergence to a constant θ at rate dᵗ, TF's warm-up decay, buffers averaged and integer buffers
 * copied, and swapping the averaged weights in and out (withAveraged / store / restore).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, noGrad, randn, tensor } from '../../src/index.ts'
import { EMA } from '../../src/optim/ema.ts'

const g = new Generator(7)

test('update: ema ← d·ema + (1 − d)·θ, step by step against a hand recursion', () => {
  const p = tensor([1, -2, 3], { dtype: 'float64' })
  const ema = new EMA([p], { decay: 0.9 })
  const ref = [1, -2, 3]
  const thetas = [[0, 0, 0], [2, 4, -1], [5, 5, 5]]
  for (const th of thetas) {
    noGrad(() => p.copy_(tensor(th, { dtype: 'float64' })))
    ema.update()
    for (let i = 0; i < 3; i++) ref[i] = 0.9 * ref[i] + 0.1 * th[i]
    const s = ema.shadows[0].toArray() as number[]
    s.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-14, `${v} vs ${ref[i]}`))
  }
  assert.is(ema.numUpdates, 3)
})

test('constant θ: ema → θ with error (θ − ema₀)·dᵗ', () => {
  const p = tensor([0, 0], { dtype: 'float64' })
  const ema = new EMA([p], { decay: 0.95 })
  noGrad(() => p.copy_(tensor([1, -4], { dtype: 'float64' })))
  for (let t = 0; t < 200; t++) ema.update()
  const s = ema.shadows[0].toArray() as number[]
  assert.ok(Math.abs(s[0] - (1 - 0.95 ** 200)) < 1e-12)
  assert.ok(Math.abs(s[1] + 4 * (1 - 0.95 ** 200)) < 1e-12)
  assert.ok(Math.abs(s[0] - 1) < 1e-4)
})

test('warm-up decay min(d, (1 + t)/(10 + t))', () => {
  const ema = new EMA([tensor([0])], { decay: 0.999, warmup: true })
  const seen: number[] = []
  for (let t = 0; t < 3; t++) { seen.push(ema.currentDecay()); ema.update() }
  assert.equal(seen, [1 / 10, 2 / 11, 3 / 12])
  assert.is(new EMA([tensor([0])], { decay: 0.5, warmup: true }).currentDecay(), 0.1)
})

test('module: parameters and float buffers averaged, int buffers copied; withAveraged swaps and restores', () => {
  const m = new nn.Sequential(new nn.Conv2d(1, 2, 3, { generator: g }), new nn.BatchNorm2d(2))
  const ema = new EMA(m, { decay: 0.5 })
  assert.is(ema.targets.length, 2 + 2 + 3) // conv w, b; bn w, b; running mean, var, num_batches_tracked
  const w0 = m.parameters()[0].clone()
  m.train()
  m.forward(randn([4, 1, 5, 5], { generator: g })) // moves the BN running stats and the counter
  noGrad(() => m.parameters()[0].add_(1))
  ema.update()
  const bn = m.at(1) as nn.BatchNorm2d
  const live = m.parameters()[0].clone()
  assert.ok(ema.shadows[0].sub(w0.add(0.5)).abs().amax().item() < 1e-6, 'weights averaged')
  const rm = ema.shadows[4].toArray() as number[], liveRm = bn.runningMean!.toArray() as number[]
  rm.forEach((v, i) => assert.ok(Math.abs(v - 0.5 * liveRm[i]) < 1e-7, 'running mean averaged (from 0)'))
  assert.is(ema.shadows[6].item(), 1, 'num_batches_tracked copied')
  const inside = ema.withAveraged(() => m.parameters()[0].clone())
  assert.ok(inside.sub(w0.add(0.5)).abs().amax().item() < 1e-6, 'averaged weights in place inside')
  assert.is(m.parameters()[0].sub(live).abs().amax().item(), 0, 'live weights restored')
  ema.store()
  assert.throws(() => ema.update(), /swapped in/)
  ema.restore()
  assert.throws(() => ema.restore(), /nothing stored/)
  assert.throws(() => new EMA([], { decay: 1.5 }), /decay must be in \[0, 1\]/)
})

test.run()

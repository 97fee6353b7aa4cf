/**
 * @file Sheet 65 mini-evolution (EvoNorm search, https://arxiv.org/abs/2004.02967) in quick mode: the
 * budget is spent exactly, the rejection counts add up and match the trace, rejected layers never enter
 * the population, the reported best is the best accepted candidate and re-trains to the same proxy
 * accuracy (the proxy is deterministic), and the baselines learn (BN-ReLU, B0, S0 above chance).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEvoNormSearch } from '../../examples/evonorm-search.ts'

test('evonorm-search quick: bookkeeping, determinism of the proxy, baselines learn', () => {
  const r = runEvoNormSearch({ quick: true, seed: 0 })
  const s = r.search
  assert.is(s.trace.length, r.candidates)
  const rejected = s.trace.filter((e) => e.status !== 'accepted')
  assert.is(s.rejected.quality + s.rejected.explode + s.rejected.nonfinite + s.rejected.invalid, rejected.length)
  assert.is(s.rejectedFraction, rejected.length / r.candidates)
  for (const e of s.trace) {
    if (e.status === 'quality') assert.ok(e.fitness![0] < r.minAccuracy, `${e.formula} rejected on quality at ${e.fitness}`)
    if (e.status === 'explode') assert.ok(e.gradNorm > 1e8)
    if (e.status === 'accepted') assert.ok(e.fitness![0] >= r.minAccuracy && e.gradNorm <= 1e8)
  }
  assert.ok(s.population.length <= r.popSize && s.population.every((e) => e.status === 'accepted'))
  assert.ok(s.best !== null, 'quick mode finds at least one acceptable layer')
  const best = r.comparisons.find((c) => c.name === 'best found')!
  assert.is(best.formula, s.best!.formula)
  assert.is(best.proxyAccuracy, s.best!.fitness![0], 'same proxy, same seed: identical accuracy')
  assert.is(best.proxyAccuracy, Math.max(...s.trace.filter((e) => e.status === 'accepted').map((e) => e.fitness![0])))
  for (const name of ['bn-relu (BatchNorm2d + ReLU)', 'evonorm-b0', 'evonorm-s0']) {
    const c = r.comparisons.find((a) => a.name === name)!
    assert.ok(c.proxyAccuracy > 0.25, `${name}: ${c.proxyAccuracy} above chance (0.1)`)
  }
})

test.run()

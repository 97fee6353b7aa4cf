/**
 * @file The Deep Model Assembling digits demo (sheet 52, https://arxiv.org/abs/2212.04129) in quick
 * mode: equal compute (end-to-end steps × MACs within half a step of PT + MT + FT), the measured MACs
 * per step ordered as the method implies (an end-to-end step costs an FT step; incubating stage 0
 * backpropagates through the frozen later stages and costs more than incubating the last one; the
 * meta model is cheaper than the target), accuracies in range, and the K incubations run on 2 worker
 * threads (train.runParallel + nodeSpawn) giving the bitwise same assembled weights as running them
 * one after another in this thread.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runModelAssemblingDigits } from '../../examples/model-assembling-digits.ts'

test('model-assembling-digits (quick): equal compute, MACs ordering, accuracies in range, parallel MT = sequential MT', async () => {
  const r = await runModelAssemblingDigits({ quick: true, seed: 0 })
  const m = r.macsPerStep
  assert.is(m.e2e, m.ft)
  assert.ok(Math.abs(r.totalMacs.e2e - r.totalMacs.assembled) <= m.e2e / 2, `${r.totalMacs.e2e} vs ${r.totalMacs.assembled}`)
  assert.is(r.totalMacs.assembled, r.steps.pt * m.pt + r.steps.mt * m.mt.reduce((a, b) => a + b, 0) + r.steps.ft * m.ft)
  assert.is(m.mt.length, 4)
  assert.ok(m.mt[0] > m.mt[3] && m.pt < m.ft, `${m.mt} ${m.pt} ${m.ft}`)
  const a = r.accuracy
  assert.is(a.hybrids.length, 4)
  for (const v of [a.meta, ...a.hybrids, a.assembledBeforeFT, a.assembled, a.e2eAtFTSteps, a.e2e]) assert.ok(v >= 0 && v <= 1)
  const inc = r.incubation
  assert.is(inc.threads, 2)
  assert.is(inc.seeds.length, 4)
  assert.is(new Set(inc.seeds).size, 4)
  assert.ok(inc.identical, 'assembled weights from worker threads and from in-process incubation differ')
  assert.ok(inc.parallelSeconds > 0 && inc.sequentialSeconds > 0)
})

test.run()

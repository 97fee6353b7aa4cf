/**
 * @file The EfficientFormer slimming demo's quick mode: the measured table covers the space, both
 * searched subnets meet their budgets in predicted (table) latency, are no larger than the largest
 * subnet, the tighter budget gives a config no slower than the looser one, every arm is a built,
 * trained EfficientFormer whose measured forward latency is real, and accuracies are valid fractions.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEfficientFormerSlimming } from '../../examples/efficientformer-slimming.ts'
import { latencyTableKeys } from '../../src/nn/arch/30-efficientformer-slimming.ts'

test('quick run: two budgets, subnets under budget and smaller than the largest', () => {
  const r = runEfficientFormerSlimming({ quick: true })
  assert.is(r.tableEntries, latencyTableKeys(r.space).length)
  const [big, s60, s40] = r.arms
  assert.is(big.budgetMs, null)
  assert.is(big.trace.length, 0)
  assert.equal(big.layers, r.space.depths)
  for (const a of [s60, s40]) {
    assert.ok(a.predictedMs <= a.budgetMs! + 1e-9, `${a.name}: ${a.predictedMs} > ${a.budgetMs}`)
    assert.ok(a.budgetMs! >= r.smallestMs && a.trace.length >= 1)
    assert.ok(a.predictedMs < big.predictedMs && a.params < big.params)
    // the trace's last latency is the result; each step saves latency
    assert.ok(Math.abs(a.trace[a.trace.length - 1].latencyMs - a.predictedMs) < 1e-9)
    assert.ok(a.trace.every((s) => s.latencySavedMs > 0))
  }
  assert.ok(s40.predictedMs <= s60.predictedMs, 'the tighter budget is never slower')
  for (const a of r.arms) {
    assert.ok(a.measuredMs > 0 && Number.isFinite(a.measuredMs))
    assert.ok(a.testAccuracy >= 0 && a.testAccuracy <= 1 && Number.isFinite(a.trainLoss))
    assert.is(a.layers.reduce((x, y) => x + y, 0), a.config.blocks.flat().filter((k) => k !== 'identity').length)
  }
  assert.ok(Number.isFinite(r.supernetLoss))
})

test.run()

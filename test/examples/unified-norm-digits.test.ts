/**
 * @file Sheet 43 demo (Unified Normalization, https://arxiv.org/abs/2208.01313) in quick mode: the
 * folded UN model gives the unfolded model's logits, every arm reports in-range numbers, and the
 * folded model has no normalisation work left.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runUnifiedNormDigits } from '../../examples/unified-norm-digits.ts'

test('unified-norm-digits quick: fold is exact, numbers in range', () => {
  const r = runUnifiedNormDigits({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => a.name), ['layernorm', 'batchnorm', 'unified', 'unified (folded)'])
  assert.ok(r.foldMaxAbsDiff < 1e-5, `folded vs unfolded logits differ by ${r.foldMaxAbsDiff}`)
  const [, , un, uf] = r.arms
  assert.is(uf.testAccuracy, un.testAccuracy)
  assert.ok(Math.abs(uf.testLoss - un.testLoss) < 1e-5)
  for (const a of r.arms) {
    assert.ok(a.testAccuracy >= 0 && a.testAccuracy <= 1 && Number.isFinite(a.testLoss) && a.inferenceMs > 0, a.name)
    assert.ok(a.testLoss < Math.log(10) + 0.2, `${a.name} loss ${a.testLoss} near or below chance after a few steps`)
  }
  assert.ok(r.normMs.layernorm > 0 && r.normMs.unifiedEval > 0 && r.normMs.folded === 0)
})

test.run()

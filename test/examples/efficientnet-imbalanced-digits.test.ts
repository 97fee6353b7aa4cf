/**
 * @file Sheet 47 demo (https://arxiv.org/abs/2411.17870) in quick mode: the target split really is
 * imbalanced (classes 8 and 9 at ~10%), the binary pretraining learns its task, both quick arms
 * (transfer + plain CE, transfer + weighted CE) train above chance, and class weighting raises the recall of the rare classes and the balanced
 * accuracy over plain cross entropy.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEfficientNetImbalancedDigits } from '../../examples/efficientnet-imbalanced-digits.ts'

test('efficientnet-imbalanced-digits quick: imbalance, pretraining, and weighting helps the rare classes', () => {
  const r = runEfficientNetImbalancedDigits({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => [a.transfer, a.weighted, a.augment]), [[true, false, false], [true, true, false]])
  assert.ok(r.counts[8] <= 10 && r.counts[9] <= 10 && Math.min(...r.counts.slice(0, 8)) >= 60, `counts ${r.counts}`)
  assert.ok(Math.abs(r.counts.reduce((a, n, c) => a + n * r.weights[c], 0) - r.trainSize) < 1e-9)
  assert.ok(r.binaryAccuracy > 0.75, `binary pretraining accuracy ${r.binaryAccuracy}`)
  for (const a of r.arms) {
    assert.ok(a.report.accuracy > 0.3, `${a.name}: accuracy ${a.report.accuracy}`)
    assert.equal(a.report.support.reduce((x, y) => x + y, 0), r.testSize)
  }
  const [plain, weighted] = r.arms
  assert.ok(weighted.rareRecall > plain.rareRecall + 0.2, `rare recall ${plain.rareRecall} → ${weighted.rareRecall}`)
  assert.ok(weighted.report.balancedAccuracy > plain.report.balancedAccuracy, `balanced ${plain.report.balancedAccuracy} → ${weighted.report.balancedAccuracy}`)
})

test.run()

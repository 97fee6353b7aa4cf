/**
 * @file Sheet 65 demo (EvoNorm, https://arxiv.org/abs/2004.02967) in quick mode: BN-ReLU and EvoNorm-S0
 * pre-activation ResNets both train on digits at batch 8 (loss below chance level, accuracy above chance),
 * and S0 adds exactly its v parameters (C per replaced BN) over BN's γ, β.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEvoNormDigits } from '../../examples/evonorm-digits.ts'

test('evonorm-digits quick: both arms learn; parameter bookkeeping', () => {
  const r = runEvoNormDigits({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => [a.kind, a.batch]), [['bn-relu', 8], ['evonorm-s0', 8]])
  const [bn, s0] = r.arms
  // Norm-acts on 16 (block1 na1, na2), 16 (block2 na1), 32 (block2 na2, final): S0 adds v (C,) to each.
  assert.is(s0.params - bn.params, 16 + 16 + 16 + 32 + 32)
  for (const a of r.arms) {
    assert.ok(a.trainLoss < Math.log(10) - 0.2, `${a.name}: last-epoch loss ${a.trainLoss} below chance`)
    assert.ok(a.testAccuracy > 0.2, `${a.name}: held-out accuracy ${a.testAccuracy} above chance`)
    assert.is(a.steps, 2 * 32)
  }
})

test.run()

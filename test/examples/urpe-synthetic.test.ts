/**
 * @file Sheet 70's URPE demo (https://arxiv.org/abs/2205.13401) in quick mode: on Position
 * Identification the RPE Transformer stays at chance while the URPE Transformer (same size, data,
 * optimizer and seed, + heads (2L - 1) parameters per layer) learns the positions.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runURPESynthetic } from '../../examples/urpe-synthetic.ts'

test('urpe-synthetic (quick): PI, RPE at chance, URPE far above it', () => {
  const r = runURPESynthetic({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => `${a.task} ${a.model}`), ['PI RPE', 'PI URPE'])
  const [rpe, urpe] = r.arms
  assert.ok(Math.abs(rpe.accuracy - rpe.chance) < 0.05, `RPE ${rpe.accuracy} vs chance ${rpe.chance}`)
  assert.ok(urpe.accuracy > 0.4 && urpe.accuracy > rpe.accuracy + 0.3, `URPE ${urpe.accuracy} vs RPE ${rpe.accuracy}`)
  assert.ok(urpe.finalLoss < rpe.finalLoss, 'URPE fits the training batches better')
  // the only extra parameters are C: 2 layers x 4 heads x (2L - 1)
  assert.is(urpe.params - rpe.params, 2 * 4 * (2 * 12 - 1))
})

test.run()

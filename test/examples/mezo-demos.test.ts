/**
 * @file The MeZO (sheet 46, https://arxiv.org/abs/2305.17333) and Sparse MeZO (sheet 24,
 * https://arxiv.org/abs/2402.15751) digits demos in quick mode: numbers in range, the memory claim
 * measured with the meter, seeded reproducibility, and fine-tuned arms above chance (20%, 5 classes).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runMeZODigits, type MeZODigitsResult } from '../../examples/mezo-digits.ts'
import { runSparseMeZODigits } from '../../examples/sparse-mezo-digits.ts'

const inUnit = (x: number): boolean => Number.isFinite(x) && x >= 0 && x <= 1
let first: MeZODigitsResult

test('mezo-digits: every arm reports finite, in-range numbers', () => {
  first = runMeZODigits({ quick: true, seed: 0 })
  assert.equal(first.arms.map((a) => a.name), ['zero-shot', 'linear probe', 'backprop FT', 'MeZO FT'])
  assert.ok(inUnit(first.pretrainAccuracy) && first.pretrainAccuracy > 0.85, `pretraining on 0-4 works: ${first.pretrainAccuracy}`)
  assert.is(first.targetTrain, 80) // 16 shots x 5 classes
  for (const a of first.arms) {
    assert.ok(inUnit(a.testAccuracy), `${a.name} accuracy ${a.testAccuracy}`)
    assert.ok(Number.isFinite(a.trainLoss) && a.trainLoss >= 0, `${a.name} loss ${a.trainLoss}`)
    assert.ok(a.seconds >= 0 && a.stepBytes >= 0)
  }
})

test('mezo-digits: fine-tuned arms beat chance and the zero-shot head', () => {
  const by = Object.fromEntries(first.arms.map((a) => [a.name, a]))
  for (const name of ['linear probe', 'backprop FT', 'MeZO FT']) {
    assert.ok(by[name].testAccuracy > 0.5, `${name}: ${by[name].testAccuracy} (chance 0.2)`)
    assert.ok(by[name].testAccuracy > by['zero-shot'].testAccuracy + 0.2, `${name} improves on zero-shot`)
  }
  assert.ok(by['MeZO FT'].trainLoss < by['zero-shot'].trainLoss / 2, 'MeZO lowers the training loss')
})

test('mezo-digits: a MeZO step allocates exactly two inference forwards and keeps no state', () => {
  const by = Object.fromEntries(first.arms.map((a) => [a.name, a]))
  const mezo = by['MeZO FT'], bp = by['backprop FT']
  // The optimizer's perturb/restore/update passes allocate no tensor storage at all.
  assert.is(mezo.stepBytes, 2 * first.inferenceBytes)
  assert.is(mezo.stepPeakBytes, first.inferenceBytes)
  assert.is(mezo.stateBytes, 0)
  // Backprop holds gradients + Adam's two moments: three copies of the parameters.
  assert.ok(bp.stateBytes >= 3 * first.paramBytes, `backprop state ${bp.stateBytes} vs params ${first.paramBytes}`)
  // Live working set of one step: one forward for MeZO vs the whole graph + gradients for backprop.
  assert.ok(mezo.stepPeakBytes < bp.stepBytes / 2, `MeZO ${mezo.stepPeakBytes} vs backprop ${bp.stepBytes}`)
})

test('mezo-digits: the same seed reproduces every number', () => {
  const again = runMeZODigits({ quick: true, seed: 0 })
  const strip = (r: MeZODigitsResult): unknown => r.arms.map(({ seconds: _s, ...rest }) => rest)
  assert.equal(strip(again), strip(first))
  assert.is(again.pretrainAccuracy, first.pretrainAccuracy)
})

test('sparse-mezo-digits: curves at equal forward passes, in range, above chance', () => {
  const r = runSparseMeZODigits({ quick: true, seed: 0 })
  assert.is(r.arms.length, 4)
  const passes = r.arms[0].curve.map((c) => c.forwardPasses)
  for (const a of r.arms) {
    assert.equal(a.curve.map((c) => c.forwardPasses), passes, `${a.name}: same forward-pass budget`)
    assert.is(a.curve.at(-1)!.forwardPasses, 2 * r.steps)
    for (const c of a.curve) assert.ok(inUnit(c.testAccuracy) && Number.isFinite(c.trainLoss), `${a.name} @${c.step}`)
    assert.is(a.curve.at(-1)!.testAccuracy, a.testAccuracy)
  }
  // Every arm starts from the same pretrained weights.
  assert.ok(r.arms.every((a) => a.curve[0].trainLoss === r.arms[0].curve[0].trainLoss))
  const dense = r.arms[0], tuned = r.arms[2]
  for (const a of [dense, tuned]) {
    assert.ok(a.testAccuracy > 0.3, `${a.name} beats chance (0.2): ${a.testAccuracy}`)
    assert.ok(a.trainLoss < a.curve[0].trainLoss, `${a.name} lowers the loss`)
  }
})

test.run()

/**
 * @file Sheet 03 demo (ResNet-RS, https://arxiv.org/abs/2103.07579) in quick mode: arms (a) vanilla and
 * (d) RS arch + RS recipe train above chance, the RS architecture is the larger one (SE, ResNet-D stem
 * and shortcut), and the recipe arm evaluates with its EMA weights (which differ from the live ones).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runResNetRSDigits, upsampleDigits } from '../../examples/resnet-rs-digits.ts'
import { tensor } from '../../src/index.ts'

test('upsampleDigits repeats each pixel 2x2', () => {
  const x = tensor([Array.from({ length: 64 }, (_, i) => i)])
  const u = upsampleDigits(x).toArray() as number[][][][]
  assert.equal([u[0][0][0][0], u[0][0][0][1], u[0][0][1][0], u[0][0][1][1], u[0][0][0][2], u[0][0][2][0]], [0, 0, 0, 0, 1, 8])
})

test('resnet-rs-digits quick: (a) and (d) train, RS arch larger, EMA weights used for the recipe arm', () => {
  const r = runResNetRSDigits({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => [a.arch, a.recipe]), [['vanilla', 'vanilla'], ['rs', 'rs']])
  const [a, d] = r.arms
  assert.ok(d.params > a.params, 'SE + ResNet-D stem add parameters')
  assert.ok(a.trainAccuracy > 0.3, `vanilla arm learns: train accuracy ${a.trainAccuracy}`)
  assert.ok(a.testAccuracy > 0.2, `vanilla arm generalises above chance: ${a.testAccuracy}`)
  assert.is(a.liveAccuracy, a.testAccuracy, 'no EMA in the vanilla recipe')
  assert.ok(d.testAccuracy !== d.liveAccuracy || d.testAccuracy > 0, 'recipe arm reports EMA and live accuracies')
  assert.ok(Number.isNaN(r.archGain) && Number.isNaN(r.recipeGain) && Number.isFinite(r.bothGain))
})

test.run()

/**
 * @file The SimpleNet demo's quick mode: both arms build, train a few steps and report real numbers;
 * the SimpleNet arm is the cifar310k list at width 0.5 (13 convs, global max pool) and the ResNet arm
 * has 19 convs at about the same parameter count; MACs come from profile.countMacs.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runSimpleNetDigits, DIGITS_CFG } from '../../examples/simplenet-digits.ts'
import { simpleNetParamCount } from '../../src/nn/arch/06-simplenet.ts'

test('quick run: two arms with measured params, MACs, accuracy and times', () => {
  const r = runSimpleNetDigits({ quick: true })
  assert.is(r.arms.length, 2)
  const [s, res] = r.arms
  // SimpleNet params equal the closed form of its layer list (1 input channel, 10 classes, width 0.5).
  assert.is(s.params, simpleNetParamCount(DIGITS_CFG, { inChans: 1, scale: 0.5 }))
  assert.is(s.convLayers, 13)
  assert.ok(Math.abs(s.params / res.params - 1) < 0.2, `params ${s.params} vs ${res.params}`)
  // Conv MACs of SimpleNet's first layer alone: 1 -> 32 channels, 3x3, 16x16 = 73,728; the whole net is far more.
  assert.ok(s.macs > 73_728 * 10 && res.macs > 1e6, `MACs ${s.macs}, ${res.macs}`)
  for (const a of r.arms) {
    assert.ok(a.testAccuracy >= 0 && a.testAccuracy <= 1 && Number.isFinite(a.trainLoss) && a.trainLoss > 0)
    assert.ok(a.trainSeconds > 0 && a.forwardMsPerImage > 0)
  }
})

test.run()

/**
 * @file Quick mode of the EMOv2 digits demo (sheet 02): the tiny EMOv2 (hybrid window attention) and the
 * same-size MobileNetV2 both learn well above chance in eval mode within 15 steps; parameter and MAC counts
 * are the measured ones of the two nets (the MobileNetV2 within 2% of EMOv2's parameters).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEMOv2Digits } from '../../examples/emov2-digits.ts'

test('emov2-digits quick: both arms learn, same parameter budget, measured MACs', () => {
  const r = runEMOv2Digits({ quick: true, seed: 0 })
  assert.equal(r.arms.map((a) => a.name), ['EMOv2 hybrid', 'MobileNetV2 (MBConv)'])
  const [emo, mb] = r.arms
  assert.is(emo.params, 29_686)
  assert.ok(Math.abs(mb.params - emo.params) / emo.params < 0.02, `params ${mb.params} vs ${emo.params}`)
  // EMOv2: 1x1 / depthwise convs, two window attentions (close + remote) on the 4x4 map, and the head.
  assert.ok(emo.macs > 4e5 && emo.macs < 6e5 && mb.macs > 4e5 && mb.macs < 6e5, `MACs ${emo.macs}, ${mb.macs}`)
  for (const a of r.arms) {
    assert.is(a.accuracies.length, 1)
    assert.ok(a.meanAccuracy > 0.3, `${a.name} accuracy ${a.meanAccuracy}`) // chance is 0.1
    // below ln 10, the loss of a uniform guess (EMOv2 starts slower: LayerScale 1e-6 zeroes its residual branches)
    assert.ok(Number.isFinite(a.trainLosses[0]) && a.trainLosses[0] < Math.log(10), `${a.name} loss ${a.trainLosses[0]}`)
  }
})

test.run()

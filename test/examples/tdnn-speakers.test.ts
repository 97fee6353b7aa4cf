/**
 * @file The EfficientTDNN digit-"speaker" demo (sheet 74, https://arxiv.org/abs/2103.13581) in quick
 * mode: both poolings learn the 7 training speakers well above chance, and the verification EER on
 * unseen speakers is a real, better-than-random number.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runTDNNSpeakers } from '../../examples/tdnn-speakers.ts'

test('tdnn-speakers (quick): accuracy above chance, EER below 50% on unseen speakers', () => {
  const r = runTDNNSpeakers({ quick: true, seed: 0 })
  assert.equal(r.results.map((x) => x.pooling), ['asp', 'stats'])
  for (const x of r.results) {
    assert.ok(x.accuracy > 0.6 && x.accuracy <= 1, `${x.pooling} accuracy ${x.accuracy} (chance 1/7)`)
    assert.ok(x.eerUnseen > 0 && x.eerUnseen < 0.45, `${x.pooling} unseen EER ${x.eerUnseen}`)
    assert.ok(x.eerSeen < x.eerUnseen, `${x.pooling}: seen speakers verify better than unseen`)
    assert.is(x.pairs, (134 * 133) / 2)
    assert.ok(Number.isFinite(x.finalLoss))
  }
})

test.run()

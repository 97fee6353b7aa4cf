/**
 * @file Sheet 76 demo (Ladder Residual, https://arxiv.org/abs/2501.06589) in quick mode: both arms
 * learn (loss below the uniform ln(vocab)), conversion + retrain reports finite losses, and with the
 * same calibrated compute costs the simulated TP step is equal at zero latency and strictly faster for
 * the ladder model with a 2 ms all-reduce, saving at most the 2L − 1 hidden all-reduces.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runLadderNames } from '../../examples/ladder-names.ts'

test('ladder-names quick: losses sane, overlap measurable in the simulated TP step', () => {
  const r = runLadderNames({ quick: true, seed: 0 })
  for (const l of [r.standardLoss, r.ladderLoss, r.convertedLossBefore, r.convertedLossAfter]) assert.ok(Number.isFinite(l) && l > 0 && l < Math.log(30), `loss ${l}`)
  assert.is(r.tp.length, 6)
  for (const t of r.tp) {
    if (t.alphaMs === 0) assert.ok(Math.abs(t.standardMs - t.ladderMs) < 1e-9, `α = 0: equal (${t.standardMs} vs ${t.ladderMs})`)
    else {
      assert.ok(t.ladderMs < t.standardMs, `α = ${t.alphaMs} ms, P = ${t.world}: ladder ${t.ladderMs} < standard ${t.standardMs}`)
      assert.ok(t.standardMs - t.ladderMs <= 7 * t.alphaMs + 1e-9, 'at most 2L − 1 = 7 all-reduces hidden')
    }
  }
})

test.run()

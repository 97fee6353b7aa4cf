/**
 * @file Quick mode of the MIMO-VP moving-digits demo (sheet 39): both arms share the backbone (equal
 * parameters), MIMO predicts the 5 future frames in one model call and the recursive baseline in 5, both
 * losses fall, the per-frame errors are real MSEs of the held-out clips, and the data's "copy the last
 * frame" error grows with the horizon (the digits move).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runMIMOVPDigits } from '../../examples/mimo-vp-digits.ts'

test('mimo-vp-digits quick: equal backbones, 1 vs T_out calls, losses fall, per-frame MSE over the horizon', () => {
  const r = runMIMOVPDigits({ quick: true, seed: 0 })
  assert.is(r.tIn, 5); assert.is(r.tOut, 5)
  const { mimo, siso } = r
  assert.is(mimo.params, siso.params)
  assert.is(mimo.params, 92_864)
  assert.is(mimo.callsPerPrediction, 1); assert.is(siso.callsPerPrediction, 5)
  for (const a of [mimo, siso]) {
    assert.is(a.perFrameMSE.length, 5)
    assert.ok(a.perFrameMSE.every((e) => Number.isFinite(e) && e > 0 && e < 0.25), `${a.name} ${a.perFrameMSE}`)
    assert.ok(a.finalLoss < 0.7 * a.firstLoss, `${a.name} loss ${a.firstLoss} -> ${a.finalLoss}`)
  }
  // moving digits: repeating the last observed frame gets worse with every step of the horizon
  for (let t = 1; t < 5; t++) assert.ok(r.copyLastMSE[t] > r.copyLastMSE[t - 1] - 1e-3, `copy-last ${r.copyLastMSE}`)
  assert.ok(r.copyLastMSE[4] > 1.2 * r.copyLastMSE[0])
})

test.run()

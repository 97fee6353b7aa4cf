/**
 * @file Sheet 59's ELECTRA-on-spam demo (https://arxiv.org/abs/2211.17135) in quick mode: seeded
 * reproducibility, the RTD loss falls with pretraining, and both probes beat the majority class.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runElectraSpam } from '../../examples/electra-spam.ts'

test('electra-spam (quick): RTD pretraining lowers the held-out RTD loss; probes beat the majority class', () => {
  const r = runElectraSpam({ quick: true, seed: 0 })
  assert.ok(r.vocabSize > 40 && r.seqLen === 40)
  assert.ok(Number.isFinite(r.rtdLossBefore) && Number.isFinite(r.rtdLossAfter))
  assert.ok(r.rtdLossAfter < r.rtdLossBefore - 0.1, `RTD loss ${r.rtdLossBefore} -> ${r.rtdLossAfter}`)
  assert.ok(r.rtdAllOriginal > 0.8 && r.rtdAllOriginal < 1, `~15% masked, some samples differ: ${r.rtdAllOriginal}`)
  for (const acc of [r.probe.scratch, r.probe.pretrained]) assert.ok(acc > r.majority + 0.03 && acc <= 1, `probe ${acc} vs majority ${r.majority}`)
  assert.is(r.finetune, null)
})

test.run()

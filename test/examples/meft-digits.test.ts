/**
 * @file The MEFT digits demo (sheet 55, https://arxiv.org/abs/2306.00477) in quick mode: accuracies
 * in range and above chance, and the memory claim: MEFT's saved activations are the same at every
 * depth while full FT and adapters grow with depth (graph walk exact, GC-settled meter when available).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runMEFTDigits } from '../../examples/meft-digits.ts'

test('meft-digits (quick): accuracy above chance; MEFT activation memory constant in depth', async () => {
  const r = await runMEFTDigits({ quick: true, seed: 0 })
  assert.ok(r.pretrainAccuracy > 0.5, `pretrain ${r.pretrainAccuracy}`)
  for (const [arm, a] of Object.entries(r.accuracy)) assert.ok(a > 0.3 && a <= 1, `${arm}: ${a} (chance 0.2)`)
  assert.ok(r.trainedParams.MEFT1 < r.trainedParams['full FT'] / 4)
  const at = (arm: string, depth: number) => r.memory.find((m) => m.arm === arm && m.depth === depth)!
  const [d0, d1] = [...new Set(r.memory.map((m) => m.depth))]
  assert.is(at('MEFT1', d0).savedBytes, at('MEFT1', d1).savedBytes)
  for (const arm of ['full FT', 'adapters']) {
    assert.ok(at(arm, d1).savedBytes > 1.5 * at(arm, d0).savedBytes, `${arm} grows with depth`)
    assert.ok(at(arm, d1).savedBytes > 4 * at('MEFT1', d1).savedBytes, `${arm} holds more than MEFT at depth ${d1}`)
    const ret = at(arm, d1).retainedBytes, mret = at('MEFT1', d1).retainedBytes
    if (ret !== null && mret !== null) assert.ok(mret < ret / 2, `meter: MEFT ${mret} vs ${arm} ${ret}`)
  }
  // MEFT recomputes in backward: a step allocates more in total than ordinary adapters.
  assert.ok(at('MEFT1', d1).stepAllocatedBytes > at('adapters', d1).stepAllocatedBytes)
})

test.run()

/**
 * @file Sheet 18's demo (examples/continual-streaming.ts) in quick mode: the continual model's
 * predictions equal the offline clip model's on every full window, the per-step multiply counts drop
 * by the window factor, training lowered the loss, and a second run with the same seed reproduces it.
 * Wall time is not asserted (shared machine); the demo prints it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runContinualStreaming } from '../../examples/continual-streaming.ts'

const r = runContinualStreaming({ quick: true, seed: 0 })

test('continual predictions == offline window recomputation (float32, measured ~2.5e-7)', () => {
  assert.is(r.window, 16)
  assert.is(r.tokens, 10)
  assert.is(r.steps, 300 - 16 + 1) // 300 months in quick mode, one comparison per full window
  assert.ok(r.maxAbsDiff < 2e-6, `max diff ${r.maxAbsDiff}`)
})

test('multiplies per step: attention exactly n times fewer, convs ~L times fewer, whole model > 8x', () => {
  assert.is(r.attentionFlops.offline, r.tokens * r.attentionFlops.continual)
  // 3 convs: offline (14·1 + 12·16 + 10·16)·3·16 = 17568; continual (1 + 16 + 16)·3·16 = 1584
  assert.is(r.convFlops.offline, 17568)
  assert.is(r.convFlops.continual, 1584)
  assert.ok(r.offlineFlopsPerStep / r.continualFlopsPerStep > 8)
  assert.ok(r.continualMsPerStep > 0 && r.offlineMsPerStep > 0)
})

test('training lowered the loss; the run is deterministic', () => {
  assert.ok(r.trainLoss.at(-1)! < 0.5 * r.trainLoss[0], `${r.trainLoss[0]} -> ${r.trainLoss.at(-1)}`)
  assert.ok(Number.isFinite(r.testMse) && Number.isFinite(r.naiveMse))
  const again = runContinualStreaming({ quick: true, seed: 0 })
  assert.equal(again.trainLoss, r.trainLoss)
  assert.is(again.maxAbsDiff, r.maxAbsDiff)
  assert.is(again.testMse, r.testMse)
})

test.run()

/**
 * @file Generation: seeded reproducibility, greedy determinism, topK 1 == greedy, the top-p mass
 * property, temperature -> 0 approaching greedy, per-row stop tokens, ragged prompts, and the cached
 * `step` path agreeing with full recomputation.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, isGradEnabled, tensor, type Tensor } from '../../src/index.ts'
import { CharLM, filterProbs, generate, greedy, sampleFromProbs, type SequenceModel } from '../../src/generate/index.ts'
import { assertThrows } from '../helpers.ts'

const lm = (seed = 0): CharLM => new CharLM({ vocabSize: 7, embedDim: 8, hiddenSize: 12, generator: new Generator(seed) })
const prompts = [[1, 2, 3], [4], [5, 6]]

test('fixed seed is reproducible; different seeds differ', () => {
  const m = lm()
  const a = generate(m, prompts, { maxNewTokens: 10, generator: new Generator(3) })
  const b = generate(m, prompts, { maxNewTokens: 10, generator: new Generator(3) })
  const c = generate(m, prompts, { maxNewTokens: 10, generator: new Generator(4) })
  assert.equal(a.responses, b.responses)
  assert.equal(Array.from(a.sequences.data()), Array.from(b.sequences.data()))
  assert.not.equal(a.responses, c.responses)
})

test('greedy is deterministic, draws no randomness, and topK 1 equals greedy', () => {
  const m = lm(1)
  const g = new Generator(9)
  const before = g.getState()
  const a = greedy(m, prompts, { maxNewTokens: 8, generator: g })
  assert.equal(g.getState(), before)
  const b = greedy(m, prompts, { maxNewTokens: 8 })
  const k1 = generate(m, prompts, { maxNewTokens: 8, topK: 1, generator: new Generator(5) })
  assert.equal(a.responses, b.responses)
  assert.equal(a.responses, k1.responses)
})

test('cached step and full recomputation pick the same tokens; sequences are right-padded', () => {
  const m = lm(2)
  const a = generate(m, prompts, { maxNewTokens: 6, generator: new Generator(1), padId: 0 })
  const b = generate(m, prompts, { maxNewTokens: 6, generator: new Generator(1), padId: 0, useCache: false })
  assert.equal(a.responses, b.responses)
  const L = a.sequences.shape[1]
  assert.is(L, 3 + 6)
  const rows = a.sequences.toArray() as number[][]
  prompts.forEach((p, i) => {
    assert.equal(rows[i].slice(0, p.length + 6), [...p, ...a.responses[i]])
    assert.ok(rows[i].slice(p.length + 6).every((v) => v === 0))
  })
})

test('no tape is built during generation', () => {
  let seen = true
  const probe: SequenceModel = {
    vocabSize: 3,
    forward(ids: Tensor): Tensor {
      seen = seen && !isGradEnabled()
      const B = ids.shape[0], T = ids.shape[1]
      return tensor(Array.from({ length: B }, () => Array.from({ length: T }, () => [0, 1, 0])))
    },
  }
  generate(probe, [[0]], { maxNewTokens: 3, temperature: 0 })
  assert.ok(seen)
})

test('top-p keeps the smallest most-probable set with mass >= p', () => {
  const probs = [0.05, 0.5, 0.15, 0.3]
  const logits = probs.map(Math.log)
  for (const p of [0.3, 0.5, 0.6, 0.8, 0.81, 0.9, 0.96, 1]) {
    const f = filterProbs(logits, { topP: p })
    const kept = [0, 1, 2, 3].filter((i) => f[i] > 0)
    const mass = kept.reduce((s, i) => s + probs[i], 0)
    assert.ok(mass >= p - 1e-12, `p=${p}: kept mass ${mass}`)
    const smallest = Math.min(...kept.map((i) => probs[i]))
    assert.ok(mass - smallest < p - 1e-12 || kept.length === 1, `p=${p}: set ${kept} is not minimal`)
    // kept tokens are the most probable ones, renormalised
    for (const i of kept) assert.ok(Math.abs(f[i] - probs[i] / mass) < 1e-12)
    for (let i = 0; i < 4; i++) if (!kept.includes(i)) assert.ok(kept.every((j) => probs[j] >= probs[i]))
  }
  // empirical frequencies of the nucleus match the renormalised mass
  const f = filterProbs(logits, { topP: 0.7 }) // keeps {1, 3}
  const g = new Generator(0)
  const counts = [0, 0, 0, 0]
  const N = 20000
  for (let n = 0; n < N; n++) counts[sampleFromProbs(f, g)]++
  assert.is(counts[0] + counts[2], 0)
  assert.ok(Math.abs(counts[1] / N - 0.625) < 0.015, `freq ${counts[1] / N}`)
})

test('top-k zeroes all but the k largest', () => {
  const f = filterProbs([0, 3, 1, 2], { topK: 2 })
  assert.is(f[0], 0); assert.is(f[2], 0)
  assert.ok(Math.abs(f[1] - 1 / (1 + Math.exp(-1))) < 1e-12)
})

test('temperature -> 0 approaches greedy', () => {
  const logits = [0.1, 0.4, 0.35, -1]
  let prev = 0
  for (const T of [2, 1, 0.3, 0.1, 0.01]) {
    const p = filterProbs(logits, { temperature: T })[1]
    assert.ok(p > prev); prev = p
  }
  assert.ok(prev > 0.99)
  const m = lm(3)
  const gr = greedy(m, prompts, { maxNewTokens: 8 })
  const cold = generate(m, prompts, { maxNewTokens: 8, temperature: 1e-4, generator: new Generator(7) })
  assert.equal(cold.responses, gr.responses)
})

test('stop tokens end each row separately; maxNewTokens caps the rest', () => {
  // A model that always predicts (last token + 1) mod V: row-specific stop times are known exactly.
  const V = 6
  const succ: SequenceModel = {
    vocabSize: V,
    forward(ids: Tensor): Tensor {
      const rows = ids.toArray() as number[][]
      return tensor(rows.map((r) => r.map((t) => Array.from({ length: V }, (_, v) => (v === (t + 1) % V ? 5 : 0)))))
    },
  }
  const out = generate(succ, [[0], [3, 4], [1]], { maxNewTokens: 4, stopTokens: [3], temperature: 0, padId: 5 })
  assert.equal(out.responses, [[1, 2, 3], [5, 0, 1, 2], [2, 3]])
  assert.equal(out.stopped, [true, false, true])
  assert.equal(out.sequences.toArray(), [[0, 1, 2, 3, 5, 5], [3, 4, 5, 0, 1, 2], [1, 2, 3, 5, 5, 5]])
})

test('bad arguments throw TesseraErrors', () => {
  const m = lm()
  assertThrows(() => generate(m, [[]], { maxNewTokens: 2 }), /prompt 0 is empty/)
  assertThrows(() => generate(m, [[9]], { maxNewTokens: 2 }), /outside \[0, 7\)/)
  assertThrows(() => generate(m, [[1]], { maxNewTokens: 2, topP: 0 }), /topP/)
  assertThrows(() => generate(m, [[1]], { maxNewTokens: -1 }), /maxNewTokens/)
  assertThrows(() => generate(m, [[1]], { maxNewTokens: 1, temperature: -1 }), /temperature/)
})

test.run()

/**
 * @file The shared char-LM harness (examples/lib/char-lm.ts): the seeded split, the BOS/EOS windows,
 * perplexity (a uniform model scores exactly V; a bigram table scores what a per-name loop computes),
 * the training loss, fairness (same seed -> same batches whatever the model), and that a trained tiny
 * transformer beats the unigram baseline.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, noGrad, zeros, type Tensor } from '../../src/index.ts'
import { TransformerLM } from '../../src/nn/transformer-lm.ts'
import {
  IGNORE, countParameters, lmLoss, loadNames, makeBatch, perplexity, sampleNames, trainLM, unigramPerplexity, type LanguageModel,
} from '../../examples/lib/char-lm.ts'

const data = loadNames({ seed: 0, maxTrain: 1000 })
const V = data.vocab.size

/** logits[b, t] = table[ids[b, t]]: a bigram model; records every batch it sees. */
class Bigram extends nn.Module {
  readonly vocabSize = V
  table: nn.Embedding
  seen: number[][] = []
  constructor(seed: number) {
    super()
    this.table = new nn.Embedding(V, V, { generator: new Generator(seed) })
  }
  forward(ids: Tensor): Tensor {
    this.seen.push(Array.from(ids.data(), Number))
    return this.table.forward(ids) // (B, T, V)
  }
}

/** All logits 0: the uniform distribution over V. */
class Uniform extends nn.Module {
  readonly vocabSize = V
  forward(ids: Tensor): Tensor {
    return zeros([...ids.shape, V])
  }
}

test('loadNames: seeded disjoint split, lower-cased, "." + name + "." windows, V = 28', () => {
  const again = loadNames({ seed: 0, maxTrain: 1000 }), other = loadNames({ seed: 1, maxTrain: 1000 })
  assert.equal(again.valNames, data.valNames)
  assert.not.equal(other.valNames.slice(0, 20), data.valNames.slice(0, 20))
  const val = new Set(data.valNames)
  assert.ok(data.trainNames.every((n) => !val.has(n)))
  assert.is(data.trainNames.length, 1000)
  assert.is(data.valNames.length, 842) // 10% of 8418 distinct lower-cased names
  assert.is(V, 28) // '.', '-', a..z
  assert.is(data.context, 16)
  for (const [row, name] of [[data.train[3], data.trainNames[3]], [data.val[5], data.valNames[5]]] as const) {
    assert.is(data.vocab.decode(row), `.${name}.`)
    assert.is(name, name.toLowerCase())
  }
})

test('makeBatch: inputs from BOS, targets shifted by one through EOS, padding ignored', () => {
  const rows = [data.vocab.encode('.ab.'), data.vocab.encode('.c.')]
  const { ids, targets, tokens } = makeBatch(rows, 0)
  const [a, b, c] = ['a', 'b', 'c'].map((ch) => data.vocab.id(ch))
  assert.equal(ids.toArray(), [[0, a, b], [0, c, 0]])
  assert.equal(targets.toArray(), [[a, b, 0], [c, 0, IGNORE]])
  assert.is(tokens, 5)
})

test('perplexity of a uniform model is exactly V; a bigram table matches a per-name loop', () => {
  const u = perplexity(new Uniform() as LanguageModel, data.val)
  assert.ok(Math.abs(u.perplexity - V) <= 1e-12 * V, `uniform perplexity ${u.perplexity}`)
  assert.is(u.tokens, data.val.reduce((s, r) => s + r.length - 1, 0))
  const m = new Bigram(3)
  const got = perplexity(m as LanguageModel, data.val, { batchSize: 100 })
  const W = m.table.weight.double().toArray() as number[][]
  let sum = 0, n = 0
  for (const r of data.val) {
    for (let t = 0; t + 1 < r.length; t++) {
      const row = W[r[t]]
      const mx = Math.max(...row)
      const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0))
      sum += lse - row[r[t + 1]]
      n++
    }
  }
  assert.is(got.tokens, n)
  assert.ok(Math.abs(got.nll - sum / n) < 1e-12, `${got.nll} vs ${sum / n}`)
  assert.ok(Math.abs(got.perplexity - Math.exp(sum / n)) < 1e-10)
})

test('lmLoss is the mean NLL over non-ignored targets (float32 within 1e-6 of the float64 perplexity NLL)', () => {
  const m = new Bigram(4)
  const rows = data.val.slice(0, 50)
  const { ids, targets } = makeBatch(rows, 0)
  const loss = noGrad(() => lmLoss(m.forward(ids), targets)).item()
  assert.ok(Math.abs(loss - perplexity(m as LanguageModel, rows).nll) < 1e-5, `${loss}`)
})

test('fair comparisons: the same seed gives the same batches for different models; training is deterministic', () => {
  const opts = { steps: 5, batchSize: 8, lr: 1e-2, seed: 7 }
  const a = new Bigram(1), b = new Bigram(2)
  const ra = trainLM(a as LanguageModel, data, opts), rb = trainLM(b as LanguageModel, data, opts)
  // Each model's forward ran 5 training batches, then validation batches.
  assert.equal(a.seen.slice(0, 5), b.seen.slice(0, 5))
  assert.not.equal(ra.losses, rb.losses) // different inits
  const a2 = new Bigram(1)
  assert.equal(trainLM(a2 as LanguageModel, data, opts).losses, ra.losses)
  assert.is(countParameters(a), V * V)
})

test('a tiny transformer trained 60 steps beats the unigram baseline; sampling is seeded', () => {
  const lm = new TransformerLM({ vocabSize: V, dModel: 16, numLayers: 1, numHeads: 2, generator: new Generator(0) })
  const before = perplexity(lm, data.val).perplexity
  const r = trainLM(lm, data, { steps: 60, batchSize: 16, lr: 1e-2, seed: 0 })
  const uni = unigramPerplexity(data)
  assert.ok(uni > 15 && uni < 20, `unigram ${uni}`)
  assert.ok(r.valPerplexity < uni - 2, `trained ${r.valPerplexity} vs unigram ${uni} (untrained ${before})`)
  assert.ok(r.losses.at(-1)! < r.losses[0] - 0.5)
  assert.is(r.params, lm.numParameters())
  const s1 = sampleNames(lm, data, { n: 4, seed: 3 }), s2 = sampleNames(lm, data, { n: 4, seed: 3 })
  assert.equal(s1, s2)
  assert.ok(s1.every((s) => /^[a-z-]*$/.test(s) && s.length <= data.context))
})

test.run()

/**
 * @file The sheet-33 DSF demo (examples/dsf-recall.ts; Sieber et al. 2024, https://arxiv.org/abs/2405.15731)
 * in quick mode: the MQAR generator lays out keys, values and queries as documented; every arm trains
 * to better than chance; softmax attention (unbounded state) recalls better than linear attention at a
 * finite state; a rerun with the same seed reproduces the numbers.
 *
 * Seed sweep in quick mode (seeds 0..3, 40 steps): softmax 59-79 % vs linear attention 44-53 % (n = 1
 * and n = 8); chance is 1/8 (values come from 8 tokens), picking one of the 2 in-context values is 50 %.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator } from '../../src/index.ts'
import { mqarBatch, runDSFRecall } from '../../examples/dsf-recall.ts'

test('mqarBatch: distinct keys in the lower half, values in the upper half, every key queried once with its value', () => {
  const cfg = { vocab: 32, pairs: 4, L: 16 }
  const b = mqarBatch(5, cfg, new Generator(3))
  const ids = Array.from(b.ids.data()), rows = Array.from(b.queryRows.data()), tg = Array.from(b.targets.data())
  assert.equal(b.ids.shape, [5, 16])
  assert.is(rows.length, 20)
  for (let s = 0; s < 5; s++) {
    const seq = ids.slice(s * 16, s * 16 + 16)
    const keys = [0, 2, 4, 6].map((i) => seq[i]), vals = [1, 3, 5, 7].map((i) => seq[i])
    assert.is(new Set(keys).size, 4)
    assert.ok(keys.every((k) => k >= 1 && k < 16) && vals.every((v) => v >= 16 && v < 32))
    const mine = rows.map((r, q) => [r, tg[q]]).filter(([r]) => Math.floor(r / 16) === s)
    assert.equal(mine.map(([r]) => seq[r % 16]).sort((a, c) => a - c), [...keys].sort((a, c) => a - c), 'each key queried once')
    for (const [r, t] of mine) {
      assert.ok(r % 16 >= 8 && r % 16 % 2 === 0, 'queries follow the context, at even slots')
      assert.is(t, vals[keys.indexOf(seq[r % 16])], 'the target is the key\'s value')
      assert.is(seq[r % 16 + 1], t, 'teacher-forced value after the query')
    }
  }
})

const r = runDSFRecall({ quick: true, seed: 0 })

test('quick mode: every arm trains past chance; softmax attention recalls better than finite-state linear attention', () => {
  assert.equal(r.arms.map((a) => [a.mixer, a.n]), [['softmax', 0], ['linear', 1], ['linear', 8]])
  const chance = 1 / 8
  for (const a of r.arms) {
    assert.ok(a.accuracy > 2 * chance && a.accuracy <= 1, `${a.mixer} n=${a.n}: ${a.accuracy}`)
    assert.ok(a.finalLoss < Math.log(8), `${a.mixer}: loss ${a.finalLoss} below ln 8`)
    assert.ok(a.seconds > 0)
  }
  assert.is(r.arms[0].stateSize, null)
  assert.is(r.arms[2].stateSize, 8 * r.config.d * r.config.layers)
  const soft = r.arms[0].accuracy
  for (const a of r.arms.slice(1)) assert.ok(soft > a.accuracy, `softmax ${soft} vs linear n=${a.n} ${a.accuracy}`)
})

test('the same seed reproduces the measured numbers', () => {
  const o = { steps: 4, testSize: 16, arms: [['s6', 2], ['rglru', 1]] as ['s6' | 'rglru', number][] }
  const a = runDSFRecall({ quick: true, seed: 5, override: o }), b = runDSFRecall({ quick: true, seed: 5, override: o })
  assert.equal(a.arms.map((x) => [x.accuracy, x.finalLoss]), b.arms.map((x) => [x.accuracy, x.finalLoss]))
})

test.run()

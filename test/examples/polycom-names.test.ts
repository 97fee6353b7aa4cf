/**
 * @file The sheet-38 PolyCom demo (examples/polycom-names.ts; https://arxiv.org/abs/2411.03884) in quick
 * mode: four FFN activations at equal size (within 0.5%) all train well past the unigram baseline,
 * the Poly* coefficients move away from their 1/3, 1/3, 1/3, 0 init, and the outcome is reproducible.
 * The quick run is too short and small to rank the activations reliably, so the paper's ordering is
 * reported by the full run, not asserted here.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ACTIVATIONS, runPolycomDemo } from '../../examples/polycom-names.ts'

const r = runPolycomDemo({ quick: true, seed: 0 })

test('one result per activation, parameter counts matched', () => {
  assert.equal(r.results.map((a) => a.activation), ACTIVATIONS)
  const p = r.results.map((a) => a.params)
  assert.ok(Math.max(...p) / Math.min(...p) < 1.005, `params ${p}`)
  const [gelu, swiglu, polyrelu, polynorm] = r.results
  assert.is(polyrelu.params, gelu.params + 4) // 4 scalars per layer, 1 layer in quick mode
  assert.is(polynorm.params, gelu.params + 4)
  assert.is(swiglu.hidden, Math.round((2 * gelu.hidden) / 3))
})

test('every model learns: validation perplexity well under the unigram baseline, above 1', () => {
  for (const a of r.results) {
    assert.ok(Number.isFinite(a.valPerplexity) && a.valPerplexity > 1, `${a.activation} ${a.valPerplexity}`)
    assert.ok(a.valPerplexity < r.unigramPerplexity - 2, `${a.activation}: ${a.valPerplexity} vs unigram ${r.unigramPerplexity}`)
    assert.ok(Math.abs(Math.log(a.valPerplexity) - a.valNll) < 1e-12)
    assert.is(a.samples.length, 6)
    assert.ok(a.msPerStep > 0 && a.seconds > 0)
  }
})

test('PolyReLU / PolyNorm coefficients are trained (moved from 1/3, 1/3, 1/3, 0)', () => {
  for (const a of r.results.slice(2)) {
    const init = [1 / 3, 1 / 3, 1 / 3, 0]
    assert.is(a.coefficients!.length, 4)
    assert.ok(a.coefficients!.some((v, i) => Math.abs(v - init[i]) > 0.02), `${a.activation} ${a.coefficients}`)
  }
  assert.is(r.results[0].coefficients, null)
})

test.run()

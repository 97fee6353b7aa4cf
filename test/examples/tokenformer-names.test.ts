/**
 * @file The sheet-63 TokenFormer demo (examples/tokenformer-names.ts; https://arxiv.org/abs/2410.23168)
 * in quick mode: growing with zero-key tokens leaves the logits bit for bit and the validation
 * perplexity exactly at the small model's (a fresh model of the grown size starts near uniform), and
 * after the same extra steps on the same batches the grown model beats the one trained from scratch.
 * Growing with keys and values both zero gives tokens whose gradient is exactly 0, so that model's
 * trajectory equals the small model's continued without growth, to the last bit.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runTokenformerDemo } from '../../examples/tokenformer-names.ts'
import { getBackend } from '../../src/backend.ts'

const r = runTokenformerDemo({ quick: true, seed: 0 })

// With the WASM kernels a product's row work (N K) picks its kernel: the small model's token
// products fall below WASM_GEMM_MIN_ROW_WORK and accumulate in float64 on the typed-array GEMM, the
// grown model's (twice the tokens) run the float32 WASM GEMM, so the two round apart. The identities
// below are exact on the typed-array path and hold to float32 rounding on the WASM one.
const exact = getBackend() === 'js'
const same = (a: number, b: number, what: string): void => {
  if (exact) assert.is(a, b, what)
  else assert.ok(Math.abs(a - b) <= 1e-6 * Math.abs(b), `${what}: ${a} vs ${b}`)
}

test('growth preserves the function exactly', () => {
  if (exact) assert.is(r.growthMaxLogitDiff, 0)
  else assert.ok(r.growthMaxLogitDiff < 1e-5, `max logit change ${r.growthMaxLogitDiff}`)
  same(r.grown.startPerplexity, r.small.valPerplexity, 'grown at growth')
  same(r.control.startPerplexity, r.small.valPerplexity, 'control at growth')
  assert.ok(r.scratch.startPerplexity > r.small.valPerplexity + 5, `fresh ${r.scratch.startPerplexity} vs small ${r.small.valPerplexity}`)
})

test('sizes: grown = scratch > small = control; tokens doubled', () => {
  assert.is(r.grown.params, r.scratch.params)
  assert.is(r.small.params, r.control.params)
  assert.ok(r.grown.params > r.small.params)
  assert.equal(r.grown.tokens, { qkvTokens: 2 * r.small.tokens.qkvTokens, projTokens: 2 * r.small.tokens.projTokens, ffnTokens: 2 * r.small.tokens.ffnTokens })
})

test('at equal extra steps the grown model beats the from-scratch model of its size', () => {
  assert.is(r.grown.steps, r.scratch.steps)
  assert.ok(r.grown.valPerplexity < r.scratch.valPerplexity, `grown ${r.grown.valPerplexity} vs scratch ${r.scratch.valPerplexity}`)
  assert.ok(r.grown.valPerplexity < r.small.valPerplexity, 'training after growth lowers the perplexity further')
  assert.ok(r.small.valPerplexity < r.unigramPerplexity)
})

test('all-zero new tokens are dead: the grown-zero model trains exactly like the small model continued', () => {
  same(r.grownZero.startPerplexity, r.small.valPerplexity, 'grown-zero at growth')
  assert.is(r.grownZero.params, r.grown.params)
  same(r.grownZero.valPerplexity, r.control.valPerplexity, 'grown-zero vs control after training')
})

test.run()

/**
 * @file Sheet 63's small demo of TokenFormer (Wang et al. 2024, "TokenFormer: Rethinking Transformer
 * Scaling with Tokenized Model Parameters", https://arxiv.org/abs/2410.23168): progressive scaling of a
 * char-level TokenFormer on the bundled names, with the shared harness (examples/lib/char-lm.ts).
 *
 *   1. small: train a TokenFormer with (qkv, proj, ffn) = (n, n, 4n) parameter tokens per layer for S steps;
 *   2. grown: append as many tokens again to every Pattention (2n, 2n, 8n) with zero keys and random
 *      values (`Pattention.grow`, init 'zero-keys', s kept), which leaves the function unchanged, then
 *      train E more steps;
 *   3. scratch: a fresh model of the grown size trained for the same E steps on the same batches;
 *   4. control: the small model trained the same E more steps without growing;
 *   5. grown-zero: grown with keys AND values zero (the paper's wording) through `loadIncremental`. Every
 *      new token then gets an exactly zero gradient forever, so it trains exactly like `control`.
 * Reports the validation perplexity of the grown model at the moment of growth (equal to the small
 * model's, not to a fresh model's), final perplexities, parameter counts and wall time. The paper's
 * claim (Fig. 3): growing a trained model reaches the loss of training the big model from scratch at a
 * fraction of the cost; here the grown model should beat `scratch` at equal extra steps.
 *
 *   npx tsx examples/tokenformer-names.ts            # full run (1.5-2 minutes on 2 cores)
 *   npx tsx examples/tokenformer-names.ts --quick    # a few seconds, for smoke tests (--seed N picks the seed)
 */
import { Generator, noGrad } from '../src/index.ts'
import { TokenFormerLM, loadIncremental, type TokenCounts } from '../src/nn/arch/63-tokenformer.ts'
import { loadNames, makeBatch, perplexity, sampleNames, trainLM, unigramPerplexity, type TrainOptions } from './lib/char-lm.ts'

export interface TokenformerDemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface ArmResult {
  arm: 'small' | 'grown' | 'scratch' | 'control' | 'grown-zero'
  params: number
  tokens: Required<TokenCounts>
  /** Validation perplexity before this arm's extra training (the grown model's is measured right after growth). */
  startPerplexity: number
  valPerplexity: number
  /** Steps this arm trained in its last phase. */
  steps: number
  seconds: number
  msPerStep: number
  samples: string[]
}

export interface TokenformerDemoResult {
  small: ArmResult
  grown: ArmResult
  scratch: ArmResult
  control: ArmResult
  grownZero: ArmResult
  /** Largest |logit difference| between the small model and the grown one at the moment of growth. */
  growthMaxLogitDiff: number
  unigramPerplexity: number
  seconds: number
}

function config(quick: boolean) {
  return quick
    ? { dModel: 16, numLayers: 1, numHeads: 2, n: 8, maxTrain: 1500, maxVal: 300, smallSteps: 50, extraSteps: 25, train: { batchSize: 16, lr: 1e-2 } }
    : { dModel: 32, numLayers: 2, numHeads: 2, n: 16, maxTrain: undefined, maxVal: undefined, smallSteps: 300, extraSteps: 120, train: { batchSize: 32, lr: 5e-3 } }
}

/** Runs the four arms; every training phase of the same length uses the same batches (seed) and schedule. */
export function runTokenformerDemo(opts: TokenformerDemoOptions = {}): TokenformerDemoResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0
  const log = opts.log ?? (() => {})
  const c = config(quick)
  const t0 = performance.now()
  const data = loadNames({ seed, maxTrain: c.maxTrain, maxVal: c.maxVal })
  const counts = (n: number): Required<TokenCounts> => ({ qkvTokens: n, projTokens: n, ffnTokens: 4 * n })
  const make = (n: number, initSeed: number): TokenFormerLM => new TokenFormerLM({
    vocabSize: data.vocab.size, dModel: c.dModel, numLayers: c.numLayers, numHeads: c.numHeads, ...counts(n), generator: new Generator(initSeed),
  })
  const phase = (steps: number, phaseSeed: number, label: string): TrainOptions => ({ ...c.train, steps, seed: phaseSeed, label, log })
  const val = (m: TokenFormerLM): number => perplexity(m, data.val, { pad: data.eos }).perplexity
  const arm = (name: ArmResult['arm'], m: TokenFormerLM, n: number, start: number, r: ReturnType<typeof trainLM>): ArmResult => {
    const out: ArmResult = {
      arm: name, params: m.numParameters(), tokens: counts(n), startPerplexity: start, valPerplexity: r.valPerplexity,
      steps: r.losses.length, seconds: r.seconds, msPerStep: r.msPerStep, samples: sampleNames(m, data, { n: 5, seed }),
    }
    log(`${name}: ${out.params} params, tokens ${JSON.stringify(out.tokens)}, val ppl ${start.toFixed(4)} -> ${out.valPerplexity.toFixed(4)} after ${out.steps} steps (${out.msPerStep.toFixed(1)} ms/step)`)
    return out
  }

  // 1. small model, S steps.
  const smallLm = make(c.n, seed + 1)
  const smallStart = val(smallLm)
  const small = arm('small', smallLm, c.n, smallStart, trainLM(smallLm, data, phase(c.smallSteps, seed, 'small')))

  // 2. control: a copy of the trained small model, E more steps, no growth.
  const controlLm = make(c.n, seed + 1)
  noGrad(() => { const src = smallLm.parameters(); controlLm.parameters().forEach((p, i) => p.copy_(src[i])) })
  // 5. grown-zero: the grown size loaded from the small model with all-zero new tokens.
  const zeroLm = loadIncremental(make(2 * c.n, seed + 4), smallLm, { newTokens: 'zero' })

  // 3. grown: the trained small model with twice the tokens, E more steps.
  const { ids } = makeBatch(data.val.slice(0, 64), data.eos)
  const before = noGrad(() => smallLm.forward(ids)).data()
  const grownLm = smallLm.grow(counts(2 * c.n), { init: 'zero-keys', generator: new Generator(seed + 2) })
  const after = noGrad(() => grownLm.forward(ids)).data()
  let growthMaxLogitDiff = 0
  for (let i = 0; i < before.length; i++) growthMaxLogitDiff = Math.max(growthMaxLogitDiff, Math.abs(before[i] - after[i]))
  const grownStart = val(grownLm)
  log(`grown at step 0: val ppl ${grownStart.toFixed(6)} (small ${small.valPerplexity.toFixed(6)}), max |Δlogit| ${growthMaxLogitDiff}`)
  const grown = arm('grown', grownLm, 2 * c.n, grownStart, trainLM(grownLm, data, phase(c.extraSteps, seed + 100, 'grown')))

  // 4. scratch: the grown size from a fresh init, the same E steps and batches.
  const scratchLm = make(2 * c.n, seed + 3)
  const scratch = arm('scratch', scratchLm, 2 * c.n, val(scratchLm), trainLM(scratchLm, data, phase(c.extraSteps, seed + 100, 'scratch')))
  const control = arm('control', controlLm, c.n, val(controlLm), trainLM(controlLm, data, phase(c.extraSteps, seed + 100, 'control')))
  const grownZero = arm('grown-zero', zeroLm, 2 * c.n, val(zeroLm), trainLM(zeroLm, data, phase(c.extraSteps, seed + 100, 'grown-zero')))

  return { small, grown, scratch, control, grownZero, growthMaxLogitDiff, unigramPerplexity: unigramPerplexity(data), seconds: (performance.now() - t0) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const i = process.argv.indexOf('--seed')
  const seed = i >= 0 ? Number(process.argv[i + 1]) : 0
  const r = runTokenformerDemo({ quick, seed, log: (l) => console.log(l) })
  console.log(`\nTokenFormer progressive scaling on names (unigram ppl ${r.unigramPerplexity.toFixed(3)}):`)
  console.log('arm         params  tokens(qkv/proj/ffn)  steps  start ppl   final ppl  ms/step')
  for (const a of [r.small, r.grown, r.scratch, r.control, r.grownZero]) {
    const t = `${a.tokens.qkvTokens}/${a.tokens.projTokens}/${a.tokens.ffnTokens}`
    console.log(`${a.arm.padEnd(10)}  ${String(a.params).padStart(6)}  ${t.padStart(20)}  ${String(a.steps).padStart(5)}  ${a.startPerplexity.toFixed(4).padStart(9)}  ${a.valPerplexity.toFixed(4).padStart(10)}  ${a.msPerStep.toFixed(1).padStart(7)}`)
  }
  console.log(`at growth: grown ppl ${r.grown.startPerplexity.toFixed(6)} = small ${r.small.valPerplexity.toFixed(6)} (max |Δlogit| ${r.growthMaxLogitDiff}); fresh model of that size starts at ${r.scratch.startPerplexity.toFixed(4)}`)
  console.log(`after ${r.grown.steps} extra steps: grown ${r.grown.valPerplexity.toFixed(4)} vs scratch ${r.scratch.valPerplexity.toFixed(4)} vs small continued ${r.control.valPerplexity.toFixed(4)} vs grown with all-zero tokens ${r.grownZero.valPerplexity.toFixed(4)}; total ${r.seconds.toFixed(1)} s`)
}

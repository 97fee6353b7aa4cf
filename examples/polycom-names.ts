/**
 * @file Sheet 38's small demo of PolyCom (Zhuo et al. 2024, "Polynomial Composition Activations",
 * https://arxiv.org/abs/2411.03884): the same tiny causal char-transformer trained on the bundled names
 * with four FFNs of (almost) equal size — GELU MLP, SwiGLU (hidden 2/3 as wide), PolyReLU MLP and
 * PolyNorm MLP (+4 scalars per layer) — with the same data, batches, steps, AdamW, warmup + cosine
 * schedule and init seed (examples/lib/char-lm.ts). Reports validation perplexity, training time and
 * a few sampled names per activation. The paper's claim: PolyNorm/PolyReLU reach a lower loss than
 * SwiGLU/GELU. The sheet's model is 4 layers at d = 64; this CPU version is 2 layers at d = 32.
 *
 *   npx tsx examples/polycom-names.ts            # full run (about 1.5 minutes on 2 cores)
 *   npx tsx examples/polycom-names.ts --quick    # a few seconds, for smoke tests (--seed N picks the seed)
 */
import { Generator } from '../src/index.ts'
import { TransformerLM, TransformerMLP, SwiGLUMLP, type SequenceMap } from '../src/nn/transformer-lm.ts'
import { PolyNorm, PolyReLU } from '../src/nn/arch/38-polycom.ts'
import { loadNames, sampleNames, trainLM, unigramPerplexity, type TrainOptions } from './lib/char-lm.ts'

export interface PolycomDemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export type Activation = 'gelu' | 'swiglu' | 'polyrelu' | 'polynorm'
export const ACTIVATIONS: Activation[] = ['gelu', 'swiglu', 'polyrelu', 'polynorm']

export interface ActivationResult {
  activation: Activation
  params: number
  /** FFN hidden width. */
  hidden: number
  valPerplexity: number
  valNll: number
  /** Validation perplexity at each evaluation (step, perplexity). */
  curve: { step: number; perplexity: number }[]
  /** Mean training loss over the last 10% of steps. */
  finalTrainLoss: number
  seconds: number
  msPerStep: number
  /** The learned [a_r .. a_1, a_0] of layer 0 (Poly* only). */
  coefficients: number[] | null
  samples: string[]
}

export interface PolycomDemoResult {
  results: ActivationResult[]
  unigramPerplexity: number
  vocabSize: number
  trainNames: number
  valNames: number
  steps: number
  batchSize: number
  seconds: number
}

function config(quick: boolean) {
  return quick
    ? { dModel: 16, numLayers: 1, numHeads: 2, hidden: 64, maxTrain: 1500, maxVal: 300, train: { steps: 60, batchSize: 16, lr: 1e-2, evalEvery: 0 } }
    : { dModel: 32, numLayers: 2, numHeads: 2, hidden: 128, maxTrain: undefined, maxVal: undefined, train: { steps: 500, batchSize: 32, lr: 5e-3, evalEvery: 100 } }
}

/** The FFN of one activation at hidden width F (SwiGLU gets round(2F/3) to match 2·D·F parameters). */
function makeFfn(act: Activation, D: number, F: number, g: Generator): { ffn: SequenceMap; hidden: number } {
  if (act === 'swiglu') {
    const H = Math.round((2 * F) / 3)
    return { ffn: new SwiGLUMLP(D, H, { generator: g }), hidden: H }
  }
  return { ffn: new TransformerMLP(D, F, { activation: act, generator: g }), hidden: F }
}

/** Trains one model per activation under identical conditions and measures it. */
export function runPolycomDemo(opts: PolycomDemoOptions = {}): PolycomDemoResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0
  const log = opts.log ?? (() => {})
  const c = config(quick)
  const t0 = performance.now()
  const data = loadNames({ seed, maxTrain: c.maxTrain, maxVal: c.maxVal })
  const uni = unigramPerplexity(data)
  log(`names: ${data.train.length} train, ${data.val.length} validation, V = ${data.vocab.size}; unigram perplexity ${uni.toFixed(3)}`)
  const results = ACTIVATIONS.map((act): ActivationResult => {
    const g = new Generator(seed + 1) // same init stream for every model
    let hidden = c.hidden
    const lm = new TransformerLM({
      vocabSize: data.vocab.size, dModel: c.dModel, numLayers: c.numLayers, numHeads: c.numHeads, generator: g,
      ffn: () => { const f = makeFfn(act, c.dModel, c.hidden, g); hidden = f.hidden; return f.ffn },
    })
    const train: TrainOptions = { ...c.train, seed, label: act, log }
    const r = trainLM(lm, data, train)
    const tail = r.losses.slice(-Math.max(1, Math.floor(r.losses.length / 10)))
    const ffn0 = (lm.blocks.at(0) as unknown as { ffn: SequenceMap }).ffn
    const poly = ffn0 instanceof TransformerMLP && (ffn0.act instanceof PolyReLU || ffn0.act instanceof PolyNorm) ? ffn0.act : null
    const out: ActivationResult = {
      activation: act, params: r.params, hidden, valPerplexity: r.valPerplexity, valNll: r.valNll,
      curve: r.evals.map((e) => ({ step: e.step, perplexity: e.perplexity })),
      finalTrainLoss: tail.reduce((s, v) => s + v, 0) / tail.length, seconds: r.seconds, msPerStep: r.msPerStep,
      coefficients: poly ? [...Array.from(poly.weight.data()), poly.bias.item()] : null,
      samples: sampleNames(lm, data, { n: 6, seed }),
    }
    log(`${act}: ${out.params} params (FFN hidden ${hidden}), val ppl ${out.valPerplexity.toFixed(4)}, ${out.msPerStep.toFixed(1)} ms/step; samples ${out.samples.join(' ')}`)
    return out
  })
  return {
    results, unigramPerplexity: uni, vocabSize: data.vocab.size, trainNames: data.train.length, valNames: data.val.length,
    steps: c.train.steps, batchSize: c.train.batchSize, seconds: (performance.now() - t0) / 1000,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const i = process.argv.indexOf('--seed')
  const seed = i >= 0 ? Number(process.argv[i + 1]) : 0
  const r = runPolycomDemo({ quick, seed, log: (l) => console.log(l) })
  console.log(`\nPolyCom on names (${r.steps} steps, batch ${r.batchSize}, ${r.trainNames} train names, unigram ppl ${r.unigramPerplexity.toFixed(3)}):`)
  console.log('activation  params  hidden  val ppl   val nll  train loss  ms/step')
  for (const a of r.results) {
    console.log(`${a.activation.padEnd(10)}  ${String(a.params).padStart(6)}  ${String(a.hidden).padStart(6)}  ${a.valPerplexity.toFixed(4)}  ${a.valNll.toFixed(4)}  ${a.finalTrainLoss.toFixed(4).padStart(10)}  ${a.msPerStep.toFixed(1).padStart(7)}`)
  }
  for (const a of r.results) if (a.coefficients) console.log(`${a.activation} layer-0 coefficients [a_r..a_1, a_0]: ${a.coefficients.map((v) => v.toFixed(3)).join(', ')}`)
  const best = [...r.results].sort((a, b) => a.valPerplexity - b.valPerplexity)
  console.log(`ranking (lower ppl first): ${best.map((a) => a.activation).join(' < ')}; total ${r.seconds.toFixed(1)} s`)
}

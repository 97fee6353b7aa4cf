/**
 * @file A shared, fair harness for character-level language models on the bundled names
 * (data/names-female.txt + data/names-male.txt), used by the demos that compare architectures
 * (sheet 38 PolyCom, sheet 63 TokenFormer). Node-only (reads data/ through src/node/datasets.ts).
 *
 * Data: the union of both lists, lower-cased and deduplicated, sorted, then split train/validation by
 * a seeded shuffle. Vocabulary: '.' (BOS = EOS, makemore's convention, https://github.com/karpathy/makemore)
 * then every character. Each name is one window '.' + name + '.', so a window never spans two names:
 *   ids    = [BOS, c_1, ..., c_n]          (B, T) int32, right-padded with EOS
 *   target = [c_1, ..., c_n, EOS]          (B, T) int32, padding = IGNORE (no loss)
 * T is the longest window of the batch (at most `context` = longest name + 1). Padding every batch
 * to `context` would give the same losses for a causal model (padding sits after every real token);
 * trimming only saves compute.
 *
 * Fairness: `trainLM` draws its batches from its own `Generator(seed)` (not the model's), so every
 * model trained with the same options sees the same batches in the same order, with the same AdamW
 * hyperparameters and warmup + cosine schedule. Validation perplexity is exp of the mean token NLL
 * over every target of every validation name (EOS included), with log-softmax in float64 and the sum
 * kept in a float64 number.
 */
import { Generator, TesseraError, fromTypedArray, noGrad, optim, type Tensor, type nn } from '../../src/index.ts'
import { CharVocab } from '../../src/data/vocab.ts'
import { generate } from '../../src/generate/generate.ts'
import { loadDataset } from '../../src/node/datasets.ts'

/** The target id that carries no loss. */
export const IGNORE = -100

/** Any causal LM the harness can train: ids (B, T) int32 -> logits (B, T, V). */
export type LanguageModel = nn.Module & { readonly vocabSize: number; forward(ids: Tensor): Tensor }

export interface NamesData {
  vocab: CharVocab
  /** '.' : start and end of every name. */
  bos: number
  eos: number
  /** Token ids of '.' + name + '.' per name. */
  train: number[][]
  val: number[][]
  trainNames: string[]
  valNames: string[]
  /** Longest window (longest name + 1 input tokens). */
  context: number
}

/**
 * Loads, lower-cases and deduplicates both name lists, shuffles them with `Generator(seed)` and keeps
 * `valFraction` for validation. `maxTrain` and `maxVal` keep only the first names of each part (quick modes).
 */
export function loadNames(opts: { seed?: number; valFraction?: number; maxTrain?: number; maxVal?: number } = {}): NamesData {
  const names = [...new Set([...loadDataset('names-female'), ...loadDataset('names-male')].map((s) => s.toLowerCase()))].sort()
  const g = new Generator(opts.seed ?? 0)
  for (let i = names.length - 1; i > 0; i--) { // Fisher-Yates
    const j = g.nextInt(0, i + 1)
    ;[names[i], names[j]] = [names[j], names[i]]
  }
  const nVal = Math.round(names.length * (opts.valFraction ?? 0.1))
  const valNames = names.slice(0, Math.min(nVal, opts.maxVal ?? nVal))
  const trainNames = names.slice(nVal, opts.maxTrain === undefined ? undefined : nVal + opts.maxTrain)
  const vocab = CharVocab.fromTexts(names, { specials: ['.'] })
  const enc = (s: string): number[] => vocab.encode(`.${s}.`)
  const context = Math.max(...names.map((s) => s.length)) + 1
  return { vocab, bos: 0, eos: 0, train: trainNames.map(enc), val: valNames.map(enc), trainNames, valNames, context }
}

/** ids (B, T) and targets (B, T) int32 for these windows, T = the longest row minus one. */
export function makeBatch(rows: readonly (readonly number[])[], pad: number): { ids: Tensor; targets: Tensor; tokens: number } {
  const B = rows.length
  const T = Math.max(...rows.map((r) => r.length)) - 1
  const ids = new Int32Array(B * T).fill(pad) // (B, T)
  const tg = new Int32Array(B * T).fill(IGNORE) // (B, T)
  let tokens = 0
  rows.forEach((r, b) => {
    for (let t = 0; t + 1 < r.length; t++) {
      ids[b * T + t] = r[t]
      tg[b * T + t] = r[t + 1]
      tokens++
    }
  })
  return { ids: fromTypedArray(ids, [B, T], 'int32'), targets: fromTypedArray(tg, [B, T], 'int32'), tokens }
}

/** Mean next-token NLL over the non-ignored targets: the training loss (differentiable). */
export function lmLoss(logits: Tensor, targets: Tensor): Tensor {
  const [B, T, V] = logits.shape
  const valid = targets.ne(IGNORE) // (B, T)
  const safe = targets.where(valid, 0).reshape([B, T, 1]) // (B, T, 1)
  const nll = logits.logSoftmax(2).gather(2, safe).reshape([B, T]).neg() // (B, T)
  const n = Array.from(valid.data()).reduce((s: number, v) => s + Number(v), 0)
  if (n === 0 || V === 0) throw new TesseraError('lmLoss: the batch has no targets')
  return nll.where(valid, 0).sum().div(n)
}

export interface Perplexity { nll: number; perplexity: number; tokens: number }

/**
 * exp(mean token NLL) of the model over `rows` (every target, EOS included). Log-softmax runs in
 * float64 and the sum is a float64 number, so a model whose logits are all equal scores exactly V.
 */
export function perplexity(model: LanguageModel, rows: readonly (readonly number[])[], opts: { batchSize?: number; pad?: number } = {}): Perplexity {
  const bs = opts.batchSize ?? 256
  const wasTraining = model.training
  model.eval()
  let sum = 0, tokens = 0
  noGrad(() => {
    for (let i = 0; i < rows.length; i += bs) {
      const { ids, targets } = makeBatch(rows.slice(i, i + bs), opts.pad ?? 0)
      const logp = model.forward(ids).double().logSoftmax(2).contiguous().data() // (B, T, V) float64
      const tg = targets.data(), V = model.vocabSize
      for (let k = 0; k < tg.length; k++) {
        if (tg[k] === IGNORE) continue
        sum -= logp[k * V + tg[k]]
        tokens++
      }
    }
  })
  model.train(wasTraining)
  return { nll: sum / tokens, perplexity: Math.exp(sum / tokens), tokens }
}

/** Perplexity on `val` of the add-one-smoothed unigram distribution of the training targets. */
export function unigramPerplexity(data: NamesData): number {
  const V = data.vocab.size
  const counts = new Float64Array(V).fill(1)
  let total = V
  for (const r of data.train) for (let t = 1; t < r.length; t++) { counts[r[t]]++; total++ }
  let sum = 0, n = 0
  for (const r of data.val) for (let t = 1; t < r.length; t++) { sum -= Math.log(counts[r[t]] / total); n++ }
  return Math.exp(sum / n)
}

export interface TrainOptions {
  steps: number
  batchSize: number
  /** Peak learning rate. */
  lr: number
  /** Linear warmup steps (default 10% of steps), then cosine decay to `minLrRatio`·lr at `steps`. */
  warmupSteps?: number
  minLrRatio?: number
  /** AdamW decay on matrices (ndim ≥ 2); vectors and scalars (norms, biases, activation coefficients) get none. Default 0.1. */
  weightDecay?: number
  betas?: [number, number]
  /** Global gradient-norm clip (default 1). */
  clip?: number
  /** Seed of the batch order (default 0). */
  seed?: number
  /** Measure validation perplexity every this many steps (and at the end); 0 = only at the end. */
  evalEvery?: number
  label?: string
  log?: (line: string) => void
}

export interface TrainResult {
  /** Training loss (mean token NLL) per step. */
  losses: number[]
  /** Validation measurements taken during training (the last one is at `steps`). */
  evals: { step: number; perplexity: number; nll: number }[]
  valPerplexity: number
  valNll: number
  /** Training wall time (validation excluded), seconds. */
  seconds: number
  msPerStep: number
  params: number
}

/**
 * Trains `model` with AdamW under linear warmup + cosine decay (optim.WarmupDecayLR) and gradient
 * clipping; batches are `batchSize` names drawn with replacement by `Generator(seed)`.
 * @example
 *   const r = trainLM(lm, loadNames(), { steps: 300, batchSize: 32, lr: 3e-3 })
 *   r.valPerplexity
 */
export function trainLM(model: LanguageModel, data: NamesData, opts: TrainOptions): TrainResult {
  const { steps, batchSize } = opts
  const named = [...model.namedParameters()]
  const decay = named.filter(([, p]) => p.ndim >= 2), rest = named.filter(([, p]) => p.ndim < 2)
  const groups = [{ params: decay, weightDecay: opts.weightDecay ?? 0.1 }, { params: rest, weightDecay: 0 }].filter((gr) => gr.params.length > 0)
  const opt = new optim.AdamW(groups, { lr: opts.lr, betas: opts.betas ?? [0.9, 0.95] })
  const warmupSteps = opts.warmupSteps ?? Math.floor(steps / 10)
  const sched = new optim.WarmupDecayLR(opt, { warmupSteps, totalSteps: Math.max(steps, warmupSteps + 1), decay: 'cosine', minLrRatio: opts.minLrRatio ?? 0.1 })
  const g = new Generator(opts.seed ?? 0)
  const params = model.parameters()
  const losses: number[] = [], evals: TrainResult['evals'] = []
  let ms = 0
  model.train()
  const measure = (step: number): void => {
    const p = perplexity(model, data.val, { pad: data.eos })
    evals.push({ step, perplexity: p.perplexity, nll: p.nll })
    opts.log?.(`${opts.label ?? 'model'} step ${step}: train loss ${(losses.at(-1) ?? NaN).toFixed(4)}, val ppl ${p.perplexity.toFixed(4)}`)
  }
  for (let s = 0; s < steps; s++) {
    const rows = Array.from({ length: batchSize }, () => data.train[g.nextInt(0, data.train.length)])
    const t0 = performance.now()
    const { ids, targets } = makeBatch(rows, data.eos)
    const loss = lmLoss(model.forward(ids), targets)
    opt.zeroGrad()
    loss.backward()
    if (opts.clip !== 0) optim.clipGradNorm(params, opts.clip ?? 1)
    opt.step()
    sched.step()
    losses.push(loss.item())
    ms += performance.now() - t0
    if (opts.evalEvery && (s + 1) % opts.evalEvery === 0 && s + 1 < steps) measure(s + 1)
  }
  measure(steps)
  const last = evals[evals.length - 1]
  return { losses, evals, valPerplexity: last.perplexity, valNll: last.nll, seconds: ms / 1000, msPerStep: ms / Math.max(1, steps), params: countParameters(model) }
}

/** Number of trainable scalars. */
export function countParameters(model: nn.Module): number {
  return model.numParameters()
}

/** `n` names sampled from BOS with `Generator(seed)` (temperature 1 unless given), EOS stripped. */
export function sampleNames(model: LanguageModel, data: NamesData, opts: { n?: number; seed?: number; temperature?: number } = {}): string[] {
  const n = opts.n ?? 5
  const wasTraining = model.training
  model.eval()
  const out = generate(model, Array.from({ length: n }, () => [data.bos]), {
    maxNewTokens: data.context, stopTokens: [data.eos], temperature: opts.temperature ?? 1, generator: new Generator(opts.seed ?? 0), useCache: false,
  })
  model.train(wasTraining)
  return out.responses.map((r) => data.vocab.decode(r.filter((t) => t !== data.eos)))
}

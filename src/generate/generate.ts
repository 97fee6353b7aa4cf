/**
 * @file Autoregressive generation for any causal sequence model (the `SequenceModel` interface), run
 * under `noGrad` so no tape is built. Greedy, temperature, top-k and top-p sampling (see sampling.ts),
 * stop tokens per row, a cap on new tokens, and batches of prompts of different lengths.
 *
 * Padding convention: prompts are RIGHT-padded with `padId` into one (B, L) int32 buffer, and the
 * model must be causal (logits at position t depend only on tokens 0..t). Row b's next token is read
 * from the logits at its own last position (len_b − 1 + generated so far); positions after it hold
 * padding or later tokens, which a causal model never sees, so no attention mask and no position
 * shift are needed. With `step`, all rows are fed column by column from position 0: a row still inside
 * its prompt is fed its prompt token, a row past it its last generated token, a finished row padding.
 * Both paths pick the same tokens (tested). Reference: Hugging Face `generate`
 * (https://huggingface.co/docs/transformers/main_classes/text_generation), which left-pads instead
 * because its transformers take an attention mask; a right-padded causal buffer needs none.
 */
import { defaultGenerator, type Generator } from '../rng.ts'
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { checkSampling, selectToken, type SamplingOptions } from './sampling.ts'

/** A causal model over token ids. */
export interface SequenceModel<S = unknown> {
  /** V, the size of the output distribution. */
  readonly vocabSize: number
  /** ids (B, T) int32 -> logits (B, T, V). */
  forward(ids: Tensor): Tensor
  /** Optional incremental step: tokens (B,) int32 and the state after the previous tokens -> logits (B, V). */
  step?(state: S | null, tokens: Tensor): { logits: Tensor; state: S }
}

export interface GenerateOptions extends SamplingOptions {
  /** Upper bound on generated tokens per row (the stop token counts). */
  maxNewTokens: number
  /** Generation of a row ends right after it emits one of these (the stop token is kept in the response). */
  stopTokens?: readonly number[]
  /** Fills the buffer past each row's end. Default 0. */
  padId?: number
  /** Source of the sampling uniforms (default: the default generator). Greedy draws nothing. */
  generator?: Generator
  /** Use `model.step` when present (default true); false recomputes the whole prefix each step. */
  useCache?: boolean
}

export interface GenerateResult {
  /** (B, L) int32: prompt then response per row, right-padded with padId; L = max_b(len_b + n_b). */
  sequences: Tensor
  prompts: number[][]
  /** Generated tokens per row (stop token included). */
  responses: number[][]
  /** True where the row ended on a stop token. */
  stopped: boolean[]
}

/**
 * Generates up to `maxNewTokens` per prompt. Greedy when temperature is 0 or topK is 1.
 * @example
 *   const out = generate(lm, [[1, 5], [1]], { maxNewTokens: 8, temperature: 0.8, topP: 0.9, generator: new Generator(0) })
 *   out.responses // number[][]
 */
export function generate<S>(model: SequenceModel<S>, prompts: readonly (readonly number[])[], opts: GenerateOptions): GenerateResult {
  const op = 'generate'
  checkSampling(op, opts)
  const maxNew = opts.maxNewTokens
  if (!(Number.isInteger(maxNew) && maxNew >= 0)) throw new TesseraError(`${op}: maxNewTokens must be a non-negative integer, got ${maxNew}`)
  const B = prompts.length
  if (B === 0) throw new TesseraError(`${op}: need at least one prompt`)
  const V = model.vocabSize
  const lens = prompts.map((p, b) => {
    if (p.length === 0) throw new TesseraError(`${op}: prompt ${b} is empty; start every prompt with at least one token (e.g. BOS)`)
    for (const id of p) if (!(Number.isInteger(id) && id >= 0 && id < V)) throw new TesseraError(`${op}: prompt ${b} has token ${id} outside [0, ${V})`)
    return p.length
  })
  const padId = opts.padId ?? 0
  const stop = new Set(opts.stopTokens ?? [])
  const gen = opts.generator ?? defaultGenerator
  const Lp = Math.max(...lens)
  const total = Lp + maxNew
  const buf = new Int32Array(B * total).fill(padId) // (B, total), row-major
  prompts.forEach((p, b) => buf.set(p, b * total))
  const responses: number[][] = prompts.map(() => [])
  const stopped = prompts.map(() => false)
  const done = prompts.map(() => maxNew === 0)
  const cached = (opts.useCache ?? true) && typeof model.step === 'function'
  noGrad(() => {
    let state: S | null = null
    const t0 = cached ? 0 : Math.min(...lens) - 1
    for (let t = t0; t < total - 1 && done.some((d) => !d); t++) {
      let logits: Tensor // (B, V)
      if (cached) {
        const col = new Int32Array(B) // (B,)
        for (let b = 0; b < B; b++) col[b] = buf[b * total + t]
        const r: { logits: Tensor; state: S } = model.step!(state, fromTypedArray(col, [B], 'int32'))
        logits = r.logits
        state = r.state
      } else {
        const ids = new Int32Array(B * (t + 1)) // (B, t + 1)
        for (let b = 0; b < B; b++) ids.set(buf.subarray(b * total, b * total + t + 1), b * (t + 1))
        logits = model.forward(fromTypedArray(ids, [B, t + 1], 'int32')).select(1, t)
      }
      if (logits.ndim !== 2 || logits.shape[0] !== B || logits.shape[1] !== V) {
        throw new TesseraError(`${op}: the model returned logits of shape [${logits.shape}], expected [${B},${V}] per position`)
      }
      const data = logits.contiguous().data() // (B, V)
      for (let b = 0; b < B; b++) {
        if (done[b] || t < lens[b] - 1) continue
        const tok = selectToken(data.subarray(b * V, (b + 1) * V) as ArrayLike<number>, opts, gen)
        buf[b * total + t + 1] = tok
        responses[b].push(tok)
        if (stop.has(tok)) { stopped[b] = true; done[b] = true }
        if (responses[b].length >= maxNew) done[b] = true
      }
    }
  })
  const L = Math.max(...lens.map((n, b) => n + responses[b].length))
  const out = new Int32Array(B * L) // (B, L)
  for (let b = 0; b < B; b++) out.set(buf.subarray(b * total, b * total + L), b * L)
  return { sequences: fromTypedArray(out, [B, L], 'int32'), prompts: prompts.map((p) => [...p]), responses, stopped }
}

/** Greedy decoding (argmax at every step); draws no randomness. */
export function greedy<S>(model: SequenceModel<S>, prompts: readonly (readonly number[])[], opts: Omit<GenerateOptions, 'temperature' | 'topK' | 'topP'>): GenerateResult {
  return generate(model, prompts, { ...opts, temperature: 0 })
}

/** Sampling with the sheet-12 defaults (temperature 1, topP 0.9) unless overridden. */
export function sample<S>(model: SequenceModel<S>, prompts: readonly (readonly number[])[], opts: GenerateOptions): GenerateResult {
  return generate(model, prompts, { temperature: 1, topP: 0.9, ...opts })
}

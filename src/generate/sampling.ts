/**
 * @file Next-token selection from one row of logits (V,): greedy argmax, temperature, top-k and top-p
 * (nucleus) filtering, and an inverse-CDF draw from a seeded Generator. Pure functions on typed arrays,
 * no tensors and no tape, so the RL code and the tests can call them on hand-made distributions.
 *
 * Conventions (as Hugging Face `generate`, https://huggingface.co/docs/transformers/generation_strategies):
 *   p = softmax(logits / temperature); top-k keeps the k most probable tokens; top-p keeps the smallest
 *   set of most probable tokens whose mass is >= p (Holtzman et al. 2020, https://arxiv.org/abs/1904.09751,
 *   Eqn (2)); the kept probabilities are renormalised. Ties are broken toward the lower token id.
 *   temperature 0 (or topK 1) is greedy. One uniform (nextFloat64) is drawn per sampled token.
 */
import { TesseraError } from '../errors.ts'
import type { Generator } from '../rng.ts'

export interface SamplingOptions {
  /** Divides the logits; 0 means greedy. Default 1. */
  temperature?: number
  /** Keep only the k most probable tokens (0 or undefined: all). */
  topK?: number
  /** Keep the smallest most-probable set with mass >= topP (1 or undefined: all). */
  topP?: number
}

/** Throws a TesseraError unless the sampling options are in range. */
export function checkSampling(op: string, o: SamplingOptions): void {
  const t = o.temperature ?? 1
  if (!(t >= 0) || !Number.isFinite(t)) throw new TesseraError(`${op}: temperature must be a finite number >= 0, got ${o.temperature}`)
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) throw new TesseraError(`${op}: topK must be a non-negative integer, got ${o.topK}`)
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) throw new TesseraError(`${op}: topP must be in (0, 1], got ${o.topP}`)
}

/** Index of the largest logit (lowest index on ties). logits (V,). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0
  for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v
  return best
}

/** Token ids sorted by descending value, ties by ascending id. */
function sortedIds(values: ArrayLike<number>): number[] {
  const ids = Array.from({ length: values.length }, (_, i) => i)
  return ids.sort((a, b) => (values[b] - values[a]) || (a - b))
}

/**
 * The filtered, renormalised next-token distribution (V,) for temperature > 0: softmax(logits / T),
 * then top-k, then top-p. Filtered-out tokens get probability exactly 0.
 * @example
 *   filterProbs([2, 1, 0], { topK: 2 }) // Float64Array [0.731, 0.269, 0]
 */
export function filterProbs(logits: ArrayLike<number>, o: SamplingOptions = {}): Float64Array {
  checkSampling('filterProbs', o)
  const T = o.temperature ?? 1
  if (T === 0) throw new TesseraError('filterProbs: temperature 0 is greedy; call argmax instead')
  const V = logits.length
  if (V === 0) throw new TesseraError('filterProbs: empty logits')
  let m = -Infinity
  for (let v = 0; v < V; v++) m = Math.max(m, logits[v] / T)
  const p = new Float64Array(V) // (V,)
  let z = 0
  for (let v = 0; v < V; v++) { p[v] = Math.exp(logits[v] / T - m); z += p[v] }
  for (let v = 0; v < V; v++) p[v] /= z
  const k = o.topK ?? 0, topP = o.topP ?? 1
  if ((k > 0 && k < V) || topP < 1) {
    const order = sortedIds(p)
    let keep = k > 0 ? Math.min(k, V) : V
    if (topP < 1) {
      // Renormalise over the top-k first, then take the smallest prefix with mass >= topP.
      let massK = 0
      for (let i = 0; i < keep; i++) massK += p[order[i]]
      // NOTE: the 1e-12 slack keeps a boundary case (mass exactly p, e.g. 0.5 + 0.3 at p = 0.8) from
      // pulling in one extra token because exp/log round the probabilities by an ulp.
      let cum = 0, n = 0
      while (n < keep) { cum += p[order[n]] / massK; n++; if (cum >= topP - 1e-12) break }
      keep = n
    }
    for (let i = keep; i < V; i++) p[order[i]] = 0
    let s = 0
    for (let v = 0; v < V; v++) s += p[v]
    for (let v = 0; v < V; v++) p[v] /= s
  }
  return p
}

/** Draws an index from probs (V,) by inverse CDF over token ids in ascending order, using one uniform. */
export function sampleFromProbs(probs: ArrayLike<number>, gen: Generator): number {
  const u = gen.nextFloat64()
  let cum = 0, last = -1
  for (let v = 0; v < probs.length; v++) {
    if (probs[v] <= 0) continue
    last = v
    cum += probs[v]
    if (u < cum) return v
  }
  if (last < 0) throw new TesseraError('sampleFromProbs: the distribution has no positive mass')
  return last // u landed in the rounding gap above the cumulative sum
}

/** Chooses the next token from one row of logits (V,): greedy when temperature is 0 or topK is 1, else a draw. */
export function selectToken(logits: ArrayLike<number>, o: SamplingOptions, gen: Generator): number {
  if ((o.temperature ?? 1) === 0 || o.topK === 1) return argmax(logits)
  return sampleFromProbs(filterProbs(logits, o), gen)
}

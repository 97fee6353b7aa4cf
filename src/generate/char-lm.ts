/**
 * @file CharLM: a tiny character-level language model (embedding -> GRU -> linear head) implementing
 * `SequenceModel`, with an incremental `step` that carries the GRU state. Also usable as a value model
 * (critic) by giving `headSize: 1`. GRU: Cho et al. 2014 (https://arxiv.org/abs/1406.1078).
 *
 * Shapes (B batch, T time, V vocab, E embedding, H hidden, K = headSize, default V):
 *   ids (B, T) int32 -> emb (B, T, E) -> GRU (B, T, H) -> head (B, T, K).
 *   step: tokens (B,) int32, state h (numLayers, B, H) -> logits (B, K), new h.
 */
import { Module } from '../nn/module.ts'
import { Embedding } from '../nn/embedding.ts'
import { GRU } from '../nn/rnn.ts'
import { Linear } from '../nn/linear.ts'
import { check } from '../errors.ts'
import type { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import type { SequenceModel } from './generate.ts'

export interface CharLMOptions {
  vocabSize: number
  embedDim?: number
  hiddenSize?: number
  numLayers?: number
  /** Output width K; default vocabSize (a language model). 1 gives a per-position value head. */
  headSize?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * @example
 *   const lm = new CharLM({ vocabSize: 28, hiddenSize: 32, generator: new Generator(0) })
 *   lm.forward(ids) // ids (B, T) int32 -> (B, T, 28)
 */
export class CharLM extends Module implements SequenceModel<Tensor> {
  readonly vocabSize: number
  embed: Embedding
  rnn: GRU
  head: Linear

  constructor(opts: CharLMOptions) {
    super()
    check(Number.isInteger(opts.vocabSize) && opts.vocabSize > 0, 'CharLM', () => `vocabSize must be a positive integer, got ${opts.vocabSize}`)
    const E = opts.embedDim ?? 16, H = opts.hiddenSize ?? 32
    const K = opts.headSize ?? opts.vocabSize
    this.vocabSize = K
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.embed = new Embedding(opts.vocabSize, E, o)
    this.rnn = new GRU(E, H, { ...o, numLayers: opts.numLayers ?? 1, batchFirst: true })
    this.head = new Linear(H, K, o)
  }

  forward(ids: Tensor): Tensor {
    check(ids.ndim === 2, 'CharLM', () => `ids must be (B, T) int32, got shape [${ids.shape}]`)
    const { output } = this.rnn.forward(this.embed.forward(ids)) // (B, T, H)
    return this.head.forward(output) // (B, T, K)
  }

  step(state: Tensor | null, tokens: Tensor): { logits: Tensor; state: Tensor } {
    check(tokens.ndim === 1, 'CharLM.step', () => `tokens must be (B,) int32, got shape [${tokens.shape}]`)
    const x = this.embed.forward(tokens.unsqueeze(1)) // (B, 1, E)
    const { output, h } = this.rnn.forward(x, state ?? undefined) // (B, 1, H), (numLayers, B, H)
    return { logits: this.head.forward(output.select(1, 0)), state: h } // (B, K)
  }
}

/**
 * @file A small configurable decoder-only (causal) transformer language model with a pluggable
 * feed-forward module, shared by the paper files that swap one part of a GPT-style block
 * (sheet 38 PolyCom swaps the FFN activation; sheet 63 TokenFormer reuses `causalSelfAttention`).
 * Pre-norm blocks as in GPT-2 / LLaMA: x ← x + Attn(LN(x)); x ← x + FFN(LN(x)); final LN; linear head.
 * Positions enter through rotary embeddings (RoPE, Su et al. 2021, https://arxiv.org/abs/2104.09864)
 * on q and k, so there is no maximum length and no position parameters.
 * Reference: Vaswani et al. 2017, https://arxiv.org/abs/1706.03762; Radford et al. 2019 (GPT-2).
 *
 * Shapes (B batch, T time, V vocab, D model width, H heads, E = D / H head dim, F FFN hidden):
 *   ids (B, T) int32 -> embed (B, T, D) -> blocks (B, T, D) -> head (B, T, V).
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { scaledDotProductAttention } from '../ops/attention.ts'
import type { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from './module.ts'
import { ModuleList } from './containers.ts'
import { Linear } from './linear.ts'
import { LayerNorm } from './norm.ts'
import { Embedding } from './embedding.ts'
import { GELU, ReLU, SiLU } from './activation.ts'
import { applyRotaryEmbedding } from './positional.ts'
import { PolyNorm, PolyReLU } from './arch/38-polycom.ts'

type DT = 'float32' | 'float64'

/** A module mapping (B, T, D) -> (B, T, D). */
export type SequenceMap = Module & { forward(x: Tensor): Tensor }

/**
 * Multi-head causal softmax attention of already-projected q, k, v (B, T, D), with RoPE on the first
 * `rotaryDim` features of every head (default: all E; 0 disables it):
 *   out_h = softmax(q_h k_hᵀ / √E + causal mask) v_h,  heads concatenated back to (B, T, D).
 * @example
 *   const o = causalSelfAttention(q, k, v, 4) // q, k, v (B, T, D) -> (B, T, D)
 */
export function causalSelfAttention(q: Tensor, k: Tensor, v: Tensor, numHeads: number, opts: { rotaryDim?: number } = {}): Tensor {
  check(q.ndim === 3 && k.ndim === 3 && v.ndim === 3, 'causalSelfAttention', () => `q, k, v must be (B, T, D), got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`)
  const [B, T, D] = q.shape
  check(D % numHeads === 0, 'causalSelfAttention', () => `D = ${D} must be divisible by numHeads = ${numHeads}`)
  const E = D / numHeads
  const R = opts.rotaryDim ?? E
  const heads = (t: Tensor): Tensor => t.reshape([B, T, numHeads, E]).permute([0, 2, 1, 3]) // (B, H, T, E)
  const rope = (t: Tensor): Tensor => (R > 0 ? applyRotaryEmbedding(t, 0, { rotaryDim: R }) : t)
  const o = scaledDotProductAttention(rope(heads(q)), rope(heads(k)), heads(v), { isCausal: true }) // (B, H, T, E)
  return o.permute([0, 2, 1, 3]).reshape([B, T, D]) // (B, T, D)
}

export interface LayerOptions { generator?: Generator; dtype?: DT; bias?: boolean }

/** Causal self-attention with a fused QKV Linear (D -> 3D) and an output Linear (D -> D). */
export class CausalSelfAttention extends Module {
  qkv: Linear
  proj: Linear
  constructor(readonly dModel: number, readonly numHeads: number, opts: LayerOptions & { rotaryDim?: number } = {}) {
    super()
    check(dModel % numHeads === 0, 'CausalSelfAttention', () => `dModel ${dModel} must be divisible by numHeads ${numHeads}`)
    const o = { generator: opts.generator, dtype: opts.dtype, bias: opts.bias ?? false }
    this.qkv = new Linear(dModel, 3 * dModel, o)
    this.proj = new Linear(dModel, dModel, o)
    this.rotaryDim = opts.rotaryDim
  }
  private readonly rotaryDim?: number

  forward(x: Tensor): Tensor {
    const [q, k, v] = this.qkv.forward(x).chunk(3, -1) // 3 × (B, T, D)
    return this.proj.forward(causalSelfAttention(q, k, v, this.numHeads, { rotaryDim: this.rotaryDim }))
  }
}

/** The activation of a `TransformerMLP`: a name (PolyReLU / PolyNorm of order 3: sheet 38) or any module (..., F) -> (..., F). */
export type MLPActivation = 'gelu' | 'relu' | 'silu' | 'polyrelu' | 'polynorm' | SequenceMap

function makeActivation(a: MLPActivation, dtype?: DT): SequenceMap {
  if (typeof a !== 'string') return a
  switch (a) {
    case 'gelu': return new GELU()
    case 'relu': return new ReLU()
    case 'silu': return new SiLU()
    case 'polyrelu': return new PolyReLU({ dtype })
    case 'polynorm': return new PolyNorm({ dtype })
    default: throw new TesseraError(`TransformerMLP: activation must be 'gelu', 'relu', 'silu', 'polyrelu', 'polynorm' or a module, got ${JSON.stringify(a)}`)
  }
}

/**
 * The plain two-matrix FFN: y = W2 act(W1 x) (bias-free by default), W1 (F, D), W2 (D, F).
 * Parameters: 2·D·F (+ 4 scalars with 'polyrelu' / 'polynorm'). Reference: Vaswani et al. 2017, Eqn (2).
 * @example
 *   const ffn = new TransformerMLP(32, 128, { activation: 'polynorm' })
 */
export class TransformerMLP extends Module {
  fc1: Linear
  act: SequenceMap
  fc2: Linear
  constructor(readonly dModel: number, readonly hidden: number, opts: LayerOptions & { activation?: MLPActivation } = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype, bias: opts.bias ?? false }
    this.fc1 = new Linear(dModel, hidden, o)
    this.act = makeActivation(opts.activation ?? 'gelu', opts.dtype)
    this.fc2 = new Linear(hidden, dModel, o)
  }
  forward(x: Tensor): Tensor {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x))) // (B, T, D)
  }
}

/**
 * The gated SwiGLU FFN: y = W2 (SiLU(W1 x) ⊙ W3 x), W1, W3 (F, D), W2 (D, F). Parameters: 3·D·F, so
 * F = 2/3 of a plain MLP's hidden width matches its size.
 * Reference: Shazeer 2020, "GLU Variants Improve Transformer", https://arxiv.org/abs/2002.05202
 * @example
 *   const ffn = new SwiGLUMLP(32, 85)
 */
export class SwiGLUMLP extends Module {
  gate: Linear
  up: Linear
  down: Linear
  constructor(readonly dModel: number, readonly hidden: number, opts: LayerOptions = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype, bias: opts.bias ?? false }
    this.gate = new Linear(dModel, hidden, o)
    this.up = new Linear(dModel, hidden, o)
    this.down = new Linear(hidden, dModel, o)
  }
  forward(x: Tensor): Tensor {
    return this.down.forward(this.gate.forward(x).silu().mul(this.up.forward(x))) // (B, T, D)
  }
}

/** Pre-norm block: x ← x + attn(LN1(x)); x ← x + ffn(LN2(x)). */
export class TransformerBlock extends Module {
  norm1: LayerNorm
  attn: SequenceMap
  norm2: LayerNorm
  ffn: SequenceMap
  constructor(dModel: number, attn: SequenceMap, ffn: SequenceMap, opts: { dtype?: DT; elementwiseAffine?: boolean } = {}) {
    super()
    this.norm1 = new LayerNorm(dModel, { dtype: opts.dtype, elementwiseAffine: opts.elementwiseAffine })
    this.attn = attn
    this.norm2 = new LayerNorm(dModel, { dtype: opts.dtype, elementwiseAffine: opts.elementwiseAffine })
    this.ffn = ffn
  }
  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.norm1.forward(x))) // (B, T, D)
    return h.add(this.ffn.forward(this.norm2.forward(h)))
  }
}

export interface TransformerLMOptions {
  vocabSize: number
  dModel?: number
  numLayers?: number
  numHeads?: number
  /** FFN hidden width of the default GELU MLP (default 4·dModel). */
  ffnHidden?: number
  /** Builds layer i's FFN (B, T, D) -> (B, T, D); default a GELU `TransformerMLP(dModel, ffnHidden)`. */
  ffn?: (layer: number) => SequenceMap
  /** Builds a whole block; overrides `ffn` (for architectures that change attention too). */
  block?: (layer: number) => SequenceMap
  generator?: Generator
  dtype?: DT
}

/**
 * A GPT-style causal LM over token ids: logits = head(LN_f(blocks(embed(ids)))).
 * Implements generate's `SequenceModel` (forward only; no KV cache).
 * @example
 *   const lm = new TransformerLM({ vocabSize: 29, dModel: 32, numLayers: 2, numHeads: 2, generator: new Generator(0) })
 *   lm.forward(ids) // ids (B, T) int32 -> (B, T, 29)
 */
export class TransformerLM extends Module {
  readonly vocabSize: number
  readonly dModel: number
  embed: Embedding
  blocks: ModuleList
  normF: LayerNorm
  head: Linear

  constructor(opts: TransformerLMOptions) {
    super()
    const V = opts.vocabSize, D = opts.dModel ?? 32, L = opts.numLayers ?? 2, H = opts.numHeads ?? 2
    check(Number.isInteger(V) && V > 0, 'TransformerLM', () => `vocabSize must be a positive integer, got ${V}`)
    check(Number.isInteger(D) && D > 0 && D % H === 0, 'TransformerLM', () => `dModel ${D} must be a positive multiple of numHeads ${H}`)
    this.vocabSize = V
    this.dModel = D
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.embed = new Embedding(V, D, o)
    const ffn = opts.ffn ?? (() => new TransformerMLP(D, opts.ffnHidden ?? 4 * D, o))
    const block = opts.block ?? ((i: number) => new TransformerBlock(D, new CausalSelfAttention(D, H, o), ffn(i), { dtype: opts.dtype }))
    this.blocks = new ModuleList(Array.from({ length: L }, (_, i) => block(i)))
    this.normF = new LayerNorm(D, { dtype: opts.dtype })
    this.head = new Linear(D, V, o)
  }

  forward(ids: Tensor): Tensor {
    check(ids.ndim === 2, 'TransformerLM', () => `ids must be (B, T) int32, got shape ${fmtShape(ids.shape)}`)
    let x = this.embed.forward(ids) // (B, T, D)
    for (const b of this.blocks) x = (b as SequenceMap).forward(x)
    return this.head.forward(this.normF.forward(x)) // (B, T, V)
  }
}

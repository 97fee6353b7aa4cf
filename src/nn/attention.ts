/**
 * @file MultiheadAttention and TransformerEncoderLayer, PyTorch-compatible (parameter names
 * `in_proj_weight`, `in_proj_bias`, `out_proj.*`, `self_attn.*`, `linear1`, `norm1`...; the same mask
 * conventions; `batchFirst` false by default, i.e. (L, N, E)), on the fused `F.scaledDotProductAttention`.
 * Reference: Vaswani et al. 2017, https://arxiv.org/abs/1706.03762;
 * https://pytorch.org/docs/stable/generated/torch.nn.MultiheadAttention.html
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { zeros } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { linear, dropout } from '../functional.ts'
import { where } from '../ops/elementwise.ts'
import { scaledDotProductAttention } from '../ops/attention.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { Linear } from './linear.ts'
import { LayerNorm } from './norm.ts'
import { Dropout, GELU, ReLU } from './activation.ts'
import { xavierUniform_ } from './init.ts'

export interface MultiheadAttentionOptions {
  dropout?: number
  bias?: boolean
  /** Inputs are (N, L, E) instead of (L, N, E). */
  batchFirst?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

export interface AttentionCall {
  /** (N, S) or (S,): true (or -inf) marks keys to ignore. */
  keyPaddingMask?: Tensor | null
  /** (L, S) or (N*H, L, S): true marks pairs NOT allowed to attend (PyTorch's MHA convention), or floats added to the scores. */
  attnMask?: Tensor | null
  /** Return the attention weights (computed explicitly; default true as in PyTorch). */
  needWeights?: boolean
  /** Average the weights over heads (default true). */
  averageAttnWeights?: boolean
  /** Causal (j <= i) attention; may replace attnMask. */
  isCausal?: boolean
}

/** Converts a MHA-convention mask (true = blocked) to an additive float mask or an SDPA keep-mask. */
function additive(mask: Tensor, dtype: 'float32' | 'float64'): Tensor {
  return mask.dtype === 'bool' ? where(mask, -Infinity, zeros([], { dtype })) : mask.to(dtype)
}

export class MultiheadAttention extends Module {
  in_proj_weight: Parameter
  in_proj_bias: Parameter | null
  out_proj: Linear
  readonly headDim: number
  readonly dropoutP: number
  readonly batchFirst: boolean
  private readonly generator?: Generator

  constructor(readonly embedDim: number, readonly numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super()
    if (!Number.isInteger(embedDim) || !Number.isInteger(numHeads) || numHeads <= 0 || embedDim % numHeads !== 0) {
      throw new TesseraError(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`)
    }
    this.headDim = embedDim / numHeads
    this.dropoutP = opts.dropout ?? 0
    this.batchFirst = opts.batchFirst ?? false
    this.generator = opts.generator
    this.in_proj_weight = new Parameter(zeros([3 * embedDim, embedDim], { dtype: opts.dtype }))
    xavierUniform_(this.in_proj_weight, { generator: opts.generator })
    this.in_proj_bias = opts.bias === false ? null : new Parameter(zeros([3 * embedDim], { dtype: opts.dtype }))
    this.out_proj = new Linear(embedDim, embedDim, { bias: opts.bias !== false, generator: opts.generator, dtype: opts.dtype })
    if (this.out_proj.bias) this.out_proj.bias.detach().zero_()
  }

  /** Attention of query (L, N, E) over key/value (S, N, E) (or batch-first, or unbatched (L, E)). */
  forward(query: Tensor, key: Tensor, value: Tensor, call: AttentionCall = {}): { output: Tensor; weights: Tensor | null } {
    const E = this.embedDim, H = this.numHeads, D = this.headDim
    const unbatched = query.ndim === 2
    const batch = (t: Tensor): Tensor => (unbatched ? t.unsqueeze(this.batchFirst ? 0 : 1) : t)
    let [q, k, v] = [batch(query), batch(key), batch(value)]
    for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
      if (t.ndim !== 3 || t.shape[2] !== E) throw new TesseraError(`MultiheadAttention: ${name} must be (${this.batchFirst ? 'N, L' : 'L, N'}, ${E}) or unbatched (L, ${E}), got ${fmtShape(t.shape)}`)
    }
    if (!this.batchFirst) [q, k, v] = [q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)] // -> (N, L, E)
    const N = q.shape[0], L = q.shape[1], S = k.shape[1]
    if (k.shape[0] !== N || v.shape[0] !== N || v.shape[1] !== S) {
      throw new TesseraError(`MultiheadAttention: batch or source sizes differ: query ${fmtShape(query.shape)}, key ${fmtShape(key.shape)}, value ${fmtShape(value.shape)}`)
    }
    const [wq, wk, wv] = this.in_proj_weight.chunk(3, 0)
    const [bq, bk, bv] = this.in_proj_bias ? this.in_proj_bias.chunk(3, 0) : [null, null, null]
    const heads = (t: Tensor, len: number): Tensor => t.reshape([N, len, H, D]).permute([0, 2, 1, 3]) // (N, H, len, D)
    const qh = heads(linear(q, wq, bq), L), kh = heads(linear(k, wk, bk), S), vh = heads(linear(v, wv, bv), S)

    const mask = this.combinedMask(call, N, L, S, q.dtype === 'float64' ? 'float64' : 'float32')
    const p = this.training ? this.dropoutP : 0
    let out: Tensor
    let weights: Tensor | null = null
    if (call.needWeights ?? true) {
      // Explicit weights: softmax(q k^T / sqrt(D) + mask), then dropout, then weights @ v.
      let scores = qh.matmul(kh.mT).mul(1 / Math.sqrt(D))
      if (mask) scores = scores.add(mask)
      const w = scores.softmax(-1) // (N, H, L, S)
      out = dropout(w, p, { training: p > 0, generator: this.generator }).matmul(vh)
      weights = call.averageAttnWeights ?? true ? w.mean(1) : w
    } else {
      out = scaledDotProductAttention(qh, kh, vh, { attnMask: mask, dropoutP: p, generator: this.generator })
    }
    let y = this.out_proj.forward(out.permute([0, 2, 1, 3]).reshape([N, L, E])) // (N, L, E)
    if (!this.batchFirst) y = y.transpose(0, 1)
    if (unbatched) {
      y = y.squeeze(this.batchFirst ? 0 : 1)
      if (weights) weights = weights.squeeze(0)
    }
    return { output: y, weights }
  }

  /** One additive mask broadcastable to (N, H, L, S), or null. */
  private combinedMask(call: AttentionCall, N: number, L: number, S: number, dtype: 'float32' | 'float64'): Tensor | null {
    let mask: Tensor | null = null
    let attn = call.attnMask ?? null
    if (call.isCausal && !attn) attn = zeros([L, S], { dtype: 'bool' }).logicalNot().triu(1)
    if (attn) {
      if (!(attn.dtype === 'bool' || isFloating(attn.dtype))) throw new TesseraError(`MultiheadAttention: attnMask must be bool or float, got ${attn.dtype}`)
      if (attn.ndim === 2) {
        if (attn.shape[0] !== L || attn.shape[1] !== S) throw new TesseraError(`MultiheadAttention: attnMask must be (${L}, ${S}), got ${fmtShape(attn.shape)}`)
        mask = additive(attn, dtype)
      } else if (attn.ndim === 3 && attn.shape[0] === N * this.numHeads && attn.shape[1] === L && attn.shape[2] === S) {
        mask = additive(attn, dtype).reshape([N, this.numHeads, L, S])
      } else {
        throw new TesseraError(`MultiheadAttention: attnMask must be (${L}, ${S}) or (${N * this.numHeads}, ${L}, ${S}), got ${fmtShape(attn.shape)}`)
      }
    }
    const kpm = call.keyPaddingMask
    if (kpm) {
      const ok = (kpm.ndim === 2 && kpm.shape[0] === N && kpm.shape[1] === S) || (kpm.ndim === 1 && kpm.shape[0] === S && N === 1)
      if (!ok) throw new TesseraError(`MultiheadAttention: keyPaddingMask must be (${N}, ${S}), got ${fmtShape(kpm.shape)}`)
      const m = additive(kpm, dtype).reshape([N, 1, 1, S])
      mask = mask ? mask.add(m) : m
    }
    return mask
  }
}

export interface TransformerEncoderLayerOptions {
  dimFeedforward?: number
  dropout?: number
  activation?: 'relu' | 'gelu'
  layerNormEps?: number
  batchFirst?: boolean
  /** Pre-norm (LayerNorm before attention and feed-forward) instead of post-norm. */
  normFirst?: boolean
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Post-norm: x = norm1(x + SA(x)); x = norm2(x + FF(x)). Pre-norm: x = x + SA(norm1(x)); x = x + FF(norm2(x)).
 * SA is self-attention with dropout1, FF = dropout2(linear2(dropout(act(linear1(x))))).
 */
export class TransformerEncoderLayer extends Module {
  self_attn: MultiheadAttention
  linear1: Linear
  dropout: Dropout
  linear2: Linear
  norm1: LayerNorm
  norm2: LayerNorm
  dropout1: Dropout
  dropout2: Dropout
  activation: Module
  readonly normFirst: boolean

  constructor(readonly dModel: number, readonly nhead: number, opts: TransformerEncoderLayerOptions = {}) {
    super()
    const p = opts.dropout ?? 0.1, ff = opts.dimFeedforward ?? 2048, g = opts.generator, dtype = opts.dtype, bias = opts.bias !== false
    this.self_attn = new MultiheadAttention(dModel, nhead, { dropout: p, bias, batchFirst: opts.batchFirst, generator: g, dtype })
    this.linear1 = new Linear(dModel, ff, { bias, generator: g, dtype })
    this.dropout = new Dropout(p, { generator: g })
    this.linear2 = new Linear(ff, dModel, { bias, generator: g, dtype })
    this.norm1 = new LayerNorm(dModel, { eps: opts.layerNormEps, bias, dtype })
    this.norm2 = new LayerNorm(dModel, { eps: opts.layerNormEps, bias, dtype })
    this.dropout1 = new Dropout(p, { generator: g })
    this.dropout2 = new Dropout(p, { generator: g })
    this.activation = opts.activation === 'gelu' ? new GELU() : new ReLU()
    this.normFirst = opts.normFirst ?? false
  }

  forward(src: Tensor, call: { srcMask?: Tensor | null; srcKeyPaddingMask?: Tensor | null; isCausal?: boolean } = {}): Tensor {
    const sa = (x: Tensor): Tensor => this.dropout1.forward(this.self_attn.forward(x, x, x, {
      attnMask: call.srcMask, keyPaddingMask: call.srcKeyPaddingMask, isCausal: call.isCausal, needWeights: false,
    }).output)
    const act = this.activation.forward as (x: Tensor) => Tensor
    const ff = (x: Tensor): Tensor => this.dropout2.forward(this.linear2.forward(this.dropout.forward(act(this.linear1.forward(x)))))
    let x = src
    if (this.normFirst) {
      x = x.add(sa(this.norm1.forward(x)))
      return x.add(ff(this.norm2.forward(x)))
    }
    x = this.norm1.forward(x.add(sa(x)))
    return this.norm2.forward(x.add(ff(x)))
  }
}

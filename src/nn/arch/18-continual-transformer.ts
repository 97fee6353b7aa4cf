/**
 * @file Paper 18: Continual Inference Networks — Hedegaard, "Efficient Online Processing with Deep
 * Neural Networks" (https://arxiv.org/abs/2306.13474), part 2 of 2: continual transformer encoders
 * (Hedegaard & Iosifidis, "Continual Transformers", https://arxiv.org/abs/2201.06268, Sec. 3.2
 * "Single Output Dot-Product Attention"). Part 1 is 18-continual-inference.ts.
 *
 * Shapes follow the continual conv convention (channels before time):
 *   clip (B, D, T), frame (B, D); per-step caches K, V: n tokens of (B, H, Dh), D = H·Dh.
 * Offline semantics: output t is the last-token output of regular attention over the window
 * x_{max(0, t−n+1)..t} (a banded causal mask); for t ≥ n−1 that is the full window of n tokens.
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { zeros } from '../../creation.ts'
import { linear, stack } from '../../functional.ts'
import { where } from '../../ops/elementwise.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Linear as NnLinear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { GELU, ReLU } from '../activation.ts'
import { MultiheadAttention, type TransformerEncoderLayer as NnTransformerEncoderLayer } from '../attention.ts'
import { CoModule } from './18-continual-inference.ts'

/** Multiplies of regular MHA over a window of n tokens of width d (in/out projections + QKᵀ + AV): 4 n d² + 2 n² d. */
export function mhaWindowFlops(d: number, n: number): number { return 4 * n * d * d + 2 * n * n * d }
/** Multiplies of one single-output continual step with n cached tokens: 4 d² + 2 n d. */
export function singleOutputMhaStepFlops(d: number, n: number): number { return 4 * d * d + 2 * n * d }

/** (T, T) additive band mask: 0 where t−n < s ≤ t, −∞ elsewhere. */
function bandMask(T: number, n: number, dtype: 'float32' | 'float64'): Tensor {
  const blocked = zeros([T, T], { dtype: 'bool' }).logicalNot()
  const keep = blocked.triu(-(n - 1)).logicalAnd(blocked.tril(0)) // (T, T)
  return where(keep, zeros([], { dtype }), zeros([], { dtype }).add(-Infinity))
}

export interface SingleOutputMHAOptions {
  /** Number n of cached tokens (the attention window). */
  window: number
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Continual single-output multi-head attention. Each step: q_t, k_t, v_t = x_t W_{q,k,v}ᵀ + b; push k_t,
 * v_t into the FIFO caches (evicting the oldest beyond n); per head out_t = softmax(q_t Kᵀ/√Dh) V; then
 * the output projection. O(n d) per step (plus the d² projections) instead of O(n² d + n d²) for
 * recomputing the window. Parameters are named as nn.MultiheadAttention's (in_proj_weight, out_proj...).
 * Reference: https://arxiv.org/abs/2201.06268 (Eqn 11-14, Single Output attention)
 * @example
 *   const att = co.SingleOutputMHA.fromOffline(new nn.MultiheadAttention(16, 2), { window: 8 })
 *   const y = att.forwardStep(x_t) // (B, 16): last row of attention over the last 8 tokens
 */
export class SingleOutputMHA extends CoModule {
  in_proj_weight: Parameter // (3D, D)
  in_proj_bias: Parameter | null // (3D,)
  out_proj: NnLinear // (D, D)
  readonly headDim: number
  readonly window: number
  readonly delay = 0
  private keys: Tensor[] = [] // ≤ n of (B, H, Dh)
  private values: Tensor[] = [] // ≤ n of (B, H, Dh)

  constructor(readonly embedDim: number, readonly numHeads: number, opts: SingleOutputMHAOptions) {
    super()
    if (!Number.isInteger(opts?.window) || opts.window < 1) throw new TesseraError(`co.SingleOutputMHA: window must be an integer >= 1, got ${opts?.window}`)
    const mha = new MultiheadAttention(embedDim, numHeads, { bias: opts.bias, generator: opts.generator, dtype: opts.dtype })
    this.in_proj_weight = mha.in_proj_weight
    this.in_proj_bias = mha.in_proj_bias
    this.out_proj = mha.out_proj
    this.headDim = mha.headDim
    this.window = opts.window
  }

  /** Copies the weights of an nn.MultiheadAttention. */
  static fromOffline(mha: MultiheadAttention, opts: { window: number }): SingleOutputMHA {
    const co = new SingleOutputMHA(mha.embedDim, mha.numHeads, { window: opts.window, bias: mha.in_proj_bias !== null, dtype: mha.in_proj_weight.dtype as 'float32' | 'float64' })
    co.loadStateDict(mha.stateDict())
    return co
  }

  get receptiveField(): number { return this.window }

  forwardStep(frame: Tensor): Tensor {
    const D = this.embedDim, H = this.numHeads, Dh = this.headDim
    const B = frame.shape[0]
    if (frame.ndim !== 2 || frame.shape[1] !== D || (this.keys.length > 0 && this.keys[0].shape[0] !== B)) {
      throw new TesseraError(`co.SingleOutputMHA.forwardStep: frame must be (B, ${D})${this.keys.length ? ` with B = ${this.keys[0].shape[0]}` : ''}, got ${fmtShape(frame.shape)}`)
    }
    const qkv = linear(frame, this.in_proj_weight, this.in_proj_bias) // (B, 3D)
    const head = (i: number): Tensor => qkv.narrow(1, i * D, D).reshape([B, H, Dh]) // (B, H, Dh)
    this.keys.push(head(1))
    this.values.push(head(2))
    if (this.keys.length > this.window) { this.keys.shift(); this.values.shift() }
    const K = stack(this.keys, 2), V = stack(this.values, 2) // (B, H, m, Dh), m ≤ n
    const scores = head(0).unsqueeze(2).matmul(K.mT).mul(1 / Math.sqrt(Dh)) // (B, H, 1, m)
    const out = scores.softmax(-1).matmul(V).reshape([B, D]) // (B, D)
    return this.out_proj.forward(out)
  }

  /** Offline: regular attention over the clip (B, D, T) with the band mask, → (B, D, T). */
  forward(clip: Tensor): Tensor {
    const D = this.embedDim, H = this.numHeads, Dh = this.headDim
    if (clip.ndim !== 3 || clip.shape[1] !== D) throw new TesseraError(`co.SingleOutputMHA.forward: clip must be (B, ${D}, T), got ${fmtShape(clip.shape)}`)
    const [B, , T] = clip.shape
    const x = clip.transpose(1, 2) // (B, T, D)
    const qkv = linear(x, this.in_proj_weight, this.in_proj_bias) // (B, T, 3D)
    const heads = (i: number): Tensor => qkv.narrow(2, i * D, D).reshape([B, T, H, Dh]).permute([0, 2, 1, 3]) // (B, H, T, Dh)
    const scores = heads(0).matmul(heads(1).mT).mul(1 / Math.sqrt(Dh)).add(bandMask(T, this.window, clip.dtype as 'float32' | 'float64')) // (B, H, T, T)
    const out = scores.softmax(-1).matmul(heads(2)).permute([0, 2, 1, 3]).reshape([B, T, D]) // (B, T, D)
    return this.out_proj.forward(out).transpose(1, 2)
  }

  flush(): Tensor[] { this.reset(); return [] }
  reset(): void { this.keys = []; this.values = [] }
  /** Steady state (n tokens cached): 4 D² + 2 n D multiplies per batch element. */
  flopsPerStep(): number { return singleOutputMhaStepFlops(this.embedDim, this.window) }
}

export interface CoTransformerEncoderLayerOptions {
  window: number
  dimFeedforward?: number
  activation?: 'relu' | 'gelu'
  layerNormEps?: number
  normFirst?: boolean
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Continual transformer encoder layer (inference; no dropout) with single-output attention:
 *   post-norm: h = norm1(x_t + SA(x)_t);  y_t = norm2(h + FF(h))
 *   pre-norm:  h = x_t + SA(norm1(x))_t;  y_t = h + FF(norm2(h)),   FF = linear2(act(linear1(·)))
 * Only the newest token's row is computed, so y_t equals the last-token output of
 * nn.TransformerEncoderLayer on the window of the last n tokens. Use it as the last (or only) layer:
 * a stacked second single-output layer would see first-layer outputs from truncated windows.
 * Parameter names match nn.TransformerEncoderLayer (self_attn.*, linear1, linear2, norm1, norm2).
 * Reference: https://arxiv.org/abs/2201.06268 (Sec. 3.4 Continual Transformer encoders)
 * @example
 *   const layer = co.TransformerEncoderLayer.fromOffline(offline.eval(), { window: 16 })
 *   const y = layer.forwardStep(x_t) // (B, D)
 */
export class TransformerEncoderLayer extends CoModule {
  self_attn: SingleOutputMHA
  linear1: NnLinear
  linear2: NnLinear
  norm1: LayerNorm
  norm2: LayerNorm
  activation: Module
  readonly normFirst: boolean
  readonly delay = 0

  constructor(readonly dModel: number, readonly nhead: number, opts: CoTransformerEncoderLayerOptions) {
    super()
    const ff = opts.dimFeedforward ?? 2048, g = opts.generator, dtype = opts.dtype, bias = opts.bias !== false
    this.self_attn = new SingleOutputMHA(dModel, nhead, { window: opts.window, bias, generator: g, dtype })
    this.linear1 = new NnLinear(dModel, ff, { bias, generator: g, dtype })
    this.linear2 = new NnLinear(ff, dModel, { bias, generator: g, dtype })
    this.norm1 = new LayerNorm(dModel, { eps: opts.layerNormEps, bias, dtype })
    this.norm2 = new LayerNorm(dModel, { eps: opts.layerNormEps, bias, dtype })
    this.activation = opts.activation === 'gelu' ? new GELU() : new ReLU()
    this.normFirst = opts.normFirst ?? false
  }

  /** Copies weights and settings of an nn.TransformerEncoderLayer (dropout is dropped: inference). */
  static fromOffline(layer: NnTransformerEncoderLayer, opts: { window: number }): TransformerEncoderLayer {
    const co = new TransformerEncoderLayer(layer.dModel, layer.nhead, {
      window: opts.window, dimFeedforward: layer.linear1.outFeatures, activation: layer.activation instanceof GELU ? 'gelu' : 'relu',
      layerNormEps: layer.norm1.eps, normFirst: layer.normFirst, bias: layer.linear1.bias !== null,
      dtype: layer.linear1.weight.dtype as 'float32' | 'float64',
    })
    co.loadStateDict(layer.stateDict())
    return co
  }

  get receptiveField(): number { return this.self_attn.window }

  /** Per-token part after attention; x and sa are (..., D). */
  private rest(x: Tensor, sa: (h: Tensor) => Tensor): Tensor {
    const act = this.activation.forward as (t: Tensor) => Tensor
    const ff = (h: Tensor): Tensor => this.linear2.forward(act(this.linear1.forward(h)))
    if (this.normFirst) {
      const h = x.add(sa(this.norm1.forward(x)))
      return h.add(ff(this.norm2.forward(h)))
    }
    const h = this.norm1.forward(x.add(sa(x)))
    return this.norm2.forward(h.add(ff(h)))
  }

  forwardStep(frame: Tensor): Tensor {
    if (frame.ndim !== 2 || frame.shape[1] !== this.dModel) throw new TesseraError(`co.TransformerEncoderLayer.forwardStep: frame must be (B, ${this.dModel}), got ${fmtShape(frame.shape)}`)
    return this.rest(frame, (h) => this.self_attn.forwardStep(h))
  }

  /** Offline over a clip (B, D, T) → (B, D, T), banded attention (each token sees the last n). */
  forward(clip: Tensor): Tensor {
    if (clip.ndim !== 3 || clip.shape[1] !== this.dModel) throw new TesseraError(`co.TransformerEncoderLayer.forward: clip must be (B, ${this.dModel}, T), got ${fmtShape(clip.shape)}`)
    const x = clip.transpose(1, 2) // (B, T, D)
    return this.rest(x, (h) => this.self_attn.forward(h.transpose(1, 2)).transpose(1, 2)).transpose(1, 2)
  }

  flush(): Tensor[] { this.reset(); return [] }
  reset(): void { this.self_attn.reset() }
  /** 4 D² + 2 n D (attention) + 2 D F (feed-forward) multiplies per step and batch element. */
  flopsPerStep(): number { return this.self_attn.flopsPerStep() + 2 * this.dModel * this.linear1.outFeatures }
  /** Multiplies of the offline layer recomputed on a window of n tokens: 4 n D² + 2 n² D + 2 n D F. */
  windowFlops(n = this.self_attn.window): number { return mhaWindowFlops(this.dModel, n) + 2 * n * this.dModel * this.linear1.outFeatures }
}

/**
 * @file Paper 59, BudgetLongformer: "Can we Cheaply Pretrain a SotA Legal Language Model From
 * Scratch?" (Niklaus & Giofré 2022, https://arxiv.org/abs/2211.17135): a Longformer encoder
 * (sliding-window + global attention, Beltagy et al. 2020, https://arxiv.org/abs/2004.05150)
 * pretrained with ELECTRA's replaced-token detection (Clark et al. 2020, https://arxiv.org/abs/2003.10555).
 *
 * Shapes: token ids (B, L) int32; hidden states (B, L, D); per-head q, k, v (B, H, L, Dh) with
 * Dh = D / H; generator logits (B, L, V); discriminator logits (B, L).
 * Window convention: `window` w is the reach on EACH side, token i attends to j with |i - j| <= w
 * (Longformer's one-sided w/2 for its total window w). Global positions are shared by the batch.
 *
 *   bandedAttention            differentiable op (customOp) over the O(L w d) kernel in src/kernels/banded-attention.ts
 *   bandedMask                 the equivalent dense bool mask (L, L) for scaledDotProductAttention
 *   LongformerSelfAttention    multi-head banded + global self-attention (optional separate global projections)
 *   LongformerEncoder          token + learned position embeddings, pre-norm blocks, final LayerNorm
 *   ElectraGenerator / ElectraDiscriminator / ELECTRA / MLM   the pretraining pieces
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { customOp } from '../../custom.ts'
import { noGrad } from '../../autograd.ts'
import { arange, fromTypedArray, tensor, zeros } from '../../creation.ts'
import { Tensor, emptyTensor } from '../../tensor.ts'
import { where } from '../../ops/elementwise.ts'
import { scaledDotProductAttention } from '../../ops/attention.ts'
import { crossEntropy, binaryCrossEntropyWithLogits } from '../losses.ts'
import type { Generator } from '../../rng.ts'
import type { TypedArray } from '../../dtype.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { Embedding } from '../embedding.ts'
import { bandedAttentionBackward, bandedAttentionBackwardRef, bandedAttentionForward, bandedAttentionRef, type BandedOperands } from '../../kernels/banded-attention.ts'

type FloatDType = 'float32' | 'float64'

export interface BandedAttentionOptions {
  /** Reach each side: j in [i - window, i + window]. */
  window: number
  /** Global positions (attend to and are attended by every position), shared by all leading dims. */
  global?: readonly number[]
  /** Score scale, default 1 / sqrt(E). */
  scale?: number
  /** 'tuned' (default, O(L w E)) or 'ref' (the O(L^2 E) oracle). */
  impl?: 'tuned' | 'ref'
  /** Receives the number of (i, j) score pairs each kernel call evaluated (forward, then backward). */
  onPairs?: (pairs: number, pass: 'forward' | 'backward') => void
}

/** Contiguous data of t from element 0 (a copy only when needed). */
function flat(t: Tensor): TypedArray {
  return t.isContiguous() && t.offset === 0 && t.storage.length === t.numel() ? t.storage : t.contiguous().data()
}

/**
 * Sliding-window + global attention (Longformer Sec. 3.1), never forming the L x L score matrix:
 *   out_i = sum_{j in N(i)} softmax_j(scale q_i . k_j) v_j,  N(i) = {j : |i - j| <= w} U globals,
 * and N(i) = all j for a global row i. q, k (..., L, E), v (..., L, Ev) -> (..., L, Ev).
 * Work O(L (BR + 2w + G) E) forward and backward with BR = 32-row GEMM tiles (backward recomputes
 * scores from the saved lse); the oracle (`impl: 'ref'`) is O(L^2 E).
 * Reference: https://arxiv.org/abs/2004.05150
 * @example
 *   const y = bandedAttention(q, k, v, { window: 16, global: [0] }) // q, k, v (B, H, L, Dh)
 */
export function bandedAttention(q: Tensor, k: Tensor, v: Tensor, opts: BandedAttentionOptions): Tensor {
  const op = 'bandedAttention'
  if (q.ndim < 2 || k.ndim !== q.ndim || v.ndim !== q.ndim) throw new TesseraError(`${op}: q, k, v must share a rank >= 2 (..., L, E), got ${fmtShape(q.shape)}, ${fmtShape(k.shape)}, ${fmtShape(v.shape)}`)
  const L = q.shape[q.ndim - 2], E = q.shape[q.ndim - 1], Ev = v.shape[v.ndim - 1]
  const lead = q.shape.slice(0, -2)
  const sameLead = (t: Tensor): boolean => t.shape.slice(0, -2).every((d, i) => d === lead[i]) && t.shape[t.ndim - 2] === L
  if (!sameLead(k) || !sameLead(v) || k.shape[k.ndim - 1] !== E) throw new TesseraError(`${op}: k must be ${fmtShape(q.shape)} and v (..., ${L}, Ev) with q's leading dims, got k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`)
  if (q.dtype !== k.dtype || q.dtype !== v.dtype || (q.dtype !== 'float32' && q.dtype !== 'float64')) throw new TesseraError(`${op}: q, k, v must share a float dtype, got ${q.dtype}, ${k.dtype}, ${v.dtype}`)
  const w = opts.window
  if (!Number.isInteger(w) || w < 0) throw new TesseraError(`${op}: window must be a non-negative integer, got ${w}`)
  const global = opts.global ?? []
  let glob: Uint8Array | null = null
  if (global.length > 0) {
    glob = new Uint8Array(L) // (1, L)
    for (const g of global) {
      if (!Number.isInteger(g) || g < 0 || g >= L) throw new TesseraError(`${op}: global position ${g} is outside [0, ${L})`)
      glob[g] = 1
    }
  }
  const B = lead.reduce((a, b) => a * b, 1)
  const ref = opts.impl === 'ref'
  const operands = (qa: TypedArray, ka: TypedArray, va: TypedArray): BandedOperands =>
    ({ B, L, E, Ev, w, scale: opts.scale ?? 1 / Math.sqrt(E), q: qa, k: ka, v: va, glob, gDiv: Math.max(B, 1) })
  const fn = customOp({
    name: op,
    forward(ctx, qt, kt, vt) {
      const out = emptyTensor([...lead, L, Ev], q.dtype) // (..., L, Ev)
      const lse = emptyTensor([...lead, L], 'float64') // (..., L)
      const a = operands(flat(qt), flat(kt), flat(vt))
      const pairs = (ref ? bandedAttentionRef : bandedAttentionForward)(out.storage, lse.storage as Float64Array, a)
      opts.onPairs?.(pairs, 'forward')
      ctx.save(qt, kt, vt, out, lse)
      return out
    },
    backward(ctx, g) {
      const [qt, kt, vt, out, lse] = ctx.saved
      const dq = emptyTensor(qt.shape, q.dtype), dk = emptyTensor(kt.shape, q.dtype), dv = emptyTensor(vt.shape, q.dtype)
      const a = operands(flat(qt), flat(kt), flat(vt))
      const pairs = (ref ? bandedAttentionBackwardRef : bandedAttentionBackward)(dq.storage, dk.storage, dv.storage, flat(g), out.storage, lse.storage as Float64Array, a)
      opts.onPairs?.(pairs, 'backward')
      return [dq, dk, dv]
    },
  })
  return fn(q, k, v)
}

/**
 * The dense keep-mask (L, L) bool of `bandedAttention`: true where |i - j| <= window or i or j is global.
 * `scaledDotProductAttention(q, k, v, { attnMask: bandedMask(L, w, g) })` is the O(L^2) equivalent.
 */
export function bandedMask(L: number, window: number, global: readonly number[] = []): Tensor {
  const m = new Uint8Array(L * L) // (L, L)
  const gl = new Uint8Array(L)
  for (const g of global) gl[g] = 1
  for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) m[i * L + j] = Math.abs(i - j) <= window || gl[i] || gl[j] ? 1 : 0
  return fromTypedArray(m, [L, L], 'bool')
}

export interface LongformerAttentionOptions {
  heads: number
  window: number
  /** Default global positions (a forward call may override). */
  global?: readonly number[]
  /** Separate Q_g, K_g, V_g projections for the global rows, as in Longformer (default false: shared). */
  separateGlobal?: boolean
  generator?: Generator
  dtype?: FloatDType
}

/**
 * Multi-head Longformer self-attention: q, k, v = x W_{q,k,v}; banded + global attention per head;
 * output projection. With `separateGlobal`, a global row i instead uses
 * softmax(q_g,i K_g^T / sqrt(Dh)) V_g over all positions (Longformer Sec. 3.1, "linear projections
 * for global attention"); local rows are unchanged.
 * Reference: https://arxiv.org/abs/2004.05150
 * @example
 *   const attn = new LongformerSelfAttention(64, { heads: 4, window: 16, global: [0] })
 *   attn.forward(x) // x (B, L, 64) -> (B, L, 64)
 */
export class LongformerSelfAttention extends Module {
  qkv: Linear
  out: Linear
  qkvGlobal: Linear | null
  readonly heads: number
  readonly window: number
  readonly global: readonly number[]

  constructor(readonly dModel: number, opts: LongformerAttentionOptions) {
    super()
    if (!Number.isInteger(opts.heads) || opts.heads <= 0 || dModel % opts.heads !== 0) throw new TesseraError(`LongformerSelfAttention: dModel ${dModel} must be divisible by heads ${opts.heads}`)
    this.heads = opts.heads
    this.window = opts.window
    this.global = opts.global ?? []
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.qkv = new Linear(dModel, 3 * dModel, o)
    this.out = new Linear(dModel, dModel, o)
    this.qkvGlobal = opts.separateGlobal ? new Linear(dModel, 3 * dModel, o) : null
  }

  /** x (B, L, D) -> (B, L, D). */
  forward(x: Tensor, call: { global?: readonly number[] } = {}): Tensor {
    const D = this.dModel, H = this.heads, Dh = D / H
    if (x.ndim !== 3 || x.shape[2] !== D) throw new TesseraError(`LongformerSelfAttention: x must be (B, L, D) with D = ${D}, got ${fmtShape(x.shape)}`)
    const [B, L] = x.shape
    const global = call.global ?? this.global
    const split = (lin: Linear): Tensor[] => {
      const qkv = lin.forward(x).reshape([B, L, 3, H, Dh]).permute([2, 0, 3, 1, 4]) // (3, B, H, L, Dh)
      return [0, 1, 2].map((i) => qkv.select(0, i)) // 3 x (B, H, L, Dh)
    }
    const [q, k, v] = split(this.qkv)
    let o = bandedAttention(q, k, v, { window: this.window, global }) // (B, H, L, Dh)
    if (this.qkvGlobal && global.length > 0) {
      const [qg, kg, vg] = split(this.qkvGlobal)
      const idx = tensor([...global], { dtype: 'int32' })
      const og = scaledDotProductAttention(qg.indexSelect(2, idx), kg, vg) // (B, H, G, Dh)
      const placed = zeros([B, H, L, Dh], { dtype: o.dtype }).indexAdd(2, idx, og) // (B, H, L, Dh)
      const rows = new Uint8Array(L) // (L, 1) true on global rows
      for (const g of global) rows[g] = 1
      o = where(fromTypedArray(rows, [L, 1], 'bool'), placed, o)
    }
    return this.out.forward(o.permute([0, 2, 1, 3]).reshape([B, L, D]))
  }
}

export interface LongformerEncoderOptions {
  vocabSize: number
  dModel: number
  heads: number
  layers: number
  window: number
  maxLen: number
  global?: readonly number[]
  ffMult?: number
  separateGlobal?: boolean
  /** A token embedding to share (its width may differ from dModel: a Linear maps it). */
  embedding?: Embedding
  generator?: Generator
  dtype?: FloatDType
}

/** Pre-norm block: x + Attn(LN(x)), then x + W2 gelu(W1 LN(x)). */
export class LongformerBlock extends Module {
  norm1: LayerNorm
  attn: LongformerSelfAttention
  norm2: LayerNorm
  ff1: Linear
  ff2: Linear
  constructor(dModel: number, opts: LongformerAttentionOptions & { ffMult?: number }) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.norm1 = new LayerNorm(dModel, { dtype: opts.dtype })
    this.attn = new LongformerSelfAttention(dModel, opts)
    this.norm2 = new LayerNorm(dModel, { dtype: opts.dtype })
    this.ff1 = new Linear(dModel, (opts.ffMult ?? 4) * dModel, o)
    this.ff2 = new Linear((opts.ffMult ?? 4) * dModel, dModel, o)
  }
  /** x (B, L, D) -> (B, L, D). */
  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.norm1.forward(x)))
    return h.add(this.ff2.forward(this.ff1.forward(this.norm2.forward(h)).gelu()))
  }
}

/**
 * Token embedding (optionally shared, mapped to dModel), learned absolute positions (as Longformer,
 * which starts from RoBERTa's), `layers` LongformerBlocks and a final LayerNorm.
 * @example
 *   const enc = new LongformerEncoder({ vocabSize: 64, dModel: 32, heads: 2, layers: 2, window: 8, maxLen: 128, global: [0] })
 *   enc.forward(ids) // ids (B, L) int32 -> (B, L, 32)
 */
export class LongformerEncoder extends Module {
  embedding: Embedding
  embProj: Linear | null
  position: Embedding
  blocks: ModuleList
  norm: LayerNorm
  constructor(readonly opts: LongformerEncoderOptions) {
    super()
    const { vocabSize, dModel, generator: g, dtype } = opts
    this.embedding = opts.embedding ?? new Embedding(vocabSize, dModel, { generator: g, dtype })
    this.embProj = this.embedding.embeddingDim === dModel ? null : new Linear(this.embedding.embeddingDim, dModel, { generator: g, dtype })
    this.position = new Embedding(opts.maxLen, dModel, { generator: g, dtype })
    noGrad(() => { this.embedding.weight.mul_(opts.embedding ? 1 : 0.1); this.position.weight.mul_(0.1) })
    this.blocks = new ModuleList(Array.from({ length: opts.layers }, () => new LongformerBlock(dModel, { ...opts, generator: g, dtype })))
    this.norm = new LayerNorm(dModel, { dtype })
  }
  /** ids (B, L) int32 -> (B, L, D). */
  forward(ids: Tensor): Tensor {
    if (ids.ndim !== 2 || ids.shape[1] > this.opts.maxLen) throw new TesseraError(`LongformerEncoder: ids must be (B, L) with L <= ${this.opts.maxLen}, got ${fmtShape(ids.shape)}`)
    let x = this.embedding.forward(ids) // (B, L, E)
    if (this.embProj) x = this.embProj.forward(x)
    x = x.add(this.position.forward(arange(ids.shape[1], undefined, 1, { dtype: 'int32' }))) // (B, L, D)
    for (const b of this.blocks) x = (b as LongformerBlock).forward(x)
    return this.norm.forward(x)
  }
}

/** ELECTRA's generator: an encoder and an MLM head tied to the token embedding: logits = LN(gelu(h W)) E^T + b. */
export class ElectraGenerator extends Module {
  head: Linear
  headNorm: LayerNorm
  constructor(readonly encoder: LongformerEncoder) {
    super()
    const E = encoder.embedding.embeddingDim, dtype = encoder.opts.dtype
    this.head = new Linear(encoder.opts.dModel, E, { generator: encoder.opts.generator, dtype })
    this.headNorm = new LayerNorm(E, { dtype })
  }
  /** ids (B, L) -> logits (B, L, V). */
  forward(ids: Tensor): Tensor {
    const h = this.headNorm.forward(this.head.forward(this.encoder.forward(ids)).gelu()) // (B, L, E)
    return h.matmul(this.encoder.embedding.weight.T) // (B, L, V)
  }
}

/** ELECTRA's discriminator: an encoder and a per-token "replaced" logit. */
export class ElectraDiscriminator extends Module {
  dense: Linear
  cls: Linear
  constructor(readonly encoder: LongformerEncoder) {
    super()
    const D = encoder.opts.dModel, o = { generator: encoder.opts.generator, dtype: encoder.opts.dtype }
    this.dense = new Linear(D, D, o)
    this.cls = new Linear(D, 1, o)
  }
  /** ids (B, L) -> logits (B, L). */
  forward(ids: Tensor): Tensor {
    return this.cls.forward(this.dense.forward(this.encoder.forward(ids)).gelu()).squeeze(-1)
  }
}

export interface MLMOptions {
  vocabSize: number
  maskId: number
  /** Fraction of (non-pad) positions selected (default 0.15). */
  maskProb?: number
  /** Of the selected: fraction replaced by [MASK] (default 1, as ELECTRA) and by a random token (default 0). */
  maskTokenProb?: number
  randomTokenProb?: number
  padId?: number
  ignoreIndex?: number
  rng: Generator
}

/**
 * Masked-language-model corruption and loss (BERT, https://arxiv.org/abs/1810.04805): each non-pad
 * position is selected with probability maskProb; a selected token becomes [MASK] (maskTokenProb),
 * a random token (randomTokenProb) or stays; labels keep the original id at selected positions and
 * ignoreIndex elsewhere. Loss = mean cross-entropy over selected positions.
 * @example
 *   const mlm = new MLM({ vocabSize: 64, maskId: 1, padId: 0, rng: new Generator(0) })
 *   const { input, labels } = mlm.mask(ids); mlm.loss(model.forward(input), labels)
 */
export class MLM {
  constructor(readonly opts: MLMOptions) {}
  /** ids (B, L) int32 -> input (B, L) int32, labels (B, L) int32, masked (B, L) bool. */
  mask(ids: Tensor): { input: Tensor; labels: Tensor; masked: Tensor } {
    const o = this.opts, p = o.maskProb ?? 0.15, pm = o.maskTokenProb ?? 1, pr = o.randomTokenProb ?? 0
    const x = ids.to('int32').data() as Int32Array
    const input = Int32Array.from(x), labels = new Int32Array(x.length).fill(o.ignoreIndex ?? -100), masked = new Uint8Array(x.length) // (B, L) each
    for (let i = 0; i < x.length; i++) {
      if (x[i] === o.padId || o.rng.nextFloat64() >= p) continue
      masked[i] = 1
      labels[i] = x[i]
      const u = o.rng.nextFloat64()
      if (u < pm) input[i] = o.maskId
      else if (u < pm + pr) input[i] = o.rng.nextInt(0, o.vocabSize)
    }
    return { input: fromTypedArray(input, ids.shape), labels: fromTypedArray(labels, ids.shape), masked: fromTypedArray(masked, ids.shape, 'bool') }
  }
  /** logits (B, L, V), labels (B, L) -> scalar. */
  loss(logits: Tensor, labels: Tensor): Tensor {
    const V = logits.shape[logits.ndim - 1]
    return crossEntropy(logits.reshape([-1, V]), labels.reshape([-1]), { ignoreIndex: this.opts.ignoreIndex ?? -100 })
  }
}

/** Draws one id per row of probabilities-by-logits (N, V) with the inverse CDF. */
function sampleRows(logits: Float64Array | Float32Array, V: number, rows: readonly number[], rng: Generator): number[] {
  return rows.map((r) => {
    let m = -Infinity
    for (let v = 0; v < V; v++) m = Math.max(m, logits[r * V + v])
    let z = 0
    for (let v = 0; v < V; v++) z += Math.exp(logits[r * V + v] - m)
    let u = rng.nextFloat64() * z
    for (let v = 0; v < V; v++) { u -= Math.exp(logits[r * V + v] - m); if (u < 0) return v }
    return V - 1
  })
}

export interface ElectraOutput {
  loss: Tensor
  mlmLoss: Tensor
  discLoss: Tensor
  /** (B, L) int32 x~: generator samples at masked positions, originals elsewhere. */
  corrupted: Tensor
  /** (B, L) bool: x~ != x (a sample equal to the original counts as original). */
  replaced: Tensor
  masked: Tensor
  discLogits: Tensor
}

/**
 * ELECTRA replaced-token detection (Clark et al. 2020, Eq. 1-2):
 *   L = L_MLM(x, theta_G) + lambda * L_Disc(x, theta_D),  lambda = 50 by default,
 *   L_Disc = mean over non-pad t of BCE(D(x~)_t, 1[x~_t != x_t]),
 * x~_t ~ p_G(. | x_masked) at masked positions (sampling is not differentiated: no gradient from D
 * reaches G through x~). Keep the discriminator after pretraining.
 * Reference: https://arxiv.org/abs/2003.10555
 * @example
 *   const electra = new ELECTRA({ generator: gen, discriminator: disc, mlm, rng: new Generator(1) })
 *   electra.forward(ids).loss.backward()
 */
export class ELECTRA extends Module {
  generator: ElectraGenerator
  discriminator: ElectraDiscriminator
  readonly discWeight: number
  constructor(readonly opts: { generator: ElectraGenerator; discriminator: ElectraDiscriminator; mlm: MLM; rng: Generator; discWeight?: number }) {
    super()
    this.generator = opts.generator
    this.discriminator = opts.discriminator
    this.discWeight = opts.discWeight ?? 50
  }
  /** ids (B, L) int32 -> the losses and the corrupted batch. */
  forward(ids: Tensor): ElectraOutput {
    const { mlm, rng } = this.opts
    const { input, labels, masked } = mlm.mask(ids)
    const genLogits = this.generator.forward(input) // (B, L, V)
    const mlmLoss = mlm.loss(genLogits, labels)
    const V = genLogits.shape[2]
    const x = ids.to('int32').data() as Int32Array
    const m = masked.data() as Uint8Array
    const rows = [...m.keys()].filter((i) => m[i] !== 0)
    const draws = noGrad(() => sampleRows(genLogits.detach().data() as Float32Array, V, rows, rng))
    const xt = Int32Array.from(x) // (B, L) x~
    rows.forEach((r, t) => { xt[r] = draws[t] })
    const corrupted = fromTypedArray(xt, ids.shape)
    const replaced = corrupted.ne(ids.to('int32')) // (B, L)
    const discLogits = this.discriminator.forward(corrupted) // (B, L)
    const pad = mlm.opts.padId
    const keep = pad === undefined ? null : ids.ne(pad).to(discLogits.dtype) // (B, L) 1 on real tokens
    const bce = binaryCrossEntropyWithLogits(discLogits, replaced.to(discLogits.dtype), { reduction: 'none' })
    const discLoss = keep ? bce.mul(keep).sum().div(keep.sum()) : bce.mean()
    return { loss: mlmLoss.add(discLoss.mul(this.discWeight)), mlmLoss, discLoss, corrupted, replaced, masked, discLogits }
  }
}

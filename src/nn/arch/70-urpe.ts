/**
 * @file Paper 70, URPE: "Your Transformer May Not be as Powerful as You Expect" (Luo et al. 2022,
 * https://arxiv.org/abs/2205.13401; code lsj2408/URPE). Relative positional encoding inside the
 * softmax (RPE, T5-style learned bias) and Universal RPE-based attention, which multiplies the
 * softmax weights elementwise by a learned Toeplitz matrix.
 *
 * Shapes: x (B, L, D); per-head q, k, v (B, H, L, Dh) with Dh = D / H; bias B_h and C_h (H, L, L);
 * offset table (H, P) with P = 2 maxLen - 1 ('unique': one scalar per offset j - i) or P = buckets
 * (T5's log buckets). keyPaddingMask (B, L) true on pads.
 *
 *   RPE  (Eq. 2):  A_h = softmax(Q_h K_h^T / sqrt(Dh) + B_h),  B_h[i, j] = b_h[j - i],  Attn = A_h V_h
 *   URPE (Eq. 5):  Attn = (A_h ⊙ C_h) V_h,  C_h[i, j] = c_h[j - i]  (Toeplitz, init all ones)
 *
 * Rows of A are stochastic (sum to 1), so on an input of identical tokens every RPE output row is
 * the same; rows of A ⊙ C need not sum to 1, which is what lets URPE express position-dependent maps.
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { fromTypedArray, full, zeros } from '../../creation.ts'
import type { Tensor } from '../../tensor.ts'
import { where } from '../../ops/elementwise.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Parameter } from '../parameter.ts'
import { Linear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { Embedding } from '../embedding.ts'

type FloatDType = 'float32' | 'float64'

export interface RelativeOptions {
  heads: number
  /** Longest sequence; 'unique' offsets cover j - i in [-(maxLen - 1), maxLen - 1]. */
  maxLen: number
  /** T5 bidirectional log buckets instead of one scalar per offset (unique). */
  buckets?: number
  /** T5's max_distance for buckets (default maxLen). */
  maxDistance?: number
  dtype?: FloatDType
}

/**
 * T5's bidirectional relative-position bucket of offset r = j - i (Raffel et al. 2020,
 * https://arxiv.org/abs/1910.10683; transformers' `_relative_position_bucket`): half the buckets per
 * sign, exact below nb/4, log-spaced up to maxDistance.
 */
export function t5Bucket(r: number, numBuckets: number, maxDistance: number): number {
  const half = Math.floor(numBuckets / 2), exact = Math.floor(half / 2)
  const base = r > 0 ? half : 0
  const n = Math.abs(r)
  if (n < exact) return base + n
  const big = exact + Math.floor((Math.log(n / exact) / Math.log(maxDistance / exact)) * (half - exact))
  return base + Math.min(big, half - 1)
}

/** (L * L) int32 index into the (H, P) offset table: entry (i, j) depends only on j - i. */
export function relativeIndex(L: number, o: RelativeOptions): Tensor {
  if (L > o.maxLen) throw new TesseraError(`relativeIndex: sequence length ${L} exceeds maxLen ${o.maxLen}`)
  const idx = new Int32Array(L * L) // (L, L)
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) idx[i * L + j] = o.buckets ? t5Bucket(j - i, o.buckets, o.maxDistance ?? o.maxLen) : j - i + o.maxLen - 1
  }
  return fromTypedArray(idx, [L * L])
}

/** Table size P of the offset parameters. */
const tableSize = (o: RelativeOptions): number => o.buckets ?? 2 * o.maxLen - 1

/** table (H, P) -> the Toeplitz matrices (H, L, L): M_h[i, j] = table_h[idx(j - i)]. Differentiable. */
export function toeplitz(table: Tensor, L: number, o: RelativeOptions): Tensor {
  return table.indexSelect(1, relativeIndex(L, o)).reshape([table.shape[0], L, L])
}

function checkHeads(op: string, o: RelativeOptions): void {
  if (!Number.isInteger(o.heads) || o.heads <= 0 || !Number.isInteger(o.maxLen) || o.maxLen <= 0) {
    throw new TesseraError(`${op}: heads and maxLen must be positive integers, got ${o.heads}, ${o.maxLen}`)
  }
}

/**
 * T5-style learned additive relative-position bias B_h[i, j] = b_h[j - i] ('unique': H (2 maxLen - 1)
 * parameters) or b_h[bucket(j - i)] (H buckets parameters), initialised to zero.
 * Reference: https://arxiv.org/abs/1910.10683
 * @example
 *   const rpe = new RPEBias({ heads: 4, maxLen: 32 })
 *   rpe.forward(10) // (4, 10, 10)
 */
export class RPEBias extends Module {
  bias: Parameter // (H, P)
  constructor(readonly opts: RelativeOptions) {
    super()
    checkHeads('RPEBias', opts)
    this.bias = new Parameter(zeros([opts.heads, tableSize(opts)], { dtype: opts.dtype }))
  }
  /** The bias matrices (H, L, L). */
  forward(L: number): Tensor {
    return toeplitz(this.bias, L, this.opts)
  }
}

/**
 * RPE / URPE attention weights applied to v:
 *   A = softmax(scale q k^T + bias [+ -inf on padded keys]),  out = (A ⊙ C) v  (C null: out = A v).
 * q, k (B, H, L, Dh), v (B, H, L, Dv), bias and C (H, L, L), keyPaddingMask (B, L) true on pads.
 * NOTE: padded columns of A are exactly 0, so A ⊙ C is 0 there too (the reference zeroes C's pad columns).
 * Reference: https://arxiv.org/abs/2205.13401, Eq. (5)
 */
export function urpeAttention(q: Tensor, k: Tensor, v: Tensor, bias: Tensor, C: Tensor | null, keyPaddingMask?: Tensor | null): Tensor {
  let s = q.matmul(k.mT).mul(1 / Math.sqrt(q.shape[q.ndim - 1])).add(bias) // (B, H, L, L)
  if (keyPaddingMask) {
    const [B, L] = keyPaddingMask.shape
    s = where(keyPaddingMask.reshape([B, 1, 1, L]), -Infinity, s)
  }
  const A = s.softmax(-1) // (B, H, L, L), rows sum to 1
  return (C ? A.mul(C) : A).matmul(v) // (B, H, L, Dv)
}

export interface RPEAttentionOptions extends Omit<RelativeOptions, 'dtype'> {
  generator?: Generator
  dtype?: FloatDType
}

/**
 * Multi-head self-attention with RPE in the softmax (the paper's baseline, Eq. 2) and no absolute
 * positions: x (B, L, D) -> (B, L, D).
 * Reference: https://arxiv.org/abs/2205.13401
 * @example
 *   const attn = new RPEAttention(32, { heads: 4, maxLen: 32 })
 *   attn.forward(x) // (B, L, 32)
 */
export class RPEAttention extends Module {
  qkv: Linear
  out: Linear
  rpe: RPEBias
  readonly heads: number
  constructor(readonly dModel: number, readonly opts: RPEAttentionOptions) {
    super()
    checkHeads(new.target.name, opts)
    if (dModel % opts.heads !== 0) throw new TesseraError(`${new.target.name}: dModel ${dModel} must be divisible by heads ${opts.heads}`)
    this.heads = opts.heads
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.qkv = new Linear(dModel, 3 * dModel, o)
    this.out = new Linear(dModel, dModel, o)
    this.rpe = new RPEBias(opts)
  }

  /** C_h (H, L, L), or null for plain RPE. */
  protected cMatrix(_L: number): Tensor | null { return null }

  forward(x: Tensor, call: { keyPaddingMask?: Tensor | null } = {}): Tensor {
    const D = this.dModel, H = this.heads, Dh = D / H
    if (x.ndim !== 3 || x.shape[2] !== D) throw new TesseraError(`${this.constructor.name}: x must be (B, L, D) with D = ${D}, got ${fmtShape(x.shape)}`)
    const [B, L] = x.shape
    const qkv = this.qkv.forward(x).reshape([B, L, 3, H, Dh]).permute([2, 0, 3, 1, 4]) // (3, B, H, L, Dh)
    const [q, k, v] = [0, 1, 2].map((i) => qkv.select(0, i)) // (B, H, L, Dh) each
    const o = urpeAttention(q, k, v, this.rpe.forward(L), this.cMatrix(L), call.keyPaddingMask) // (B, H, L, Dh)
    return this.out.forward(o.permute([0, 2, 1, 3]).reshape([B, L, D]))
  }
}

/**
 * Universal RPE-based attention (URPE, Eq. 5): RPEAttention whose softmax weights are multiplied
 * elementwise by a learned Toeplitz C_h[i, j] = c_h[j - i] per head (H (2 maxLen - 1) extra
 * parameters, 'unique'), initialised to `initC` (1: starts equal to RPE, `--constant-init-ur-attn`).
 * Reference: https://arxiv.org/abs/2205.13401
 * @example
 *   const attn = new URPEAttention(32, { heads: 4, maxLen: 32 })
 *   attn.forward(x) // (B, L, 32)
 */
export class URPEAttention extends RPEAttention {
  c: Parameter // (H, P)
  constructor(dModel: number, opts: RPEAttentionOptions & { initC?: number }) {
    super(dModel, opts)
    this.c = new Parameter(full([opts.heads, tableSize(opts)], opts.initC ?? 1, { dtype: opts.dtype }))
  }
  /** C (H, L, L), Toeplitz. */
  override cMatrix(L: number): Tensor { return toeplitz(this.c, L, this.opts) }
}

export interface RelativeTransformerOptions {
  vocab: number
  numClasses: number
  dModel: number
  heads: number
  layers: number
  maxLen: number
  /** URPE attention (true) or RPE (false). */
  universal: boolean
  ffMult?: number
  generator?: Generator
  dtype?: FloatDType
}

/**
 * The paper's synthetic-task model: token embedding (no absolute positions), `layers` post-norm
 * blocks x = LN(x + Attn(x)), x = LN(x + W2 relu(W1 x)) with RPE or URPE attention, and a per-token
 * classifier: ids (B, L) -> logits (B, L, numClasses).
 */
export class RelativeTransformer extends Module {
  embed: Embedding
  attn: ModuleList
  ff1: ModuleList
  ff2: ModuleList
  norm1: ModuleList
  norm2: ModuleList
  head: Linear
  constructor(readonly opts: RelativeTransformerOptions) {
    super()
    const { dModel: D, generator: g, dtype } = opts, F = (opts.ffMult ?? 2) * D, o = { generator: g, dtype }
    const n = Array.from({ length: opts.layers })
    this.embed = new Embedding(opts.vocab, D, o)
    const a = { heads: opts.heads, maxLen: opts.maxLen, generator: g, dtype }
    this.attn = new ModuleList(n.map(() => (opts.universal ? new URPEAttention(D, a) : new RPEAttention(D, a))))
    this.ff1 = new ModuleList(n.map(() => new Linear(D, F, o)))
    this.ff2 = new ModuleList(n.map(() => new Linear(F, D, o)))
    this.norm1 = new ModuleList(n.map(() => new LayerNorm(D, { dtype })))
    this.norm2 = new ModuleList(n.map(() => new LayerNorm(D, { dtype })))
    this.head = new Linear(D, opts.numClasses, o)
  }
  forward(ids: Tensor): Tensor {
    let x = this.embed.forward(ids) // (B, L, D)
    const at = (m: ModuleList, i: number) => [...m][i] as Module & { forward(x: Tensor): Tensor }
    for (let i = 0; i < this.opts.layers; i++) {
      x = at(this.norm1, i).forward(x.add(at(this.attn, i).forward(x)))
      x = at(this.norm2, i).forward(x.add(at(this.ff2, i).forward(at(this.ff1, i).forward(x).relu())))
    }
    return this.head.forward(x) // (B, L, numClasses)
  }
}

/**
 * @file 33 DSF — Understanding the differences in Foundation Models: Attention, State Space Models,
 * and Recurrent Neural Networks (Sieber, Amo Alonso, Didier, Zeilinger, Orvieto 2024,
 * https://arxiv.org/abs/2405.15731). The Dynamical Systems Framework (DSF), its generic recurrence,
 * the materialized mixing matrix Φ, the softmax-attention reference and random-feature softmax.
 * The layers written in the DSF (linear / normalized attention, S6, SSD, qLSTM, RG-LRU) are in
 * ./33-dsf-layers.ts.
 *
 * The DSF (paper Eqn (2)): with h_{-1} = 0,
 *   h_i = Λ_i h_{i-1} + B_i u_i,   y_i = C_i h_i + D_i u_i,   h_i ∈ R^N, N = n·d
 * and its convolution view (Eqn (3)): y = Φ u with blocks
 *   Φ_ij = C_i (Π_{k=j+1..i} Λ_k) B_j  (j < i),   Φ_ii = C_i B_i + D_i,   Φ_ij = 0 (j > i).
 * Every layer of the paper has channel-wise structure: state channel c only mixes the value channel
 * c, so Λ_i is diagonal and each block Φ_ij is a diagonal d×d matrix. tessera stores
 *   v (the mixed signal u after the layer's value map): (B, L, d)
 *   Λ_i, B_i, C_i as (B, L, d, n):  h_i[c,k] = Λ_i[c,k] h_{i-1}[c,k] + B_i[c,k] v_i[c]
 *                                   y_i[c]   = Σ_k C_i[c,k] h_i[c,k] + D_i[c] v_i[c]
 *   D_i: (B, L, d) or null;  Φ: (B, d, L, L), one L×L causal mixing matrix per channel.
 * Shape letters: B batch, L time, d = dModel channels, n state expansion, H heads.
 */
import { check, fmtShape, TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { customOp } from '../../custom.ts'
import { emptyTensor } from '../../tensor.ts'
import { eye, ones, randn, zeros } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { stack } from '../../functional.ts'
import { scaledDotProductAttention } from '../../ops/attention.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Linear } from '../linear.ts'
import { linearRecurrence as recurrenceKernel, linearRecurrenceBackward, numericalRank } from '../../kernels/dsf.ts'

/** The per-step DSF matrices of one layer on one input (paper Eqn (2), channel-wise layout). */
export interface DSFParams {
  /** Mixed signal: the layer input after its value map (W_V u for attention, u for S6). (B, L, d) */
  v: Tensor
  /** Diagonal of Λ_i. (B, L, d, n) */
  lam: Tensor
  /** B_i: h_i[c,k] += B_i[c,k] v_i[c]. (B, L, d, n) */
  B: Tensor
  /** C_i: y_i[c] = Σ_k C_i[c,k] h_i[c,k]. (B, L, d, n) */
  C: Tensor
  /** Diagonal skip D_i, or null for none. (B, L, d) */
  D: Tensor | null
}

/** A layer that can write itself as a DSF for a given input. */
export interface DSFLayer { dsf(x: Tensor): DSFParams }
/** A layer whose mixing matrix is given directly (softmax attention: no finite-state DSF). */
export interface MixingLayer { mixing(x: Tensor): { Phi: Tensor; v: Tensor } }

export type FloatDType = 'float32' | 'float64'

/** Checks the DSF shapes and returns (B, L, d, n). */
export function checkParams(op: string, p: DSFParams): [number, number, number, number] {
  check(p.v.ndim === 3, op, () => `v must be (B, L, d), got ${fmtShape(p.v.shape)}`)
  const [Bt, L, d] = p.v.shape
  const n = p.lam.shape[3]
  const want = [Bt, L, d, n]
  for (const [name, t] of [['lam', p.lam], ['B', p.B], ['C', p.C]] as const) {
    check(t.ndim === 4 && t.shape.every((s, i) => s === want[i]), op, () => `${name} must be (B, L, d, n) = ${fmtShape(want)}, got ${fmtShape(t.shape)}`)
  }
  if (p.D) check(p.D.ndim === 3 && p.D.shape.every((s, i) => s === p.v.shape[i]), op, () => `D must be (B, L, d) = ${fmtShape(p.v.shape)}, got ${fmtShape(p.D!.shape)}`)
  return [Bt, L, d, n]
}

const recurrenceOp = customOp({
  name: 'linearRecurrence',
  forward(ctx, a, b) {
    const ac = a.contiguous(), bc = b.contiguous()
    const [R, L] = a.shape
    const dims = { R, L, M: a.numel() / Math.max(1, R * L) }
    const h = emptyTensor(a.shape, a.dtype) // (R, L, ...)
    recurrenceKernel(h.storage, ac.storage, bc.storage, dims)
    ctx.save(h, ac)
    return h
  },
  backward(ctx, g) {
    const [h, a] = ctx.saved
    const [R, L] = a.shape
    const dims = { R, L, M: a.numel() / Math.max(1, R * L) }
    const gc = g.contiguous().to(a.dtype)
    const da = ctx.needsGrad[0] ? emptyTensor(a.shape, a.dtype) : null
    const db = ctx.needsGrad[1] ? emptyTensor(a.shape, a.dtype) : null
    linearRecurrenceBackward(da?.storage ?? null, db?.storage ?? null, gc.storage, h.storage, a.storage, dims)
    return [da, db]
  },
})

/**
 * Diagonal linear time-varying recurrence over dim 1: h_t = a_t ⊙ h_{t-1} + b_t, h_{-1} = 0.
 * a, b: (B, L, ...) of one shape and floating dtype -> h (B, L, ...). Fused kernel with its own
 * backward (src/kernels/dsf.ts).
 * Reference: https://arxiv.org/abs/2405.15731 (Eqn (2) with diagonal Λ_i)
 * @example
 *   const h = linearRecurrence(lam, Bu) // (B, L, d, n)
 */
export function linearRecurrence(a: Tensor, b: Tensor): Tensor {
  check(a.ndim >= 2 && a.shape.length === b.shape.length && a.shape.every((s, i) => s === b.shape[i]), 'linearRecurrence',
    () => `a and b must share one (B, L, ...) shape, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`)
  check(a.dtype === b.dtype && (a.dtype === 'float32' || a.dtype === 'float64'), 'linearRecurrence', () => `a and b must share a float dtype, got ${a.dtype} and ${b.dtype}`)
  return recurrenceOp(a, b)
}

/**
 * The DSF recurrent form (Eqn (2)) on the fused diagonal recurrence:
 *   H = scan(Λ, B ⊙ v), y_i[c] = Σ_k C_i[c,k] H_i[c,k] + D_i[c] v_i[c].   -> y (B, L, d)
 * Reference: https://arxiv.org/abs/2405.15731 (Section 2, Eqn (2))
 * @example
 *   const y = dsfScan(layer.dsf(x)) // (B, L, d)
 */
export function dsfScan(p: DSFParams): Tensor {
  checkParams('dsfScan', p)
  const H = linearRecurrence(p.lam, p.B.mul(p.v.unsqueeze(3))) // (B, L, d, n)
  const y = H.mul(p.C).sum(3) // (B, L, d)
  return p.D ? y.add(p.D.mul(p.v)) : y
}

/**
 * The DSF recurrence written step by step with tensor ops (autograd oracle of `dsfScan`):
 * O(L) graph nodes, use small L.
 */
export function dsfScanRef(p: DSFParams): Tensor {
  const [Bt, , d, n] = checkParams('dsfScanRef', p)
  const L = p.v.shape[1]
  let h: Tensor = zeros([Bt, d, n], { dtype: p.v.dtype }) // (B, d, n)
  const ys: Tensor[] = []
  for (let i = 0; i < L; i++) {
    const vi = p.v.select(1, i) // (B, d)
    h = p.lam.select(1, i).mul(h).add(p.B.select(1, i).mul(vi.unsqueeze(2))) // Eqn (2): h_i = Λ_i h_{i-1} + B_i u_i
    let y = h.mul(p.C.select(1, i)).sum(2) // y_i = C_i h_i  (B, d)
    if (p.D) y = y.add(p.D.select(1, i).mul(vi)) // + D_i u_i
    ys.push(y)
  }
  return stack(ys, 1) // (B, L, d)
}

/**
 * The convolution view (Eqn (3)): Φ (B, d, L, L) with
 *   Φ[c, i, j] = Σ_k C_i[c,k] (Π_{l=j+1..i} Λ_l[c,k]) B_j[c,k]  (j ≤ i),  + D_i[c] on the diagonal, 0 above it.
 * The products are built row by row (P_i = [P_{i-1} Λ_i, 1]), exact for any sign or zero Λ.
 * O(L² d n) memory; for analysis and tests.
 */
export function materializeParams(p: DSFParams): Tensor {
  const [Bt, L, d, n] = checkParams('materialize', p)
  const dtype = p.v.dtype
  const one = ones([Bt, 1, d, n], { dtype })
  let prods: Tensor | null = null // (B, i+1, d, n): Π_{l=j+1..i} Λ_l for j = 0..i
  const rows: Tensor[] = []
  for (let i = 0; i < L; i++) {
    prods = prods ? cat([prods.mul(p.lam.narrow(1, i, 1)), one], 1) : one
    let row = prods.mul(p.B.narrow(1, 0, i + 1)).mul(p.C.narrow(1, i, 1)).sum(3) // (B, i+1, d)
    if (i + 1 < L) row = cat([row, zeros([Bt, L - i - 1, d], { dtype })], 1) // (B, L, d): zero above the diagonal
    rows.push(row)
  }
  let Phi = stack(rows, 1).permute([0, 3, 1, 2]) // (B, L_i, L_j, d) -> (B, d, L, L)
  if (p.D) Phi = Phi.add(eye(L, L, { dtype }).mul(p.D.transpose(1, 2).unsqueeze(3))) // D_i on the diagonal
  return Phi.contiguous()
}

/**
 * The explicit mixing matrix of a layer on input x: `{ Phi (B, d, L, L), v (B, L, d) }` with
 * layer output y = Φ v per channel (`applyPhi`). DSF layers go through Eqn (3); softmax attention
 * (no finite state) returns its attention matrix.
 * Reference: https://arxiv.org/abs/2405.15731 (Eqn (3))
 * @example
 *   const { Phi, v } = materialize(layer, x); applyPhi(Phi, v) // == layer.forward(x)
 */
export function materialize(layer: DSFLayer | MixingLayer, x: Tensor): { Phi: Tensor; v: Tensor } {
  if ('mixing' in layer) return layer.mixing(x)
  const p = layer.dsf(x)
  return { Phi: materializeParams(p), v: p.v }
}

/** y[b, i, c] = Σ_j Φ[b, c, i, j] v[b, j, c]:  Φ (B, d, L, L), v (B, L, d) -> y (B, L, d). */
export function applyPhi(Phi: Tensor, v: Tensor): Tensor {
  check(Phi.ndim === 4 && v.ndim === 3 && Phi.shape[0] === v.shape[0] && Phi.shape[1] === v.shape[2] && Phi.shape[2] === v.shape[1] && Phi.shape[3] === v.shape[1],
    'applyPhi', () => `Phi must be (B, d, L, L) for v (B, L, d), got ${fmtShape(Phi.shape)} and ${fmtShape(v.shape)}`)
  return Phi.matmul(v.transpose(1, 2).unsqueeze(3)).squeeze(3).transpose(1, 2) // (B, L, d)
}

/**
 * Ranks of the past→future blocks Φ[t:, :t] (t = 1..L-1) of one L×L mixing matrix. For a DSF with
 * state size n per channel each rank is ≤ n (Φ[t:, :t] = O_t R_t factors through h_{t-1} ∈ R^n), so
 * max_t rank is a lower bound on the state any recurrent realization needs (Kalman/Ho realization).
 */
export function hankelRanks(Phi: Tensor, relTol = 1e-9): number[] {
  check(Phi.ndim === 2 && Phi.shape[0] === Phi.shape[1], 'hankelRanks', () => `Phi must be one (L, L) matrix, got ${fmtShape(Phi.shape)}`)
  const L = Phi.shape[0]
  const a = Phi.contiguous().to('float64').data()
  const out: number[] = []
  for (let t = 1; t < L; t++) {
    const blk = new Float64Array((L - t) * t) // (L - t, t)
    for (let i = t; i < L; i++) for (let j = 0; j < t; j++) blk[(i - t) * t + j] = a[i * L + j]
    out.push(numericalRank(blk, L - t, t, relTol))
  }
  return out
}

/** Layer options shared by the DSF layers. */
export interface DSFLayerOptions { generator?: Generator; dtype?: FloatDType }

/**
 * The generic DSF layer: pluggable (Λ_i, B_i, C_i, D_i) generators computed from the input, run
 * in recurrent form (`dsfScan`). Subclasses override `dsf`; pass `modules` to register the
 * generator's learnable parts.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 2)
 * @example
 *   const lin = new Linear(4, 4), gen = (x: Tensor) => ({ v: x, lam: ..., B: ..., C: ..., D: null })
 *   const y = new DSF(gen, { lin }).forward(x) // (B, L, d)
 */
export class DSF extends Module implements DSFLayer {
  constructor(private readonly generatorFn: ((x: Tensor) => DSFParams) | null = null, modules: Record<string, Module | Parameter> = {}) {
    super()
    Object.defineProperty(this, 'generatorFn', { enumerable: false })
    for (const [k, m] of Object.entries(modules)) (this as unknown as Record<string, unknown>)[k] = m
  }

  /** The per-step DSF matrices on input x (B, L, d_in). */
  dsf(x: Tensor): DSFParams {
    if (!this.generatorFn) throw new TesseraError(`${this.constructor.name}: no DSF generator (pass one to the constructor or override dsf)`)
    return this.generatorFn(x)
  }

  /** Recurrent form: x (B, L, d_in) -> y (B, L, d). */
  forward(x: Tensor): Tensor { return dsfScan(this.dsf(x)) }

  /** The same recurrence step by step with tensor ops (oracle). */
  forwardRef(x: Tensor): Tensor { return dsfScanRef(this.dsf(x)) }
}

/** Broadcasts per-head features (B, L, H, n) to per-channel (B, L, H·dh, n) (channel c reads head ⌊c/dh⌋). */
export function headsToChannels(t: Tensor, dh: number): Tensor {
  const [Bt, L, H, n] = t.shape
  return t.unsqueeze(3).expand([Bt, L, H, dh, n]).reshape([Bt, L, H * dh, n])
}

/** Splits (B, L, H·e) into heads (B, L, H, e). */
export const splitHeads = (t: Tensor, H: number): Tensor => t.reshape([t.shape[0], t.shape[1], H, t.shape[2] / H])

export interface SoftmaxAttentionOptions extends DSFLayerOptions { heads?: number; keyDim?: number }

/**
 * Causal softmax attention (the reference with no finite state), y = Φ W_V u with
 *   Φ_ij = exp(q_iᵀk_j / √dk) / Σ_{l≤i} exp(q_iᵀk_l / √dk),  q = W_Q u, k = W_K u, per head.
 * Its Φ needs an infinite feature map φ to be a DSF (paper Section 3.1): `hankelRanks` grows with L.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.1)
 * @example
 *   const att = new SoftmaxAttention(16, { heads: 2 }); att.forward(x) // (B, L, 16)
 */
export class SoftmaxAttention extends Module implements MixingLayer {
  Wq: Linear
  Wk: Linear
  Wv: Linear
  readonly heads: number
  readonly keyDim: number

  constructor(readonly dModel: number, opts: SoftmaxAttentionOptions = {}) {
    super()
    this.heads = opts.heads ?? 1
    if (dModel % this.heads !== 0) throw new TesseraError(`SoftmaxAttention: dModel=${dModel} must be a multiple of heads=${this.heads}`)
    this.keyDim = opts.keyDim ?? dModel / this.heads
    const o = { bias: false, generator: opts.generator, dtype: opts.dtype }
    this.Wq = new Linear(dModel, this.heads * this.keyDim, o)
    this.Wk = new Linear(dModel, this.heads * this.keyDim, o)
    this.Wv = new Linear(dModel, dModel, o)
  }

  private qkv(x: Tensor): [Tensor, Tensor, Tensor] {
    check(x.ndim === 3 && x.shape[2] === this.dModel, 'SoftmaxAttention', () => `x must be (B, L, D) with D = ${this.dModel}, got ${fmtShape(x.shape)}`)
    const H = this.heads
    const heads = (t: Tensor): Tensor => splitHeads(t, H).transpose(1, 2) // (B, H, L, e)
    return [heads(this.Wq.forward(x)), heads(this.Wk.forward(x)), heads(this.Wv.forward(x))]
  }

  forward(x: Tensor): Tensor {
    const [q, k, v] = this.qkv(x)
    const y = scaledDotProductAttention(q, k, v, { isCausal: true }) // (B, H, L, dh)
    return y.transpose(1, 2).reshape(x.shape) // (B, L, d)
  }

  /** Φ (B, d, L, L): each head's causal softmax matrix repeated over its dh channels. */
  mixing(x: Tensor): { Phi: Tensor; v: Tensor } {
    const [q, k] = this.qkv(x)
    const [Bt, H, L] = q.shape
    const dh = this.dModel / H
    const mask = ones([L, L], { dtype: 'bool' }).tril() // keep j <= i
    const A = q.matmul(k.transpose(2, 3)).mul(1 / Math.sqrt(this.keyDim)).maskedFill(mask.logicalNot(), -Infinity).softmax(3) // (B, H, L, L)
    const Phi = A.unsqueeze(2).expand([Bt, H, dh, L, L]).reshape([Bt, this.dModel, L, L])
    return { Phi, v: this.Wv.forward(x) }
  }
}

/** A feature map φ: (..., dk) -> (..., n) (paper Section 3.1). */
export type FeatureFn = (x: Tensor) => Tensor

/**
 * Positive random features for the softmax kernel (FAVOR+, Choromanski et al. 2021):
 *   φ(x) = exp(Ω x' − |x'|²/2) / √n,  x' = √scale · x,  Ω (n, dk) ~ N(0, I)
 * so that E[φ(q)ᵀφ(k)] = exp(scale qᵀk): a finite-n (state expansion) approximation of softmax
 * attention's infinite feature map. Default scale 1/√dk, as in softmax attention.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.1); https://arxiv.org/abs/2009.14794 (Lemma 1)
 * @example
 *   const phi = randomFeatureSoftmax(64, 8, { generator: new Generator(0) }); phi(q) // (..., 64)
 */
export function randomFeatureSoftmax(n: number, dk: number, opts: { generator?: Generator; scale?: number; dtype?: FloatDType } = {}): FeatureFn {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(dk) || dk < 1) throw new TesseraError(`randomFeatureSoftmax: n and dk must be positive integers, got (${n}, ${dk})`)
  const omega = randn([n, dk], { generator: opts.generator, dtype: opts.dtype ?? 'float64' }) // (n, dk)
  const s = Math.sqrt(opts.scale ?? 1 / Math.sqrt(dk))
  return (x: Tensor): Tensor => {
    check(x.shape[x.ndim - 1] === dk, 'randomFeatureSoftmax', () => `x must end in dk = ${dk}, got ${fmtShape(x.shape)}`)
    const xs = x.mul(s)
    return xs.matmul(omega.to(x.dtype).transpose(0, 1)).sub(xs.square().sum(-1, true).mul(0.5)).exp().mul(1 / Math.sqrt(n)) // (..., n)
  }
}

/**
 * @file 33 DSF — Understanding the differences in Foundation Models: Attention, State Space Models,
 * and Recurrent Neural Networks (Sieber et al. 2024, https://arxiv.org/abs/2405.15731): the layers
 * of the paper written in the Dynamical Systems Framework of ./33-dsf.ts. Each layer has
 *   dsf(x)     its per-step (Λ_i, B_i, C_i, D_i) (paper Section 3), so `materialize` gives Φ;
 *   forward(x) its recurrent form (Mamba's fused `selectiveScan` where the layer fits it, else the
 *              fused diagonal recurrence `dsfScan`).
 * Layers are pure token mixers (no output projection): x (B, L, d) -> y (B, L, d) = Φ v, with the
 * value signal v = W_V x (attention, qLSTM) or x (S6, SSD, RG-LRU). State: n per channel, N = n·d
 * (qLSTM and RG-LRU: n = 1). H heads of dh = d/H channels; per-head tensors are (B, L, H, n).
 */
import { check, fmtShape, TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { ones, rand, tensor, zeros } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { selectiveScan } from '../../ops/scan.ts'
import { Linear } from '../linear.ts'
import { Parameter } from '../parameter.ts'
import { DSF, headsToChannels, splitHeads, type DSFLayerOptions, type DSFParams, type FeatureFn, type FloatDType } from './33-dsf.ts'

/** A named feature map φ or a custom one mapping (..., keyDim) -> (..., n). */
export type FeatureMap = 'elu1' | 'relu' | 'identity' | 'softmax' | FeatureFn

function featureFn(m: FeatureMap): FeatureFn {
  if (typeof m === 'function') return m
  switch (m) {
    case 'elu1': return (x) => x.elu().add(1) // Katharopoulos et al. 2020
    case 'relu': return (x) => x.relu()
    case 'identity': return (x) => x
    case 'softmax': return (x) => x.softmax(-1)
    default: throw new TesseraError(`featureMap must be 'elu1', 'relu', 'identity', 'softmax' or a function, got '${String(m)}'`)
  }
}

function checkInput(op: string, x: Tensor, d: number): void {
  check(x.ndim === 3 && x.shape[2] === d, op, () => `x must be (B, L, D) with D = ${d}, got ${fmtShape(x.shape)}`)
}

/** (B, L, H) per-head values repeated over each head's dh channels: (B, L, H·dh). */
const headChannels = (t: Tensor, dh: number): Tensor => headsToChannels(t.unsqueeze(3), dh).squeeze(3)
/** (B, L, H, n) -> the (B, [H,] n, L) layout of selectiveScan's B and C (grouped when H > 1). */
const scanLayout = (t: Tensor): Tensor => (t.shape[2] === 1 ? t.squeeze(2).transpose(1, 2) : t.permute([0, 2, 3, 1]))
/** h_{-1}: the value one step back along L, zero at i = 0. (B, L, ...) -> (B, L, ...) */
const shiftBack = (t: Tensor): Tensor => cat([zeros([t.shape[0], 1, ...t.shape.slice(2)], { dtype: t.dtype }), t.narrow(1, 0, t.shape[1] - 1)], 1)

export interface AttentionDSFOptions extends DSFLayerOptions {
  /** State expansion n: features per head (default 16). */
  n?: number
  heads?: number
  featureMap?: FeatureMap
  /** Width of q, k per head before φ (default n; set it for maps like `randomFeatureSoftmax`). */
  keyDim?: number
}

/** Shared q/k/v maps of the attention-type DSF layers. */
abstract class AttentionDSF extends DSF {
  Wq: Linear
  Wk: Linear
  Wv: Linear
  readonly n: number
  readonly heads: number
  readonly keyDim: number
  protected readonly phi: FeatureFn

  constructor(readonly dModel: number, opts: AttentionDSFOptions, featureDefault: FeatureMap) {
    super()
    this.n = opts.n ?? 16
    this.heads = opts.heads ?? 1
    if (dModel % this.heads !== 0) throw new TesseraError(`${this.constructor.name}: dModel=${dModel} must be a multiple of heads=${this.heads}`)
    this.keyDim = opts.keyDim ?? this.n
    this.phi = featureFn(opts.featureMap ?? featureDefault)
    Object.defineProperty(this, 'phi', { enumerable: false })
    const o = { bias: false, generator: opts.generator, dtype: opts.dtype }
    this.Wq = new Linear(dModel, this.heads * this.keyDim, o)
    this.Wk = new Linear(dModel, this.heads * this.keyDim, o)
    this.Wv = new Linear(dModel, dModel, o)
  }

  /** φ(q), φ(k): (B, L, H, n) each, and v = W_V x (B, L, d). */
  protected features(x: Tensor): { qf: Tensor; kf: Tensor; v: Tensor } {
    checkInput(this.constructor.name, x, this.dModel)
    const qf = this.phi(splitHeads(this.Wq.forward(x), this.heads))
    const kf = this.phi(splitHeads(this.Wk.forward(x), this.heads))
    check(qf.shape[3] === this.n && kf.shape[3] === this.n, this.constructor.name, () => `the feature map must give n = ${this.n} features, got ${qf.shape[3]}`)
    return { qf, kf, v: this.Wv.forward(x) }
  }

  /** Recurrent form on Mamba's fused scan with Λ = I (A = 0, Δ = 1): h_i = h_{i-1} + Bk_i v_i, y_i = Cq_i·h_i. */
  protected scanIdentity(v: Tensor, Bk: Tensor, Cq: Tensor): Tensor {
    const [Bt, L, d] = v.shape
    const dtype = v.dtype
    const y = selectiveScan(v.transpose(1, 2), ones([Bt, d, L], { dtype }), zeros([d, this.n], { dtype }), scanLayout(Bk), scanLayout(Cq)) // (B, d, L)
    return y.transpose(1, 2) // (B, L, d)
  }
}

/**
 * Linear attention (Katharopoulos et al. 2020) in the DSF (paper Section 3.1):
 *   S_i = S_{i-1} + v_i φ(k_i)ᵀ,  y_i = S_i φ(q_i) / η_i,  η_i = φ(q_i)ᵀ Σ_{j≤i} φ(k_j) (if normalize)
 *   DSF: Λ_i = I,  B_i = I_d ⊗ φ(k_i),  C_i = I_d ⊗ φ(q_i)ᵀ / η_i,  D_i = 0,  state N = n·d.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.1)
 * @example
 *   const la = new LinearAttention(16, { n: 8 }); la.forward(x) // (B, L, 16)
 */
export class LinearAttention extends AttentionDSF {
  readonly normalize: boolean
  readonly eps: number

  constructor(dModel: number, opts: AttentionDSFOptions & { normalize?: boolean; eps?: number } = {}) {
    super(dModel, opts, 'elu1')
    this.normalize = opts.normalize ?? true
    this.eps = opts.eps ?? 0
  }

  /** φ(k) (B, L, H, n), φ(q)/η (B, L, H, n), v (B, L, d). */
  private parts(x: Tensor): { Bk: Tensor; Cq: Tensor; v: Tensor } {
    const { qf, kf, v } = this.features(x)
    if (!this.normalize) return { Bk: kf, Cq: qf, v }
    const eta = qf.mul(kf.cumsum(1)).sum(3, true).add(this.eps) // η_i (B, L, H, 1)
    return { Bk: kf, Cq: qf.div(eta), v }
  }

  override dsf(x: Tensor): DSFParams {
    const { Bk, Cq, v } = this.parts(x)
    const [Bt, L, d] = v.shape, dh = d / this.heads
    return { v, lam: ones([1, 1, 1, 1], { dtype: v.dtype }).expand([Bt, L, d, this.n]), B: headsToChannels(Bk, dh), C: headsToChannels(Cq, dh), D: null }
  }

  override forward(x: Tensor): Tensor {
    const { Bk, Cq, v } = this.parts(x)
    return this.scanIdentity(v, Bk, Cq)
  }

  /** Parallel masked form: y = (tril(φ(Q)φ(K)ᵀ) / rowsum) V per head. */
  parallel(x: Tensor): Tensor {
    const { qf, kf, v } = this.features(x)
    const H = this.heads
    let S = qf.transpose(1, 2).matmul(kf.permute([0, 2, 3, 1])).tril() // (B, H, L, L)
    if (this.normalize) S = S.div(S.sum(3, true).add(this.eps))
    return S.matmul(splitHeads(v, H).transpose(1, 2)).transpose(1, 2).reshape(v.shape) // (B, L, d)
  }
}

/**
 * Normalized attention (paper Section 4; tessera's reading, see the spec sheet): linear attention
 * whose normaliser is a learned recurrent sum, s_i = softplus(w_ηᵀu_i) per head, η_i = η_{i-1} + s_i,
 *   h_i = (η_{i-1}/η_i) h_{i-1} + (s_i/η_i) φ(k_i) v_iᵀ,   y_i = h_iᵀ φ(q_i)
 *   DSF: Λ_i = (η_{i-1}/η_i) I,  B_i = I_d ⊗ (s_i/η_i) φ(k_i),  C_i = I_d ⊗ φ(q_i)ᵀ.
 * Φ_ij = (s_j/η_i) φ(q_i)ᵀφ(k_j): the weights s_j/η_i over j ≤ i sum to one; with the default
 * softmax feature map φ(q)ᵀφ(k) ≤ 1, so each row of Φ sums to at most one.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 4)
 * @example
 *   const na = new NormalizedAttention(16, { n: 8 }); na.forward(x) // (B, L, 16)
 */
export class NormalizedAttention extends AttentionDSF {
  Ws: Linear

  constructor(dModel: number, opts: AttentionDSFOptions = {}) {
    super(dModel, opts, 'softmax')
    this.Ws = new Linear(dModel, this.heads, { generator: opts.generator, dtype: opts.dtype })
  }

  /** s_i and η_i (B, L, H, 1) beside the features. */
  private parts(x: Tensor): { qf: Tensor; kf: Tensor; v: Tensor; s: Tensor; eta: Tensor } {
    const f = this.features(x)
    const s = this.Ws.forward(x).softplus().unsqueeze(3) // (B, L, H, 1)
    return { ...f, s, eta: s.cumsum(1) } // η_i = η_{i-1} + s_i
  }

  override dsf(x: Tensor): DSFParams {
    const { qf, kf, v, s, eta } = this.parts(x)
    const dh = this.dModel / this.heads
    const lam = shiftBack(eta).div(eta).expand(qf.shape) // η_{i-1}/η_i (B, L, H, n); Λ_0 = 0 (h_{-1} = 0)
    return { v, lam: headsToChannels(lam, dh), B: headsToChannels(s.div(eta).mul(kf), dh), C: headsToChannels(qf, dh), D: null }
  }

  /** Fused scan of the unnormalized state g_i = η_i h_i = g_{i-1} + s_i φ(k_i) v_iᵀ, y_i = g_iᵀφ(q_i)/η_i. */
  override forward(x: Tensor): Tensor {
    const { qf, kf, v, s, eta } = this.parts(x)
    return this.scanIdentity(v, s.mul(kf), qf.div(eta))
  }
}

export interface S6Options extends DSFLayerOptions { n?: number; dtMin?: number; dtMax?: number }

/** softplus⁻¹(dt) for dt drawn log-uniform in [dtMin, dtMax] (Mamba's dt_proj bias init). */
function dtBias(shape: number[], dtMin: number, dtMax: number, o: DSFLayerOptions): Tensor {
  const lo = Math.log(dtMin), hi = Math.log(dtMax)
  const dt = rand(shape, { generator: o.generator, dtype: o.dtype }).mul(hi - lo).add(lo).exp()
  return dt.add(dt.neg().exp().neg().add(1).log()) // dt + log(1 - e^{-dt})
}

/**
 * S6, Mamba's selective SSM (Gu & Dao 2023) in the DSF (paper Section 3.2), per channel c:
 *   Δ_i = softplus(W_Δ u_i + b_Δ),  Λ_i = exp(Δ_i A_c) (A diagonal, negative),
 *   B_i = Δ_i b_i, b_i = W_B u_i,  C_i = c_iᵀ, c_i = W_C u_i,  D_i = D (skip),  v = u.
 * forward runs tessera's fused `selectiveScan`.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.2); https://arxiv.org/abs/2312.00752
 * @example
 *   const s6 = new S6(16, { n: 8 }); s6.forward(x) // (B, L, 16)
 */
export class S6 extends DSF {
  Wdelta: Linear
  deltaBias: Parameter // (d,)
  Alog: Parameter // (d, n): A = -exp(Alog)
  WB: Linear
  WC: Linear
  D: Parameter // (d,)
  readonly n: number

  constructor(readonly dModel: number, opts: S6Options = {}) {
    super()
    const n = (this.n = opts.n ?? 16), d = dModel, dtype: FloatDType = opts.dtype ?? 'float32'
    const o = { bias: false, generator: opts.generator, dtype }
    this.Wdelta = new Linear(d, d, o)
    this.deltaBias = new Parameter(dtBias([d], opts.dtMin ?? 1e-3, opts.dtMax ?? 1e-1, opts))
    this.Alog = new Parameter(tensor(Array.from({ length: d }, () => Array.from({ length: n }, (_, k) => Math.log(k + 1))), { dtype })) // S4D-real
    this.WB = new Linear(d, n, o)
    this.WC = new Linear(d, n, o)
    this.D = new Parameter(ones([d], { dtype }))
  }

  A(): Tensor { return this.Alog.exp().neg() } // (d, n)

  override dsf(x: Tensor): DSFParams {
    checkInput('S6', x, this.dModel)
    const [Bt, L, d] = x.shape
    const delta = this.Wdelta.forward(x).add(this.deltaBias).softplus().unsqueeze(3) // Δ_i (B, L, d, 1)
    const b = this.WB.forward(x).unsqueeze(2), c = this.WC.forward(x).unsqueeze(2) // (B, L, 1, n)
    const full = [Bt, L, d, this.n]
    return { v: x, lam: delta.mul(this.A()).exp(), B: delta.mul(b), C: c.expand(full), D: this.D.expand([Bt, L, d]) }
  }

  override forward(x: Tensor): Tensor {
    checkInput('S6', x, this.dModel)
    const t = (m: Tensor): Tensor => m.transpose(1, 2) // (B, L, ·) -> (B, ·, L)
    return selectiveScan(t(x), t(this.Wdelta.forward(x)), this.A(), t(this.WB.forward(x)), t(this.WC.forward(x)),
      { D: this.D, deltaBias: this.deltaBias, deltaSoftplus: true }).transpose(1, 2) // (B, L, d)
  }
}

export interface SSDOptions extends S6Options { heads?: number }

/**
 * SSD, the Mamba-2 scalar-decay SSM (Dao & Gu 2024) in the DSF (paper Section 3.2), per head h:
 *   Δ_i = softplus(w_Δᵀu_i + b_Δ),  Λ_i = exp(Δ_i A_h) I (one scalar per head),
 *   B_i = I ⊗ Δ_i b_i,  C_i = I ⊗ c_iᵀ,  D_i = D_h,  v = u.
 * With A = 0 and Δ = 1 it is unnormalized linear attention with φ = identity (q = c, k = b).
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.2); https://arxiv.org/abs/2405.21060
 * @example
 *   const ssd = new SSD(16, { n: 8, heads: 2 }); ssd.forward(x) // (B, L, 16)
 */
export class SSD extends DSF {
  Wdelta: Linear
  deltaBias: Parameter // (H,)
  Alog: Parameter // (H,)
  WB: Linear
  WC: Linear
  D: Parameter // (H,)
  readonly n: number
  readonly heads: number

  constructor(readonly dModel: number, opts: SSDOptions = {}) {
    super()
    const n = (this.n = opts.n ?? 16), H = (this.heads = opts.heads ?? 1), dtype: FloatDType = opts.dtype ?? 'float32'
    if (dModel % H !== 0) throw new TesseraError(`SSD: dModel=${dModel} must be a multiple of heads=${H}`)
    const o = { bias: false, generator: opts.generator, dtype }
    this.Wdelta = new Linear(dModel, H, o)
    this.deltaBias = new Parameter(dtBias([H], opts.dtMin ?? 1e-3, opts.dtMax ?? 1e-1, opts))
    this.Alog = new Parameter(rand([H], { generator: opts.generator, dtype }).mul(15).add(1).log()) // A_h ∈ -[1, 16]
    this.WB = new Linear(dModel, H * n, o)
    this.WC = new Linear(dModel, H * n, o)
    this.D = new Parameter(ones([H], { dtype }))
  }

  private get dh(): number { return this.dModel / this.heads }
  /** (H,) -> (d,): each head's value on its channels. */
  private perChannel(t: Tensor): Tensor { return t.unsqueeze(1).expand([this.heads, this.dh]).reshape([this.dModel]) }

  override dsf(x: Tensor): DSFParams {
    checkInput('SSD', x, this.dModel)
    const [Bt, L] = x.shape, H = this.heads
    const delta = this.Wdelta.forward(x).add(this.deltaBias).softplus().unsqueeze(3) // Δ_i (B, L, H, 1)
    const a = delta.mul(this.Alog.exp().neg().unsqueeze(1)).exp() // a_i = exp(Δ_i A_h) (B, L, H, 1)
    const b = splitHeads(this.WB.forward(x), H), c = splitHeads(this.WC.forward(x), H) // (B, L, H, n)
    return {
      v: x, lam: headsToChannels(a.expand(b.shape), this.dh), B: headsToChannels(delta.mul(b), this.dh), C: headsToChannels(c, this.dh),
      D: this.perChannel(this.D).expand([Bt, L, this.dModel]),
    }
  }

  override forward(x: Tensor): Tensor {
    checkInput('SSD', x, this.dModel)
    const H = this.heads
    const delta = headChannels(this.Wdelta.forward(x), this.dh).transpose(1, 2) // (B, d, L)
    const A = this.perChannel(this.Alog.exp().neg()).unsqueeze(1).expand([this.dModel, this.n]) // (d, n)
    const b = scanLayout(splitHeads(this.WB.forward(x), H)), c = scanLayout(splitHeads(this.WC.forward(x), H)) // (B, [H,] n, L)
    return selectiveScan(x.transpose(1, 2), delta, A, b, c,
      { D: this.perChannel(this.D), deltaBias: this.perChannel(this.deltaBias), deltaSoftplus: true }).transpose(1, 2) // (B, L, d)
  }
}

/**
 * qLSTM, the paper's quasi-LSTM (Section 3.3): an LSTM without the tanh on the input path and
 * without the h -> gate recurrence, so it is a DSF with n = 1:
 *   f_i, i_i, o_i = σ(W_{f,i,o} u_i + b),  h_i = f_i ⊙ h_{i-1} + i_i ⊙ (W u_i),  y_i = o_i ⊙ h_i
 *   DSF: Λ_i = diag(f_i), B_i = diag(i_i), C_i = diag(o_i), v = W u.
 * NOTE: the forget-gate bias starts at +1 (Jozefowicz et al. 2015) so early training keeps memory.
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.3)
 * @example
 *   const q = new QLSTM(16); q.forward(x) // (B, L, 16)
 */
export class QLSTM extends DSF {
  W: Linear
  Wf: Linear
  Wi: Linear
  Wo: Linear

  constructor(readonly dModel: number, opts: DSFLayerOptions = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.W = new Linear(dModel, dModel, { ...o, bias: false })
    this.Wf = new Linear(dModel, dModel, o)
    this.Wi = new Linear(dModel, dModel, o)
    this.Wo = new Linear(dModel, dModel, o)
    this.Wf.bias!.storage.fill(1)
  }

  override dsf(x: Tensor): DSFParams {
    checkInput('QLSTM', x, this.dModel)
    const g = (m: Linear): Tensor => m.forward(x).sigmoid().unsqueeze(3) // (B, L, d, 1)
    return { v: this.W.forward(x), lam: g(this.Wf), B: g(this.Wi), C: g(this.Wo), D: null }
  }
}

export interface RGLRUOptions extends DSFLayerOptions { c?: number }

/**
 * RG-LRU, the real-gated linear recurrent unit of Hawk/Griffin (De et al. 2024), a DSF with n = 1:
 *   r_i = σ(W_a u_i + b_a),  i_i = σ(W_x u_i + b_x),  a_i = a^{c r_i}, a = σ(Λ), c = 8,
 *   h_i = a_i ⊙ h_{i-1} + √(1 − a_i²) ⊙ (i_i ⊙ u_i),  y_i = h_i
 *   DSF: Λ_i = diag(a_i), B_i = diag(√(1 − a_i²) ⊙ i_i), C_i = I, v = u.
 * Λ is initialised so that a^c is uniform in [0.9, 0.999] (Griffin Section 2.4).
 * Reference: https://arxiv.org/abs/2405.15731 (Section 3.3); https://arxiv.org/abs/2402.19427
 * @example
 *   const r = new RGLRU(16); r.forward(x) // (B, L, 16)
 */
export class RGLRU extends DSF {
  Wa: Linear
  Wx: Linear
  Lam: Parameter // (d,): a = σ(Λ)
  readonly c: number

  constructor(readonly dModel: number, opts: RGLRUOptions = {}) {
    super()
    this.c = opts.c ?? 8
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.Wa = new Linear(dModel, dModel, o)
    this.Wx = new Linear(dModel, dModel, o)
    const ac = rand([dModel], o).mul(0.099).add(0.9) // a^c ~ U[0.9, 0.999]
    const a = ac.log().mul(1 / this.c).exp()
    this.Lam = new Parameter(a.div(a.neg().add(1)).log()) // logit(a)
  }

  override dsf(x: Tensor): DSFParams {
    checkInput('RGLRU', x, this.dModel)
    const r = this.Wa.forward(x).sigmoid(), gate = this.Wx.forward(x).sigmoid() // (B, L, d)
    const logA = r.mul(this.Lam.neg().softplus().mul(-this.c)) // log a_i = c r_i log σ(Λ)
    const a = logA.exp()
    const B = a.square().neg().add(1).sqrt().mul(gate) // √(1 − a_i²) ⊙ i_i
    return { v: x, lam: a.unsqueeze(3), B: B.unsqueeze(3), C: ones([1, 1, 1, 1], { dtype: x.dtype }).expand([...x.shape, 1]), D: null }
  }
}

/** Every DSF mixer of the sheet, by name, for sweeps. */
export type DSFMixerName = 'linear' | 'normalized' | 's6' | 'ssd' | 'qlstm' | 'rglru'

/** Builds a DSF mixer of width d with state expansion n (ignored by qLSTM and RG-LRU, n = 1). */
export function makeDSFMixer(name: DSFMixerName, d: number, n: number, opts: DSFLayerOptions & { heads?: number; dtMin?: number; dtMax?: number } = {}): DSF {
  switch (name) {
    case 'linear': return new LinearAttention(d, { n, generator: opts.generator, dtype: opts.dtype, heads: opts.heads })
    case 'normalized': return new NormalizedAttention(d, { n, generator: opts.generator, dtype: opts.dtype, heads: opts.heads })
    case 's6': return new S6(d, { n, generator: opts.generator, dtype: opts.dtype, dtMin: opts.dtMin, dtMax: opts.dtMax })
    case 'ssd': return new SSD(d, { n, ...opts })
    case 'qlstm': return new QLSTM(d, { generator: opts.generator, dtype: opts.dtype })
    case 'rglru': return new RGLRU(d, { generator: opts.generator, dtype: opts.dtype })
    default: throw new TesseraError(`makeDSFMixer: unknown layer '${String(name)}'`)
  }
}


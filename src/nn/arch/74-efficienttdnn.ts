/**
 * @file Paper 74, EfficientTDNN: "EfficientTDNN: Efficient Architecture Search for Speaker
 * Recognition" (Wang et al. 2022), https://arxiv.org/abs/2103.13581 ; reference code
 * mechanicalsea/sugar (`sugar/models/dynamictdnn.py`, `sugar/modules/dynamicarch.py`,
 * `sugar/loss/aamsoftmax.py`), ECAPA-TDNN (https://arxiv.org/abs/2005.07143).
 *
 * The architecture modules only (the NAS part, progressive shrinking and the accuracy predictor, is
 * out of scope here): an elastic `DynamicConv1d`, the `SERes2DilatedTDNNBlock`, `AttentiveStatsPool`,
 * the `AAMSoftmax` loss, the `eer` metric, and `TDNNSpeakerNet`, a small supernet-shaped encoder with
 * dense sum aggregation.
 *
 * Shapes: sequences are channels-first (B, C, T) as in Conv1d; embeddings (B, E); scores (N,).
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { arange, eye } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { where } from '../../ops/elementwise.ts'
import { conv1d } from '../../conv.ts'
import { linear } from '../../functional.ts'
import { crossEntropy } from '../losses.ts'
import type { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { BatchNorm1d } from '../norm.ts'
import { uniformFanIn } from '../linear.ts'

type DT = 'float32' | 'float64'
interface Common { generator?: Generator; dtype?: DT }

/** The active sub-network of a `DynamicConv1d`: first `outChannels` filters, kernel `kernelSize` (odd, ≤ max). */
export interface DynamicConvConfig { outChannels?: number; kernelSize?: number }

/**
 * Conv1d with elastic width and kernel (OFA-style, as in sugar's DynamicConv1d). The active weight
 * uses the first `out` filters and the first `in` input channels (in = x.shape[1]); a kernel k' < k
 * is the centre crop of the k kernel multiplied on the kernel axis by learned k'×k' matrices,
 * applied successively k → k−2 → … → k' and initialised to identity:
 *   W_{k−2} = crop(W_k) · T_{k−2}ᵀ,  padding = dilation·(k'−1)/2 (length preserving).
 * Reference: https://arxiv.org/abs/2103.13581 §3.1; Once-for-All, https://arxiv.org/abs/1908.09791 §3.2
 * @example
 *   const c = new DynamicConv1d(16, 32, 5, { dilation: 2 })
 *   c.forward(x, { outChannels: 8, kernelSize: 3 }) // x (B, 12, T) -> (B, 8, T)
 */
export class DynamicConv1d extends Module {
  weight: Parameter // (Cout, Cin, K)
  bias: Parameter | null // (Cout)
  /** transforms[j] maps kernel K−2j → K−2(j+1): (K−2(j+1), K−2(j+1)). */
  transforms: Parameter[]
  readonly dilation: number

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: number, opts: Common & { dilation?: number; bias?: boolean } = {}) {
    super()
    if (kernelSize < 1 || kernelSize % 2 !== 1) throw new TesseraError(`DynamicConv1d: kernelSize must be odd and positive, got ${kernelSize}`)
    this.dilation = opts.dilation ?? 1
    const fanIn = inChannels * kernelSize
    this.weight = new Parameter(uniformFanIn([outChannels, inChannels, kernelSize], fanIn, opts))
    this.bias = opts.bias === false ? null : new Parameter(uniformFanIn([outChannels], fanIn, opts))
    this.transforms = []
    for (let k = kernelSize - 2; k >= 1; k -= 2) this.transforms.push(new Parameter(eye(k, k, { dtype: opts.dtype })))
    this.transforms.forEach((t, j) => { (this as unknown as Record<string, Parameter>)[`transform${kernelSize - 2 * j}to${kernelSize - 2 * (j + 1)}`] = t })
  }

  /** The active weight (out, in, k') and bias (out). */
  activeWeight(inC: number, cfg: DynamicConvConfig = {}): { weight: Tensor; bias: Tensor | null; kernelSize: number } {
    const out = cfg.outChannels ?? this.outChannels, k = cfg.kernelSize ?? this.kernelSize
    if (!(out >= 1 && out <= this.outChannels) || !(inC >= 1 && inC <= this.inChannels) || k < 1 || k > this.kernelSize || k % 2 !== 1) {
      throw new TesseraError(`DynamicConv1d: active config out=${out}, in=${inC}, k=${k} outside max (${this.outChannels}, ${this.inChannels}, ${this.kernelSize}) or k even`)
    }
    let w = this.weight.narrow(0, 0, out).narrow(1, 0, inC) // (out, in, K): first-k channels
    for (let cur = this.kernelSize, j = 0; cur > k; cur -= 2, j++) {
      const crop = w.narrow(2, 1, cur - 2) // (out, in, cur−2): centre crop
      w = linear(crop.reshape([out * inC, cur - 2]), this.transforms[j]).reshape([out, inC, cur - 2]) // · Tᵀ
    }
    return { weight: w, bias: this.bias ? this.bias.narrow(0, 0, out) : null, kernelSize: k }
  }

  forward(x: Tensor, cfg: DynamicConvConfig = {}): Tensor { // (B, Cin', T) -> (B, out, T)
    if (x.ndim !== 3) throw new TesseraError(`DynamicConv1d: x must be (B, C, T), got ${fmtShape(x.shape)}`)
    const { weight, bias, kernelSize } = this.activeWeight(x.shape[1], cfg)
    return conv1d(x, weight, bias, { padding: (this.dilation * (kernelSize - 1)) / 2, dilation: this.dilation })
  }
}

/** Conv → ReLU → BatchNorm, the TDNN unit of ECAPA/EfficientTDNN. */
export class TDNNUnit extends Module {
  conv: DynamicConv1d
  bn: BatchNorm1d
  constructor(inC: number, outC: number, k: number, opts: Common & { dilation?: number } = {}) {
    super()
    this.conv = new DynamicConv1d(inC, outC, k, opts)
    this.bn = new BatchNorm1d(outC, { dtype: opts.dtype })
  }
  forward(x: Tensor, cfg: DynamicConvConfig = {}): Tensor { return this.bn.forward(this.conv.forward(x, cfg).relu()) } // (B, C, T)
}

/**
 * Res2 dilated convolution: split C channels into `scale` groups x_1..x_s; y_1 = x_1,
 * y_2 = K_2(x_2), y_i = K_i(x_i + y_{i−1}); output cat(y_1..y_s). Group i (0-based) sees the input
 * within ±i·d·(k−1)/2 frames. Reference: Res2Net, https://arxiv.org/abs/1904.01169 ; ECAPA §2.2.
 */
export class Res2Conv1d extends Module {
  convs: ModuleList
  readonly width: number
  constructor(readonly channels: number, readonly scale: number, kernel: number, dilation: number, opts: Common = {}) {
    super()
    if (channels % scale !== 0) throw new TesseraError(`Res2Conv1d: channels ${channels} must be divisible by scale ${scale}`)
    this.width = channels / scale
    this.convs = new ModuleList(Array.from({ length: scale - 1 }, () => new TDNNUnit(this.width, this.width, kernel, { ...opts, dilation })))
  }
  forward(x: Tensor, cfg: { kernelSize?: number } = {}): Tensor { // (B, C, T)
    const xs = x.chunk(this.scale, 1) // s × (B, C/s, T)
    const units = [...this.convs.children()] as TDNNUnit[]
    const ys: Tensor[] = [xs[0]]
    for (let i = 1; i < this.scale; i++) ys.push(units[i - 1].forward(i === 1 ? xs[i] : xs[i].add(ys[i - 1]), { kernelSize: cfg.kernelSize }))
    return cat(ys, 1)
  }
}

/** Squeeze-excitation over time: x · σ(W₂ relu(W₁ mean_t x)). Reference: https://arxiv.org/abs/1709.01507 */
export class SEModule extends Module {
  fc1: Linear
  fc2: Linear
  constructor(channels: number, bottleneck: number, opts: Common = {}) {
    super()
    this.fc1 = new Linear(channels, bottleneck, opts)
    this.fc2 = new Linear(bottleneck, channels, opts)
  }
  forward(x: Tensor): Tensor { // (B, C, T)
    const s = this.fc2.forward(this.fc1.forward(x.mean(2)).relu()).sigmoid() // (B, C)
    return x.mul(s.unsqueeze(2))
  }
}

export interface SERes2BlockOptions extends Common {
  kernelSize?: number
  dilation?: number
  /** Res2 scale s (groups), default 8. */
  scale?: number
  /** SE bottleneck = channels / seReduction (default 4, as in EfficientTDNN). */
  seReduction?: number
  /** Add the input (ECAPA). EfficientTDNN has no skip inside the block (false), using dense sums instead. Default true. */
  residual?: boolean
}

/**
 * SE-Res2 dilated TDNN block: y = SE(U₃(Res2(U₁(x)))) (+ x if residual), U = Conv→ReLU→BN (1×1),
 * Res2 with kernel k, dilation d, scale s. Receptive field of the block without SE: (s−1)·d·(k−1)+1
 * frames (SE adds a global mean).
 * Reference: https://arxiv.org/abs/2103.13581 Fig. 2; ECAPA-TDNN https://arxiv.org/abs/2005.07143 Fig. 1
 * @example
 *   const b = new SERes2DilatedTDNNBlock(32, { kernelSize: 3, dilation: 2, scale: 4 })
 *   b.forward(randn([2, 32, 20])) // (2, 32, 20)
 */
export class SERes2DilatedTDNNBlock extends Module {
  unit1: TDNNUnit
  res2: Res2Conv1d
  unit3: TDNNUnit
  se: SEModule
  readonly residual: boolean
  constructor(readonly channels: number, opts: SERes2BlockOptions = {}) {
    super()
    const k = opts.kernelSize ?? 3, d = opts.dilation ?? 1, s = opts.scale ?? 8
    const c = { generator: opts.generator, dtype: opts.dtype }
    this.unit1 = new TDNNUnit(channels, channels, 1, c)
    this.res2 = new Res2Conv1d(channels, s, k, d, c)
    this.unit3 = new TDNNUnit(channels, channels, 1, c)
    this.se = new SEModule(channels, Math.max(1, Math.round(channels / (opts.seReduction ?? 4))), c)
    this.residual = opts.residual ?? true
  }
  forward(x: Tensor, cfg: { kernelSize?: number } = {}): Tensor { // (B, C, T) -> (B, C, T)
    if (x.ndim !== 3 || x.shape[1] !== this.channels) throw new TesseraError(`SERes2DilatedTDNNBlock: x must be (B, ${this.channels}, T), got ${fmtShape(x.shape)}`)
    const y = this.se.forward(this.unit3.forward(this.res2.forward(this.unit1.forward(x), cfg)))
    return this.residual ? y.add(x) : y
  }
}

/**
 * Attentive statistics pooling with global context (ECAPA form): context c_t = [h_t, μ, σ] (μ, σ the
 * plain mean/std over time), e_t = V tanh(W c_t + b) + k per channel, α = softmax_t(e), and
 *   μ̃ = Σ_t α_t h_t,  σ̃ = sqrt(max(Σ_t α_t h_t² − μ̃², ε)),  output [μ̃, σ̃] (B, 2C).
 * With uniform α this is mean/std (population) pooling. `globalContext: false` gives Okabe's ASP.
 * Reference: Okabe et al. 2018, https://arxiv.org/abs/1803.10963 ; ECAPA §2.3
 * @example
 *   new AttentiveStatsPool(32, { attentionChannels: 16 }).forward(randn([4, 32, 10])) // (4, 64)
 */
export class AttentiveStatsPool extends Module {
  attention: DynamicConv1d
  score: DynamicConv1d
  readonly globalContext: boolean
  readonly eps: number
  constructor(readonly channels: number, opts: Common & { attentionChannels?: number; globalContext?: boolean; eps?: number } = {}) {
    super()
    this.globalContext = opts.globalContext ?? true
    this.eps = opts.eps ?? 1e-12
    const c = { generator: opts.generator, dtype: opts.dtype }
    this.attention = new DynamicConv1d(channels * (this.globalContext ? 3 : 1), opts.attentionChannels ?? 128, 1, c)
    this.score = new DynamicConv1d(opts.attentionChannels ?? 128, channels, 1, c)
  }
  forward(h: Tensor): Tensor { // (B, C, T) -> (B, 2C)
    if (h.ndim !== 3 || h.shape[1] !== this.channels) throw new TesseraError(`AttentiveStatsPool: h must be (B, ${this.channels}, T), got ${fmtShape(h.shape)}`)
    const T = h.shape[2]
    let ctx = h
    if (this.globalContext) {
      const [mu, sd] = weightedStats(h, null, this.eps) // (B, C) each
      ctx = cat([h, mu.unsqueeze(2).expand([-1, -1, T]), sd.unsqueeze(2).expand([-1, -1, T])], 1) // (B, 3C, T)
    }
    const alpha = this.score.forward(this.attention.forward(ctx).tanh()).softmax(2) // (B, C, T)
    const [mu, sd] = weightedStats(h, alpha, this.eps)
    return cat([mu, sd], 1)
  }
}

/** Mean and std over time with weights α (B, C, T) summing to 1 over T, or uniform when null. */
export function weightedStats(h: Tensor, alpha: Tensor | null, eps = 1e-12): [Tensor, Tensor] {
  const mu = alpha ? h.mul(alpha).sum(2) : h.mean(2) // (B, C)
  const m2 = alpha ? h.square().mul(alpha).sum(2) : h.square().mean(2)
  return [mu, m2.sub(mu.square()).clamp(eps).sqrt()]
}

/** Plain statistics pooling [mean_t h, std_t h] (B, 2C), the baseline ASP is compared with. */
export class StatsPool extends Module {
  constructor(readonly eps = 1e-12) { super() }
  forward(h: Tensor): Tensor { const [mu, sd] = weightedStats(h, null, this.eps); return cat([mu, sd], 1) }
}

/**
 * Additive angular margin softmax (ArcFace): cos θ_j = ⟨x̂, ŵ_j⟩; the target logit becomes
 * cos(θ_y + m) (with the usual fallback cos θ − m·sin m when θ + m > π), all logits are scaled by s,
 * loss = CE. With m = 0 it is the scaled-cosine softmax CE. Defaults m = 0.2, s = 30 (sugar).
 * Reference: Deng et al., https://arxiv.org/abs/1801.07698 ; sugar/loss/aamsoftmax.py
 * @example
 *   const aam = new AAMSoftmax(192, 10, { margin: 0.2, scale: 30 })
 *   aam.forward(emb, labels).backward()
 */
export class AAMSoftmax extends Module {
  weight: Parameter // (classes, E)
  readonly margin: number
  readonly scale: number
  constructor(readonly embDim: number, readonly numClasses: number, opts: Common & { margin?: number; scale?: number } = {}) {
    super()
    this.margin = opts.margin ?? 0.2
    this.scale = opts.scale ?? 30
    this.weight = new Parameter(uniformFanIn([numClasses, embDim], embDim, opts))
  }
  /** cos θ (B, classes) between normalised embeddings and class weights. */
  cosine(x: Tensor): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.embDim) throw new TesseraError(`AAMSoftmax: x must be (B, ${this.embDim}), got ${fmtShape(x.shape)}`)
    const unit = (t: Tensor): Tensor => t.div(t.square().sum(1, true).clamp(1e-24).sqrt())
    return unit(x).matmul(unit(this.weight).T)
  }
  /** Margin-adjusted, scaled logits (B, classes). */
  logits(x: Tensor, labels: Tensor): Tensor {
    const cos = this.cosine(x)
    const m = this.margin
    const sin = cos.square().neg().add(1).clamp(0, 1).sqrt()
    let phi = cos.mul(Math.cos(m)).sub(sin.mul(Math.sin(m))) // cos(θ + m)
    phi = where(cos.sub(Math.cos(Math.PI - m)).gt(0), phi, cos.sub(Math.sin(Math.PI - m) * m))
    const onehot = arange(this.numClasses, undefined, 1, { dtype: 'int32' }).unsqueeze(0).eq(labels.to('int32').unsqueeze(1)) // (B, classes)
    return where(onehot, phi, cos).mul(this.scale)
  }
  forward(x: Tensor, labels: Tensor): Tensor { return crossEntropy(this.logits(x, labels), labels) }
}

/**
 * Equal error rate: the operating point where the false-reject rate (targets scored below the
 * threshold) equals the false-accept rate (non-targets at or above it), linearly interpolated
 * between ROC points (as sklearn roc_curve + interpolation does). Labels: 1/true = target trial.
 * Reference: https://arxiv.org/abs/2103.13581 §4 (EER); NIST SRE evaluation plan.
 * @example
 *   eer([0.9, 0.8, 0.4, 0.7, 0.3, 0.2], [1, 1, 1, 0, 0, 0]) // 1/3
 */
export function eer(scores: Tensor | ArrayLike<number>, labels: Tensor | ArrayLike<number | boolean>): number {
  const s = Array.from((isTensor(scores) ? scores.double().data() : scores) as ArrayLike<number>)
  const l = Array.from((isTensor(labels) ? labels.double().data() : labels) as ArrayLike<number | boolean>, Number)
  if (s.length !== l.length || s.length === 0) throw new TesseraError(`eer: scores (${s.length}) and labels (${l.length}) must have one non-zero length`)
  const P = l.filter((v) => v !== 0).length, N = s.length - P
  if (P === 0 || N === 0) throw new TesseraError(`eer: needs both target and non-target trials, got ${P} targets and ${N} non-targets`)
  const order = s.map((_, i) => i).sort((a, b) => s[b] - s[a])
  // ROC points (fpr, fnr) for thresholds at each distinct score, from the highest down.
  const pts: [number, number][] = [[0, 1]]
  let tp = 0, fp = 0
  for (let i = 0; i < order.length; i++) {
    if (l[order[i]] !== 0) tp++; else fp++
    if (i + 1 < order.length && s[order[i + 1]] === s[order[i]]) continue // ties share a threshold
    pts.push([fp / N, 1 - tp / P])
  }
  for (let i = 1; i < pts.length; i++) {
    const [f1, r1] = pts[i]
    if (r1 > f1) continue
    const [f0, r0] = pts[i - 1] // crossing of fnr − fpr on the segment (f0,r0)–(f1,r1)
    const t = (r0 - f0) / ((r0 - f0) - (r1 - f1))
    return f0 + t * (f1 - f0)
  }
  return 1
}
const isTensor = (x: unknown): x is Tensor => typeof (x as Tensor).dtype === 'string' && typeof (x as Tensor).data === 'function'

export interface TDNNSpeakerNetOptions extends Common {
  inFeatures: number
  channels?: number
  blocks?: number
  kernelSize?: number
  scale?: number
  embDim?: number
  catChannels?: number
  attentionChannels?: number
  /** 'asp' (attentive statistics, default) or 'stats' (plain mean/std). */
  pooling?: 'asp' | 'stats'
}

/**
 * EfficientTDNN's supernet shape at a small size: U₀ = Conv(in→C, k)+ReLU+BN; blocks i = 1..D
 * (dilation i+1, no inner skip) with dense sum aggregation out_i = Block_i(out_{i−1}) + S_{i−1},
 * S_i = S_{i−1} + out_i (S₀ = out₀ = U₀(x)); cat(out_1..out_D) → Conv1×1(→catChannels)+ReLU → pooling
 * → BN → Linear(→E) → BN = embedding (B, E).
 * Reference: https://arxiv.org/abs/2103.13581 Fig. 1; sugar/models/dynamictdnn.py
 */
export class TDNNSpeakerNet extends Module {
  layer1: TDNNUnit
  blocks: ModuleList
  catConv: DynamicConv1d
  pool: Module
  bnPool: BatchNorm1d
  fc: Linear
  bnEmb: BatchNorm1d
  constructor(opts: TDNNSpeakerNetOptions) {
    super()
    const C = opts.channels ?? 32, D = opts.blocks ?? 2, k = opts.kernelSize ?? 3, cat2 = opts.catChannels ?? 3 * C
    const c = { generator: opts.generator, dtype: opts.dtype }
    this.layer1 = new TDNNUnit(opts.inFeatures, C, k, c)
    this.blocks = new ModuleList(Array.from({ length: D }, (_, i) => new SERes2DilatedTDNNBlock(C, { ...c, kernelSize: k, dilation: i + 2, scale: opts.scale ?? 4, residual: false })))
    this.catConv = new DynamicConv1d(D * C, cat2, 1, c)
    this.pool = (opts.pooling ?? 'asp') === 'asp' ? new AttentiveStatsPool(cat2, { ...c, attentionChannels: opts.attentionChannels ?? 16 }) : new StatsPool()
    this.bnPool = new BatchNorm1d(2 * cat2, { dtype: opts.dtype })
    this.fc = new Linear(2 * cat2, opts.embDim ?? 32, c)
    this.bnEmb = new BatchNorm1d(opts.embDim ?? 32, { dtype: opts.dtype })
  }
  forward(x: Tensor): Tensor { // (B, F, T) -> (B, E)
    let out = this.layer1.forward(x) // (B, C, T)
    let S = out
    const outs: Tensor[] = []
    for (const b of this.blocks.children()) {
      out = (b as SERes2DilatedTDNNBlock).forward(out).add(S) // dense sum aggregation
      S = S.add(out)
      outs.push(out)
    }
    const h = this.catConv.forward(cat(outs, 1)).relu() // (B, catChannels, T)
    const pooled = (this.pool.forward as (t: Tensor) => Tensor)(h) // (B, 2·catChannels)
    return this.bnEmb.forward(this.fc.forward(this.bnPool.forward(pooled)))
  }
}


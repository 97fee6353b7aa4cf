/**
 * @file 71 EfficientVMamba — Atrous Selective Scan for Light Weight Visual Mamba (Pei, Huang, Xu 2024,
 * https://arxiv.org/abs/2403.09977; TerryPei/EfficientVMamba `classification/models/vmamba_efficient.py`
 * and `lib/models/mamba/efficient_mamba.py`, configs `vssm_efficient_{tiny,small,base}.yaml`).
 *
 * - `ES2D`: the efficient 2-D selective scan (Sec. 3.2): in-proj d → 2E, depthwise 3x3 conv + SiLU,
 *   atrous skip-scan (step 2, 4 branches of ceil(H/2) ceil(W/2) pixels, `ssm.efficientScan`), a selective
 *   scan per branch with data-dependent Δ, B, C (Mamba's S6), merge back (`ssm.efficientMerge`),
 *   LayerNorm, gate by SiLU(z), out-proj E → d. `scan: 'cross'` swaps in VMamba's full SS2D cross-scan
 *   (4 directions of H W pixels) for comparison.
 * - `BiAttn`: the channel gate of the EVSS block (LN → spatial mean → Linear C → C/8 → GELU → Linear → σ).
 * - `EVSSBlock`: x ← x + BiAttn(ES2D(LN x)) + BiAttn(Conv1x1(GELU(BN(DWConv3x3(LN x))))) (Sec. 3.3).
 * - `InvertedResidual`: the MobileNetV2 / MBConv block (expand 1x1, depthwise kxk, SE, project 1x1).
 * - `EfficientVMamba`: patch embed → EVSS stages (first `evssStages`) → MBConv stages, patch merging
 *   between stages, LN → average pool → Linear head. Presets T / S / B from the released configs.
 * Shapes: blocks on feature maps are channel-last (B, H, W, C) as in the reference; `InvertedResidual`
 * and the network input are channel-first (B, C, H, W).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { rand, tensor } from '../../creation.ts'
import { cat, pad } from '../../ops/indexing.ts'
import { Generator } from '../../rng.ts'
import { selectiveScan } from '../../ops/scan.ts'
import { crossMerge, crossScan, efficientMerge, efficientScan } from '../../ssm/cross-scan.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Linear } from '../linear.ts'
import { Conv2d } from '../conv.ts'
import { BatchNorm2d, LayerNorm } from '../norm.ts'
import { ModuleList, Sequential } from '../containers.ts'
import { GELU, SiLU, Identity } from '../activation.ts'

type DT = 'float32' | 'float64'
interface Common { generator?: Generator; dtype?: DT }

export interface ES2DOptions extends Common {
  /** State size N per channel (default 16). */
  dState?: number
  /** E = ssmRatio · d (default 2). */
  ssmRatio?: number
  /** Rank R of the Δ projection (default ceil(d / 16)). */
  dtRank?: number
  /** 'atrous' (EfficientVMamba, default) or 'cross' (VMamba SS2D: 4 full-length directions). */
  scan?: 'atrous' | 'cross'
  dtMin?: number
  dtMax?: number
  dtFloor?: number
}

/** softplus⁻¹(dt) for dt = exp(U[log dtMin, log dtMax]) floored at dtFloor: b = dt + log(1 − e^{−dt}). */
function dtBias(K: number, E: number, o: ES2DOptions, g: Generator): number[][] {
  const lo = Math.log(o.dtMin ?? 1e-3), hi = Math.log(o.dtMax ?? 0.1), floor = o.dtFloor ?? 1e-4
  return Array.from({ length: K }, () => Array.from({ length: E }, () => {
    const dt = Math.max(floor, Math.exp(lo + g.nextFloat64() * (hi - lo)))
    return dt + Math.log(-Math.expm1(-dt))
  }))
}

/**
 * Efficient 2-D selective scan (ES2D). Per branch k: x_dbl = W_x^k x → [Δ_r | B | C];
 * Δ = softplus(W_Δ^k Δ_r + b_Δ^k); A = −exp(A_log), A_log = log(1..N); D = 1;
 * h_t = exp(Δ_t A) h_{t−1} + Δ_t B_t u_t, y_t = C_t · h_t + D u_t (Mamba Eqns (2a), (2b)).
 * x (B, H, W, d) → (B, H, W, d).
 * Reference: https://arxiv.org/abs/2403.09977 (Sec. 3.2, Fig. 3)
 * @example
 *   const es2d = new ES2D(16, { generator: new Generator(0) })
 *   const y = es2d.forward(x) // x (B, 8, 8, 16) -> (B, 8, 8, 16); 4 branches of 16 steps each
 */
export class ES2D extends Module {
  inProj: Linear
  conv2d: Conv2d
  xProjWeight: Parameter // (K, R + 2N, E)
  dtProjWeight: Parameter // (K, E, R)
  dtProjBias: Parameter // (K, E)
  ALogs: Parameter // (K E, N)
  Ds: Parameter // (K E,)
  outNorm: LayerNorm
  outProj: Linear
  readonly E: number
  readonly N: number
  readonly R: number
  readonly K = 4
  readonly scan: 'atrous' | 'cross'
  /** Scan steps per image and channel of the last forward: K · L' (4 ceil(H/2) ceil(W/2) atrous, 4 H W cross). */
  lastScanSteps = 0

  constructor(readonly d: number, opts: ES2DOptions = {}) {
    super()
    const g = opts.generator ?? new Generator(0), dtype = opts.dtype ?? 'float32', o = { generator: g, dtype }
    const E = (this.E = Math.round((opts.ssmRatio ?? 2) * d)), N = (this.N = opts.dState ?? 16), R = (this.R = opts.dtRank ?? Math.ceil(d / 16))
    if (![d, E, N, R].every((v) => Number.isInteger(v) && v > 0)) throw new TesseraError(`ES2D: d, E, N, R must be positive integers, got (${d}, ${E}, ${N}, ${R})`)
    this.scan = opts.scan ?? 'atrous'
    this.inProj = new Linear(d, 2 * E, { ...o, bias: false })
    this.conv2d = new Conv2d(E, E, 3, { ...o, padding: 1, groups: E })
    const unif = (shape: number[], b: number) => rand(shape, o).mul(2 * b).sub(b)
    this.xProjWeight = new Parameter(unif([this.K, R + 2 * N, E], 1 / Math.sqrt(E))) // nn.Linear(E, R + 2N) init
    this.dtProjWeight = new Parameter(unif([this.K, E, R], 1 / Math.sqrt(R))) // dt_init 'random': U(±R^-1/2)
    this.dtProjBias = new Parameter(tensor(dtBias(this.K, E, opts, g), { dtype }))
    this.ALogs = new Parameter(tensor(Array.from({ length: this.K * E }, () => Array.from({ length: N }, (_, n) => Math.log(n + 1))), { dtype }))
    this.Ds = new Parameter(tensor(new Array<number>(this.K * E).fill(1), { dtype }))
    this.outNorm = new LayerNorm(E, { dtype })
    this.outProj = new Linear(E, d, { ...o, bias: false })
    // NOTE: the reference re-initialises every nn.Linear (in_proj, out_proj, ...) to trunc_normal(std 0.02)
    // in VSSM._init_weights; we keep the default U(±fan_in^-½), which makes ES2D's output larger, not
    // smaller. Either way the scan term C·h starts at ~0.3% of the D·u skip (B, C and u are all small, and
    // the term is cubic in them) and grows with training (~11% after the 150-step digits demo).
  }

  /** Sequences (B, 4, E, L') of a (B, E, H, W) map, and the inverse layout. */
  private layout(x: Tensor): { xs: Tensor; merge: (ys: Tensor) => Tensor } {
    const [, , H, W] = x.shape
    if (this.scan === 'cross') return { xs: crossScan(x), merge: (ys) => crossMerge(ys, H, W) }
    return { xs: efficientScan(x), merge: (ys) => efficientMerge(ys, H, W) }
  }

  /** The 2-D selective scan core on a (B, E, H, W) map → (B, E, H, W). */
  core(x: Tensor): Tensor {
    const [Bt, E] = x.shape, K = this.K, N = this.N, R = this.R
    const { xs, merge } = this.layout(x) // (B, K, E, L')
    const L = xs.shape[3]
    this.lastScanSteps = K * L
    const xDbl = this.xProjWeight.unsqueeze(0).matmul(xs) // (B, K, R + 2N, L')
    const dts = this.dtProjWeight.unsqueeze(0).matmul(xDbl.narrow(2, 0, R)) // (B, K, E, L')
    const Bs = xDbl.narrow(2, R, N), Cs = xDbl.narrow(2, R + N, N) // (B, K, N, L): group k = branch k
    const ys = selectiveScan(xs.reshape([Bt, K * E, L]), dts.reshape([Bt, K * E, L]), this.ALogs.exp().neg(), Bs, Cs,
      { D: this.Ds, deltaBias: this.dtProjBias.reshape([K * E]), deltaSoftplus: true }) // (B, K E, L')
    return merge(ys.reshape([Bt, K, E, L])) // (B, E, H, W)
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[3] !== this.d) throw new TesseraError(`ES2D: x must be (B, H, W, d=${this.d}), got [${x.shape}]`)
    const xz = this.inProj.forward(x) // (B, H, W, 2E)
    const z = xz.narrow(3, this.E, this.E) // (B, H, W, E)
    const xc = this.conv2d.forward(xz.narrow(3, 0, this.E).permute([0, 3, 1, 2])).silu() // (B, E, H, W)
    const y = this.outNorm.forward(this.core(xc).permute([0, 2, 3, 1])) // (B, H, W, E)
    return this.outProj.forward(y.mul(z.silu()))
  }

  /**
   * Multiply-adds of the selective scan for a (H, W) map, as the reference's `flops_selective_scan_fn`:
   * 9 · B · L_total · E · N + B · E · L_total (D skip), L_total = 4 ceil(H/2) ceil(W/2) atrous or 4 H W cross.
   */
  scanFlops(H: number, W: number, B = 1): number {
    const Ltot = this.K * (this.scan === 'cross' ? H * W : Math.ceil(H / 2) * Math.ceil(W / 2))
    return 9 * B * Ltot * this.E * this.N + B * this.E * Ltot
  }
}

/**
 * BiAttn (the channel gate of EVSS): out = x ⊙ σ(W₂ GELU(W₁ mean_{H,W}(LN x))), W₁: C → floor(C/8).
 * x (B, H, W, C) → (B, H, W, C). The reference keeps the spatial half of "bi" commented out; so do we.
 * Reference: https://arxiv.org/abs/2403.09977 (Sec. 3.3), `efficient_mamba.py` BiAttn
 */
export class BiAttn extends Module {
  norm: LayerNorm
  globalReduce: Linear
  channelSelect: Linear
  constructor(readonly C: number, opts: Common & { actRatio?: number } = {}) {
    super()
    const r = Math.max(1, Math.floor(C * (opts.actRatio ?? 0.125)))
    this.norm = new LayerNorm(C, { dtype: opts.dtype })
    this.globalReduce = new Linear(C, r, opts)
    this.channelSelect = new Linear(r, C, opts)
  }
  /** The gate σ(...) (B, 1, 1, C). */
  gate(x: Tensor): Tensor {
    const g = this.norm.forward(x).mean([1, 2], true) // (B, 1, 1, C)
    return this.channelSelect.forward(this.globalReduce.forward(g).gelu()).sigmoid()
  }
  forward(x: Tensor): Tensor { return x.mul(this.gate(x)) }
}

export interface EVSSOptions extends ES2DOptions {
  /** The local depthwise-conv branch (default true; false for the ablation). */
  convBranch?: boolean
  /** Gate both branches with BiAttn (default true). */
  biAttn?: boolean
  /** Optional MLP after the mixer (ratio 0 = none, the EfficientVMamba default). */
  mlpRatio?: number
}

/**
 * EVSS block: n = LN(x); x ← x + BiAttn(ES2D(n)) + BiAttn(Conv1x1(GELU(BN(DWConv3x3(n))))) [+ MLP].
 * x (B, H, W, d) → (B, H, W, d).
 * Reference: https://arxiv.org/abs/2403.09977 (Sec. 3.3, Fig. 4), `efficient_mamba.py` VSSBlock
 */
export class EVSSBlock extends Module {
  norm: LayerNorm
  op: ES2D
  convBranch: Sequential | null
  se: BiAttn | null
  norm2: LayerNorm | null
  mlp: Sequential | null
  constructor(readonly d: number, opts: EVSSOptions = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.norm = new LayerNorm(d, { dtype: opts.dtype, eps: 1e-6 })
    this.op = new ES2D(d, opts)
    this.convBranch = opts.convBranch === false ? null : new Sequential(
      new Conv2d(d, d, 3, { ...o, padding: 1, groups: d }), new BatchNorm2d(d, { dtype: opts.dtype }), new GELU(), new Conv2d(d, d, 1, o))
    this.se = opts.biAttn === false ? null : new BiAttn(d, o)
    const hidden = Math.round((opts.mlpRatio ?? 0) * d)
    this.norm2 = hidden > 0 ? new LayerNorm(d, { dtype: opts.dtype, eps: 1e-6 }) : null
    this.mlp = hidden > 0 ? new Sequential(new Linear(d, hidden, o), new GELU(), new Linear(hidden, d, o)) : null
  }
  forward(x: Tensor): Tensor {
    const n = this.norm.forward(x) // (B, H, W, d)
    const gate = (t: Tensor) => (this.se ? this.se.forward(t) : t)
    let mix = gate(this.op.forward(n))
    if (this.convBranch) mix = mix.add(gate(this.convBranch.forward<Tensor>(n.permute([0, 3, 1, 2])).permute([0, 2, 3, 1])))
    let out = x.add(mix)
    if (this.mlp && this.norm2) out = out.add(this.mlp.forward<Tensor>(this.norm2.forward(out)))
    return out
  }
}

/**
 * MobileNetV2 inverted residual (MBConv) with squeeze-excite: 1x1 expand (×expandRatio) → BN → SiLU →
 * depthwise kxk (stride) → BN → SiLU → SE (reduce to max(1, floor(inC · seRatio)), sigmoid gate) →
 * 1x1 project → BN; + x when inC = outC and stride 1. x (B, inC, H, W) → (B, outC, H', W').
 * Reference: https://arxiv.org/abs/1801.04381; EfficientVMamba stages 3-4 use expand 4, SE 0.125.
 */
export class InvertedResidual extends Module {
  expand: Sequential | null
  dw: Sequential
  seReduce: Conv2d | null
  seExpand: Conv2d | null
  project: Sequential
  readonly residual: boolean
  constructor(readonly inC: number, readonly outC: number, opts: Common & { expandRatio?: number; seRatio?: number; stride?: number; kernelSize?: number } = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype }, bn = { dtype: opts.dtype }
    const ratio = opts.expandRatio ?? 4, stride = opts.stride ?? 1, k = opts.kernelSize ?? 3
    const mid = Math.round(inC * ratio)
    this.residual = inC === outC && stride === 1
    this.expand = ratio === 1 ? null : new Sequential(new Conv2d(inC, mid, 1, { ...o, bias: false }), new BatchNorm2d(mid, bn), new SiLU())
    this.dw = new Sequential(new Conv2d(mid, mid, k, { ...o, stride, padding: (k - 1) >> 1, groups: mid, bias: false }), new BatchNorm2d(mid, bn), new SiLU())
    const se = (opts.seRatio ?? 0.125) > 0 ? Math.max(1, Math.floor(inC * (opts.seRatio ?? 0.125))) : 0
    this.seReduce = se ? new Conv2d(mid, se, 1, o) : null
    this.seExpand = se ? new Conv2d(se, mid, 1, o) : null
    this.project = new Sequential(new Conv2d(mid, outC, 1, { ...o, bias: false }), new BatchNorm2d(outC, bn))
  }
  forward(x: Tensor): Tensor {
    let h = this.dw.forward<Tensor>(this.expand ? this.expand.forward<Tensor>(x) : x) // (B, mid, H', W')
    if (this.seReduce && this.seExpand) h = h.mul(this.seExpand.forward(this.seReduce.forward(h.mean([2, 3], true)).silu()).sigmoid())
    const y = this.project.forward<Tensor>(h)
    return this.residual ? y.add(x) : y
  }
}

/** Patch merging (downsample "v1"): concat the 4 pixels of each 2x2 cell, LN(4C), Linear 4C → outC (no bias). (B, H, W, C) → (B, ⌈H/2⌉, ⌈W/2⌉, outC). */
export class PatchMerging2D extends Module {
  norm: LayerNorm
  reduction: Linear
  constructor(readonly dim: number, outDim: number, opts: Common = {}) {
    super()
    this.norm = new LayerNorm(4 * dim, { dtype: opts.dtype })
    this.reduction = new Linear(4 * dim, outDim, { ...opts, bias: false })
  }
  forward(x: Tensor): Tensor {
    const [, H, W] = x.shape
    const xp = H % 2 || W % 2 ? pad(x, [0, 0, 0, W % 2, 0, H % 2]) : x // (B, 2H', 2W', C)
    const at = (r: number, c: number) => xp.slice(1, r, xp.shape[1], 2).slice(2, c, xp.shape[2], 2)
    return this.reduction.forward(this.norm.forward(cat([at(0, 0), at(1, 0), at(0, 1), at(1, 1)], 3)))
  }
}

export interface EfficientVMambaOptions extends Omit<EVSSOptions, 'mlpRatio'> {
  inChans?: number
  numClasses?: number
  patchSize?: number
  /** Stage widths, or the first width doubled per stage (default 48). */
  dims?: number | number[]
  depths?: number[]
  /** How many leading stages are EVSS (the rest are MBConv); default 2. */
  evssStages?: number
  mlpRatio?: number
}

/**
 * Released configs and the digits-sized micro net of sheet 71. T and B follow
 * `configs/vssm/vssm_efficient_{tiny,base}.yaml` (also the registered `mobile_vssm_fusion_nano` / `_tiny`
 * in `classification/models/vmamba_efficient.py`). NOTE: `vssm_efficient_small.yaml` says dims 96, which
 * gives 19.5M parameters against the paper's 11M; the registered `mobile_vssm_fusion_micro` (dims 64,
 * depths [2, 2, 4, 2]) gives 8.9M, in line with T (5.2M vs 6M) and B (26.2M vs 33M), so S uses dims 64.
 * The remaining ~15-20% shortfall is in the MBConv stages (`lib/models/operations.py` InvertedResidual,
 * not in the released sources we could read).
 */
export const EFFICIENT_VMAMBA_PRESETS = {
  T: { dims: 48, depths: [2, 2, 4, 2] },
  S: { dims: 64, depths: [2, 2, 4, 2] },
  B: { dims: 96, depths: [2, 2, 9, 2] },
  micro: { dims: [16, 32], depths: [1, 1], patchSize: 1, evssStages: 1, inChans: 1, numClasses: 10, dState: 8 },
} as const satisfies Record<string, EfficientVMambaOptions>

/**
 * EfficientVMamba: Conv(k = s = patchSize) → LN; stage i: `depths[i]` EVSS blocks (i < evssStages) or
 * MBConv blocks (expand 4, SE 0.125), then patch merging to dims[i+1]; head LN → mean over H, W → Linear.
 * x (B, inChans, H, W) → logits (B, numClasses).
 * Reference: https://arxiv.org/abs/2403.09977 (Sec. 3.4, Table 1)
 * @example
 *   const net = EfficientVMamba.preset('micro', { generator: new Generator(0) })
 *   const logits = net.forward(digits) // (B, 1, 8, 8) -> (B, 10)
 */
export class EfficientVMamba extends Module {
  patchEmbed: Conv2d
  patchNorm: LayerNorm
  stages: ModuleList
  downsamples: ModuleList
  norm: LayerNorm
  head: Linear
  readonly dims: number[]
  readonly depths: number[]
  readonly evssStages: number

  constructor(opts: EfficientVMambaOptions = {}) {
    super()
    const depths = (this.depths = [...(opts.depths ?? [2, 2, 4, 2])])
    const d0 = opts.dims ?? 48
    const dims = (this.dims = typeof d0 === 'number' ? depths.map((_, i) => d0 * 2 ** i) : [...d0])
    if (dims.length !== depths.length || depths.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new TesseraError(`EfficientVMamba: dims (${dims}) and depths (${depths}) must have equal lengths and positive depths`)
    }
    this.evssStages = opts.evssStages ?? 2
    const o = { generator: opts.generator ?? new Generator(0), dtype: opts.dtype }, p = opts.patchSize ?? 4
    this.patchEmbed = new Conv2d(opts.inChans ?? 3, dims[0], p, { ...o, stride: p })
    this.patchNorm = new LayerNorm(dims[0], { dtype: opts.dtype })
    this.stages = new ModuleList(dims.map((d, i) => new ModuleList(Array.from({ length: depths[i] }, () =>
      i < this.evssStages ? new EVSSBlock(d, { ...opts, ...o }) : new InvertedResidual(d, d, { ...o, expandRatio: 4, seRatio: 0.125 })))))
    this.downsamples = new ModuleList(dims.map((d, i) => (i < dims.length - 1 ? new PatchMerging2D(d, dims[i + 1], o) : new Identity())))
    this.norm = new LayerNorm(dims[dims.length - 1], { dtype: opts.dtype })
    this.head = new Linear(dims[dims.length - 1], opts.numClasses ?? 1000, o)
  }

  /** A preset ('T', 'S', 'B' or 'micro') with overrides. */
  static preset(name: keyof typeof EFFICIENT_VMAMBA_PRESETS, opts: EfficientVMambaOptions = {}): EfficientVMamba {
    const p = EFFICIENT_VMAMBA_PRESETS[name] as EfficientVMambaOptions
    return new EfficientVMamba({ ...p, ...opts, depths: [...(opts.depths ?? p.depths ?? [])] })
  }

  /** The ES2D modules of every EVSS block (for instrumentation). */
  es2dModules(): ES2D[] { return [...this.modules()].filter((m): m is ES2D => m instanceof ES2D) }

  /** Features before the head: (B, H', W', C_last). */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`EfficientVMamba: x must be (B, C, H, W), got [${x.shape}]`)
    let h = this.patchNorm.forward(this.patchEmbed.forward(x).permute([0, 2, 3, 1])) // (B, H', W', C0)
    for (let i = 0; i < this.dims.length; i++) {
      const blocks = [...(this.stages.at(i) as ModuleList)]
      if (i < this.evssStages) for (const b of blocks) h = (b as EVSSBlock).forward(h)
      else {
        let c = h.permute([0, 3, 1, 2]) // (B, C, H, W)
        for (const b of blocks) c = (b as InvertedResidual).forward(c)
        h = c.permute([0, 2, 3, 1])
      }
      h = (this.downsamples.at(i) as Module).forward(h as never) as Tensor
    }
    return h
  }

  forward(x: Tensor): Tensor {
    return this.head.forward(this.norm.forward(this.features(x)).mean([1, 2]))
  }
}

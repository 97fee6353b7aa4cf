/**
 * @file 02 EMOv2 — EMOv2: Pushing 5M Vision Model Frontier (Zhang, Hu, He, Xue, Wang, Wang, Liu, Li, Tao 2024,
 * https://arxiv.org/abs/2412.06674; zhangzjn/EMOv2 `model/lib_emo/emo2.py`, `basic_modules.py`).
 *
 * - `I2RMB`: the improved inverted residual mobile block (i²RMB, the paper's instance of the Meta
 *   Mobile Block). x̂ = Norm(x); u = Σ_ops EOp(x̂) with EOp ∈ {act(Conv1x1 C → C_m), spanning window
 *   attention (qk on C channels, v = act(Conv1x1 C → C_m) on the expanded width)}; y = SiLU(BN(DWConv_k(u)))
 *   (stride s); u ← u + y (skip) or y; out = Conv1x1(C_m → C_out, no bias);
 *   x ← x + DropPath(γ ⊙ out) (skip) or γ ⊙ out, γ per channel (LayerScale, init 1e-6).
 *   Skip only when stride 1 and C_in = C_out. The attention is `WindowMHSA` (src/nn/window-attention.ts):
 *   'close' (EW-MHSA), 'remote' (strided grid spanning the image) or 'hybrid' (close + remote, SEW-MHSA).
 * - `LayerNorm2d`: LayerNorm over the channels of every pixel of an NCHW map.
 * - `EMOv2`: stem (Conv3x3 s2 (bias) + BN + SiLU, DW3x3 + BN + SiLU, Conv1x1) → 4 stages of i²RMBs (the first
 *   of each stage: stride 2, no skip, conv EOp only, expansion x2) → Norm → spatial mean → Linear.
 *   Presets 1M / 2M / 5M / 20M (the released `EMO2_*_k5_hybrid`) and `tiny8x8` (sheet 02's digits net).
 * Shapes: NCHW everywhere, x (B, C, H, W); logits (B, numClasses). BN / LN eps 1e-6 as the reference.
 * NOTE: a window larger than the map is clamped to the map (global attention); the reference pads the map
 * up to the window instead. The two differ only for maps smaller than the window, which the released
 * 224² / 256² / 512² configs never produce (stage 3-4 maps 14 / 7 and up, windows 7 / 8).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { zeros } from '../../creation.ts'
import { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Conv2d } from '../conv.ts'
import { Linear } from '../linear.ts'
import { BatchNorm2d, LayerNorm } from '../norm.ts'
import { Parameter } from '../parameter.ts'
import { truncNormal_ } from '../init.ts'
import { ConvBNAct, DropPath, LayerScale, activate, type Activation } from '../blocks.ts'
import { WindowMHSA } from '../window-attention.ts'

const EPS = 1e-6

/**
 * LayerNorm over the channel axis of an NCHW map: y[b, :, h, w] = LN(x[b, :, h, w]) (eps 1e-6).
 * Reference: zhangzjn/EMOv2 basic_modules.py LayerNorm2d (ConvNeXt's channels-first LayerNorm).
 */
export class LayerNorm2d extends Module {
  norm: LayerNorm
  constructor(readonly channels: number, eps = EPS) {
    super()
    this.norm = new LayerNorm(channels, { eps })
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) throw new TesseraError(`LayerNorm2d: x must be (B, ${this.channels}, H, W), got [${x.shape}]`)
    return this.norm.forward(x.permute([0, 2, 3, 1])).permute([0, 3, 1, 2]) // (B, C, H, W)
  }
}

/** Efficient operators of an i²RMB: 'conv' (1x1 conv + act) or a window attention mode. */
export type EOp = 'conv' | 'close' | 'remote' | 'hybrid'
export type EMONorm = 'bn' | 'ln' | 'none'

export interface I2RMBOptions {
  cin: number
  cout: number
  /** C_m = floor(cin · expRatio). Default 1. */
  expRatio?: number
  stride?: number
  /** Summed EOps (default ['conv']). */
  ops?: EOp[]
  /** Depthwise kernel (default 5); 0 drops the local conv. */
  dwK?: number
  /** Channels per attention head of q, k (default 32). */
  dimHead?: number
  window?: number
  norm?: EMONorm
  /** Activation of the EOps (SiLU in stages 1-2, GELU in 3-4). */
  act?: Activation
  /** LayerScale init γ (default 1e-6). */
  lsInit?: number
  dropPath?: number
  /** Allow the residuals (default true; they also need stride 1 and cin = cout). */
  hasSkip?: boolean
  /** Bias of the EOp / qk / v 1x1 convs (default true). */
  qkvBias?: boolean
  generator?: Generator
}

/**
 * i²RMB (Sec. 3.3, Fig. 4): x ← x + DropPath(γ ⊙ W_out(u + SiLU(BN(DW_k(u))))), u = Σ EOp(Norm(x)).
 * x (B, cin, H, W) → (B, cout, H/s, W/s).
 * Reference: https://arxiv.org/abs/2412.06674 (Sec. 3.3), emo2.py `iiRMB`
 * @example
 *   const blk = new I2RMB({ cin: 80, cout: 80, expRatio: 3, ops: ['hybrid'], dimHead: 20, window: 7, norm: 'ln', act: 'gelu' })
 *   const y = blk.forward(x) // (B, 80, 14, 14) -> (B, 80, 14, 14)
 */
export class I2RMB extends Module {
  norm: BatchNorm2d | LayerNorm2d | null
  eops: ModuleList
  convLocal: ConvBNAct | null
  proj: Conv2d
  ls: LayerScale
  dropPath: DropPath | null
  readonly hasSkip: boolean
  readonly ops: EOp[]
  readonly act: Activation
  readonly dimMid: number
  readonly cin: number

  constructor(opts: I2RMBOptions) {
    super()
    const { cin, cout } = opts
    this.cin = cin
    const stride = opts.stride ?? 1, g = opts.generator
    const C_m = (this.dimMid = Math.floor(cin * (opts.expRatio ?? 1)))
    if (![cin, cout, C_m].every((v) => Number.isInteger(v) && v > 0)) throw new TesseraError(`I2RMB: cin, cout and cin·expRatio must be positive integers, got (${cin}, ${cout}, ${C_m})`)
    this.ops = [...(opts.ops ?? ['conv'])]
    if (this.ops.length === 0) throw new TesseraError('I2RMB: ops must name at least one EOp')
    this.act = opts.act ?? 'silu'
    const normKind = opts.norm ?? 'bn'
    this.norm = normKind === 'bn' ? new BatchNorm2d(cin, { eps: EPS }) : normKind === 'ln' ? new LayerNorm2d(cin) : null
    this.hasSkip = (opts.hasSkip ?? true) && stride === 1 && cin === cout
    const bias = opts.qkvBias ?? true
    this.eops = new ModuleList(this.ops.map((op) => op === 'conv'
      ? new Conv2d(cin, C_m, 1, { bias, generator: g })
      : new WindowMHSA({ dim: cin, dimV: C_m, dimHead: opts.dimHead ?? 32, window: opts.window ?? 7, mode: op, qkvBias: bias, vAct: this.act, generator: g })))
    const k = opts.dwK ?? 5
    this.convLocal = k > 0 ? new ConvBNAct(C_m, C_m, k, { stride, groups: C_m, act: 'silu', bnEps: EPS, generator: g }) : null
    this.proj = new Conv2d(C_m, cout, 1, { bias: false, generator: g })
    this.ls = new LayerScale(cout, opts.lsInit ?? 1e-6, { channelDim: 1 })
    this.dropPath = this.hasSkip && (opts.dropPath ?? 0) > 0 ? new DropPath(opts.dropPath!, g) : null
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.cin) throw new TesseraError(`I2RMB: x must be (B, ${this.cin}, H, W), got [${x.shape}]`)
    const xn = this.norm ? this.norm.forward(x) : x // (B, cin, H, W)
    let u: Tensor | null = null // (B, C_m, H, W)
    for (const [i, op] of this.ops.entries()) {
      const m = this.eops.at(i) as Conv2d | WindowMHSA
      const e = op === 'conv' ? activate((m as Conv2d).forward(xn), this.act) : (m as WindowMHSA).forward(xn)
      u = u ? u.add(e) : e
    }
    // NOTE: without the DW conv (dwK 0) the reference's conv_local is nn.Identity, so a skip block doubles u; kept as is.
    const y = this.convLocal ? this.convLocal.forward(u!) : u! // (B, C_m, H/s, W/s)
    u = this.hasSkip ? u!.add(y) : y
    const out = this.ls.forward(this.proj.forward(u!)) // (B, cout, H/s, W/s)
    if (!this.hasSkip) return out
    return x.add(this.dropPath ? this.dropPath.forward(out) : out)
  }
}

export interface EMOv2Options {
  inChans?: number
  numClasses?: number
  depths: number[]
  dims: number[]
  expRatios: number[]
  dimHeads: number[]
  /** Attention window per stage (default 7). */
  windows?: number | number[]
  norms?: EMONorm[]
  acts?: Activation[]
  /** Depthwise kernel per stage (default 5). */
  dwKs?: number | number[]
  /** EOps of the non-first blocks per stage (default conv, conv, hybrid, hybrid). */
  ops?: EOp[][]
  /** Stride of each stage's first block (default 2). */
  strides?: number[]
  /** Stride of the stem's 3x3 conv (default 2; 1 for 8x8 digits). */
  stemStride?: number
  /** Maximum stochastic depth, linear over all blocks (default 0). */
  dropPath?: number
  lsInit?: number
  generator?: Generator
}

/**
 * Released configs (emo2.py `EMO2_{1M,2M,5M,20M}_k5_hybrid`, 224²) and sheet 02's digits net.
 * Parameters (1000 classes, BN buffers excluded): 1M 1,460,844, 5M 5,126,440 (paper: 1.4M / 5.1M).
 */
export const EMOV2_PRESETS = {
  '1M': { depths: [2, 2, 8, 3], dims: [32, 48, 80, 180], expRatios: [2, 2.5, 3, 3.5], dimHeads: [16, 16, 20, 20], dropPath: 0.04036 },
  '2M': { depths: [3, 3, 9, 3], dims: [32, 48, 120, 200], expRatios: [2, 2.5, 3, 3.5], dimHeads: [16, 16, 20, 20], dropPath: 0.05 },
  '5M': { depths: [3, 3, 9, 3], dims: [48, 72, 160, 288], expRatios: [2, 3, 4, 4], dimHeads: [16, 24, 32, 32], dropPath: 0.05 },
  '20M': { depths: [3, 3, 13, 3], dims: [64, 128, 320, 448], expRatios: [2, 3, 4, 4], dimHeads: [16, 32, 32, 32], dropPath: 0.1 },
  /** 8x8 digits: stem stride 1; stage 1 (conv, BN, SiLU) 8x8 → 4x4; stage 2 (hybrid, LN, GELU, window 2) stays 4x4. */
  tiny8x8: {
    inChans: 1, numClasses: 10, depths: [2, 2], dims: [24, 48], expRatios: [2, 2], dimHeads: [12, 12], windows: 2, dwKs: 3,
    norms: ['bn', 'ln'], acts: ['silu', 'gelu'], ops: [['conv'], ['hybrid']], strides: [2, 1], stemStride: 1,
  },
} as const satisfies Record<string, EMOv2Options>

export type EMOv2Preset = keyof typeof EMOV2_PRESETS

const perStage = <T>(v: T | T[] | undefined, n: number, dflt: T[]): T[] => (v === undefined ? dflt.slice(0, n) : Array.isArray(v) ? [...v] : Array<T>(n).fill(v))

/**
 * EMOv2 (Sec. 3.4, Table 2): stem → stages of i²RMBs → Norm → mean over (H, W) → Linear.
 * x (B, inChans, H, W) → logits (B, numClasses).
 * Reference: https://arxiv.org/abs/2412.06674, emo2.py `EMO2`
 * @example
 *   const net = EMOv2.preset('tiny8x8', { generator: new Generator(0) })
 *   const logits = net.forward(digits) // (B, 1, 8, 8) -> (B, 10)
 */
export class EMOv2 extends Module {
  stem: ModuleList // Conv2d, BatchNorm2d, ConvBNAct (DW), Conv2d (1x1)
  stages: ModuleList // of ModuleList of I2RMB
  norm: BatchNorm2d | LayerNorm2d | null
  head: Linear
  readonly cfg: Required<Omit<EMOv2Options, 'generator'>>

  constructor(opts: EMOv2Options) {
    super()
    const n = opts.depths.length, g = opts.generator ?? new Generator(0)
    const cfg = (this.cfg = {
      inChans: opts.inChans ?? 3, numClasses: opts.numClasses ?? 1000, depths: [...opts.depths], dims: [...opts.dims],
      expRatios: [...opts.expRatios], dimHeads: [...opts.dimHeads], windows: perStage(opts.windows, n, Array<number>(n).fill(7)),
      norms: perStage(opts.norms, n, ['bn', 'bn', 'ln', 'ln']), acts: perStage(opts.acts, n, ['silu', 'silu', 'gelu', 'gelu']),
      dwKs: perStage(opts.dwKs, n, Array<number>(n).fill(5)), ops: (opts.ops ?? [['conv'], ['conv'], ['hybrid'], ['hybrid']]).map((o) => [...o]),
      strides: perStage(opts.strides, n, Array<number>(n).fill(2)), stemStride: opts.stemStride ?? 2, dropPath: opts.dropPath ?? 0, lsInit: opts.lsInit ?? 1e-6,
    })
    for (const [k, v] of Object.entries(cfg)) {
      if (Array.isArray(v) && v.length !== n) throw new TesseraError(`EMOv2: ${k} has ${v.length} entries for ${n} stages (depths [${cfg.depths}])`)
    }
    const c0 = Math.floor(cfg.dims[0] / 2)
    this.stem = new ModuleList([
      new Conv2d(cfg.inChans, c0, 3, { stride: cfg.stemStride, padding: 1, bias: true, generator: g }),
      new BatchNorm2d(c0, { eps: EPS }),
      new ConvBNAct(c0, c0, 3, { groups: c0, act: 'silu', bnEps: EPS, generator: g }),
      new Conv2d(c0, c0, 1, { bias: false, generator: g }),
    ])
    const total = cfg.depths.reduce((a, b) => a + b, 0)
    const dpr = (i: number) => (total > 1 ? (cfg.dropPath * i) / (total - 1) : 0) // torch.linspace(0, dropPath, total)
    let cin = c0, blockIdx = 0
    this.stages = new ModuleList(cfg.depths.map((depth, i) => new ModuleList(Array.from({ length: depth }, (_, j) => {
      const first = j === 0
      const blk = new I2RMB({
        cin, cout: cfg.dims[i], expRatio: cfg.expRatios[i] * (first ? 2 : 1), stride: first ? cfg.strides[i] : 1, hasSkip: !first,
        ops: first ? ['conv'] : cfg.ops[i], dwK: first && cfg.dwKs[i] <= 0 ? 5 : cfg.dwKs[i], dimHead: cfg.dimHeads[i], window: cfg.windows[i],
        norm: cfg.norms[i], act: cfg.acts[i], lsInit: cfg.lsInit, dropPath: dpr(blockIdx++), generator: g,
      })
      cin = cfg.dims[i]
      return blk
    }))))
    const last = cfg.dims[n - 1], lastNorm = cfg.norms[n - 1]
    this.norm = lastNorm === 'bn' ? new BatchNorm2d(last, { eps: EPS }) : lastNorm === 'ln' ? new LayerNorm2d(last) : null
    this.head = new Linear(last, cfg.numClasses, { generator: g })
    this.head.weight = new Parameter(truncNormal_(zeros(this.head.weight.shape), { std: 0.02, generator: g })) // trunc_normal_(std .02)
    this.head.bias = new Parameter(zeros([cfg.numClasses]))
  }

  /** A preset ('1M', '2M', '5M', '20M', 'tiny8x8') with overrides. */
  static preset(name: EMOv2Preset, opts: Partial<EMOv2Options> = {}): EMOv2 {
    const p = EMOV2_PRESETS[name] as unknown as EMOv2Options
    if (!p) throw new TesseraError(`EMOv2.preset: unknown preset '${String(name)}' (known: ${Object.keys(EMOV2_PRESETS).join(', ')})`)
    return new EMOv2({ ...p, ...opts } as EMOv2Options)
  }

  /** The i²RMBs in order. */
  blocks(): I2RMB[] { return [...this.stages].flatMap((s) => [...(s as ModuleList)] as I2RMB[]) }

  /** Feature map before the head: (B, dims[-1], H', W'). */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.cfg.inChans) throw new TesseraError(`EMOv2: x must be (B, ${this.cfg.inChans}, H, W), got [${x.shape}]`)
    const [conv, bn, dw, pw] = [...this.stem] as [Conv2d, BatchNorm2d, ConvBNAct, Conv2d]
    let h = pw.forward(dw.forward(bn.forward(conv.forward(x)).silu())) // (B, C0/2, H/s, W/s)
    for (const b of this.blocks()) h = b.forward(h)
    return h
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x) // (B, C, H', W')
    return this.head.forward((this.norm ? this.norm.forward(f) : f).mean([2, 3])) // (B, numClasses)
  }
}

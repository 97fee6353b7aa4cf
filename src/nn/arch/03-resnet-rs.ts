/**
 * @file Paper 03 — ResNet-RS: "Revisiting ResNets: Improved Training and Scaling Strategies"
 * (Bello, Fedus, Du, Cubuk, Srinivas, Lin, Shlens, Zoph 2021), https://arxiv.org/abs/2103.07579.
 * Reference code: tensorflow/tpu models/official/resnet/resnet_rs (configs/*.yaml) and its Keras port
 * (keras.applications.resnet_rs).
 *
 * The network: a ResNet-D stem (three 3x3 convs 32 s2 → 32 → 64, then a 3x3 stride-2 conv in place of
 * the max-pool), bottleneck blocks 1x1 → 3x3 (stride) → 1x1 (x4) with squeeze-excitation on the block
 * output before the residual add (SE width = 0.25 x block output channels), the zero-γ last BN, the
 * ResNet-D shortcut (AvgPool 2x2 s2 → 1x1 conv → BN) on the first block of every stage, stochastic
 * depth on the residual branch, and GAP → Dropout → FC. `stem: 'plain'`, `shortcut: 'plain'`,
 * `seRatio: 0` give the classic ResNet (torchvision ResNet-50 = 25,557,032 parameters).
 *
 * Images are NCHW: x (B, Cin, H, W) → logits (B, numClasses). Every conv is bias-free and followed
 * by BatchNorm2d; SE convs and the FC have biases.
 *
 * Label smoothing needs no code here: `F.crossEntropy(logits, y, { labelSmoothing: 0.1 })` already
 * implements CE against (1 − ε)·onehot + ε/K. EMA of weights is `optim.EMA` (src/optim/ema.ts), the
 * augmentation is `data.augment.randAugment` (src/data/augment.ts).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { defaultGenerator, type Generator } from '../../rng.ts'
import { noGrad } from '../../autograd.ts'
import { avgPool2d, maxPool2d } from '../../ops/pool.ts'
import { dropout } from '../../functional.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Conv2d } from '../conv.ts'
import { BatchNorm2d } from '../norm.ts'
import { Linear } from '../linear.ts'
import { ConvBNAct, DropPath, SqueezeExcite } from '../blocks.ts'

/** How the stochastic-depth rate grows through the network. */
export type DropPathRule = 'block' | 'stage'

/**
 * Per-block stochastic-depth drop rates for stages with `layers[s]` blocks and final rate p:
 *   'block' (Huang et al. 2016, the paper's "linearly increasing" rule): block i of N (1-based) drops with p·i/N;
 *   'stage' (the TPU/Keras ResNet-RS code): every block of stage s (s = 2..S+1 for S stages) drops with p·s/(S+1).
 * Reference: https://arxiv.org/abs/2103.07579 (Sec. 4, Table 1)
 * @example
 *   dropPathRates([3, 4, 6, 3], 0.1, 'block') // 16 rates 0.1/16 … 0.1
 */
export function dropPathRates(layers: readonly number[], p: number, rule: DropPathRule = 'block'): number[] {
  if (!(p >= 0 && p < 1)) throw new TesseraError(`dropPathRates: p must be in [0, 1), got ${p}`)
  const N = layers.reduce((a, b) => a + b, 0), S = layers.length
  const out: number[] = []
  let i = 0
  layers.forEach((n, s) => {
    for (let b = 0; b < n; b++) out.push(rule === 'block' ? (p * ++i) / N : (p * (s + 2)) / (S + 1))
  })
  return out
}

/**
 * ResNet-D downsampling shortcut (He et al. 2019 "Bag of Tricks"): AvgPool 2x2 stride 2 (only when
 * stride > 1; ceil mode, padding excluded, as the reference's 'same' pooling) → 1x1 conv → BN.
 * `plain: true` gives the classic strided 1x1 conv → BN shortcut. x (B, Cin, H, W) → (B, Cout, ⌈H/s⌉, ⌈W/s⌉).
 * Reference: https://arxiv.org/abs/1812.01187
 */
export class ResNetDShortcut extends Module {
  conv: Conv2d
  bn: BatchNorm2d
  readonly plain: boolean

  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride = 1, opts: { plain?: boolean; generator?: Generator } = {}) {
    super()
    this.plain = opts.plain ?? false
    this.conv = new Conv2d(inChannels, outChannels, 1, { stride: this.plain ? stride : 1, bias: false, generator: opts.generator })
    this.bn = new BatchNorm2d(outChannels)
  }

  forward(x: Tensor): Tensor {
    const h = !this.plain && this.stride > 1
      ? avgPool2d(x, { kernelSize: 2, stride: this.stride, ceilMode: true, countIncludePad: false }) // (B, Cin, H/s, W/s)
      : x
    return this.bn.forward(this.conv.forward(h)) // (B, Cout, H/s, W/s)
  }
}

export interface ResNetStemOptions {
  kind?: 'resnetD' | 'plain'
  /** Channels of the three ResNet-D convs (default [32, 32, 64]); 'plain' uses the last one. */
  widths?: readonly [number, number, number]
  /** Strides of the first conv and of the max-pool replacement (default [2, 2]: /4 overall). */
  strides?: readonly [number, number]
  generator?: Generator
}

/**
 * The stem. 'resnetD': 3x3 conv (s₁) → 3x3 → 3x3, each BN+ReLU, then a 3x3 stride-s₂ conv+BN+ReLU
 * replacing the max-pool (`replace_stem_max_pool`). 'plain': 7x7 conv (s₁) + BN + ReLU → 3x3 max-pool (s₂).
 * x (B, Cin, H, W) → (B, widths[2], H/(s₁s₂), W/(s₁s₂)).
 */
export class ResNetStem extends Module {
  layers: ModuleList
  readonly kind: 'resnetD' | 'plain'
  readonly poolStride: number
  readonly outChannels: number

  constructor(inChannels: number, opts: ResNetStemOptions = {}) {
    super()
    const [w1, w2, w3] = opts.widths ?? [32, 32, 64]
    const [s1, s2] = opts.strides ?? [2, 2]
    const g = opts.generator
    this.kind = opts.kind ?? 'resnetD'
    this.poolStride = s2
    this.outChannels = w3
    this.layers = new ModuleList(this.kind === 'resnetD'
      ? [new ConvBNAct(inChannels, w1, 3, { stride: s1, generator: g }), new ConvBNAct(w1, w2, 3, { generator: g }),
        new ConvBNAct(w2, w3, 3, { generator: g }), new ConvBNAct(w3, w3, 3, { stride: s2, generator: g })]
      : [new ConvBNAct(inChannels, w3, 7, { stride: s1, generator: g })])
  }

  forward(x: Tensor): Tensor {
    let h = x
    for (const m of this.layers) h = (m as ConvBNAct).forward(h)
    if (this.kind === 'plain' && this.poolStride > 1) h = maxPool2d(h, { kernelSize: 3, stride: this.poolStride, padding: 1 })
    return h
  }
}

export interface RSBottleneckOptions {
  stride?: number
  /** SE width relative to the block's output channels (0: no SE). Default 0.25. */
  seRatio?: number
  dropPath?: number
  /** Projection shortcut kind for the first block of a stage; null for an identity shortcut. */
  shortcut?: 'resnetD' | 'plain' | null
  /** Initialise the last BN's γ to 0 (default true). */
  zeroInitLastBn?: boolean
  generator?: Generator
}

/**
 * Bottleneck with SE and stochastic depth: h = BN(1x1 (4w)) ∘ ReLU∘BN(3x3 s) ∘ ReLU∘BN(1x1 w) (x),
 * h ← SE(h) = h ⊙ σ(W₂ ReLU(W₁ GAP(h))), y = ReLU(shortcut(x) + DropPath(h)).
 * x (B, Cin, H, W) → (B, 4w, H/s, W/s).
 */
export class RSBottleneck extends Module {
  conv1: ConvBNAct
  conv2: ConvBNAct
  conv3: ConvBNAct
  se: SqueezeExcite | null
  shortcut: ResNetDShortcut | null
  dropPath: DropPath | null

  constructor(readonly inChannels: number, readonly width: number, opts: RSBottleneckOptions = {}) {
    super()
    const g = opts.generator, stride = opts.stride ?? 1, out = 4 * width
    this.conv1 = new ConvBNAct(inChannels, width, 1, { generator: g })
    this.conv2 = new ConvBNAct(width, width, 3, { stride, generator: g })
    this.conv3 = new ConvBNAct(width, out, 1, { act: 'none', generator: g })
    if (opts.zeroInitLastBn ?? true) noGrad(() => this.conv3.bn.weight!.zero_())
    const seRatio = opts.seRatio ?? 0.25
    this.se = seRatio > 0 ? new SqueezeExcite(out, Math.max(1, Math.floor(out * seRatio)), { generator: g }) : null
    const kind = opts.shortcut ?? null
    if (kind === null && (stride !== 1 || inChannels !== out)) {
      throw new TesseraError(`RSBottleneck: an identity shortcut needs stride 1 and inChannels = 4·width, got stride ${stride}, ${inChannels} -> ${out}`)
    }
    this.shortcut = kind === null ? null : new ResNetDShortcut(inChannels, out, stride, { plain: kind === 'plain', generator: g })
    const p = opts.dropPath ?? 0
    this.dropPath = p > 0 ? new DropPath(p, g ?? defaultGenerator) : null
  }

  forward(x: Tensor): Tensor {
    let h = this.conv3.forward(this.conv2.forward(this.conv1.forward(x))) // (B, 4w, H/s, W/s)
    if (this.se) h = this.se.forward(h)
    if (this.dropPath) h = this.dropPath.forward(h)
    const sc = this.shortcut ? this.shortcut.forward(x) : x // (B, 4w, H/s, W/s)
    return sc.add(h).relu()
  }
}

export interface ResNetRSOptions {
  /** Bottleneck blocks per stage, e.g. [3, 4, 6, 3] for depth 50. */
  layers: readonly number[]
  /** Bottleneck widths per stage before widthMult (default [64, 128, 256, 512]; outputs are 4x). */
  widths?: readonly number[]
  /** Multiplies every channel count, stem included (rounded, at least 1). Default 1. */
  widthMult?: number
  stem?: 'resnetD' | 'plain'
  stemWidths?: readonly [number, number, number]
  stemStrides?: readonly [number, number]
  shortcut?: 'resnetD' | 'plain'
  seRatio?: number
  /** Dropout before the FC head (default 0.25). */
  dropout?: number
  /** Final stochastic-depth rate p (default 0). */
  dropPath?: number
  dropPathRule?: DropPathRule
  zeroInitLastBn?: boolean
  inChannels?: number
  numClasses?: number
  generator?: Generator
}

/**
 * ResNet-RS (and, with the 'plain' switches and seRatio 0, the classic ResNet). Stage s has
 * layers[s] bottlenecks of width widths[s]·widthMult; the first block of stage s > 0 has stride 2.
 * x (B, Cin, H, W) → logits (B, numClasses).
 * Reference: https://arxiv.org/abs/2103.07579
 * @example
 *   const m = new ResNetRS(RESNET_RS_PRESETS['resnetrs-50'])   // 35,691,912 parameters
 *   m.forward(randn([1, 3, 160, 160]))                         // (1, 1000)
 */
export class ResNetRS extends Module {
  stem: ResNetStem
  blocks: ModuleList
  fc: Linear
  readonly dropout: number
  readonly dropRates: number[]
  readonly generator: Generator

  constructor(readonly options: ResNetRSOptions) {
    super()
    const o = options
    const widths = o.widths ?? [64, 128, 256, 512]
    if (o.layers.length === 0 || o.layers.length !== widths.length || !o.layers.every((n) => Number.isInteger(n) && n >= 1)) {
      throw new TesseraError(`ResNetRS: layers must be positive integers, one per stage of widths [${widths.join(',')}], got [${o.layers.join(',')}]`)
    }
    const wm = o.widthMult ?? 1
    const scale = (c: number): number => Math.max(1, Math.round(c * wm))
    const g = o.generator ?? defaultGenerator
    this.generator = g
    const sw = o.stemWidths ?? [32, 32, 64]
    this.stem = new ResNetStem(o.inChannels ?? 3, { kind: o.stem ?? 'resnetD', widths: [scale(sw[0]), scale(sw[1]), scale(sw[2])], strides: o.stemStrides, generator: g })
    this.dropRates = dropPathRates(o.layers, o.dropPath ?? 0, o.dropPathRule ?? 'block')
    const blocks: RSBottleneck[] = []
    let c = this.stem.outChannels, k = 0
    o.layers.forEach((n, s) => {
      const w = scale(widths[s])
      for (let b = 0; b < n; b++) {
        blocks.push(new RSBottleneck(c, w, {
          stride: b === 0 && s > 0 ? 2 : 1, seRatio: o.seRatio ?? 0.25, dropPath: this.dropRates[k++],
          shortcut: b === 0 ? (o.shortcut ?? 'resnetD') : null, zeroInitLastBn: o.zeroInitLastBn, generator: g,
        }))
        c = 4 * w
      }
    })
    this.blocks = new ModuleList(blocks)
    this.dropout = o.dropout ?? 0.25
    this.fc = new Linear(c, o.numClasses ?? 1000, { generator: g })
  }

  /** Pooled features (B, C_last) before dropout and the head. */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`ResNetRS: x must be (B, C, H, W), got [${x.shape.join(',')}]`)
    let h = this.stem.forward(x) // (B, 64, H/4, W/4)
    for (const b of this.blocks) h = (b as RSBottleneck).forward(h) // (B, 4w_s, H/2^(s+2), ...)
    return h.mean([2, 3]) // (B, C_last)
  }

  forward(x: Tensor): Tensor {
    const f = dropout(this.features(x), this.dropout, { training: this.training, generator: this.generator }) // (B, C_last)
    return this.fc.forward(f) // (B, numClasses)
  }
}

/** A named ResNet-RS configuration with the image sizes the paper trains it at. */
export interface ResNetRSPreset extends ResNetRSOptions { imageSizes: readonly number[] }

const stage = (layers: number[], dropPath: number, dropout: number, imageSizes: number[]): ResNetRSPreset =>
  ({ layers, dropPath, dropout, imageSizes, dropPathRule: 'block', seRatio: 0.25, stem: 'resnetD', shortcut: 'resnetD' })

/**
 * ResNet-RS-50 … 420 as released (keras.applications.resnet_rs / tensorflow/tpu configs): blocks per
 * stage, head dropout (0.25, 0.4 for 350/420), drop_connect_rate (0 up to 152, 0.1 from 200) and the
 * paper's image sizes. Stochastic depth uses the paper's per-block linear rule ('block'); pass
 * `dropPathRule: 'stage'` to reproduce the released code's per-stage rates. Plus the classic
 * 'resnet-50' (torchvision layout) for reference.
 */
export const RESNET_RS_PRESETS: Record<string, ResNetRSPreset> = {
  'resnet-50': { layers: [3, 4, 6, 3], stem: 'plain', stemWidths: [64, 64, 64], shortcut: 'plain', seRatio: 0, dropout: 0, imageSizes: [224], zeroInitLastBn: false },
  'resnetrs-50': stage([3, 4, 6, 3], 0, 0.25, [160]),
  'resnetrs-101': stage([3, 4, 23, 3], 0, 0.25, [160, 192]),
  'resnetrs-152': stage([3, 8, 36, 3], 0, 0.25, [192, 224, 256]),
  'resnetrs-200': stage([3, 24, 36, 3], 0.1, 0.25, [256]),
  'resnetrs-270': stage([4, 29, 53, 4], 0.1, 0.25, [256]),
  'resnetrs-350': stage([4, 36, 72, 4], 0.1, 0.4, [256, 320]),
  'resnetrs-420': stage([4, 44, 87, 4], 0.1, 0.4, [320]),
}

/** Builds a preset by name, with overrides (e.g. numClasses, generator). */
export function resnetRS(name: string, overrides: Partial<ResNetRSOptions> = {}): ResNetRS {
  const p = RESNET_RS_PRESETS[name]
  if (!p) throw new TesseraError(`resnetRS: unknown preset '${name}'; expected one of ${Object.keys(RESNET_RS_PRESETS).join(', ')}`)
  return new ResNetRS({ ...p, ...overrides })
}

export interface ScalingProposal {
  regime: 'overfit' | 'underfit'
  /** What the budget beyond resolution goes to. */
  scale: 'depth' | 'width'
  depthMult: number
  widthMult: number
  /** Proposed image side (multiple of 32). */
  resolution: number
  /** Blocks per stage after depth scaling (each stage x depthMult, rounded, at least 1). */
  layers: number[]
}

/**
 * The paper's scaling strategies as a rule of thumb: (1) scale depth when overfitting can occur (long
 * training, ~350 epochs, or small data) and width otherwise (short training); (2) grow resolution
 * slowly. For a FLOPs multiplier f over the base (FLOPs ∝ depth·width²·res²) the resolution takes
 * r = f^0.2 (so res² takes 40% of log f; base RS-50@160 to RS-420@320 is f ≈ 28, r ≈ 1.95) and the
 * remaining f/r² goes to depth (x f/r²) or width (x √(f/r²)). Regime from `epochs` when not given:
 * 'overfit' from 200 epochs on (the paper contrasts 10/100 vs 350 epochs).
 * Reference: https://arxiv.org/abs/2103.07579 (Sec. 7, "Improved scaling strategies")
 * @example
 *   scalingResnetRS({ flopsMult: 4, epochs: 350 }) // depth x2.29, res 160 -> 211 -> 224
 */
export function scalingResnetRS(opts: { flopsMult: number; regime?: 'overfit' | 'underfit'; epochs?: number; baseResolution?: number; baseLayers?: readonly number[] }): ScalingProposal {
  const f = opts.flopsMult
  if (!(f >= 1)) throw new TesseraError(`scaling.resnetRS: flopsMult must be >= 1, got ${f}`)
  const regime = opts.regime ?? ((opts.epochs ?? 350) >= 200 ? 'overfit' : 'underfit')
  const r = Math.pow(f, 0.2)
  const rest = f / (r * r)
  const depthMult = regime === 'overfit' ? rest : 1
  const widthMult = regime === 'overfit' ? 1 : Math.sqrt(rest)
  const base = opts.baseResolution ?? 160
  const resolution = Math.max(32, Math.round((base * r) / 32) * 32)
  const layers = (opts.baseLayers ?? [3, 4, 6, 3]).map((n) => Math.max(1, Math.round(n * depthMult)))
  return { regime, scale: regime === 'overfit' ? 'depth' : 'width', depthMult, widthMult, resolution, layers }
}

/**
 * @file Paper 35 — TinyNet: "Model Rubik's Cube: Twisting Resolution, Depth and Width for TinyNets"
 * (Han, Wang, Zhang, Zhang, Xu, Zhang, NeurIPS 2020), https://arxiv.org/abs/2010.14819, on top of
 * EfficientNet (Tan & Le 2019, https://arxiv.org/abs/1905.11946). Reference code:
 * huawei-noah/Efficient-AI-Backbones tinynet_pytorch/tinynet.py (timm 0.1.20 EfficientNet builder) and
 * tensorflow/tpu models/official/efficientnet (round_filters / round_repeats).
 *
 * The network (NCHW): x (B, Cin, H, W) → stem 3x3 s2 ConvBNAct (B, 32·w, H/2, W/2) → 7 stages of MBConv
 * (the B0 table below; stage strides 1,2,2,2,1,2,1, so /32 overall) → 1x1 head ConvBNAct (B, head, H/32,
 * W/32) → global average pool (B, head) → dropout → Linear (B, numClasses). Swish (SiLU) everywhere;
 * SE width = 0.25 x block input channels. Also used by paper 47 (src/nn/arch/47-efficientnet-breast-tumor.ts).
 *
 * Scaling (x = r, w, d multipliers of resolution, width, depth):
 *   channels  round_filters(c, w) = makeDivisible(c·w, 8)  (nearest multiple of 8, ≥ 8, +8 if < 90% of c·w)
 *   repeats   EfficientNet: ⌈d·n⌉;  TinyNet: max(1, round(d·n)) with Python's round-half-even
 *   resolution int(224·r);  FLOPs ratio c ≈ r² w² d  (Sec. 3 of the TinyNet paper)
 * TinyNet fixes the stem at 32 channels and the head at max(1280, round_filters(1280, w)).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { defaultGenerator, type Generator } from '../../rng.ts'
import { dropout } from '../../functional.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { ConvBNAct, MBConv, makeDivisible, type Activation } from '../blocks.ts'
import { gaussianProcess, type GaussianProcess } from '../../stats/gaussian-process.ts'

/** One stage of the block table (timm notation `ir_r2_k3_s2_e6_c24_se0.25`). */
export interface StageDef {
  /** 'ds': depthwise-separable (expand 1), 'ir': inverted residual (MBConv). */
  kind: 'ds' | 'ir'
  repeats: number
  kernel: number
  stride: number
  expand: number
  channels: number
  seRatio: number
}

/** Parses a timm block string such as `ir_r2_k5_s2_e6_c40_se0.25`. */
export function decodeBlockString(s: string): StageDef {
  const [kind, ...parts] = s.split('_')
  if (kind !== 'ds' && kind !== 'ir') throw new TesseraError(`decodeBlockString: unknown block kind '${kind}' in '${s}'`)
  const get = (key: string, dflt?: number): number => {
    const p = parts.find((q) => q.startsWith(key) && /^[\d.]+$/.test(q.slice(key.length)))
    if (p === undefined) {
      if (dflt === undefined) throw new TesseraError(`decodeBlockString: '${s}' lacks '${key}'`)
      return dflt
    }
    return Number(p.slice(key.length))
  }
  return { kind, repeats: get('r'), kernel: get('k'), stride: get('s'), expand: kind === 'ds' ? 1 : get('e'), channels: get('c'), seRatio: get('se', 0) }
}

/** EfficientNet-B0 / TinyNet base table (Tan & Le 2019, Table 1; tinynet.py arch_def). */
export const B0_ARCH: readonly string[] = [
  'ds_r1_k3_s1_e1_c16_se0.25', 'ir_r2_k3_s2_e6_c24_se0.25', 'ir_r2_k5_s2_e6_c40_se0.25', 'ir_r3_k3_s2_e6_c80_se0.25',
  'ir_r3_k5_s1_e6_c112_se0.25', 'ir_r4_k5_s2_e6_c192_se0.25', 'ir_r1_k3_s1_e6_c320_se0.25',
]

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x), diff = x - f
  if (diff > 0.5) return f + 1
  if (diff < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}

/** round_filters(c, w) = makeDivisible(c·w, divisor): the EfficientNet / TinyNet channel rule. */
export function roundFilters(channels: number, width: number, divisor = 8): number {
  return makeDivisible(channels * width, divisor)
}

/** Repeats of a stage of n blocks at depth multiplier d: ⌈d·n⌉ ('ceil', EfficientNet) or max(1, round(d·n)) ('round', TinyNet). */
export function roundRepeats(n: number, depth: number, trunc: 'ceil' | 'round' = 'ceil'): number {
  return trunc === 'ceil' ? Math.ceil(n * depth) : Math.max(1, roundHalfEven(n * depth))
}

export interface EfficientNetOptions {
  /** Block table (timm strings or parsed). Default B0_ARCH. */
  arch?: readonly (string | StageDef)[]
  /** Width multiplier w (default 1). */
  width?: number
  /** Depth multiplier d (default 1). */
  depth?: number
  /** Nominal input side (informational; the net is fully convolutional). Default int(224 · r) or 224. */
  resolution?: number
  depthTrunc?: 'ceil' | 'round'
  /** Stem channels before scaling (default 32) and whether they stay unscaled (TinyNet: true). */
  stemSize?: number
  fixStem?: boolean
  /** Stem stride (default 2; 1 for tiny images). */
  stemStride?: number
  /** Head channels after all scaling (default round_filters(1280, w)). */
  headSize?: number
  /** Channel divisor of round_filters (default 8). */
  divisor?: number
  inChannels?: number
  numClasses?: number
  /** Dropout before the classifier (default 0.2). */
  dropRate?: number
  /** Final drop-connect (stochastic depth) rate; block i of N gets dropConnect·i/N (default 0). */
  dropConnect?: number
  act?: Activation
  generator?: Generator
}

/**
 * EfficientNet / TinyNet from a block table and (w, d) multipliers, built from the shared MBConv.
 * x (B, Cin, H, W) → logits (B, numClasses).
 * Reference: https://arxiv.org/abs/1905.11946, https://arxiv.org/abs/2010.14819
 * @example
 *   const b0 = profile.shapeOnly(() => new EfficientNet())     // 5,288,548 parameters
 *   const a = tinyNet('a', { numClasses: 10 })                  // r .86, w 1.0, d 1.2 (input 192)
 */
export class EfficientNet extends Module {
  stem: ConvBNAct
  blocks: ModuleList
  head: ConvBNAct
  classifier: Linear
  readonly stages: StageDef[]
  /** Output channels and repeats of each stage after scaling. */
  readonly stageChannels: number[]
  readonly stageRepeats: number[]
  readonly stemChannels: number
  readonly headChannels: number
  readonly resolution: number
  readonly dropRate: number
  readonly generator: Generator

  constructor(readonly options: EfficientNetOptions = {}) {
    super()
    const o = options
    const w = o.width ?? 1, d = o.depth ?? 1, div = o.divisor ?? 8, act = o.act ?? 'silu'
    if (!(w > 0 && d > 0)) throw new TesseraError(`EfficientNet: width and depth multipliers must be > 0, got w ${w}, d ${d}`)
    const g = o.generator ?? defaultGenerator
    this.generator = g
    this.stages = (o.arch ?? B0_ARCH).map((s) => (typeof s === 'string' ? decodeBlockString(s) : s))
    const stem = o.stemSize ?? 32
    this.stemChannels = o.fixStem ? stem : roundFilters(stem, w, div)
    this.stem = new ConvBNAct(o.inChannels ?? 3, this.stemChannels, 3, { stride: o.stemStride ?? 2, act, generator: g })
    this.stageRepeats = this.stages.map((s) => roundRepeats(s.repeats, d, o.depthTrunc ?? 'ceil'))
    this.stageChannels = this.stages.map((s) => roundFilters(s.channels, w, div))
    const total = this.stageRepeats.reduce((a, b) => a + b, 0)
    const blocks: MBConv[] = []
    let c = this.stemChannels
    this.stages.forEach((s, i) => {
      for (let b = 0; b < this.stageRepeats[i]; b++) {
        blocks.push(new MBConv(c, this.stageChannels[i], {
          expand: s.expand, kernel: s.kernel, stride: b === 0 ? s.stride : 1, seRatio: s.seRatio, act,
          dropPath: ((o.dropConnect ?? 0) * blocks.length) / total, generator: g,
        }))
        c = this.stageChannels[i]
      }
    })
    this.blocks = new ModuleList(blocks)
    this.headChannels = o.headSize ?? roundFilters(1280, w, div)
    this.head = new ConvBNAct(c, this.headChannels, 1, { act, generator: g })
    this.dropRate = o.dropRate ?? 0.2
    this.classifier = new Linear(this.headChannels, o.numClasses ?? 1000, { generator: g })
    this.resolution = o.resolution ?? 224
  }

  /** Pooled features (B, head) before dropout and the classifier. */
  features(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`EfficientNet: x must be (B, C, H, W), got [${x.shape.join(',')}]`)
    let h = this.stem.forward(x) // (B, stem, H/2, W/2)
    for (const b of this.blocks) h = (b as MBConv).forward(h) // (B, c_s, H/2^k, W/2^k)
    return this.head.forward(h).mean([2, 3]) // (B, head)
  }

  forward(x: Tensor): Tensor {
    const f = dropout(this.features(x), this.dropRate, { training: this.training, generator: this.generator }) // (B, head)
    return this.classifier.forward(f) // (B, numClasses)
  }
}

/** EfficientNet-B0 … B7 (width, depth, resolution, dropout) of the official code (efficientnet_builder.py). */
export const EFFICIENTNET_PRESETS: Record<string, { width: number; depth: number; resolution: number; dropRate: number }> = {
  b0: { width: 1.0, depth: 1.0, resolution: 224, dropRate: 0.2 },
  b1: { width: 1.0, depth: 1.1, resolution: 240, dropRate: 0.2 },
  b2: { width: 1.1, depth: 1.2, resolution: 260, dropRate: 0.3 },
  b3: { width: 1.2, depth: 1.4, resolution: 300, dropRate: 0.3 },
  b4: { width: 1.4, depth: 1.8, resolution: 380, dropRate: 0.4 },
  b5: { width: 1.6, depth: 2.2, resolution: 456, dropRate: 0.4 },
  b6: { width: 1.8, depth: 2.6, resolution: 528, dropRate: 0.5 },
  b7: { width: 2.0, depth: 3.1, resolution: 600, dropRate: 0.5 },
}

/** Builds EfficientNet-`name` ('b0' … 'b7') with overrides (numClasses, generator, ...). */
export function efficientNet(name: string, overrides: EfficientNetOptions = {}): EfficientNet {
  const p = EFFICIENTNET_PRESETS[name]
  if (!p) throw new TesseraError(`efficientNet: unknown preset '${name}'; expected one of ${Object.keys(EFFICIENTNET_PRESETS).join(', ')}`)
  return new EfficientNet({ ...p, depthTrunc: 'ceil', ...overrides })
}

/** A TinyNet scaling point: resolution, width and depth multipliers relative to B0. */
export interface RWD { r: number; w: number; d: number }

/** TinyNet-A … E (tinynet_pytorch/eval.py): r, w, d relative to EfficientNet-B0. */
export const TINYNET_PRESETS: Record<'a' | 'b' | 'c' | 'd' | 'e', RWD> = {
  a: { r: 0.86, w: 1.0, d: 1.2 },
  b: { r: 0.84, w: 0.75, d: 1.1 },
  c: { r: 0.825, w: 0.54, d: 0.85 },
  d: { r: 0.68, w: 0.54, d: 0.695 },
  e: { r: 0.475, w: 0.51, d: 0.6 },
}

/**
 * The EfficientNet options of the TinyNet generator `tinynet(r, w, d)`: B0 table, repeats
 * max(1, round(d·n)), stem fixed at 32, head max(1280, round_filters(1280, w)), input int(224·r).
 */
export function tinyNetOptions({ r, w, d }: RWD, overrides: EfficientNetOptions = {}): EfficientNetOptions {
  return {
    width: w, depth: d, depthTrunc: 'round', fixStem: true, stemSize: 32, resolution: Math.floor(224 * r + 1e-9),
    headSize: Math.max(1280, roundFilters(1280, w)), dropRate: 0.2, ...overrides,
  }
}

/** Builds TinyNet-`name` ('a' … 'e') or a TinyNet at explicit { r, w, d }. */
export function tinyNet(name: keyof typeof TINYNET_PRESETS | RWD, overrides: EfficientNetOptions = {}): EfficientNet {
  const p = typeof name === 'string' ? TINYNET_PRESETS[name] : name
  if (!p) throw new TesseraError(`tinyNet: unknown preset '${String(name)}'; expected one of a, b, c, d, e`)
  return new EfficientNet(tinyNetOptions(p, overrides))
}

// ------------------------------------------------------------------ scaling rules

/** EfficientNet's grid-searched constants: depth α, width β, resolution γ with α β² γ² ≈ 2. */
export const COMPOUND = { alpha: 1.2, beta: 1.1, gamma: 1.15 } as const

/**
 * Compound scaling (Tan & Le 2019, Eq. 3): d = α^φ, w = β^φ, r = γ^φ; FLOPs grow by (α β² γ²)^φ ≈ 2^φ.
 * Reference: https://arxiv.org/abs/1905.11946
 * @example
 *   compound(1) // { d: 1.2, w: 1.1, r: 1.15, flops: 1.92 }
 */
export function compound(phi: number, k: { alpha: number; beta: number; gamma: number } = COMPOUND): RWD & { phi: number; flops: number } {
  const d = k.alpha ** phi, w = k.beta ** phi, r = k.gamma ** phi
  return { phi, r, w, d, flops: d * w * w * r * r }
}

/**
 * The "inverse giant formula" of the TinyNet paper: EfficientNet's compound rule run backwards to a
 * FLOPs ratio c < 1, φ = ln c / ln(α β² γ²) (< 0), so that r² w² d = c exactly.
 * Reference: https://arxiv.org/abs/2010.14819 (Sec. 3.1)
 */
export function inverseGiant(c: number, k: { alpha: number; beta: number; gamma: number } = COMPOUND): RWD & { phi: number; flops: number } {
  if (!(c > 0)) throw new TesseraError(`inverseGiant: FLOPs ratio c must be > 0, got ${c}`)
  return compound(Math.log(c) / Math.log(k.alpha * k.beta * k.beta * k.gamma * k.gamma), k)
}

/** FLOPs ratio of a scaling point relative to B0 by the paper's approximation c = r² w² d. */
export const flopsRatio = ({ r, w, d }: RWD): number => r * r * w * w * d

/** GP fits r(log₂ c) and d(log₂ c) of the tiny formula. */
export interface TinyFormulaFit { r: GaussianProcess; d: GaussianProcess }

/** Published FLOPs (MACs) of TinyNet-A … E (paper Table 4 / readme) and of EfficientNet-B0 (0.39 G). */
export const TINYNET_FLOPS = { a: 339e6, b: 202e6, c: 100e6, d: 52e6, e: 24e6, b0: 390e6 } as const

/**
 * The winners the published TinyNets encode: (r, w, d) with c = published FLOPs / B0's. These c are
 * the measured ratios (≈ 0.87, 1/2, 1/4, 1/8, 1/16), not r² w² d, which ignores the fixed stem and head
 * and undershoots by up to 45% for TinyNet-E.
 */
export const TINY_FORMULA_POINTS: readonly (RWD & { c: number })[] = (['a', 'b', 'c', 'd', 'e'] as const).map(
  (k) => ({ ...TINYNET_PRESETS[k], c: TINYNET_FLOPS[k] / TINYNET_FLOPS.b0 }))

/**
 * Fits the tiny formula from the best (r, w, d) found at several FLOPs targets c: GP regressions of r
 * and of d against log₂ c (the paper's Sec. 3.2 on its sweeps; c defaults to r² w² d when a point has
 * none). The targets halve from model to model, so log₂ c spaces them evenly; a GP on raw c with one
 * length scale overshoots between B (c ≈ 0.52) and A (0.87).
 * Default data: TINY_FORMULA_POINTS; default GP: RBF ℓ 1 (in log₂ c), σ_f² 0.1, noise 0, constant mean.
 */
export function fitTinyFormula(points: readonly (RWD & { c?: number })[] = TINY_FORMULA_POINTS, gp: { lengthScale?: number; variance?: number; noise?: number } = {}): TinyFormulaFit {
  if (points.length === 0) throw new TesseraError('fitTinyFormula: need at least one (r, w, d) point')
  const c = points.map((p) => Math.log2(p.c ?? flopsRatio(p)))
  const opts = { lengthScale: gp.lengthScale ?? 1, variance: gp.variance ?? 0.1, noise: gp.noise ?? 0 }
  return { r: gaussianProcess(c, points.map((p) => p.r), opts), d: gaussianProcess(c, points.map((p) => p.d), opts) }
}

let defaultFit: TinyFormulaFit | null = null

/**
 * The tiny formula: for a FLOPs ratio c, r = GP_r(log₂ c), d = GP_d(log₂ c), and w = √(c / (r² d)) so that
 * r² w² d = c. Reference: https://arxiv.org/abs/2010.14819 (Sec. 3.2, Eq. 5)
 * @example
 *   tinyFormula(0.5) // r ≈ 0.84, d ≈ 1.1 (TinyNet-B's), w = √(0.5 / (r² d))
 */
export function tinyFormula(c: number, fit?: TinyFormulaFit): RWD {
  if (!(c > 0)) throw new TesseraError(`tinyFormula: FLOPs ratio c must be > 0, got ${c}`)
  const f = fit ?? (defaultFit ??= fitTinyFormula())
  const r = f.r.predict([Math.log2(c)])[0], d = f.d.predict([Math.log2(c)])[0]
  return { r, d, w: Math.sqrt(c / (r * r * d)) }
}

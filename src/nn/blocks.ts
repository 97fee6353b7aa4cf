/**
 * @file Building blocks shared by the vision papers (EMOv2, ResNet-RS, EfficientFormer, TinyNet /
 * EfficientNet, ViT-based SN-Net and Model Assembling, ...): stochastic depth, LayerScale,
 * squeeze-and-excitation, conv-BN-activation, and the MobileNetV2 / EfficientNet inverted bottleneck
 * (MBConv). Images are NCHW. Everything is composed from tessera ops, so autograd is free.
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { rand, ones } from '../creation.ts'
import { defaultGenerator, type Generator } from '../rng.ts'
import { clamp } from '../ops/elementwise.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { Conv2d } from './conv.ts'
import { BatchNorm2d } from './norm.ts'

/** Activation names the blocks accept. */
export type Activation = 'relu' | 'relu6' | 'silu' | 'gelu' | 'hardswish' | 'sigmoid' | 'hardsigmoid' | 'none'

/** hardsigmoid(x) = clamp(x / 6 + 1/2, 0, 1) (MobileNetV3). */
export function hardsigmoid(x: Tensor): Tensor {
  return clamp(x.div(6).add(0.5), 0, 1)
}

/** hardswish(x) = x · hardsigmoid(x) (MobileNetV3). Reference: https://arxiv.org/abs/1905.02244 */
export function hardswish(x: Tensor): Tensor {
  return x.mul(hardsigmoid(x))
}

/** Applies the named activation. */
export function activate(x: Tensor, act: Activation): Tensor {
  switch (act) {
    case 'relu': return x.relu()
    case 'relu6': return clamp(x, 0, 6)
    case 'silu': return x.mul(x.sigmoid())
    case 'gelu': return x.gelu()
    case 'hardswish': return hardswish(x)
    case 'sigmoid': return x.sigmoid()
    case 'hardsigmoid': return hardsigmoid(x)
    case 'none': return x
    default: throw new TesseraError(`activate: unknown activation '${String(act)}'`)
  }
}

/**
 * Rounds `v` to the nearest multiple of `divisor`, at least `minValue`, never going below 90% of `v`
 * (the channel rounding of MobileNet / EfficientNet / TinyNet reference code).
 */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  const rounded = Math.max(minValue, Math.floor(v + divisor / 2) - (Math.floor(v + divisor / 2) % divisor))
  return rounded < 0.9 * v ? rounded + divisor : rounded
}

/**
 * Stochastic depth per sample (Huang et al. 2016): in training, each sample's branch is zeroed with
 * probability p and the survivors are scaled by 1/(1-p); identity in eval or when p = 0.
 * Reference: https://arxiv.org/abs/1603.09382
 */
export class DropPath extends Module {
  constructor(readonly p: number, readonly generator: Generator = defaultGenerator) {
    super()
    if (!(p >= 0 && p < 1)) throw new TesseraError(`DropPath: p must be in [0, 1), got ${p}`)
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x
    const keep = 1 - this.p
    const shape = [x.shape[0], ...Array<number>(x.ndim - 1).fill(1)] // (B, 1, ..., 1)
    const mask = rand(shape, { dtype: x.dtype === 'float64' ? 'float64' : 'float32', generator: this.generator }).lt(keep)
    return x.mul(mask).div(keep)
  }
}

export interface LayerScaleOptions {
  /** Channel axis: 1 for NCHW maps, -1 for channels-last tokens (default -1). */
  channelDim?: 1 | -1
  dtype?: 'float32' | 'float64'
}

/** y = γ ⊙ x with a learnable per-channel γ initialised to `init` (CaiT). Reference: https://arxiv.org/abs/2103.17239 */
export class LayerScale extends Module {
  gamma: Parameter // (dim,)
  readonly channelDim: 1 | -1

  constructor(readonly dim: number, init = 1e-5, opts: LayerScaleOptions = {}) {
    super()
    this.gamma = new Parameter(ones([dim], { dtype: opts.dtype }).mul(init))
    this.channelDim = opts.channelDim ?? -1
  }

  forward(x: Tensor): Tensor {
    const c = this.channelDim === 1 ? 1 : x.ndim - 1
    if (x.shape[c] !== this.dim) throw new TesseraError(`LayerScale: expected ${this.dim} channels on dim ${c}, got [${x.shape.join(',')}]`)
    if (this.channelDim === -1) return x.mul(this.gamma)
    return x.mul(this.gamma.reshape([this.dim, ...Array<number>(x.ndim - 2).fill(1)]))
  }
}

export interface SqueezeExciteOptions {
  act?: Activation
  gate?: 'sigmoid' | 'hardsigmoid'
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Squeeze-and-excitation (Hu et al. 2018): s = gate(W₂ act(W₁ avgpool(x))), y = x ⊙ s per channel,
 * with 1x1 convs (with bias) for W₁ (C -> reduced) and W₂ (reduced -> C). NCHW.
 * Reference: https://arxiv.org/abs/1709.01507
 */
export class SqueezeExcite extends Module {
  reduce: Conv2d
  expand: Conv2d
  readonly act: Activation
  readonly gate: 'sigmoid' | 'hardsigmoid'

  constructor(readonly channels: number, readonly reduced: number, opts: SqueezeExciteOptions = {}) {
    super()
    if (!(Number.isInteger(reduced) && reduced >= 1)) throw new TesseraError(`SqueezeExcite: reduced channels must be a positive integer, got ${reduced}`)
    this.reduce = new Conv2d(channels, reduced, 1, { generator: opts.generator, dtype: opts.dtype })
    this.expand = new Conv2d(reduced, channels, 1, { generator: opts.generator, dtype: opts.dtype })
    this.act = opts.act ?? 'relu'
    this.gate = opts.gate ?? 'sigmoid'
  }

  forward(x: Tensor): Tensor {
    const s = x.mean([2, 3], true) // (B, C, 1, 1)
    return x.mul(activate(this.expand.forward(activate(this.reduce.forward(s), this.act)), this.gate))
  }
}

export interface ConvBNActOptions {
  stride?: number
  groups?: number
  /** Default: 'same'-style (kernel - 1) / 2 * dilation. */
  padding?: number
  dilation?: number
  act?: Activation
  bnEps?: number
  bnMomentum?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/** Conv2d (no bias) -> BatchNorm2d -> activation. */
export class ConvBNAct extends Module {
  conv: Conv2d
  bn: BatchNorm2d
  readonly act: Activation

  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, opts: ConvBNActOptions = {}) {
    super()
    const dilation = opts.dilation ?? 1
    this.conv = new Conv2d(inChannels, outChannels, kernel, {
      stride: opts.stride ?? 1, padding: opts.padding ?? ((kernel - 1) / 2) * dilation, dilation, groups: opts.groups ?? 1, bias: false, generator: opts.generator, dtype: opts.dtype,
    })
    this.bn = new BatchNorm2d(outChannels, { eps: opts.bnEps ?? 1e-5, momentum: opts.bnMomentum ?? 0.1, dtype: opts.dtype })
    this.act = opts.act ?? 'relu'
  }

  forward(x: Tensor): Tensor {
    return activate(this.bn.forward(this.conv.forward(x)), this.act)
  }
}

export interface MBConvOptions {
  /** Expansion ratio of the hidden width (1 skips the expansion conv, as EfficientNet's first stage). */
  expand: number
  /** Depthwise kernel size (odd). */
  kernel: number
  stride: number
  /** SE reduction relative to the block's input channels (EfficientNet: 0.25); 0 or undefined: no SE. */
  seRatio?: number
  act?: Activation
  /** Stochastic depth rate on the residual branch. */
  dropPath?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * The inverted bottleneck of MobileNetV2 / EfficientNet (MBConv): 1x1 expand (ConvBNAct) ->
 * k x k depthwise (ConvBNAct, stride) -> SE -> 1x1 project (Conv + BN, no activation), with a
 * residual (and DropPath) when stride = 1 and in = out.
 * References: https://arxiv.org/abs/1801.04381, https://arxiv.org/abs/1905.11946
 */
export class MBConv extends Module {
  expandConv: ConvBNAct | null
  depthwise: ConvBNAct
  se: SqueezeExcite | null
  project: ConvBNAct
  dropPath: DropPath | null
  readonly residual: boolean

  constructor(readonly inChannels: number, readonly outChannels: number, opts: MBConvOptions) {
    super()
    const { expand, kernel, stride } = opts
    if (!(expand >= 1) || !(kernel % 2 === 1) || !(stride >= 1)) {
      throw new TesseraError(`MBConv: need expand >= 1, an odd kernel and stride >= 1, got expand ${expand}, kernel ${kernel}, stride ${stride}`)
    }
    const act = opts.act ?? 'silu', g = opts.generator, dtype = opts.dtype
    const hidden = Math.round(inChannels * expand)
    this.expandConv = expand === 1 ? null : new ConvBNAct(inChannels, hidden, 1, { act, generator: g, dtype })
    this.depthwise = new ConvBNAct(hidden, hidden, kernel, { stride, groups: hidden, act, generator: g, dtype })
    const seRatio = opts.seRatio ?? 0
    this.se = seRatio > 0 ? new SqueezeExcite(hidden, Math.max(1, Math.floor(inChannels * seRatio)), { act, generator: g, dtype }) : null
    this.project = new ConvBNAct(hidden, outChannels, 1, { act: 'none', generator: g, dtype })
    this.residual = stride === 1 && inChannels === outChannels
    this.dropPath = this.residual && (opts.dropPath ?? 0) > 0 ? new DropPath(opts.dropPath!, g) : null
  }

  forward(x: Tensor): Tensor {
    let h = this.expandConv ? this.expandConv.forward(x) : x // (B, hidden, H, W)
    h = this.depthwise.forward(h) // (B, hidden, H/s, W/s)
    if (this.se) h = this.se.forward(h)
    h = this.project.forward(h) // (B, out, H/s, W/s)
    if (!this.residual) return h
    return x.add(this.dropPath ? this.dropPath.forward(h) : h)
  }
}

/**
 * @file Normalisation modules over `F.batchNorm`, `F.layerNorm`, `F.groupNorm`, `F.rmsNorm`.
 * Buffer and parameter names are PyTorch's (`weight`, `bias`, `running_mean`, `running_var`,
 * `num_batches_tracked`), so state dicts load from PyTorch checkpoints.
 * Reference: https://pytorch.org/docs/stable/nn.html#normalization-layers
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { full, ones, zeros } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { batchNorm, groupNorm, layerNorm, rmsNorm } from '../ops/norm.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'

export interface BatchNormModuleOptions {
  eps?: number
  /** Weight of each new batch in the running statistics; null for a cumulative average. Default 0.1. */
  momentum?: number | null
  affine?: boolean
  trackRunningStats?: boolean
  dtype?: 'float32' | 'float64'
}

/** Per-channel batch normalisation over (N, C, *spatial); `rank` is the expected input rank set. */
abstract class BatchNormNd extends Module {
  weight: Parameter | null
  bias: Parameter | null
  readonly eps: number
  readonly momentum: number | null
  readonly trackRunningStats: boolean

  constructor(private readonly op: string, private readonly ranks: number[], readonly numFeatures: number, opts: BatchNormModuleOptions) {
    super()
    if (!Number.isInteger(numFeatures) || numFeatures <= 0) throw new TesseraError(`${op}: numFeatures must be a positive integer, got ${numFeatures}`)
    const dtype = opts.dtype ?? 'float32'
    this.eps = opts.eps ?? 1e-5
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum
    this.trackRunningStats = opts.trackRunningStats ?? true
    const affine = opts.affine ?? true
    this.weight = affine ? new Parameter(ones([numFeatures], { dtype })) : null
    this.bias = affine ? new Parameter(zeros([numFeatures], { dtype })) : null
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], { dtype }) : null)
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], { dtype }) : null)
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? full([], 0, { dtype: 'int32' }) : null)
  }

  private buffer(name: string): Tensor | null {
    return (this as unknown as Record<string, Tensor | null>)[name]
  }

  get runningMean(): Tensor | null { return this.buffer('running_mean') }
  get runningVar(): Tensor | null { return this.buffer('running_var') }
  get numBatchesTracked(): Tensor | null { return this.buffer('num_batches_tracked') }

  forward(x: Tensor): Tensor {
    if (!this.ranks.includes(x.ndim)) {
      throw new TesseraError(`${this.op}: expected a ${this.ranks.join('-D or ')}-D input, got shape [${x.shape}]`)
    }
    const useBatchStats = this.training || !this.trackRunningStats
    let momentum = this.momentum ?? 0
    if (this.training && this.trackRunningStats) {
      const n = this.numBatchesTracked!
      noGrad(() => n.add_(1))
      // momentum null: cumulative moving average, the new batch weighted 1 / (batches seen).
      if (this.momentum === null) momentum = 1 / n.item()
    }
    const track = this.training && this.trackRunningStats
    return batchNorm(x, track || !useBatchStats ? this.runningMean : null, track || !useBatchStats ? this.runningVar : null,
      this.weight, this.bias, { training: useBatchStats, momentum, eps: this.eps })
  }
}

/** Over (N, C) or (N, C, L). */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) { super('BatchNorm1d', [2, 3], numFeatures, opts) }
}

/** Over (N, C, H, W). */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) { super('BatchNorm2d', [4], numFeatures, opts) }
}

/** Over (N, C, D, H, W). */
export class BatchNorm3d extends BatchNormNd {
  constructor(numFeatures: number, opts: BatchNormModuleOptions = {}) { super('BatchNorm3d', [5], numFeatures, opts) }
}

export interface LayerNormOptions { eps?: number; elementwiseAffine?: boolean; bias?: boolean; dtype?: 'float32' | 'float64' }

/** Normalises over the trailing `normalizedShape` dims. */
export class LayerNorm extends Module {
  weight: Parameter | null
  bias: Parameter | null
  readonly normalizedShape: number[]
  readonly eps: number

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super()
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape.slice()
    this.eps = opts.eps ?? 1e-5
    const affine = opts.elementwiseAffine ?? true
    this.weight = affine ? new Parameter(ones(this.normalizedShape, { dtype: opts.dtype })) : null
    this.bias = affine && opts.bias !== false ? new Parameter(zeros(this.normalizedShape, { dtype: opts.dtype })) : null
  }

  forward(x: Tensor): Tensor { return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps) }
}

export interface RMSNormOptions { eps?: number | null; elementwiseAffine?: boolean; dtype?: 'float32' | 'float64' }

/** RMS normalisation over the trailing dims (eps defaults to the dtype's machine epsilon, as torch). */
export class RMSNorm extends Module {
  weight: Parameter | null
  readonly normalizedShape: number[]
  readonly eps: number | null

  constructor(normalizedShape: number | readonly number[], opts: RMSNormOptions = {}) {
    super()
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape.slice()
    this.eps = opts.eps ?? null
    this.weight = opts.elementwiseAffine ?? true ? new Parameter(ones(this.normalizedShape, { dtype: opts.dtype })) : null
  }

  forward(x: Tensor): Tensor { return rmsNorm(x, this.normalizedShape, this.weight, this.eps) }
}

export interface GroupNormOptions { eps?: number; affine?: boolean; dtype?: 'float32' | 'float64' }

/** Normalises each of `numGroups` channel groups over (channels in group, *spatial). */
export class GroupNorm extends Module {
  weight: Parameter | null
  bias: Parameter | null
  readonly eps: number

  constructor(readonly numGroups: number, readonly numChannels: number, opts: GroupNormOptions = {}) {
    super()
    if (!Number.isInteger(numGroups) || numGroups <= 0 || numChannels % numGroups !== 0) {
      throw new TesseraError(`GroupNorm: numGroups ${numGroups} must be a positive integer dividing numChannels ${numChannels}`)
    }
    this.eps = opts.eps ?? 1e-5
    const affine = opts.affine ?? true
    this.weight = affine ? new Parameter(ones([numChannels], { dtype: opts.dtype })) : null
    this.bias = affine ? new Parameter(zeros([numChannels], { dtype: opts.dtype })) : null
  }

  forward(x: Tensor): Tensor { return groupNorm(x, this.numGroups, this.weight, this.bias, this.eps) }
}

/**
 * @file Paper 65 — EvoNorm: "Evolving Normalization-Activation Layers" (Liu, Brock, Simonyan, Le,
 * NeurIPS 2020), https://arxiv.org/abs/2004.02967. Reference implementation:
 * huggingface/pytorch-image-models timm/layers/evo_norm.py (EvoNorm2dB0, EvoNorm2dS0).
 *
 * Both layers replace a BatchNorm2d + ReLU pair (the non-linearity is inside) and neither subtracts a mean.
 * x (N, C, H, W) → y (N, C, H, W); per-channel parameters v, γ, β are (C,), broadcast as (1, C, 1, 1).
 *   B0 (batch-dependent):  y = x / max(√(σ²_B + ε), v·x + √(σ²_I + ε)) · γ + β,
 *                          σ²_B the biased variance over (N, H, W) per channel (running_var in eval),
 *                          σ²_I the biased variance over (H, W) per sample and channel.
 *   S0 (sample-based):     y = x · sigmoid(v·x) / √(σ²_G + ε) · γ + β,
 *                          σ²_G the biased variance over each group of C/G channels and (H, W), per sample.
 * Composed from tessera ops, so gradients come from autograd.
 */
import { TesseraError } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { ones, zeros } from '../../creation.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'

function check4d(op: string, x: Tensor, C?: number): void {
  if (x.ndim !== 4 || (C !== undefined && x.shape[1] !== C)) {
    throw new TesseraError(`${op}: x must be (N, C, H, W)${C !== undefined ? ` with C = ${C}` : ''}, got [${x.shape.join(',')}]`)
  }
}

/**
 * Instance standard deviation √(Var_{H,W}[x] + ε) per sample and channel (biased variance), kept as
 * (N, C, 1, 1) so it broadcasts against x.
 * Reference: timm evo_norm.py `instance_std`
 * @example
 *   instanceStd(randn([2, 4, 8, 8]), 1e-5) // (2, 4, 1, 1)
 */
export function instanceStd(x: Tensor, eps = 1e-5): Tensor {
  check4d('instanceStd', x)
  return x.var([2, 3], { correction: 0, keepdim: true }).add(eps).sqrt() // (N, C, 1, 1)
}

/**
 * Group standard deviation √(Var_{C/G,H,W}[x] + ε) per sample and channel group (biased), expanded
 * back to one value per channel: (N, C, 1, 1).
 * Reference: timm evo_norm.py `group_std`
 * @example
 *   groupStd(randn([2, 8, 4, 4]), 2) // (2, 8, 1, 1), equal within each group of 4 channels
 */
export function groupStd(x: Tensor, groups: number, eps = 1e-5): Tensor {
  check4d('groupStd', x)
  const [N, C, H, W] = x.shape
  if (!(Number.isInteger(groups) && groups >= 1 && C % groups === 0)) {
    throw new TesseraError(`groupStd: groups ${groups} must divide C = ${C} (x [${x.shape.join(',')}])`)
  }
  const xg = x.reshape([N, groups, (C / groups) * H * W]) // (N, G, C/G·H·W)
  const sd = xg.var(2, { correction: 0, keepdim: true }).add(eps).sqrt() // (N, G, 1)
  return sd.expand([N, groups, C / groups]).reshape([N, C, 1, 1]) // (N, C, 1, 1)
}

export interface EvoNormB0Options {
  /** Default 1e-3 (timm; the paper's TF code uses 1e-5 for some variants). */
  eps?: number
  /** Weight of each new batch in running_var. Default 0.1. */
  momentum?: number
  dtype?: 'float32' | 'float64'
}

/**
 * EvoNorm-B0: y = x / max(√(σ²_B + ε), v·x + √(σ²_I + ε)) · γ + β. In training σ²_B is the batch's
 * biased variance over (N, H, W) and running_var ← (1 − m)·running_var + m·σ²_B·n/(n − 1), n = N·H·W;
 * in eval σ²_B = running_var. Init v = 1, γ = 1, β = 0, running_var = 1.
 * Reference: https://arxiv.org/abs/2004.02967 (Table 1, Fig. 1)
 * @example
 *   const norm = new EvoNormB0(16)
 *   norm.forward(randn([8, 16, 4, 4])) // (8, 16, 4, 4), replaces BatchNorm2d(16) + ReLU
 */
export class EvoNormB0 extends Module {
  weight: Parameter // γ (C,)
  bias: Parameter // β (C,)
  v: Parameter // (C,)
  readonly eps: number
  readonly momentum: number

  constructor(readonly numFeatures: number, opts: EvoNormB0Options = {}) {
    super()
    const dtype = opts.dtype ?? 'float32'
    this.eps = opts.eps ?? 1e-3
    this.momentum = opts.momentum ?? 0.1
    this.weight = new Parameter(ones([numFeatures], { dtype }))
    this.bias = new Parameter(zeros([numFeatures], { dtype }))
    this.v = new Parameter(ones([numFeatures], { dtype }))
    this.registerBuffer('running_var', ones([numFeatures], { dtype })) // (C,)
  }

  get runningVar(): Tensor { return (this as unknown as { running_var: Tensor }).running_var }

  forward(x: Tensor): Tensor {
    const C = this.numFeatures
    check4d('EvoNormB0', x, C)
    const shape = [1, C, 1, 1]
    let varB: Tensor // (1, C, 1, 1)
    if (this.training) {
      varB = x.var([0, 2, 3], { correction: 0, keepdim: true })
      const n = x.numel() / C
      if (n < 2) throw new TesseraError(`EvoNormB0: training needs more than one value per channel, got x [${x.shape.join(',')}]`)
      const rv = this.runningVar
      noGrad(() => rv.copy_(rv.mul(1 - this.momentum).add(varB.detach().reshape([C]).mul((this.momentum * n) / (n - 1)))))
    } else {
      varB = this.runningVar.reshape(shape)
    }
    const left = varB.add(this.eps).sqrt() // (1, C, 1, 1)
    const right = x.mul(this.v.reshape(shape)).add(instanceStd(x, this.eps)) // (N, C, H, W)
    // NOTE: at a tie left = right the max's gradient follows tessera's `maximum` rule; ties have measure zero.
    return x.div(left.maximum(right)).mul(this.weight.reshape(shape)).add(this.bias.reshape(shape))
  }
}

export interface EvoNormS0Options {
  /** Channel groups G (default 32, capped at C when C < 32 as long as it divides C). */
  groups?: number
  /** Channels per group instead of `groups` (groups = C / groupSize). */
  groupSize?: number
  /** Default 1e-5 (timm EvoNorm2dS0). */
  eps?: number
  dtype?: 'float32' | 'float64'
}

/**
 * EvoNorm-S0: y = x · sigmoid(v·x) / √(σ²_G + ε) · γ + β with σ²_G the per-sample group variance.
 * Batch-independent: a sample's output never depends on the other samples. Init v = 1, γ = 1, β = 0.
 * Reference: https://arxiv.org/abs/2004.02967 (Table 1, Fig. 1)
 * @example
 *   const norm = new EvoNormS0(16, { groups: 4 })
 *   norm.forward(randn([2, 16, 4, 4])) // (2, 16, 4, 4)
 */
export class EvoNormS0 extends Module {
  weight: Parameter // γ (C,)
  bias: Parameter // β (C,)
  v: Parameter // (C,)
  readonly groups: number
  readonly eps: number

  constructor(readonly numFeatures: number, opts: EvoNormS0Options = {}) {
    super()
    const dtype = opts.dtype ?? 'float32'
    if (opts.groupSize !== undefined) {
      if (!(Number.isInteger(opts.groupSize) && opts.groupSize >= 1 && numFeatures % opts.groupSize === 0)) {
        throw new TesseraError(`EvoNormS0: groupSize ${opts.groupSize} must divide numFeatures ${numFeatures}`)
      }
      this.groups = numFeatures / opts.groupSize
    } else this.groups = opts.groups ?? Math.min(32, numFeatures)
    if (numFeatures % this.groups !== 0) throw new TesseraError(`EvoNormS0: groups ${this.groups} must divide numFeatures ${numFeatures}`)
    this.eps = opts.eps ?? 1e-5
    this.weight = new Parameter(ones([numFeatures], { dtype }))
    this.bias = new Parameter(zeros([numFeatures], { dtype }))
    this.v = new Parameter(ones([numFeatures], { dtype }))
  }

  forward(x: Tensor): Tensor {
    const C = this.numFeatures
    check4d('EvoNormS0', x, C)
    const shape = [1, C, 1, 1]
    const num = x.mul(x.mul(this.v.reshape(shape)).sigmoid()) // (N, C, H, W)
    return num.div(groupStd(x, this.groups, this.eps)).mul(this.weight.reshape(shape)).add(this.bias.reshape(shape))
  }
}

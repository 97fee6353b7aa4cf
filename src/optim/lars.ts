/**
 * @file LARS, layer-wise adaptive rate scaling (You, Gitman & Ginsburg 2017, "Large Batch Training of
 * Convolutional Networks", https://arxiv.org/abs/1708.03888, Algorithm 1), in the form sheet 29 fixes:
 * a local learning rate per parameter tensor from the norms of the weights and the gradient, and
 * momentum on the scaled step. Exclusions and the zero-norm convention are LAMB's (layer-adaptation.ts).
 */
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { zerosLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamContext, type ParamGroup, type ParamsInput } from './optimizer.ts'
import { defaultExclude, isExcluded, l2Norm, type ExcludeRule } from './layer-adaptation.ts'

export interface LARSOptions {
  lr: number
  momentum: number
  weightDecay: number
  /** η in the local learning rate η‖w‖ / (‖g‖ + λ‖w‖). */
  trustCoef: number
  /** Added to the denominator of the local learning rate. */
  eps: number
}

export interface LARSRules {
  /** Tensors that get no weight decay. Default `defaultExclude`: 1-D tensors and bias / norm names. */
  excludeFromWeightDecay?: ExcludeRule
  /** Tensors whose local learning rate is 1 (plain SGD with momentum). Defaults to `excludeFromWeightDecay`. */
  excludeFromLayerAdaptation?: ExcludeRule
}

type LARSState = { momentumBuffer: Tensor }

/**
 * LARS. Per parameter tensor (Algorithm 1):
 *   localLr = η ‖w‖ / (‖g‖ + λ ‖w‖ + ε) if ‖w‖ > 0 and ‖g‖ > 0, else 1  (1 for excluded tensors)
 *   b ← μ b + lr · localLr · (g + λ w);   w ← w − b
 * On the first step (b = 0): ‖Δw‖ = lr η ‖w‖ ‖g + λw‖ / (‖g‖ + λ‖w‖) with ε = 0.
 *
 * Reference: https://arxiv.org/abs/1708.03888
 *
 * @example
 *   const opt = new optim.LARS(model.namedParameters(), { lr: 1, weightDecay: 5e-4 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class LARS extends Optimizer<LARSOptions, LARSState> {
  readonly excludeFromWeightDecay: ExcludeRule
  readonly excludeFromLayerAdaptation: ExcludeRule

  constructor(params: ParamsInput<LARSOptions>, opts: Partial<LARSOptions> & LARSRules & { lr: number }) {
    const { excludeFromWeightDecay, excludeFromLayerAdaptation, ...hyper } = opts
    super(params, { momentum: 0.9, weightDecay: 0, trustCoef: 0.001, eps: 0, ...hyper })
    this.excludeFromWeightDecay = excludeFromWeightDecay ?? defaultExclude
    this.excludeFromLayerAdaptation = excludeFromLayerAdaptation ?? this.excludeFromWeightDecay
  }

  protected initState(p: Tensor): LARSState {
    return { momentumBuffer: zerosLike(p) }
  }

  protected update(w: FloatArray, g: TypedArray, state: LARSState, group: ParamGroup<LARSOptions>, ctx: ParamContext): void {
    const { lr, momentum: mu, trustCoef, eps } = group
    const wd = isExcluded(this.excludeFromWeightDecay, ctx.name, ctx.param) ? 0 : group.weightDecay
    let localLr = 1
    if (!isExcluded(this.excludeFromLayerAdaptation, ctx.name, ctx.param)) {
      const wNorm = l2Norm(w), gNorm = l2Norm(g)
      if (wNorm > 0 && gNorm > 0) localLr = trustCoef * wNorm / (gNorm + wd * wNorm + eps)
    }
    const b = buf(state.momentumBuffer) // (numel)
    for (let i = 0; i < w.length; i++) {
      b[i] = mu * b[i] + lr * localLr * (g[i] + wd * w[i])
      w[i] -= b[i]
    }
  }
}

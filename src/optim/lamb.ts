/**
 * @file LAMB, layer-wise adaptive moments (You et al. 2020, "Large Batch Optimization for Deep
 * Learning: Training BERT in 76 minutes", ICLR, https://arxiv.org/abs/1904.00962, Algorithm 2),
 * following sheet 29 and the reference code it names (tensorflow/addons `optimizers/lamb.py`):
 * Adam moments with bias correction, an update u that adds decoupled weight decay λw, and one trust
 * ratio ‖w‖/‖u‖ per parameter tensor ("layer"). Norms are accumulated in float64.
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { zerosLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamContext, type ParamGroup, type ParamsInput } from './optimizer.ts'
import { defaultExclude, isExcluded, l2Norm, type ExcludeRule } from './layer-adaptation.ts'

export interface LAMBOptions {
  lr: number
  betas: [number, number]
  eps: number
  weightDecay: number
}

export interface LAMBRules {
  /** Tensors that get no weight decay. Default `defaultExclude`: 1-D tensors and bias / norm names. */
  excludeFromWeightDecay?: ExcludeRule
  /** Tensors that get trust ratio 1. Defaults to `excludeFromWeightDecay`, as in the reference code. */
  excludeFromLayerAdaptation?: ExcludeRule
  /**
   * The paper's φ: clip ‖w‖ to [lo, hi] in the ratio φ(‖w‖)/‖u‖ (Algorithm 2). Default off
   * (φ = identity, as the reference code).
   */
  trustClip?: [number, number] | null
}

type LAMBState = { step: number; expAvg: Tensor; expAvgSq: Tensor }

/**
 * LAMB. Per parameter tensor at step t (Algorithm 2):
 *   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²,   m̂ = m / (1 − β1^t),   v̂ = v / (1 − β2^t)
 *   u = m̂ / (√v̂ + ε) + λ w                         (λ = 0 for tensors excluded from weight decay)
 *   r = φ(‖w‖) / ‖u‖ if ‖w‖ > 0 and ‖u‖ > 0, else 1  (r = 1 for tensors excluded from adaptation)
 *   w ← w − lr · r · u
 * With λ = 0 and nonzero norms each step moves a tensor by exactly ‖Δw‖ = lr ‖w‖.
 *
 * Reference: https://github.com/tensorflow/addons/blob/master/tensorflow_addons/optimizers/lamb.py
 *
 * @example
 *   const opt = new optim.LAMB(model.namedParameters(), { lr: 2e-3, weightDecay: 0.01 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class LAMB extends Optimizer<LAMBOptions, LAMBState> {
  readonly excludeFromWeightDecay: ExcludeRule
  readonly excludeFromLayerAdaptation: ExcludeRule
  readonly trustClip: [number, number] | null

  constructor(params: ParamsInput<LAMBOptions>, opts: Partial<LAMBOptions> & LAMBRules = {}) {
    const { excludeFromWeightDecay, excludeFromLayerAdaptation, trustClip, ...hyper } = opts
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0, ...hyper })
    this.excludeFromWeightDecay = excludeFromWeightDecay ?? defaultExclude
    this.excludeFromLayerAdaptation = excludeFromLayerAdaptation ?? this.excludeFromWeightDecay
    if (trustClip && !(trustClip.length === 2 && trustClip[0] >= 0 && trustClip[0] <= trustClip[1])) {
      throw new TesseraError(`LAMB: trustClip must be [lo, hi] with 0 <= lo <= hi, got ${JSON.stringify(trustClip)}`)
    }
    this.trustClip = trustClip ?? null
  }

  protected initState(p: Tensor): LAMBState {
    return { step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) }
  }

  protected update(w: FloatArray, g: TypedArray, state: LAMBState, group: ParamGroup<LAMBOptions>, ctx: ParamContext): void {
    const { lr, betas: [beta1, beta2], eps } = group
    const wd = isExcluded(this.excludeFromWeightDecay, ctx.name, ctx.param) ? 0 : group.weightDecay
    const t = ++state.step
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t
    const m = buf(state.expAvg), v = buf(state.expAvgSq) // (numel) each
    const u = new Float64Array(w.length) // (numel) the unscaled update
    for (let i = 0; i < w.length; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i]
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
      u[i] = (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + eps) + wd * w[i]
    }
    const r = isExcluded(this.excludeFromLayerAdaptation, ctx.name, ctx.param) ? 1 : this.trustRatio(l2Norm(w), l2Norm(u))
    for (let i = 0; i < w.length; i++) w[i] -= lr * r * u[i]
  }

  /** r = φ(‖w‖)/‖u‖, or 1 when either norm is 0 (NOTE: a zero-initialised bias still moves). */
  private trustRatio(wNorm: number, uNorm: number): number {
    if (!(wNorm > 0 && uNorm > 0)) return 1
    const phi = this.trustClip ? Math.min(Math.max(wNorm, this.trustClip[0]), this.trustClip[1]) : wNorm
    return phi / uNorm
  }
}

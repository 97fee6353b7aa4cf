/**
 * @file Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization",
 * https://arxiv.org/abs/1412.6980, Algorithm 1) with the AMSGrad variant (Reddi et al. 2018, "On the
 * Convergence of Adam and Beyond", https://openreview.net/forum?id=ryQu7f-RZ). Weight decay is
 * coupled (L2: λw added to the gradient) as in `torch.optim.Adam`; `AdamW` in adamw.ts decouples it.
 * The arithmetic follows torch's single-tensor implementation, including where ε is added.
 */
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { zerosLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamGroup, type ParamsInput } from './optimizer.ts'

export interface AdamOptions {
  lr: number
  betas: [number, number]
  eps: number
  weightDecay: number
  /** Normalise by the running maximum of v (AMSGrad). */
  amsgrad: boolean
  maximize: boolean
}

type AdamState = { step: number; expAvg: Tensor; expAvgSq: Tensor; maxExpAvgSq?: Tensor }

/**
 * Adam. At step t with gradient g (negated if `maximize`; plus λw when weight decay is coupled):
 *   m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²            (Algorithm 1)
 *   v̂max ← max(v̂max, v) with AMSGrad
 *   w ← w − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
 *
 * @example
 *   const opt = new optim.Adam(model.parameters(), { lr: 1e-3 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class Adam extends Optimizer<AdamOptions, AdamState> {
  /** True for AdamW: weight decay shrinks w directly instead of entering the gradient. */
  protected readonly decoupled: boolean = false

  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts })
  }

  protected initState(p: Tensor, group: ParamGroup<AdamOptions>): AdamState {
    const s: AdamState = { step: 0, expAvg: zerosLike(p), expAvgSq: zerosLike(p) }
    if (group.amsgrad) s.maxExpAvgSq = zerosLike(p)
    return s
  }

  protected update(w: FloatArray, g: TypedArray, state: AdamState, group: ParamGroup<AdamOptions>): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay: wd, amsgrad, maximize } = group
    const t = ++state.step
    const m = buf(state.expAvg), v = buf(state.expAvgSq) // (numel) each
    if (amsgrad) state.maxExpAvgSq ??= zerosLike(state.expAvg)
    const vMax = amsgrad ? buf(state.maxExpAvgSq!) : v // (numel)
    const stepSize = lr / (1 - beta1 ** t)
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t)
    const coupledWd = this.decoupled ? 0 : wd
    const shrink = this.decoupled ? 1 - lr * wd : 1 // Loshchilov & Hutter 2019, Algorithm 2 line 12
    for (let i = 0; i < w.length; i++) {
      let gi = maximize ? -g[i] : g[i]
      if (coupledWd !== 0) gi += coupledWd * w[i]
      if (shrink !== 1) w[i] *= shrink
      m[i] = beta1 * m[i] + (1 - beta1) * gi
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
      if (amsgrad && v[i] > vMax[i]) vMax[i] = v[i]
      w[i] -= stepSize * m[i] / (Math.sqrt(vMax[i]) / bc2Sqrt + eps)
    }
  }
}

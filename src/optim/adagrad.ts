/**
 * @file Adagrad (Duchi, Hazan & Singer 2011, "Adaptive Subgradient Methods for Online Learning and
 * Stochastic Optimization", https://jmlr.org/papers/v12/duchi11a.html), with learning-rate decay and
 * an initial accumulator value, exactly as `torch.optim.Adagrad`.
 */
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { fullLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamGroup, type ParamsInput } from './optimizer.ts'

export interface AdagradOptions {
  lr: number
  lrDecay: number
  weightDecay: number
  /** Starting value of the sum of squared gradients. */
  initialAccumulatorValue: number
  eps: number
  maximize: boolean
}

type AdagradState = { step: number; sum: Tensor }

/**
 * Adagrad. At step t with g ← ±g + λw:
 *   lr_t = lr / (1 + (t − 1) lrDecay);   s ← s + g²;   w ← w − lr_t · g / (√s + ε)
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html
 *
 * @example
 *   const opt = new optim.Adagrad(model.parameters(), { lr: 0.01 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class Adagrad extends Optimizer<AdagradOptions, AdagradState> {
  constructor(params: ParamsInput<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false, ...opts })
  }

  protected initState(p: Tensor, group: ParamGroup<AdagradOptions>): AdagradState {
    return { step: 0, sum: fullLike(p, group.initialAccumulatorValue) }
  }

  protected update(w: FloatArray, g: TypedArray, state: AdagradState, group: ParamGroup<AdagradOptions>): void {
    const { lr, lrDecay, weightDecay: wd, eps, maximize } = group
    const t = ++state.step
    const clr = lr / (1 + (t - 1) * lrDecay)
    const s = buf(state.sum) // (numel)
    for (let i = 0; i < w.length; i++) {
      let gi = maximize ? -g[i] : g[i]
      if (wd !== 0) gi += wd * w[i]
      s[i] += gi * gi
      w[i] -= clr * gi / (Math.sqrt(s[i]) + eps)
    }
  }
}

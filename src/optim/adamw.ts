/**
 * @file AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay
 * Regularization", https://arxiv.org/abs/1711.05101, Algorithm 2), as `torch.optim.AdamW`: the
 * weights shrink by (1 − lr·λ) before the Adam step, and λ never enters the moments.
 */
import { Adam, type AdamOptions } from './adam.ts'
import type { ParamsInput } from './optimizer.ts'

/**
 * AdamW. At step t with gradient g:
 *   w ← w (1 − lr λ);   m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
 *   w ← w − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * Defaults as torch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2.
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
 *
 * @example
 *   const opt = new optim.AdamW(model.namedParameters(), { lr: 3e-4, weightDecay: 0.1 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true

  constructor(params: ParamsInput<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...opts })
  }
}

/**
 * @file Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight
 * decay, exactly as `torch.optim.SGD` (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html).
 * Nesterov momentum in this form is from Sutskever et al. 2013, "On the importance of initialization
 * and momentum in deep learning" (http://proceedings.mlr.press/v28/sutskever13.html).
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { zerosLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamGroup, type ParamsInput } from './optimizer.ts'

export interface SGDOptions {
  lr: number
  momentum: number
  dampening: number
  weightDecay: number
  nesterov: boolean
  /** Ascend the objective instead of descending it. */
  maximize: boolean
}

type SGDState = { momentumBuffer: Tensor | null }

/**
 * SGD. With d = ±g + λw (sign + unless `maximize`), momentum μ and dampening τ:
 *   b ← d at the first step, else b ← μ b + (1 − τ) d;   d ← d + μ b (Nesterov) or d ← b;   w ← w − lr d.
 * Without momentum, w ← w − lr d.
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
 *
 * @example
 *   const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class SGD extends Optimizer<SGDOptions, SGDState> {
  constructor(params: ParamsInput<SGDOptions>, opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts })
  }

  protected override validate(h: SGDOptions): void {
    super.validate(h)
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new TesseraError('SGD: Nesterov momentum requires a momentum and zero dampening')
    }
  }

  protected initState(): SGDState {
    return { momentumBuffer: null }
  }

  protected update(w: FloatArray, g: TypedArray, state: SGDState, group: ParamGroup<SGDOptions>, ctx: { param: Tensor }): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize } = group
    const first = state.momentumBuffer === null
    if (mu !== 0 && first) state.momentumBuffer = zerosLike(ctx.param)
    const b = mu !== 0 ? buf(state.momentumBuffer!) : null // (numel)
    for (let i = 0; i < w.length; i++) {
      let d = maximize ? -g[i] : g[i]
      if (wd !== 0) d += wd * w[i]
      if (b !== null) {
        b[i] = first ? d : mu * b[i] + (1 - dampening) * d
        d = nesterov ? d + mu * b[i] : b[i]
      }
      w[i] -= lr * d
    }
  }
}

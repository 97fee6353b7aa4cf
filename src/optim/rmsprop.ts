/**
 * @file RMSprop (Hinton, Srivastava & Swersky 2012, Coursera "Neural Networks for Machine Learning",
 * lecture 6e, https://www.cs.toronto.edu/~tijmen/csc321/slides/lecture_slides_lec6.pdf), with the
 * centered variant of Graves 2013 ("Generating Sequences With Recurrent Neural Networks", Eqns 38-41,
 * https://arxiv.org/abs/1308.0850) and momentum, exactly as `torch.optim.RMSprop`.
 */
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'
import { zerosLike } from '../creation.ts'
import { Optimizer, buf, type FloatArray, type ParamGroup, type ParamsInput } from './optimizer.ts'

export interface RMSpropOptions {
  lr: number
  /** Smoothing constant of the running averages. */
  alpha: number
  eps: number
  weightDecay: number
  momentum: number
  /** Normalise by an estimate of the gradient's variance instead of its second moment. */
  centered: boolean
  maximize: boolean
}

type RMSpropState = { step: number; squareAvg: Tensor; momentumBuffer?: Tensor; gradAvg?: Tensor }

/**
 * RMSprop. With g ← ±g + λw:
 *   v ← α v + (1 − α) g²;   centered: ḡ ← α ḡ + (1 − α) g, a = √(v − ḡ²) + ε; else a = √v + ε
 *   momentum μ > 0: b ← μ b + g / a, w ← w − lr b;   else w ← w − lr g / a
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html
 *
 * @example
 *   const opt = new optim.RMSprop(model.parameters(), { lr: 1e-3, centered: true })
 *   loss.backward(); opt.step(); opt.zeroGrad()
 */
export class RMSprop extends Optimizer<RMSpropOptions, RMSpropState> {
  constructor(params: ParamsInput<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false, ...opts })
  }

  protected initState(p: Tensor, group: ParamGroup<RMSpropOptions>): RMSpropState {
    const s: RMSpropState = { step: 0, squareAvg: zerosLike(p) }
    if (group.momentum > 0) s.momentumBuffer = zerosLike(p)
    if (group.centered) s.gradAvg = zerosLike(p)
    return s
  }

  protected update(w: FloatArray, g: TypedArray, state: RMSpropState, group: ParamGroup<RMSpropOptions>): void {
    const { lr, alpha, eps, weightDecay: wd, momentum: mu, centered, maximize } = group
    state.step++
    const v = buf(state.squareAvg) // (numel)
    const gAvg = centered ? buf(state.gradAvg ??= zerosLike(state.squareAvg)) : null // (numel)
    const b = mu > 0 ? buf(state.momentumBuffer ??= zerosLike(state.squareAvg)) : null // (numel)
    for (let i = 0; i < w.length; i++) {
      let gi = maximize ? -g[i] : g[i]
      if (wd !== 0) gi += wd * w[i]
      v[i] = alpha * v[i] + (1 - alpha) * gi * gi
      let a: number
      if (gAvg !== null) {
        gAvg[i] = alpha * gAvg[i] + (1 - alpha) * gi
        a = Math.sqrt(v[i] - gAvg[i] * gAvg[i]) + eps // Graves 2013, Eqns (38)-(40): √(E[g²] − E[g]²)
      } else {
        a = Math.sqrt(v[i]) + eps
      }
      if (b !== null) {
        b[i] = mu * b[i] + gi / a
        w[i] -= lr * b[i]
      } else {
        w[i] -= lr * gi / a
      }
    }
  }
}

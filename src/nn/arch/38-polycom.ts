/**
 * @file Paper 38, PolyCom: "Polynomial Composition Activations: Unleashing the Dynamics of Large
 * Language Models" (Zhuo et al. 2024), https://arxiv.org/abs/2411.03884. Reference code:
 * BryceZhuo/PolyCom `dense_model/megatron_patch/model/llama2/transformer.py` (PolyReLU, PolyNorm).
 *
 * Two activations of order r (default 3) with r + 1 learnable scalars shared across channels,
 * `weight` (r) initialised to 1/r each and `bias` (1) initialised to 0. As in the reference,
 * weight[j] multiplies the power r − j (weight[0] the highest, weight[r−1] the linear term):
 *   PolyReLU(x) = Σ_{i=1..r} a_i ReLU(x)^i + a_0                      (paper Eqn (4), ρ = ReLU)
 *   PolyNorm(x) = Σ_{i=1..r} a_i N(x^i) + a_0,  N(z) = z / √(mean_D(z²) + ε)   (paper Eqn (5))
 * with a_i = weight[r − i] and a_0 = bias. N is a parameter-free RMS normalisation over the last
 * (hidden) dimension of each token. Both are composed from tessera ops (relu, mul, rmsNorm), so
 * autograd supplies the backward: z = x^i gives dz/dx = i x^{i−1} and the fused rmsNorm carries
 * dN/dz = (I − N Nᵀ/D)/rms.
 *
 * Shapes: x (..., D) -> y (..., D), elementwise for PolyReLU, per-row over D for PolyNorm.
 * Used in place of GELU in a plain two-matrix FFN: `new TransformerMLP(D, F, { activation: new PolyNorm() })`
 * (src/nn/transformer-lm.ts).
 */
import { check, fmtShape } from '../../errors.ts'
import { full, zeros } from '../../creation.ts'
import { isFloating } from '../../dtype.ts'
import { rmsNorm } from '../../ops/norm.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'

export interface PolyOptions {
  /** r, the highest power (default 3). */
  order?: number
  dtype?: 'float32' | 'float64'
}

function coefficients(op: string, opts: PolyOptions): { order: number; weight: Parameter; bias: Parameter } {
  const r = opts.order ?? 3
  check(Number.isInteger(r) && r >= 1, op, () => `order must be an integer >= 1, got ${r}`)
  return {
    order: r,
    weight: new Parameter(full([r], 1 / r, { dtype: opts.dtype })), // (r): a_r .. a_1, init 1/r
    bias: new Parameter(zeros([1], { dtype: opts.dtype })), // (1): a_0, init 0
  }
}

function checkInput(op: string, x: Tensor): void {
  check(isFloating(x.dtype) && x.ndim >= 1, op, () => `x must be a float tensor (..., D), got ${x.dtype} ${fmtShape(x.shape)}`)
}

/**
 * PolyReLU of order r: y = Σ_{i=1..r} a_i ReLU(x)^i + a_0 with a_i = weight[r − i], a_0 = bias,
 * evaluated by Horner's rule on ρ = ReLU(x): y = ρ(a_1 + ρ(a_2 + … + ρ a_r)) + a_0.
 * Order 1 is the affine ReLU a_1 ReLU(x) + a_0.
 *
 * Reference: https://arxiv.org/abs/2411.03884 (Eqn (4)); BryceZhuo/PolyCom PolyReLU
 * @example
 *   const act = new PolyReLU()          // order 3, weight [1/3, 1/3, 1/3], bias [0]
 *   act.forward(h)                       // h (B, T, F) -> (B, T, F)
 */
export class PolyReLU extends Module {
  readonly order: number
  weight: Parameter
  bias: Parameter
  constructor(opts: PolyOptions = {}) {
    super()
    const c = coefficients('PolyReLU', opts)
    this.order = c.order
    this.weight = c.weight
    this.bias = c.bias
  }

  forward(x: Tensor): Tensor {
    checkInput('PolyReLU', x)
    const rho = x.relu() // (..., D)
    let acc = rho.mul(this.weight.select(0, 0)) // ρ a_r
    for (let j = 1; j < this.order; j++) acc = rho.mul(acc.add(this.weight.select(0, j))) // ρ (a_{r−j} + acc)
    return acc.add(this.bias) // Eqn (4)
  }
}

/**
 * PolyNorm of order r: y = Σ_{i=1..r} a_i N(x^i) + a_0, N(z) = z / √(mean_D(z²) + ε) over the last
 * dimension, a_i = weight[r − i], a_0 = bias. Each term is scale-free: N((c x)^i) = N(x^i) for c > 0
 * (up to ε), so PolyNorm(c x) = PolyNorm(x). Zero input gives a_0 (N(0) = 0 thanks to ε).
 *
 * Reference: https://arxiv.org/abs/2411.03884 (Eqn (5)); BryceZhuo/PolyCom PolyNorm (ε = 1e-6)
 * @example
 *   const act = new PolyNorm()          // order 3, eps 1e-6
 *   act.forward(h)                       // h (B, T, F) -> (B, T, F), normalised over F
 */
export class PolyNorm extends Module {
  readonly order: number
  readonly eps: number
  weight: Parameter
  bias: Parameter
  constructor(opts: PolyOptions & { eps?: number } = {}) {
    super()
    const c = coefficients('PolyNorm', opts)
    this.order = c.order
    this.weight = c.weight
    this.bias = c.bias
    this.eps = opts.eps ?? 1e-6
    check(this.eps > 0, 'PolyNorm', () => `eps must be > 0, got ${this.eps}`)
  }

  forward(x: Tensor): Tensor {
    checkInput('PolyNorm', x)
    const D = x.shape[x.ndim - 1]
    const r = this.order
    let power = x // (..., D): x^i
    let y = rmsNorm(x, [D], null, this.eps).mul(this.weight.select(0, r - 1)) // a_1 N(x)
    for (let i = 2; i <= r; i++) {
      power = power.mul(x)
      y = y.add(rmsNorm(power, [D], null, this.eps).mul(this.weight.select(0, r - i))) // + a_i N(x^i)
    }
    return y.add(this.bias) // Eqn (5)
  }
}

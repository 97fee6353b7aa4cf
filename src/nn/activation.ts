/**
 * @file Activation modules and the parameter-free shape/regularisation layers: ReLU, LeakyReLU,
 * ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax, Identity, Dropout, Flatten,
 * Unflatten. Each is a thin Module over the functional form, as in `torch.nn`.
 *
 * Shapes: elementwise layers keep the input shape (any rank); Softmax/LogSoftmax normalise along
 * `dim`; Flatten merges dims startDim..endDim (default 1..-1, keeping the batch dim).
 *
 * Reference: https://pytorch.org/docs/stable/nn.html#non-linear-activations-weighted-sum-nonlinearity
 */
import { TesseraError, check } from '../errors.ts'
import { elu, gelu, leakyRelu, softplus } from '../ops/elementwise.ts'
import { logSoftmax, softmax } from '../ops/softmax.ts'
import { dropout, flatten, unflatten } from '../functional.ts'
import { Generator, defaultGenerator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from './module.ts'

/** relu(x) = max(x, 0). Reference: https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu() }
}

/** leakyRelu(x) = x for x > 0, negativeSlope x otherwise. Reference: https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super() }
  forward(x: Tensor): Tensor { return leakyRelu(x, this.negativeSlope) }
}

/** elu(x) = x for x > 0, alpha (e^x - 1) otherwise. Reference: https://arxiv.org/abs/1511.07289 */
export class ELU extends Module {
  constructor(readonly alpha = 1) { super() }
  forward(x: Tensor): Tensor { return elu(x, this.alpha) }
}

/**
 * gelu(x) = x Phi(x); with `approximate: 'tanh'`, x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
 * Reference: Hendrycks & Gimpel 2016, https://arxiv.org/abs/1606.08415
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh'
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super()
    this.approximate = opts.approximate ?? 'none'
    if (this.approximate !== 'none' && this.approximate !== 'tanh') {
      throw new TesseraError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(this.approximate)}`)
    }
  }
  forward(x: Tensor): Tensor { return gelu(x, this.approximate) }
}

/** silu(x) = x sigmoid(x) (a.k.a. swish). Reference: https://arxiv.org/abs/1702.03118 */
export class SiLU extends Module {
  forward(x: Tensor): Tensor { return x.silu() }
}

/** sigmoid(x) = 1 / (1 + e^{-x}). */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid() }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh() }
}

/**
 * softplus(x) = log(1 + e^{beta x}) / beta, and x where beta x > threshold.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.Softplus.html
 */
export class Softplus extends Module {
  readonly beta: number
  readonly threshold: number
  constructor(opts: { beta?: number; threshold?: number } = {}) {
    super()
    this.beta = opts.beta ?? 1
    this.threshold = opts.threshold ?? 20
  }
  forward(x: Tensor): Tensor { return softplus(x, this.beta, this.threshold) }
}

/** softmax along `dim`: e^{x_i} / sum_j e^{x_j}. Reference: https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html */
export class Softmax extends Module {
  constructor(readonly dim: number) {
    super()
    check(Number.isInteger(dim), 'Softmax', () => `dim must be an integer, got ${dim}`)
  }
  forward(x: Tensor): Tensor { return softmax(x, this.dim) }
}

/** log softmax along `dim`: x_i - log sum_j e^{x_j}. */
export class LogSoftmax extends Module {
  constructor(readonly dim: number) {
    super()
    check(Number.isInteger(dim), 'LogSoftmax', () => `dim must be an integer, got ${dim}`)
  }
  forward(x: Tensor): Tensor { return logSoftmax(x, this.dim) }
}

/** Returns its input unchanged (a placeholder layer). */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x }
}

export interface DropoutOptions {
  /** Draw masks from this generator (shared, not copied). */
  generator?: Generator
  /** Seed of a Generator the module owns. Without `generator` or `seed`, masks come from the default generator (as in PyTorch). */
  seed?: number
}

/**
 * In training, zeroes each element with probability p and scales the others by 1/(1-p); in eval
 * mode, the identity. With `seed`, the module owns its Generator, so its masks are reproducible
 * whatever else draws random numbers.
 * Reference: Srivastava et al. 2014, https://jmlr.org/papers/v15/srivastava14a.html
 * @example
 *   const drop = new Dropout(0.1, { seed: 0 })
 *   drop.eval().forward(x) // x
 */
export class Dropout extends Module {
  readonly generator: Generator
  constructor(readonly p = 0.5, opts: DropoutOptions = {}) {
    super()
    check(p >= 0 && p <= 1, 'Dropout', () => `p must be in [0, 1], got ${p}`)
    this.generator = ownGenerator(opts)
  }
  forward(x: Tensor): Tensor { return dropout(x, this.p, { training: this.training, generator: this.generator }) }
}

/** The generator a module with dropout uses: the one given, a new one from `seed`, or the default generator. */
export function ownGenerator(opts: DropoutOptions): Generator {
  return opts.generator ?? (opts.seed !== undefined ? new Generator(opts.seed) : defaultGenerator)
}

/** Merges dims startDim..endDim (default 1..-1). Reference: https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html */
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super() }
  forward(x: Tensor): Tensor { return flatten(x, this.startDim, this.endDim) }
}

/** Splits dim `dim` into `sizes` (one may be -1). Reference: https://pytorch.org/docs/stable/generated/torch.nn.Unflatten.html */
export class Unflatten extends Module {
  readonly sizes: number[]
  constructor(readonly dim: number, sizes: readonly number[]) {
    super()
    this.sizes = sizes.slice()
  }
  forward(x: Tensor): Tensor { return unflatten(x, this.dim, this.sizes) }
}

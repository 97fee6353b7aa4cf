/** @file Linear layer: y = x W^T + b, W of shape (out, in), initialised as in PyTorch. */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { linear } from '../functional.ts'
import { rand } from '../creation.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'

export interface LinearOptions { bias?: boolean; generator?: Generator; dtype?: 'float32' | 'float64' }

/** U(-b, b) with b = 1/sqrt(fanIn): PyTorch's default for Linear weights and biases. */
export function uniformFanIn(shape: number[], fanIn: number, opts: { generator?: Generator; dtype?: 'float32' | 'float64' }): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0
  return rand(shape, opts).mul(2 * bound).sub(bound)
}

export class Linear extends Module {
  weight: Parameter
  bias: Parameter | null

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super()
    if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures) || inFeatures < 0 || outFeatures < 0) {
      throw new TesseraError(`Linear: feature counts must be non-negative integers, got (${inFeatures}, ${outFeatures})`)
    }
    this.weight = new Parameter(uniformFanIn([outFeatures, inFeatures], inFeatures, opts))
    this.bias = opts.bias === false ? null : new Parameter(uniformFanIn([outFeatures], inFeatures, opts))
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new TesseraError(`Linear: input has ${x.shape[x.ndim - 1]} features in its last dim (shape [${x.shape}]), expected ${this.inFeatures}`)
    }
    return linear(x, this.weight, this.bias)
  }
}

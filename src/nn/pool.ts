/**
 * @file Pooling modules over `F.maxPool*`, `F.avgPool*` and the adaptive pools, holding their
 * options. Reference: https://pytorch.org/docs/stable/nn.html#pooling-layers
 */
import type { Tensor } from '../tensor.ts'
import {
  adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveMaxPool1d, adaptiveMaxPool2d, avgPool1d, avgPool2d, maxPool1d, maxPool2d,
  type AvgPoolOptions, type MaxPoolOptions,
} from '../ops/pool.ts'
import { Module } from './module.ts'

type OutputSize = number | readonly (number | null)[]

export class MaxPool1d extends Module {
  constructor(readonly options: Omit<MaxPoolOptions, 'returnIndices'>) { super() }
  forward(x: Tensor): Tensor { return maxPool1d(x, this.options) }
}

export class MaxPool2d extends Module {
  constructor(readonly options: Omit<MaxPoolOptions, 'returnIndices'>) { super() }
  forward(x: Tensor): Tensor { return maxPool2d(x, this.options) }
}

export class AvgPool1d extends Module {
  constructor(readonly options: Omit<AvgPoolOptions, 'divisorOverride'>) { super() }
  forward(x: Tensor): Tensor { return avgPool1d(x, this.options) }
}

export class AvgPool2d extends Module {
  constructor(readonly options: AvgPoolOptions) { super() }
  forward(x: Tensor): Tensor { return avgPool2d(x, this.options) }
}

export class AdaptiveAvgPool1d extends Module {
  constructor(readonly outputSize: OutputSize) { super() }
  forward(x: Tensor): Tensor { return adaptiveAvgPool1d(x, this.outputSize) }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: OutputSize) { super() }
  forward(x: Tensor): Tensor { return adaptiveAvgPool2d(x, this.outputSize) }
}

export class AdaptiveMaxPool1d extends Module {
  constructor(readonly outputSize: OutputSize) { super() }
  forward(x: Tensor): Tensor { return adaptiveMaxPool1d(x, this.outputSize) }
}

export class AdaptiveMaxPool2d extends Module {
  constructor(readonly outputSize: OutputSize) { super() }
  forward(x: Tensor): Tensor { return adaptiveMaxPool2d(x, this.outputSize) }
}

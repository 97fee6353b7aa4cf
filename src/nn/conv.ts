/**
 * @file Convolution modules (Conv1d/2d/3d, ConvTranspose1d/2d/3d) over `F.conv*`. Weights are
 * (Cout, Cin/groups, *kernel) for convolutions and (Cin, Cout/groups, *kernel) for transposed ones,
 * initialised as PyTorch does: U(-b, b) with b = 1/sqrt(fanIn) for weight and bias (kaiming_uniform
 * with a = sqrt(5)). Reference: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import {
  conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d,
  type ConvOptions, type ConvTransposeOptions, type IntOrTuple,
} from '../conv.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { uniformFanIn } from './linear.ts'

export interface ConvModuleOptions extends ConvOptions {
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

export interface ConvTransposeModuleOptions extends ConvTransposeOptions {
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

function kernelDims(op: string, kernelSize: IntOrTuple, S: number): number[] {
  const k = typeof kernelSize === 'number' ? new Array<number>(S).fill(kernelSize) : [...kernelSize]
  if (k.length !== S || !k.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TesseraError(`${op}: kernelSize must be a positive integer or ${S} of them, got ${JSON.stringify(kernelSize)}`)
  }
  return k
}

function checkChannels(op: string, inC: number, outC: number, groups: number): void {
  if (!Number.isInteger(inC) || !Number.isInteger(outC) || inC <= 0 || outC <= 0) {
    throw new TesseraError(`${op}: channel counts must be positive integers, got (${inC}, ${outC})`)
  }
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new TesseraError(`${op}: groups ${groups} must divide in_channels ${inC} and out_channels ${outC}`)
  }
}

type ConvFn = (x: Tensor, w: Tensor, b: Tensor | null, o: ConvOptions) => Tensor

abstract class ConvNd extends Module {
  weight: Parameter
  bias: Parameter | null
  readonly kernelSize: number[]
  readonly options: ConvOptions

  constructor(op: string, S: number, private readonly fn: ConvFn, readonly inChannels: number, readonly outChannels: number, kernelSize: IntOrTuple, opts: ConvModuleOptions) {
    super()
    const groups = opts.groups ?? 1
    checkChannels(op, inChannels, outChannels, groups)
    this.kernelSize = kernelDims(op, kernelSize, S)
    const fanIn = (inChannels / groups) * this.kernelSize.reduce((p, d) => p * d, 1)
    this.weight = new Parameter(uniformFanIn([outChannels, inChannels / groups, ...this.kernelSize], fanIn, opts))
    this.bias = opts.bias === false ? null : new Parameter(uniformFanIn([outChannels], fanIn, opts))
    this.options = { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups }
  }

  forward(x: Tensor): Tensor {
    return this.fn(x, this.weight, this.bias, this.options)
  }
}

export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvModuleOptions = {}) {
    super('Conv1d', 1, conv1d, inChannels, outChannels, kernelSize, opts)
  }
}

export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvModuleOptions = {}) {
    super('Conv2d', 2, conv2d, inChannels, outChannels, kernelSize, opts)
  }
}

export class Conv3d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvModuleOptions = {}) {
    super('Conv3d', 3, conv3d, inChannels, outChannels, kernelSize, opts)
  }
}

type ConvTransposeFn = (x: Tensor, w: Tensor, b: Tensor | null, o: ConvTransposeOptions) => Tensor

abstract class ConvTransposeNd extends Module {
  weight: Parameter
  bias: Parameter | null
  readonly kernelSize: number[]
  readonly options: ConvTransposeOptions

  constructor(op: string, S: number, private readonly fn: ConvTransposeFn, readonly inChannels: number, readonly outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions) {
    super()
    const groups = opts.groups ?? 1
    checkChannels(op, inChannels, outChannels, groups)
    this.kernelSize = kernelDims(op, kernelSize, S)
    // PyTorch computes the transposed conv's fan-in from weight dim 1: (Cout/groups) * prod(kernel).
    const fanIn = (outChannels / groups) * this.kernelSize.reduce((p, d) => p * d, 1)
    this.weight = new Parameter(uniformFanIn([inChannels, outChannels / groups, ...this.kernelSize], fanIn, opts))
    this.bias = opts.bias === false ? null : new Parameter(uniformFanIn([outChannels], fanIn, opts))
    this.options = { stride: opts.stride, padding: opts.padding, outputPadding: opts.outputPadding, dilation: opts.dilation, groups }
  }

  forward(x: Tensor): Tensor {
    return this.fn(x, this.weight, this.bias, this.options)
  }
}

export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions = {}) {
    super('ConvTranspose1d', 1, convTranspose1d, inChannels, outChannels, kernelSize, opts)
  }
}

export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions = {}) {
    super('ConvTranspose2d', 2, convTranspose2d, inChannels, outChannels, kernelSize, opts)
  }
}

export class ConvTranspose3d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: IntOrTuple, opts: ConvTransposeModuleOptions = {}) {
    super('ConvTranspose3d', 3, convTranspose3d, inChannels, outChannels, kernelSize, opts)
  }
}

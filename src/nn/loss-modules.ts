/**
 * @file Loss modules: thin classes over the functions in losses.ts, holding their options, as
 * `torch.nn.CrossEntropyLoss` and friends. Class weights are registered as buffers under PyTorch's
 * names (`weight`, `pos_weight`), so they appear in state dicts as they do in PyTorch.
 *
 * Reference: https://pytorch.org/docs/stable/nn.html#loss-functions
 */
import type { Tensor } from '../tensor.ts'
import { Module } from './module.ts'
import {
  binaryCrossEntropy, binaryCrossEntropyWithLogits, cosineEmbeddingLoss, cosineSimilarity, crossEntropy, huberLoss, klDiv, l1Loss,
  mseLoss, nllLoss, smoothL1Loss, type BCEWithLogitsOptions, type CrossEntropyOptions, type KLDivOptions, type Reduction,
} from './losses.ts'

/** A loss with an optional `weight` buffer (null when absent). */
abstract class WeightedLoss extends Module {
  declare readonly weight: Tensor | null
  constructor(weight: Tensor | null | undefined) {
    super()
    this.registerBuffer('weight', weight ?? null)
  }
}

/**
 * Cross entropy of logits (see crossEntropy).
 * @example
 *   new CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(logits, labels)
 */
export class CrossEntropyLoss extends WeightedLoss {
  readonly ignoreIndex: number
  readonly reduction: Reduction
  readonly labelSmoothing: number
  constructor(opts: CrossEntropyOptions = {}) {
    super(opts.weight)
    this.ignoreIndex = opts.ignoreIndex ?? -100
    this.reduction = opts.reduction ?? 'mean'
    this.labelSmoothing = opts.labelSmoothing ?? 0
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction, labelSmoothing: this.labelSmoothing })
  }
}

/** Negative log likelihood of log-probabilities (see nllLoss). */
export class NLLLoss extends WeightedLoss {
  readonly ignoreIndex: number
  readonly reduction: Reduction
  constructor(opts: { weight?: Tensor | null; ignoreIndex?: number; reduction?: Reduction } = {}) {
    super(opts.weight)
    this.ignoreIndex = opts.ignoreIndex ?? -100
    this.reduction = opts.reduction ?? 'mean'
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { weight: this.weight, ignoreIndex: this.ignoreIndex, reduction: this.reduction })
  }
}

/** Binary cross entropy of probabilities (see binaryCrossEntropy). */
export class BCELoss extends WeightedLoss {
  readonly reduction: Reduction
  constructor(opts: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super(opts.weight)
    this.reduction = opts.reduction ?? 'mean'
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction })
  }
}

/** Binary cross entropy of logits (see binaryCrossEntropyWithLogits); buffers `weight` and `pos_weight`. */
export class BCEWithLogitsLoss extends WeightedLoss {
  declare readonly pos_weight: Tensor | null
  readonly reduction: Reduction
  constructor(opts: BCEWithLogitsOptions = {}) {
    super(opts.weight)
    this.registerBuffer('pos_weight', opts.posWeight ?? null)
    this.reduction = opts.reduction ?? 'mean'
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { weight: this.weight, posWeight: this.pos_weight, reduction: this.reduction })
  }
}

/** An elementwise regression loss holding its reduction. */
abstract class PointwiseLoss extends Module {
  readonly reduction: Reduction
  constructor(opts: { reduction?: Reduction }) {
    super()
    this.reduction = opts.reduction ?? 'mean'
  }
}

/** (x - y)^2 (see mseLoss). */
export class MSELoss extends PointwiseLoss {
  constructor(opts: { reduction?: Reduction } = {}) { super(opts) }
  forward(input: Tensor, target: Tensor): Tensor { return mseLoss(input, target, { reduction: this.reduction }) }
}

/** |x - y| (see l1Loss). */
export class L1Loss extends PointwiseLoss {
  constructor(opts: { reduction?: Reduction } = {}) { super(opts) }
  forward(input: Tensor, target: Tensor): Tensor { return l1Loss(input, target, { reduction: this.reduction }) }
}

/** Huber loss with threshold delta (see huberLoss). */
export class HuberLoss extends PointwiseLoss {
  readonly delta: number
  constructor(opts: { reduction?: Reduction; delta?: number } = {}) {
    super(opts)
    this.delta = opts.delta ?? 1
  }
  forward(input: Tensor, target: Tensor): Tensor { return huberLoss(input, target, { reduction: this.reduction, delta: this.delta }) }
}

/** Smooth L1 loss with threshold beta (see smoothL1Loss). */
export class SmoothL1Loss extends PointwiseLoss {
  readonly beta: number
  constructor(opts: { reduction?: Reduction; beta?: number } = {}) {
    super(opts)
    this.beta = opts.beta ?? 1
  }
  forward(input: Tensor, target: Tensor): Tensor { return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta }) }
}

/** KL divergence of log-probabilities from a target distribution (see klDiv). */
export class KLDivLoss extends Module {
  readonly reduction: Reduction | 'batchmean'
  readonly logTarget: boolean
  constructor(opts: KLDivOptions = {}) {
    super()
    this.reduction = opts.reduction ?? 'mean'
    this.logTarget = opts.logTarget ?? false
  }
  forward(input: Tensor, target: Tensor): Tensor { return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget }) }
}

/** 1 - cos or max(0, cos - margin) by label (see cosineEmbeddingLoss). */
export class CosineEmbeddingLoss extends PointwiseLoss {
  readonly margin: number
  constructor(opts: { reduction?: Reduction; margin?: number } = {}) {
    super(opts)
    this.margin = opts.margin ?? 0
  }
  forward(x1: Tensor, x2: Tensor, y: Tensor): Tensor { return cosineEmbeddingLoss(x1, x2, y, { reduction: this.reduction, margin: this.margin }) }
}

/** Cosine similarity along `dim` (see cosineSimilarity). */
export class CosineSimilarity extends Module {
  readonly dim: number
  readonly eps: number
  constructor(opts: { dim?: number; eps?: number } = {}) {
    super()
    this.dim = opts.dim ?? 1
    this.eps = opts.eps ?? 1e-8
  }
  forward(x1: Tensor, x2: Tensor): Tensor { return cosineSimilarity(x1, x2, this.dim, this.eps) }
}

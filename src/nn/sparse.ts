/**
 * @file Trainable sparse layers: `SparseConv1x1` and `SparseLinear`, built from a dense
 * `Conv2d` (1x1) or `Linear` and a mask or a sparsity level (magnitude pruning).
 *
 * Elsen et al. 2020, "Fast Sparse ConvNets" (https://arxiv.org/abs/1911.09723), sheet 27: 1x1
 * convolutions in channel-major (NCHW) layout as Y = clamp(b + W X) with W in delta-CSR; and the
 * 1xN group pattern of SparseByteNN (https://arxiv.org/abs/2310.19509), sheet 53, which is the
 * block pattern with nr = N rows. Parameters are the kept values (nnz nr,) and the bias (Cout,);
 * pruned weights are not stored, so they stay zero by construction (`toDense()` shows them as 0).
 */
import { check, fmtShape } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { blockMagnitudeMask, type SparsePattern } from '../kernels/sparse.ts'
import { packDeltaCSR, sparseConv1x1, sparseMatmulCHW, unpackDeltaCSR, type SparseOptions } from '../ops/sparse.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import type { Conv2d } from './conv.ts'
import type { Linear } from './linear.ts'

export interface SparseFromDenseOptions extends SparseOptions {
  /** 0/1 (or boolean) mask with the weight's shape; nonzero = kept. */
  mask?: Tensor
  /** Without a mask: prune this fraction of nr x 1 blocks with the smallest L2 norm (sheet 27). */
  sparsity?: number
  /** Output rows per block, 1, 2 or 4 (sheet 27 nr; sheet 53 N). Default 1. */
  nr?: number
}

/** Packs `weight` (Cout, K...) with the mask, or a magnitude mask at `sparsity`, or its own nonzeros. */
function packFrom(op: string, weight: Tensor, o: SparseFromDenseOptions): { pattern: SparsePattern; values: Tensor } {
  const nr = o.nr ?? 1
  check(nr === 1 || nr === 2 || nr === 4, op, () => `nr must be 1, 2 or 4, got ${nr}`)
  let mask = o.mask ?? null
  if (mask === null && o.sparsity !== undefined) {
    const s = o.sparsity
    check(typeof s === 'number' && s >= 0 && s <= 1, op, () => `sparsity must be in [0, 1], got ${s}`)
    const Cout = weight.shape[0], K = weight.numel() / Cout
    mask = fromTypedArray(blockMagnitudeMask(weight.data(), Cout, K, s, { rows: nr, score: 'l2' }), weight.shape, 'bool')
  }
  if (mask) check(mask.ndim === weight.ndim && mask.shape.every((d, i) => d === weight.shape[i]), op, () => `mask of shape ${fmtShape(mask!.shape)} does not match weight of shape ${fmtShape(weight.shape)}`)
  return packDeltaCSR(weight.detach(), { nr, mask })
}

abstract class SparseLayer extends Module {
  values: Parameter
  bias: Parameter | null
  readonly pattern: SparsePattern
  readonly clamp: SparseOptions

  constructor(op: string, weight: Tensor, bias: Tensor | null, o: SparseFromDenseOptions) {
    super()
    const { pattern, values } = packFrom(op, weight, o)
    this.pattern = pattern
    this.values = new Parameter(values)
    this.bias = bias ? new Parameter(bias.detach().clone()) : null
    this.clamp = { min: o.min, max: o.max }
  }

  /** The dense (Cout, K) weight (pruned positions exactly 0). */
  protected denseMatrix(): Tensor {
    return unpackDeltaCSR({ pattern: this.pattern, values: this.values.detach() })
  }

  /** Fraction of the dense weight's entries that are pruned. */
  get sparsity(): number {
    const kept = this.pattern.keep ? this.pattern.keep.reduce((a, b) => a + b, 0) : this.pattern.nnz * this.pattern.nr
    return 1 - kept / (this.pattern.Cout * this.pattern.K)
  }
}

/**
 * Sparse 1x1 convolution: y = clamp(b + W x) per pixel, x (N, Cin, H, W) -> (N, Cout, H, W).
 * Example: `const s = nn.SparseConv1x1.fromDense(conv, { sparsity: 0.9, nr: 4 }); s.forward(x)`
 */
export class SparseConv1x1 extends SparseLayer {
  readonly inChannels: number
  readonly outChannels: number

  constructor(conv: Conv2d, opts: SparseFromDenseOptions = {}) {
    const op = 'SparseConv1x1'
    const k = conv.kernelSize, o = conv.options
    const one = (v: unknown, d: number): boolean => v === undefined || v === d || (Array.isArray(v) && v.every((e) => e === d))
    check(k.length === 2 && k[0] === 1 && k[1] === 1, op, () => `needs a 1x1 Conv2d, got kernel ${fmtShape(k)}`)
    check(one(o.stride, 1) && (one(o.padding, 0) || o.padding === 'same' || o.padding === 'valid') && one(o.dilation, 1) && (o.groups ?? 1) === 1, op, () =>
      `needs stride 1, padding 0, dilation 1 and groups 1, got ${JSON.stringify(o)}`)
    super(op, conv.weight, conv.bias, opts)
    this.inChannels = conv.inChannels
    this.outChannels = conv.outChannels
  }

  static fromDense(conv: Conv2d, opts: SparseFromDenseOptions = {}): SparseConv1x1 { return new SparseConv1x1(conv, opts) }

  forward(x: Tensor): Tensor {
    return sparseConv1x1(x, { pattern: this.pattern, values: this.values }, this.bias, this.clamp)
  }

  /** The dense weight (Cout, Cin, 1, 1), pruned positions exactly 0. */
  toDense(): Tensor { return this.denseMatrix().reshape([this.outChannels, this.inChannels, 1, 1]) }
}

/**
 * Sparse linear layer y = clamp(x W^T + b), x (..., in) -> (..., out), run channel-major on x^T.
 * Example: `const s = nn.SparseLinear.fromDense(linear, { sparsity: 0.8 }); s.forward(x)`
 */
export class SparseLinear extends SparseLayer {
  readonly inFeatures: number
  readonly outFeatures: number

  constructor(linear: Linear, opts: SparseFromDenseOptions = {}) {
    super('SparseLinear', linear.weight, linear.bias, opts)
    this.inFeatures = linear.inFeatures
    this.outFeatures = linear.outFeatures
  }

  static fromDense(linear: Linear, opts: SparseFromDenseOptions = {}): SparseLinear { return new SparseLinear(linear, opts) }

  forward(x: Tensor): Tensor {
    check(x.ndim >= 1 && x.shape[x.ndim - 1] === this.inFeatures, 'SparseLinear', () =>
      `input has shape ${fmtShape(x.shape)}, expected ${this.inFeatures} features in its last dim`)
    const lead = x.shape.slice(0, -1)
    const xt = x.reshape([-1, this.inFeatures]).T.unsqueeze(0) // (1, in, B)
    const y = sparseMatmulCHW(xt.contiguous(), { pattern: this.pattern, values: this.values }, this.bias, this.clamp) // (1, out, B)
    return y.squeeze(0).T.reshape([...lead, this.outFeatures])
  }

  /** The dense weight (out, in), pruned positions exactly 0. */
  toDense(): Tensor { return this.denseMatrix() }
}

/**
 * @file Lookup and bilinear layers: Embedding (a table of learned vectors indexed by int32 ids)
 * and Bilinear (y = x1^T A x2 + b), with their functional forms `embedding` and `bilinear`.
 *
 * Shapes: embedding ids (*) -> (*, D) for a (V, D) table; bilinear x1 (*, I1), x2 (*, I2) ->
 * (*, O) for a (O, I1, I2) weight.
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.Embedding.html,
 * https://pytorch.org/docs/stable/generated/torch.nn.Bilinear.html
 */
import { check, fmtShape } from '../errors.ts'
import { where } from '../ops/elementwise.ts'
import { indexSelect } from '../ops/indexing.ts'
import { randn } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { uniformFanIn } from './linear.ts'

type FloatDType = 'float32' | 'float64'

function checkIds(op: string, ids: Tensor, V: number): void {
  check(ids.dtype === 'int32' || ids.dtype === 'int8', op, () => `indices must be an int32 tensor, got ${ids.dtype} (shape ${fmtShape(ids.shape)})`)
  if (ids.numel() === 0) return
  const lo = ids.amin().item(), hi = ids.amax().item()
  check(lo >= 0 && hi < V, op, () => `index ${lo < 0 ? lo : hi} is out of range for a table of ${V} rows (indices ${fmtShape(ids.shape)})`)
}

/** Normalises a padding index (negative counts from the end) or returns null. */
function paddingRow(op: string, paddingIdx: number | null | undefined, V: number): number | null {
  if (paddingIdx === undefined || paddingIdx === null) return null
  check(Number.isInteger(paddingIdx) && paddingIdx >= -V && paddingIdx < V, op, () => `paddingIdx ${paddingIdx} must be within [-${V}, ${V})`)
  return paddingIdx < 0 ? paddingIdx + V : paddingIdx
}

/**
 * out[..., :] = weight[ids[...], :]. Rows looked up at `paddingIdx` give their stored value but
 * pass no gradient to the table (as PyTorch's padding_idx).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.embedding.html
 * @example
 *   embedding(tensor([[0, 2]], { dtype: 'int32' }), weight) // (1, 2, D)
 */
export function embedding(ids: Tensor, weight: Tensor, paddingIdx?: number | null): Tensor {
  check(weight.ndim === 2, 'embedding', () => `weight must be 2-D (numEmbeddings, dim), got ${fmtShape(weight.shape)}`)
  const [V, D] = weight.shape
  checkIds('embedding', ids, V)
  const pad = paddingRow('embedding', paddingIdx, V)
  const out = indexSelect(weight, 0, ids.reshape([-1])).reshape([...ids.shape, D]) // (*, D)
  if (pad === null) return out
  // NOTE: the same values, but padding positions read them through a detached copy, so their
  // gradient is dropped before it reaches the table (other uses of the table are unaffected).
  return where(ids.eq(pad).unsqueeze(-1), out.detach(), out)
}

export interface EmbeddingOptions {
  /** A row whose lookups get no gradient; it is initialised to zeros. */
  paddingIdx?: number | null
  generator?: Generator
  dtype?: FloatDType
  /** Initial table (copied) instead of N(0, 1); the padding row is then kept as given. */
  weight?: Tensor
  /** With `weight`: make the table not require grad. */
  freeze?: boolean
}

/**
 * A (numEmbeddings, embeddingDim) table of vectors, initialised N(0, 1) (the padding row zeros).
 * @example
 *   const emb = new Embedding(1000, 64, { paddingIdx: 0 })
 *   emb.forward(ids) // ids (B, L) int32 -> (B, L, 64)
 */
export class Embedding extends Module {
  weight: Parameter
  readonly paddingIdx: number | null

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: EmbeddingOptions = {}) {
    super()
    check(Number.isInteger(numEmbeddings) && Number.isInteger(embeddingDim) && numEmbeddings > 0 && embeddingDim >= 0, 'Embedding', () =>
      `numEmbeddings must be a positive integer and embeddingDim a non-negative one, got (${numEmbeddings}, ${embeddingDim})`)
    this.paddingIdx = paddingRow('Embedding', opts.paddingIdx, numEmbeddings)
    if (opts.weight) {
      check(opts.weight.ndim === 2 && opts.weight.shape[0] === numEmbeddings && opts.weight.shape[1] === embeddingDim, 'Embedding', () =>
        `weight has shape ${fmtShape(opts.weight!.shape)}, expected [${numEmbeddings},${embeddingDim}]`)
      this.weight = new Parameter(opts.weight.clone(), opts.freeze !== true)
      return
    }
    const w = randn([numEmbeddings, embeddingDim], { dtype: opts.dtype, generator: opts.generator })
    if (this.paddingIdx !== null) w.select(0, this.paddingIdx).zero_()
    this.weight = new Parameter(w)
  }

  /** An Embedding holding a copy of `weight` (V, D), frozen (no gradient) unless `freeze: false`. */
  static fromPretrained(weight: Tensor, opts: { freeze?: boolean; paddingIdx?: number | null } = {}): Embedding {
    check(weight.ndim === 2, 'Embedding.fromPretrained', () => `weight must be 2-D (numEmbeddings, dim), got ${fmtShape(weight.shape)}`)
    return new Embedding(weight.shape[0], weight.shape[1], { weight, freeze: opts.freeze ?? true, paddingIdx: opts.paddingIdx })
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight, this.paddingIdx)
  }
}

/**
 * y_o = sum_ij x1_i A_oij x2_j + b_o over the last dims of x1 and x2 (leading dims must match).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.bilinear.html
 * @example
 *   bilinear(randn([5, 3]), randn([5, 4]), randn([2, 3, 4])) // (5, 2)
 */
export function bilinear(x1: Tensor, x2: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  check(weight.ndim === 3, 'bilinear', () => `weight must be 3-D (out, in1, in2), got ${fmtShape(weight.shape)}`)
  const [O, I1, I2] = weight.shape
  const lead = x1.shape.slice(0, -1)
  check(x1.ndim >= 1 && x2.ndim === x1.ndim && lead.every((d, i) => d === x2.shape[i]) && x1.shape[x1.ndim - 1] === I1 && x2.shape[x2.ndim - 1] === I2,
    'bilinear', () => `inputs ${fmtShape(x1.shape)} and ${fmtShape(x2.shape)} do not fit weight ${fmtShape(weight.shape)}: expected (*, ${I1}) and (*, ${I2}) with the same leading dims`)
  const a = x1.reshape([-1, I1]) // (M, I1)
  const b = x2.reshape([-1, 1, I2]) // (M, 1, I2)
  const aw = a.matmul(weight.permute([1, 0, 2]).reshape([I1, O * I2])).reshape([-1, O, I2]) // (M, O, I2): sum_i x1_i A_oij
  let y = aw.mul(b).sum(-1) // (M, O)
  if (bias) y = y.add(bias)
  return y.reshape([...lead, O])
}

export interface BilinearOptions { bias?: boolean; generator?: Generator; dtype?: FloatDType }

/**
 * Bilinear layer with weight (out, in1, in2) and bias (out), both U(-k, k) with k = 1/sqrt(in1)
 * as PyTorch.
 * @example
 *   new Bilinear(3, 4, 2).forward(x1, x2) // x1 (N, 3), x2 (N, 4) -> (N, 2)
 */
export class Bilinear extends Module {
  weight: Parameter
  bias: Parameter | null

  constructor(readonly in1Features: number, readonly in2Features: number, readonly outFeatures: number, opts: BilinearOptions = {}) {
    super()
    check([in1Features, in2Features, outFeatures].every((d) => Number.isInteger(d) && d >= 0), 'Bilinear', () =>
      `feature counts must be non-negative integers, got (${in1Features}, ${in2Features}, ${outFeatures})`)
    this.weight = new Parameter(uniformFanIn([outFeatures, in1Features, in2Features], in1Features, opts))
    this.bias = opts.bias === false ? null : new Parameter(uniformFanIn([outFeatures], in1Features, opts))
  }

  forward(x1: Tensor, x2: Tensor): Tensor {
    return bilinear(x1, x2, this.weight, this.bias)
  }
}

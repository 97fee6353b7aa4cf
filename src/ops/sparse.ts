/**
 * @file Differentiable sparse convolutions over the delta-CSR format (`../kernels/sparse.ts`).
 *
 * Elsen et al. 2020, "Fast Sparse ConvNets" (https://arxiv.org/abs/1911.09723), sheet 27, and the
 * 1xN group pattern of SparseByteNN (https://arxiv.org/abs/2310.19509), sheet 53.
 *
 * Three bilinear primitives, each other's adjoints (as the depthwise trio in `./conv.ts`), so every
 * order of gradient stays inside them. With v the packed values, k the keep mask and A_v the sparse
 * (Cout, K) matrix holding k * v:
 *   sparseMatmul:            Y (N, Cout, P) = clamp(b + A_v X),          X (N, K, P)
 *   sparseMatmulTransposed:  dX (N, K, P) = A_v^T dY
 *   sparseSampledMatmul:     dV (nnz nr,) = k * sum_{n,p} dY[n, co, p] X[n, k, p] at the packed slots
 * Gradients flow to X, to v and to the bias. Pruned weights are not stored at all, and the padded
 * slots of a union-pattern block are multiplied by k = 0 in every op (forward, both adjoints, and the
 * gradient to v), so whatever an optimizer writes there never reaches an output or `unpackDeltaCSR`:
 * pruned positions stay exactly zero by construction.
 * `sparseConv1x1` reshapes (N, Cin, H, W) to (N, Cin, H W); `sparseConv3x3` unfolds first (im2col,
 * K = Cin 9, row c 9 + kh 3 + kw). Depthwise convolutions stay dense (F.conv2d with groups).
 */
import { check, fmtShape } from '../errors.ts'
import { allocate, type TypedArray } from '../dtype.ts'
import { fromTypedArray } from '../creation.ts'
import { packDeltaCSR as packKernel, unpackDeltaCSR as unpackKernel, maskedValues, type SparsePattern } from '../kernels/sparse.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'
import { unfoldRaw, type Sliding } from './conv.ts'

export interface SparseArgs { pattern: SparsePattern; min: number; max: number }

/** The value array the kernels read: contiguous, with the slots outside the mask zeroed. */
function vals(s: SparsePattern, v: Tensor): TypedArray {
  const raw = v.offset === 0 && v.isContiguous() && v.storage.length === v.numel() ? v.storage : v.data()
  return maskedValues(s, raw)
}

/** The raw contiguous data of a (N, C, P) tensor and its offset. */
function raw(t: Tensor): [TypedArray, number] {
  return t.isContiguous() ? [t.storage, t.offset] : [t.data(), 0]
}

export const sparseMatmulOp: OpDef<SparseArgs> = {
  name: 'sparseMatmul',
  forward(ctx, inputs, a) {
    const [x, v, bias] = inputs
    const [N, , P] = x.shape
    const y = emptyTensor([N, a.pattern.Cout, P], x.dtype) // (N, Cout, P)
    const [xs, xo] = raw(x)
    const bs = bias ? bias.data() : null // (Cout,)
    kernels.spmm(y.storage, xs, xo, a.pattern, vals(a.pattern, v), bs, { N, P, min: a.min, max: a.max })
    ctx.save(x, v)
    if (Number.isFinite(a.min) || Number.isFinite(a.max)) ctx.save(y.detach())
    return y
  },
  backward({ saved: [x, v, y], needsGrad }, dy, a) {
    // NOTE: the fused clamp passes gradient only where min < y < max (0 on the clamped side and at the kink).
    let g = dy
    if (y) g = dy.where(y.gt(a.min).logicalAnd(y.lt(a.max)), 0)
    const s: SparseArgs = { pattern: a.pattern, min: -Infinity, max: Infinity }
    return [
      needsGrad[0] ? apply(sparseMatmulTransposedOp, [g, v], s) : null,
      needsGrad[1] ? apply(sparseSampledMatmulOp, [g, x], s) : null,
      needsGrad[2] ? g.sum([0, 2]) : null,
    ]
  },
}

export const sparseMatmulTransposedOp: OpDef<SparseArgs> = {
  name: 'sparseMatmulTransposed',
  forward(ctx, [dy, v], a) {
    const [N, , P] = dy.shape
    const dx = emptyTensor([N, a.pattern.K, P], dy.dtype) // (N, K, P)
    const [ys, yo] = raw(dy)
    kernels.spmmTransposed(dx.storage, ys, yo, a.pattern, vals(a.pattern, v), N, P)
    ctx.save(dy, v)
    return dx
  },
  // <gx, A_v^T dy> = <A_v gx, dy>: linear in dy through the forward op, in v through the sampled product.
  backward: ({ saved: [dy, v], needsGrad }, gx, a) => [
    needsGrad[0] ? apply(sparseMatmulOp, [gx, v], a) : null,
    needsGrad[1] ? apply(sparseSampledMatmulOp, [dy, gx], a) : null,
  ],
}

export const sparseSampledMatmulOp: OpDef<SparseArgs> = {
  name: 'sparseSampledMatmul',
  forward(ctx, [dy, x], a) {
    const [N, , P] = dy.shape
    const dv = emptyTensor([a.pattern.nnz * a.pattern.nr], dy.dtype) // (nnz nr,)
    const [ys, yo] = raw(dy), [xs, xo] = raw(x)
    kernels.sddmm(dv.storage, ys, yo, xs, xo, a.pattern, N, P)
    ctx.save(dy, x)
    return dv
  },
  // <gv, S(dy, x)> = <A_gv x, dy> = <x, A_gv^T dy>.
  backward: ({ saved: [dy, x], needsGrad }, gv, a) => [
    needsGrad[0] ? apply(sparseMatmulOp, [x, gv], a) : null,
    needsGrad[1] ? apply(sparseMatmulTransposedOp, [dy, gv], a) : null,
  ],
}

export const sparseOps = {
  sparseMatmul: sparseMatmulOp,
  sparseMatmulTransposed: sparseMatmulTransposedOp,
  sparseSampledMatmul: sparseSampledMatmulOp,
}

// ---------------------------------------------------------------- public functions

/** A packed sparse weight: its pattern and the trainable values tensor (nnz nr,). */
export interface PackedSparse { pattern: SparsePattern; values: Tensor }

export interface SparseOptions {
  /** Fused clamp of the output (e.g. min 0, max 6 for ReLU6). */
  min?: number
  max?: number
}

/**
 * Packs a dense weight (Cout, K) or (Cout, Cin, kH, kW) into delta-CSR with blocks of `nr` rows.
 * `mask` (same shape, nonzero = kept) defaults to W's nonzeros. Rows of one block with different
 * masks are packed as the union pattern with explicit, permanently zero slots.
 * Example: `const { pattern, values } = packDeltaCSR(w, { nr: 4, mask })`
 */
export function packDeltaCSR(weight: Tensor, opts: { nr?: number; mask?: Tensor | null } = {}): PackedSparse {
  const op = 'packDeltaCSR'
  check(weight instanceof Tensor && (weight.dtype === 'float32' || weight.dtype === 'float64'), op, () => `weight must be a float32 or float64 tensor`)
  check(weight.ndim >= 2, op, () => `weight must have shape (Cout, K) or (Cout, Cin, kH, kW), got ${fmtShape(weight.shape)}`)
  const nr = opts.nr ?? 1
  check(nr === 1 || nr === 2 || nr === 4, op, () => `nr must be 1, 2 or 4, got ${nr}`)
  const Cout = weight.shape[0], K = weight.numel() / Math.max(Cout, 1)
  const mask = opts.mask ?? null
  if (mask) check(mask.ndim === weight.ndim && mask.shape.every((d, i) => d === weight.shape[i]), op, () => `mask of shape ${fmtShape(mask.shape)} does not match weight of shape ${fmtShape(weight.shape)}`)
  const { pattern, values } = packKernel(weight.data(), Cout, K, nr, mask ? mask.data() : null, (n) => allocate(weight.dtype, n))
  return { pattern, values: fromTypedArray(values, [values.length], weight.dtype) }
}

/** The dense (Cout, K) weight of a packed one (zeros at pruned positions). */
export function unpackDeltaCSR(packed: PackedSparse): Tensor {
  const { pattern: s, values } = packed
  const out = emptyTensor([s.Cout, s.K], values.dtype) // (Cout, K)
  unpackKernel(out.storage, s, values.data())
  return out
}

function checkOperands(op: string, x: Tensor, packed: PackedSparse, bias: Tensor | null, K: number): void {
  const { pattern: s, values } = packed
  check(x instanceof Tensor && (x.dtype === 'float32' || x.dtype === 'float64'), op, () => `input must be a float32 or float64 tensor`)
  check(values.dtype === x.dtype, op, () => `values dtype ${values.dtype} does not match input dtype ${x.dtype}`)
  check(values.ndim === 1 && values.shape[0] === s.nnz * s.nr, op, () =>
    `values must have shape [${s.nnz * s.nr}] (nnz ${s.nnz} x nr ${s.nr}), got ${fmtShape(values.shape)}`)
  check(K === s.K, op, () => `input of shape ${fmtShape(x.shape)} gives ${K} input rows but the packed weight is (${s.Cout}, ${s.K})`)
  if (bias) {
    check(bias.dtype === x.dtype, op, () => `bias dtype ${bias.dtype} does not match input dtype ${x.dtype}`)
    check(bias.ndim === 1 && bias.shape[0] === s.Cout, op, () => `bias must have shape [${s.Cout}], got ${fmtShape(bias.shape)}`)
  }
}

function clampArgs(op: string, pattern: SparsePattern, o: SparseOptions): SparseArgs {
  const min = o.min ?? -Infinity, max = o.max ?? Infinity
  check(!(min > max), op, () => `min ${min} must not exceed max ${max}`)
  return { pattern, min, max }
}

/**
 * Channel-major sparse product Y (N, Cout, P) = clamp(bias + W X) for X (N, K, P).
 * Reference: Elsen et al. 2020, https://arxiv.org/abs/1911.09723 (Sec. 4).
 * Example: `const y = sparseMatmulCHW(x, packed, bias, { min: 0, max: 6 })`
 */
export function sparseMatmulCHW(x: Tensor, packed: PackedSparse, bias: Tensor | null = null, opts: SparseOptions = {}): Tensor {
  const op = 'sparseMatmulCHW'
  check(x instanceof Tensor && x.ndim === 3, op, () => `input must have shape (N, K, P), got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`)
  checkOperands(op, x, packed, bias, x.shape[1])
  const inputs = bias ? [x, packed.values, bias] : [x, packed.values]
  return apply(sparseMatmulOp, inputs, clampArgs(op, packed.pattern, opts))
}

/**
 * Sparse 1x1 convolution of x (N, Cin, H, W) (or unbatched (Cin, H, W)) with a packed (Cout, Cin)
 * weight: y[n, co] = clamp(b[co] + sum_{ci in nz(co)} W[co, ci] x[n, ci]). Output (N, Cout, H, W).
 * Example: `const y = sparseConv1x1(x, packDeltaCSR(w, { mask }), bias)`
 */
export function sparseConv1x1(x: Tensor, packed: PackedSparse, bias: Tensor | null = null, opts: SparseOptions = {}): Tensor {
  const op = 'sparseConv1x1'
  check(x instanceof Tensor && (x.ndim === 4 || x.ndim === 3), op, () => `input must have shape (N, Cin, H, W) or (Cin, H, W), got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`)
  const xb = x.ndim === 3 ? x.unsqueeze(0) : x
  const [N, C, H, W] = xb.shape
  checkOperands(op, xb, packed, bias, C)
  const inputs = bias ? [xb.reshape([N, C, H * W]), packed.values, bias] : [xb.reshape([N, C, H * W]), packed.values]
  const y = apply(sparseMatmulOp, inputs, clampArgs(op, packed.pattern, opts)).reshape([N, packed.pattern.Cout, H, W])
  return x.ndim === 3 ? y.squeeze(0) : y
}

/**
 * Sparse 3x3 convolution (padding 1, stride 1 or 2) of x (N, Cin, H, W) with a packed weight of
 * shape (Cout, Cin 9) (pack the (Cout, Cin, 3, 3) weight directly): im2col, then the sparse product
 * over the (Cin 9, Ho Wo) columns. Output (N, Cout, Ho, Wo), Ho = floor((H - 1) / stride) + 1.
 * Example: `const y = sparseConv3x3(x, packDeltaCSR(w3x3, { mask }), bias, { stride: 2 })`
 */
export function sparseConv3x3(x: Tensor, packed: PackedSparse, bias: Tensor | null = null, opts: SparseOptions & { stride?: number } = {}): Tensor {
  const op = 'sparseConv3x3'
  check(x instanceof Tensor && x.ndim === 4, op, () => `input must have shape (N, Cin, H, W), got ${x instanceof Tensor ? fmtShape(x.shape) : typeof x}`)
  const stride = opts.stride ?? 1
  check(stride === 1 || stride === 2, op, () => `stride must be 1 or 2, got ${stride}`)
  const [N, C, H, W] = x.shape
  check(H >= 1 && W >= 1, op, () => `input must have a non-empty image, got ${fmtShape(x.shape)}`)
  checkOperands(op, x, packed, bias, C * 9)
  const win: Sliding = { size: [H, W], kernel: [3, 3], stride: [stride, stride], dilation: [1, 1], padBefore: [1, 1], padAfter: [1, 1] }
  const Ho = Math.floor((H - 1) / stride) + 1, Wo = Math.floor((W - 1) / stride) + 1
  const cols = unfoldRaw(x, win) // (N, Cin 9, Ho Wo)
  const inputs = bias ? [cols, packed.values, bias] : [cols, packed.values]
  return apply(sparseMatmulOp, inputs, clampArgs(op, packed.pattern, opts)).reshape([N, packed.pattern.Cout, Ho, Wo])
}


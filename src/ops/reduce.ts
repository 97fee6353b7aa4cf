/**
 * @file Reductions over all, one or several dims (with keepdim), cumsum, and the
 * non-differentiable argmax/argmin/all/any. Accumulation is float64 in every kernel.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { coalesce, contiguousStrides, normalizeDim, normalizeDims } from '../shape.ts'
import { isFloating, type DType } from '../dtype.ts'
import { cumsumInto, prodOthersInto, reduceInto, type ReduceName } from '../kernels/reduce.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, firstOrderOnly, type Ctx, type OpDef } from './op.ts'
import { rawCopy } from './view.ts'

export type Dims = number | readonly number[]

interface ReduceArgs { dims: number[]; keepdim: boolean; correction: number; dtype: DType }

/** Lays `x` out as (kept..., reduced run of n at stride s) and runs the kernel: no graph. */
function reduceRaw(name: ReduceName, x: Tensor, args: ReduceArgs): Tensor {
  const { dims, keepdim, correction, dtype } = args
  const isReduced = (i: number): boolean => dims.includes(i)
  const keptIdx = x.shape.map((_, i) => i).filter((i) => !isReduced(i))
  const keptShape = keptIdx.map((i) => x.shape[i])
  const outShape = keepdim ? x.shape.map((d, i) => (isReduced(i) ? 1 : d)) : keptShape
  const out = emptyTensor(outShape, dtype)
  const red = coalesce(dims.map((i) => x.shape[i]), [dims.map((i) => x.strides[i])])
  const n = dims.reduce((p, i) => p * x.shape[i], 1)
  if (red.shape.length === 1) {
    reduceInto(name, out.storage, x.storage, x.offset, keptShape, keptIdx.map((i) => x.strides[i]), n, red.strides[0][0], correction)
  } else {
    // The reduced dims do not form one strided run: copy into (kept..., reduced...) order first.
    const c = rawCopy(x.permute([...keptIdx, ...dims]))
    const keptStrides = contiguousStrides(keptShape).map((s) => s * n)
    reduceInto(name, out.storage, c.storage, 0, keptShape, keptStrides, n, 1, correction)
  }
  return out
}

function reduceArgs(op: string, x: Tensor, dims: Dims | undefined, keepdim: boolean, dtype: DType, correction = 0): ReduceArgs {
  const list = dims === undefined || (Array.isArray(dims) && dims.length === 0) ? undefined : dims
  return { dims: normalizeDims(op, list, x.ndim), keepdim, correction, dtype }
}

/** The reduced output gradient broadcast back over the input's shape. */
function expandBack(g: Tensor, ctx: Ctx, { dims, keepdim }: ReduceArgs): Tensor {
  const shape = ctx.inputShapes[0] as number[]
  const kept = keepdim ? g : g.reshape(shape.map((d, i) => (dims.includes(i) ? 1 : d)))
  return kept.expand(shape)
}

/** The output with reduced dims kept as size 1 (so it broadcasts against the input). */
function keptOutput(y: Tensor, ctx: Ctx, { dims, keepdim }: ReduceArgs): Tensor {
  return keepdim ? y : y.reshape((ctx.inputShapes[0] as number[]).map((d, i) => (dims.includes(i) ? 1 : d)))
}

const reducedCount = (ctx: Ctx, dims: number[]): number => dims.reduce((p, i) => p * ctx.inputShapes[0][i], 1)

function reduceDef(name: ReduceName, saves: 'x' | 'xy' | 'none', grad: (ctx: Ctx, g: Tensor, args: ReduceArgs) => Tensor): OpDef<ReduceArgs> {
  return {
    name,
    forward(ctx, [x], args) {
      const out = reduceRaw(name, x, args)
      if (saves !== 'none') ctx.save(x)
      if (saves === 'xy') ctx.save(out)
      return out
    },
    backward: (ctx, g, args) => [grad(ctx, g, args)],
  }
}

/** Gradient of amax/amin: shared evenly by the elements equal to the extreme value. */
function extremeGrad(ctx: Ctx, g: Tensor, args: ReduceArgs): Tensor {
  const [x, y] = ctx.saved
  const mask = x.eq(keptOutput(y, ctx, args)).to(g.dtype)
  return expandBack(g, ctx, args).mul(mask).div(mask.sum(args.dims, true))
}

export const reduceOps = {
  sum: reduceDef('sum', 'none', (ctx, g, a) => expandBack(g, ctx, a)),
  mean: reduceDef('mean', 'none', (ctx, g, a) => expandBack(g, ctx, a).div(reducedCount(ctx, a.dims))),
  // d prod / dx_j = prod_{i != j} x_i, computed by a kernel that handles zeros exactly.
  prod: reduceDef('prod', 'x', (ctx, g, a) => {
    firstOrderOnly('prod')
    return expandBack(g, ctx, a).mul(prodOthers(ctx.saved[0], a.dims))
  }),
  amax: reduceDef('amax', 'xy', extremeGrad),
  amin: reduceDef('amin', 'xy', extremeGrad),
  // d lse / dx = softmax(x) = e^{x - lse}
  logsumexp: reduceDef('logsumexp', 'xy', (ctx, g, a) => {
    const [x, y] = ctx.saved
    return expandBack(g, ctx, a).mul(x.sub(keptOutput(y, ctx, a)).exp())
  }),
  // d var / dx = 2 (x - mean) / (n - correction)
  var: reduceDef('var', 'x', (ctx, g, a) => {
    const x = ctx.saved[0]
    const n = reducedCount(ctx, a.dims)
    return expandBack(g, ctx, a).mul(x.sub(x.mean(a.dims, true)).mul(2 / Math.max(0, n - a.correction)))
  }),
} satisfies Record<string, OpDef<ReduceArgs>>

/** prod over `dims` of all other elements, for each element (kernel; no graph). */
function prodOthers(x: Tensor, dims: number[]): Tensor {
  const keptIdx = x.shape.map((_, i) => i).filter((i) => !dims.includes(i))
  const c = rawCopy(x.permute([...keptIdx, ...dims]))
  const n = dims.reduce((p, i) => p * x.shape[i], 1)
  const keptShape = keptIdx.map((i) => x.shape[i])
  const out = emptyTensor(c.shape, x.dtype)
  prodOthersInto(out.storage, c.storage, 0, keptShape, contiguousStrides(keptShape).map((s) => s * n), n, 1)
  const inverse = new Array<number>(x.ndim)
  ;[...keptIdx, ...dims].forEach((d, i) => { inverse[d] = i })
  return out.permute(inverse)
}

const sumDType = (d: DType): DType => (isFloating(d) ? d : 'int32')

function floatOnly(op: string, x: Tensor): DType {
  if (!isFloating(x.dtype)) throw new TesseraError(`${op}: input dtype ${x.dtype} is not floating point; cast it first (e.g. x.float())`)
  return x.dtype
}

function nonEmpty(op: string, x: Tensor, args: ReduceArgs): void {
  const n = args.dims.reduce((p, i) => p * x.shape[i], 1)
  if (n === 0 || (x.numel() === 0 && args.dims.length === x.ndim)) {
    throw new TesseraError(`${op}: cannot reduce over an empty dim (input ${fmtShape(x.shape)}, dims ${fmtShape(args.dims)})`)
  }
}

export function sum(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return apply(reduceOps.sum, [x], reduceArgs('sum', x, dims, keepdim, sumDType(x.dtype)))
}

export function mean(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return apply(reduceOps.mean, [x], reduceArgs('mean', x, dims, keepdim, floatOnly('mean', x)))
}

export function prod(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const args = reduceArgs('prod', x, dims, keepdim, sumDType(x.dtype))
  // Integer products wrap modulo 2^32 exactly (ints never require grad, so no graph is needed).
  return isFloating(x.dtype) ? apply(reduceOps.prod, [x], args) : reduceRaw('prodInt', x, args)
}

export function amax(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const args = reduceArgs('amax', x, dims, keepdim, x.dtype)
  nonEmpty('amax', x, args)
  return apply(reduceOps.amax, [x], args)
}

export function amin(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  const args = reduceArgs('amin', x, dims, keepdim, x.dtype)
  nonEmpty('amin', x, args)
  return apply(reduceOps.amin, [x], args)
}

export function logsumexp(x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return apply(reduceOps.logsumexp, [x], reduceArgs('logsumexp', x, dims, keepdim, floatOnly('logsumexp', x)))
}

export interface VarOptions { correction?: number; keepdim?: boolean }

/** Variance with Bessel-style `correction` (default 1, the unbiased estimator). */
export function variance(x: Tensor, dims?: Dims, opts: VarOptions = {}): Tensor {
  const correction = opts.correction ?? 1
  check(correction >= 0, 'var', () => `correction must be >= 0, got ${correction}`)
  return apply(reduceOps.var, [x], reduceArgs('var', x, dims, opts.keepdim ?? false, floatOnly('var', x), correction))
}

/** Index of the first max (or min) along `dim`; over the flattened tensor when dim is omitted. */
export function argExtreme(name: 'argmax' | 'argmin', x: Tensor, dim?: number, keepdim = false): Tensor {
  if (dim === undefined) {
    const flat = x.reshape([-1])
    check(flat.numel() > 0, name, () => 'cannot take the arg of an empty tensor')
    const out = reduceRaw(name, flat, { dims: [0], keepdim: false, correction: 0, dtype: 'int32' })
    return keepdim ? out.reshape(x.shape.map(() => 1)) : out
  }
  const args = reduceArgs(name, x, dim, keepdim, 'int32')
  nonEmpty(name, x, args)
  return reduceRaw(name, x, args)
}

/** True where every (any) element along `dims` is nonzero. */
export function allAny(name: 'all' | 'any', x: Tensor, dims?: Dims, keepdim = false): Tensor {
  return reduceRaw(name, x, reduceArgs(name, x, dims, keepdim, 'bool'))
}

export const cumsumOp: OpDef<{ dim: number; dtype: DType }> = {
  name: 'cumsum',
  forward(_ctx, [x], { dim, dtype }) {
    const c = x.isContiguous() ? x : rawCopy(x)
    const out = emptyTensor(x.shape, dtype)
    const n = x.ndim === 0 ? 1 : x.shape[dim]
    const outer = x.shape.slice(0, dim).reduce((p, d) => p * d, 1)
    const inner = x.shape.slice(dim + 1).reduce((p, d) => p * d, 1)
    cumsumInto(out.storage, c.offset === 0 ? c.storage : c.storage.subarray(c.offset), outer, n, inner)
    return out
  },
  // The adjoint of an inclusive prefix sum is a suffix sum: flip, cumsum, flip.
  backward: (_ctx, g, { dim }) => [g.ndim === 0 ? g : g.flip([dim]).cumsum(dim).flip([dim])],
}

export function cumsum(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('cumsum', dim, x.ndim)
  return apply(cumsumOp, [x], { dim: d, dtype: sumDType(x.dtype) })
}

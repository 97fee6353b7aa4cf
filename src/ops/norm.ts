/**
 * @file Normalisation primitives: layerNorm, rmsNorm, groupNorm and batchNorm, each a fused
 * forward kernel that saves (mean, rstd) and a fused backward kernel (src/kernels/norm.ts).
 *
 * Shapes: layerNorm and rmsNorm normalise over the trailing `normalizedShape` dims of x (...,
 * *normalizedShape), with weight and bias of shape normalizedShape. groupNorm and batchNorm take
 * x (N, C, *spatial) with weight and bias (C,); groupNorm normalises each of G groups of C / G
 * channels per sample, batchNorm each channel over the batch and spatial dims.
 *
 * Higher order: the fused backward is not itself differentiable. When backward runs under
 * createGraph (`isGradEnabled()` inside backward), the gradient is instead written with tensor
 * ops from the saved input (`normGradComposite`), so second-order gradients work; the two give the
 * same values (test/ops/norm.test.ts checks both).
 */
import { check, fmtShape } from '../errors.ts'
import { isGradEnabled, noGrad } from '../autograd.ts'
import { isFloating, type DType, type TypedArray } from '../dtype.ts'
import { numel } from '../shape.ts'
import {
  batchNormApply, batchNormBackward, batchNormStats,
  type BatchNormDims, type RowNormDims,
} from '../kernels/norm.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type Ctx, type OpDef } from './op.ts'
import { rawCopy } from './view.ts'

// ---------------------------------------------------------------- shared plumbing

/** What the composite backward needs to see x as a grouped view and broadcast the affine params. */
interface NormLayout {
  /** x reshaped so that statistics reduce over `statDims`: (R, M), (N, G, Cg, S) or (N, C, S). */
  view: number[]
  statDims: number[]
  /** weight and bias reshaped to broadcast against `view`: (M,), (G, Cg, 1) or (C, 1). */
  affineView: number[]
  /** Dims of `view` summed to get dweight and dbias. */
  affineSumDims: number[]
}

interface NormArgs {
  layout: NormLayout
  eps: number
  /** Subtract the mean (false for rmsNorm). */
  center: boolean
  hasWeight: boolean
  hasBias: boolean
}

/** The elements of t in row-major order, as its own storage when already laid out so. */
function dense(t: Tensor): TypedArray {
  return t.isContiguous() && t.offset === 0 ? t.storage : rawCopy(t).storage
}

/** Affine params as typed arrays of length C: the tensors' data, or ones and zeros when absent. */
function affineArrays(w: Tensor | null, b: Tensor | null, C: number): [TypedArray, TypedArray] {
  return [w ? dense(w) : new Float64Array(C).fill(1), b ? dense(b) : new Float64Array(C)]
}

/** Splits the op inputs [x, weight?, bias?] by the args' flags. */
function unpack(inputs: Tensor[], a: NormArgs): [Tensor, Tensor | null, Tensor | null] {
  const w = a.hasWeight ? inputs[1] : null
  const b = a.hasBias ? inputs[a.hasWeight ? 2 : 1] : null
  return [inputs[0], w, b]
}

/** A tensor of `shape` and `dtype` holding `data` (float64 accumulators rounded once). */
function fromAccumulator(data: Float64Array, shape: number[], dtype: DType): Tensor {
  const t = emptyTensor(shape, dtype)
  t.storage.set(data.subarray(0, t.numel()))
  return t
}

/** [dx, dweight?, dbias?] in input order. */
function gradList(a: NormArgs, dx: Tensor | null, dw: Tensor | null, db: Tensor | null): (Tensor | null)[] {
  return [dx, ...(a.hasWeight ? [dw] : []), ...(a.hasBias ? [db] : [])]
}

/**
 * The gradient with tensor ops (differentiable again), from the live input x:
 *   xhat = (x - mean) rstd,  dx = rstd (g w - mean(g w) - xhat mean(g w xhat)),
 *   dweight = sum g xhat,  dbias = sum g.
 * `fixed` gives (mean, rstd) as constants (batchNorm in eval mode): then dx = g w rstd.
 */
function normGradComposite(ctx: Ctx, g: Tensor, a: NormArgs, x: Tensor, w: Tensor | null, fixed: [Tensor, Tensor] | null): (Tensor | null)[] {
  const { view, statDims, affineView, affineSumDims } = a.layout
  const xv = x.reshape(view), gv = g.reshape(view)
  let xhat: Tensor, rstd: Tensor
  if (fixed) {
    rstd = fixed[1].reshape(affineView).to(x.dtype)
    xhat = xv.sub(fixed[0].reshape(affineView).to(x.dtype)).mul(rstd)
  } else {
    const xc = a.center ? xv.sub(xv.mean(statDims, true)) : xv
    rstd = xc.mul(xc).mean(statDims, true).add(a.eps).rsqrt()
    xhat = xc.mul(rstd)
  }
  const gw = w ? gv.mul(w.reshape(affineView)) : gv
  let dx: Tensor | null = null
  if (ctx.needsGrad[0]) {
    if (fixed) dx = gw.mul(rstd)
    else {
      let inner = gw.sub(xhat.mul(gw.mul(xhat).mean(statDims, true)))
      if (a.center) inner = inner.sub(gw.mean(statDims, true))
      dx = rstd.mul(inner)
    }
    dx = dx.reshape(x.shape)
  }
  const wShape = ctx.inputShapes[1] as number[]
  const dw = a.hasWeight ? gv.mul(xhat).sum(affineSumDims).reshape(wShape) : null
  const db = a.hasBias ? gv.sum(affineSumDims).reshape(ctx.inputShapes[a.hasWeight ? 2 : 1] as number[]) : null
  return gradList(a, dx, dw, db)
}

function checkFloat(op: string, x: unknown): asserts x is Tensor {
  check(x instanceof Tensor, op, () => `input must be a Tensor, got ${typeof x}`)
  check(isFloating(x.dtype), op, () => `input dtype ${x.dtype} is not floating point; cast it first (e.g. x.float())`)
}

function checkEps(op: string, eps: number): void {
  check(typeof eps === 'number' && eps >= 0 && Number.isFinite(eps), op, () => `eps must be a finite number >= 0, got ${eps}`)
}

/** weight or bias: a tensor of exactly `shape` and x's dtype, or absent. */
function checkParam(op: string, name: string, p: Tensor | null | undefined, shape: readonly number[], dtype: DType, what: string): Tensor | null {
  if (p === undefined || p === null) return null
  check(p instanceof Tensor, op, () => `${name} must be a Tensor or null, got ${typeof p}`)
  check(p.ndim === shape.length && p.shape.every((d, i) => d === shape[i]), op, () =>
    `${name} of shape ${fmtShape(p.shape)} does not match ${what} ${fmtShape(shape)}`)
  check(p.dtype === dtype, op, () => `${name} dtype ${p.dtype} does not match input dtype ${dtype}`)
  return p
}

// ---------------------------------------------------------------- row norms (layer, rms, group)

interface RowNormArgs extends NormArgs { dims: RowNormDims }

function rowNormDef(name: string): OpDef<RowNormArgs> {
  return {
    name,
    forward(ctx, inputs, a) {
      const [x, w, b] = unpack(inputs, a)
      const { R, G, Cg } = a.dims
      const y = emptyTensor(x.shape, x.dtype)
      const mean = emptyTensor([R], 'float64'), rstd = emptyTensor([R], 'float64')
      const [wa, ba] = affineArrays(w, b, G * Cg)
      kernels.rowNormForward(y.storage, mean.storage as Float64Array, rstd.storage as Float64Array, dense(x), wa, ba, a.dims, a.eps, a.center)
      ctx.save(x, mean, rstd, ...(w ? [w] : []))
      return y
    },
    backward(ctx, g, a) {
      const [x, mean, rstd, w = null] = ctx.saved
      if (isGradEnabled()) return normGradComposite(ctx, g, a, x, w, null)
      const { G, Cg } = a.dims
      const dx = emptyTensor(x.shape, x.dtype)
      const dw = new Float64Array(G * Cg), db = new Float64Array(G * Cg) // (G * Cg,)
      const [wa] = affineArrays(w, null, G * Cg)
      kernels.rowNormBackward(dx.storage, dw, db, dense(g), dense(x), mean.storage as Float64Array, rstd.storage as Float64Array, wa, a.dims, a.center)
      const wShape = ctx.inputShapes[1] as number[]
      return gradList(a, dx,
        a.hasWeight ? fromAccumulator(dw, wShape, x.dtype) : null,
        a.hasBias ? fromAccumulator(db, ctx.inputShapes[a.hasWeight ? 2 : 1] as number[], x.dtype) : null)
    },
  }
}

function runRowNorm(name: 'layerNorm' | 'rmsNorm' | 'groupNorm', x: Tensor, w: Tensor | null, b: Tensor | null, args: RowNormArgs): Tensor {
  return apply(normOps[name], [x, ...(w ? [w] : []), ...(b ? [b] : [])], { ...args, hasWeight: w !== null, hasBias: b !== null })
}

/** normalizedShape as a list, checked against the trailing dims of x. */
function trailing(op: string, x: Tensor, normalizedShape: number | readonly number[]): number[] {
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? normalizedShape.slice() : null
  check(ns !== null && ns.every((d) => Number.isInteger(d) && d >= 0), op, () => `normalizedShape must be a non-negative integer or a list of them, got ${JSON.stringify(normalizedShape)}`)
  check(ns.length >= 1, op, () => 'normalizedShape must have at least one dim')
  const tail = x.shape.slice(x.ndim - ns.length)
  check(ns.length <= x.ndim && tail.every((d, i) => d === ns[i]), op, () =>
    `normalizedShape ${fmtShape(ns)} does not match the trailing dims of input of shape ${fmtShape(x.shape)} (expected [*, ${ns.join(', ')}])`)
  return ns
}

function rowLayout(x: Tensor, ns: number[]): { layout: NormLayout; dims: RowNormDims } {
  const M = numel(ns)
  const R = numel(x.shape.slice(0, x.ndim - ns.length))
  return { layout: { view: [R, M], statDims: [1], affineView: [M], affineSumDims: [0] }, dims: { R, G: 1, Cg: M, S: 1 } }
}

/**
 * Layer normalisation over the trailing dims:
 *   y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias,
 * with E and the biased Var over the last `normalizedShape.length` dims.
 * Reference: Ba, Kiros & Hinton 2016, https://arxiv.org/abs/1607.06450; PyTorch
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.layer_norm.html
 * @example
 *   const x = randn([2, 5, 8]), w = ones([8]), b = zeros([8])
 *   const y = F.layerNorm(x, [8], w, b) // each row of 8 has mean 0, variance ~1
 */
export function layerNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkFloat('layerNorm', x)
  const ns = trailing('layerNorm', x, normalizedShape)
  checkEps('layerNorm', eps)
  const w = checkParam('layerNorm', 'weight', weight, ns, x.dtype, 'normalizedShape')
  const b = checkParam('layerNorm', 'bias', bias, ns, x.dtype, 'normalizedShape')
  return runRowNorm('layerNorm', x, w, b, { ...rowLayout(x, ns), eps, center: true, hasWeight: false, hasBias: false })
}

/** Machine epsilon of a float dtype: torch.finfo(dtype).eps. */
const machineEps = (dtype: DType): number => (dtype === 'float64' ? Number.EPSILON : 2 ** -23)

/**
 * Root-mean-square normalisation over the trailing dims (PyTorch 2.4 `rms_norm`):
 *   y = x / sqrt(mean(x^2) + eps) * weight,
 * with eps = torch.finfo(x.dtype).eps when not given (2^-23 for float32, 2^-52 for float64).
 * Reference: Zhang & Sennrich 2019, https://arxiv.org/abs/1910.07467; PyTorch
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.rms_norm.html
 * @example
 *   const y = F.rmsNorm(randn([4, 16]), [16], ones([16]))
 *   // y.pow(2).mean(-1) is ~1 in every row
 */
export function rmsNorm(x: Tensor, normalizedShape: number | readonly number[], weight?: Tensor | null, eps?: number | null): Tensor {
  checkFloat('rmsNorm', x)
  const ns = trailing('rmsNorm', x, normalizedShape)
  const e = eps ?? machineEps(x.dtype)
  checkEps('rmsNorm', e)
  const w = checkParam('rmsNorm', 'weight', weight, ns, x.dtype, 'normalizedShape')
  return runRowNorm('rmsNorm', x, w, null, { ...rowLayout(x, ns), eps: e, center: false, hasWeight: false, hasBias: false })
}

/** (N, C, spatial...) checks shared by groupNorm and batchNorm: returns [N, C, S]. */
function channelDims(op: string, x: Tensor): [number, number, number] {
  check(x.ndim >= 2, op, () => `expected input of shape (N, C, *) with at least 2 dims, got ${fmtShape(x.shape)}`)
  return [x.shape[0], x.shape[1], numel(x.shape.slice(2))]
}

/**
 * Group normalisation: the C channels of each sample split into `numGroups` groups, each
 * normalised over its channels and spatial positions, then a per-channel affine:
 *   y = (x - E_group[x]) / sqrt(Var_group[x] + eps) * weight[c] + bias[c].
 * Reference: Wu & He 2018, https://arxiv.org/abs/1803.08494; PyTorch
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.group_norm.html
 * @example
 *   const x = randn([2, 6, 4, 4])
 *   const y = F.groupNorm(x, 3, ones([6]), zeros([6])) // groups of 2 channels x 16 positions
 */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  checkFloat('groupNorm', x)
  const [N, C, S] = channelDims('groupNorm', x)
  check(Number.isInteger(numGroups) && numGroups > 0, 'groupNorm', () => `numGroups must be a positive integer, got ${numGroups}`)
  check(C % numGroups === 0, 'groupNorm', () => `the number of channels C = ${C} (input of shape ${fmtShape(x.shape)}) is not divisible by numGroups = ${numGroups}`)
  checkEps('groupNorm', eps)
  const w = checkParam('groupNorm', 'weight', weight, [C], x.dtype, 'the channel count')
  const b = checkParam('groupNorm', 'bias', bias, [C], x.dtype, 'the channel count')
  const G = numGroups, Cg = C / G
  const layout: NormLayout = { view: [N, G, Cg, S], statDims: [2, 3], affineView: [G, Cg, 1], affineSumDims: [0, 3] }
  return runRowNorm('groupNorm', x, w, b, { layout, dims: { R: N * G, G, Cg, S }, eps, center: true, hasWeight: false, hasBias: false })
}

// ---------------------------------------------------------------- batch norm

interface BatchNormArgs extends NormArgs {
  dims: BatchNormDims
  training: boolean
  momentum: number
  runningMean: Tensor | null
  runningVar: Tensor | null
}

const batchNormOp: OpDef<BatchNormArgs> = {
  name: 'batchNorm',
  forward(ctx, inputs, a) {
    const [x, w, b] = unpack(inputs, a)
    const { N, C, S } = a.dims
    const xd = dense(x)
    const mean = emptyTensor([C], 'float64'), rstd = emptyTensor([C], 'float64')
    const mu = mean.storage as Float64Array, rs = rstd.storage as Float64Array // (C,)
    if (a.training) {
      const variance = new Float64Array(C) // (C,) biased
      batchNormStats(mu, variance, xd, a.dims)
      for (let c = 0; c < C; c++) rs[c] = 1 / Math.sqrt(variance[c] + a.eps)
      updateRunning(a, mean, variance, N * S)
    } else {
      const rm = dense(a.runningMean!), rv = dense(a.runningVar!)
      for (let c = 0; c < C; c++) { mu[c] = rm[c]; rs[c] = 1 / Math.sqrt(rv[c] + a.eps) }
    }
    const y = emptyTensor(x.shape, x.dtype)
    const [wa, ba] = affineArrays(w, b, C)
    batchNormApply(y.storage, xd, mu, rs, wa, ba, a.dims)
    ctx.save(x, mean, rstd, ...(w ? [w] : []))
    return y
  },
  backward(ctx, g, a) {
    const [x, mean, rstd, w = null] = ctx.saved
    if (isGradEnabled()) return normGradComposite(ctx, g, a, x, w, a.training ? null : [mean, rstd])
    const C = a.dims.C
    const dx = emptyTensor(x.shape, x.dtype)
    const dw = new Float64Array(C), db = new Float64Array(C) // (C,)
    const [wa] = affineArrays(w, null, C)
    if (x.numel() > 0) batchNormBackward(dx.storage, dw, db, dense(g), dense(x), mean.storage as Float64Array, rstd.storage as Float64Array, wa, a.dims, a.training)
    return gradList(a, dx,
      a.hasWeight ? fromAccumulator(dw, [C], x.dtype) : null,
      a.hasBias ? fromAccumulator(db, [C], x.dtype) : null)
  },
}

export const normOps = {
  layerNorm: rowNormDef('layerNorm'),
  rmsNorm: rowNormDef('rmsNorm'),
  groupNorm: rowNormDef('groupNorm'),
  batchNorm: batchNormOp,
}

/**
 * running = (1 - momentum) running + momentum batch, with the unbiased variance (M / (M - 1) times
 * the biased one), in place under noGrad: one write (and one version bump) per buffer, computed in
 * float64 and rounded once to the buffer's dtype.
 */
function updateRunning(a: BatchNormArgs, mean: Tensor, biasedVar: Float64Array, M: number): void {
  const { runningMean: rm, runningVar: rv, momentum: m } = a
  if (!rm || !rv || M === 0) return
  const unbiased = emptyTensor([biasedVar.length], 'float64')
  for (let c = 0; c < biasedVar.length; c++) unbiased.storage[c] = (biasedVar[c] * M) / (M - 1)
  noGrad(() => {
    rm.copy_(rm.to('float64').reshape([-1]).mul(1 - m).add(mean.mul(m)).reshape(rm.shape))
    rv.copy_(rv.to('float64').reshape([-1]).mul(1 - m).add(unbiased.mul(m)).reshape(rv.shape))
  })
}

export interface BatchNormOptions {
  /** Normalise with the batch statistics and update the running ones (default false, as in PyTorch). */
  training?: boolean
  /** Weight of the new batch statistics in the running averages (default 0.1). */
  momentum?: number
  /** Added to the variance (default 1e-5). */
  eps?: number
}

/**
 * Batch normalisation of x (N, C, *spatial), per channel:
 *   y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c].
 * Training: mean and the biased var over (N, *spatial) of this batch; runningMean and runningVar,
 * when given, are updated in place (under noGrad, bumping their version) to
 * (1 - momentum) running + momentum batch, with the unbiased batch variance. Eval: the running
 * statistics are used (and required). Works for (N, C), (N, C, L), (N, C, H, W) and beyond.
 * Reference: Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167; PyTorch
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.batch_norm.html
 * @example
 *   const rm = zeros([3]), rv = ones([3])
 *   const y = F.batchNorm(randn([8, 3, 5]), rm, rv, null, null, { training: true }) // rm, rv updated
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null, bias?: Tensor | null, opts: BatchNormOptions = {}): Tensor {
  const op = 'batchNorm'
  checkFloat(op, x)
  const [N, C, S] = channelDims(op, x)
  const training = opts.training ?? false
  const momentum = opts.momentum ?? 0.1
  const eps = opts.eps ?? 1e-5
  checkEps(op, eps)
  check(typeof momentum === 'number' && Number.isFinite(momentum), op, () => `momentum must be a finite number, got ${momentum}`)
  for (const [name, t] of [['runningMean', runningMean], ['runningVar', runningVar]] as const) {
    if (t === null || t === undefined) continue
    check(t instanceof Tensor && isFloating(t.dtype), op, () => `${name} must be a floating point Tensor or null`)
    check(t.numel() === C && t.ndim === 1, op, () => `${name} of shape ${fmtShape(t.shape)} does not match the channel count: expected [${C}] for input of shape ${fmtShape(x.shape)}`)
  }
  const rm = runningMean ?? null, rv = runningVar ?? null
  check((rm === null) === (rv === null), op, () => 'runningMean and runningVar must be given together (or both null)')
  if (!training) check(rm !== null, op, () => 'runningMean and runningVar are required in evaluation mode (training: false)')
  // NOTE: as in PyTorch, exactly one value per channel is an error in training (its unbiased
  // variance is 0/0), while an empty batch gives an empty output and leaves the running stats alone.
  if (training) {
    check(N * S !== 1, op, () => `expected more than 1 value per channel when training, got input of shape ${fmtShape(x.shape)}`)
  }
  const w = checkParam(op, 'weight', weight, [C], x.dtype, 'the channel count')
  const b = checkParam(op, 'bias', bias, [C], x.dtype, 'the channel count')
  const layout: NormLayout = { view: [N, C, S], statDims: [0, 2], affineView: [C, 1], affineSumDims: [0, 2] }
  const args: BatchNormArgs = {
    layout, eps, center: true, hasWeight: w !== null, hasBias: b !== null,
    dims: { N, C, S }, training, momentum, runningMean: rm, runningVar: rv,
  }
  return apply(normOps.batchNorm, [x, ...(w ? [w] : []), ...(b ? [b] : [])], args)
}

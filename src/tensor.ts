/**
 * @file The Tensor: a strided view (shape, strides in elements, offset) over shared storage, plus
 * its autograd state. Views share `Storage`; each in-place write bumps the storage's version so
 * that backward can detect a saved tensor that was changed after it was saved.
 *
 * Methods are thin: each forwards to the function of the same name in `src/ops/` or
 * `src/functional.ts`, where the work and its documentation live.
 */
import { profileState } from './profile-state.ts'
import { AccumulateGrad, isGradEnabled, runBackward, type BackwardOptions, type Node, type TensorHook } from './autograd.ts'
import { TesseraError, check, fmtShape } from './errors.ts'
import { allocate, isFloating, resultType, type DType, type TypedArray } from './dtype.ts'
import { contiguousStrides, isContiguous, normalizeDim, numel, type Shape } from './shape.ts'
import { copyStrided } from './kernels/elementwise.ts'
import { formatTensor } from './format.ts'
import * as ew from './ops/elementwise.ts'
import * as red from './ops/reduce.ts'
import * as vw from './ops/view.ts'
import * as ix from './ops/indexing.ts'
import { matmul } from './ops/matmul.ts'
import { logSoftmax, softmax } from './ops/softmax.ts'
import * as F from './functional.ts'
import * as C from './creation.ts'
import type { Generator } from './rng.ts'
import { meter, trackStorage } from './memory.ts'

type Operand = Tensor | number

/** A flat typed array and its version counter, shared by every view of it. */
export class Storage {
  version = 0
  constructor(readonly data: TypedArray) {
    if (meter.on) trackStorage(data) // the memory meter (src/memory.ts), when enabled
  }
}

export class Tensor {
  readonly shape: number[]
  readonly strides: number[]
  readonly offset: number
  readonly dtype: DType
  /** @internal the shared buffer; use `storage` to read the typed array. */
  readonly _store: Storage
  /** Accumulated gradient of a leaf (or of a non-leaf after `retainGrad()`). */
  grad: Tensor | null = null
  /** The graph node that produced this tensor; null for leaves. */
  gradFn: Node | null = null
  private _requiresGrad = false
  private _accumulator: AccumulateGrad | null = null

  constructor(store: Storage, shape: number[], strides: number[], offset: number, dtype: DType) {
    this._store = store
    this.shape = shape
    this.strides = strides
    this.offset = offset
    this.dtype = dtype
  }

  // ------------------------------------------------------------ layout and metadata

  /** The underlying typed array (shared with views; index it with offset and strides). */
  get storage(): TypedArray { return this._store.data }
  /** Number of in-place writes to this tensor's storage so far. */
  get version(): number { return this._store.version }
  get ndim(): number { return this.shape.length }
  dim(): number { return this.shape.length }
  numel(): number { return numel(this.shape) }
  /** The full shape, or the size of one dim. */
  size(): number[]
  size(dim: number): number
  size(dim?: number): number[] | number {
    return dim === undefined ? this.shape.slice() : this.shape[normalizeDim('size', dim, this.ndim)]
  }
  isContiguous(): boolean { return isContiguous(this.shape, this.strides) }
  /** @internal a view sharing this tensor's storage. */
  asView(shape: number[], strides: number[], offset: number): Tensor {
    return new Tensor(this._store, shape, strides, offset, this.dtype)
  }

  // ------------------------------------------------------------ autograd

  get requiresGrad(): boolean { return this._requiresGrad }
  set requiresGrad(on: boolean) { this.requiresGrad_(on) }

  /** Marks a leaf as needing gradients (float dtypes only). Returns this. */
  requiresGrad_(on = true): this {
    if (this.gradFn !== null) {
      throw new TesseraError('requiresGrad_: can only change requiresGrad of leaf tensors; use detach() to make a new leaf')
    }
    if (on && !isFloating(this.dtype)) {
      throw new TesseraError(`requiresGrad_: only floating point tensors can require gradients, got ${this.dtype}`)
    }
    this._requiresGrad = on
    return this
  }

  /** @internal set by ops on outputs that record a graph. */
  setRequiresGradInternal(): void { this._requiresGrad = true }

  get isLeaf(): boolean { return this.gradFn === null }

  /** @internal this tensor's node in the graph (its grad function or its leaf accumulator). */
  gradNode(): Node | null {
    if (this.gradFn) return this.gradFn
    if (!this._requiresGrad) return null
    return (this._accumulator ??= new AccumulateGrad(this))
  }

  /** Computes gradients of this tensor with respect to the graph leaves, adding them to `.grad`. */
  backward(grad?: Tensor, opts: BackwardOptions = {}): void {
    const node = this.gradNode()
    if (!node) throw new TesseraError('backward: tensor does not require grad and has no grad function')
    let g = grad
    if (g === undefined) {
      if (this.numel() !== 1) {
        throw new TesseraError(`backward: grad can be implicitly created only for a single-element output; got shape ${fmtShape(this.shape)}, pass a gradient`)
      }
      g = C.onesLike(this)
    } else {
      check(g.shape.length === this.shape.length && g.shape.every((d, i) => d === this.shape[i]), 'backward', () =>
        `gradient has shape ${fmtShape(g!.shape)} but the tensor has shape ${fmtShape(this.shape)}`)
    }
    runBackward([node], [g], (a, b) => a.add(b), accumulateLeaf, opts)
  }

  /** Keeps `.grad` for this non-leaf tensor after backward. */
  retainGrad(): this {
    if (this.gradFn) this.gradFn.retained = this
    else if (!this._requiresGrad) throw new TesseraError('retainGrad: tensor does not require grad')
    return this
  }

  /**
   * Calls `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces the
   * gradient. Returns a handle whose `remove()` unregisters it.
   */
  registerHook(hook: TensorHook): { remove: () => void } {
    const node = this.gradNode()
    if (!node) throw new TesseraError('registerHook: cannot register a hook on a tensor that does not require grad')
    node.hooks.push(hook)
    return { remove: () => { const i = node.hooks.indexOf(hook); if (i >= 0) node.hooks.splice(i, 1) } }
  }

  /** A new leaf sharing storage, cut from the graph. */
  detach(): Tensor { return this.asView(this.shape, this.strides, this.offset) }

  // ------------------------------------------------------------ reading out

  /** The value of a one-element tensor as a number. */
  item(): number {
    check(this.numel() === 1, 'item', () => `only one-element tensors can be converted to a number, got shape ${fmtShape(this.shape)}`)
    return this.storage[this.offset]
  }

  /** A contiguous copy of the elements as a typed array of this dtype. */
  data(): TypedArray {
    const out = allocate(this.dtype, this.numel())
    copyStrided(out, 0, contiguousStrides(this.shape), this.storage, this.offset, this.strides, this.shape)
    return out
  }

  /** Nested arrays of numbers (a number for 0-d); bool tensors give booleans. */
  toArray(): unknown {
    const flat = this.data()
    const isBool = this.dtype === 'bool'
    let k = 0
    const build = (d: number): unknown => {
      if (d === this.ndim) { const v = flat[k++]; return isBool ? v !== 0 : v }
      return Array.from({ length: this.shape[d] }, () => build(d + 1))
    }
    return build(0)
  }

  toString(): string { return formatTensor(this) }

  // ------------------------------------------------------------ dtype and copies

  to(dtype: DType): Tensor { return vw.cast(this, dtype) }
  float(): Tensor { return vw.cast(this, 'float32') }
  double(): Tensor { return vw.cast(this, 'float64') }
  int(): Tensor { return vw.cast(this, 'int32') }
  bool(): Tensor { return vw.cast(this, 'bool') }
  clone(): Tensor { return vw.clone(this) }
  contiguous(): Tensor { return vw.contiguous(this) }

  // ------------------------------------------------------------ views

  reshape(shape: readonly number[]): Tensor { return vw.reshape(this, shape) }
  view(shape: readonly number[]): Tensor { return vw.view(this, shape) }
  permute(dims: readonly number[]): Tensor { return vw.permute(this, dims) }
  transpose(dim0: number, dim1: number): Tensor { return vw.transpose(this, dim0, dim1) }
  /** Reverses all dims (the transpose of a matrix). */
  get T(): Tensor { return this.ndim < 2 ? this : this.permute(this.shape.map((_, i) => this.ndim - 1 - i)) }
  /** Swaps the last two dims. */
  get mT(): Tensor {
    check(this.ndim >= 2, 'mT', () => `needs at least 2 dims, got ${fmtShape(this.shape)}`)
    return this.transpose(-2, -1)
  }
  expand(shape: readonly number[]): Tensor { return vw.expand(this, shape) }
  expandAs(other: Tensor): Tensor { return vw.expand(this, other.shape) }
  slice(dim: number, start?: number, end?: number, step?: number): Tensor { return vw.slice(this, dim, start, end, step) }
  narrow(dim: number, start: number, length: number): Tensor { return F.narrow(this, dim, start, length) }
  select(dim: number, index: number): Tensor { return F.select(this, dim, index) }
  squeeze(dim?: number | readonly number[]): Tensor { return F.squeeze(this, dim) }
  unsqueeze(dim: number): Tensor { return F.unsqueeze(this, dim) }
  flatten(startDim = 0, endDim = -1): Tensor { return F.flatten(this, startDim, endDim) }
  unflatten(dim: number, sizes: readonly number[]): Tensor { return F.unflatten(this, dim, sizes) }

  // ------------------------------------------------------------ elementwise

  add(other: Operand, alpha = 1): Tensor { return ew.add(this, other, alpha) }
  sub(other: Operand, alpha = 1): Tensor { return ew.sub(this, other, alpha) }
  mul(other: Operand): Tensor { return ew.mul(this, other) }
  div(other: Operand, opts?: ew.DivOptions): Tensor { return ew.div(this, other, opts) }
  pow(exponent: Operand): Tensor { return ew.pow(this, exponent) }
  maximum(other: Operand): Tensor { return ew.maximum(this, other) }
  minimum(other: Operand): Tensor { return ew.minimum(this, other) }
  neg(): Tensor { return ew.neg(this) }
  exp(): Tensor { return ew.floatUnary('exp', this) }
  log(): Tensor { return ew.floatUnary('log', this) }
  log1p(): Tensor { return ew.floatUnary('log1p', this) }
  expm1(): Tensor { return ew.floatUnary('expm1', this) }
  sqrt(): Tensor { return ew.floatUnary('sqrt', this) }
  rsqrt(): Tensor { return ew.floatUnary('rsqrt', this) }
  reciprocal(): Tensor { return ew.floatUnary('reciprocal', this) }
  square(): Tensor { return ew.mul(this, this) }
  abs(): Tensor { return ew.sameTypeUnary('abs', this) }
  sign(): Tensor { return ew.sameTypeUnary('sign', this) }
  sin(): Tensor { return ew.floatUnary('sin', this) }
  cos(): Tensor { return ew.floatUnary('cos', this) }
  tanh(): Tensor { return ew.floatUnary('tanh', this) }
  sigmoid(): Tensor { return ew.floatUnary('sigmoid', this) }
  erf(): Tensor { return ew.floatUnary('erf', this) }
  relu(): Tensor { return ew.sameTypeUnary('relu', this) }
  leakyRelu(negativeSlope?: number): Tensor { return ew.leakyRelu(this, negativeSlope) }
  elu(alpha?: number): Tensor { return ew.elu(this, alpha) }
  gelu(approximate?: 'none' | 'tanh'): Tensor { return ew.gelu(this, approximate) }
  silu(): Tensor { return ew.floatUnary('silu', this) }
  softplus(beta?: number, threshold?: number): Tensor { return ew.softplus(this, beta, threshold) }
  clamp(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max) }
  eq(other: Operand): Tensor { return ew.compare('eq', this, other) }
  ne(other: Operand): Tensor { return ew.compare('ne', this, other) }
  lt(other: Operand): Tensor { return ew.compare('lt', this, other) }
  le(other: Operand): Tensor { return ew.compare('le', this, other) }
  gt(other: Operand): Tensor { return ew.compare('gt', this, other) }
  ge(other: Operand): Tensor { return ew.compare('ge', this, other) }
  logicalAnd(other: Operand): Tensor { return ew.logicalAnd(this, other) }
  logicalOr(other: Operand): Tensor { return ew.logicalOr(this, other) }
  logicalXor(other: Operand): Tensor { return ew.logicalXor(this, other) }
  logicalNot(): Tensor { return ew.logicalNot(this) }
  isnan(): Tensor { return ew.isnan(this) }
  /** `cond ? this : other`, like `torch.Tensor.where`. */
  where(cond: Tensor, other: Operand): Tensor { return ew.where(cond, this, other) }
  maskedFill(mask: Tensor, value: number): Tensor { return F.maskedFill(this, mask, value) }

  // ------------------------------------------------------------ reductions

  sum(dims?: red.Dims, keepdim = false): Tensor { return red.sum(this, dims, keepdim) }
  mean(dims?: red.Dims, keepdim = false): Tensor { return red.mean(this, dims, keepdim) }
  prod(dims?: red.Dims, keepdim = false): Tensor { return red.prod(this, dims, keepdim) }
  amax(dims?: red.Dims, keepdim = false): Tensor { return red.amax(this, dims, keepdim) }
  amin(dims?: red.Dims, keepdim = false): Tensor { return red.amin(this, dims, keepdim) }
  /** Largest element; with a dim, `{values, indices}` along it (like `torch.max(x, dim)`). */
  max(): Tensor
  max(dim: number, keepdim?: boolean): F.ValuesIndices
  max(dim?: number, keepdim = false): Tensor | F.ValuesIndices { return dim === undefined ? red.amax(this) : F.maxDim(this, dim, keepdim) }
  min(): Tensor
  min(dim: number, keepdim?: boolean): F.ValuesIndices
  min(dim?: number, keepdim = false): Tensor | F.ValuesIndices { return dim === undefined ? red.amin(this) : F.minDim(this, dim, keepdim) }
  argmax(dim?: number, keepdim = false): Tensor { return red.argExtreme('argmax', this, dim, keepdim) }
  argmin(dim?: number, keepdim = false): Tensor { return red.argExtreme('argmin', this, dim, keepdim) }
  var(dims?: red.Dims, opts?: red.VarOptions): Tensor { return red.variance(this, dims, opts) }
  std(dims?: red.Dims, opts?: red.VarOptions): Tensor { return red.variance(this, dims, opts).sqrt() }
  logsumexp(dims?: red.Dims, keepdim = false): Tensor { return red.logsumexp(this, dims, keepdim) }
  cumsum(dim: number): Tensor { return red.cumsum(this, dim) }
  all(dims?: red.Dims, keepdim = false): Tensor { return red.allAny('all', this, dims, keepdim) }
  any(dims?: red.Dims, keepdim = false): Tensor { return red.allAny('any', this, dims, keepdim) }
  norm(p: number = 2, dims?: red.Dims, keepdim = false): Tensor { return F.norm(this, p, dims, keepdim) }

  // ------------------------------------------------------------ linear algebra, softmax, indexing

  matmul(other: Tensor): Tensor { return matmul(this, other) }
  softmax(dim: number): Tensor { return softmax(this, dim) }
  logSoftmax(dim: number): Tensor { return logSoftmax(this, dim) }
  gather(dim: number, index: Tensor): Tensor { return ix.gather(this, dim, index) }
  scatter(dim: number, index: Tensor, src: Operand): Tensor { return ix.scatter(this, dim, index, src) }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor { return ix.scatterAdd(this, dim, index, src) }
  indexSelect(dim: number, index: Tensor): Tensor { return ix.indexSelect(this, dim, index) }
  indexAdd(dim: number, index: Tensor, src: Tensor): Tensor { return ix.indexAdd(this, dim, index, src) }
  split(sizeOrSections: number | readonly number[], dim = 0): Tensor[] { return F.split(this, sizeOrSections, dim) }
  chunk(chunks: number, dim = 0): Tensor[] { return F.chunk(this, chunks, dim) }
  repeat(repeats: readonly number[]): Tensor { return F.repeat(this, repeats) }
  tril(diagonal = 0): Tensor { return F.tril(this, diagonal) }
  triu(diagonal = 0): Tensor { return F.triu(this, diagonal) }
  flip(dims: number | readonly number[]): Tensor { return ix.flip(this, dims) }
  roll(shifts: number | readonly number[], dims: number | readonly number[]): Tensor { return F.roll(this, shifts, dims) }

  // ------------------------------------------------------------ in place (trailing underscore)

  /** @internal writes `value` (same shape, castable dtype) into this tensor's storage. */
  private assign(op: string, value: Tensor): this {
    if (this._requiresGrad && isGradEnabled()) {
      throw new TesseraError(`${op}: in-place operation on a tensor that requires grad; do it inside noGrad(), or use the out-of-place ${op.slice(0, -1)}`)
    }
    check(value.ndim <= this.ndim && value.shape.every((d, i) => d === 1 || d === this.shape[this.ndim - value.ndim + i]), op, () =>
      `result of shape ${fmtShape(value.shape)} cannot be written into a tensor of shape ${fmtShape(this.shape)}`)
    check(resultType(this, value) === this.dtype || value.dtype === this.dtype || isFloating(this.dtype), op, () =>
      `result dtype ${value.dtype} cannot be cast to ${this.dtype} in place`)
    const v = value.expand(this.shape)
    const src = v.dtype === this.dtype ? v : vw.rawCopy(v, this.dtype)
    copyStrided(this.storage, this.offset, this.strides, src.storage, src.offset, src.strides, this.shape)
    this._store.version++
    return this
  }

  add_(other: Operand, alpha = 1): this { return this.assign('add_', ew.add(this, other, alpha)) }
  sub_(other: Operand, alpha = 1): this { return this.assign('sub_', ew.sub(this, other, alpha)) }
  mul_(other: Operand): this { return this.assign('mul_', ew.mul(this, other)) }
  div_(other: Operand): this { return this.assign('div_', ew.div(this, other)) }
  pow_(exponent: Operand): this { return this.assign('pow_', ew.pow(this, exponent)) }
  clamp_(min?: number | null, max?: number | null): this { return this.assign('clamp_', ew.clamp(this, min, max)) }
  copy_(src: Tensor): this { return this.assign('copy_', src) }
  fill_(value: number): this { return this.assign('fill_', scalarTensor(value, this.dtype)) }
  zero_(): this { return this.fill_(0) }
  maskedFill_(mask: Tensor, value: number): this { return this.assign('maskedFill_', F.maskedFill(this, mask, value)) }
  uniform_(low = 0, high = 1, generator?: Generator): this { return this.assign('uniform_', C.rand(this.shape, { generator }).mul(high - low).add(low)) }
  normal_(mean = 0, std = 1, generator?: Generator): this { return this.assign('normal_', C.randn(this.shape, { generator }).mul(std).add(mean)) }
}

/** The graph node an op should link to for input `t`, or null when `t` needs no gradient. */
export function gradNodeOf(t: Tensor): Node | null {
  return t.gradNode()
}

function accumulateLeaf(leaf: AccumulateGrad, grad: Tensor, createGraph: boolean): void {
  const t = leaf.variable
  const g = createGraph ? grad : grad.detach()
  if (t.grad === null) {
    // A fresh copy: the same gradient tensor may reach several leaves, and optimizers write .grad in place.
    t.grad = createGraph ? g.add(0) : vw.rawCopy(g.expand(t.shape))
  } else if (createGraph) {
    t.grad = t.grad.add(g)
  } else {
    t.grad.add_(g)
  }
}

/**
 * A zero-filled contiguous tensor (typed arrays start zeroed). Inside `profile.shapeOnly` it is
 * data-less unless `keepData` (tensors built from explicit values: `tensor`, `arange`, `linspace`,
 * `eye`) or it has one element (cheap, and it keeps cached scalar constants of
 * src/ops/elementwise.ts valid after the shape-only pass).
 */
export function emptyTensor(shape: Shape, dtype: DType, keepData = false): Tensor {
  const s = shape.slice()
  const n = numel(s)
  return new Tensor(new Storage(allocate(dtype, profileState.shapeOnly > 0 && n > 1 && !keepData ? 0 : n)), s, contiguousStrides(s), 0, dtype)
}

/** A 0-d tensor holding `value` (rounded or wrapped to `dtype`). */
export function scalarTensor(value: number, dtype: DType): Tensor {
  const t = emptyTensor([], dtype)
  t.storage[0] = dtype === 'bool' ? (value ? 1 : 0) : value
  return t
}

/**
 * @file Elementwise ops: unary maps, broadcasting binary arithmetic, `where`, and the
 * non-differentiable comparisons and logical ops (which return bool tensors and record nothing).
 *
 * Backward rules are written with tensor ops, so they are differentiable again (createGraph).
 * A JavaScript number operand becomes a 0-d tensor in the computation dtype (see dtype.ts).
 */
import { TesseraError, check } from '../errors.ts'
import { broadcastShapes, broadcastStrides } from '../shape.ts'
import { isFloating, promoteTypes, resultType, toFloating, type DType } from '../dtype.ts'
import { unaryInto, whereInto, type BinaryName, type UnaryName } from '../kernels/elementwise.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor, scalarTensor } from '../tensor.ts'
import { apply, type Ctx, type OpDef } from './op.ts'
import { isGradEnabled } from '../autograd.ts'

export type Operand = Tensor | number

// ---------------------------------------------------------------- unary

interface UnaryArgs { p: number; q: number }
type Saves = 'x' | 'y' | 'none'
type UnaryGrad = (g: Tensor, saved: Tensor, args: UnaryArgs) => Tensor

/** `f32Kernel`, when given, replaces `kernel` for float32 outputs (a faster, float32-accurate variant). */
function unaryDef(name: string, kernel: UnaryName, saves: Saves, grad: UnaryGrad, f32Kernel?: UnaryName): OpDef<UnaryArgs & { dtype: DType }> {
  return {
    name,
    forward(ctx, [x], args) {
      const out = emptyTensor(x.shape, args.dtype)
      kernels.unary(f32Kernel && args.dtype === 'float32' ? f32Kernel : kernel, out.storage, x.storage, x.offset, x.strides, x.shape, args.p, args.q)
      if (saves === 'x') ctx.save(x)
      else if (saves === 'y') ctx.save(out)
      return out
    },
    backward: (ctx, g, args) => [grad(g, ctx.saved[0], args)],
  }
}

const SQRT_2_OVER_PI = 0.7978845608028654
const TWO_OVER_SQRT_PI = 1.1283791670955126
const INV_SQRT_2PI = 0.3989422804014327

/** Where x is on the positive side of a kink: a bool mask. */
const positive = (x: Tensor): Tensor => x.gt(0)

export const unaryOps = {
  neg: unaryDef('neg', 'neg', 'none', (g) => g.neg()),
  exp: unaryDef('exp', 'exp', 'y', (g, y) => g.mul(y)),
  log: unaryDef('log', 'log', 'x', (g, x) => g.div(x)),
  log1p: unaryDef('log1p', 'log1p', 'x', (g, x) => g.div(x.add(1))),
  expm1: unaryDef('expm1', 'expm1', 'y', (g, y) => g.mul(y.add(1))),
  sqrt: unaryDef('sqrt', 'sqrt', 'y', (g, y) => g.div(y.mul(2))),
  rsqrt: unaryDef('rsqrt', 'rsqrt', 'y', (g, y) => g.mul(y.pow(3)).mul(-0.5)),
  reciprocal: unaryDef('reciprocal', 'reciprocal', 'y', (g, y) => g.mul(y.mul(y)).neg()),
  // NOTE: d|x|/dx at 0 is taken as 0 (sign(0)), as in PyTorch.
  abs: unaryDef('abs', 'abs', 'x', (g, x) => g.mul(x.sign())),
  sign: unaryDef('sign', 'sign', 'none', (g) => g.mul(0)),
  sin: unaryDef('sin', 'sin', 'x', (g, x) => g.mul(x.cos())),
  cos: unaryDef('cos', 'cos', 'x', (g, x) => g.mul(x.sin()).neg()),
  tanh: unaryDef('tanh', 'tanh', 'y', (g, y) => g.mul(y.mul(y).neg().add(1))),
  sigmoid: unaryDef('sigmoid', 'sigmoid', 'y', (g, y) => g.mul(y.mul(y.neg().add(1)))),
  // d erf(x)/dx = 2/sqrt(pi) e^{-x^2}
  erf: unaryDef('erf', 'erf', 'x', (g, x) => g.mul(x.mul(x).neg().exp().mul(TWO_OVER_SQRT_PI))),
  // NOTE: relu'(0) = 0, as in PyTorch.
  relu: unaryDef('relu', 'relu', 'x', (g, x) => where(positive(x), g, 0)),
  leakyRelu: unaryDef('leakyRelu', 'leakyRelu', 'x', (g, x, { p }) => where(positive(x), g, g.mul(p))),
  // elu'(x) = 1 for x > 0, alpha e^x = y + alpha otherwise.
  elu: unaryDef('elu', 'elu', 'x', (g, x, { p }) => where(positive(x), g, g.mul(x.exp().mul(p)))),
  // gelu'(x) = Phi(x) + x phi(x). Float32 outputs use the fast erf (src/kernels/fastmath.ts).
  // NOTE: with no graph to record, backward is one fused kernel pass; under createGraph it is the
  // composite below, which is differentiable again. Both compute the same formula.
  gelu: unaryDef('gelu', 'gelu', 'x', (g, x) => {
    if (!isGradEnabled()) return geluGradFused(g, x)
    const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5)
    const pdf = x.mul(x).mul(-0.5).exp().mul(INV_SQRT_2PI)
    return g.mul(cdf.add(x.mul(pdf)))
  }, 'geluF32'),
  // d/dx of x (1 + tanh u)/2 with u = sqrt(2/pi)(x + 0.044715 x^3): (1 + t)/2 + x (1 - t^2) u'/2
  geluTanh: unaryDef('geluTanh', 'geluTanh', 'x', (g, x) => {
    const t = x.add(x.pow(3).mul(0.044715)).mul(SQRT_2_OVER_PI).tanh()
    const du = x.mul(x).mul(3 * 0.044715).add(1).mul(SQRT_2_OVER_PI)
    return g.mul(t.add(1).mul(0.5).add(x.mul(t.mul(t).neg().add(1)).mul(du).mul(0.5)))
  }),
  // silu'(x) = s (1 + x (1 - s)) with s = sigmoid(x)
  silu: unaryDef('silu', 'silu', 'x', (g, x) => {
    const s = x.sigmoid()
    return g.mul(s.mul(x.mul(s.neg().add(1)).add(1)))
  }),
  // softplus'(x) = sigmoid(beta x), and 1 where the op is linear (beta x > threshold)
  softplus: unaryDef('softplus', 'softplus', 'x', (g, x, { p, q }) => {
    const bx = x.mul(p)
    return where(bx.gt(q), g, g.mul(bx.sigmoid()))
  }),
  // NOTE: the gradient passes where min <= x <= max (both ends included), as in PyTorch.
  clamp: unaryDef('clamp', 'clamp', 'x', (g, x, { p, q }) => where(x.ge(p).logicalAnd(x.le(q)), g, 0)),
  // d x^p / dx = p x^{p-1} (0 when p = 0)
  powScalar: unaryDef('powScalar', 'powScalar', 'x', (g, x, { p }) => (p === 0 ? g.mul(0) : g.mul(x.pow(p - 1).mul(p)))),
} satisfies Record<string, OpDef<UnaryArgs & { dtype: DType }>>

/** g * gelu'(x) by the fused kernel (no graph). */
function geluGradFused(g: Tensor, x: Tensor): Tensor {
  const dx = emptyTensor(x.shape, promoteTypes(g.dtype, x.dtype))
  kernels.geluBackward(dx.storage, g.storage, g.offset, g.strides, x.storage, x.offset, x.strides, x.shape)
  return dx
}

type FloatUnary = 'exp' | 'log' | 'log1p' | 'expm1' | 'sqrt' | 'rsqrt' | 'reciprocal' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'erf' | 'gelu' | 'geluTanh' | 'silu'

/** Unary op on real values: integer inputs compute in float32. */
export function floatUnary(name: FloatUnary, x: Tensor): Tensor {
  return apply(unaryOps[name], [x], { p: 0, q: 0, dtype: toFloating(x.dtype) })
}

export function neg(x: Tensor): Tensor {
  check(x.dtype !== 'bool', 'neg', () => 'negation of a bool tensor is not supported; use logicalNot()')
  return apply(unaryOps.neg, [x], { p: 0, q: 0, dtype: x.dtype })
}

/** abs, sign and relu keep the input dtype. */
export function sameTypeUnary(name: 'abs' | 'sign' | 'relu', x: Tensor): Tensor {
  check(x.dtype !== 'bool', name, () => 'not defined for bool tensors')
  return apply(unaryOps[name], [x], { p: 0, q: 0, dtype: x.dtype })
}

export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return apply(unaryOps.leakyRelu, [x], { p: negativeSlope, q: 0, dtype: toFloating(x.dtype) })
}

export function elu(x: Tensor, alpha = 1): Tensor {
  return apply(unaryOps.elu, [x], { p: alpha, q: 0, dtype: toFloating(x.dtype) })
}

/** gelu(x) = x Phi(x); `approximate: 'tanh'` uses the tanh formula. */
export function gelu(x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh') throw new TesseraError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`)
  return floatUnary(approximate === 'tanh' ? 'geluTanh' : 'gelu', x)
}

export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  check(beta !== 0, 'softplus', () => 'beta must be nonzero')
  return apply(unaryOps.softplus, [x], { p: beta, q: threshold, dtype: toFloating(x.dtype) })
}

/** Clamps into [min, max]; either bound may be omitted (null/undefined). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  check(min != null || max != null, 'clamp', () => 'at least one of min and max must be given')
  const lo = min ?? -Infinity
  const hi = max ?? Infinity
  return apply(unaryOps.clamp, [x], { p: lo, q: hi, dtype: resultType(x, ...(min != null ? [min] : []), ...(max != null ? [max] : [])) })
}

// ---------------------------------------------------------------- binary

/** A 0-d tensor holding `v` exactly as the computation dtype sees it (integers widen to int32). */
function scalarIn(v: number, dtype: DType): Tensor {
  const storageType = isFloating(dtype) ? dtype : 'int32'
  // Reuse 0-d constants: `x.mul(0.5)` in a loop should not allocate a tensor per call. They are
  // never handed to callers, so nothing can write to them. (-0 is not cached: Map keys equate it with 0.)
  const cache = SCALARS[storageType]
  let t = cache.get(v)
  if (t === undefined) {
    t = scalarTensor(v, storageType)
    if (Object.is(v, -0)) return t
    if (cache.size >= 1024) cache.clear()
    cache.set(v, t)
  }
  return t
}

const SCALARS: Record<DType, Map<number, Tensor>> = { float32: new Map(), float64: new Map(), int32: new Map(), int8: new Map(), bool: new Map() }

function operands(op: string, a: Operand, b: Operand): [Tensor, Tensor, DType] {
  if (typeof a === 'number' && typeof b === 'number') throw new TesseraError(`${op}: at least one operand must be a tensor`)
  const dtype = resultType(a, b)
  const ta = typeof a === 'number' ? scalarIn(a, dtype) : a
  const tb = typeof b === 'number' ? scalarIn(b, dtype) : b
  if (!(ta instanceof Tensor) || !(tb instanceof Tensor)) throw new TesseraError(`${op}: operands must be tensors or numbers`)
  return [ta, tb, dtype]
}

/** Broadcasting kernel call into a fresh tensor (no graph). */
export function binaryRaw(kernel: BinaryName, a: Tensor, b: Tensor, dtype: DType): Tensor {
  const shape = broadcastShapes(kernel, a.shape, b.shape)
  const out = emptyTensor(shape, dtype)
  kernels.binary(kernel === 'mul' && dtype === 'int32' ? 'imul' : kernel, out.storage, a.storage, a.offset, broadcastStrides(a.shape, a.strides, shape),
    b.storage, b.offset, broadcastStrides(b.shape, b.strides, shape), shape)
  return out
}

type BinaryGrad = (ctx: Ctx, g: Tensor) => (Tensor | null)[]

function binaryDef(name: string, kernel: BinaryName, saves: 'ab' | 'ab+y' | 'none', grad: BinaryGrad): OpDef<{ dtype: DType }> {
  return {
    name,
    forward(ctx, [a, b], { dtype }) {
      const out = binaryRaw(kernel, a, b, dtype)
      if (saves !== 'none') ctx.save(a, b)
      if (saves === 'ab+y') ctx.save(out)
      return out
    },
    backward: grad,
  }
}

const half = (g: Tensor): Tensor => g.mul(0.5)

export const binaryOps = {
  add: binaryDef('add', 'add', 'none', (_c, g) => [g, g]),
  sub: binaryDef('sub', 'sub', 'none', (_c, g) => [g, g.neg()]),
  mul: binaryDef('mul', 'mul', 'ab', ({ saved: [a, b], needsGrad }, g) => [needsGrad[0] ? g.mul(b) : null, needsGrad[1] ? g.mul(a) : null]),
  // d(a/b) = g/b, -g a/b^2
  div: binaryDef('div', 'div', 'ab', ({ saved: [a, b], needsGrad }, g) => [g.div(b), needsGrad[1] ? g.mul(a).div(b.mul(b)).neg() : null]),
  // d a^b: g b a^{b-1}, taken as 0 where b = 0 (a^0 = 1 for every a, even where 0^{-1} is inf);
  // g a^b log a, taken as 0 where a = 0 and b >= 0 (as PyTorch does)
  pow: binaryDef('pow', 'pow', 'ab+y', ({ saved: [a, b, y], needsGrad }, g) => [
    needsGrad[0] ? where(b.eq(0), 0, g.mul(b).mul(a.pow(b.sub(1)))) : null,
    needsGrad[1] ? where(a.eq(0).logicalAnd(b.ge(0)), 0, g.mul(y).mul(a.log())) : null,
  ]),
  // NOTE: at ties the gradient is split evenly between the operands, as in PyTorch.
  maximum: binaryDef('maximum', 'maximum', 'ab', ({ saved: [a, b] }, g) => [
    where(a.gt(b), g, where(a.eq(b), half(g), 0)),
    where(b.gt(a), g, where(a.eq(b), half(g), 0)),
  ]),
  minimum: binaryDef('minimum', 'minimum', 'ab', ({ saved: [a, b] }, g) => [
    where(a.lt(b), g, where(a.eq(b), half(g), 0)),
    where(b.lt(a), g, where(a.eq(b), half(g), 0)),
  ]),
} satisfies Record<string, OpDef<{ dtype: DType }>>

/** a + alpha b, broadcasting. */
export function add(a: Operand, b: Operand, alpha = 1): Tensor {
  const [ta, tb, dtype] = operands('add', a, alpha === 1 ? b : typeof b === 'number' ? b * alpha : mul(b, alpha))
  if (dtype === 'bool') return logicalOr(ta, tb)
  return apply(binaryOps.add, [ta, tb], { dtype })
}

export function sub(a: Operand, b: Operand, alpha = 1): Tensor {
  const [ta, tb, dtype] = operands('sub', a, alpha === 1 ? b : typeof b === 'number' ? b * alpha : mul(b, alpha))
  check(dtype !== 'bool', 'sub', () => 'subtraction of bool tensors is not supported; use logicalXor()')
  return apply(binaryOps.sub, [ta, tb], { dtype })
}

export function mul(a: Operand, b: Operand): Tensor {
  const [ta, tb, dtype] = operands('mul', a, b)
  if (dtype === 'bool') return logicalAnd(ta, tb)
  return apply(binaryOps.mul, [ta, tb], { dtype })
}

export interface DivOptions {
  /** undefined: true division (float result); 'trunc' or 'floor': rounded, integer dtypes kept. */
  roundingMode?: 'trunc' | 'floor'
}

export function div(a: Operand, b: Operand, opts: DivOptions = {}): Tensor {
  const mode = opts.roundingMode
  if (mode === undefined) {
    const [ta, tb, dtype] = operands('div', a, b)
    return apply(binaryOps.div, [ta, tb], { dtype: toFloating(dtype) })
  }
  if (mode !== 'trunc' && mode !== 'floor') throw new TesseraError(`div: roundingMode must be 'trunc' or 'floor', got ${JSON.stringify(mode)}`)
  const [ta, tb, dtype] = operands('div', a, b)
  if (!isFloating(dtype) && binaryRaw('eq', tb, scalarTensor(0, 'int32'), 'bool').any().item()) {
    throw new TesseraError(`div: integer division by zero (roundingMode '${mode}')`)
  }
  // Rounded division has zero gradient almost everywhere; it records no graph.
  return binaryRaw(mode === 'trunc' ? 'divTrunc' : 'divFloor', ta, tb, dtype === 'bool' ? 'int32' : dtype)
}

export function pow(a: Operand, b: Operand): Tensor {
  if (a instanceof Tensor && typeof b === 'number') {
    const dtype = resultType(a, b)
    if (isFloating(dtype)) return apply(unaryOps.powScalar, [a], { p: b, q: 0, dtype })
    check(b >= 0, 'pow', () => `integers to negative integer powers are not allowed (exponent ${b})`)
    // Integer powers wrap modulo 2^32 exactly; ints never require grad, so no graph is recorded.
    const out = emptyTensor(a.shape, dtype)
    unaryInto('powIntScalar', out.storage, a.storage, a.offset, a.strides, a.shape, b)
    return out
  }
  const [ta, tb, dtype] = operands('pow', a, b)
  check(dtype !== 'bool', 'pow', () => 'not defined for bool tensors')
  if (!isFloating(dtype) && binaryRaw('lt', tb, scalarTensor(0, 'int32'), 'bool').any().item()) {
    throw new TesseraError('pow: integers to negative integer powers are not allowed')
  }
  if (!isFloating(dtype)) return binaryRaw('powInt', ta, tb, dtype)
  return apply(binaryOps.pow, [ta, tb], { dtype })
}

export function maximum(a: Operand, b: Operand): Tensor {
  const [ta, tb, dtype] = operands('maximum', a, b)
  return apply(binaryOps.maximum, [ta, tb], { dtype })
}

export function minimum(a: Operand, b: Operand): Tensor {
  const [ta, tb, dtype] = operands('minimum', a, b)
  return apply(binaryOps.minimum, [ta, tb], { dtype })
}

// ---------------------------------------------------------------- where

export const whereOp: OpDef<{ dtype: DType }> = {
  name: 'where',
  forward(ctx, [c, a, b], { dtype }) {
    const shape = broadcastShapes('where', c.shape, a.shape, b.shape)
    const out = emptyTensor(shape, dtype)
    whereInto(out.storage, c.storage, c.offset, broadcastStrides(c.shape, c.strides, shape),
      a.storage, a.offset, broadcastStrides(a.shape, a.strides, shape),
      b.storage, b.offset, broadcastStrides(b.shape, b.strides, shape), shape)
    ctx.save(c)
    return out
  },
  backward: ({ saved: [c], needsGrad }, g) => [null, needsGrad[1] ? where(c, g, 0) : null, needsGrad[2] ? where(c, 0, g) : null],
}

/** cond ? a : b elementwise, broadcasting all three. `cond` must be a bool tensor. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  check(cond instanceof Tensor && cond.dtype === 'bool', 'where', () => `condition must be a bool tensor, got ${cond instanceof Tensor ? cond.dtype : typeof cond}`)
  const [ta, tb, dtype] = operands('where', a, b)
  return apply(whereOp, [cond, ta, tb], { dtype })
}

// ---------------------------------------------------------------- comparisons and logic (no gradient)

export type CompareName = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'

export function compare(name: CompareName, a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands(name, a, b)
  return binaryRaw(name, ta, tb, 'bool')
}

export function logicalAnd(a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands('logicalAnd', a, b)
  return binaryRaw('logicalAnd', ta, tb, 'bool')
}

export function logicalOr(a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands('logicalOr', a, b)
  return binaryRaw('logicalOr', ta, tb, 'bool')
}

export function logicalXor(a: Operand, b: Operand): Tensor {
  const [ta, tb] = operands('logicalXor', a, b)
  return binaryRaw('logicalXor', ta, tb, 'bool')
}

function boolUnary(kernel: 'logicalNot' | 'isnan', x: Tensor): Tensor {
  const out = emptyTensor(x.shape, 'bool')
  unaryInto(kernel, out.storage, x.storage, x.offset, x.strides, x.shape)
  return out
}

export const logicalNot = (x: Tensor): Tensor => boolUnary('logicalNot', x)
export const isnan = (x: Tensor): Tensor => boolUnary('isnan', x)

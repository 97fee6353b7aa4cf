/**
 * @file Making tensors: from nested arrays, typed arrays or numbers, and the factories
 * (zeros, ones, full, arange, linspace, eye, rand, randn, randint, and their *Like forms).
 *
 * Default dtypes: JavaScript numbers give float32 (JavaScript cannot tell 1 from 1.0, so unlike
 * PyTorch integer-looking data is not made int64); booleans give bool; typed arrays keep their
 * type (Uint8Array needs an explicit dtype). `arange` with integer arguments gives int32, as
 * PyTorch's gives int64. Random factories draw from a `Generator` (the default one unless given).
 */
import { TesseraError, check } from './errors.ts'
import { checkDType, dtypeOfArray, type DType, type TypedArray } from './dtype.ts'
import { checkShape, contiguousStrides } from './shape.ts'
import { defaultGenerator, type Generator } from './rng.ts'
import { Storage, Tensor, emptyTensor } from './tensor.ts'

export interface TensorOptions {
  dtype?: DType
  requiresGrad?: boolean
}

export interface RandomOptions extends TensorOptions {
  generator?: Generator
}

export type NestedArray = number | boolean | readonly NestedArray[]

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true)
  return t
}

/** Shape of a nested array, checking that it is rectangular. */
function nestedShape(data: NestedArray): number[] {
  const shape: number[] = []
  let level: NestedArray = data
  while (Array.isArray(level)) {
    shape.push(level.length)
    if (level.length === 0) break
    level = level[0]
  }
  return shape
}

/**
 * A tensor from data: a number, a boolean, a (nested, rectangular) array of them, or a typed array
 * (1-D unless reshaped). The data is copied.
 */
export function tensor(data: NestedArray | TypedArray, opts: TensorOptions = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const given = opts.dtype ?? (data instanceof Uint8Array ? null : dtypeOfArray(data))
    if (given === null) throw new TesseraError("tensor: Uint8Array data is ambiguous; pass {dtype: 'bool'} or another dtype")
    const dtype = checkDType(given, 'tensor')
    const out = emptyTensor([data.length], dtype, true)
    for (let i = 0; i < data.length; i++) out.storage[i] = dtype === 'bool' ? (data[i] ? 1 : 0) : data[i]
    return finish(out, opts)
  }
  const shape = nestedShape(data)
  const flat: (number | boolean)[] = []
  const walk = (x: NestedArray, d: number): void => {
    if (d === shape.length) {
      if (typeof x !== 'number' && typeof x !== 'boolean') throw new TesseraError(`tensor: expected a number or boolean at depth ${d}, got ${Array.isArray(x) ? 'an array (ragged nesting)' : typeof x}`)
      flat.push(x)
      return
    }
    if (!Array.isArray(x) || x.length !== shape[d]) {
      throw new TesseraError(`tensor: ragged nested array: expected length ${shape[d]} at depth ${d}, got ${Array.isArray(x) ? x.length : typeof x}`)
    }
    for (const y of x) walk(y, d + 1)
  }
  walk(data, 0)
  const allBool = flat.length > 0 && flat.every((v) => typeof v === 'boolean')
  const dtype = checkDType(opts.dtype ?? (allBool ? 'bool' : 'float32'), 'tensor')
  const out = emptyTensor(shape, dtype, true)
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]
    out.storage[i] = dtype === 'bool' ? (v ? 1 : 0) : Number(v)
  }
  return finish(out, opts)
}

/** Wraps an existing typed array as a tensor without copying. */
export function fromTypedArray(data: TypedArray, shape: readonly number[], dtype: DType = dtypeOfArray(data)): Tensor {
  const s = checkShape('fromTypedArray', shape)
  check(s.reduce((p, d) => p * d, 1) === data.length, 'fromTypedArray', () => `shape [${s}] needs ${s.reduce((p, d) => p * d, 1)} elements, the array has ${data.length}`)
  check(dtypeOfArray(data) === dtype, 'fromTypedArray', () => `a ${data.constructor.name} cannot back a ${dtype} tensor`)
  return new Tensor(new Storage(data), s, contiguousStrides(s), 0, dtype)
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const dtype = checkDType(opts.dtype ?? 'float32', 'full')
  const out = emptyTensor(checkShape('full', shape), dtype)
  if (value !== 0) out.storage.fill(dtype === 'bool' ? (value ? 1 : 0) : value)
  return finish(out, opts)
}

export const zeros = (shape: readonly number[], opts: TensorOptions = {}): Tensor => full(shape, 0, opts)
export const ones = (shape: readonly number[], opts: TensorOptions = {}): Tensor => full(shape, 1, opts)
export const zerosLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 0, { dtype: t.dtype, ...opts })
export const onesLike = (t: Tensor, opts: TensorOptions = {}): Tensor => full(t.shape, 1, { dtype: t.dtype, ...opts })
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}): Tensor => full(t.shape, value, { dtype: t.dtype, ...opts })

/** Values start, start + step, ... below end (above, for a negative step). `arange(n)` is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end]
  check(step !== 0 && Number.isFinite(step) && Number.isFinite(lo) && Number.isFinite(hi), 'arange', () => `need finite bounds and a nonzero step, got (${lo}, ${hi}, ${step})`)
  const n = Math.max(0, Math.ceil((hi - lo) / step))
  const integral = Number.isInteger(lo) && Number.isInteger(hi) && Number.isInteger(step)
  const dtype = checkDType(opts.dtype ?? (integral ? 'int32' : 'float32'), 'arange')
  const out = emptyTensor([n], dtype, true)
  for (let i = 0; i < n; i++) out.storage[i] = lo + i * step
  return finish(out, opts)
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  check(Number.isInteger(steps) && steps >= 0, 'linspace', () => `steps must be a non-negative integer, got ${steps}`)
  const out = emptyTensor([steps], checkDType(opts.dtype ?? 'float32', 'linspace'), true)
  const step = steps > 1 ? (end - start) / (steps - 1) : 0
  // Fill from both ends, as PyTorch does, so that the last value is exactly `end`.
  const half = Math.floor(steps / 2)
  for (let i = 0; i < steps; i++) out.storage[i] = i < half || steps === 1 ? start + step * i : end - step * (steps - 1 - i)
  return finish(out, opts)
}

/** n x m identity (m defaults to n). */
export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const out = emptyTensor(checkShape('eye', [n, m]), checkDType(opts.dtype ?? 'float32', 'eye'), true)
  for (let i = 0; i < Math.min(n, m); i++) out.storage[i * m + i] = 1
  return finish(out, opts)
}

function randomFloat(op: string, shape: readonly number[], opts: RandomOptions, draw: (g: Generator) => number): Tensor {
  const dtype = checkDType(opts.dtype ?? 'float32', op)
  check(dtype === 'float32' || dtype === 'float64', op, () => `dtype must be float32 or float64, got ${dtype}`)
  const out = emptyTensor(checkShape(op, shape), dtype)
  const g = opts.generator ?? defaultGenerator
  for (let i = 0; i < out.storage.length; i++) out.storage[i] = draw(g)
  return finish(out, opts)
}

/** Uniform on [0, 1). float32 draws use 24 random bits, float64 draws 53. */
export function rand(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return randomFloat('rand', shape, opts, opts.dtype === 'float64' ? (g) => g.nextFloat64() : (g) => g.nextFloat32())
}

/** Standard normal (Box-Muller). */
export function randn(shape: readonly number[], opts: RandomOptions = {}): Tensor {
  return randomFloat('randn', shape, opts, (g) => g.nextNormal())
}

/** Uniform integers in [low, high). int32 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  const out = emptyTensor(checkShape('randint', shape), checkDType(opts.dtype ?? 'int32', 'randint'))
  const g = opts.generator ?? defaultGenerator
  for (let i = 0; i < out.storage.length; i++) out.storage[i] = g.nextInt(low, high)
  return finish(out, opts)
}

export const randLike = (t: Tensor, opts: RandomOptions = {}): Tensor => rand(t.shape, { dtype: t.dtype, ...opts })
export const randnLike = (t: Tensor, opts: RandomOptions = {}): Tensor => randn(t.shape, { dtype: t.dtype, ...opts })

/** An uninitialised-in-spirit tensor; tessera always zero-fills. */
export function empty(shape: readonly number[], opts: TensorOptions = {}): Tensor {
  return zeros(shape, opts)
}


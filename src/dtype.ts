/**
 * @file Data types, their storage arrays and PyTorch-style type promotion.
 *
 * Promotion order: bool < int8 < int32 < float32 < float64. Two tensors promote to the larger.
 * A JavaScript number operand is a "scalar": it never widens a tensor within its category
 * (int8 tensor + 3 stays int8, float32 tensor + 0.5 stays float32), but a fractional number lifts an
 * integer or bool tensor to float32 and an integer lifts a bool tensor to int32, as in PyTorch.
 * Division with `/` (div) is true division: integer inputs give float32. `div(a, b, {roundingMode})`
 * with 'trunc' or 'floor' keeps the integer dtype; integer division by zero throws.
 */
import { TesseraError } from './errors.ts'

export type DType = 'float32' | 'float64' | 'int32' | 'int8' | 'bool'
export type TypedArray = Float32Array | Float64Array | Int32Array | Int8Array | Uint8Array

export const DTYPES: readonly DType[] = ['bool', 'int8', 'int32', 'float32', 'float64']
const RANK: Record<DType, number> = { bool: 0, int8: 1, int32: 2, float32: 3, float64: 4 }

export type ArrayFor<D extends DType> = D extends 'float32' ? Float32Array : D extends 'float64' ? Float64Array
  : D extends 'int32' ? Int32Array : D extends 'int8' ? Int8Array : Uint8Array

/** Allocates zeroed storage of `n` elements for `dtype`. */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(n)
    case 'float64': return new Float64Array(n)
    case 'int32': return new Int32Array(n)
    case 'int8': return new Int8Array(n)
    case 'bool': return new Uint8Array(n)
  }
}

/** The dtype whose storage is `arr` (Uint8Array is bool). */
export function dtypeOfArray(arr: TypedArray): DType {
  if (arr instanceof Float32Array) return 'float32'
  if (arr instanceof Float64Array) return 'float64'
  if (arr instanceof Int32Array) return 'int32'
  if (arr instanceof Int8Array) return 'int8'
  return 'bool'
}

export const isFloating = (d: DType): boolean => d === 'float32' || d === 'float64'
export const isIntegral = (d: DType): boolean => d === 'int32' || d === 'int8'

/** Bytes per element. */
export function itemSize(d: DType): number {
  return d === 'float64' ? 8 : d === 'float32' || d === 'int32' ? 4 : 1
}

/** Result dtype of a binary op on two tensors. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b
}

/** Result dtype when a tensor of dtype `t` meets a JavaScript number `s`. */
export function promoteWithScalar(t: DType, s: number): DType {
  const integral = Number.isInteger(s)
  if (t === 'bool') return integral ? 'int32' : 'float32'
  if (isIntegral(t) && !integral) return 'float32'
  return t
}

/** The floating dtype an op that only makes sense on reals (exp, mean...) computes in. */
export function toFloating(d: DType): DType {
  return isFloating(d) ? d : 'float32'
}

export function checkDType(d: unknown, op: string): DType {
  if (typeof d === 'string' && d in RANK) return d as DType
  throw new TesseraError(`${op}: unknown dtype ${JSON.stringify(d)}; expected one of ${DTYPES.join(', ')}`)
}

/** Anything that takes part in type promotion: a tensor's dtype and rank, or a JavaScript number. */
export type Promotable = { dtype: DType; ndim: number } | number

const category = (d: DType): number => (d === 'bool' ? 0 : isIntegral(d) ? 1 : 2)
const join = (acc: DType | null, d: DType): DType => (acc === null ? d : promoteTypes(acc, d))

/**
 * PyTorch's `result_type`: dimensioned tensors decide; 0-d tensors count only when their category
 * (bool < integer < float) is higher; numbers count only when theirs is higher still, and then
 * give int32 (integer-valued numbers) or float32.
 */
export function resultType(...operands: Promotable[]): DType {
  let dim: DType | null = null
  let zero: DType | null = null
  let num: DType | null = null
  for (const x of operands) {
    if (typeof x === 'number') num = join(num, Number.isInteger(x) ? 'int32' : 'float32')
    else if (x.ndim > 0) dim = join(dim, x.dtype)
    else zero = join(zero, x.dtype)
  }
  let r = dim
  if (zero !== null && (r === null || category(zero) > category(r))) r = zero
  if (num !== null) r = r === null ? num : category(num) > category(r) ? num : r
  return r ?? 'float32'
}

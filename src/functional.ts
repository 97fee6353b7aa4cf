/**
 * @file Composite ops: everything here is written in terms of the primitives in `src/ops/`, so its
 * gradient comes from theirs. Exported as the `F` namespace (with the primitives' functional forms).
 */
import { TesseraError, check, fmtShape } from './errors.ts'
import { normalizeDim, normalizeDims } from './shape.ts'
import { Tensor, scalarTensor } from './tensor.ts'
import { where } from './ops/elementwise.ts'
import { argExtreme, type Dims } from './ops/reduce.ts'
import { cat } from './ops/indexing.ts'
import { slice } from './ops/view.ts'
import { arange, rand } from './creation.ts'
import type { Generator } from './rng.ts'

export interface ValuesIndices { values: Tensor; indices: Tensor }

/** `length` elements of `dim` from `start` (negative start counts from the end); a view. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeDim('narrow', dim, x.ndim)
  const n = x.shape[d]
  const s = start < 0 ? start + n : start
  check(Number.isInteger(s) && Number.isInteger(length) && s >= 0 && length >= 0 && s + length <= n, 'narrow', () =>
    `start ${start} with length ${length} is out of range for dim ${d} of size ${n} (shape ${fmtShape(x.shape)})`)
  return slice(x, d, s, s + length)
}

/** The slice at `index` along `dim`, with that dim removed; a view. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeDim('select', dim, x.ndim)
  const n = x.shape[d]
  check(Number.isInteger(index) && index >= -n && index < n, 'select', () => `index ${index} is out of range for dim ${d} of size ${n}`)
  const i = index < 0 ? index + n : index
  return slice(x, d, i, i + 1).squeeze(d)
}

/** Removes size-1 dims (all of them, or only those listed). */
export function squeeze(x: Tensor, dims?: number | readonly number[]): Tensor {
  const listed = dims === undefined ? null : normalizeDims('squeeze', dims, x.ndim)
  return x.reshape(x.shape.filter((s, i) => s !== 1 || (listed !== null && !listed.includes(i))))
}

/** Inserts a size-1 dim at `dim` (in -(rank+1)..rank). */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeDim('unsqueeze', dim, x.ndim + 1)
  const shape = x.shape.slice()
  shape.splice(d, 0, 1)
  return x.reshape(shape)
}

/** Merges dims startDim..endDim into one. A 0-d tensor becomes shape [1]. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return x.reshape([1])
  const s = normalizeDim('flatten', startDim, x.ndim)
  const e = normalizeDim('flatten', endDim, x.ndim)
  check(s <= e, 'flatten', () => `startDim ${startDim} comes after endDim ${endDim}`)
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1)
  return x.reshape([...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)])
}

/** Splits dim `dim` into `sizes` (one entry may be -1). */
export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  const d = normalizeDim('unflatten', dim, x.ndim)
  const known = sizes.filter((s) => s !== -1).reduce((p, s) => p * s, 1)
  const full = sizes.map((s) => (s === -1 ? x.shape[d] / known : s))
  check(full.every((s) => Number.isInteger(s) && s >= 0) && full.reduce((p, s) => p * s, 1) === x.shape[d], 'unflatten', () =>
    `sizes ${fmtShape(sizes)} do not multiply to dim ${d} of size ${x.shape[d]}`)
  return x.reshape([...x.shape.slice(0, d), ...full, ...x.shape.slice(d + 1)])
}

/** x with `value` wherever the bool `mask` (broadcast) is true; keeps x's dtype. */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, scalarTensor(value, x.dtype), x)
}

function extremeDim(name: 'argmax' | 'argmin', x: Tensor, dim: number, keepdim: boolean): ValuesIndices {
  const idx = argExtreme(name, x, dim, true)
  const values = x.gather(dim, idx)
  return keepdim ? { values, indices: idx } : { values: values.squeeze(dim), indices: idx.squeeze(dim) }
}

/** Max along `dim` with the index of its first occurrence; the gradient flows to that index. */
export const maxDim = (x: Tensor, dim: number, keepdim = false): ValuesIndices => extremeDim('argmax', x, dim, keepdim)
export const minDim = (x: Tensor, dim: number, keepdim = false): ValuesIndices => extremeDim('argmin', x, dim, keepdim)

/**
 * Vector p-norm over `dims` (all by default): (sum |x|^p)^(1/p); p = Infinity is max |x|.
 * NOTE: for p = 2 the gradient at an all-zero input is NaN (0/0); PyTorch returns 0 there.
 */
export function norm(x: Tensor, p = 2, dims?: Dims, keepdim = false): Tensor {
  check(p > 0, 'norm', () => `p must be positive, got ${p}`)
  if (p === Infinity) return x.abs().amax(dims, keepdim)
  if (p === 1) return x.abs().sum(dims, keepdim)
  if (p === 2) return x.mul(x).sum(dims, keepdim).sqrt()
  return x.abs().pow(p).sum(dims, keepdim).pow(1 / p)
}

/** Pieces of `size` along `dim` (the last may be smaller), or pieces of the listed sizes. Views. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeDim('split', dim, x.ndim)
  const n = x.shape[d]
  let sizes: number[]
  if (typeof sizeOrSections === 'number') {
    check(Number.isInteger(sizeOrSections) && sizeOrSections > 0, 'split', () => `split size must be a positive integer, got ${sizeOrSections}`)
    sizes = []
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s))
    if (n === 0) sizes.push(0)
  } else {
    sizes = sizeOrSections.slice()
    check(sizes.reduce((a, b) => a + b, 0) === n, 'split', () => `sizes ${fmtShape(sizes)} do not sum to dim ${d} of size ${n}`)
  }
  let start = 0
  return sizes.map((s) => { const piece = x.narrow(d, start, s); start += s; return piece })
}

/** At most `chunks` equal pieces along `dim` (each ceil(n / chunks) long). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  check(Number.isInteger(chunks) && chunks > 0, 'chunk', () => `chunks must be a positive integer, got ${chunks}`)
  const n = x.shape[normalizeDim('chunk', dim, x.ndim)]
  return split(x, Math.max(1, Math.ceil(n / chunks)), dim)
}

/** Tiles x: `repeats[i]` copies along dim i (repeats may add leading dims). */
export function repeat(x: Tensor, repeats: readonly number[]): Tensor {
  check(repeats.length >= x.ndim && repeats.every((r) => Number.isInteger(r) && r >= 0), 'repeat', () =>
    `repeats ${fmtShape(repeats)} must be non-negative integers, at least one per dim of ${fmtShape(x.shape)}`)
  const shape = [...new Array<number>(repeats.length - x.ndim).fill(1), ...x.shape]
  // (s0, s1, ...) -> (1, s0, 1, s1, ...) -> expand (r0, s0, r1, s1, ...) -> (r0 s0, r1 s1, ...)
  const inter = shape.flatMap((s) => [1, s])
  const target = shape.flatMap((s, i) => [repeats[i], s])
  return x.reshape(inter).expand(target).reshape(shape.map((s, i) => s * repeats[i]))
}

function triangle(op: string, x: Tensor, diagonal: number, lower: boolean): Tensor {
  check(x.ndim >= 2, op, () => `needs at least 2 dims, got ${fmtShape(x.shape)}`)
  const n = x.shape[x.ndim - 2], m = x.shape[x.ndim - 1]
  const offset = arange(m).unsqueeze(0).sub(arange(n).unsqueeze(1)) // (n, m): j - i
  const keep = lower ? offset.le(diagonal) : offset.ge(diagonal)
  return where(keep, x, scalarTensor(0, x.dtype))
}

/** Lower triangle (j - i <= diagonal), zeros above; over the last two dims. */
export const tril = (x: Tensor, diagonal = 0): Tensor => triangle('tril', x, diagonal, true)
/** Upper triangle (j - i >= diagonal), zeros below. */
export const triu = (x: Tensor, diagonal = 0): Tensor => triangle('triu', x, diagonal, false)

/** Rotates elements along dims by `shifts` (wrapping around); without dims, over the flattened tensor. */
export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  if (dims === undefined) {
    check(typeof shifts === 'number', 'roll', () => 'without dims, shifts must be a single number')
    return roll(x.reshape([-1]), shifts, 0).reshape(x.shape)
  }
  const s = typeof shifts === 'number' ? [shifts] : shifts
  const ds = typeof dims === 'number' ? [dims] : dims
  check(s.length === ds.length, 'roll', () => `got ${s.length} shifts for ${ds.length} dims`)
  let out = x
  s.forEach((shift, k) => {
    const d = normalizeDim('roll', ds[k], x.ndim)
    const n = x.shape[d]
    const r = n === 0 ? 0 : ((shift % n) + n) % n
    if (r !== 0) out = cat([out.narrow(d, n - r, r), out.narrow(d, 0, n - r)], d)
  })
  return out
}

/** Joins same-shape tensors along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  check(tensors.length > 0, 'stack', () => 'expected a non-empty list of tensors')
  const shape = tensors[0].shape
  tensors.forEach((t, i) => check(t.ndim === shape.length && t.shape.every((s, j) => s === shape[j]), 'stack', () =>
    `tensor ${i} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)}`))
  const d = normalizeDim('stack', dim, shape.length + 1)
  return cat(tensors.map((t) => t.unsqueeze(d)), d)
}

/** y = x W^T + b, with W of shape (out, in). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  check(weight.ndim === 2, 'linear', () => `weight must be 2-D (out, in), got ${fmtShape(weight.shape)}`)
  const y = x.matmul(weight.T)
  return bias ? y.add(bias) : y
}

export interface DropoutOptions { training?: boolean; generator?: Generator }

/** Zeroes each element with probability p and scales the rest by 1/(1-p); identity when not training. */
export function dropout(x: Tensor, p = 0.5, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new TesseraError(`dropout: p must be in [0, 1], got ${p}`)
  if (opts.training === false || p === 0) return x
  if (p === 1) return x.mul(0)
  const keep = rand(x.shape, { generator: opts.generator }).ge(p)
  return where(keep, x.mul(1 / (1 - p)), scalarTensor(0, x.dtype))
}

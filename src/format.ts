/**
 * @file Printing tensors the way PyTorch does: `tensor([[ 1.5000, -2.0000], ...])`, 4 decimals,
 * scientific notation when magnitudes span too much, integer-valued floats as `1.`, and tensors
 * over 1000 elements summarised with 3 edge items per dim.
 */
import type { Tensor } from './tensor.ts'

const THRESHOLD = 1000
const EDGE = 3

type Formatter = (v: number) => string

function floatFormatter(values: number[]): Formatter {
  const finite = values.filter((v) => Number.isFinite(v))
  const nonzero = finite.map(Math.abs).filter((v) => v > 0)
  if (finite.every((v) => Number.isInteger(v))) {
    return (v) => (Number.isFinite(v) ? `${v}.` : fmtSpecial(v))
  }
  const max = nonzero.length ? Math.max(...nonzero) : 0
  const min = nonzero.length ? Math.min(...nonzero) : 0
  const sci = max / min > 1000 || max > 1e8 || min < 1e-4
  return (v) => (!Number.isFinite(v) ? fmtSpecial(v) : sci ? sciString(v) : v.toFixed(4))
}

const fmtSpecial = (v: number): string => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf')

/** 1.2346e+03, as printf's %.4e does (two-digit exponent). */
function sciString(v: number): string {
  const [mant, exp] = v.toExponential(4).split('e')
  const e = Number(exp)
  return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`
}

export function formatTensor(t: Tensor): string {
  const summarize = t.numel() > THRESHOLD
  const data = t.data()
  const strides = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((p, d) => p * d, 1))
  // Indices shown along each dim (null marks the '...' gap).
  const shown = t.shape.map((n) => (summarize && n > 2 * EDGE ? [...range(0, EDGE), null, ...range(n - EDGE, n)] : range(0, n)))
  const visible: number[] = []
  const collect = (d: number, base: number): void => {
    if (d === t.ndim) { visible.push(data[base]); return }
    for (const i of shown[d]) if (i !== null) collect(d + 1, base + i * strides[d])
  }
  collect(0, 0)
  const fmt: Formatter = t.dtype === 'bool' ? (v) => (v ? 'True' : 'False')
    : t.dtype === 'float32' || t.dtype === 'float64' ? floatFormatter(visible) : (v) => String(v)
  // As in PyTorch, only finite values set the column width; nan and inf may stick out.
  const width = Math.max(1, ...visible.filter((v) => Number.isFinite(v)).map((v) => fmt(v).length))
  const indent = 'tensor('.length
  const render = (d: number, base: number): string => {
    if (d === t.ndim) return fmt(data[base]).padStart(width)
    const gap = d === t.ndim - 1 ? ' ...' : '...' // PyTorch's markers for the last dim and for rows
    const parts = shown[d].map((i) => (i === null ? gap : render(d + 1, base + i * strides[d])))
    if (d === t.ndim - 1) return `[${parts.join(', ')}]`
    const sep = ',' + '\n'.repeat(t.ndim - d - 1) + ' '.repeat(indent + d + 1)
    return `[${parts.join(sep)}]`
  }
  const body = t.ndim === 0 ? fmt(data[0]) : render(0, 0)
  const extras: string[] = []
  if (t.numel() === 0) extras.push(`size=[${t.shape.join(', ')}]`)
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') extras.push(`dtype=${t.dtype}`)
  if (t.gradFn) extras.push(`gradFn=<${t.gradFn.name}>`)
  else if (t.requiresGrad) extras.push('requiresGrad=true')
  return `tensor(${body}${extras.map((e) => ', ' + e).join('')})`
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i)
}

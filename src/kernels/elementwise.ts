/**
 * @file Elementwise kernels: unary maps, binary maps with broadcasting, and `where`.
 *
 * Every op is a row function with its own literal loop (one monomorphic loop per op, no per-element
 * callback), driven by `forEachRow` over any strided layout. Outputs are contiguous and come first.
 * Arithmetic runs in float64 (JavaScript numbers); storing into the output array rounds or wraps
 * to its dtype.
 */
import type { TypedArray } from '../dtype.ts'
import { contiguousStrides, numel, type Shape } from '../shape.ts'
import { flatStride, forEachRow } from './strided.ts'
import { erf, ipow, pow } from './math.ts'
import { normalCdfF32 } from './fastmath.ts'

type Arr = TypedArray
/** out[o + i] = f(x[xi + i*xs]) for i < n; p and q are the op's scalar parameters. */
type UnaryRow = (out: Arr, o: number, x: Arr, xi: number, xs: number, n: number, p: number, q: number) => void

const SQRT_2_OVER_PI = 0.7978845608028654

export const UNARY = {
  neg: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = -x[xi + i * xs] },
  exp: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.exp(x[xi + i * xs]) },
  log: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.log(x[xi + i * xs]) },
  log1p: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.log1p(x[xi + i * xs]) },
  expm1: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.expm1(x[xi + i * xs]) },
  sqrt: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.sqrt(x[xi + i * xs]) },
  rsqrt: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = 1 / Math.sqrt(x[xi + i * xs]) },
  reciprocal: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = 1 / x[xi + i * xs] },
  abs: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.abs(x[xi + i * xs]) },
  // NOTE: sign(NaN) is NaN (as in NumPy; PyTorch returns 0, pytorch/pytorch#41245) and sign(-0) is 0.
  sign: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : NaN } },
  sin: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.sin(x[xi + i * xs]) },
  cos: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.cos(x[xi + i * xs]) },
  tanh: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.tanh(x[xi + i * xs]) },
  erf: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = erf(x[xi + i * xs]) },
  // sigmoid(x) = 1 / (1 + e^{-x}), written so neither branch overflows.
  sigmoid: (out, o, x, xi, xs, n) => {
    for (let i = 0; i < n; i++) {
      const v = x[xi + i * xs]
      if (v >= 0) out[o + i] = 1 / (1 + Math.exp(-v))
      else { const e = Math.exp(v); out[o + i] = e / (1 + e) }
    }
  },
  // NOTE: relu keeps NaN (NaN > 0 is false, so test the other way round).
  relu: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v < 0 ? 0 : v } },
  leakyRelu: (out, o, x, xi, xs, n, p) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v < 0 ? p * v : v } },
  // elu(x) = x for x > 0, alpha (e^x - 1) otherwise.
  elu: (out, o, x, xi, xs, n, p) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v > 0 ? v : p * Math.expm1(v) } },
  // gelu(x) = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2 (Hendrycks & Gimpel 2016, eqn 1).
  gelu: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2)) } },
  // The same for float32 outputs: x Phi(x) with the table-driven Phi of fastmath.ts (relative error < 2.5e-8).
  geluF32: (out, o, x, xi, xs, n) => {
    if (xs === 1) { for (let i = 0; i < n; i++) { const v = x[xi + i]; out[o + i] = v * normalCdfF32(v) } }
    else { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v * normalCdfF32(v) } }
  },
  // tanh approximation: x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2.
  geluTanh: (out, o, x, xi, xs, n) => {
    for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v))) }
  },
  // silu(x) = x sigmoid(x).
  silu: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v / (1 + Math.exp(-v)) } },
  // softplus(x) = log(1 + e^{beta x}) / beta, linear above beta x > threshold (p = beta, q = threshold).
  softplus: (out, o, x, xi, xs, n, p, q) => {
    for (let i = 0; i < n; i++) {
      const bx = p * x[xi + i * xs]
      out[o + i] = bx > q ? x[xi + i * xs] : (Math.max(bx, 0) + Math.log1p(Math.exp(-Math.abs(bx)))) / p
    }
  },
  // clamp to [p, q]; NaN stays NaN.
  clamp: (out, o, x, xi, xs, n, p, q) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v !== v ? v : Math.min(Math.max(v, p), q) } },
  powScalar: (out, o, x, xi, xs, n, p) => { for (let i = 0; i < n; i++) out[o + i] = pow(x[xi + i * xs], p) },
  powIntScalar: (out, o, x, xi, xs, n, p) => { for (let i = 0; i < n; i++) out[o + i] = ipow(x[xi + i * xs], p) },
  // NOTE: logical ops test `!== 0`, not JavaScript truthiness: NaN is true, as in a cast to bool.
  logicalNot: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) out[o + i] = x[xi + i * xs] === 0 ? 1 : 0 },
  isnan: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v !== v ? 1 : 0 } },
  // Cast to bool: any nonzero (and NaN) is true.
  toBool: (out, o, x, xi, xs, n) => { for (let i = 0; i < n; i++) { const v = x[xi + i * xs]; out[o + i] = v === 0 ? 0 : 1 } },
  // Plain copy (also a cast when out has another dtype; float -> int truncates toward zero).
  copy: (out, o, x, xi, xs, n) => {
    if (xs === 1) { for (let i = 0; i < n; i++) out[o + i] = x[xi + i] }
    else { for (let i = 0; i < n; i++) out[o + i] = x[xi + i * xs] }
  },
} satisfies Record<string, UnaryRow>

export type UnaryName = keyof typeof UNARY

/** out (contiguous, numel(shape)) = f(x viewed through (xOff, xStrides, shape)). */
export function unaryInto(name: UnaryName, out: Arr, x: Arr, xOff: number, xStrides: Shape, shape: Shape, p = 0, q = 0): void {
  if (out.length === 0) return // nothing to write: an empty tensor, or a shape-only pass (src/profile.ts)
  const f: UnaryRow = UNARY[name]
  const xs = flatStride(shape, xStrides)
  if (xs >= 0) return f(out, 0, x, xOff, xs, numel(shape), p, q)
  forEachRow(shape, [contiguousStrides(shape), xStrides], [0, xOff], (pos, n, inner) => f(out, pos[0], x, pos[1], inner[1], n, p, q))
}

const copyRow: UnaryRow = UNARY.copy

/** Copies any strided layout into another strided layout of the same shape (casting to out's dtype). */
export function copyStrided(out: Arr, outOff: number, outStrides: Shape, x: Arr, xOff: number, xStrides: Shape, shape: Shape): void {
  if (out.length === 0) return // nothing to write: an empty tensor, or a shape-only pass (src/profile.ts)
  forEachRow(shape, [outStrides, xStrides], [outOff, xOff], (pos, n, inner) => {
    const o = pos[0], os = inner[0], xi = pos[1], xs = inner[1]
    if (os === 1) copyRow(out, o, x, xi, xs, n, 0, 0)
    else for (let i = 0; i < n; i++) out[o + i * os] = x[xi + i * xs]
  })
}

/** out[o + i] = f(a[ai + i*as], b[bi + i*bs]). */
type BinaryRow = (out: Arr, o: number, a: Arr, ai: number, as: number, b: Arr, bi: number, bs: number, n: number) => void

export const BINARY = {
  add: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] + b[bi + i * bs] },
  sub: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] - b[bi + i * bs] },
  mul: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] * b[bi + i * bs] },
  div: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] / b[bi + i * bs] },
  divTrunc: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.trunc(a[ai + i * as] / b[bi + i * bs]) },
  divFloor: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.floor(a[ai + i * as] / b[bi + i * bs]) },
  // int32 products can exceed 2^53, where float64 loses the low bits: multiply modulo 2^32 instead.
  imul: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.imul(a[ai + i * as], b[bi + i * bs]) },
  pow: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = pow(a[ai + i * as], b[bi + i * bs]) },
  powInt: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = ipow(a[ai + i * as], b[bi + i * bs]) },
  // NaN in either operand gives NaN, as torch.maximum/minimum do.
  maximum: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.max(a[ai + i * as], b[bi + i * bs]) },
  minimum: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = Math.min(a[ai + i * as], b[bi + i * bs]) },
  eq: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] === b[bi + i * bs] ? 1 : 0 },
  ne: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] !== b[bi + i * bs] ? 1 : 0 },
  lt: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] < b[bi + i * bs] ? 1 : 0 },
  le: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] <= b[bi + i * bs] ? 1 : 0 },
  gt: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] > b[bi + i * bs] ? 1 : 0 },
  ge: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] >= b[bi + i * bs] ? 1 : 0 },
  logicalAnd: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] !== 0 && b[bi + i * bs] !== 0 ? 1 : 0 },
  logicalOr: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = a[ai + i * as] !== 0 || b[bi + i * bs] !== 0 ? 1 : 0 },
  logicalXor: (out, o, a, ai, as, b, bi, bs, n) => { for (let i = 0; i < n; i++) out[o + i] = (a[ai + i * as] !== 0) !== (b[bi + i * bs] !== 0) ? 1 : 0 },
} satisfies Record<string, BinaryRow>

export type BinaryName = keyof typeof BINARY

/** out (contiguous over `shape`) = f(a, b), each operand given by its offset and (broadcast) strides. */
export function binaryInto(name: BinaryName, out: Arr, a: Arr, aOff: number, aStrides: Shape, b: Arr, bOff: number, bStrides: Shape, shape: Shape): void {
  if (out.length === 0) return // nothing to write: an empty tensor, or a shape-only pass (src/profile.ts)
  const f: BinaryRow = BINARY[name]
  const as = flatStride(shape, aStrides), bs = flatStride(shape, bStrides)
  if (as >= 0 && bs >= 0) return f(out, 0, a, aOff, as, b, bOff, bs, numel(shape))
  forEachRow(shape, [contiguousStrides(shape), aStrides, bStrides], [0, aOff, bOff], (pos, n, inner) =>
    f(out, pos[0], a, pos[1], inner[1], b, pos[2], inner[2], n))
}

/** out = cond ? a : b, all operands broadcast to `shape`. */
export function whereInto(out: Arr, c: Arr, cOff: number, cStrides: Shape, a: Arr, aOff: number, aStrides: Shape, b: Arr, bOff: number, bStrides: Shape, shape: Shape): void {
  if (out.length === 0) return // nothing to write: an empty tensor, or a shape-only pass (src/profile.ts)
  forEachRow(shape, [contiguousStrides(shape), cStrides, aStrides, bStrides], [0, cOff, aOff, bOff], (pos, n, inner) => {
    const o = pos[0], ci = pos[1], cs = inner[1], ai = pos[2], as = inner[2], bi = pos[3], bs = inner[3]
    for (let i = 0; i < n; i++) out[o + i] = c[ci + i * cs] ? a[ai + i * as] : b[bi + i * bs]
  })
}

/**
 * @file The WebAssembly SIMD elementwise kernels: drop-ins for `kernels.unary`, `kernels.binary`
 * and `kernels.geluBackward` (same arguments as `unaryInto`, `binaryInto`, `geluBackward`). The
 * generated module (src/wasm/elementwise-module.ts) runs float32 operands in these layouts:
 *
 *   binary add, sub, mul, div, maximum, minimum, after coalescing the broadcast layout:
 *     both operands contiguous (n,)                   a + b
 *     one a broadcast scalar (all strides 0)          a + s, s + b
 *     row broadcast: full (R, M), other strides (0, 1)        bias add (B, T, D) + (D,)
 *     channel broadcast: full (O, C, S), other (0, 1, 0) or (C, S) with (1, 0)   NCHW * (1, C, 1, 1)
 *   unary relu, exp, sigmoid, tanh, geluF32 and geluBackward on any layout (strided inputs are
 *   gathered into the kernel memory, so a view and its contiguous copy give the same bits).
 *
 * Anything else (float64 or int operands, binary layouts not listed, other ops, fewer elements
 * than the thresholds below) runs the typed-array kernel. Operands are copied into the kernel memory
 * (padded to a multiple of 4 floats), the result is computed in place and copied out.
 *
 * Results: add/sub/mul/div/maximum/minimum and relu are bit-identical to the typed-array kernels
 * (a float64 op on float32 inputs rounded to float32 equals the float32 op: 53 >= 2·24 + 2); the
 * transcendental maps are within a few float32 ulp (bounds in test/wasm/elementwise.test.ts).
 */
import type { TypedArray } from '../dtype.ts'
import { coalesce, contiguousStrides, numel, type Shape } from '../shape.ts'
import { binaryInto, copyStrided, unaryInto, type BinaryName, type UnaryName } from '../kernels/elementwise.ts'
import { geluBackward } from '../kernels/gelu.ts'
import { flatStride } from '../kernels/strided.ts'
import { elementwiseModuleBytes, UNARY_UNROLL, WASM_BINARY_OPS, WASM_UNARY_OPS } from './elementwise-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

/** The module name (also the `.wasm` file the build writes). */
export const WASM_ELEMENTWISE_MODULE = 'elementwise'

/**
 * Below these element counts the copies and the call cost more than the SIMD gains. Measured per
 * call against the typed-array kernels (2-core machine under load, node 20): binary ops and relu
 * lose below 128-256 elements and win 1.6x at 256, 3-10x from 1k; exp, sigmoid and tanh win from
 * 32 (2x) to 7-10x at 64k; geluF32 is at parity up to ~1k (the typed-array geluF32 is already a
 * fast table-driven loop) and 1.4-2x from 2k; geluBackward wins from 128 (1.5-2x).
 * Only the bit-exact ops (binary arithmetic, relu) switch on size: exp, sigmoid, tanh, GELU and its
 * gradient round differently from the typed-array kernels, so they always run here (threshold 0)
 * and a tensor's values never depend on how a batch was split into calls. Small tensors pay the
 * call overhead (about a microsecond).
 * Mutable so tests can lower them to exercise the module on tiny inputs.
 */
export const WASM_ELEMENTWISE_MIN = { binary: 256, relu: 256, exp: 0, sigmoid: 0, tanh: 0, geluF32: 0, geluBackward: 0 }

type Exports = Record<string, (...args: number[]) => void>
let mod: Exports | null = null
const exportsOf = (): Exports => (mod ??= instantiate(compileModule(WASM_ELEMENTWISE_MODULE, () => elementwiseModuleBytes({ min: 16 }))) as Exports)

const pad4 = (n: number): number => (n + 3) & ~3
/** Padding of the unary maps' buffers: whole loop iterations of UNARY_UNROLL vectors. */
const padU = (n: number): number => Math.ceil(n / (4 * UNARY_UNROLL)) * 4 * UNARY_UNROLL

/** Float32 views of the kernel memory (after growing it to `floats` floats). */
function scratch(floats: number): Float32Array {
  return new Float32Array(kernelMemory(floats * 4).buffer, 0, floats)
}

type Pattern =
  | { kind: 'vv' }
  | { kind: 'scalar'; left: boolean }
  | { kind: 'row'; left: boolean; R: number; M: number }
  | { kind: 'chan'; left: boolean; O: number; C: number; S: number }

const same = (s: readonly number[], t: readonly number[]): boolean => s.length === t.length && s.every((v, i) => v === t[i])

/** Which module layout covers (aStrides, bStrides) over `shape`, or null. `left`: the small operand is a. */
function classify(shape: Shape, aStrides: Shape, bStrides: Shape): Pattern | null {
  const c = coalesce(shape, [contiguousStrides(shape), aStrides, bStrides])
  const [os, as, bs] = c.strides
  const d = c.shape
  const aFull = same(as, os), bFull = same(bs, os)
  if (aFull && bFull) return { kind: 'vv' }
  if (!aFull && !bFull) return null
  const left = bFull
  const small = left ? as : bs
  if (small.every((s) => s === 0)) return { kind: 'scalar', left }
  if (d.length === 2 && small[0] === 0 && small[1] === 1) return { kind: 'row', left, R: d[0], M: d[1] }
  if (d.length === 2 && small[0] === 1 && small[1] === 0) return { kind: 'chan', left, O: 1, C: d[0], S: d[1] }
  if (d.length === 3 && small[0] === 0 && small[1] === 1 && small[2] === 0) return { kind: 'chan', left, O: d[0], C: d[1], S: d[2] }
  return null
}

/**
 * kernels.binary on the WASM path: out = a op b over the broadcast layout (see the file comment).
 * Reference: https://webassembly.github.io/spec/core/exec/numerics.html (fmax/fmin NaN and ±0 rules)
 * @example
 *   binaryWasm('add', out, a, 0, [256, 1], bias, 0, [0, 1], [4096, 256]) // bias add
 */
export function binaryWasm(name: BinaryName, out: TypedArray, a: TypedArray, aOff: number, aStrides: Shape, b: TypedArray, bOff: number, bStrides: Shape, shape: Shape): void {
  if (out.length === 0) return // an empty tensor, or a shape-only pass (src/profile.ts)
  const spec = (WASM_BINARY_OPS as Partial<Record<BinaryName, (typeof WASM_BINARY_OPS)[keyof typeof WASM_BINARY_OPS]>>)[name]
  const n = numel(shape)
  const p = spec && n >= WASM_ELEMENTWISE_MIN.binary && out instanceof Float32Array && a instanceof Float32Array && b instanceof Float32Array
    ? classify(shape, aStrides, bStrides) : null
  if (!p || !spec) return binaryInto(name, out, a, aOff, aStrides, b, bOff, bStrides, shape)
  const ex = exportsOf()
  const n4 = pad4(n)
  const [full, fOff, small, sOff] = p.kind !== 'vv' && p.left ? [b, bOff, a, aOff] : [a, aOff, b, bOff]
  const smallLen = p.kind === 'vv' ? n : p.kind === 'row' ? p.M : p.kind === 'chan' ? p.C : 0
  const f = scratch(n4 + pad4(smallLen)) // full (n4,) | small (smallLen,); out in place over full
  f.set(full.subarray(fOff, fOff + n))
  if (smallLen) f.set(small.subarray(sOff, sOff + smallLen), n4)
  const sAt = n4 * 4
  const pre = spec.prefix
  if (p.kind === 'vv') ex[`${pre}_vv`](0, sAt, 0, n4)
  else if (p.kind === 'scalar') {
    if (p.left) ex[`${pre}_sv`](small[sOff], 0, 0, n4)
    else ex[`${pre}_vs`](0, small[sOff], 0, n4)
  } else if (p.kind === 'row') ex[`${pre}_${p.left ? 'rf' : 'fr'}`](0, sAt, 0, p.R, p.M)
  else ex[`${pre}_${p.left ? 'cf' : 'fc'}`](0, sAt, 0, p.O, p.C, p.S)
  out.set(f.subarray(0, n))
}

/**
 * kernels.unary on the WASM path: relu, exp, sigmoid, tanh and geluF32 (x Phi(x)) of a float32 x
 * in any layout; every other op runs `unaryInto`.
 * Reference: https://arxiv.org/abs/1606.08415 (GELU)
 * @example
 *   unaryWasm('geluF32', out, x, 0, [1], [x.length])
 */
export function unaryWasm(name: UnaryName, out: TypedArray, x: TypedArray, xOff: number, xStrides: Shape, shape: Shape, p = 0, q = 0): void {
  if (out.length === 0) return // an empty tensor, or a shape-only pass (src/profile.ts)
  const min = Object.hasOwn(WASM_UNARY_OPS, name) ? WASM_ELEMENTWISE_MIN[name as keyof typeof WASM_UNARY_OPS] : undefined
  const n = numel(shape)
  if (min === undefined || n < min || !(out instanceof Float32Array) || !(x instanceof Float32Array)) {
    return unaryInto(name, out, x, xOff, xStrides, shape, p, q)
  }
  const ex = exportsOf()
  const n4 = padU(n)
  const f = scratch(n4)
  gather(f, 0, x, xOff, xStrides, shape)
  ex[WASM_UNARY_OPS[name as keyof typeof WASM_UNARY_OPS]](0, 0, n4)
  out.set(n === n4 ? f : f.subarray(0, n))
}

/**
 * Copies x, seen through (xOff, xStrides, shape), contiguously into f at `at`. Strided inputs take
 * the same WASM kernel as contiguous ones, so a view and its contiguous() copy give the same bits.
 */
function gather(f: Float32Array, at: number, x: Float32Array, xOff: number, xStrides: Shape, shape: Shape): void {
  const n = numel(shape)
  if (flatStride(shape, xStrides) === 1) f.set(x.subarray(xOff, xOff + n), at)
  else copyStrided(f, at, contiguousStrides(shape), x, xOff, xStrides, shape)
}

/**
 * kernels.geluBackward on the WASM path: dx = g (Phi(x) + x phi(x)) for float32 g, x in any layout;
 * other dtypes run the typed-array `geluBackward`.
 * Reference: https://arxiv.org/abs/1606.08415
 * @example
 *   geluBackwardWasm(dx, g, 0, [1], x, 0, [1], [x.length])
 */
export function geluBackwardWasm(dx: TypedArray, g: TypedArray, gOff: number, gStrides: Shape, x: TypedArray, xOff: number, xStrides: Shape, shape: Shape): void {
  if (dx.length === 0) return // an empty tensor, or a shape-only pass (src/profile.ts)
  const n = numel(shape)
  if (n < WASM_ELEMENTWISE_MIN.geluBackward || !(dx instanceof Float32Array && g instanceof Float32Array && x instanceof Float32Array)) {
    return geluBackward(dx, g, gOff, gStrides, x, xOff, xStrides, shape)
  }
  const ex = exportsOf()
  const n4 = padU(n)
  const f = scratch(2 * n4) // g (n4,) | x (n4,); dx in place over g
  gather(f, 0, g, gOff, gStrides, shape)
  gather(f, n4, x, xOff, xStrides, shape)
  ex.geluBackward(0, n4 * 4, 0, n4)
  dx.set(f.subarray(0, n))
}

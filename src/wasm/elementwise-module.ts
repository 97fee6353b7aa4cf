/**
 * @file Generates the elementwise WebAssembly SIMD module: float32 binary arithmetic over the
 * broadcast patterns the ops produce, and the unary maps / GELU backward, four lanes at a time.
 * Pointers are byte offsets into the kernel memory; `n4` counts are multiples of 4 (8 for the unary maps,
 * which run two vectors per iteration; the wrapper pads its buffers, so these loops have no tail).
 *
 * Binary, for op in add, sub, mul, div, max, min (out may alias an input):
 *   `${op}_vv(a, b, out, n4)`                  out[i] = a[i] op b[i]
 *   `${op}_vs(a, s, out, n4)` / `_sv(s, b, ...)`  a[i] op s  /  s op b[i]   (s an f32 param)
 *   `${op}_fr(F, r, out, R, M)` / `_rf`        out[i, m] = F[i, m] op r[m]  /  r[m] op F[i, m]
 *       (row broadcast: F (R, M) contiguous, r (M,), e.g. bias add (B·T, D) + (D,))
 *   `${op}_fc(F, c, out, O, C, S)` / `_cf`     out[o, k, s] = F[o, k, s] op c[k]  /  c[k] op F[o, k, s]
 *       (channel broadcast: F (O, C, S) contiguous, c (C,), e.g. NCHW (N, C, H·W) * (C,))
 * Row and channel loops have scalar tails (M mod 4, S mod 4).
 * max/min are `f32x4.max/min` (and `f32.max/min`): NaN in either operand gives NaN, as Math.max
 * does; `pmax`/`pmin` (which return an operand when the other is NaN) are not used.
 *
 * Unary `${name}(x, out, n4)` for relu, exp, sigmoid, tanh, gelu (x Phi(x)), and
 * `geluBackward(g, x, out, n4)`: out = g (Phi(x) + x phi(x)). The math is in elementwise-math.ts.
 * relu is `x & ~(x < 0)`: exactly the typed-array `v < 0 ? 0 : v` (−0 and NaN pass through).
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body, type Op, type SimdOp } from './body.ts'
import { VecMath } from './elementwise-math.ts'

const I32 = ValType.I32, F32 = ValType.F32, V128 = ValType.V128

/** The binary ops of the module: tessera kernel name -> module prefix and opcodes. */
export const WASM_BINARY_OPS = {
  add: { prefix: 'add', vec: 'f32x4.add', scalar: 'f32.add' },
  sub: { prefix: 'sub', vec: 'f32x4.sub', scalar: 'f32.sub' },
  mul: { prefix: 'mul', vec: 'f32x4.mul', scalar: 'f32.mul' },
  div: { prefix: 'div', vec: 'f32x4.div', scalar: 'f32.div' },
  maximum: { prefix: 'max', vec: 'f32x4.max', scalar: 'f32.max' },
  minimum: { prefix: 'min', vec: 'f32x4.min', scalar: 'f32.min' },
} as const satisfies Record<string, { prefix: string; vec: SimdOp; scalar: Op }>

/** The unary ops of the module: tessera kernel name -> export name. */
export const WASM_UNARY_OPS = { relu: 'relu', exp: 'exp', sigmoid: 'sigmoid', tanh: 'tanh', geluF32: 'gelu' } as const

type BinSpec = (typeof WASM_BINARY_OPS)[keyof typeof WASM_BINARY_OPS]
const fn = (name: string, params: ValType[], f: Body): FuncDef => ({ name, type: { params, results: [] }, locals: f.locals, body: f.finish() })

/** addr = base + i (both i32 locals), for a v128 load/store. */
const at = (f: Body, base: number, i: number): Body => f.get(base).get(i).op('i32.add')

/** vv, vs and sv: one flat loop over n4 elements (byte offset i). */
function flatBinary(op: BinSpec, kind: 'vv' | 'vs' | 'sv'): FuncDef {
  const f = new Body(4) // (a | s, b | s, out, n4)
  const [A, B, OUT, N] = [0, 1, 2, 3]
  const i = f.local(I32), end = f.local(I32), s = f.local(V128)
  f.get(N).i32(2).op('i32.shl').set(end)
  if (kind === 'vs') f.get(B).simd('f32x4.splat').set(s)
  if (kind === 'sv') f.get(A).simd('f32x4.splat').set(s)
  f.forLoop(i, () => f.i32(0), () => f.get(end), 16, () => {
    at(f, OUT, i)
    if (kind === 'sv') f.get(s)
    else at(f, A, i).vmem('v128.load')
    if (kind === 'vs') f.get(s)
    else at(f, B, i).vmem('v128.load')
    f.simd(op.vec).vmem('v128.store')
  })
  const params = kind === 'vv' ? [I32, I32, I32, I32] : kind === 'vs' ? [I32, F32, I32, I32] : [F32, I32, I32, I32]
  return fn(`${op.prefix}_${kind}`, params, f)
}

/** Row broadcast: out (R, M) = F (R, M) op r (M,), or r op F when `smallLeft`. */
function rowBinary(op: BinSpec, smallLeft: boolean): FuncDef {
  const f = new Body(5) // (F, r, out, R, M)
  const [FULL, SMALL, OUT, R, M] = [0, 1, 2, 3, 4]
  const row = f.local(I32), p = f.local(I32), j = f.local(I32), m4 = f.local(I32), mb = f.local(I32), q = f.local(I32)
  f.get(M).i32(2).op('i32.shl').set(mb) // row bytes
  f.get(M).i32(-4).op('i32.and').i32(2).op('i32.shl').set(m4) // vector part in bytes
  f.i32(0).set(p)
  f.forLoop(row, () => f.i32(0), () => f.get(R), 1, () => {
    f.forLoop(j, () => f.i32(0), () => f.get(m4), 16, () => {
      f.get(p).get(j).op('i32.add').set(q)
      at(f, OUT, q)
      if (smallLeft) at(f, SMALL, j).vmem('v128.load', 0, 2)
      at(f, FULL, q).vmem('v128.load', 0, 2)
      if (!smallLeft) at(f, SMALL, j).vmem('v128.load', 0, 2)
      f.simd(op.vec).vmem('v128.store', 0, 2)
    })
    f.forLoop(j, () => f.get(m4), () => f.get(mb), 4, () => {
      f.get(p).get(j).op('i32.add').set(q)
      at(f, OUT, q)
      if (smallLeft) at(f, SMALL, j).mem('f32.load')
      at(f, FULL, q).mem('f32.load')
      if (!smallLeft) at(f, SMALL, j).mem('f32.load')
      f.op(op.scalar).mem('f32.store')
    })
    f.get(p).get(mb).op('i32.add').set(p)
  })
  return fn(`${op.prefix}_${smallLeft ? 'rf' : 'fr'}`, [I32, I32, I32, I32, I32], f)
}

/** Channel broadcast: out (O, C, S) = F (O, C, S) op c (C,) broadcast over S, or c op F. */
function channelBinary(op: BinSpec, smallLeft: boolean): FuncDef {
  const f = new Body(6) // (F, c, out, O, C, S)
  const [FULL, SMALL, OUT, O, C, S] = [0, 1, 2, 3, 4, 5]
  const o = f.local(I32), k = f.local(I32), p = f.local(I32), j = f.local(I32), s4 = f.local(I32), sb = f.local(I32), q = f.local(I32)
  const cs = f.local(F32), cv = f.local(V128)
  f.get(S).i32(2).op('i32.shl').set(sb)
  f.get(S).i32(-4).op('i32.and').i32(2).op('i32.shl').set(s4)
  f.i32(0).set(p)
  f.forLoop(o, () => f.i32(0), () => f.get(O), 1, () => {
    f.forLoop(k, () => f.i32(0), () => f.get(C), 1, () => {
      f.get(SMALL).get(k).i32(2).op('i32.shl').op('i32.add').mem('f32.load').tee(cs).simd('f32x4.splat').set(cv)
      f.forLoop(j, () => f.i32(0), () => f.get(s4), 16, () => {
        f.get(p).get(j).op('i32.add').set(q)
        at(f, OUT, q)
        if (smallLeft) f.get(cv)
        at(f, FULL, q).vmem('v128.load', 0, 2)
        if (!smallLeft) f.get(cv)
        f.simd(op.vec).vmem('v128.store', 0, 2)
      })
      f.forLoop(j, () => f.get(s4), () => f.get(sb), 4, () => {
        f.get(p).get(j).op('i32.add').set(q)
        at(f, OUT, q)
        if (smallLeft) f.get(cs)
        at(f, FULL, q).mem('f32.load')
        if (!smallLeft) f.get(cs)
        f.op(op.scalar).mem('f32.store')
      })
      f.get(p).get(sb).op('i32.add').set(p)
    })
  })
  return fn(`${op.prefix}_${smallLeft ? 'cf' : 'fc'}`, [I32, I32, I32, I32, I32, I32], f)
}

/** Vectors per unary loop iteration (interleaved: see VecMath); n4 must be a multiple of 4·UNROLL. */
export const UNARY_UNROLL = 2

/** A unary map: out[i..i+8) = body(x[i..i+8)) as two interleaved vectors, over n4 elements. */
function unaryFunction(name: string, body: (m: VecMath, v: number[], out: number[]) => void): FuncDef {
  const f = new Body(3) // (x, out, n4)
  const [X, OUT, N] = [0, 1, 2]
  const i = f.local(I32), end = f.local(I32)
  const m = new VecMath(f, UNARY_UNROLL)
  const v = m.tmp(20), y = m.tmp(21)
  f.get(N).i32(2).op('i32.shl').set(end)
  f.forLoop(i, () => f.i32(0), () => f.get(end), 16 * UNARY_UNROLL, () => {
    m.each((k) => at(f, X, i).vmem('v128.load', 16 * k).set(v[k]))
    body(m, v, y)
    m.each((k) => at(f, OUT, i).get(y[k]).vmem('v128.store', 16 * k))
  })
  return fn(name, [I32, I32, I32], f)
}

/** geluBackward(g, x, out, n4): out = g (Phi(x) + x phi(x)). */
function geluBackwardFunction(): FuncDef {
  const f = new Body(4)
  const [G, X, OUT, N] = [0, 1, 2, 3]
  const i = f.local(I32), end = f.local(I32)
  const m = new VecMath(f, UNARY_UNROLL)
  const v = m.tmp(20), cdf = m.tmp(21), pdf = m.tmp(22)
  f.get(N).i32(2).op('i32.shl').set(end)
  f.forLoop(i, () => f.i32(0), () => f.get(end), 16 * UNARY_UNROLL, () => {
    m.each((k) => at(f, X, i).vmem('v128.load', 16 * k).set(v[k]))
    m.normal(v, cdf, pdf)
    m.each((k) => {
      at(f, OUT, i)
      f.get(v[k]).get(pdf[k]).simd('f32x4.mul').get(cdf[k]).simd('f32x4.add')
      at(f, G, i).vmem('v128.load', 16 * k).simd('f32x4.mul').vmem('v128.store', 16 * k)
    })
  })
  return fn('geluBackward', [I32, I32, I32, I32], f)
}

function unaryFunctions(): FuncDef[] {
  return [
    unaryFunction('relu', (m, v, y) => m.each((k) => m.f.get(v[k]).get(v[k]).f32x4(0).simd('f32x4.lt').simd('v128.andnot').set(y[k]))),
    unaryFunction('exp', (m, v, y) => m.exp(v, y)),
    unaryFunction('sigmoid', (m, v, y) => m.sigmoid(v, y)),
    unaryFunction('tanh', (m, v, y) => m.tanh(v, y)),
    unaryFunction('gelu', (m, v, y) => {
      m.normal(v, y)
      m.each((k) => m.f.get(v[k]).get(y[k]).simd('f32x4.mul').set(y[k]))
    }),
    geluBackwardFunction(),
  ]
}

/** The whole module's bytes, importing `env.memory` with the given limits. */
export function elementwiseModuleBytes(memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  const functions: FuncDef[] = []
  for (const op of Object.values(WASM_BINARY_OPS)) {
    functions.push(flatBinary(op, 'vv'), flatBinary(op, 'vs'), flatBinary(op, 'sv'))
    functions.push(rowBinary(op, false), rowBinary(op, true), channelBinary(op, false), channelBinary(op, true))
  }
  functions.push(...unaryFunctions())
  return encodeModule({ memory, functions })
}

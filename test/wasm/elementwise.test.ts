/**
 * @file The WebAssembly SIMD elementwise kernels (src/wasm/elementwise.ts) against the typed-array
 * kernels they replace, with the size thresholds lowered to 0 so every size runs in WASM.
 *
 * Bounds (ulp(v) = 2^(floor(log2|v|) − 23), 2^-149 below 2^-126; `ref` is the typed-array kernel's
 * float32 output):
 * - add, sub, mul, div, maximum, minimum, relu: bit-identical (Object.is), NaN positions equal.
 *   A float64 op on float32 inputs rounded once to float32 equals the float32 op (53 >= 2·24 + 2),
 *   and f32x4.max/min follow Math.max/min on NaN and on ±0 (max(−0, +0) = +0, min = −0).
 * - exp: 2 ulp (the f32 Cody-Waite reduction and degree-7 Horner: 1.2 ulp from exact in a dense
 *   sweep of [−110, 95], plus the reference's 0.5 ulp rounding); sigmoid 3 ulp (exp, 1 + e, the
 *   division and e·t: 2.5 ulp measured); tanh 3 ulp (series below 1/2, (1 − e)/(1 + e) above, where
 *   e <= e^-1 amplifies exp's error by e/(1 − e) < 0.6: 2.0 ulp measured).
 * - geluF32: 8 ulp + 64 · 2^-149 |x| (the second term for x < −13, where Phi itself is subnormal
 *   and carries a few 2^-149 of absolute error, times |x|). In the
 *   tail Phi = t e^{−uh²/2} e^{d + P(t)} / 2 rounds twice in exp (1.2 ulp each), once each in t, P's
 *   Horner sum (|P| up to 1.4, absolute error ~2e-7 = 3 ulp of the result) and the three products:
 *   6.7 ulp measured against the exact value, plus the reference's 1 ulp.
 * - geluBackward: 16 · 2^-24 |g| (|Phi| + |x phi|) + 1e-42 |g|, the form of the typed-array
 *   kernel's own contract (the factor Phi + x phi vanishes at x = −0.7518, so relative error is
 *   meaningless there): 12.1 measured against the exact value.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { binaryInto, unaryInto, type BinaryName } from '../../src/kernels/elementwise.ts'
import { geluBackward } from '../../src/kernels/gelu.ts'
import { normalCdfF32 } from '../../src/kernels/fastmath.ts'
import { normalPdf } from '../../src/kernels/math.ts'
import { binaryWasm, geluBackwardWasm, unaryWasm, WASM_ELEMENTWISE_MIN } from '../../src/wasm/elementwise.ts'
import { elementwiseModuleBytes } from '../../src/wasm/elementwise-module.ts'
import { hasModule, validates, wasmFeatures } from '../../src/wasm/runtime.ts'
import { contiguousStrides, numel } from '../../src/shape.ts'
import { Generator } from '../../src/rng.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule('elementwise')
const g = new Generator(41)
// Thresholds drop to 0 only while this file's tests run (the runner imports every file first).
const saved = { ...WASM_ELEMENTWISE_MIN }
test.before(() => { for (const k of Object.keys(WASM_ELEMENTWISE_MIN) as (keyof typeof WASM_ELEMENTWISE_MIN)[]) WASM_ELEMENTWISE_MIN[k] = 0 })
test.after(() => { Object.assign(WASM_ELEMENTWISE_MIN, saved) })

const uniform = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextFloat64())
const ulp = (v: number): number => { const a = Math.abs(v); return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23) }
const BINARY: BinaryName[] = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum']
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 3.5, -2.25, 100, -100]

/** binaryWasm equals binaryInto bit for bit on the given layout (a, b are storage; out is contiguous). */
function checkBinary(name: BinaryName, a: Float32Array, aOff: number, aStrides: number[], b: Float32Array, bOff: number, bStrides: number[], shape: number[], label: string): void {
  const n = numel(shape)
  const w = new Float32Array(n).fill(NaN), r = new Float32Array(n)
  binaryWasm(name, w, a, aOff, aStrides, b, bOff, bStrides, shape)
  binaryInto(name, r, a, aOff, aStrides, b, bOff, bStrides, shape)
  for (let i = 0; i < n; i++) assert.ok(Object.is(w[i], r[i]), `${name} ${label} [${i}]: ${w[i]} vs ${r[i]}`)
}

test('the module validates', () => {
  if (!canRun()) return
  assert.ok(validates(elementwiseModuleBytes({ min: 16 })))
})

test('binary ops, both contiguous, odd sizes, with offsets: bit-identical', () => {
  if (!canRun()) return
  for (const n of [1, 3, 5, 17, 1023]) {
    const a = uniform(n + 2, -4, 4), b = uniform(n + 1, 0.5, 3)
    for (const name of BINARY) checkBinary(name, a, 2, [1], b, 1, [1], [n], `n=${n}`)
  }
})

test('binary ops with a scalar operand on either side (strides all 0)', () => {
  if (!canRun()) return
  for (const n of [1, 5, 1023]) {
    const a = uniform(n, -4, 4), s = Float32Array.of(7, -1.75)
    for (const name of BINARY) {
      checkBinary(name, a, 0, [n > 1 ? 1 : 0], s, 1, [0], [n], `x op s n=${n}`)
      checkBinary(name, s, 1, [0], a, 0, [1], [n], `s op x n=${n}`)
    }
  }
})

test('row broadcast (B, T, D) op (D,) on either side, D around the 4-lane tail', () => {
  if (!canRun()) return
  for (const D of [1, 3, 4, 5, 17]) {
    const shape = [3, 5, D], full = uniform(numel(shape), -4, 4), row = uniform(D + 1, 0.5, 3)
    for (const name of BINARY) {
      checkBinary(name, full, 0, contiguousStrides(shape), row, 1, [0, 0, 1], shape, `full op row D=${D}`)
      checkBinary(name, row, 1, [0, 0, 1], full, 0, contiguousStrides(shape), shape, `row op full D=${D}`)
    }
  }
})

test('channel broadcast NCHW op (1, C, 1, 1) and (C, 1, 1), N = 1 included, H·W around the tail', () => {
  if (!canRun()) return
  for (const [N, C, H, W] of [[2, 3, 4, 4], [3, 5, 1, 3], [1, 4, 5, 5], [2, 7, 3, 3], [4, 2, 1, 1]]) {
    const shape = [N, C, H, W], full = uniform(numel(shape), -4, 4), ch = uniform(C, 0.5, 3)
    for (const name of BINARY) {
      checkBinary(name, full, 0, contiguousStrides(shape), ch, 0, [0, 1, 0, 0], shape, `full op ch ${shape}`)
      checkBinary(name, ch, 0, [0, 1, 0, 0], full, 0, contiguousStrides(shape), shape, `ch op full ${shape}`)
    }
  }
})

test('binary NaN, ±Inf, ±0 in both operands: maximum/minimum propagate NaN like Math.max/min', () => {
  if (!canRun()) return
  const k = SPECIALS.length
  const a = Float32Array.from({ length: k * k }, (_, i) => SPECIALS[Math.floor(i / k)])
  const b = Float32Array.from({ length: k * k }, (_, i) => SPECIALS[i % k])
  for (const name of BINARY) checkBinary(name, a, 0, [1], b, 0, [1], [k * k], 'specials')
  const w = new Float32Array(4)
  binaryWasm('maximum', w, Float32Array.of(NaN, 1, -0, 0), 0, [1], Float32Array.of(1, NaN, 0, -0), 0, [1], [4])
  assert.ok(Number.isNaN(w[0]) && Number.isNaN(w[1]) && Object.is(w[2], 0) && Object.is(w[3], 0))
  binaryWasm('minimum', w, Float32Array.of(NaN, 1, -0, 0), 0, [1], Float32Array.of(1, NaN, 0, -0), 0, [1], [4])
  assert.ok(Number.isNaN(w[0]) && Number.isNaN(w[1]) && Object.is(w[2], -0) && Object.is(w[3], -0))
})

test('strided and uncovered layouts fall back and still match', () => {
  if (!canRun()) return
  const full = uniform(6 * 10, -4, 4), other = uniform(60, 0.5, 3)
  for (const name of BINARY) {
    checkBinary(name, full, 0, [1, 6], other, 0, [10, 1], [6, 10], 'transposed a') // (6, 10) view of a (10, 6)
    checkBinary(name, full, 1, [20, 2], other, 0, [0, 1], [3, 10], 'strided a, row b')
    checkBinary(name, full, 0, [10, 1], other, 0, [1, 0], [6, 10], 'column broadcast b')
  }
})

test('float64 and int32 binary operands use the typed-array kernel exactly', () => {
  const a = Float64Array.from({ length: 37 }, () => g.nextFloat64() * 8 - 4), b = Float64Array.from({ length: 37 }, () => g.nextFloat64() + 0.5)
  for (const name of BINARY) {
    const w = new Float64Array(37), r = new Float64Array(37)
    binaryWasm(name, w, a, 0, [1], b, 0, [1], [37]); binaryInto(name, r, a, 0, [1], b, 0, [1], [37])
    assert.equal([...w], [...r])
  }
  const ia = Int32Array.from({ length: 37 }, (_, i) => i * 7 - 100), ib = Int32Array.from({ length: 37 }, (_, i) => i + 1)
  for (const name of ['add', 'sub', 'imul', 'maximum', 'divTrunc'] as BinaryName[]) {
    const w = new Int32Array(37), r = new Int32Array(37)
    binaryWasm(name, w, ia, 0, [1], ib, 0, [1], [37]); binaryInto(name, r, ia, 0, [1], ib, 0, [1], [37])
    assert.equal([...w], [...r])
  }
  // a float32 output over a float64 operand (mixed storage) also falls back
  const w = new Float32Array(37), r = new Float32Array(37), a32 = Float32Array.from(a)
  binaryWasm('add', w, a32, 0, [1], b, 0, [1], [37]); binaryInto('add', r, a32, 0, [1], b, 0, [1], [37])
  assert.equal([...w], [...r])
})

const UNARY_BOUND = { relu: 0, exp: 2, sigmoid: 3, tanh: 3, geluF32: 8 } as const
type UName = keyof typeof UNARY_BOUND

function checkUnary(name: UName, x: Float32Array, label: string): void {
  const n = x.length
  const w = new Float32Array(n).fill(NaN), r = new Float32Array(n)
  unaryWasm(name, w, x, 0, [1], [n])
  unaryInto(name, r, x, 0, [1], [n])
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(r[i]) || !Number.isFinite(r[i]) || UNARY_BOUND[name] === 0) { assert.ok(Object.is(w[i], r[i]), `${name} ${label} x=${x[i]}: ${w[i]} vs ${r[i]}`); continue }
    const bound = UNARY_BOUND[name] * ulp(r[i]) + (name === 'geluF32' ? 64 * 2 ** -149 * Math.abs(x[i]) : 0)
    assert.ok(Math.abs(w[i] - r[i]) <= bound, `${name} ${label} x=${x[i]}: ${w[i]} vs ${r[i]} (bound ${bound})`)
  }
}

test('unary relu, exp, sigmoid, tanh, geluF32 on odd sizes and wide ranges', () => {
  if (!canRun()) return
  for (const name of Object.keys(UNARY_BOUND) as UName[]) {
    for (const n of [1, 3, 5, 17, 1023]) checkUnary(name, uniform(n, -6, 6), `n=${n}`)
    checkUnary(name, uniform(4001, name === 'exp' ? -105 : -40, name === 'exp' ? 89 : 40), 'wide')
    checkUnary(name, Float32Array.from({ length: 301 }, (_, i) => (i % 2 ? -1 : 1) * Math.exp(-60 + 0.2 * i)), 'tiny to large |x|')
  }
})

test('unary NaN, ±Inf, ±0 and subnormal inputs: same values as the typed-array kernel (relu(−0) = −0)', () => {
  if (!canRun()) return
  const x = Float32Array.from(SPECIALS)
  for (const name of Object.keys(UNARY_BOUND) as UName[]) checkUnary(name, x, 'specials')
  const run = (name: UName): number[] => { const w = new Float32Array(x.length); unaryWasm(name, w, x, 0, [1], [x.length]); return [...w] }
  const relu = run('relu'), tanh = run('tanh'), gelu = run('geluF32')
  assert.ok(Object.is(relu[4], -0) && Number.isNaN(relu[0]) && relu[2] === 0)
  assert.ok(Object.is(tanh[4], -0) && tanh[1] === 1 && tanh[2] === -1)
  assert.ok(gelu[1] === Infinity && Number.isNaN(gelu[2]) && Object.is(gelu[4], -0)) // −∞ · Phi(−∞) = −∞ · 0 = NaN, as in the JS kernel
})

test('strided x runs the same WASM kernel as its contiguous copy; other ops and float64 use the typed-array kernel exactly', () => {
  if (!canRun()) return
  const base = uniform(2 * 1023, -6, 6)
  for (const name of ['exp', 'sigmoid', 'tanh', 'geluF32'] as const) {
    // contiguous: the WASM result differs from the JS one somewhere (a different algorithm)...
    const x = base.subarray(0, 1023), w0 = new Float32Array(1023), r0 = new Float32Array(1023)
    unaryWasm(name, w0, x, 0, [1], [1023]); unaryInto(name, r0, x, 0, [1], [1023])
    assert.ok(w0.some((v, i) => v !== r0[i]), `${name}: WASM path not taken`)
    // ...strided (every other element): gathered, then the same kernel: the bits of its contiguous copy
    const w = new Float32Array(1023), wc = new Float32Array(1023)
    const xc = Float32Array.from({ length: 1023 }, (_, i) => base[1 + 2 * i])
    unaryWasm(name, w, base, 1, [2], [1023]); unaryWasm(name, wc, xc, 0, [1], [1023])
    assert.equal([...w], [...wc])
  }
  for (const name of ['sqrt', 'log', 'silu', 'copy'] as const) {
    const w = new Float32Array(17), r = new Float32Array(17), x = uniform(17, 0.1, 4)
    unaryWasm(name, w, x, 0, [1], [17]); unaryInto(name, r, x, 0, [1], [17])
    assert.equal([...w], [...r])
  }
  const x64 = Float64Array.from(base.subarray(0, 33)), w64 = new Float64Array(33), r64 = new Float64Array(33)
  unaryWasm('exp', w64, x64, 0, [1], [33]); unaryInto('exp', r64, x64, 0, [1], [33])
  assert.equal([...w64], [...r64])
  const xi = Int32Array.from({ length: 9 }, (_, i) => i - 4), wi = new Int32Array(9), ri = new Int32Array(9)
  unaryWasm('relu', wi, xi, 0, [1], [9]); unaryInto('relu', ri, xi, 0, [1], [9])
  assert.equal([...wi], [...ri])
})

function checkGeluBackward(x: Float32Array, gr: Float32Array, label: string): void {
  const n = x.length
  const w = new Float32Array(n).fill(NaN), r = new Float32Array(n)
  geluBackwardWasm(w, gr, 0, [1], x, 0, [1], [n])
  geluBackward(r, gr, 0, [1], x, 0, [1], [n])
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(r[i])) { assert.ok(Object.is(w[i], r[i]), `geluBackward ${label} x=${x[i]}: ${w[i]} vs ${r[i]}`); continue }
    const v = x[i], scale = Math.abs(gr[i]) * (normalCdfF32(v) + Math.abs(v) * normalPdf(v))
    const bound = 16 * 2 ** -24 * scale + 1e-42 * Math.abs(gr[i])
    assert.ok(Math.abs(w[i] - r[i]) <= bound, `geluBackward ${label} x=${v}: ${w[i]} vs ${r[i]} (bound ${bound})`)
  }
}

test('geluBackward: odd sizes, wide range, zero of gelu\' at −0.7518, specials', () => {
  if (!canRun()) return
  for (const n of [1, 3, 5, 17, 1023]) checkGeluBackward(uniform(n, -6, 6), uniform(n, -2, 2), `n=${n}`)
  checkGeluBackward(uniform(4001, -20, 20), uniform(4001, -2, 2), 'wide')
  checkGeluBackward(uniform(1001, -0.76, -0.74), uniform(1001, 0.5, 2), 'near the zero')
  const x = Float32Array.from(SPECIALS)
  checkGeluBackward(x, new Float32Array(x.length).fill(1.5), 'specials')
})

test('geluBackward: strided or broadcast operands give the bits of their contiguous copies; float64 falls back exactly', () => {
  if (!canRun()) return
  const x = uniform(40, -3, 3), gg = uniform(40, -1, 1)
  const w = new Float32Array(20), wc = new Float32Array(20)
  const pick = (a: Float32Array, off: number, step: number): Float32Array => Float32Array.from({ length: 20 }, (_, i) => a[off + step * i])
  geluBackwardWasm(w, gg, 0, [2], x, 1, [2], [20]); geluBackwardWasm(wc, pick(gg, 0, 2), 0, [1], pick(x, 1, 2), 0, [1], [20])
  assert.equal([...w], [...wc])
  geluBackwardWasm(w, gg, 3, [0], x, 0, [1], [20]); geluBackwardWasm(wc, pick(gg, 3, 0), 0, [1], pick(x, 0, 1), 0, [1], [20])
  assert.equal([...w], [...wc])
  checkGeluBackward(pick(x, 1, 2), pick(gg, 0, 2), 'strided copy')
  const x64 = Float64Array.from(x), g64 = Float64Array.from(gg), w64 = new Float64Array(40), r64 = new Float64Array(40)
  geluBackwardWasm(w64, g64, 0, [1], x64, 0, [1], [40]); geluBackward(r64, g64, 0, [1], x64, 0, [1], [40])
  assert.equal([...w64], [...r64])
})

test.run()

/**
 * @file The float32 fast paths against their oracles: `expF32` against `Math.exp` (ulp distance
 * after the float32 store, over a dense sweep, every float32 near the overflow, subnormal and
 * underflow thresholds, random bit patterns and the special values); `normalCdfF32` and `erfF32`
 * against the exact erf (and a relative-accurate erfc for the far tail); the tuned softmax and
 * GELU kernels against their Refs (NaN-prefilled outputs, odd sizes, strided and broadcast
 * operands); and the op-level GELU backward, fused against composite.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, Tensor, enableGrad, noGrad, randn, tensor } from '../../src/index.ts'
import { erfF32, expF32, normalCdfF32 } from '../../src/kernels/fastmath.ts'
import { getBackend } from '../../src/backend.ts'
import { erf } from '../../src/kernels/math.ts'
import { softmaxInto, softmaxRef } from '../../src/kernels/softmax.ts'
import { geluBackward, geluBackwardRef } from '../../src/kernels/gelu.ts'
import { UNARY } from '../../src/kernels/elementwise.ts'
import { contiguousStrides } from '../../src/shape.ts'
import { assertClose } from '../helpers.ts'

// ---------------------------------------------------------------- helpers

const f32 = new Float32Array(1)
const i32 = new Int32Array(f32.buffer)
/** The float32 with these bits. */
const fromBits = (b: number): number => { i32[0] = b; return f32[0] }
const bitsOf = (v: number): number => { f32[0] = v; return i32[0] }

/** Distance in float32 ulps between two non-negative float32 values (Infinity counts as the next one after max). */
function ulps(a: number, b: number): number {
  return Math.abs(bitsOf(a) - bitsOf(b))
}

/**
 * erfc(a) with full relative accuracy: 1 - erf(a) below 2 (erfc >= 0.0047 there, so erf's 1e-15
 * absolute error stays below 2e-13 relative), the Laplace continued fraction from 2 on (converged
 * to the last bit at a = 2 with 100 terms; 400 are used).
 */
function erfcRef(a: number): number {
  if (a < 2) return 1 - erf(a)
  let k = a
  for (let n = 400; n >= 1; n--) k = a + n / 2 / k
  return Math.exp(-a * a) / Math.sqrt(Math.PI) / k
}
/** Phi(x), relative-accurate for every x (the erf in math.ts cancels in 1 + erf for x < -6). */
const cdfRef = (x: number): number => (x < 0 ? 0.5 * erfcRef(-x * Math.SQRT1_2) : 1 - 0.5 * erfcRef(x * Math.SQRT1_2))

// ---------------------------------------------------------------- exp

function expUlps(x: number): number {
  const want = Math.fround(Math.exp(x))
  const got = Math.fround(expF32(x))
  return ulps(got, want)
}

test('expF32: within 1 float32 ulp of Math.exp on a dense sweep of [-105, 90], and 4e-11 relative before the store', () => {
  let worstUlp = 0, worstRel = 0
  for (let i = 0; i <= 975_000; i++) {
    const x = Math.fround(-105 + i * 2e-4)
    worstUlp = Math.max(worstUlp, expUlps(x))
    const e = Math.exp(x)
    if (x > -104 && x < 88.7) worstRel = Math.max(worstRel, Math.abs(expF32(x) / e - 1))
  }
  assert.ok(worstUlp <= 1, `worst ${worstUlp} ulp`)
  assert.ok(worstRel < 4e-11, `worst relative error ${worstRel}`)
})

test('expF32: every float32 around overflow, the subnormal boundary, underflow to 0, and near 0', () => {
  // ln(FLT_MAX) = 88.7228, ln(2^-126) = -87.3365, ln(2^-149 / 2) = -103.9721
  for (const centre of [88.72283935546875, -87.33654022216797, -103.97207641601562, 0, -1e-30]) {
    const c = bitsOf(centre)
    for (let d = -20000; d <= 20000; d++) {
      const x = fromBits(c + d)
      if (!Number.isFinite(x)) continue
      const u = expUlps(x)
      if (u > 1) assert.unreachable(`x = ${x}: ${u} ulp (${Math.fround(expF32(x))} vs ${Math.fround(Math.exp(x))})`)
    }
  }
  assert.is(Math.fround(expF32(88.72283935546875)), Math.fround(Math.exp(88.72283935546875)))
  assert.is(Math.fround(expF32(88.7229)), Infinity, 'overflows to Infinity in float32')
  assert.is(Math.fround(expF32(-103.98)), 0, 'underflows to 0 in float32')
  assert.ok(Math.fround(expF32(-103.9)) > 0 && Math.fround(expF32(-103.9)) < 1.2e-38, 'a subnormal result')
})

test('expF32: random float32 bit patterns, and the special values', () => {
  const g = new Generator(11)
  for (let i = 0; i < 300_000; i++) {
    const x = fromBits(g.nextUint32() | 0)
    if (Number.isNaN(x)) { assert.ok(Number.isNaN(expF32(x))); continue }
    const u = expUlps(x)
    if (u > 1) assert.unreachable(`x = ${x}: ${u} ulp`)
  }
  assert.ok(Number.isNaN(expF32(NaN)))
  assert.is(expF32(Infinity), Infinity)
  assert.is(expF32(-Infinity), 0)
  assert.is(expF32(0), 1)
  assert.is(expF32(-0), 1)
  assert.is(expF32(89), Infinity)
  assert.is(expF32(1000), Infinity)
  assert.is(expF32(-104), 0)
  assert.is(expF32(-1e300), 0)
})

// ---------------------------------------------------------------- normal cdf and erf

test('the erfc oracle: the continued fraction agrees with 1 - erf to erf\'s documented 1e-15 absolute', () => {
  for (let a = 2; a <= 5; a += 0.01) {
    let k = a
    for (let n = 400; n >= 1; n--) k = a + n / 2 / k
    const cf = Math.exp(-a * a) / Math.sqrt(Math.PI) / k
    assert.ok(Math.abs(cf - (1 - erf(a))) < 1e-15, `a = ${a}: ${cf} vs ${1 - erf(a)}`)
  }
})

test('normalCdfF32: relative error below 2.6e-8 from -14 (Phi ~ 1e-44) to 10, and the special values', () => {
  let worst = 0, at = 0
  // 25 points per 1e-3: about 1500 in each 1/16-wide table interval
  for (let i = 0; i <= 600_000; i++) {
    const x = -14 + i * 4e-5
    const want = cdfRef(x)
    const err = Math.abs(normalCdfF32(x) / want - 1)
    if (err > worst) { worst = err; at = x }
  }
  assert.ok(worst < 2.6e-8, `worst relative error ${worst} at x = ${at}`)
  // both sides of every table interval edge (the piecewise polynomials meet there)
  for (let k = 0; k <= 144; k++) {
    const edge = -3 + k / 16
    for (const x of [edge, edge - 1e-12, edge + 1e-12]) assert.ok(Math.abs(normalCdfF32(x) / cdfRef(x) - 1) < 2.6e-8, `edge ${x}`)
  }
  assert.ok(Number.isNaN(normalCdfF32(NaN)))
  assert.is(normalCdfF32(Infinity), 1)
  assert.is(normalCdfF32(-Infinity), 0)
  assert.is(normalCdfF32(-40), 0)
})

test('erfF32: |erfF32 - erf| < 1.5e-7 everywhere (sweep max + slope bound between points)', () => {
  // e(z) = erfF32(z) - erf(z). On a grid of step h, |e| between two points is at most the larger
  // endpoint value plus L h / 2, with L a bound on |e'|: taken as twice the steepest secant seen.
  // Pairs that straddle a table edge (z sqrt 2 = -3 + k/16) or the tail switch are checked from
  // both sides instead, since e jumps there by the (tiny) mismatch of adjacent polynomials.
  const h = 5e-5
  let maxErr = 0, maxSlope = 0
  let prev = NaN
  for (let i = 0; i <= 320_000; i++) {
    const z = -8 + i * h
    const e = erfF32(z) - erf(z)
    maxErr = Math.max(maxErr, Math.abs(e))
    const t0 = (z - h) * Math.SQRT2, t1 = z * Math.SQRT2
    const straddles = Math.floor((t0 + 3) * 16) !== Math.floor((t1 + 3) * 16)
    if (i > 0 && !straddles) maxSlope = Math.max(maxSlope, Math.abs(e - prev) / h)
    prev = e
  }
  for (let k = 0; k <= 144; k++) {
    const z = (-3 + k / 16) * Math.SQRT1_2
    for (const d of [-1e-9, 0, 1e-9]) maxErr = Math.max(maxErr, Math.abs(erfF32(z + d) - erf(z + d)))
  }
  const bound = maxErr + (2 * maxSlope * h) / 2
  assert.ok(bound < 1.5e-7, `bound ${bound} (max sampled ${maxErr}, slope ${maxSlope})`)
  assert.ok(maxErr < 2e-9, `the table is much better than needed: ${maxErr}`)
  assert.is(erfF32(Infinity), 1)
  assert.is(erfF32(-Infinity), -1)
  assert.ok(Number.isNaN(erfF32(NaN)))
})

test('float32 GELU (UNARY.geluF32): within 1 ulp of x Phi(x) rounded, tails included', () => {
  const n = 150_000
  const x = new Float64Array(n)
  for (let i = 0; i < n; i++) x[i] = -16 + (i * 26) / n
  const out = new Float32Array(n).fill(NaN)
  UNARY.geluF32(out, 0, x, 0, 1, n)
  for (let i = 0; i < n; i++) {
    const want = Math.fround(x[i] * cdfRef(x[i]))
    const got = out[i]
    const u = Math.abs(want) < 2 ** -126 ? Math.abs(got - want) / 2 ** -149 : ulps(-got, -want)
    if (u > 1) assert.unreachable(`x = ${x[i]}: ${got} vs ${want} (${u} ulp)`)
  }
  const special = Float32Array.from([NaN, Infinity, -Infinity, 0, -0, 6, -3])
  const so = new Float32Array(special.length).fill(7)
  UNARY.geluF32(so, 0, special, 0, 1, special.length)
  assert.ok(Number.isNaN(so[0]))
  assert.is(so[1], Infinity)
  assert.ok(Number.isNaN(so[2]), 'gelu(-inf) = -inf * 0 = NaN, as in PyTorch')
  assert.ok(Object.is(so[3], 0) && Object.is(so[4], -0))
  assert.is(so[5], 6)
})

// ---------------------------------------------------------------- softmax kernel

/** (outer, n, inner) data with NaN, +-Inf and all -Inf rows mixed in at a few positions. */
function softmaxInput(outer: number, n: number, inner: number, seed: number, f32: boolean): Float32Array | Float64Array {
  const g = new Generator(seed)
  const x = f32 ? new Float32Array(outer * n * inner) : new Float64Array(outer * n * inner)
  for (let i = 0; i < x.length; i++) x[i] = 4 * g.nextNormal()
  if (outer * inner >= 4) {
    x[0] = NaN // column (0, 0) has a NaN
    for (let j = 0; j < n; j++) x[(outer - 1) * n * inner + j * inner + inner - 1] = -Infinity // last column all -Inf
    if (outer > 1) x[n * inner] = Infinity // a column with +Inf
    if (n > 1 && inner > 1) x[1 + inner] = -Infinity // one -Inf among finite values
  }
  return x
}

test('softmaxInto equals softmaxRef: bitwise for float64, within 1 ulp (+ exp error) for float32; NaN-prefilled, odd sizes', () => {
  const sizes = [[1, 1, 1], [3, 7, 1], [2, 1, 5], [5, 33, 1], [2, 17, 3], [4, 5, 9], [1, 1000, 1], [3, 1, 1], [2, 64, 7]]
  let seed = 1
  for (const [outer, n, inner] of sizes) {
    for (const isF32 of [false, true]) {
      for (const log of [false, true]) {
        const x = softmaxInput(outer, n, inner, seed++, isF32)
        const make = (): Float32Array | Float64Array => (isF32 ? new Float32Array(x.length) : new Float64Array(x.length)).fill(NaN)
        const ref = make(), out = make()
        softmaxRef(ref, x, outer, n, inner, log)
        softmaxInto(out, x, outer, n, inner, log)
        const tag = `(${outer},${n},${inner}) ${isF32 ? 'f32' : 'f64'} log ${log}`
        for (let i = 0; i < x.length; i++) {
          if (Number.isNaN(ref[i])) { assert.ok(Number.isNaN(out[i]), `${tag}: [${i}] ${out[i]}, expected NaN`); continue }
          assert.ok(!Number.isNaN(out[i]), `${tag}: [${i}] not written`)
          if (!isF32) { if (!Object.is(out[i], ref[i])) assert.unreachable(`${tag}: [${i}] ${out[i]} vs ${ref[i]}`); continue }
          // log-softmax subtracts a float64 shift whose log-sum carries the exp error (4e-11 relative)
          const tol = log ? 1e-9 + 1.2e-7 * Math.abs(ref[i]) : 1.2e-7 * Math.abs(ref[i]) + 1e-45
          if (Math.abs(out[i] - ref[i]) > tol) assert.unreachable(`${tag}: [${i}] ${out[i]} vs ${ref[i]}`)
        }
      }
    }
  }
})

test('softmax on float32 tensors: rows sum to 1 and match float64 to 2e-7; a NaN row stays NaN, an all -Inf row is NaN', () => {
  const x = randn([7, 129], { generator: new Generator(5) }).mul(6)
  const y = x.softmax(-1), y64 = x.double().softmax(-1)
  assertClose(y, y64, { atol: 1e-9, rtol: 2e-7 })
  assertClose(y.sum(-1), new Array(7).fill(1), { atol: 1e-6, rtol: 0 })
  assertClose(x.logSoftmax(0), x.double().logSoftmax(0), { atol: 2e-6, rtol: 2e-7 })
  const s = tensor([[1, NaN, 2], [-Infinity, -Infinity, -Infinity], [0, -Infinity, 1]]).softmax(1).toArray() as number[][]
  assert.ok(s[0].every(Number.isNaN) && s[1].every(Number.isNaN))
  assertClose(s[2], [1 / (1 + Math.E), 0, Math.E / (1 + Math.E)], { atol: 1e-7 })
})

// ---------------------------------------------------------------- GELU backward kernel

test('geluBackward equals geluBackwardRef: bitwise in float64, to 3e-8 relative in float32; strided and broadcast g', () => {
  const g = new Generator(21)
  for (const shape of [[1], [7], [3, 5], [2, 3, 17], [4, 1, 9]]) {
    const n = shape.reduce((a, b) => a * b, 1)
    // x stored transposed-with-gaps, g broadcast along dim 0 (stride 0)
    const xStore = new Float64Array(3 * n + 5)
    for (let i = 0; i < xStore.length; i++) xStore[i] = 3 * g.nextNormal()
    const xStrides = contiguousStrides(shape).map((s) => 3 * s)
    const gStore = new Float64Array(n)
    for (let i = 0; i < n; i++) gStore[i] = g.nextNormal()
    const gStrides = contiguousStrides(shape)
    gStrides[0] = 0
    for (const isF32 of [false, true]) {
      const ref = (isF32 ? new Float32Array(n) : new Float64Array(n)).fill(NaN)
      const out = (isF32 ? new Float32Array(n) : new Float64Array(n)).fill(NaN)
      geluBackwardRef(ref, gStore, 0, gStrides, xStore, 2, xStrides, shape)
      geluBackward(out, gStore, 0, gStrides, xStore, 2, xStrides, shape)
      for (let i = 0; i < n; i++) {
        assert.ok(!Number.isNaN(out[i]), `${JSON.stringify(shape)}: [${i}] not written`)
        if (!isF32) assert.ok(Object.is(out[i], ref[i]), `f64 [${i}]`)
        else {
          // unravel i to read this element's x and g; the factor Phi + x phi is off by < 3e-8 (Phi + |x phi|)
          let xo = 2, go = 0, rest = i
          for (let d = shape.length - 1; d >= 0; d--) { const c = rest % shape[d]; rest = (rest - c) / shape[d]; xo += c * xStrides[d]; go += c * gStrides[d] }
          const xv = xStore[xo]
          const bound = 3e-8 * Math.abs(gStore[go]) * (1 + Math.abs(xv)) + 6e-8 * Math.abs(ref[i])
          assert.ok(Math.abs(out[i] - ref[i]) <= bound, `f32 [${i}]: ${out[i]} vs ${ref[i]} (x ${xv})`)
        }
      }
    }
  }
})

test('GELU op: the fused backward (no graph) equals the composite one (createGraph), float64 and float32', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    const x = randn([5, 37], { dtype, generator: new Generator(8) }).mul(3).requiresGrad_()
    const w = randn([5, 37], { dtype, generator: new Generator(9) })
    x.gelu().mul(w).sum().backward()
    const fused = x.grad!
    x.grad = null
    enableGrad(() => x.gelu().mul(w).sum().backward(undefined, { createGraph: true }))
    const composite = x.grad!
    assert.ok(composite.requiresGrad, 'createGraph recorded the backward')
    const tol = dtype === 'float64' ? { atol: 1e-14, rtol: 1e-13 } : { atol: 1e-6, rtol: 1e-5 }
    assertClose(fused, noGrad(() => composite.detach()), { ...tol, msg: dtype })
  }
})

test('GELU forward: float32 fast path matches the float64 exact path rounded (strided input)', () => {
  const x64 = randn([64, 33], { dtype: 'float64', generator: new Generator(4) }).mul(4)
  const x32 = x64.float()
  const y = x32.mT.gelu(), want = x32.double().mT.gelu()
  // NOTE: atol covers the float64 path, which cancels in 1 + erf(x / sqrt 2) (about 1e-16 |x|
  // absolute) and so is less accurate than the float32 table in the far negative tail. With the
  // wasm backend the op runs the SIMD GELU, whose bound is 8 float32 ulp (test/wasm/elementwise.test.ts).
  assertClose(y, want, { atol: 1e-15, rtol: getBackend() === 'wasm' ? 8 * 2 ** -23 : 1.2e-7 })
  assert.is(y.dtype, 'float32')
  assert.ok(y instanceof Tensor)
})

test.run()

/**
 * @file The WebAssembly SIMD layer norm / RMS norm forward (src/wasm/layernorm.ts) against the
 * float64 oracle `rowNormForwardRef`: rows of every length around the 4-lane tail, a large mean
 * (where E[x²] − E[x]² would lose every digit), RMS norm, NaN rows, and the fallbacks (group norm
 * shapes, float64). Statistics are float64 in both (summation order differs: 1e-12 relative);
 * outputs are rounded once from float64, so they agree to one float32 ulp.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rowNormForwardRef } from '../../src/kernels/norm.ts'
import { rowNormForwardWasm } from '../../src/wasm/layernorm.ts'
import { hasModule, wasmFeatures } from '../../src/wasm/runtime.ts'
import { Generator } from '../../src/rng.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule('layernorm')
const g = new Generator(31)
const uniform = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextFloat64())

function check(R: number, M: number, center: boolean, shift = 0, poison?: number): void {
  const x = uniform(R * M, shift - 3, shift + 3), w = uniform(M, 0.5, 1.5), b = uniform(M, -1, 1)
  if (poison !== undefined) x[poison] = NaN
  const d = { R, G: 1, Cg: M, S: 1 }
  const y = new Float32Array(R * M).fill(NaN), mean = new Float64Array(R).fill(NaN), rstd = new Float64Array(R).fill(NaN)
  const yr = new Float64Array(R * M), mr = new Float64Array(R), rr = new Float64Array(R)
  rowNormForwardWasm(y, mean, rstd, x, w, b, d, 1e-5, center)
  rowNormForwardRef(yr, mr, rr, Float64Array.from(x), Float64Array.from(w), Float64Array.from(b), d, 1e-5, center)
  for (let r = 0; r < R; r++) {
    if (Number.isNaN(rr[r])) { assert.ok(Number.isNaN(rstd[r])); continue }
    assert.ok(Math.abs(mean[r] - mr[r]) <= 1e-12 * Math.max(1, Math.abs(mr[r])), `M=${M} row ${r} mean ${mean[r]} vs ${mr[r]}`)
    assert.ok(Math.abs(rstd[r] - rr[r]) <= 1e-12 * rr[r], `M=${M} row ${r} rstd`)
  }
  for (let i = 0; i < R * M; i++) {
    if (Number.isNaN(yr[i])) { assert.ok(Number.isNaN(y[i]), `NaN at ${i}`); continue }
    assert.ok(Math.abs(y[i] - yr[i]) <= 2 ** -23 * Math.abs(yr[i]) + 1e-30, `M=${M} at ${i}: ${y[i]} vs ${yr[i]}`)
  }
}

test('layer norm: every row length around the 4-lane tail, above the size threshold', () => {
  if (!canRun()) return
  for (const M of [1, 3, 4, 5, 7, 17, 64, 255, 1027]) check(Math.ceil(2048 / M), M, true)
})

test('a mean of 1e4 standard deviations: two-pass float64 statistics keep every digit', () => {
  if (!canRun()) return
  check(40, 257, true, 3e4)
})

test('RMS norm (no centring) and a NaN row', () => {
  if (!canRun()) return
  check(37, 129, false)
  check(20, 131, true, 0, 131 * 7 + 5)
})

test('group norm shapes, float64 and tiny inputs use the typed-array kernel', () => {
  const x = uniform(4 * 6 * 5, -1, 1), w = uniform(6, 0.5, 1.5), b = uniform(6, -1, 1)
  const d = { R: 8, G: 2, Cg: 3, S: 5 }
  const y = new Float32Array(x.length), m = new Float64Array(8), r = new Float64Array(8)
  const yr = new Float32Array(x.length), mr = new Float64Array(8), rr = new Float64Array(8)
  rowNormForwardWasm(y, m, r, x, w, b, d, 1e-5, true)
  rowNormForwardRef(yr, mr, rr, x, w, b, d, 1e-5, true)
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(y[i] - yr[i]) <= 1e-6)
  const x64 = Float64Array.from(uniform(2048, -1, 1)), w64 = new Float64Array(64).fill(1), b64 = new Float64Array(64)
  const d64 = { R: 32, G: 1, Cg: 64, S: 1 }
  const a = new Float64Array(2048), c = new Float64Array(2048)
  rowNormForwardWasm(a, new Float64Array(32), new Float64Array(32), x64, w64, b64, d64, 1e-5, true)
  rowNormForwardRef(c, new Float64Array(32), new Float64Array(32), x64, w64, b64, d64, 1e-5, true)
  for (let i = 0; i < 2048; i++) assert.ok(Math.abs(a[i] - c[i]) <= 1e-13)
})

test.run()

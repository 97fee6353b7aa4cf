/**
 * @file The WebAssembly SIMD softmax (src/wasm/softmax.ts) against the float64 `softmaxRef`:
 * every row length around the 4-lane tail, masked (−∞) entries exactly 0, NaN rows NaN, all-masked
 * rows as the reference, and the fallbacks (log-softmax, inner axes, float64). The bound per element
 * is |Δ| <= (|x − m| + 16) 2^-24 p + 1e-37: rounding x − m in float32 (as float32 softmax in PyTorch
 * does) moves exp by |x − m| 2^-24 relative; the polynomial, the scaling and the float64 sum add a
 * few ulp; outputs below 2^-126 may flush to 0.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { softmaxRef } from '../../src/kernels/softmax.ts'
import { softmaxWasm } from '../../src/wasm/softmax.ts'
import { hasModule, wasmFeatures } from '../../src/wasm/runtime.ts'
import { Generator } from '../../src/rng.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule('softmax')
const g = new Generator(21)

function check(x: Float32Array, rows: number, n: number): void {
  const out = new Float32Array(rows * n).fill(NaN), ref = new Float64Array(rows * n)
  softmaxWasm(out, x, rows, n, 1, false)
  softmaxRef(ref, Float64Array.from(x), rows, n, 1, false)
  for (let r = 0; r < rows; r++) {
    let m = -Infinity
    for (let j = 0; j < n; j++) m = Math.max(m, x[r * n + j])
    for (let j = 0; j < n; j++) {
      const i = r * n + j
      if (Number.isNaN(ref[i])) { assert.ok(Number.isNaN(out[i]), `row ${r} col ${j}: NaN expected, got ${out[i]}`); continue }
      const bound = ref[i] === 0 ? 1e-37 : (Math.abs(x[i] - m) + 16) * 2 ** -24 * ref[i] + 1e-37 // (∞ · 0 would be NaN)
      assert.ok(Math.abs(out[i] - ref[i]) <= bound, `n=${n} row ${r} col ${j}: ${out[i]} vs ${ref[i]} (bound ${bound})`)
    }
  }
}

test('random rows of every length around the 4-lane tail, up to 1027', () => {
  if (!canRun()) return
  for (const n of [1, 3, 4, 5, 7, 8, 17, 64, 255, 1027]) {
    const rows = Math.max(1, Math.ceil(300 / n))
    const x = Float32Array.from({ length: rows * n }, () => 30 * g.nextFloat64() - 15)
    check(x, rows, n)
  }
})

test('masked entries are exactly 0; NaN rows are NaN; all-masked rows match the reference; huge gaps flush to 0', () => {
  if (!canRun()) return
  const n = 13, rows = 5
  const x = Float32Array.from({ length: rows * n }, () => 4 * g.nextFloat64())
  x[2] = -Infinity; x[9] = -Infinity // row 0, in the vector part and in the tail
  x[n + 4] = NaN // row 1
  for (let j = 0; j < n; j++) x[2 * n + j] = -Infinity // row 2
  x[3 * n + 1] = 200; x[3 * n + 12] = -200 // row 3: exp(−400) underflows
  x[4 * n + 6] = Infinity // row 4
  const out = new Float32Array(rows * n)
  softmaxWasm(out, x, rows, n, 1, false)
  assert.is(out[2], 0); assert.is(out[9], 0)
  for (let j = 0; j < n; j++) assert.ok(Number.isNaN(out[n + j]))
  assert.is(out[3 * n + 12], 0)
  check(x, rows, n)
})

test('log-softmax, softmax over an inner axis and float64 use the typed-array kernel', () => {
  const x = Float32Array.from({ length: 6 * 50 }, () => g.nextFloat64())
  for (const [outer, n, inner, log] of [[6, 50, 1, true], [3, 50, 2, false]] as const) {
    const a = new Float32Array(x.length), b = new Float32Array(x.length)
    softmaxWasm(a, x, outer, n, inner, log)
    softmaxRef(b, x, outer, n, inner, log)
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 2e-7 * Math.max(1, Math.abs(b[i])))
  }
  const x64 = Float64Array.from(x), a64 = new Float64Array(x.length), b64 = new Float64Array(x.length)
  softmaxWasm(a64, x64, 6, 50, 1, false)
  softmaxRef(b64, x64, 6, 50, 1, false)
  assert.equal([...a64], [...b64])
})

test.run()

/**
 * @file The WebAssembly SIMD selective scan (src/wasm/scan.ts) against the float64 `selectiveScanRef`.
 * Bound: the only float32 step is e = exp(x), x = fl32(fl32(Δ) A): relative error
 * ε = (2|x| + 16) 2^-24 (rounding Δ and the product moves exp by |x| 2^-24 each; the degree-7
 * polynomial, the Cody-Waite reduction and Horner's float32 roundings stay below 16 ulp; inputs
 * below -87.3 flush to 0, an absolute 2^-126). The state is float64, so with E_t the error of h_t,
 *   |E_t| <= e_t (1 + ε_t) |E_{t-1}| + ε_t e_t |h_{t-1}|        (from h'_t - h_t = e'_t E_{t-1} + (e'_t - e_t) h_{t-1})
 * and |out - ref| <= |silu(z)| Σ_n |C_t,n| E_t,n + 2 * 2^-24 |ref| + 1e-30 (the final float32
 * rounding). The test runs that recurrence beside the reference, so the bound tightens where the
 * decay forgets errors and loosens where it does not. Odd N (padded to 4 lanes), odd L, groups,
 * gate, missing D / bias, no softplus, NaN inputs, and the exact fallbacks.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { selectiveScan, selectiveScanRef, softplus, type ScanDims, type ScanExtras } from '../../src/kernels/scan.ts'
import { selectiveScanWasm, WASM_SCAN_MODULE } from '../../src/wasm/scan.ts'
import { scanModuleBytes } from '../../src/wasm/scan-module.ts'
import { hasModule, validates, wasmFeatures } from '../../src/wasm/runtime.ts'
import { Generator } from '../../src/rng.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule(WASM_SCAN_MODULE)
const run = (name: string, fn: () => void): void => test(name, () => { if (canRun()) fn() })
const g = new Generator(41)
const uniform = (n: number, lo = -1, hi = 1): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextFloat64())

interface Case { u: Float32Array; delta: Float32Array; A: Float32Array; B: Float32Array; C: Float32Array; ex: ScanExtras; dims: ScanDims }

function makeCase(Bt: number, D: number, L: number, N: number, G: number, o: { z?: boolean; Dv?: boolean; bias?: boolean; softplus?: boolean } = {}): Case {
  const sp = o.softplus ?? true
  return {
    u: uniform(Bt * D * L, -2, 2), delta: sp ? uniform(Bt * D * L, -5, 1) : uniform(Bt * D * L, 0.001, 0.5), // (B, D, L)
    A: uniform(D * N, -8, -0.05), B: uniform(Bt * G * N * L), C: uniform(Bt * G * N * L), // (D, N), (B, G, N, L)
    ex: { Dv: o.Dv === false ? null : uniform(D), z: o.z ? uniform(Bt * D * L, -3, 3) : null, deltaBias: o.bias === false ? null : uniform(D, -0.5, 0.5) },
    dims: { Bt, D, L, N, G, softplus: sp },
  }
}

/** The propagated error bound of each output (see the header), float64 throughout. */
function bounds(c: Case): Float64Array {
  const { Bt, D, L, N, G, softplus: sp } = c.dims
  const P = D / G, out = new Float64Array(Bt * D * L)
  const h = new Float64Array(N), E = new Float64Array(N)
  for (let b = 0; b < Bt; b++) {
    for (let d = 0; d < D; d++) {
      const gi = Math.floor(d / P)
      h.fill(0); E.fill(0)
      for (let t = 0; t < L; t++) {
        const i = (b * D + d) * L + t
        const pre = c.delta[i] + (c.ex.deltaBias ? c.ex.deltaBias[d] : 0), dt = sp ? softplus(pre) : pre
        let s = 0
        for (let n = 0; n < N; n++) {
          const x = dt * c.A[d * N + n], e = Math.exp(x), eps = (2 * Math.abs(x) + 16) * 2 ** -24
          const j = ((b * G + gi) * N + n) * L + t
          E[n] = e * (1 + eps) * E[n] + eps * e * Math.abs(h[n]) + 2 ** -126 * Math.abs(h[n])
          h[n] = e * h[n] + dt * c.B[j] * c.u[i]
          s += Math.abs(c.C[j]) * E[n]
        }
        const zi = c.ex.z ? c.ex.z[i] : null
        out[i] = (zi === null ? 1 : Math.abs(zi / (1 + Math.exp(-zi)))) * s
      }
    }
  }
  return out
}

function check(c: Case, tag: string): void {
  const n = c.u.length
  const out = new Float32Array(n).fill(NaN), ref = new Float64Array(n)
  selectiveScanWasm(out, c.u, c.delta, c.A, c.B, c.C, c.ex, c.dims)
  selectiveScanRef(ref, c.u, c.delta, c.A, c.B, c.C, c.ex, c.dims)
  const bnd = bounds(c)
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(ref[i])) { assert.ok(Number.isNaN(out[i]), `${tag} ${i}: NaN expected, got ${out[i]}`); continue }
    const b = bnd[i] + 2 * 2 ** -24 * Math.abs(ref[i]) + 1e-30
    assert.ok(Math.abs(out[i] - ref[i]) <= b, `${tag} ${i}: ${out[i]} vs ${ref[i]} (bound ${b})`)
  }
}

test('the generated module validates', () => {
  if (!wasmFeatures().simd) return
  assert.ok(validates(scanModuleBytes({ min: 16 })))
})

run('odd N, odd L, groups, gate: within the propagated float32-exp bound', () => {
  check(makeCase(2, 8, 67, 16, 2, { z: true }), 'N=16 G=2 gate')
  check(makeCase(1, 6, 129, 5, 3), 'N=5 G=3')
  check(makeCase(2, 4, 101, 17, 1, { Dv: false, bias: false }), 'N=17 no D, no bias')
  check(makeCase(1, 12, 300, 8, 4, { softplus: false }), 'N=8 no softplus')
  assert.ok(hasModule(WASM_SCAN_MODULE)) // the SIMD path ran
})

run('long sequences with slow decay (|Δ A| small) accumulate within the bound', () => {
  const c = makeCase(1, 4, 1500, 16, 1)
  c.delta.fill(-6) // softplus(-6 + bias) ~ 2e-3: exp(Δ A) near 1, errors are forgotten slowly
  check(c, 'slow decay')
})

run('NaN in u or Δ gives NaN where the reference does', () => {
  const c = makeCase(1, 8, 80, 8, 1)
  c.u[3 * 80 + 10] = NaN; c.delta[5 * 80 + 40] = NaN
  check(c, 'NaN')
})

test('float64 outputs, tiny blocks and exp arguments above 88 use the typed-array kernel exactly', () => {
  const c = makeCase(1, 4, 33, 4, 1)
  const n = c.u.length
  for (const [o, r] of [[new Float64Array(n), new Float64Array(n)], [new Float32Array(n), new Float32Array(n)]] as const) {
    selectiveScanWasm(o, c.u, c.delta, c.A, c.B, c.C, c.ex, c.dims); selectiveScan(r, c.u, c.delta, c.A, c.B, c.C, c.ex, c.dims)
    assert.equal([...o], [...r])
  }
  const big = makeCase(1, 8, 200, 8, 1, { softplus: false })
  big.A[13] = 1000 // Δ A up to 500: exp overflows float32, as in the typed-array kernel
  const o = new Float32Array(big.u.length), r = new Float32Array(big.u.length)
  selectiveScanWasm(o, big.u, big.delta, big.A, big.B, big.C, big.ex, big.dims); selectiveScan(r, big.u, big.delta, big.A, big.B, big.C, big.ex, big.dims)
  assert.equal([...o], [...r])
})

test.run()

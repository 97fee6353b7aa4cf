/**
 * @file A WebAssembly SIMD selective-scan forward (Mamba, Gu & Dao 2023,
 * https://arxiv.org/abs/2312.00752), with exactly the signature of `kernels.selectiveScan`
 * (src/kernels/scan.ts). The per-step, per-channel work stays in JS (softplus of Δ + bias, Δ u,
 * the skip D u and the gate y silu(z), as in the typed-array kernel); the O(N) inner loop over
 * the state (exp(Δ A), Eqns (2a), (2b)) runs in src/wasm/scan-module.ts, four states per vector,
 * float64 state. Float64 outputs, and blocks too small to pay for the copies, use the typed-array
 * kernel.
 *
 * Measured 2-4x faster than the typed-array kernel at the shapes of the repo's SSM papers
 * (EfficientVMamba paper 71, DSF's S6 paper 33; bench/scan-wasm.bench.ts), so `setBackend('wasm')` uses it.
 * The exp is float32 (relative error a few 2^-24 plus |Δ A| 2^-24 from rounding its argument),
 * where the typed-array kernel's `expF32` is within 4e-11; test/wasm/scan.test.ts bounds the
 * propagated error.
 */
import { selectiveScan, softplus, type ScanDims, type ScanExtras } from '../kernels/scan.ts'
import type { TypedArray } from '../dtype.ts'
import { scanModuleBytes } from './scan-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

type ScanFn = (dt: number, dtu: number, A: number, bT: number, cT: number, h: number, y: number, nCh: number, L: number, Np: number) => void
let fn: ScanFn | null = null

/** The module name. */
export const WASM_SCAN_MODULE = 'scan'

/** Below this many (channel, step, state) updates the typed-array kernel runs. */
export const WASM_SCAN_MIN_WORK = 4096

/** The largest Δ A the float32 exp handles (exp(88) < 2^127). */
const EXP_ARG_MAX = 88

const up = (n: number, m: number): number => Math.ceil(n / m) * m

/** h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t; y_t = C_t h_t + D u_t (then the gate), as `selectiveScan`. */
export function selectiveScanWasm(out: TypedArray, u: TypedArray, delta: TypedArray, A: TypedArray, B: TypedArray, C: TypedArray, ex: ScanExtras, dims: ScanDims): void {
  const { Bt, D, L, N, G, softplus: sp } = dims
  if (!(out instanceof Float32Array) || D * L * N < WASM_SCAN_MIN_WORK || L === 0) { selectiveScan(out, u, delta, A, B, C, ex, dims); return }
  fn ??= instantiate(compileModule(WASM_SCAN_MODULE, () => scanModuleBytes({ min: 16 }))).scan as ScanFn
  const P = D / G, Np = up(N, 4)
  // Kernel memory (bytes): dtu (P, L) f64 | bT (L, Np) f64 | cT (L, Np) f64 | y (P, L) f64 | h (Np,) f64 | dt (P, L) f32 | A (P, Np) f32.
  const dtuAt = 0, bAt = dtuAt + P * L * 8, cAt = bAt + L * Np * 8, yAt = cAt + L * Np * 8, hAt = yAt + P * L * 8
  const dtAt = hAt + Np * 8, aAt = up(dtAt + P * L * 4, 16)
  const buf = kernelMemory(aAt + P * Np * 4).buffer
  const dtu = new Float64Array(buf, dtuAt, P * L), bT = new Float64Array(buf, bAt, L * Np), cT = new Float64Array(buf, cAt, L * Np)
  const y = new Float64Array(buf, yAt, P * L), dt = new Float32Array(buf, dtAt, P * L), Ak = new Float32Array(buf, aAt, P * Np)
  bT.fill(0); cT.fill(0); Ak.fill(0)
  const { Dv, z, deltaBias } = ex
  for (let b = 0; b < Bt; b++) {
    for (let g = 0; g < G; g++) {
      const off = (b * G + g) * N * L // (N, L) block of B and C
      for (let n = 0; n < N; n++) for (let t = 0, s = off + n * L; t < L; t++, s++) { bT[t * Np + n] = B[s]; cT[t * Np + n] = C[s] }
      for (let c = 0; c < P; c++) {
        const d = g * P + c, row = (b * D + d) * L, bias = deltaBias ? deltaBias[d] : 0
        let aMin = 0, aMax = 0
        for (let n = 0; n < N; n++) { const a = A[d * N + n]; Ak[c * Np + n] = a; if (a < aMin) aMin = a; if (a > aMax) aMax = a }
        for (let t = 0; t < L; t++) {
          const pre = delta[row + t] + bias, v = sp ? softplus(pre) : pre
          // NOTE: exp4 is valid for Δ A <= 88 only (2^k must stay finite); larger arguments (a positive
          // A, or a negative Δ without softplus) are left to the typed-array kernel, which rewrites out.
          if (v * aMax > EXP_ARG_MAX || v * aMin > EXP_ARG_MAX) { selectiveScan(out, u, delta, A, B, C, ex, dims); return }
          dt[c * L + t] = v; dtu[c * L + t] = v * u[row + t]
        }
      }
      fn(dtAt, dtuAt, aAt, bAt, cAt, hAt, yAt, P, L, Np)
      for (let c = 0; c < P; c++) {
        const d = g * P + c, row = (b * D + d) * L, skip = Dv ? Dv[d] : 0
        for (let t = 0; t < L; t++) {
          let v = y[c * L + t] + skip * u[row + t]
          if (z) { const zi = z[row + t]; v *= zi / (1 + Math.exp(-zi)) }
          out[row + t] = v
        }
      }
    }
  }
}

/**
 * @file The WebAssembly SIMD GEMM: C = A B for float32 operands with any element strides, a drop-in
 * for `kernels.gemm` (same `GemmOperands`, same row range for the worker pool).
 *
 * BLIS layering as in src/kernels/gemm.ts: for each NC column block and KC depth block, B is packed
 * into NR-wide micro-panels; for each MC row block, A into MR-tall micro-panels; the generated
 * `macro` (src/wasm/gemm-module.ts) runs every MR x NR tile of the block. Packing reads the strided
 * operands straight from their typed arrays into the kernel memory (zero-padding the edges), so
 * transposed views cost no extra copy; C accumulates in the kernel memory, (Mp, Np) padded, and the
 * valid part is copied out once. Products accumulate in float32 (not float64 as the typed-array
 * path): results equal `gemmRef` within float32 rounding, which the tests bound.
 *
 * Float64 and integer operands, and tiny products where the call overhead dominates, go to the
 * typed-array `gemm`.
 */
import { gemm as gemmJs, type GemmOperands } from '../kernels/gemm.ts'
import { gemmModuleBytes, type GemmKernelShape } from './gemm-module.ts'
import { compileModule, instantiate, kernelMemory, wasmFeatures } from './runtime.ts'

/**
 * The kernel is chosen from the work per row of C (N K), never from M: every row's value depends
 * only on its row of A and on B, so splitting a batch into chunks (data-parallel roles, worker
 * threads) gives the same bits with either backend. Below this many multiply-adds per row the
 * typed-array kernel wins (the packing and call overhead).
 */
export const WASM_GEMM_MIN_ROW_WORK = 32 * 32

/**
 * Matrix-vector shapes (N below this) stay on the typed-array kernel: padding one column to an
 * NR-wide panel wastes most of the SIMD work (measured 1024x1024 times a vector: 8.2 ms vs 1.3 ms).
 */
export const WASM_GEMM_MIN_N = 4

export interface WasmGemmConfig extends GemmKernelShape { MC: number; KC: number; NC: number }

/** The blocking that won on V8 here (KC 256, MC 128, NC 4096), with V8's kernel shape without relaxed SIMD. */
export const WASM_GEMM_DEFAULT: WasmGemmConfig = { MR: 4, NR: 8, fma: false, MC: 128, KC: 256, NC: 4096 }

/**
 * The micro-kernel shape per engine, measured with `bench/wasm-gemm-shapes.ts` (GFLOPS at n = 256 /
 * 512 / 1024, one thread, on this project's 2-core EPYC):
 *   V8 (Node 20, no relaxed SIMD): 4x8 36.7 / 34.4 / 38.7; next best 2x16 31.7 / 29.3 / 34.4.
 *   V8 with relaxed SIMD (Deno; Chromium and workerd are V8 too): 6x8 fused 37.3 / 36.4 / 39.1,
 *     against 28.6 / 27.5 / 30.0 for plain 4x8.
 *   JavaScriptCore (Bun): 2x16 34.5 / 33.7 / 36.8; fusing gains nothing there (34.5 / 34.5 / 36.5),
 *     so the unfused kernel is kept.
 * Larger tiles spill registers (4x12, 4x16 lose everywhere but JSC's 4x16).
 */
export const WASM_GEMM_SHAPES: Readonly<Record<'v8' | 'v8Relaxed' | 'jsc', WasmGemmConfig>> = {
  v8: WASM_GEMM_DEFAULT,
  v8Relaxed: { ...WASM_GEMM_DEFAULT, MR: 6, NR: 8, fma: true },
  jsc: { ...WASM_GEMM_DEFAULT, MR: 2, NR: 16 },
}

let chosen: WasmGemmConfig | null = null

/** The configuration for this runtime: JavaScriptCore (Bun, Safari) or V8 (everything else), fused where relaxed SIMD validates. */
export function wasmGemmConfig(): WasmGemmConfig {
  if (chosen) return chosen
  const g = globalThis as { Bun?: unknown; navigator?: { userAgent?: string } }
  const ua = g.navigator?.userAgent ?? ''
  const jsc = g.Bun !== undefined || (/AppleWebKit/.test(ua) && !/Chrome|Chromium|Edg/.test(ua))
  chosen = jsc ? WASM_GEMM_SHAPES.jsc : wasmFeatures().relaxedSimd ? WASM_GEMM_SHAPES.v8Relaxed : WASM_GEMM_SHAPES.v8
  return chosen
}

type Macro = (ap: number, bp: number, c: number, mTiles: number, nTiles: number, kc: number, ldc: number, first: number) => void

interface Instance { cfg: WasmGemmConfig; macro: Macro }
const instances = new Map<string, Instance>()

/** The module name of a kernel shape, e.g. 'gemm-4x8' (also the `.wasm` file name the build writes). */
export function wasmGemmModuleName(shape: GemmKernelShape): string {
  return `gemm-${shape.MR}x${shape.NR}${shape.fma ? '-fma' : ''}`
}

function instanceFor(cfg: WasmGemmConfig): Instance {
  const key = wasmGemmModuleName(cfg)
  let inst = instances.get(key)
  if (!inst) {
    const module = compileModule(key, () => gemmModuleBytes(cfg, { min: 16 }))
    inst = { cfg, macro: instantiate(module).macro as Macro }
    instances.set(key, inst)
  }
  return inst
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m

/**
 * C[rowStart:rowEnd] = A[rowStart:rowEnd] B with the SIMD kernel. `cfg` picks the micro-tile and the
 * blocking (default: `wasmGemmConfig()`, this runtime's measured best).
 */
export function gemmWasm(g: GemmOperands, rowStart = 0, rowEnd = g.M, cfg: WasmGemmConfig = wasmGemmConfig()): void {
  const { N, K } = g
  const M = rowEnd - rowStart
  if (M <= 0 || N === 0) return
  if (!(g.a instanceof Float32Array && g.b instanceof Float32Array && g.c instanceof Float32Array) || K === 0 || N * K < WASM_GEMM_MIN_ROW_WORK || N < WASM_GEMM_MIN_N) {
    gemmJs(g, rowStart, rowEnd)
    return
  }
  const { macro } = instanceFor(cfg)
  const { MR, NR, MC, KC, NC } = cfg
  const Mp = roundUp(M, MR), Np = roundUp(N, NR)
  const kcMax = Math.min(KC, K), ncMax = Math.min(roundUp(NC, NR), Np), mcMax = Math.min(roundUp(MC, MR), Mp)
  // Kernel memory layout (float32 offsets): A~ (mcMax, kcMax) | B~ (kcMax, ncMax) | C (Mp, Np).
  const aAt = 0, bAt = aAt + mcMax * kcMax, cAt = bAt + kcMax * ncMax
  const mem = kernelMemory((cAt + Mp * Np) * 4)
  const f = new Float32Array(mem.buffer) // re-viewed after any grow
  const { a, b, aRs, aCs, bRs, bCs } = g
  const aOff = g.aOff + rowStart * aRs

  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0), ncp = roundUp(nc, NR)
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = Math.min(KC, K - p0)
      // B~[t][p][s] = B[p0 + p, j0 + t*NR + s], zero past column N.  // (ncp/NR, kc, NR)
      let o = bAt
      for (let t = 0; t < ncp; t += NR) {
        const cols = Math.min(NR, nc - t)
        for (let p = 0; p < kc; p++) {
          let src = g.bOff + (p0 + p) * bRs + (j0 + t) * bCs
          for (let s = 0; s < cols; s++, src += bCs) f[o++] = b[src]
          for (let s = cols; s < NR; s++) f[o++] = 0
        }
      }
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0), mcp = roundUp(mc, MR)
        // A~[t][p][r] = A[i0 + t*MR + r, p0 + p], zero past row M.  // (mcp/MR, kc, MR)
        o = aAt
        for (let t = 0; t < mcp; t += MR) {
          const rows = Math.min(MR, mc - t)
          for (let p = 0; p < kc; p++) {
            let src = aOff + (i0 + t) * aRs + (p0 + p) * aCs
            for (let r = 0; r < rows; r++, src += aRs) f[o++] = a[src]
            for (let r = rows; r < MR; r++) f[o++] = 0
          }
        }
        macro(aAt * 4, bAt * 4, (cAt + i0 * Np + j0) * 4, mcp / MR, ncp / NR, kc, Np * 4, p0 === 0 ? 1 : 0)
      }
    }
  }
  // Copy the valid (M, N) part of C out.  // c: (M, N) at cOff + rowStart*N
  const c = g.c, cBase = g.cOff + rowStart * N
  if (Np === N) c.set(f.subarray(cAt, cAt + M * N), cBase)
  else for (let i = 0; i < M; i++) c.set(f.subarray(cAt + i * Np, cAt + i * Np + N), cBase + i * N)
}

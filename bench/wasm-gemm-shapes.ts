/**
 * @file Which WASM GEMM micro-kernel shape is fastest in this runtime: every MR x NR candidate (and
 * its relaxed-SIMD fused variant where `f32x4.relaxed_madd` validates) on an n x n float32 product,
 * five rounds of five timed calls each, the best round median kept, printed fastest first in GFLOPS.
 * Runs under Node, Deno and Bun alike (no Node API); src/wasm/gemm.ts WASM_GEMM_SHAPES records what
 * it measured on the project's machine.
 *
 *   npx tsx bench/wasm-gemm-shapes.ts 512
 *   deno run -A bench/wasm-gemm-shapes.ts 512
 *   bun bench/wasm-gemm-shapes.ts 512
 */
import { gemmWasm, type WasmGemmConfig } from '../src/wasm/gemm.ts'
import { wasmFeatures } from '../src/wasm/runtime.ts'

const host = globalThis as { Bun?: unknown; Deno?: { args: string[] }; process?: { argv: string[] } }
const runtime = host.Bun !== undefined ? 'bun' : host.Deno !== undefined ? 'deno' : 'node'
const arg = host.Deno?.args[0] ?? host.process?.argv[2]
const n = Number(arg ?? 512) || 512
const features = wasmFeatures()

// Deterministic operands (no generator needed: the values only have to be non-trivial).  // (n, n) each
const a = Float32Array.from({ length: n * n }, (_, i) => Math.sin(i))
const b = Float32Array.from({ length: n * n }, (_, i) => Math.cos(i))
const c = new Float32Array(n * n)
const g = { M: n, N: n, K: n, a, aOff: 0, aRs: n, aCs: 1, b, bOff: 0, bRs: n, bCs: 1, c, cOff: 0 }

const shapes: [number, number][] = [[4, 8], [2, 16], [4, 12], [6, 8], [4, 16], [2, 8]]
const configs: WasmGemmConfig[] = []
for (const fma of features.relaxedSimd ? [false, true] : [false]) {
  for (const [MR, NR] of shapes) configs.push({ MR, NR, fma, MC: 128, KC: 256, NC: 4096 })
}
const best = new Map<WasmGemmConfig, number>()
for (const cfg of configs) gemmWasm(g, 0, n, cfg) // compile and warm up
for (let round = 0; round < 5; round++) {
  for (const cfg of configs) {
    const times: number[] = []
    for (let r = 0; r < 5; r++) {
      const t0 = performance.now()
      gemmWasm(g, 0, n, cfg)
      times.push(performance.now() - t0)
    }
    times.sort((x, y) => x - y)
    best.set(cfg, Math.min(best.get(cfg) ?? Infinity, times[2]))
  }
}
const ranked = [...best].sort((x, y) => x[1] - y[1])
const label = (cfg: WasmGemmConfig): string => `${cfg.MR}x${cfg.NR}${cfg.fma ? ' fused' : ''}`
console.log(`${runtime}, n = ${n}, relaxed SIMD ${features.relaxedSimd ? 'on' : 'off'} (GFLOPS, fastest first):`)
for (const [cfg, ms] of ranked) console.log(`  ${label(cfg).padEnd(10)} ${(2 * n ** 3 / ms / 1e6).toFixed(1)}`)

/**
 * @file Mamba's selective-scan forward (https://arxiv.org/abs/2312.00752), the typed-array kernel
 * (baseline) against the WebAssembly SIMD inner loop of src/wasm/scan.ts, at the shapes of the
 * repo's SSM papers: EfficientVMamba-T (paper 71) ES2D at 224 px, stage 1 (4 branches x E = 96
 * channels, L' = 28 x 28, N = 16) and stage 2 (4 x 192, L' = 14 x 14); the digits micro model
 * (batch 64, 4 x 32 channels, L' = 16, N = 8); DSF's S6 layer (paper 33: d = 64, n = 16, L = 256,
 * batch 8); and the D = 16, N = 16, L = 1024 case of bench/scan.bench.ts. float32, Δ softplus with
 * bias, D skip; seeded inputs. tfjs has no selective scan. Run alone:
 * `npx tsx bench/scan-wasm.bench.ts [--quick]`.
 */
import { pathToFileURL } from 'node:url'
import { Generator } from '../src/index.ts'
import { selectiveScan, type ScanDims, type ScanExtras } from '../src/kernels/scan.ts'
import { selectiveScanWasm } from '../src/wasm/scan.ts'
import { markdown, runWorkloads, type Workload } from './harness.ts'

function scanWorkload(key: string, title: string, Bt: number, D: number, L: number, N: number, G: number): Workload {
  const g = new Generator(L + D)
  const f = (n: number, lo: number, hi: number): Float32Array => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextFloat64())
  const u = f(Bt * D * L, -2, 2), delta = f(Bt * D * L, -5, 0) // (B, D, L)
  const A = Float32Array.from({ length: D * N }, (_, i) => -(1 + (i % N))) // (D, N) S4D-real init
  const B = f(Bt * G * N * L, -1, 1), C = f(Bt * G * N * L, -1, 1) // (B, G, N, L)
  const ex: ScanExtras = { Dv: f(D, 0.5, 1.5), z: null, deltaBias: f(D, -0.5, 0.5) }
  const dims: ScanDims = { Bt, D, L, N, G, softplus: true }
  const out = new Float32Array(Bt * D * L) // (B, D, L)
  return {
    key, title: `${title}: B=${Bt} D=${D} L=${L} N=${N} G=${G}`, flops: 6 * Bt * D * L * N,
    impls: [{ label: 'typed-array', fn: () => selectiveScan(out, u, delta, A, B, C, ex, dims) }, { label: 'wasm', fn: () => selectiveScanWasm(out, u, delta, A, B, C, ex, dims) }],
  }
}

export function scanWasmWorkloads({ quick }: { quick: boolean }): Workload[] {
  const out = [
    scanWorkload('scan-wasm-evm-micro', 'EfficientVMamba micro (digits)', 64, 128, 16, 8, 4),
    scanWorkload('scan-wasm-mamba-16', 'Mamba-style', 1, 16, 1024, 16, 1),
    scanWorkload('scan-wasm-dsf-s6', 'DSF S6', 8, 64, 256, 16, 1),
  ]
  if (!quick) {
    out.push(scanWorkload('scan-wasm-evm-t1', 'EfficientVMamba-T stage 1, 224 px', 1, 384, 784, 16, 4))
    out.push(scanWorkload('scan-wasm-evm-t2', 'EfficientVMamba-T stage 2, 224 px', 1, 768, 196, 16, 4))
  }
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  console.log(markdown(await runWorkloads(scanWasmWorkloads({ quick }), { time: quick ? 300 : 1000, log: (l) => console.error(l) })))
}

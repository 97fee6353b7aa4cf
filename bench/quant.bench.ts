/**
 * @file Quantized matrix-vector products: a 4096 x 4096 matvec with float32 weights (tessera
 * matmul) against INT8 per-channel weights (matvecQ8) and packed INT4 weights in groups of 32
 * (matvecQ4), each decoding codes on the fly; full mode adds the dequantize-first Refs on a
 * 1024 x 1024 matrix and a (8, 4096) x (4096, 4096) matmulQ4. Titles carry the weight memory.
 * Run alone: `npx tsx bench/quant.bench.ts [--quick]` prints the table, the memory and whether
 * Q4 is at least as fast as float32.
 */
import { pathToFileURL } from 'node:url'
import { Generator, randn } from '../src/index.ts'
import { matmulQ4, matvecQ4, matvecQ8, quantBytes, quantizeInt8, quantizePacked } from '../src/quant/index.ts'
import { matvecQ4Ref, matvecQ8Ref } from '../src/kernels/quant-matvec.ts'
import { markdown, runWorkloads, type Workload } from './harness.ts'

const MiB = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`

/** Weight bytes of each format for an n x n matrix, as reported in the workload titles. */
export interface QuantMemory { n: number; f32: number; q8: number; q4: number }
export const quantMemory: QuantMemory[] = []

function matvecCase(n: number, seed: number) {
  const g = new Generator(seed)
  const W = randn([n, n], { generator: g }).mul(1 / Math.sqrt(n)), x = randn([n], { generator: g }) // (n, n), (n,)
  const q8 = quantizeInt8(W), q4 = quantizePacked(W, { bits: 4, groupSize: 32 })
  const mem = { n, f32: 4 * n * n, q8: quantBytes(q8), q4: quantBytes(q4) }
  quantMemory.push(mem)
  return { W, x, q8, q4, mem }
}

export function quantWorkloads({ quick }: { quick: boolean }): Workload[] {
  quantMemory.length = 0
  const n = 4096
  const { W, x, q8, q4, mem } = matvecCase(n, 11)
  const out: Workload[] = [{
    key: `qmatvec-${n}`,
    title: `matvec ${n}x${n}: f32 ${MiB(mem.f32)}, Q8 ${MiB(mem.q8)} (${(mem.q8 / mem.f32).toFixed(3)}x), Q4 ${MiB(mem.q4)} (${(mem.q4 / mem.f32).toFixed(3)}x)`,
    flops: 2 * n * n,
    impls: [
      { label: 'tessera f32', fn: () => W.matmul(x) },
      { label: 'matvecQ8', fn: () => matvecQ8(q8, x) },
      { label: 'matvecQ4', fn: () => matvecQ4(q4, x) },
    ],
  }]
  if (!quick) {
    const m = 1024, c = matvecCase(m, 12), xs = c.x.data()
    const y = new Float32Array(m) // (m,)
    out.push({
      key: `qmatvec-ref-${m}`, title: `matvec ${m}x${m}: tuned vs dequantize-first Ref`, flops: 2 * m * m,
      impls: [
        { label: 'matvecQ8', fn: () => matvecQ8(c.q8, c.x) },
        { label: 'matvecQ8 (ref)', fn: () => matvecQ8Ref(y, c.q8.codes, c.q8.scales, xs, m, m, m) },
        { label: 'matvecQ4', fn: () => matvecQ4(c.q4, c.x) },
        { label: 'matvecQ4 (ref)', fn: () => matvecQ4Ref(y, c.q4.data, c.q4.scales, c.q4.zeros, xs, c.q4) },
      ],
    })
    const X = randn([8, n], { generator: new Generator(13) }) // (8, n)
    out.push({
      key: `qmatmul-8x${n}`, title: `matmul (8, ${n}) x (${n}, ${n})^T`, flops: 2 * 8 * n * n,
      impls: [{ label: 'tessera f32', fn: () => X.matmul(W.T) }, { label: 'matmulQ4', fn: () => matmulQ4(X, q4) }],
    })
  }
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick')
  const rows = await runWorkloads(quantWorkloads({ quick }), { time: quick ? 300 : 1000, log: (l) => console.error(l) })
  console.log(markdown(rows))
  for (const m of quantMemory) console.log(`weights ${m.n}x${m.n}: f32 ${m.f32} B, Q8 ${m.q8} B (${(m.q8 / m.f32).toFixed(4)}x), Q4 ${m.q4} B (${(m.q4 / m.f32).toFixed(4)}x; codes alone ${m.n * m.n / 2} B = 1/8)`)
  const med = (label: string): number => rows.find((r) => r.key === 'qmatvec-4096' && r.label === label)!.median
  const f32 = med('tessera f32'), q8 = med('matvecQ8'), q4 = med('matvecQ4')
  console.log(`4096 matvec median: f32 ${f32.toFixed(2)} ms, Q8 ${q8.toFixed(2)} ms, Q4 ${q4.toFixed(2)} ms; Q4 at least as fast as f32: ${q4 <= f32 ? 'yes' : 'no'}`)
}

/**
 * @file The benchmark harness: tinybench over deterministic inputs, one markdown table per run
 * with median, min-max, throughput (GFLOPS or GB/s) and each implementation's speed relative to
 * the workload's baseline measured in the same run. No number comes from a file.
 */
import { setBackend } from '../src/backend.ts'
import { Bench } from 'tinybench'

export interface Impl {
  /** Shown in the table: 'tessera', 'tessera (ref)', 'tfjs-cpu', ... */
  label: string
  fn: () => unknown
  /** Runs once before timing (compilation, warm caches, starting threads). */
  setup?: () => unknown | Promise<unknown>
  /** Runs once after timing. */
  teardown?: () => unknown | Promise<unknown>
}

export interface Workload {
  /** Stable key, used by --filter and by the peer implementations in compare mode. */
  key: string
  /** Human description with the shape. */
  title: string
  /** Floating point operations per call (for GFLOPS), or bytes moved (for GB/s). */
  flops?: number
  bytes?: number
  impls: Impl[]
}

export interface RunOptions {
  /** Milliseconds of sampling per implementation. */
  time: number
  /** Label of the implementation every other is compared with (the first when absent from a workload). */
  baseline?: string
  log?: (line: string) => void
}

export interface Row { key: string; title: string; label: string; median: number; min: number; max: number; rate: string; ratio: string }

export async function runWorkloads(workloads: Workload[], opts: RunOptions): Promise<Row[]> {
  const rows: Row[] = []
  for (const w of workloads) {
    const medians = new Map<string, number>()
    const partial: Omit<Row, 'ratio'>[] = []
    for (const impl of w.impls) {
      await impl.setup?.()
      const bench = new Bench({ time: opts.time, warmupTime: Math.min(200, opts.time / 2), iterations: 3 })
      bench.add(impl.label, impl.fn)
      await bench.run()
      await impl.teardown?.()
      const r = bench.tasks[0].result
      if (r.state !== 'completed') {
        const why = r.state === 'errored' ? String(r.error) : r.state
        opts.log?.(`${w.key} / ${impl.label}: ${why}`)
        continue
      }
      const { p50, min, max } = r.latency
      medians.set(impl.label, p50)
      const rate = w.flops ? `${(w.flops / p50 / 1e6).toFixed(2)} GFLOPS` : w.bytes ? `${(w.bytes / p50 / 1e6).toFixed(2)} GB/s` : ''
      partial.push({ key: w.key, title: w.title, label: impl.label, median: p50, min, max, rate })
      opts.log?.(`${w.key} / ${impl.label}: ${fmtMs(p50)}`)
    }
    const baseLabel = opts.baseline && medians.has(opts.baseline) ? opts.baseline : partial[0]?.label
    const base = baseLabel ? medians.get(baseLabel)! : NaN
    for (const p of partial) {
      rows.push({ ...p, ratio: p.label === baseLabel ? 'baseline' : `${(base / p.median).toFixed(2)}x` })
    }
  }
  return rows
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} us`
}

/** The run as a markdown table (ratio = baseline median / this median: above 1 is faster). */
export function markdown(rows: Row[]): string {
  const lines = ['| workload | implementation | median | min - max | throughput | vs baseline |', '|---|---|---|---|---|---|']
  let last = ''
  for (const r of rows) {
    lines.push(`| ${r.key === last ? '' : r.title} | ${r.label} | ${fmtMs(r.median)} | ${fmtMs(r.min)} - ${fmtMs(r.max)} | ${r.rate} | ${r.ratio} |`)
    last = r.key
  }
  return lines.join('\n')
}

/** The same workload with the WebAssembly SIMD backend selected (src/backend.ts), restored to 'js' after. */
export function wasmImpl(fn: () => unknown, label = 'tessera wasm'): Workload['impls'][number] {
  return { label, setup: () => { setBackend('wasm'); for (let i = 0; i < 3; i++) fn() }, teardown: () => setBackend('js'), fn }
}

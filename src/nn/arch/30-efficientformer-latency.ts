/**
 * @file Paper 30, EfficientFormer (Li et al. 2022, https://arxiv.org/abs/2206.01191), its latency
 * lookup table (Sec. 4.2: the latency-driven slimming searches over blocks whose cost comes from an
 * on-device LUT): each forward step of a model (`latencyBlocks()`, e.g. `EfficientFormer`) timed on
 * tessera's own CPU kernels, median of repeated runs, keyed by block kind and input shape.
 * Runtime-neutral: the clock is `performance.now()` via globalThis, else `Date.now()`.
 *
 * Shapes: whatever the blocks take; a row records its input and output shapes, e.g. Meta4D
 * (1, 48, 56, 56) -> (1, 48, 56, 56), Flat (1, 448, 7, 7) -> (1, 49, 448).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { noGrad } from '../../autograd.ts'
import { now } from '../../clock.ts'
import type { Module } from '../module.ts'
import type { LatencyBlock } from './30-efficientformer.ts'

/** One row of a latency lookup table. */
export interface LatencyRow { name: string; kind: string; inShape: number[]; outShape: number[]; medianMs: number; runs: number }
export interface LatencyProfile {
  rows: LatencyRow[]
  /** Σ of the per-block medians. */
  totalMs: number
  /** The lookup table: `${kind}@${inShape}` -> median ms (blocks of the same kind and input shape share one entry, the median of their medians). */
  lookup: Record<string, number>
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Per-block latency lookup table measured on tessera's own kernels (the paper's on-device latency
 * LUT that drives its slimming search, Sec. 4): the input runs through `model.latencyBlocks()` in
 * order, in eval mode without autograd; each block is run `warmup` + `runs` times on its input and its
 * median time is recorded. Reference: https://arxiv.org/abs/2206.01191 (Sec. 4.2)
 * @example
 *   const lut = profile(EfficientFormer.preset('l1'), randn([1, 3, 224, 224]), { runs: 3 })
 *   lut.rows.map((r) => `${r.name} ${r.medianMs.toFixed(1)} ms`)
 */
export function profile(model: Module & { latencyBlocks(): LatencyBlock[] }, input: Tensor, opts: { runs?: number; warmup?: number } = {}): LatencyProfile {
  const runs = opts.runs ?? 5, warmup = opts.warmup ?? 1
  if (!(Number.isInteger(runs) && runs >= 1)) throw new TesseraError(`latency.profile: runs must be a positive integer, got ${runs}`)
  const wasTraining = model.training
  model.eval()
  const rows: LatencyRow[] = []
  try {
    let x = input
    for (const b of model.latencyBlocks()) {
      let y = x
      for (let i = 0; i < warmup; i++) y = noGrad(() => b.run(x))
      const times: number[] = []
      for (let i = 0; i < runs; i++) {
        const t0 = now()
        y = noGrad(() => b.run(x))
        times.push(now() - t0)
      }
      rows.push({ name: b.name, kind: b.kind, inShape: [...x.shape], outShape: [...y.shape], medianMs: median(times), runs })
      x = y
    }
  } finally {
    model.train(wasTraining)
  }
  const groups = new Map<string, number[]>()
  for (const r of rows) {
    const key = `${r.kind}@${r.inShape.join('x')}`
    groups.set(key, [...(groups.get(key) ?? []), r.medianMs])
  }
  const lookup: Record<string, number> = {}
  for (const [k, v] of groups) lookup[k] = median(v)
  return { rows, totalMs: rows.reduce((a, r) => a + r.medianMs, 0), lookup }
}

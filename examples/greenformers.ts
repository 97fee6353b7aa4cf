/**
 * @file Sheet 21's small demo of Greenformers (Cahyawijaya 2021, https://arxiv.org/abs/2108.10808).
 *   (a) Long sequences: one attention layer (d = 32, 4 heads, batch 1) at n = 128 … 1024, standard
 *       softmax attention (materialises the n×n scores) vs Linformer with k = 32: tensor storage one
 *       forward allocates (`memory.measure`), forward time (min over repeats) and analytic FLOPs.
 *   (b) Short sequences: the 8x8 digits read as 8 row-tokens, a 2-layer d = 32 transformer encoder:
 *       dense vs low-rank training (LRT, every projection an LED) at ρ = 0.5 and 0.25, and dense →
 *       SVD-factorized (ρ = 0.5) → fine-tuned: test accuracy, parameter counts, training time.
 * Thesis claims: Linformer's cost grows linearly in n (≈ n/k less attention memory/compute at long n);
 * LRT shrinks the model a few × at a small accuracy cost on short inputs.
 *
 *   npx tsx examples/greenformers.ts          # full
 *   npx tsx examples/greenformers.ts --quick  # a few seconds
 */
import { F, Generator, memory, noGrad, optim, randn, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import {
  FullAttention, LinformerAttention, LowRankTransformer, attentionFlops, autoFactorize, projectionParams,
} from '../src/nn/arch/21-greenformers.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }
export interface ScalingRow { n: number; fullBytes: number; linformerBytes: number; fullMs: number; linformerMs: number; fullFlops: number; linformerFlops: number }
export interface ArmResult { name: string; testAccuracy: number; params: number; projectionParams: number; trainSeconds: number }
export interface GreenformersResult { k: number; scaling: ScalingRow[]; arms: ArmResult[] }

function minTime(f: () => unknown, reps: number): number {
  let best = Infinity
  f()
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); f(); best = Math.min(best, performance.now() - t0) }
  return best
}

function scaling(ns: number[], k: number, reps: number, seed: number, log: (s: string) => void): ScalingRow[] {
  const d = 32, heads = 4
  return ns.map((n) => {
    const full = new FullAttention({ d, heads, generator: new Generator(seed) })
    const lin = new LinformerAttention({ d, heads, seqLen: n, k, generator: new Generator(seed) })
    const x = randn([1, n, d], { generator: new Generator(seed + n) })
    const run = (m: FullAttention) => (): Tensor => noGrad(() => m.forward(x))
    const row = {
      n, fullBytes: memory.measure(run(full)).allocatedBytes, linformerBytes: memory.measure(run(lin)).allocatedBytes,
      fullMs: minTime(run(full), reps), linformerMs: minTime(run(lin), reps),
      fullFlops: attentionFlops(n, d), linformerFlops: attentionFlops(n, d, k),
    }
    log(`n=${n}: standard ${(row.fullBytes / 1024).toFixed(0)} KiB ${row.fullMs.toFixed(2)} ms | Linformer k=${k} ${(row.linformerBytes / 1024).toFixed(0)} KiB ${row.linformerMs.toFixed(2)} ms`)
    return row
  })
}

function trainDigits(model: LowRankTransformer, xtr: Tensor, ytr: Tensor, epochs: number, lr: number, g: Generator): number {
  const opt = new optim.AdamW(model.parameters(), { lr, weightDecay: 0.01 })
  const n = xtr.shape[0], batch = 64, t0 = performance.now()
  model.train()
  for (let e = 0; e < epochs; e++) {
    const order = [...Array(n).keys()]
    for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
    for (let s = 0; s + batch <= n; s += batch) {
      const ids = tensor(order.slice(s, s + batch), { dtype: 'int32' })
      model.zeroGrad()
      F.crossEntropy(model.forward(xtr.indexSelect(0, ids)), ytr.indexSelect(0, ids)).backward()
      opt.step()
    }
  }
  return (performance.now() - t0) / 1000
}

export function runGreenformers({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): GreenformersResult {
  const k = 32
  const scalingRows = scaling(quick ? [64, 128, 256] : [128, 256, 512, 1024], k, quick ? 2 : 5, seed, log)

  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16).reshape([-1, 8, 8]) // (1797, 8 tokens, 8 pixels)
  const { train, test } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  const trIds = quick ? train.narrow(0, 0, 384) : train
  const xtr = x.indexSelect(0, trIds), ytr = y.indexSelect(0, trIds), xte = x.indexSelect(0, test), yte = y.indexSelect(0, test)
  const epochs = quick ? 1 : 12
  const base = { inDim: 8, d: 32, heads: 4, layers: 2, ff: 64, classes: 10, seqLen: 8 }
  const acc = (m: LowRankTransformer): number => { m.eval(); return noGrad(() => m.forward(xte).argmax(1).eq(yte).float().mean().item()) }
  const arms: ArmResult[] = []
  const record = (name: string, m: LowRankTransformer, secs: number): void => {
    const a = { name, testAccuracy: acc(m), params: m.numParameters(), projectionParams: projectionParams(m), trainSeconds: secs }
    arms.push(a)
    log(`${name.padEnd(22)} acc ${(100 * a.testAccuracy).toFixed(1)}%  params ${a.params} (projections ${a.projectionParams})  ${secs.toFixed(1)} s`)
  }
  const dense = new LowRankTransformer({ ...base, generator: new Generator(seed + 1) })
  record('dense', dense, trainDigits(dense, xtr, ytr, epochs, 3e-3, new Generator(seed + 2)))
  for (const rho of [0.5, 0.25]) {
    const m = new LowRankTransformer({ ...base, rank: rho, generator: new Generator(seed + 1) })
    record(`LRT ρ=${rho}`, m, trainDigits(m, xtr, ytr, epochs, 3e-3, new Generator(seed + 2)))
  }
  // Post-hoc: factorize the trained dense model's projections by truncated SVD, then fine-tune briefly.
  const fact = new LowRankTransformer({ ...base, generator: new Generator(seed + 1) })
  fact.loadStateDict(dense.stateDict())
  const blocks = [...fact.blocks] as unknown as { attn: { wq: never; wk: never; wv: never; wo: never }; ff1: never; ff2: never }[]
  autoFactorize(fact, { rank: 0.5, solver: 'svd', only: blocks.flatMap((b) => [b.attn.wq, b.attn.wk, b.attn.wv, b.attn.wo, b.ff1, b.ff2]) })
  record('dense→SVD ρ=0.5', fact, 0)
  record('dense→SVD ρ=0.5 +FT', fact, trainDigits(fact, xtr, ytr, Math.max(1, Math.round(epochs / 4)), 1e-3, new Generator(seed + 3)))
  return { k, scaling: scalingRows, arms }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runGreenformers({ quick: process.argv.includes('--quick'), log: console.log })
  console.log(`\n(a) one attention layer, d = 32, 4 heads, batch 1; Linformer k = ${r.k}`)
  console.log('    n  standard KiB  Linformer KiB  standard ms  Linformer ms  FLOP ratio')
  for (const s of r.scaling) {
    console.log(`${String(s.n).padStart(5)}  ${(s.fullBytes / 1024).toFixed(0).padStart(12)}  ${(s.linformerBytes / 1024).toFixed(0).padStart(13)}  ${s.fullMs.toFixed(2).padStart(11)}  ${s.linformerMs.toFixed(2).padStart(12)}  ${(s.fullFlops / s.linformerFlops).toFixed(1).padStart(10)}`)
  }
  console.log('\n(b) digits, 8 row-tokens, 2-layer d = 32 encoder')
  console.log('arm                      test acc   params  projection params  train s')
  for (const a of r.arms) console.log(`${a.name.padEnd(24)}${(100 * a.testAccuracy).toFixed(1).padStart(8)}%  ${String(a.params).padStart(7)}  ${String(a.projectionParams).padStart(17)}  ${a.trainSeconds.toFixed(1).padStart(7)}`)
}

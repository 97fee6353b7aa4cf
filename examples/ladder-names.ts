/**
 * @file Sheet 76's small demo of Ladder Residual (Zhang et al. 2025, https://arxiv.org/abs/2501.06589):
 * a character LM on the bundled names (all names joined by '.', random windows of 16 characters).
 *   1. standard vs ladder (every layer) transformers, trained from scratch with the same seed and steps:
 *      validation loss (nats/char);
 *   2. the trained standard model with its last 2 layers converted to ladder: loss right after the
 *      conversion and after a short retrain;
 * *   3. simulated tensor-parallel inference (P = 2, 4 ranks in one process, measured compute per rank,
 *      ring all-reduce latency α per call): step time standard vs ladder, α = 0, 0.5 and 2 ms.
 * Paper claims: similar loss; with communication cost the ladder model is faster (communication hidden
 * behind compute), with none both are equal.
 *
 *   npx tsx examples/ladder-names.ts          # full
 *   npx tsx examples/ladder-names.ts --quick  # a few seconds
 */
import { F, Generator, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { LadderTransformer, TensorParallel, convertToLadder, ringAllReduce } from '../src/nn/arch/76-ladder-residual.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface TPRow { world: number; alphaMs: number; standardMs: number; ladderMs: number; speedup: number }
export interface LadderNamesResult {
  steps: number
  standardLoss: number
  ladderLoss: number
  convertedLossBefore: number
  convertedLossAfter: number
  retrainSteps: number
  tp: TPRow[]
}

const SEQ = 16

function corpus(): { train: number[]; val: number[]; vocab: number } {
  const names = [...loadDataset('names-female'), ...loadDataset('names-male')].map((s) => s.toLowerCase())
  const chars = [...new Set(names.join('.') + '.')].sort()
  const enc = (s: string): number[] => [...s].map((c) => chars.indexOf(c))
  // deterministic split: every 10th name is validation
  return { train: enc(names.filter((_, i) => i % 10 !== 0).join('.')), val: enc(names.filter((_, i) => i % 10 === 0).join('.')), vocab: chars.length }
}

function batchAt(stream: number[], starts: number[]): { x: Tensor; y: Tensor } {
  const xs = starts.map((s) => stream.slice(s, s + SEQ)), ys = starts.map((s) => stream.slice(s + 1, s + SEQ + 1))
  return { x: tensor(xs, { dtype: 'int32' }), y: tensor(ys, { dtype: 'int32' }) }
}

const lossOf = (m: LadderTransformer, b: { x: Tensor; y: Tensor }, vocab: number): Tensor =>
  F.crossEntropy(m.forward(b.x).reshape([-1, vocab]), b.y.reshape([-1]))

function train(m: LadderTransformer, stream: number[], steps: number, seed: number, vocab: number, lr = 3e-3): void {
  const g = new Generator(seed)
  const opt = new optim.AdamW(m.parameters(), { lr, weightDecay: 0.01 })
  for (let s = 0; s < steps; s++) {
    const b = batchAt(stream, Array.from({ length: 32 }, () => g.nextInt(0, stream.length - SEQ - 1)))
    m.zeroGrad()
    lossOf(m, b, vocab).backward()
    opt.step()
  }
}

export function runLadderNames({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): LadderNamesResult {
  const { train: tr, val, vocab } = corpus()
  const steps = quick ? 15 : 250, retrainSteps = quick ? 5 : 50
  const valBatch = batchAt(val, Array.from({ length: quick ? 32 : 256 }, (_, i) => (i * 37) % (val.length - SEQ - 1)))
  const evalLoss = (m: LadderTransformer): number => noGrad(() => lossOf(m, valBatch, vocab).item())
  const cfg = { vocab, d: 32, heads: 4, layers: 4, ff: 64, maxLen: SEQ }
  const std = new LadderTransformer({ ...cfg, ladderLayers: [], generator: new Generator(seed + 1) })
  const lad = new LadderTransformer({ ...cfg, generator: new Generator(seed + 1) }) // same initial weights
  train(std, tr, steps, seed + 2, vocab)
  const standardLoss = evalLoss(std)
  log(`standard: val loss ${standardLoss.toFixed(4)} after ${steps} steps`)
  train(lad, tr, steps, seed + 2, vocab)
  const ladderLoss = evalLoss(lad)
  log(`ladder:   val loss ${ladderLoss.toFixed(4)} after ${steps} steps`)
  const conv = convertToLadder(std, 2)
  const convertedLossBefore = evalLoss(conv)
  train(conv, tr, retrainSteps, seed + 3, vocab, 1e-3)
  const convertedLossAfter = evalLoss(conv)
  log(`standard → ladder (last 2 of 4 layers): val loss ${convertedLossBefore.toFixed(4)} → ${convertedLossAfter.toFixed(4)} after ${retrainSteps} retrain steps`)

  // Simulated TP inference on a batch of 8 sequences. Compute costs are measured (wall time of each
  // rank's shard, slowest rank per step), calibrated as the minimum per step kind over several runs
  // (the machine is shared: the minimum is the least disturbed measurement), and the same calibrated
  // costs drive both schedules, so the comparison isolates the wiring.
  const tokens = valBatch.x.narrow(0, 0, 8)
  const reps = quick ? 2 : 7
  const tp: TPRow[] = []
  for (const world of [2, 4]) {
    const samples: Record<string, number[]> = { embed: [], attn: [], mlp: [], head: [] }
    for (let r = 0; r < reps; r++) {
      for (const m of [std, lad]) for (const st of new TensorParallel(m, { world, comm: ringAllReduce(0) }).forward(tokens).steps) samples[st.kind].push(st.ms)
    }
    const cost = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)]))
    log(`P=${world}: calibrated compute per step (ms): attn ${cost.attn.toFixed(2)}, mlp ${cost.mlp.toFixed(2)}, embed ${cost.embed.toFixed(2)}, head ${cost.head.toFixed(2)}`)
    for (const alphaMs of [0, 0.5, 2]) {
      const timeOf = (m: LadderTransformer): number =>
        new TensorParallel(m, { world, comm: ringAllReduce(alphaMs), computeMs: (kind) => cost[kind] }).forward(tokens).timeMs
      const standardMs = timeOf(std), ladderMs = timeOf(lad)
      tp.push({ world, alphaMs, standardMs, ladderMs, speedup: standardMs / ladderMs })
      log(`TP P=${world} α=${alphaMs} ms: standard ${standardMs.toFixed(2)} ms, ladder ${ladderMs.toFixed(2)} ms (×${(standardMs / ladderMs).toFixed(2)})`)
    }
  }
  return { steps, standardLoss, ladderLoss, convertedLossBefore, convertedLossAfter, retrainSteps, tp }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runLadderNames({ quick: process.argv.includes('--quick'), log: console.log })
  console.log(`\nval loss (nats/char) after ${r.steps} steps: standard ${r.standardLoss.toFixed(4)}, ladder ${r.ladderLoss.toFixed(4)} (${(100 * (r.ladderLoss / r.standardLoss - 1)).toFixed(1)}%)`)
  console.log(`converted last 2 layers: ${r.convertedLossBefore.toFixed(4)} right after, ${r.convertedLossAfter.toFixed(4)} after ${r.retrainSteps} retrain steps`)
  console.log('P  α (ms)  standard (ms)  ladder (ms)  speed-up')
  for (const t of r.tp) console.log(`${t.world}  ${String(t.alphaMs).padStart(6)}  ${t.standardMs.toFixed(2).padStart(13)}  ${t.ladderMs.toFixed(2).padStart(11)}  ${t.speedup.toFixed(2).padStart(8)}x`)
}

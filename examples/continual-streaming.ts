/**
 * @file Sheet 18's small demo of Continual Inference Networks (Hedegaard, "Efficient Online Processing
 * with Deep Neural Networks", https://arxiv.org/abs/2306.13474): streaming forecasting of the monthly
 * CO2 series (data/co2-concentration.csv).
 *
 * Model (offline, clip in): a window of L months (B, 1, L) → 3 × [Conv1d k=3 (no padding) + ReLU]
 * → (B, 16, n = L − 6) → TransformerEncoderLayer(d 16, 2 heads, ff 32) → last token → Linear → the
 * next month's (standardised) month-to-month change. It is trained offline with AdamW on sliding windows of the first
 * 80% of the series. Deployment compares, for every month of the whole series:
 *   offline    recompute the model on the last L months (what a clip model must do per prediction)
 *   continual  co.Sequential(co.Conv1d ×3) + co.TransformerEncoderLayer(window n) + head, one
 *              frame per step (weights copied with fromOffline)
 * Measured: max |offline − continual| over all steps, per-step wall time of each, multiplies per step
 * (analytic, checked against matmul counts in the tests), and the forecast error on the held-out 20%.
 * The paper's claim: identical outputs, per-step cost ~L× lower for the attention (single output)
 * and for the convolutions (one output frame per step instead of the whole window).
 *
 *   npx tsx examples/continual-streaming.ts            # full run (L = 32)
 *   npx tsx examples/continual-streaming.ts --quick    # a few seconds (L = 16)
 */
import { Generator, nn, noGrad, optim, stack, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import * as co from '../src/nn/arch/18-continual-inference.ts'
import * as cot from '../src/nn/arch/18-continual-transformer.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface StreamingResult {
  window: number
  tokens: number
  steps: number
  trainLoss: number[]
  maxAbsDiff: number
  offlineMsPerStep: number
  continualMsPerStep: number
  offlineFlopsPerStep: number
  continualFlopsPerStep: number
  attentionFlops: { offline: number; continual: number }
  convFlops: { offline: number; continual: number }
  testMse: number
  naiveMse: number
}

const C = 16, FF = 32, K = 3

/** The offline clip model: 3 valid k=3 convs + ReLU, one encoder layer, a linear head on the last token. */
export class ClipForecaster extends nn.Module {
  convs: nn.Sequential
  encoder: nn.TransformerEncoderLayer
  head: nn.Linear
  constructor(g: Generator) {
    super()
    this.convs = new nn.Sequential(
      new nn.Conv1d(1, C, K, { generator: g }), new nn.ReLU(),
      new nn.Conv1d(C, C, K, { generator: g }), new nn.ReLU(),
      new nn.Conv1d(C, C, K, { generator: g }), new nn.ReLU(),
    )
    this.encoder = new nn.TransformerEncoderLayer(C, 2, { dimFeedforward: FF, dropout: 0, batchFirst: true, generator: g })
    this.head = new nn.Linear(C, 1, { generator: g })
  }
  /** window (B, 1, L) → (B, 1) */
  forward(x: Tensor): Tensor {
    const h = this.convs.forward<Tensor>(x).transpose(1, 2) // (B, n, C)
    const z = this.encoder.forward(h) // (B, n, C)
    return this.head.forward(z.select(1, z.shape[1] - 1))
  }
}

/** The continual twin: the same weights, one frame (B, 1) in, one prediction (B, 1) out per step. */
export class ContinualForecaster {
  readonly convs: co.Sequential
  readonly encoder: cot.TransformerEncoderLayer
  constructor(readonly offline: ClipForecaster, readonly window: number) {
    const m = offline.convs
    this.convs = new co.Sequential(
      co.Conv1d.fromOffline(m[0] as nn.Conv1d), new nn.ReLU(),
      co.Conv1d.fromOffline(m[2] as nn.Conv1d), new nn.ReLU(),
      co.Conv1d.fromOffline(m[4] as nn.Conv1d), new nn.ReLU(),
    )
    this.encoder = cot.TransformerEncoderLayer.fromOffline(offline.encoder, { window: window - this.convs.delay })
  }
  step(frame: Tensor): Tensor | null {
    const h = this.convs.forwardStep(frame) // (B, C) once the conv delay (6) is filled
    if (!h) return null
    return this.offline.head.forward(this.encoder.forwardStep(h))
  }
  reset(): void { this.convs.reset(); this.encoder.reset() }
}

export function runContinualStreaming(opts: DemoOptions = {}): StreamingResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const L = quick ? 16 : 32, trainSteps = quick ? 30 : 300, batch = 32
  const co2 = Array.from(loadDataset('co2-concentration').co2.data() as Float32Array)
  // Month-to-month changes (the trend-free part: a seasonal cycle plus noise).
  const raw = co2.slice(1).map((v, i) => v - co2[i])
  const series = quick ? raw.slice(0, 300) : raw
  const split = Math.floor(series.length * 0.8)
  const mean = series.slice(0, split).reduce((a, b) => a + b, 0) / split
  const std = Math.sqrt(series.slice(0, split).reduce((a, b) => a + (b - mean) ** 2, 0) / split)
  const z = series.map((v) => (v - mean) / std)
  const g = new Generator(seed)
  const model = new ClipForecaster(g)

  // Offline training on random windows of the first 80%: predict z[t + 1] from z[t − L + 1..t].
  const opt = new optim.AdamW(model.parameters(), { lr: 3e-3 })
  const trainLoss: number[] = []
  for (let s = 0; s < trainSteps; s++) {
    const starts = Array.from({ length: batch }, () => g.nextInt(0, split - L - 1))
    const x = tensor(starts.map((i) => [z.slice(i, i + L)])) // (B, 1, L)
    const y = tensor(starts.map((i) => [z[i + L]])) // (B, 1)
    const loss = nn.losses.mseLoss(model.forward(x), y)
    model.zeroGrad()
    loss.backward()
    opt.step()
    trainLoss.push(loss.item())
  }
  log(`trained ${trainSteps} AdamW steps: loss ${trainLoss[0].toFixed(4)} -> ${trainLoss.at(-1)!.toFixed(4)}`)
  model.eval()

  // Stream the whole series through both. A first pass over 100 months warms up the JIT; the
  // measured pass times each step of both, interleaved, and reports medians (the machine is shared).
  const cm = new ContinualForecaster(model, L)
  const frames = z.map((v) => tensor([[v]])) // (1, 1) each
  const windowAt = (t: number): Tensor => stack(frames.slice(t - L + 1, t + 1), 2).reshape([1, 1, L]) // (1, 1, L)
  noGrad(() => {
    for (let t = 0; t < Math.min(100, frames.length); t++) { cm.step(frames[t]); if (t >= L - 1) model.forward(windowAt(t)) }
  })
  cm.reset()
  let maxAbsDiff = 0, sq = 0, sqNaive = 0, nTest = 0, steps = 0
  const tOff: number[] = [], tCo: number[] = []
  noGrad(() => {
    for (let t = 0; t < frames.length; t++) {
      let t0 = performance.now()
      const yc = cm.step(frames[t])
      tCo.push(performance.now() - t0)
      // Steps 6..L-2 already emit (attention over the tokens seen so far); compare once the window is full.
      if (t < L - 1) continue
      const w = windowAt(t)
      t0 = performance.now()
      const yo = model.forward(w)
      tOff.push(performance.now() - t0)
      const a = yo.item(), b = yc!.item()
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a - b))
      steps++
      if (t >= split && t + 1 < z.length) { sq += (b - z[t + 1]) ** 2; sqNaive += (z[t - 11] - z[t + 1]) ** 2; nTest++ }
    }
  })
  const median = (v: number[]): number => { const s = [...v].sort((x, y) => x - y); return s[Math.floor(s.length / 2)] }

  // Multiplies per prediction (matmul MACs, batch 1).
  const n = L - 6
  const convCo = cm.convs.flopsPerStep()
  const convOff = [1, C, C].reduce((s, cin, i) => s + (L - 2 * (i + 1)) * K * cin * C, 0)
  const attCo = cot.singleOutputMhaStepFlops(C, n), attOff = cot.mhaWindowFlops(C, n)
  const head = C
  const continualFlopsPerStep = convCo + cm.encoder.flopsPerStep() + head
  const offlineFlopsPerStep = convOff + cm.encoder.windowFlops() + head
  const r: StreamingResult = {
    window: L, tokens: n, steps, trainLoss, maxAbsDiff,
    offlineMsPerStep: median(tOff), continualMsPerStep: median(tCo.slice(L - 1)),
    offlineFlopsPerStep, continualFlopsPerStep,
    attentionFlops: { offline: attOff, continual: attCo }, convFlops: { offline: convOff, continual: convCo },
    testMse: sq / nTest, naiveMse: sqNaive / nTest,
  }
  log(`streamed ${frames.length} months, ${steps} predictions compared; max |offline - continual| = ${maxAbsDiff.toExponential(2)}`)
  return r
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runContinualStreaming({ quick: process.argv.includes('--quick'), seed: 0, log: console.log })
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}x`
  console.log(`window L = ${r.window} months (conv stack -> n = ${r.tokens} attention tokens), ${r.steps} steps`)
  console.log(`max |offline - continual| prediction difference (float32): ${r.maxAbsDiff.toExponential(2)}`)
  console.log(`multiplies per step   offline ${r.offlineFlopsPerStep}   continual ${r.continualFlopsPerStep}   (${ratio(r.offlineFlopsPerStep, r.continualFlopsPerStep)})`)
  console.log(`  attention           offline ${r.attentionFlops.offline}   continual ${r.attentionFlops.continual}   (${ratio(r.attentionFlops.offline, r.attentionFlops.continual)}; = n)`)
  console.log(`  convolutions        offline ${r.convFlops.offline}   continual ${r.convFlops.continual}   (${ratio(r.convFlops.offline, r.convFlops.continual)})`)
  console.log(`median time per step  offline ${r.offlineMsPerStep.toFixed(3)} ms   continual ${r.continualMsPerStep.toFixed(3)} ms   (${ratio(r.offlineMsPerStep, r.continualMsPerStep)})`)
  console.log(`held-out forecast MSE of the monthly change (standardised): model ${r.testMse.toFixed(4)}, seasonal-naive baseline (same month last year) ${r.naiveMse.toFixed(4)}`)
}

/**
 * @file Sheet 74's small demo of EfficientTDNN's modules (Wang et al. 2022, "EfficientTDNN: Efficient
 * Architecture Search for Speaker Recognition", https://arxiv.org/abs/2103.13581): speaker
 * verification on digit "utterances".
 *
 * There is no speech data bundled, so each 8x8 digit is read as an utterance of 8 frames (rows) x 8
 * features (pixels), and its class is the "speaker". A tiny TDNN (Conv+ReLU+BN, 2 SE-Res2 dilated
 * blocks with dense sum aggregation, 1x1 cat conv, pooling, BN-Linear-BN embedding) is trained with
 * AAM-softmax (m = 0.2, s = 30) on speakers 0-6. We report
 *   - closed-set accuracy on held-out utterances of speakers 0-6 (cosine to the AAM class weights),
 *   - verification EER on all pairs of held-out utterances of the unseen speakers 7-9 (cosine score),
 * for attentive statistics pooling (ASP, with global context) vs plain statistics pooling (mean and
 * std, the baseline of the paper's pooling comparison). The claim: ASP beats plain stats pooling.
 *
 *   npx tsx examples/tdnn-speakers.ts            # full run
 *   npx tsx examples/tdnn-speakers.ts --quick    # a few seconds
 */
import { Generator, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { AAMSoftmax, TDNNSpeakerNet, eer } from '../src/nn/arch/74-efficienttdnn.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

interface Split { x: Tensor; y: Tensor }
/** Utterances (N, 8 features, 8 frames) with pixels in [0, 1]; train speakers 0-6, unseen 7-9. */
function makeTask(seed: number): { train: Split; test: Split; unseen: Split } {
  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16).reshape([-1, 8, 8]).transpose(1, 2).contiguous() // (N, F=8 pixels, T=8 rows)
  const { train, test } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  const labels = y.data() as Int32Array
  const take = (ids: Int32Array, keep: (c: number) => boolean): Split => {
    const sel = [...ids].filter((i) => keep(labels[i]))
    const t = tensor(sel, { dtype: 'int32' })
    return { x: x.indexSelect(0, t), y: tensor(sel.map((i) => labels[i]), { dtype: 'int32' }) }
  }
  const trainIds = train.data() as Int32Array, testIds = test.data() as Int32Array
  return { train: take(trainIds, (c) => c < 7), test: take(testIds, (c) => c < 7), unseen: take(testIds, (c) => c >= 7) }
}

export interface PoolingResult {
  pooling: 'asp' | 'stats'
  /** Closed-set accuracy on held-out utterances of the 7 training speakers. */
  accuracy: number
  /** EER (fraction) on all pairs of held-out utterances of unseen speakers 7-9. */
  eerUnseen: number
  /** EER on pairs of held-out utterances of the training speakers. */
  eerSeen: number
  pairs: number
  finalLoss: number
}

/** Cosine scores and same-speaker labels of all unordered pairs. */
function pairs(emb: Tensor, y: Tensor): { scores: number[]; labels: number[] } {
  const e = emb.div(emb.norm(2, 1, true)), S = e.matmul(e.T).data() as Float32Array, lab = y.data() as Int32Array, n = lab.length
  const scores: number[] = [], labels: number[] = []
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) { scores.push(S[i * n + j]); labels.push(lab[i] === lab[j] ? 1 : 0) }
  return { scores, labels }
}

/**
 * Sets every BatchNorm's running statistics to the statistics of one full pass over `x` (train-mode
 * forward with momentum 1), as OFA / EfficientTDNN recalibrate BN before evaluating a network. Without
 * it the running averages lag the last, fast-changing steps of a short training run.
 */
export function recalibrateBatchNorm(net: nn.Module, x: Tensor): void {
  const bns = [...net.modules()].filter((m) => m instanceof nn.BatchNorm1d) as unknown as { momentum: number | null }[]
  const saved = bns.map((b) => b.momentum)
  net.train()
  noGrad(() => {
    for (const b of bns) b.momentum = 1
    ;(net.forward as (t: Tensor) => Tensor)(x)
  })
  bns.forEach((b, i) => { b.momentum = saved[i] })
}

function trainOne(pooling: 'asp' | 'stats', task: ReturnType<typeof makeTask>, epochs: number, seed: number): PoolingResult {
  const g = new Generator(seed)
  const net = new TDNNSpeakerNet({ inFeatures: 8, channels: 16, blocks: 2, kernelSize: 3, scale: 4, catChannels: 48, attentionChannels: 16, embDim: 32, pooling, generator: g })
  const aam = new AAMSoftmax(32, 7, { margin: 0.2, scale: 30, generator: g })
  const params = [...net.parameters(), ...aam.parameters()]
  const opt = new optim.Adam(params, { lr: 3e-3 })
  const n = task.train.x.shape[0], batch = 64
  let finalLoss = NaN
  for (let e = 0; e < epochs; e++) {
    const order = [...Array(n).keys()]
    for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
    for (let s = 0; s + 8 <= n; s += batch) {
      const ids = tensor(order.slice(s, s + batch), { dtype: 'int32' })
      opt.zeroGrad()
      const loss = aam.forward(net.forward(task.train.x.indexSelect(0, ids)), task.train.y.indexSelect(0, ids))
      loss.backward()
      opt.step()
      finalLoss = loss.item()
    }
  }
  recalibrateBatchNorm(net, task.train.x)
  net.eval()
  return noGrad(() => {
    const embTest = net.forward(task.test.x)
    const accuracy = aam.cosine(embTest).argmax(1).eq(task.test.y).float().mean().item()
    const un = pairs(net.forward(task.unseen.x), task.unseen.y), seen = pairs(embTest, task.test.y)
    return { pooling, accuracy, eerUnseen: eer(un.scores, un.labels), eerSeen: eer(seen.scores, seen.labels), pairs: un.scores.length, finalLoss }
  })
}

export interface TDNNSpeakersResult { results: PoolingResult[]; trainUtterances: number; seconds: number }

export function runTDNNSpeakers(opts: DemoOptions = {}): TDNNSpeakersResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const t0 = performance.now()
  const task = makeTask(seed)
  if (quick) task.train = { x: task.train.x.slice(0, 0, 400), y: task.train.y.slice(0, 0, 400) }
  log(`digit "utterances" (8 frames x 8 features): ${task.train.x.shape[0]} train (speakers 0-6), ${task.test.x.shape[0]} held-out seen, ${task.unseen.x.shape[0]} held-out unseen (7-9)`)
  const results: PoolingResult[] = []
  for (const pooling of ['asp', 'stats'] as const) {
    const r = trainOne(pooling, task, quick ? 4 : 30, seed + 1)
    results.push(r)
    log(`  ${pooling === 'asp' ? 'attentive stats pooling' : 'plain stats pooling    '}: accuracy ${(100 * r.accuracy).toFixed(1)}%, ` +
      `EER unseen ${(100 * r.eerUnseen).toFixed(2)}% (${r.pairs} pairs), EER seen ${(100 * r.eerSeen).toFixed(2)}%, final loss ${r.finalLoss.toFixed(3)}`)
  }
  return { results, trainUtterances: task.train.x.shape[0], seconds: (performance.now() - t0) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runTDNNSpeakers({ quick: process.argv.includes('--quick'), log: (l) => console.log(l) })
  console.log(`done in ${r.seconds.toFixed(1)} s`)
}

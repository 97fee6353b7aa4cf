/**
 * @file Sheet 59's demo (BudgetLongformer, https://arxiv.org/abs/2211.17135): ELECTRA-style
 * replaced-token-detection pretraining (Clark et al. 2020, https://arxiv.org/abs/2003.10555) of a
 * tiny Longformer-attention encoder (banded window + a global [CLS] token) on the characters of
 * the bundled spam-subjects.csv, then a downstream spam/ham task on the same subjects.
 *
 * Arms, both starting from the SAME initial discriminator weights (one seed):
 *   from scratch   the encoder as initialised
 *   RTD-pretrained the encoder after ELECTRA pretraining (generator MLM + 50 x discriminator RTD loss)
 * Downstream: a linear probe (logistic regression on frozen [CLS] + mean-pooled features) and, in
 * full mode, full fine-tuning of encoder + head for the same number of steps. Reported: held-out
 * accuracy of each, the majority-class rate, and the RTD loss / accuracy before and after pretraining.
 * The paper's claim (direction): RTD pretraining gives a better encoder for the downstream task than
 * training from scratch at the same downstream budget.
 *
 *   npx tsx examples/electra-spam.ts            # full run (about two minutes)
 *   npx tsx examples/electra-spam.ts --quick    # a few seconds
 */
import { Generator, cat, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { ELECTRA, ElectraDiscriminator, ElectraGenerator, LongformerEncoder, MLM } from '../src/nn/arch/59-budgetlongformer.ts'

/** `pretrainLr` (default 2e-3) and `pretrainSteps` (default 12 quick, 400 full) override the pretraining budget. */
export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void; pretrainLr?: number; pretrainSteps?: number }

export interface ElectraSpamResult {
  vocabSize: number
  seqLen: number
  pretrainSteps: number
  /** Discriminator RTD loss on held-out batches before and after pretraining. */
  rtdLossBefore: number
  rtdLossAfter: number
  /** Accuracy of the replaced/original decision on held-out corrupted batches, after pretraining. */
  rtdAccuracyAfter: number
  /** The same accuracy of always answering "original" (the trivial baseline). */
  rtdAllOriginal: number
  majority: number
  probe: { scratch: number; pretrained: number }
  finetune: { scratch: number; pretrained: number } | null
  seconds: number
}

const PAD = 0, MASK = 1, CLS = 2, UNK = 3

/** Character ids: the specials, then every character seen at least `minCount` times in `texts`. */
function charTable(texts: string[], minCount: number): Map<string, number> {
  const counts = new Map<string, number>()
  for (const t of texts) for (const ch of t) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  const chars = [...counts].filter(([, n]) => n >= minCount).map(([c]) => c).sort()
  return new Map(chars.map((c, i) => [c, i + 4]))
}

/** [CLS] + the first L - 1 characters, PAD-filled: (N, L) int32. */
function encode(texts: string[], table: Map<string, number>, L: number): Tensor {
  return tensor(texts.map((t) => {
    const ids = [CLS, ...[...t].slice(0, L - 1).map((ch) => table.get(ch) ?? UNK)]
    while (ids.length < L) ids.push(PAD)
    return ids
  }), { dtype: 'int32' })
}

/** Frozen features (N, 2D): the [CLS] state and the mean over non-pad positions. */
function features(enc: LongformerEncoder, ids: Tensor): Tensor {
  return noGrad(() => {
    const rows: Tensor[] = []
    for (let s = 0; s < ids.shape[0]; s += 256) {
      const x = ids.narrow(0, s, Math.min(256, ids.shape[0] - s)) // (n, L)
      const h = enc.forward(x) // (n, L, D)
      const keep = x.ne(PAD).float().unsqueeze(-1) // (n, L, 1)
      rows.push(cat([h.select(1, 0), h.mul(keep).sum(1).div(keep.sum(1))], 1)) // (n, 2D)
    }
    return cat(rows, 0)
  })
}

/** Logistic-regression probe on standardised features; returns held-out accuracy. */
function probe(trainX: Tensor, trainY: Tensor, testX: Tensor, testY: Tensor, steps: number, seed: number): number {
  const mu = trainX.mean(0, true), sd = trainX.std(0, { keepdim: true }).add(1e-6)
  const [a, b] = [trainX.sub(mu).div(sd), testX.sub(mu).div(sd)]
  const head = new nn.Linear(a.shape[1], 2, { generator: new Generator(seed) })
  const opt = new optim.AdamW(head.parameters(), { lr: 0.05, weightDecay: 1e-2 })
  for (let s = 0; s < steps; s++) {
    opt.zeroGrad(); nn.losses.crossEntropy(head.forward(a), trainY).backward(); opt.step()
  }
  return noGrad(() => head.forward(b).argmax(1).eq(testY).float().mean().item())
}

/** Classifier for fine-tuning: encoder, then a linear head on [CLS] + mean-pooled states. */
class SpamClassifier extends nn.Module {
  head: nn.Linear
  constructor(readonly encoder: LongformerEncoder, seed: number) {
    super()
    this.head = new nn.Linear(2 * encoder.opts.dModel, 2, { generator: new Generator(seed) })
  }
  forward(x: Tensor): Tensor {
    const h = this.encoder.forward(x) // (B, L, D)
    const keep = x.ne(PAD).float().unsqueeze(-1) // (B, L, 1)
    return this.head.forward(cat([h.select(1, 0), h.mul(keep).sum(1).div(keep.sum(1))], 1)) // (B, 2)
  }
}

function finetune(enc: LongformerEncoder, d: Split, steps: number, seed: number): number {
  const model = new SpamClassifier(enc, seed)
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 1e-2 })
  const g = new Generator(seed + 1)
  const n = d.trainIds.shape[0]
  for (let s = 0; s < steps; s++) {
    const idx = tensor(Array.from({ length: 32 }, () => g.nextInt(0, n)), { dtype: 'int32' })
    opt.zeroGrad()
    nn.losses.crossEntropy(model.forward(d.trainIds.indexSelect(0, idx)), d.trainY.indexSelect(0, idx)).backward()
    opt.step()
  }
  model.eval()
  return noGrad(() => {
    let ok = 0
    for (let s = 0; s < d.testIds.shape[0]; s += 256) {
      const len = Math.min(256, d.testIds.shape[0] - s)
      ok += model.forward(d.testIds.narrow(0, s, len)).argmax(1).eq(d.testY.narrow(0, s, len)).float().sum().item()
    }
    return ok / d.testIds.shape[0]
  })
}

interface Split { trainIds: Tensor; trainY: Tensor; testIds: Tensor; testY: Tensor }

/** Discriminator RTD loss and accuracy on fixed held-out batches (seeded masking and sampling). */
function rtdEval(gen: ElectraGenerator, disc: ElectraDiscriminator, ids: Tensor, vocabSize: number, seed: number): { loss: number; accuracy: number; allOriginal: number } {
  const mlm = new MLM({ vocabSize, maskId: MASK, padId: PAD, rng: new Generator(seed) })
  const e = new ELECTRA({ generator: gen, discriminator: disc, mlm, rng: new Generator(seed + 1) })
  return noGrad(() => {
    const out = e.forward(ids)
    const keep = ids.ne(PAD)
    const n = keep.float().sum().item()
    const hit = out.discLogits.gt(0).eq(out.replaced).logicalAnd(keep).float().sum().item() / n
    return { loss: out.discLoss.item(), accuracy: hit, allOriginal: 1 - out.replaced.logicalAnd(keep).float().sum().item() / n }
  })
}

/** Pretrains with RTD and compares pretrained vs from-scratch encoders on spam detection. */
export function runElectraSpam(opts: DemoOptions = {}): ElectraSpamResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const t0 = performance.now()
  const { texts, labels } = loadDataset('spam-subjects')
  const g = new Generator(seed)
  const { train, test } = trainTestSplit(texts.length, 0.25, g)
  let trainIdx = [...(train.data() as Int32Array)], testIdx = [...(test.data() as Int32Array)]
  if (quick) { trainIdx = trainIdx.slice(0, 600); testIdx = testIdx.slice(0, 300) }
  const L = 40
  const table = charTable(trainIdx.map((i) => texts[i]), 3)
  const V = table.size + 4
  const y = labels.data() as Int32Array
  const d: Split = {
    trainIds: encode(trainIdx.map((i) => texts[i]), table, L), trainY: tensor(trainIdx.map((i) => y[i]), { dtype: 'int32' }),
    testIds: encode(testIdx.map((i) => texts[i]), table, L), testY: tensor(testIdx.map((i) => y[i]), { dtype: 'int32' }),
  }
  const spamRate = d.testY.float().mean().item()
  const majority = Math.max(spamRate, 1 - spamRate)
  log(`spam-subjects: ${trainIdx.length} train / ${testIdx.length} test subjects, ${V} char ids, L = ${L}; majority class ${(100 * majority).toFixed(1)}%`)

  // Discriminator d = 32 (2 layers, window 4 each side, global [CLS]); generator d = 16, 1 layer, sharing the token embedding.
  const enc = (dModel: number, layers: number, gen: Generator, embedding?: nn.Embedding) =>
    new LongformerEncoder({ vocabSize: V, dModel, heads: 2, layers, window: 4, maxLen: L, global: [0], ffMult: 2, embedding, generator: gen })
  const discEnc = enc(32, 2, new Generator(seed + 1))
  const initial = Object.fromEntries(Object.entries(discEnc.stateDict()).map(([k, v]) => [k, v.clone()]))
  const gen = new ElectraGenerator(enc(16, 1, new Generator(seed + 2), discEnc.embedding))
  const disc = new ElectraDiscriminator(discEnc)
  const mlm = new MLM({ vocabSize: V, maskId: MASK, padId: PAD, maskProb: 0.15, rng: new Generator(seed + 3) })
  const electra = new ELECTRA({ generator: gen, discriminator: disc, mlm, rng: new Generator(seed + 4), discWeight: 50 })
  const heldOut = d.testIds.narrow(0, 0, Math.min(256, d.testIds.shape[0]))
  const before = rtdEval(gen, disc, heldOut, V, seed + 5)

  const steps = opts.pretrainSteps ?? (quick ? 12 : 400), batch = 32
  const opt = new optim.AdamW(electra.parameters(), { lr: opts.pretrainLr ?? 2e-3, weightDecay: 1e-2 })
  const bg = new Generator(seed + 6)
  for (let s = 0; s < steps; s++) {
    const idx = tensor(Array.from({ length: batch }, () => bg.nextInt(0, d.trainIds.shape[0])), { dtype: 'int32' })
    const out = electra.forward(d.trainIds.indexSelect(0, idx))
    opt.zeroGrad(); out.loss.backward(); optim.clipGradNorm(electra.parameters(), 1); opt.step()
    if (s % 50 === 0 || s === steps - 1) log(`pretrain step ${s}: MLM ${out.mlmLoss.item().toFixed(3)}, RTD ${out.discLoss.item().toFixed(4)}`)
  }
  const after = rtdEval(gen, disc, heldOut, V, seed + 5)
  log(`held-out RTD loss ${before.loss.toFixed(4)} -> ${after.loss.toFixed(4)}, replaced/original accuracy ${(100 * after.accuracy).toFixed(1)}% (always "original": ${(100 * after.allOriginal).toFixed(1)}%)`)

  const scratchEnc = enc(32, 2, new Generator(seed + 1))
  scratchEnc.loadStateDict(initial)
  const probeSteps = quick ? 100 : 300
  const pScratch = probe(features(scratchEnc, d.trainIds), d.trainY, features(scratchEnc, d.testIds), d.testY, probeSteps, seed)
  const pPre = probe(features(discEnc, d.trainIds), d.trainY, features(discEnc, d.testIds), d.testY, probeSteps, seed)
  log(`linear probe: from scratch ${(100 * pScratch).toFixed(1)}%, RTD-pretrained ${(100 * pPre).toFixed(1)}%`)
  let ft: ElectraSpamResult['finetune'] = null
  if (!quick) {
    const ftSteps = 150
    const fScratch = finetune(scratchEnc, d, ftSteps, seed)
    const fPre = finetune(discEnc, d, ftSteps, seed)
    ft = { scratch: fScratch, pretrained: fPre }
    log(`fine-tune (${ftSteps} steps): from scratch ${(100 * fScratch).toFixed(1)}%, RTD-pretrained ${(100 * fPre).toFixed(1)}%`)
  }
  return {
    vocabSize: V, seqLen: L, pretrainSteps: steps, rtdLossBefore: before.loss, rtdLossAfter: after.loss, rtdAccuracyAfter: after.accuracy, rtdAllOriginal: after.allOriginal,
    majority, probe: { scratch: pScratch, pretrained: pPre }, finetune: ft, seconds: (performance.now() - t0) / 1000,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runElectraSpam({ quick: process.argv.includes('--quick'), log: (l) => console.log(l) })
  console.log(`\n| downstream (held-out accuracy) | from scratch | RTD-pretrained |\n|---|---|---|`)
  console.log(`| linear probe | ${(100 * r.probe.scratch).toFixed(1)}% | ${(100 * r.probe.pretrained).toFixed(1)}% |`)
  if (r.finetune) console.log(`| fine-tune | ${(100 * r.finetune.scratch).toFixed(1)}% | ${(100 * r.finetune.pretrained).toFixed(1)}% |`)
  console.log(`majority class ${(100 * r.majority).toFixed(1)}%; RTD loss ${r.rtdLossBefore.toFixed(4)} -> ${r.rtdLossAfter.toFixed(4)}; ${r.seconds.toFixed(1)} s`)
}

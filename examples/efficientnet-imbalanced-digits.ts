/**
 * @file Sheet 47's small demo ("Breast Tumor Classification Using EfficientNet Deep Learning Model",
 * https://arxiv.org/abs/2411.17870): cost-sensitive learning, intensive augmentation and binary →
 * multi-class transfer on an imbalanced proxy task, with a micro EfficientNet (src/nn/arch/35-tinynet.ts).
 *
 * Data: the bundled 8x8 digits, NCHW (N, 1, 8, 8) scaled to [0, 1], split once with a seeded shuffle:
 *   test   400 images (natural, near-balanced class mix)
 *   source 600 images, binary super-task "digit < 5 vs >= 5" (balanced), for pretraining
 *   target the rest (≈ 80 per class) with the "rare subtypes" 8 and 9 cut to 10% (≈ 8 each).
 * Network: EfficientNet with a 4-stage micro table (ds c16, ir e6 c24 s2, ir e6 k5 c40 s2, ir e6 c80),
 * width 0.5, stem 16 → 8 channels at stride 1, head 64, dropout 0.1 (≈ 26k parameters).
 * Arms (same batches, same seeds; transfer = pretrained backbone, new 10-way head, head-only phase with
 * the backbone frozen, then everything at a lower lr):
 *   (a) transfer + plain CE          (b) transfer + class-weighted CE (w_c = N / (C n_c))
 *   (c) transfer + weighted CE + intensive augmentation (affine, jitter, resized crop, noise; p 0.8;
 *       flips and 90° rotations off: they change a digit's class)
 *   (d) from scratch + weighted CE + augmentation (what transfer adds); quick mode runs (a) and (b) only
 * Evaluation re-estimates BN statistics on the task's training images first (src/nn/update-bn.ts).
 * Reported: per-class recall, recall of the rare classes 8 and 9, balanced accuracy, accuracy.
 *
 *   npx tsx examples/efficientnet-imbalanced-digits.ts           # full
 *   npx tsx examples/efficientnet-imbalanced-digits.ts --quick   # a few seconds
 */
import { F, Generator, noGrad, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { EfficientNet } from '../src/nn/arch/35-tinynet.ts'
import {
  augmentPipeline, classCounts, classWeights, classificationReport, fitTransfer, transferHead, weightedCrossEntropy,
  type ClassificationReport,
} from '../src/nn/arch/47-efficientnet-breast-tumor.ts'
import { countParams } from '../src/profile.ts'
import { updateBn } from '../src/nn/update-bn.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface ImbalanceArm {
  name: string
  transfer: boolean
  weighted: boolean
  augment: boolean
  report: ClassificationReport
  /** Mean recall of the rare classes 8 and 9. */
  rareRecall: number
  seconds: number
}

export interface ImbalancedDigitsResult {
  arms: ImbalanceArm[]
  params: number
  /** Target-task training counts per class and the balanced weights used. */
  counts: number[]
  weights: number[]
  /** Held-out accuracy of the pretrained binary model on its own task. */
  binaryAccuracy: number
  trainSize: number
  testSize: number
  steps: { pretrain: number; head: number; finetune: number }
}

export const RARE = [8, 9] as const
const MICRO_ARCH = ['ds_r1_k3_s1_e1_c16_se0.25', 'ir_r1_k3_s2_e6_c24_se0.25', 'ir_r1_k5_s2_e6_c40_se0.25', 'ir_r1_k3_s1_e6_c80_se0.25']

/** The micro EfficientNet of the demo (1-channel 8x8 input). */
export function microEfficientNet(numClasses: number, seed: number): EfficientNet {
  return new EfficientNet({ arch: MICRO_ARCH, width: 0.5, stemSize: 16, stemStride: 1, headSize: 64, inChannels: 1, numClasses, dropRate: 0.1, generator: new Generator(seed) })
}

/** The seeded split: test, balanced binary source, and the imbalanced 10-class target (rare classes kept at `keep`). */
export function imbalancedDigits(seed: number, keep = 0.1): { xTe: Tensor; yTe: Tensor; xSrc: Tensor; ySrc: Tensor; xTr: Tensor; yTr: Tensor } {
  const { x: raw, y } = loadDataset('digits')
  const N = raw.shape[0]
  const x = raw.div(16).reshape([N, 1, 8, 8]) // (N, 1, 8, 8)
  const labels = Array.from(y.data() as ArrayLike<number>)
  const order = [...Array(N).keys()], g = new Generator(seed)
  for (let i = N - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
  const test = order.slice(0, 400), source = order.slice(400, 1000), pool = order.slice(1000)
  const seen = new Map<number, number>(), total = new Map<number, number>()
  for (const i of pool) total.set(labels[i], (total.get(labels[i]) ?? 0) + 1)
  const target = pool.filter((i) => {
    const c = labels[i]
    if (!(RARE as readonly number[]).includes(c)) return true
    const k = seen.get(c) ?? 0
    seen.set(c, k + 1)
    return k < Math.max(1, Math.round(keep * total.get(c)!))
  })
  const idx = (a: number[]): Tensor => tensor(a, { dtype: 'int32' })
  const ySrc = tensor(source.map((i) => (labels[i] >= 5 ? 1 : 0)), { dtype: 'int32' })
  return {
    xTe: x.indexSelect(0, idx(test)).contiguous(), yTe: y.indexSelect(0, idx(test)),
    xSrc: x.indexSelect(0, idx(source)).contiguous(), ySrc,
    xTr: x.indexSelect(0, idx(target)).contiguous(), yTr: y.indexSelect(0, idx(target)),
  }
}

/**
 * Eval-mode predictions after re-estimating the BN statistics on `bnData` (batches of 128): short
 * runs leave the running averages behind the fast-moving weights.
 */
function predict(model: EfficientNet, x: Tensor, bnData: Tensor): Tensor {
  const n = bnData.shape[0]
  updateBn(Array.from({ length: Math.ceil(n / 128) }, (_, i) => bnData.narrow(0, 128 * i, Math.min(128, n - 128 * i))), model)
  model.eval()
  return noGrad(() => model.forward(x).argmax(1))
}

export function runEfficientNetImbalancedDigits({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): ImbalancedDigitsResult {
  const d = imbalancedDigits(seed)
  const batch = 32
  const steps = quick ? { pretrain: 25, head: 5, finetune: 45 } : { pretrain: 200, head: 40, finetune: 260 }
  const counts = classCounts(d.yTr, 10), weights = classWeights(counts, 'balanced')
  log(`target train counts per class: [${counts.join(', ')}] (rare: ${RARE.join(', ')}); balanced weights [${weights.map((w) => w.toFixed(2)).join(', ')}]`)
  const sample = (g: Generator, x: Tensor, y: Tensor): [Tensor, Tensor] => {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, x.shape[0])), { dtype: 'int32' })
    return [x.indexSelect(0, ids), y.indexSelect(0, ids)]
  }

  // Pretraining on the balanced binary source task (the paper's benign / malignant stage).
  const binary = microEfficientNet(2, seed + 1)
  const params = countParams(binary)
  const gp = new Generator(seed + 2)
  const pre = transferHead(binary, 2, { generator: new Generator(seed + 3), freeze: false }) // plain 2-way head
  const t0 = performance.now()
  fitTransfer(binary, pre, { headSteps: 0, fineTuneSteps: steps.pretrain, fineTuneLr: 3e-3, loss: () => { const [xb, yb] = sample(gp, d.xSrc, d.ySrc); return F.crossEntropy(binary.forward(xb), yb) } })
  const binaryAccuracy = predict(binary, d.xTe, d.xSrc).eq(d.yTe.ge(5).int()).float().mean().item()
  log(`binary pretraining (digit < 5 vs >= 5, ${d.xSrc.shape[0]} images, ${steps.pretrain} steps): held-out accuracy ${(100 * binaryAccuracy).toFixed(1)}%  ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  const pretrained = binary.stateDict()

  const plan: [string, boolean, boolean, boolean][] = [
    ['(a) transfer + plain CE', true, false, false],
    ['(b) transfer + weighted CE', true, true, false],
  ]
  // Quick mode trains (a) and (b) only.
  if (!quick) plan.push(['(c) transfer + weighted CE + augmentation', true, true, true], ['(d) scratch + weighted CE + augmentation', false, true, true])
  const arms: ImbalanceArm[] = []
  for (const [name, transfer, weighted, augment] of plan) {
    const model = microEfficientNet(2, seed + 1)
    if (transfer) model.loadStateDict(pretrained)
    const handle = transferHead(model, 10, { generator: new Generator(seed + 4), freeze: transfer })
    const g = new Generator(seed + 5), ga = new Generator(seed + 6) // same batches in every arm
    const start = performance.now()
    fitTransfer(model, handle, {
      headSteps: transfer ? steps.head : 0, fineTuneSteps: steps.finetune + (transfer ? 0 : steps.head), lr: 3e-3, fineTuneLr: transfer ? 1e-3 : 3e-3,
      loss: () => {
        let [xb, yb] = sample(g, d.xTr, d.yTr)
        if (augment) xb = augmentPipeline(xb, { generator: ga, p: 0.8, flips: false, rot90: false, affineMagnitude: 3, jitterMagnitude: 3, cropMinScale: 0.75, noiseSigma: 0.05 })
        return weightedCrossEntropy(model.forward(xb), yb, weighted ? { classWeights: weights } : {})
      },
    })
    const report = classificationReport(predict(model, d.xTe, d.xTr), d.yTe, 10)
    const rareRecall = (report.recall[8] + report.recall[9]) / 2
    const seconds = (performance.now() - start) / 1000
    arms.push({ name, transfer, weighted, augment, report, rareRecall, seconds })
    log(`${name.padEnd(44)} acc ${(100 * report.accuracy).toFixed(1)}%  balanced ${(100 * report.balancedAccuracy).toFixed(1)}%  ` +
      `rare recall (8, 9) ${(100 * report.recall[8]).toFixed(0)}% / ${(100 * report.recall[9]).toFixed(0)}%  macro-F1 ${report.macroF1.toFixed(3)}  ${seconds.toFixed(1)} s`)
    log(`    per-class recall: ${report.recall.map((r) => r.toFixed(2)).join(' ')}`)
  }
  return { arms, params, counts, weights, binaryAccuracy, trainSize: d.xTr.shape[0], testSize: d.xTe.shape[0], steps }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runEfficientNetImbalancedDigits({ quick, log: (l) => console.log(l) })
  console.log(`\nmicro EfficientNet ${r.params} parameters; ${r.trainSize} imbalanced training / ${r.testSize} held-out digits; steps ${JSON.stringify(r.steps)}`)
  const [a, b, c, d] = r.arms
  const pts = (v: number): string => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`
  console.log(`class weighting (b - a):     rare recall ${pts(b.rareRecall - a.rareRecall)} pts, balanced accuracy ${pts(b.report.balancedAccuracy - a.report.balancedAccuracy)} pts`)
  if (c && d) {
    console.log(`+ augmentation (c - b):      rare recall ${pts(c.rareRecall - b.rareRecall)} pts, balanced accuracy ${pts(c.report.balancedAccuracy - b.report.balancedAccuracy)} pts`)
    console.log(`transfer vs scratch (c - d): rare recall ${pts(c.rareRecall - d.rareRecall)} pts, balanced accuracy ${pts(c.report.balancedAccuracy - d.report.balancedAccuracy)} pts`)
  }
  const best = c ?? b
  console.log(`paper's direction (weighting${c ? ' + augmentation' : ''} raise rare-class recall): ${best.rareRecall > a.rareRecall ? 'holds' : 'does not hold'} here`)
}

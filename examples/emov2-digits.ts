/**
 * @file Sheet 02's small demo of EMOv2 (Zhang et al. 2024, "EMOv2: Pushing 5M Vision Model Frontier",
 * https://arxiv.org/abs/2412.06674) on the bundled 8x8 digits.
 *
 * Arms, trained with the same optimizer (AdamW 3e-3, cosine), batch and steps:
 *   EMOv2 hybrid      `EMOv2.preset('tiny8x8')`: stem s1, stage 1 conv i²RMBs (BN, SiLU) 8x8 → 4x4, stage 2
 *                     i²RMBs with hybrid close + remote window attention (window 2 on the 4x4 map, LN, GELU)
 *   EMOv2 close       the same net with close-window attention only (identical parameter count)
 *   EMOv2 conv        every i²RMB with the 1x1-conv EOp (the i²RMB reduced to an inverted residual, no attention)
 *   MobileNetV2       stem + MBConv blocks from src/nn/blocks.ts, sized to the hybrid's parameter count
 * Reported per arm: held-out accuracy (eval mode, BN statistics re-estimated with `updateBn`), parameters,
 * multiply-adds per 8x8 image (profile.countMacs) and training seconds. One seed by default (about 80 s
 * of CPU); `--seeds 3` repeats over seeds (about 4 minutes).
 * The paper's claim (Table 5 / Fig. 5 ablations): attention i²RMBs beat the conv-only IRB at equal size,
 * and the spanning (hybrid) attention beats close-only windows. On 8x8 digits the gaps may be ≤ 1 point.
 *
 *   npx tsx examples/emov2-digits.ts            # full run (about two minutes of CPU)
 *   npx tsx examples/emov2-digits.ts --seeds 3  # three seeds
 *   npx tsx examples/emov2-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, nn, noGrad, profile, zeros, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { updateBn } from '../src/nn/update-bn.ts'
import { trainSampled, type TrainResult } from './lib/digits-vision.ts'
import { ConvBNAct, MBConv } from '../src/nn/blocks.ts'
import { EMOv2, type EOp } from '../src/nn/arch/02-emov2.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void; /** Number of seeds (default 1). */ seeds?: number }

export interface EMOArm {
  name: string
  params: number
  /** Multiply-adds of one forward per 8x8 image. */
  macs: number
  /** Held-out accuracy per seed (eval mode after `updateBn`). */
  accuracies: number[]
  meanAccuracy: number
  /** Mean training loss of the last 10 steps, per seed. */
  trainLosses: number[]
  /** Training seconds per seed. */
  seconds: number[]
}
export interface EMODigitsResult { steps: number; batch: number; seeds: number[]; arms: EMOArm[] }

/** MobileNetV2-like digits net: ConvBNAct(1→16) → MBConv(16→24, s2) → MBConv(24→24) → MBConv(24→36) → MBConv(36→36) → mean → Linear. */
export class DigitsMobileNetV2 extends nn.Module {
  stem: ConvBNAct
  blocks: nn.ModuleList
  head: nn.Linear
  constructor(generator: Generator) {
    super()
    const o = { expand: 4, kernel: 3, act: 'relu6' as const, generator }
    this.stem = new ConvBNAct(1, 16, 3, { act: 'relu6', generator })
    this.blocks = new nn.ModuleList([
      new MBConv(16, 24, { ...o, stride: 2 }), new MBConv(24, 24, { ...o, stride: 1 }),
      new MBConv(24, 36, { ...o, stride: 1 }), new MBConv(36, 36, { ...o, stride: 1 }),
    ])
    this.head = new nn.Linear(36, 10, { generator })
  }
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x) // (B, 16, 8, 8)
    for (const b of this.blocks) h = (b as MBConv).forward(h) // (B, 36, 4, 4)
    return this.head.forward(h.mean([2, 3]))
  }
}

type Model = nn.Module & { forward(x: Tensor): Tensor }

function train(model: Model, x: Tensor, y: Tensor, steps: number, batch: number, g: Generator): TrainResult {
  return trainSampled(model, x, y, { steps, batch, generator: g, lr: 3e-3, weightDecay: 0.05 })
}

const emo = (ops: EOp) => (g: Generator): Model => EMOv2.preset('tiny8x8', { generator: g, ops: [['conv'], [ops]] })

/** Trains every arm on every seed and returns the measured numbers. */
export function runEMOv2Digits(opts: DemoOptions = {}): EMODigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16).reshape([raw.shape[0], 1, 8, 8]) // (1797, 1, 8, 8)
  const { train: tr, test: te } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  const [xTr, yTr, xTe, yTe] = [x.indexSelect(0, tr), y.indexSelect(0, tr), x.indexSelect(0, te), y.indexSelect(0, te)]
  const steps = quick ? 15 : 150, batch = 32
  const seeds = Array.from({ length: opts.seeds ?? 1 }, (_, i) => seed + i)
  const make: [string, (g: Generator) => Model][] = [
    ['EMOv2 hybrid', emo('hybrid')],
    ['EMOv2 close', emo('close')],
    ['EMOv2 conv (no attention)', emo('conv')],
    ['MobileNetV2 (MBConv)', (g) => new DigitsMobileNetV2(g)],
  ]
  const arms = (quick ? [make[0], make[3]] : make).map(([name, build]): EMOArm => {
    const m0 = build(new Generator(0))
    const macs = noGrad(() => profile.countMacs(() => m0.eval().forward(zeros([1, 1, 8, 8]))).macs)
    return { name, params: profile.countParams(m0), macs, accuracies: [], meanAccuracy: 0, trainLosses: [], seconds: [] }
  })
  const builders = new Map(make)
  const bnBatches = Array.from({ length: quick ? 2 : 6 }, (_, i) => xTr.narrow(0, 128 * i, 128))
  for (const s of seeds) {
    for (const arm of arms) {
      const model = builders.get(arm.name)!(new Generator(100 + s))
      const r = train(model, xTr, yTr, steps, batch, new Generator(200 + s))
      updateBn(bnBatches, model) // NOTE: EMA statistics lag weights moved by Adam at 3e-3 (src/nn/update-bn.ts)
      model.eval()
      const acc = noGrad(() => model.forward(xTe).argmax(1).eq(yTe).float().mean().item())
      arm.accuracies.push(acc); arm.trainLosses.push(r.trainLoss); arm.seconds.push(r.seconds)
      log(`seed ${s}  ${arm.name.padEnd(26)} params ${String(arm.params).padStart(6)}  MACs/img ${String(arm.macs).padStart(7)}  ` +
        `test acc ${(100 * acc).toFixed(1)}%  loss ${r.trainLoss.toFixed(3)}  ${r.seconds.toFixed(1)} s`)
    }
  }
  for (const a of arms) a.meanAccuracy = a.accuracies.reduce((p, v) => p + v, 0) / a.accuracies.length
  return { steps, batch, seeds, arms }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const i = process.argv.indexOf('--seeds'), seeds = i > 0 ? Number(process.argv[i + 1]) : 1
  const t0 = performance.now()
  console.log(`EMOv2 demo (${quick ? 'quick' : 'full'}): 8x8 digits, tiny EMOv2 (hybrid / close / conv EOps) vs a MobileNetV2 of the same size`)
  const r = runEMOv2Digits({ quick, seeds, log: (l) => console.log(l) })
  console.log(`${r.steps} steps of batch ${r.batch}, seeds [${r.seeds}]; mean held-out accuracy:`)
  for (const a of r.arms) {
    console.log(`  ${a.name.padEnd(26)} ${(100 * a.meanAccuracy).toFixed(1)}%  (params ${a.params}, MACs/img ${a.macs}, ` +
      `train ${(a.seconds.reduce((p, v) => p + v, 0) / a.seconds.length).toFixed(1)} s/seed)`)
  }
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

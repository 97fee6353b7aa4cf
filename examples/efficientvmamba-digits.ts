/**
 * @file Sheet 71's small demo of EfficientVMamba (Pei, Huang, Xu 2024, "EfficientVMamba: Atrous
 * Selective Scan for Light Weight Visual Mamba", https://arxiv.org/abs/2403.09977).
 *
 * 8x8 digits, patch 1 (an 8x8 grid of tokens), dims [16, 32]: one EVSS stage (ES2D global branch +
 * depthwise-conv local branch, both gated by BiAttn) then one MBConv stage. Three arms trained with the
 * same optimizer, batch and number of steps:
 *   atrous  EfficientVMamba-micro with the step-2 atrous scan (4 branches of 16 pixels)
 *   cross   the same net with VMamba's full cross-scan (4 directions of 64 pixels)
 *   CNN     a plain 3-layer CNN of about the same parameter count
 * Reported: held-out accuracy in eval mode after re-estimating the BatchNorm statistics with the final
 * weights (`updateBn`; also the accuracy with the stale EMA statistics, which lag the weights moved by
 * Adam at lr 5e-3 by several std and collapse eval accuracy), wall time, and for the two scan arms the scan steps per image and channel,
 * the scan's multiply-adds per image (the reference's flops_selective_scan_fn) and the measured time of
 * the 2-D scan core alone, and the share of the selective-scan term C·h in the core's output (the rest is
 * the D·u skip). Quick mode trains the atrous net and the CNN only and measures the cross-scan's cost. The paper's claim: the atrous scan cuts the scan cost ~4x at a small accuracy cost.
 *
 *   npx tsx examples/efficientvmamba-digits.ts            # full run (about two minutes of CPU)
 *   npx tsx examples/efficientvmamba-digits.ts --quick    # about 6 s of CPU, for smoke tests
 */
import { Generator, nn, noGrad, randn, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { EfficientVMamba, type ES2D } from '../src/nn/arch/71-efficientvmamba.ts'
import { updateBn } from '../src/nn/update-bn.ts'
import { trainSampled, type TrainResult } from './lib/digits-vision.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface EVMArm {
  name: string
  params: number
  /** Held-out accuracy in eval mode, after re-estimating BN statistics with the final weights (`updateBn`). */
  testAccuracy: number
  /** Held-out accuracy in eval mode with the EMA running statistics left by training (stale: they lag the weights). */
  staleBnAccuracy: number
  /** Whether the arm was trained (quick mode only measures the cross-scan's cost). */
  trained: boolean
  trainLoss: number
  seconds: number
  /** Scan steps per image and channel in the ES2D layer (0 for the CNN). */
  scanSteps: number
  /** Selective-scan multiply-adds per image (0 for the CNN). */
  scanFlops: number
  /** Milliseconds of one forward of the ES2D scan core on a (64, E, 8, 8) batch (0 for the CNN). */
  coreMs: number
  /** rms of the selective-scan term (C·h, D skip removed) over rms of the whole ES2D core output, on test images. */
  scanShare: number
}
export interface EVMDigitsResult { steps: number; batch: number; arms: EVMArm[] }

/** Conv(1→16) → BN → ReLU → Conv(16→32, stride 2) → BN → ReLU → Conv(32→48) → ReLU → mean → Linear(48→10). */
class DigitsCNN extends nn.Module {
  body: nn.Sequential
  head: nn.Linear
  constructor(generator: Generator) {
    super()
    const o = { generator, padding: 1 }
    this.body = new nn.Sequential(new nn.Conv2d(1, 16, 3, o), new nn.BatchNorm2d(16), new nn.ReLU(),
      new nn.Conv2d(16, 32, 3, { ...o, stride: 2 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.Conv2d(32, 48, 3, o), new nn.ReLU())
    this.head = new nn.Linear(48, 10, { generator })
  }
  forward(x: Tensor): Tensor { return this.head.forward(this.body.forward<Tensor>(x).mean([2, 3])) }
}

type Model = nn.Module & { forward(x: Tensor): Tensor }

function train(model: Model, x: Tensor, y: Tensor, steps: number, batch: number, g: Generator): TrainResult {
  return trainSampled(model, x, y, { steps, batch, generator: g, lr: 5e-3, weightDecay: 0.01 })
}

/** rms(C·h) / rms(C·h + D u) of the first ES2D's core on the images x: how much the selective scan itself contributes. */
function scanTermShare(model: EfficientVMamba, es: ES2D, x: Tensor): number {
  let xc: Tensor | null = null
  const h = es.conv2d.registerForwardHook((_m, _i, out) => { xc = (out as Tensor).silu() })
  noGrad(() => model.forward(x))
  h.remove()
  const full = noGrad(() => es.core(xc!))
  const D = es.Ds.detach().clone()
  noGrad(() => es.Ds.detach().fill_(0))
  const scanOnly = noGrad(() => es.core(xc!))
  noGrad(() => es.Ds.detach().copy_(D))
  const rms = (t: Tensor) => Math.sqrt(t.square().mean().item())
  return rms(scanOnly) / rms(full)
}

/** Trains the three arms (quick mode: atrous and CNN; the cross-scan only measured) and returns the measured numbers. */
export function runEfficientVMambaDigits(opts: DemoOptions = {}): EVMDigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16).reshape([raw.shape[0], 1, 8, 8]) // (1797, 1, 8, 8)
  const { train: tr, test: te } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  const [xTr, yTr, xTe, yTe] = [x.indexSelect(0, tr), y.indexSelect(0, tr), x.indexSelect(0, te), y.indexSelect(0, te)]
  const steps = quick ? 30 : 150, batch = 16
  const arms: EVMArm[] = []
  const make: [string, boolean, () => Model][] = [
    ['atrous (EfficientVMamba)', true, () => EfficientVMamba.preset('micro', { generator: new Generator(seed + 1), scan: 'atrous' })],
    ['cross (VMamba SS2D)', !quick, () => EfficientVMamba.preset('micro', { generator: new Generator(seed + 1), scan: 'cross' })],
    ['CNN', true, () => new DigitsCNN(new Generator(seed + 1))],
  ]
  const bnBatches = Array.from({ length: quick ? 2 : Math.floor(xTr.shape[0] / 128) }, (_, i) => xTr.narrow(0, 128 * i, 128))
  const accuracy = (m: Model) => noGrad(() => m.forward(xTe).argmax(1).eq(yTe).float().mean().item())
  for (const [name, trained, build] of make) {
    const model = build()
    const r = trained ? train(model, xTr, yTr, steps, batch, new Generator(seed + 2)) : { trainLoss: NaN, seconds: 0 }
    model.eval()
    const staleBnAccuracy = trained ? accuracy(model) : NaN
    updateBn(bnBatches, model) // NOTE: the EMA statistics lag the fast-moving weights by several std (see src/nn/update-bn.ts)
    const acc = trained ? accuracy(model) : NaN
    let scanSteps = 0, scanFlops = 0, coreMs = 0, scanShare = 0
    if (model instanceof EfficientVMamba) {
      const es = model.es2dModules()
      noGrad(() => model.forward(xTe.narrow(0, 64, 64)))
      scanSteps = es[0].lastScanSteps
      scanFlops = es.reduce((a, m) => a + m.scanFlops(8, 8), 0)
      const u = randn([64, es[0].E, 8, 8], { generator: new Generator(seed + 3) })
      noGrad(() => es[0].core(u)) // warm-up
      const t0 = performance.now()
      for (let i = 0; i < 3; i++) noGrad(() => es[0].core(u))
      coreMs = (performance.now() - t0) / 3
      scanShare = scanTermShare(model, es[0], xTe.narrow(0, 0, 64))
    }
    arms.push({ name, params: model.numParameters(), testAccuracy: acc, staleBnAccuracy, trained, ...r, scanSteps, scanFlops, coreMs, scanShare })
    log(`${name.padEnd(25)} params ${String(model.numParameters()).padStart(6)}  ` +
      (trained ? `test acc ${(100 * acc).toFixed(1)}% (stale BN stats: ${(100 * staleBnAccuracy).toFixed(1)}%)  loss ${r.trainLoss.toFixed(3)}  ${r.seconds.toFixed(1)} s` : 'not trained in quick mode') +
      (scanSteps ? `  scan steps ${scanSteps}, scan MACs ${scanFlops}, scan core ${coreMs.toFixed(1)} ms/64 imgs, scan-term share ${(100 * scanShare).toFixed(1)}%` : ''))
  }
  return { steps, batch, arms }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const t0 = performance.now()
  console.log(`EfficientVMamba demo (${quick ? 'quick' : 'full'}): 8x8 digits, atrous vs full cross-scan vs CNN at equal steps`)
  const r = runEfficientVMambaDigits({ quick, log: (l) => console.log(l) })
  const [a, c] = r.arms
  console.log(`${r.steps} steps of batch ${r.batch}; cross/atrous: scan steps ${(c.scanSteps / a.scanSteps).toFixed(1)}x, scan MACs ${(c.scanFlops / a.scanFlops).toFixed(1)}x, ` +
    `core time ${(c.coreMs / a.coreMs).toFixed(1)}x` + (c.trained ? `, train time ${(c.seconds / a.seconds).toFixed(2)}x; accuracy cross − atrous ${(100 * (c.testAccuracy - a.testAccuracy)).toFixed(1)} points` : ''))
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

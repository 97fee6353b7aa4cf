/**
 * @file Sheet 04's small demo of SN-Net (Pan, Cai, Zhuang 2023, "Stitchable Neural Networks",
 * https://arxiv.org/abs/2302.06586) on the bundled 8x8 digits.
 *
 * Two ViT anchors of the same depth (4 blocks, patch 4 → 4 tokens + class token) and widths 16 and 32
 * are trained separately. They are stitched into one SN-Net (2 anchors + 10 paired stitch positions =
 * 12 configurations), the stitching layers initialised by least squares on one batch of training
 * images, and the whole SN-Net is trained jointly for a while (one random configuration per step).
 * For every configuration we report multiply-adds per image, parameters and held-out accuracy with
 * (a) randomly initialised stitches, (b) least-squares stitches before joint training, (c) after joint
 * training. The paper's claim: stitches fill the accuracy/FLOPs range between the anchors smoothly,
 * and the LS init already gives working stitches.
 *
 *   npx tsx examples/sn-net-digits.ts            # full run (about two minutes of CPU)
 *   npx tsx examples/sn-net-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { ViT } from '../src/nn/vit.ts'
import { SNNet, initLeastSquares } from '../src/nn/arch/04-sn-net.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface DigitsImages { trainX: Tensor; trainY: Tensor; testX: Tensor; testY: Tensor }

/** Digits as (N, 1, 8, 8) images in [0, 1], seeded 75/25 split. */
export function digitsImages(seed: number): DigitsImages {
  const { x, y } = loadDataset('digits')
  const imgs = x.div(16).reshape([-1, 1, 8, 8]) // (1797, 1, 8, 8)
  const { train, test } = trainTestSplit(imgs.shape[0], 0.25, new Generator(seed))
  return { trainX: imgs.indexSelect(0, train), trainY: y.indexSelect(0, train), testX: imgs.indexSelect(0, test), testY: y.indexSelect(0, test) }
}

type Model = nn.Module & { forward(x: Tensor): Tensor }

/** Minibatch AdamW with a cosine schedule; returns the mean loss of the last 10 steps. */
export function trainSteps(model: Model, params: nn.Parameter[], d: DigitsImages, steps: number, lr: number, g: Generator, batch = 32): number {
  const opt = new optim.AdamW(params, { lr, weightDecay: 0.05 })
  const sched = new optim.CosineAnnealingLR(opt, { tMax: Math.max(1, steps) })
  model.train()
  const last: number[] = []
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, d.trainX.shape[0])), { dtype: 'int32' })
    opt.zeroGrad()
    const l = nn.losses.crossEntropy(model.forward(d.trainX.indexSelect(0, ids)), d.trainY.indexSelect(0, ids))
    l.backward(); opt.step(); sched.step()
    last.push(l.item()); if (last.length > 10) last.shift()
  }
  return last.reduce((a, b) => a + b, 0) / Math.max(1, last.length)
}

/** Held-out accuracy of `model` in eval mode. */
export function accuracy(model: Model, x: Tensor, y: Tensor): number {
  model.eval()
  return noGrad(() => model.forward(x).argmax(1).eq(y).float().mean().item())
}

export interface ConfigResult {
  id: number
  /** e.g. 'anchor 0', '0→1 (j=2, l=1)'. */
  name: string
  macs: number
  params: number
  accRandomStitch: number
  accLeastSquares: number
  accTrained: number
}

export interface SNNetDigitsResult {
  widths: number[]
  depth: number
  anchorAccuracy: number[]
  configs: ConfigResult[]
  /** Mean accuracy over stitched configs: random stitches, LS stitches, after joint training. */
  meanStitchedRandom: number
  meanStitchedLS: number
  meanStitchedTrained: number
  /** After training: mean |acc − line joining the two anchors at the same MACs| over stitched configs within the anchors' MAC range. */
  meanGapToAnchorLine: number
  /** After training: fraction of config pairs ordered by MACs whose accuracies are ordered the same way (ties count half). */
  monotonicity: number
  seconds: number
}

export function runSNNetDigits(opts: DemoOptions = {}): SNNetDigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0
  const log = opts.log ?? (() => {})
  const t0 = performance.now()
  const d = digitsImages(seed)
  const g = new Generator(seed + 1)
  const widths = [16, 32], depth = 4
  const anchorSteps = quick ? 30 : 400, jointSteps = quick ? 6 : 400
  const evalN = quick ? 100 : d.testX.shape[0]
  const tx = d.testX.narrow(0, 0, evalN), ty = d.testY.narrow(0, 0, evalN)
  const anchors = widths.map((D) => new ViT({ imgSize: 8, patchSize: 4, inChans: 1, numClasses: 10, embedDim: D, depth, numHeads: 2, initStd: 1 / Math.sqrt(D), generator: g }))
  const anchorAccuracy = anchors.map((m, i) => {
    const loss = trainSteps(m, m.parameters(), d, anchorSteps, 3e-3, g)
    const acc = accuracy(m, tx, ty)
    log(`anchor ${i} (D=${widths[i]}): train loss ${loss.toFixed(3)}, test acc ${(100 * acc).toFixed(1)}%`)
    return acc
  })
  const sn = new SNNet({ anchors, generator: g })
  const evalAll = (): number[] => sn.configs.map((_, id) => { sn.setConfig(id); return accuracy(sn, tx, ty) })
  const accRandom = evalAll()
  initLeastSquares(sn, d.trainX.narrow(0, 0, 64))
  const accLS = evalAll()
  const jointLoss = trainSteps(sn, sn.parameters(), d, jointSteps, 1e-3, g)
  log(`SN-Net joint training: ${jointSteps} steps, loss ${jointLoss.toFixed(3)}`)
  const accTrained = evalAll()
  const configs: ConfigResult[] = sn.configs.map((c, id) => ({
    id,
    name: c.anchors.length === 1 ? `anchor ${c.anchors[0]}` : `${c.anchors.join('→')} (j=${c.stitches[0][0]}, l=${c.stitches[0][1]})`,
    macs: sn.flops(id), params: sn.params(id), accRandomStitch: accRandom[id], accLeastSquares: accLS[id], accTrained: accTrained[id],
  }))
  const stitched = configs.filter((c) => c.name.includes('→'))
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  const [a0, a1] = [configs[0], configs[1]]
  const inRange = stitched.filter((c) => c.macs >= a0.macs && c.macs <= a1.macs)
  const line = (m: number): number => a0.accTrained + ((m - a0.macs) / (a1.macs - a0.macs)) * (a1.accTrained - a0.accTrained)
  let agree = 0, pairs = 0
  for (const p of configs) for (const q of configs) {
    if (p.macs >= q.macs) continue
    pairs++
    agree += p.accTrained < q.accTrained ? 1 : p.accTrained === q.accTrained ? 0.5 : 0
  }
  const res: SNNetDigitsResult = {
    widths, depth, anchorAccuracy, configs,
    meanStitchedRandom: mean(stitched.map((c) => c.accRandomStitch)),
    meanStitchedLS: mean(stitched.map((c) => c.accLeastSquares)),
    meanStitchedTrained: mean(stitched.map((c) => c.accTrained)),
    meanGapToAnchorLine: mean(inRange.map((c) => Math.abs(c.accTrained - line(c.macs)))),
    monotonicity: agree / Math.max(1, pairs),
    seconds: (performance.now() - t0) / 1000,
  }
  for (const c of [...configs].sort((p, q) => p.macs - q.macs)) {
    log(`${c.name.padEnd(18)} MACs ${String(c.macs).padStart(7)}  params ${String(c.params).padStart(6)}  acc random-stitch ${(100 * c.accRandomStitch).toFixed(1).padStart(5)}%  LS ${(100 * c.accLeastSquares).toFixed(1).padStart(5)}%  trained ${(100 * c.accTrained).toFixed(1).padStart(5)}%`)
  }
  return res
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runSNNetDigits({ quick, log: (l) => console.log(l) })
  console.log(`stitched configs, mean accuracy: random stitches ${(100 * r.meanStitchedRandom).toFixed(1)}%, LS init ${(100 * r.meanStitchedLS).toFixed(1)}%, after joint training ${(100 * r.meanStitchedTrained).toFixed(1)}%`)
  console.log(`after training: mean |acc − anchor line| ${(100 * r.meanGapToAnchorLine).toFixed(2)} points; MACs/accuracy order agreement ${(100 * r.monotonicity).toFixed(1)}%; ${r.seconds.toFixed(1)} s`)
}

/**
 * @file Sheet 03's small demo of ResNet-RS (Bello et al. 2021, "Revisiting ResNets: Improved Training
 * and Scaling Strategies", https://arxiv.org/abs/2103.07579): architecture changes vs training-recipe
 * changes on a small ResNet, in the overfitting regime (600 training digits, the rest held out).
 *
 * Digits are 8x8, upsampled (nearest) to 16x16, NCHW (B, 1, 16, 16). Network: 3 bottleneck stages of
 * one block each (widths 8/16/32, outputs 32/64/128), the stem downsampling 16 → 8 at its first conv.
 * Four arms, same optimizer (SGD momentum 0.9, cosine lr), steps and seed:
 *   (a) vanilla        plain stem (7x7 conv + max-pool), strided 1x1 shortcut, no SE; wd 1e-4
 *   (b) RS arch        ResNet-D stem (3x3 convs, conv instead of max-pool), ResNet-D shortcut, SE 0.25
 *   (c) RS recipe      vanilla arch + RandAugment (n 2, m 5) + label smoothing 0.1 + EMA of weights
 *                      + stochastic depth 0.1 + dropout 0.25 before the head; wd 4e-5
 *   (d) RS arch + recipe
 * Reported per arm: held-out accuracy (EMA weights for the recipe arms, also the live weights),
 * parameters and training time. The paper's claim (Table 1): training-recipe gains ≥ architecture gains.
 *
 *   npx tsx examples/resnet-rs-digits.ts           # full: 8 epochs (~1 min of CPU)
 *   npx tsx examples/resnet-rs-digits.ts --epochs 24   # longer training, where the recipe pays off (~3-4 min)
 *   npx tsx examples/resnet-rs-digits.ts --quick   # a few seconds
 */
import { F, Generator, noGrad, optim, profile, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { ResNetRS } from '../src/nn/arch/03-resnet-rs.ts'
import { EMA } from '../src/optim/ema.ts'
import { randAugment } from '../src/data/augment.ts'

export interface DemoOptions {
  quick?: boolean; seed?: number; log?: (line: string) => void
  /** Overrides: epochs, RandAugment magnitude (default 5) and which arms to train (default: all four; quick: a, d). */
  epochs?: number; magnitude?: number; arms?: ('a' | 'b' | 'c' | 'd')[]
}

export interface RSArm {
  name: string
  arch: 'vanilla' | 'rs'
  recipe: 'vanilla' | 'rs'
  params: number
  /** Held-out accuracy of the weights the arm evaluates with (EMA weights when the recipe has EMA). */
  testAccuracy: number
  /** Held-out accuracy of the live (non-averaged) weights. */
  liveAccuracy: number
  trainAccuracy: number
  seconds: number
}
export interface ResNetRSDigitsResult {
  arms: RSArm[]; epochs: number; steps: number; trainSize: number; testSize: number
  /** (b) − (a), (c) − (a) and (d) − (a), in accuracy points (NaN for arms quick mode skips). */
  archGain: number; recipeGain: number; bothGain: number
}

/** 8x8 → 16x16 nearest upsampling of (N, 64) rows to (N, 1, 16, 16). */
export function upsampleDigits(x: Tensor): Tensor {
  const N = x.shape[0]
  return x.reshape([N, 1, 8, 1, 8, 1]).expand([N, 1, 8, 2, 8, 2]).reshape([N, 1, 16, 16])
}

function makeNet(arch: 'vanilla' | 'rs', recipe: 'vanilla' | 'rs', seed: number): ResNetRS {
  const rs = arch === 'rs'
  return new ResNetRS({
    layers: [1, 1, 1], widths: [8, 16, 32], stemWidths: [8, 8, 16], stemStrides: [2, 1], inChannels: 1, numClasses: 10,
    stem: rs ? 'resnetD' : 'plain', shortcut: rs ? 'resnetD' : 'plain', seRatio: rs ? 0.25 : 0,
    dropout: recipe === 'rs' ? 0.25 : 0, dropPath: recipe === 'rs' ? 0.1 : 0, generator: new Generator(seed),
  })
}

function accuracy(model: ResNetRS, x: Tensor, y: Tensor): number {
  model.eval()
  let correct = 0
  for (let s = 0; s < x.shape[0]; s += 256) {
    const xb = x.slice(0, s, Math.min(x.shape[0], s + 256)), yb = y.slice(0, s, Math.min(x.shape[0], s + 256))
    correct += noGrad(() => model.forward(xb).argmax(1).eq(yb).sum().item())
  }
  return correct / x.shape[0]
}

export function runResNetRSDigits({ quick = false, seed = 0, log = () => {}, ...o }: DemoOptions = {}): ResNetRSDigitsResult {
  const { x: raw, y } = loadDataset('digits')
  const N = raw.shape[0]
  const order = [...Array(N).keys()]
  const g0 = new Generator(seed)
  for (let i = N - 1; i > 0; i--) { const j = g0.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
  const trainSize = quick ? 160 : 600, testSize = quick ? 300 : N - 600
  const idx = (a: number[]): Tensor => tensor(a, { dtype: 'int32' })
  const xAll = upsampleDigits(raw.div(16)) // (N, 1, 16, 16)
  const trIdx = idx(order.slice(0, trainSize)), teIdx = idx(order.slice(600, 600 + testSize))
  const xtr = xAll.indexSelect(0, trIdx).contiguous(), ytr = y.indexSelect(0, trIdx)
  const xte = xAll.indexSelect(0, teIdx).contiguous(), yte = y.indexSelect(0, teIdx)
  const epochs = o.epochs ?? (quick ? 2 : 8), batch = quick ? 16 : 32, magnitude = o.magnitude ?? 5
  const stepsPerEpoch = Math.floor(trainSize / batch), steps = epochs * stepsPerEpoch
  const arms: RSArm[] = []
  // Quick mode trains arms (a) and (d) only.
  const all = { a: ['vanilla', 'vanilla'], b: ['rs', 'vanilla'], c: ['vanilla', 'rs'], d: ['rs', 'rs'] } as const
  const plan = (o.arms ?? (quick ? ['a', 'd'] : ['a', 'b', 'c', 'd'])).map((k) => all[k])
  for (const [arch, recipe] of plan) {
    const model = makeNet(arch, recipe, seed + 1)
    const rsRecipe = recipe === 'rs'
    const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, weightDecay: rsRecipe ? 4e-5 : 1e-4 })
    const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
    const ema = rsRecipe ? new EMA(model, { decay: 0.99, warmup: true }) : null
    const g = new Generator(seed + 2) // same batch order in every arm
    const augGen = new Generator(seed + 3)
    const t0 = performance.now()
    for (let e = 0; e < epochs; e++) {
      const perm = [...Array(trainSize).keys()]
      for (let i = trainSize - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [perm[i], perm[j]] = [perm[j], perm[i]] }
      model.train()
      for (let s = 0; s < stepsPerEpoch; s++) {
        const ids = idx(perm.slice(s * batch, (s + 1) * batch))
        let xb = xtr.indexSelect(0, ids)
        if (rsRecipe) xb = randAugment(xb, { n: 2, magnitude, generator: augGen })
        model.zeroGrad()
        F.crossEntropy(model.forward(xb), ytr.indexSelect(0, ids), { labelSmoothing: rsRecipe ? 0.1 : 0 }).backward()
        opt.step(); sched.step()
        ema?.update()
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const liveAccuracy = accuracy(model, xte, yte)
    const testAccuracy = ema ? ema.withAveraged(() => accuracy(model, xte, yte)) : liveAccuracy
    const trainAccuracy = ema ? ema.withAveraged(() => accuracy(model, xtr, ytr)) : accuracy(model, xtr, ytr)
    const name = `(${arch === 'rs' ? (rsRecipe ? 'd' : 'b') : (rsRecipe ? 'c' : 'a')}) ${arch === 'rs' ? 'RS arch' : 'vanilla arch'} + ${rsRecipe ? 'RS recipe' : 'vanilla recipe'}`
    const arm: RSArm = { name, arch, recipe, params: profile.countParams(model), testAccuracy, liveAccuracy, trainAccuracy, seconds }
    log(`${name.padEnd(32)} params ${String(arm.params).padStart(6)}  test ${(100 * testAccuracy).toFixed(1)}%` +
      `${ema ? ` (live ${(100 * liveAccuracy).toFixed(1)}%)` : ''}  train ${(100 * trainAccuracy).toFixed(1)}%  ${seconds.toFixed(1)} s`)
    arms.push(arm)
  }
  const acc = (a: string, r: string): number => arms.find((x) => x.arch === a && x.recipe === r)?.testAccuracy ?? NaN
  const pts = (a: string, r: string): number => 100 * (acc(a, r) - acc('vanilla', 'vanilla'))
  return { arms, epochs, steps, trainSize, testSize, archGain: pts('rs', 'vanilla'), recipeGain: pts('vanilla', 'rs'), bothGain: pts('rs', 'rs') }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const at = process.argv.indexOf('--epochs')
  const epochs = at >= 0 ? Number(process.argv[at + 1]) : undefined
  const r = runResNetRSDigits({ quick, epochs, log: (l) => console.log(l) })
  console.log(`\n${r.trainSize} training / ${r.testSize} held-out digits (16x16), ${r.epochs} epochs = ${r.steps} SGD steps per arm`)
  console.log(`architecture gain (b - a): ${r.archGain >= 0 ? '+' : ''}${r.archGain.toFixed(1)} points`)
  console.log(`recipe gain       (c - a): ${r.recipeGain >= 0 ? '+' : ''}${r.recipeGain.toFixed(1)} points`)
  console.log(`both              (d - a): ${r.bothGain >= 0 ? '+' : ''}${r.bothGain.toFixed(1)} points`)
  console.log(`paper's claim (recipe gain >= architecture gain): ${r.recipeGain >= r.archGain ? 'holds' : 'does not hold'} here`)
}

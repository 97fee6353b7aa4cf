/**
 * @file Sheet 65's small demo of EvoNorm (Liu, Brock, Simonyan, Le 2020, "Evolving
 * Normalization-Activation Layers", https://arxiv.org/abs/2004.02967): a small pre-activation ResNet on
 * the bundled 8x8 digits, NCHW (B, 1, 8, 8), with every BatchNorm2d + ReLU pair being either
 *   BN-ReLU, EvoNorm-B0 (batch statistics, running variance in eval) or EvoNorm-S0 (per-sample group
 *   statistics, 4 groups),
 * trained with the same optimizer (AdamW, lr 3e-3, cosine), seed and number of epochs at batch 32, and
 * again at batch 4 (quick mode: BN-ReLU and S0 at batch 8 only), where batch statistics are noisy (the paper's claim: S0 holds up at small batches
 * where BN degrades; B0 ≈ BN-ReLU at normal batch sizes).
 * Network: conv3x3 1→16, pre-act block (16), pre-act block (16→32, stride 2, 1x1 shortcut), norm-act,
 * global average pool, linear 32→10. Reported: held-out accuracy in eval mode, parameters, time.
 *
 *   npx tsx examples/evonorm-digits.ts           # full (~1-2 min)
 *   npx tsx examples/evonorm-digits.ts --quick   # a few seconds
 */
import { F, Generator, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { EvoNormB0, EvoNormS0 } from '../src/nn/arch/65-evonorm.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }
export type NormAct = 'bn-relu' | 'evonorm-b0' | 'evonorm-s0'

/** BatchNorm2d followed by ReLU: the pair EvoNorm replaces. */
class BNReLU extends nn.Module {
  bn: nn.BatchNorm2d
  constructor(c: number) { super(); this.bn = new nn.BatchNorm2d(c) }
  forward(x: Tensor): Tensor { return this.bn.forward(x).relu() }
}

function normAct(kind: NormAct, c: number): nn.Module {
  return kind === 'bn-relu' ? new BNReLU(c) : kind === 'evonorm-b0' ? new EvoNormB0(c) : new EvoNormS0(c, { groups: 4 })
}
const call = (m: nn.Module, x: Tensor): Tensor => (m.forward as (t: Tensor) => Tensor)(x)

/** Pre-activation basic block: y = shortcut(x) + conv2(na2(conv1(na1(x)))). x (B, Cin, H, W) → (B, Cout, H/s, W/s). */
class PreActBlock extends nn.Module {
  na1: nn.Module; conv1: nn.Conv2d; na2: nn.Module; conv2: nn.Conv2d; shortcut: nn.Conv2d | null
  constructor(kind: NormAct, cin: number, cout: number, stride: number, g: Generator) {
    super()
    this.na1 = normAct(kind, cin)
    this.conv1 = new nn.Conv2d(cin, cout, 3, { stride, padding: 1, bias: false, generator: g })
    this.na2 = normAct(kind, cout)
    this.conv2 = new nn.Conv2d(cout, cout, 3, { padding: 1, bias: false, generator: g })
    this.shortcut = stride !== 1 || cin !== cout ? new nn.Conv2d(cin, cout, 1, { stride, bias: false, generator: g }) : null
  }
  forward(x: Tensor): Tensor {
    const a = call(this.na1, x) // (B, Cin, H, W)
    const h = this.conv2.forward(call(this.na2, this.conv1.forward(a))) // (B, Cout, H/s, W/s)
    return (this.shortcut ? this.shortcut.forward(a) : x).add(h)
  }
}

export class DigitsPreActResNet extends nn.Module {
  stem: nn.Conv2d; block1: PreActBlock; block2: PreActBlock; na: nn.Module; head: nn.Linear
  constructor(readonly kind: NormAct, g: Generator) {
    super()
    this.stem = new nn.Conv2d(1, 16, 3, { padding: 1, bias: false, generator: g })
    this.block1 = new PreActBlock(kind, 16, 16, 1, g)
    this.block2 = new PreActBlock(kind, 16, 32, 2, g)
    this.na = normAct(kind, 32)
    this.head = new nn.Linear(32, 10, { generator: g })
  }
  forward(x: Tensor): Tensor { // x (B, 1, 8, 8) → (B, 10)
    const h = this.block2.forward(this.block1.forward(this.stem.forward(x))) // (B, 32, 4, 4)
    return this.head.forward(call(this.na, h).mean([2, 3]))
  }
}

export interface EvoArm { name: string; kind: NormAct; batch: number; steps: number; params: number; testAccuracy: number; trainLoss: number; seconds: number }
export interface EvoNormDigitsResult { arms: EvoArm[]; epochs: number; trainSize: number; testSize: number }

function accuracy(model: nn.Module, x: Tensor, y: Tensor): number {
  model.eval()
  return noGrad(() => call(model, x).argmax(1).eq(y).float().mean().item())
}

export function runEvoNormDigits({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): EvoNormDigitsResult {
  const { x: raw, y } = loadDataset('digits')
  const N = raw.shape[0]
  const order = [...Array(N).keys()]
  const g0 = new Generator(seed)
  for (let i = N - 1; i > 0; i--) { const j = g0.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
  const trainSize = quick ? 256 : 800, testSize = quick ? 300 : N - 1200
  const ids = (a: number[]): Tensor => tensor(a, { dtype: 'int32' })
  const x = raw.div(16).reshape([N, 1, 8, 8])
  const trI = ids(order.slice(0, trainSize)), teI = ids(order.slice(1200, 1200 + testSize))
  const xtr = x.indexSelect(0, trI).contiguous(), ytr = y.indexSelect(0, trI)
  const xte = x.indexSelect(0, teI).contiguous(), yte = y.indexSelect(0, teI)
  const epochs = quick ? 2 : 3
  const plan: [NormAct, number][] = quick
    ? [['bn-relu', 8], ['evonorm-s0', 8]]
    : [['bn-relu', 32], ['evonorm-b0', 32], ['evonorm-s0', 32], ['bn-relu', 4], ['evonorm-b0', 4], ['evonorm-s0', 4]]
  const arms: EvoArm[] = []
  for (const [kind, batch] of plan) {
    const model = new DigitsPreActResNet(kind, new Generator(seed + 1))
    const steps = epochs * Math.floor(trainSize / batch)
    const opt = new optim.AdamW(model.parameters(), { lr: 3e-3, weightDecay: 1e-4 })
    const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
    const g = new Generator(seed + 2)
    const t0 = performance.now()
    let lossSum = 0, lossN = 0
    for (let e = 0; e < epochs; e++) {
      const perm = [...Array(trainSize).keys()]
      for (let i = trainSize - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [perm[i], perm[j]] = [perm[j], perm[i]] }
      model.train()
      for (let s = 0; s + batch <= trainSize; s += batch) {
        const b = ids(perm.slice(s, s + batch))
        model.zeroGrad()
        const loss = F.crossEntropy(model.forward(xtr.indexSelect(0, b)), ytr.indexSelect(0, b))
        loss.backward(); opt.step(); sched.step()
        if (e === epochs - 1) { lossSum += loss.item(); lossN++ }
      }
    }
    const seconds = (performance.now() - t0) / 1000
    const params = model.parameters().reduce((a, p) => a + p.numel(), 0)
    const arm: EvoArm = { name: `${kind} @ batch ${batch}`, kind, batch, steps, params, testAccuracy: accuracy(model, xte, yte), trainLoss: lossSum / lossN, seconds }
    log(`${arm.name.padEnd(22)} params ${params}  test ${(100 * arm.testAccuracy).toFixed(1)}%  last-epoch loss ${arm.trainLoss.toFixed(3)}  ${steps} steps  ${seconds.toFixed(1)} s`)
    arms.push(arm)
  }
  return { arms, epochs, trainSize, testSize }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runEvoNormDigits({ quick, log: (l) => console.log(l) })
  console.log(`\n${r.trainSize} training / ${r.testSize} held-out 8x8 digits, ${r.epochs} epochs per arm`)
  const acc = (k: NormAct, b: number): number => r.arms.find((a) => a.kind === k && a.batch === b)?.testAccuracy ?? NaN
  const pts = (k: NormAct, b: number): string => { const d = 100 * (acc(k, b) - acc('bn-relu', b)); return `${d >= 0 ? '+' : ''}${d.toFixed(1)}` }
  for (const b of [...new Set(r.arms.map((a) => a.batch))]) {
    const parts = (['evonorm-b0', 'evonorm-s0'] as const).filter((k) => r.arms.some((a) => a.kind === k && a.batch === b))
    console.log(`batch ${b}: ${parts.map((k) => `${k} - bn-relu = ${pts(k, b)} points`).join(', ')}`)
  }
  console.log('paper: B0 ≈ BN-ReLU at normal batch sizes; S0 holds up at small batches where BN degrades')
}

/**
 * @file Sheet 41's small demo of S4D (Gu, Gupta, Goel, Ré 2022, "On the Parameterization and
 * Initialization of Diagonal State Space Models", https://arxiv.org/abs/2206.11893).
 *
 * (a) Sequential digits: each 8x8 digit is read as 64 steps of one pixel (row-major). An S4D model
 *     (Linear encoder, pre-norm S4D layers with GELU + 1x1 conv GLU and residuals, mean pooling,
 *     linear classifier) is trained against a GRU of about the same parameter count (classifier on
 *     its last hidden state), same optimizer, batch and number of steps. Reported: held-out accuracy,
 *     final training loss, wall time.
 * (b) Delay task: reproduce white noise delayed by k steps (y_t = u_{t-k}), every position supervised;
 *     S4D-Lin vs S4D with random imaginary parts (the paper's ablation) vs the GRU, all at equal steps.
 *     Reported: held-out MSE over t >= k (predicting zero scores 1) and wall time.
 *
 * Quick mode runs only the delay task (L = 64, k = 24) for S4D-Lin and S4D-Rand: 100 steps are enough
 * for S4D-Lin to reproduce the delayed noise while random imaginary parts cannot.
 *
 *   npx tsx examples/s4d-digits.ts            # full run (a few minutes of CPU)
 *   npx tsx examples/s4d-digits.ts --quick    # about 5 s of CPU, for smoke tests
 */
import { Generator, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { S4DModel, delayTask } from '../src/nn/arch/41-s4d.ts'
import type { S4DInit } from '../src/kernels/s4d.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface ArmResult { name: string; params: number; seconds: number; trainLoss: number }
export interface DigitsArm extends ArmResult { testAccuracy: number }
export interface DelayArm extends ArmResult { testMSE: number }
export interface S4DDigitsResult {
  /** Null in quick mode (sequential digits needs ~150+ steps before mean-pooled S4D features separate the classes). */
  digits: { steps: number; batch: number; L: number; arms: DigitsArm[] } | null
  delay: { steps: number; batch: number; L: number; k: number; arms: DelayArm[] }
}

/** A GRU read-out model: GRU over (B, L, dIn), then Linear on the last hidden state or on every step. */
class GRUModel extends nn.Module {
  gru: nn.GRU
  head: nn.Linear
  constructor(dIn: number, hidden: number, dOut: number, readonly perStep: boolean, generator: Generator) {
    super()
    this.gru = new nn.GRU(dIn, hidden, { batchFirst: true, generator })
    this.head = new nn.Linear(hidden, dOut, { generator })
  }
  forward(u: Tensor): Tensor {
    const { output } = this.gru.forward(u) // (B, L, hidden)
    return this.head.forward(this.perStep ? output : output.select(1, output.shape[1] - 1))
  }
}

type Groups = { params: Tensor[]; lr?: number; weightDecay?: number }[]
interface Trainable { model: nn.Module & { forward(x: Tensor): Tensor }; groups: Groups }

/** Minibatch AdamW for `steps` steps on (x, y) with the given loss; returns final loss (mean of last 10) and seconds. */
function train(t: Trainable, x: Tensor, y: Tensor, loss: (out: Tensor, y: Tensor) => Tensor, steps: number, batch: number, lr: number, g: Generator): { trainLoss: number; seconds: number } {
  const opt = new optim.AdamW(t.groups, { lr, weightDecay: 0.01 })
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
  const n = x.shape[0], last: number[] = []
  const t0 = performance.now()
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, n)), { dtype: 'int32' })
    opt.zeroGrad()
    const l = loss(t.model.forward(x.indexSelect(0, ids)), y.indexSelect(0, ids))
    l.backward()
    optim.clipGradNorm(t.model.parameters(), 1)
    opt.step(); sched.step()
    last.push(l.item()); if (last.length > 10) last.shift()
  }
  return { trainLoss: last.reduce((a, b) => a + b, 0) / last.length, seconds: (performance.now() - t0) / 1000 }
}

/** GRU hidden size whose parameter count (GRU + head) is closest to `target`. */
function matchHidden(dIn: number, dOut: number, target: number): number {
  const count = (h: number) => 3 * (h * dIn + h * h + 2 * h) + h * dOut + dOut
  let best = 1
  for (let h = 1; h < 512; h++) if (Math.abs(count(h) - target) < Math.abs(count(best) - target)) best = h
  return best
}

function s4d(dIn: number, dOut: number, o: { H: number; N: number; layers: number; init: S4DInit; pool: 'mean' | 'none'; lr: number; g: Generator; prenorm?: boolean }): Trainable {
  const model = new S4DModel(dIn, dOut, { dModel: o.H, nLayers: o.layers, dState: o.N, init: o.init, pool: o.pool, prenorm: o.prenorm, generator: o.g })
  return { model, groups: model.paramGroups(o.lr) }
}

function gru(dIn: number, dOut: number, target: number, perStep: boolean, g: Generator): Trainable {
  const model = new GRUModel(dIn, matchHidden(dIn, dOut, target), dOut, perStep, g)
  return { model, groups: [{ params: model.parameters() }] }
}

/** Runs both parts of the demo and returns the measured numbers. */
export function runS4DDigits(opts: DemoOptions = {}): S4DDigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const lr = 0.03
  // (a) sequential digits (full mode only)
  let digits: S4DDigitsResult['digits'] = null
  if (!quick) {
    const { x: raw, y } = loadDataset('digits')
    const x = raw.div(16).reshape([raw.shape[0], 64, 1]) // (1797, 64, 1): 64 steps of one pixel
    const { train: tr, test: te } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
    const [xTr, yTr, xTe, yTe] = [x.indexSelect(0, tr), y.indexSelect(0, tr), x.indexSelect(0, te), y.indexSelect(0, te)]
    const dSteps = 200, dBatch = 32, H = 24, N = 32
    const digitsArms: DigitsArm[] = []
    const ce = (out: Tensor, t: Tensor) => nn.losses.crossEntropy(out, t)
    const sm = s4d(1, 10, { H, N, layers: 2, init: 'lin', pool: 'mean', prenorm: true, lr, g: new Generator(seed + 1) })
    const base = gru(1, 10, sm.model.numParameters(), false, new Generator(seed + 1))
    for (const [name, arm] of [['S4D-Lin', sm], ['GRU', base]] as const) {
      const r = train(arm, xTr, yTr, ce, dSteps, dBatch, lr, new Generator(seed + 2))
      arm.model.eval()
      const acc = noGrad(() => arm.model.forward(xTe).argmax(1).eq(yTe).float().mean().item())
      digitsArms.push({ name, params: arm.model.numParameters(), testAccuracy: acc, ...r })
      log(`digits  ${name.padEnd(9)} params ${String(arm.model.numParameters()).padStart(6)}  test acc ${(100 * acc).toFixed(1)}%  train loss ${r.trainLoss.toFixed(3)}  ${r.seconds.toFixed(1)} s`)
    }
    digits = { steps: dSteps, batch: dBatch, L: 64, arms: digitsArms }
  }
  // (b) delay task
  const L = quick ? 64 : 128, k = quick ? 24 : 48
  const kSteps = quick ? 100 : 300, kBatch = 16
  const dataG = new Generator(seed + 3)
  const trainSet = delayTask(quick ? 128 : 512, L, k, dataG), testSet = delayTask(64, L, k, dataG)
  const mse = (out: Tensor, t: Tensor) => out.sub(t).square().mean()
  const delayArms: DelayArm[] = []
  const dH = quick ? 8 : 16, dN = 64
  const lin = s4d(1, 1, { H: dH, N: dN, layers: 1, init: 'lin', pool: 'none', lr, g: new Generator(seed + 4) })
  const rnd = s4d(1, 1, { H: dH, N: dN, layers: 1, init: 'rand', pool: 'none', lr, g: new Generator(seed + 4) })
  const dgru = gru(1, 1, lin.model.numParameters(), true, new Generator(seed + 4))
  const delayModels: [string, Trainable][] = [['S4D-Lin', lin], ['S4D-Rand', rnd], ...(quick ? [] : [['GRU', dgru] as [string, Trainable]])]
  for (const [name, arm] of delayModels) {
    const r = train(arm, trainSet.u, trainSet.y, mse, kSteps, kBatch, lr, new Generator(seed + 5))
    arm.model.eval()
    const testMSE = noGrad(() => mse(arm.model.forward(testSet.u).narrow(1, k, L - k), testSet.y.narrow(1, k, L - k)).item())
    delayArms.push({ name, params: arm.model.numParameters(), testMSE, ...r })
    log(`delay   ${name.padEnd(9)} params ${String(arm.model.numParameters()).padStart(6)}  test MSE (t >= k) ${testMSE.toFixed(4)}  ${r.seconds.toFixed(1)} s`)
  }
  return {
    digits,
    delay: { steps: kSteps, batch: kBatch, L, k, arms: delayArms },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const t0 = performance.now()
  console.log(quick ? 'S4D demo (quick): delay task only, S4D-Lin vs S4D-Rand at equal steps'
    : 'S4D demo (full): sequential digits (L = 64) and the delay task, S4D vs GRU at equal steps')
  const r = runS4DDigits({ quick, log: (l) => console.log(l) })
  console.log((r.digits ? `digits: ${r.digits.steps} steps of batch ${r.digits.batch}; ` : 'digits: skipped in quick mode; ') +
    `delay: L = ${r.delay.L}, k = ${r.delay.k}, ${r.delay.steps} steps of batch ${r.delay.batch}`)
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

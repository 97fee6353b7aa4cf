/**
 * @file Sheet 24's small demo of Sparse MeZO (Liu et al. 2024, "Sparse MeZO: Less Parameters for
 * Better Performance in Zeroth-Order LLM Fine-Tuning", https://arxiv.org/abs/2402.15751), on the
 * digits transfer task of examples/mezo-digits.ts: a 64-64-5 MLP pretrained with Adam on digits 0-4,
 * fine-tuned on 16 images per class of 5-9 (relabelled 0-4).
 *
 * Arms, all from the same pretrained weights and at the same forward-pass budget (2 per step):
 *   MeZO                      dense, lr η
 *   Sparse MeZO               sparsity 0.75, small-magnitude mask (the paper), lr η
 *   Sparse MeZO, lr 4η        the same with the lr scaled by 1/(1 − s): only a quarter of the
 *                             coordinates move, so the step is smaller at equal lr (the paper tunes
 *                             lr per method; this is the one-line version of that)
 *   Sparse MeZO, large mask   the ablation: moves the 25% largest |θ| instead, lr 4η
 * Each arm reports held-out accuracy and training loss at a few checkpoints. We print what we
 * measure, whichever arm wins.
 *
 *   npx tsx examples/sparse-mezo-digits.ts            # full run (about a minute)
 *   npx tsx examples/sparse-mezo-digits.ts --quick    # a few seconds
 */
import { noGrad, optim } from '../src/index.ts'
import {
  MEZO_EPS, MEZO_LR, accuracy, loss, makeTransferTask, mezoArm, pretrain, restore, snapshot,
  type DemoOptions, type DigitsMLP,
} from './mezo-digits.ts'

/** One point of a learning curve. */
export interface Checkpoint { step: number; forwardPasses: number; testAccuracy: number; trainLoss: number }

export interface SparseArm {
  name: string
  lr: number
  /** null for dense MeZO. */
  sparsity: number | null
  curve: Checkpoint[]
  testAccuracy: number
  trainLoss: number
  seconds: number
}

export interface SparseMeZODigitsResult {
  pretrainAccuracy: number
  steps: number
  arms: SparseArm[]
  seconds: number
}

/** Runs the four arms; quick mode uses fewer pretraining epochs and steps. */
export function runSparseMeZODigits({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): SparseMeZODigitsResult {
  const start = performance.now()
  const task = makeTransferTask(seed, 16)
  const { model: pre, accuracy: pretrainAccuracy } = pretrain(task, seed, quick ? 4 : 15)
  log(`pretrained 64-64-5 MLP on digits 0-4: held-out accuracy ${(100 * pretrainAccuracy).toFixed(1)}%`)
  const weights = snapshot(pre)
  const steps = quick ? 400 : 6000
  const every = steps / 4

  const specs: { name: string; lr: number; sparsity: number | null; rule?: 'smallMagnitude' | 'largeMagnitude' }[] = [
    { name: 'MeZO', lr: MEZO_LR, sparsity: null },
    { name: 'Sparse MeZO', lr: MEZO_LR, sparsity: 0.75 },
    { name: 'Sparse MeZO lr×4', lr: 4 * MEZO_LR, sparsity: 0.75 },
    { name: 'large-mask lr×4', lr: 4 * MEZO_LR, sparsity: 0.75, rule: 'largeMagnitude' },
  ]
  const arms = specs.map(({ name, lr, sparsity, rule }): SparseArm => {
    const model: DigitsMLP = restore(weights, seed)
    const config = { lr, eps: MEZO_EPS, seed }
    const opt = sparsity === null
      ? new optim.MeZO(model.namedParameters(), config)
      : new optim.SparseMeZO(model.namedParameters(), { ...config, sparsity, maskRule: rule ?? 'smallMagnitude' })
    const point = (step: number): Checkpoint => ({
      step, forwardPasses: 2 * step,
      testAccuracy: accuracy(model, task.targetTestX, task.targetTestY),
      trainLoss: noGrad(() => loss(model, task.targetX, task.targetY).item()),
    })
    const curve = [point(0)]
    const r = mezoArm(name, model, opt, task, steps, (s) => { if (s < steps) curve.push(point(s)) }, every)
    curve.push(point(steps))
    log(`${name.padEnd(17)} ${curve.map((c) => `${(100 * c.testAccuracy).toFixed(1)}%`).join(' → ')}  (${r.seconds.toFixed(1)} s)`)
    return { name, lr, sparsity, curve, testAccuracy: r.testAccuracy, trainLoss: r.trainLoss, seconds: r.seconds }
  })
  return { pretrainAccuracy, steps, arms, seconds: (performance.now() - start) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runSparseMeZODigits({ quick: process.argv.includes('--quick'), seed: 0, log: console.log })
  const steps = r.arms[0].curve.map((c) => c.step)
  console.log(`\ntest accuracy on digits 5-9 (train loss) at step: ${steps.join(', ')}  (2 forward passes per step)`)
  console.log(`${'arm'.padEnd(18)}${'lr'.padEnd(8)}${steps.map((s) => String(s).padStart(15)).join('')}    time`)
  for (const a of r.arms) {
    const cells = a.curve.map((c) => `${(100 * c.testAccuracy).toFixed(1)}% (${c.trainLoss.toFixed(2)})`.padStart(15)).join('')
    console.log(`${a.name.padEnd(18)}${String(a.lr).padEnd(8)}${cells}  ${a.seconds.toFixed(1).padStart(5)} s`)
  }
  console.log(`total ${r.seconds.toFixed(1)} s`)
}

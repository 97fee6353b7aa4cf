/**
 * @file Sheet 46's small demo of MeZO (Malladi et al. 2023, "Fine-Tuning Language Models with Just
 * Forward Passes", https://arxiv.org/abs/2305.17333): a digits transfer task.
 *
 * A 64-64-5 MLP is pretrained with Adam (backprop) on digits 0-4, then adapted to digits 5-9
 * (relabelled 0-4) from a few examples per class. Every arm starts from the same pretrained weights:
 *   zero-shot      the pretrained head applied as is (no training: a floor)
 *   linear probe   only the head trained, with backprop (Adam)
 *   backprop FT    every parameter trained, with backprop (Adam)
 *   MeZO FT        every parameter trained with MeZO (two forward passes per step, no gradients)
 * For each arm we report held-out accuracy on 5-9, wall time, and the tensor storage one training
 * step allocates, measured with tessera's meter (`memory.measure`). The paper's claim to check: a
 * MeZO step needs inference-level memory (two forwards, no activations kept, no gradient buffers,
 * no optimizer state), while a backprop step also stores activations, gradients and Adam's moments.
 *
 *   npx tsx examples/mezo-digits.ts            # full run (well under a minute)
 *   npx tsx examples/mezo-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, memory, nn, noGrad, optim, tensor, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

/** The transfer task: source (0-4) train/test, target (5-9 → 0-4) few-shot train and full test. */
export interface TransferTask {
  sourceX: Tensor; sourceY: Tensor
  sourceTestX: Tensor; sourceTestY: Tensor
  targetX: Tensor; targetY: Tensor
  targetTestX: Tensor; targetTestY: Tensor
}

/**
 * Builds the task from the bundled digits: a seeded 75/25 split of all 1797 images, pixels scaled to
 * [0, 1]; classes 0-4 of the train part are the source set; `shots` train images per class of 5-9
 * (relabelled y − 5) are the target set; the target test set is every test image of 5-9.
 */
export function makeTransferTask(seed: number, shots: number): TransferTask {
  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16) // (1797, 64) in [0, 1]
  const g = new Generator(seed)
  const { train, test } = trainTestSplit(x.shape[0], 0.25, g)
  const labels = y.data() as Int32Array
  const pick = (ids: Int32Array, keep: (label: number) => boolean): number[] => [...ids].filter((i) => keep(labels[i]))
  const trainIds = train.data() as Int32Array, testIds = test.data() as Int32Array
  // Few-shot target set: the first `shots` train images of each class 5-9 (the split is already shuffled).
  const perClass = new Map<number, number>()
  const shotIds = [...trainIds].filter((i) => {
    const c = labels[i]
    if (c < 5 || (perClass.get(c) ?? 0) >= shots) return false
    perClass.set(c, (perClass.get(c) ?? 0) + 1)
    return true
  })
  const take = (ids: number[], shift: number): [Tensor, Tensor] => {
    const t = tensor(ids, { dtype: 'int32' })
    return [x.indexSelect(0, t), tensor(ids.map((i) => labels[i] - shift), { dtype: 'int32' })]
  }
  const [sourceX, sourceY] = take(pick(trainIds, (c) => c < 5), 0)
  const [sourceTestX, sourceTestY] = take(pick(testIds, (c) => c < 5), 0)
  const [targetX, targetY] = take(shotIds, 5)
  const [targetTestX, targetTestY] = take(pick(testIds, (c) => c >= 5), 5)
  return { sourceX, sourceY, sourceTestX, sourceTestY, targetX, targetY, targetTestX, targetTestY }
}

/** The 64-64-5 classifier: one ReLU hidden layer (the "body") and a linear head. */
export class DigitsMLP extends nn.Module {
  body: nn.Linear
  head: nn.Linear
  constructor(generator: Generator, hidden = 64) {
    super()
    this.body = new nn.Linear(64, hidden, { generator })
    this.head = new nn.Linear(hidden, 5, { generator })
  }
  forward(x: Tensor): Tensor {
    return this.head.forward(this.body.forward(x).relu())
  }
}

export const loss = (model: DigitsMLP, x: Tensor, y: Tensor): Tensor => nn.losses.crossEntropy(model.forward(x), y)
export const accuracy = (model: DigitsMLP, x: Tensor, y: Tensor): number =>
  noGrad(() => model.forward(x).argmax(1).eq(y).float().mean().item())

/** Copies of every parameter, so each arm can start from the same pretrained weights. */
export function snapshot(model: nn.Module): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(model.stateDict()).map(([k, v]) => [k, v.clone()]))
}

/** A fresh model holding the given weights. */
export function restore(weights: Record<string, Tensor>, seed: number): DigitsMLP {
  const m = new DigitsMLP(new Generator(seed))
  m.loadStateDict(weights)
  return m
}

/** Pretrains on the source classes with minibatch Adam (backprop). Returns source test accuracy. */
export function pretrain(task: TransferTask, seed: number, epochs: number): { model: DigitsMLP; accuracy: number } {
  const g = new Generator(seed)
  const model = new DigitsMLP(g)
  const opt = new optim.Adam(model.parameters(), { lr: 3e-3 })
  const n = task.sourceX.shape[0], batch = 64
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = [...Array(n).keys()]
    for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
    for (let s = 0; s < n; s += batch) {
      const ids = tensor(order.slice(s, s + batch), { dtype: 'int32' })
      model.zeroGrad()
      loss(model, task.sourceX.indexSelect(0, ids), task.sourceY.indexSelect(0, ids)).backward()
      opt.step()
    }
  }
  return { model, accuracy: accuracy(model, task.sourceTestX, task.sourceTestY) }
}

/** One arm's measured numbers. */
export interface ArmResult {
  name: string
  /** Held-out accuracy on digits 5-9 after training. */
  testAccuracy: number
  /** Final loss on the few-shot training set. */
  trainLoss: number
  steps: number
  /** Forward passes over the training set (backprop: one per step; MeZO: two per step). */
  forwardPasses: number
  /** Number of trained parameters. */
  trainedParams: number
  /** Wall time of the training loop, seconds. */
  seconds: number
  /** Tensor storage allocated by one (steady-state) training step, bytes (`memory.measure`). */
  stepBytes: number
  /**
   * Upper bound on storage live at once during a step, beyond the parameters, bytes. Backprop: the
   * whole step (the forward graph lives until backward ends, then gradients and optimizer state
   * stay). MeZO: the largest single forward, since each forward returns a number and its tensors are
   * unreachable before the next pass, and the optimizer's own passes allocate nothing.
   */
  stepPeakBytes: number
  /** Storage held between steps beyond the parameters: gradient buffers + optimizer state, bytes. */
  stateBytes: number
}

export interface MeZODigitsResult {
  /** Accuracy of the pretrained model on held-out digits 0-4. */
  pretrainAccuracy: number
  /** Target-set sizes: few-shot train images and held-out test images. */
  targetTrain: number
  targetTest: number
  arms: ArmResult[]
  /** Storage allocated by one inference forward + loss on the training set under noGrad, bytes. */
  inferenceBytes: number
  /** Storage held by the model's parameters, bytes. */
  paramBytes: number
  seconds: number
}

/** A backprop arm: Adam on the given parameters (full batch); the rest stay frozen. */
function backpropArm(name: string, model: DigitsMLP, params: nn.Parameter[], task: TransferTask, steps: number, lr: number): ArmResult {
  for (const p of model.parameters()) p.requiresGrad = params.includes(p)
  const opt = new optim.Adam(params, { lr })
  const step = (): number => {
    model.zeroGrad()
    const l = loss(model, task.targetX, task.targetY)
    l.backward()
    opt.step()
    return l.item()
  }
  const start = performance.now()
  // The first step also creates Adam's moment buffers: the difference to a steady-state step is
  // the optimizer state; the gradients it leaves on the parameters are the other held buffers.
  const firstBytes = memory.measure(step).allocatedBytes
  const stepBytes = memory.measure(step).allocatedBytes
  const gradBytes = params.reduce((s, p) => s + (p.grad ? p.grad.storage.byteLength : 0), 0)
  for (let s = 2; s < steps; s++) step()
  const seconds = (performance.now() - start) / 1000
  return {
    name, testAccuracy: accuracy(model, task.targetTestX, task.targetTestY),
    trainLoss: noGrad(() => loss(model, task.targetX, task.targetY).item()),
    steps, forwardPasses: steps, trainedParams: params.reduce((s, p) => s + p.numel(), 0), seconds,
    stepBytes, stepPeakBytes: stepBytes, stateBytes: firstBytes - stepBytes + gradBytes,
  }
}

/** Settings of the MeZO arms, shared with the Sparse MeZO demo. */
export const MEZO_LR = 4e-3
export const MEZO_EPS = 1e-3

/** A MeZO arm (plain or Sparse MeZO, whatever `opt` is); `onCheckpoint` sees the model every `every` steps. */
export function mezoArm(
  name: string, model: DigitsMLP, opt: optim.MeZO, task: TransferTask, steps: number,
  onCheckpoint?: (step: number) => void, every = Infinity,
): ArmResult {
  model.eval()
  const closure = (): number => loss(model, task.targetX, task.targetY).item()
  const start = performance.now()
  opt.step(closure)
  // Measure one step, and each forward inside it, to show the step allocates nothing but the forwards.
  let forwardPeak = 0
  const stepBytes = memory.measure(() => opt.step(() => {
    const m = memory.measure(closure)
    forwardPeak = Math.max(forwardPeak, m.allocatedBytes)
    return m.result
  })).allocatedBytes
  for (let s = 2; s < steps; s++) {
    opt.step(closure)
    if ((s + 1) % every === 0) onCheckpoint?.(s + 1)
  }
  const seconds = (performance.now() - start) / 1000
  return {
    name, testAccuracy: accuracy(model, task.targetTestX, task.targetTestY),
    trainLoss: noGrad(() => loss(model, task.targetX, task.targetY).item()),
    steps, forwardPasses: 2 * steps, trainedParams: model.numParameters(), seconds,
    stepBytes, stepPeakBytes: forwardPeak, stateBytes: 0,
  }
}

/**
 * Runs the demo. Quick mode: fewer pretraining epochs and fine-tuning steps (a few seconds);
 * the full mode follows the sheet (16 shots per class, thousands of MeZO steps).
 */
export function runMeZODigits({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): MeZODigitsResult {
  const start = performance.now()
  const shots = 16
  const task = makeTransferTask(seed, shots)
  const { model: pre, accuracy: pretrainAccuracy } = pretrain(task, seed, quick ? 4 : 15)
  log(`pretrained 64-64-5 MLP on digits 0-4: held-out accuracy ${(100 * pretrainAccuracy).toFixed(1)}%`)
  const weights = snapshot(pre)
  const bpSteps = quick ? 60 : 300
  const mezoSteps = quick ? 800 : 10000
  const arms: ArmResult[] = []

  // Zero-shot: the pretrained head read as "class c of 0-4 means digit c + 5"; no training.
  const zs = restore(weights, seed)
  arms.push({
    name: 'zero-shot', testAccuracy: accuracy(zs, task.targetTestX, task.targetTestY),
    trainLoss: noGrad(() => loss(zs, task.targetX, task.targetY).item()),
    steps: 0, forwardPasses: 0, trainedParams: 0, seconds: 0, stepBytes: 0, stepPeakBytes: 0, stateBytes: 0,
  })
  const probe = restore(weights, seed)
  arms.push(backpropArm('linear probe', probe, probe.head.parameters(), task, bpSteps, 1e-2))
  const ft = restore(weights, seed)
  arms.push(backpropArm('backprop FT', ft, ft.parameters(), task, bpSteps, 3e-3))
  const mz = restore(weights, seed)
  arms.push(mezoArm('MeZO FT', mz, new optim.MeZO(mz.namedParameters(), { lr: MEZO_LR, eps: MEZO_EPS, seed }), task, mezoSteps))
  for (const a of arms) log(`${a.name.padEnd(13)} test accuracy ${(100 * a.testAccuracy).toFixed(1)}%  (${a.seconds.toFixed(2)} s)`)

  // Reference for "inference-level": one forward + loss on the training set with no autograd.
  const inferenceBytes = memory.measure(() => noGrad(() => loss(mz, task.targetX, task.targetY).item())).allocatedBytes
  const paramBytes = mz.parameters().reduce((s, p) => s + p.storage.byteLength, 0)
  return {
    pretrainAccuracy, targetTrain: task.targetX.shape[0], targetTest: task.targetTestX.shape[0],
    arms, inferenceBytes, paramBytes, seconds: (performance.now() - start) / 1000,
  }
}

const kb = (b: number): string => `${(b / 1024).toFixed(1)} KiB`

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runMeZODigits({ quick: process.argv.includes('--quick'), seed: 0, log: console.log })
  console.log(`\ntarget: ${r.targetTrain} train images (16 per class of 5-9), ${r.targetTest} test images; parameters ${kb(r.paramBytes)}`)
  console.log('arm            test acc  train loss  steps  fwd passes  trained    time  step allocs  step peak<=  held state')
  for (const a of r.arms) {
    const mem = a.steps ? `${kb(a.stepBytes).padStart(11)}  ${kb(a.stepPeakBytes).padStart(11)}  ${kb(a.stateBytes).padStart(10)}` : ''
    console.log(`${a.name.padEnd(15)}${(100 * a.testAccuracy).toFixed(1).padStart(7)}%  ${a.trainLoss.toFixed(4).padStart(10)}  ${String(a.steps).padStart(5)}  ${String(a.forwardPasses).padStart(10)}  ${String(a.trainedParams).padStart(7)}  ${a.seconds.toFixed(2).padStart(5)} s  ${mem}`)
  }
  console.log(`one inference forward + loss (noGrad) allocates ${kb(r.inferenceBytes)}; total ${r.seconds.toFixed(1)} s`)
}

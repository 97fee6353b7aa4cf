/**
 * @file `tessera train`: trains a classifier on a bundled dataset with a live progress bar, reports
 * held-out accuracy, and writes the weights (safetensors, with the run's settings as metadata),
 * the loss/accuracy curves (SVG) and the metrics (JSON) to the output folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { noGrad } from '../autograd.ts'
import { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { DataLoader } from '../data/loader.ts'
import { crossEntropy } from '../nn/losses.ts'
import type { Module } from '../nn/module.ts'
import * as optim from '../optim/index.ts'
import { saveStateDict } from '../io/checkpoint.ts'
import { parseArgs, type Specs } from './args.ts'
import { Progress, fmtTime, type ProgressSink } from './progress.ts'
import { lineChartsSvg } from './plot.ts'
import { DATASETS, MODELS, buildModel, prepareTask, type DataName, type ModelName } from './tasks.ts'

export const TRAIN_OPTIONS = {
  model: { type: 'string', choices: MODELS, default: 'cnn', description: 'the classifier' },
  data: { type: 'string', choices: DATASETS, default: 'digits', description: 'the bundled dataset (80/20 split)' },
  epochs: { type: 'number', default: 12, description: 'passes over the training split' },
  lr: { type: 'number', default: 0.003, description: 'learning rate' },
  optimizer: { type: 'string', choices: ['adam', 'adamw', 'sgd'], default: 'adam', description: 'optimizer (sgd uses momentum 0.9)' },
  'batch-size': { type: 'number', default: 32, description: 'examples per step' },
  seed: { type: 'number', default: 0, description: 'seed for the split, initialisation, shuffling and dropout' },
  out: { type: 'string', default: 'runs/latest', description: 'output folder for model.safetensors, curves.svg, metrics.json' },
  quick: { type: 'boolean', description: 'one epoch, for smoke tests' },
} satisfies Specs

export interface TrainResult {
  testAccuracy: number
  trainLoss: number[]
  trainAccuracy: number[]
  testAccuracyCurve: number[]
  seconds: number
  files: string[]
}

type Classifier = Module & { forward(x: Tensor): Tensor }

/** Accuracy of `model` on (x, y), in eval mode, in batches. */
export function accuracy(model: Classifier, x: Tensor, y: Tensor): number {
  return noGrad(() => {
    model.eval()
    let correct = 0
    for (const [xb, yb] of new DataLoader([x, y], { batchSize: 256 })) correct += model.forward(xb).argmax(1).eq(yb).sum().item()
    model.train()
    return correct / x.shape[0]
  })
}

function makeOptimizer(name: string, model: Module, lr: number): optim.Optimizer {
  if (name === 'sgd') return new optim.SGD(model.parameters(), { lr, momentum: 0.9 })
  if (name === 'adamw') return new optim.AdamW(model.namedParameters(), { lr })
  return new optim.Adam(model.parameters(), { lr })
}

export function train(argv: readonly string[], out: ProgressSink): TrainResult {
  const o = parseArgs('tessera train', argv, TRAIN_OPTIONS)
  const epochs = o.quick ? 1 : o.epochs
  for (const [name, v] of [['epochs', epochs], ['batch-size', o['batch-size']]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`tessera train: --${name} must be a positive integer, got ${v}`)
  }
  const start = performance.now()
  const task = prepareTask(o.data as DataName, o.seed)
  const g = new Generator(o.seed + 1)
  const model = buildModel(o.model as ModelName, task, g)
  const opt = makeOptimizer(o.optimizer, model, o.lr)
  const loader = new DataLoader([task.xTrain, task.yTrain], { batchSize: o['batch-size'], shuffle: true, generator: g })
  const steps = loader.length
  const progress = new Progress(out, epochs * steps, start)
  out.write(`training ${o.model} on ${o.data}: ${task.xTrain.shape[0]} train / ${task.xTest.shape[0]} test examples, ${model.numParameters()} parameters, ${o.optimizer} lr ${o.lr}\n`)

  const trainLoss: number[] = [], trainAccuracy: number[] = [], testAccuracyCurve: number[] = []
  let examples = 0
  for (let epoch = 1; epoch <= epochs; epoch++) {
    let lossSum = 0, correct = 0, seen = 0, step = 0
    for (const [xb, yb] of loader) {
      const logits = model.forward(xb)
      const loss = crossEntropy(logits, yb)
      opt.zeroGrad()
      loss.backward()
      opt.step()
      const n = xb.shape[0]
      lossSum += loss.item() * n
      correct += noGrad(() => logits.argmax(1).eq(yb).sum().item())
      seen += n
      examples += n
      step++
      progress.update({ epoch, epochs, step, steps, loss: lossSum / seen, accuracy: correct / seen, examples, elapsedMs: performance.now() - start }, performance.now())
    }
    trainLoss.push(lossSum / seen)
    trainAccuracy.push(correct / seen)
    testAccuracyCurve.push(accuracy(model, task.xTest, task.yTest))
  }
  const testAccuracy = testAccuracyCurve[testAccuracyCurve.length - 1]
  const seconds = (performance.now() - start) / 1000

  mkdirSync(o.out, { recursive: true })
  const weights = join(o.out, 'model.safetensors'), curves = join(o.out, 'curves.svg'), metrics = join(o.out, 'metrics.json')
  const settings = { model: o.model, data: o.data, seed: String(o.seed) }
  writeFileSync(weights, saveStateDict(model, { metadata: { format: 'tessera-train', ...settings } }))
  writeFileSync(curves, lineChartsSvg([
    { title: 'training loss', yLabel: 'cross-entropy', series: [{ name: 'train', values: trainLoss, color: '#1f77b4' }] },
    { title: 'accuracy', yLabel: 'fraction correct', series: [
      { name: 'train', values: trainAccuracy, color: '#1f77b4' }, { name: 'test', values: testAccuracyCurve, color: '#d62728' },
    ] },
  ]))
  writeFileSync(metrics, JSON.stringify({ ...o, epochs, testAccuracy, trainLoss, trainAccuracy, testAccuracyCurve, seconds }, null, 2) + '\n')
  out.write(`test accuracy ${(100 * testAccuracy).toFixed(2)}% on ${task.xTest.shape[0]} held-out examples after ${epochs} epochs in ${fmtTime(seconds)} (${seconds.toFixed(1)} s)\n`)
  out.write(`wrote ${weights}, ${curves}, ${metrics}\n`)
  return { testAccuracy, trainLoss, trainAccuracy, testAccuracyCurve, seconds, files: [weights, curves, metrics] }
}

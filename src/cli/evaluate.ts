/**
 * @file `tessera eval`: loads weights written by `tessera train`, rebuilds the same model and the
 * same held-out split from the settings stored in the file, and reports accuracy per class.
 */
import { readFileSync } from 'node:fs'
import { TesseraError } from '../errors.ts'
import { Generator } from '../rng.ts'
import { loadStateDictFromSafetensors } from '../io/checkpoint.ts'
import { inspectSafetensors } from '../io/safetensors.ts'
import { parseArgs, type Specs } from './args.ts'
import { accuracy } from './train.ts'
import { DATASETS, MODELS, buildModel, prepareTask, type DataName, type ModelName } from './tasks.ts'

export const EVAL_OPTIONS = {
  weights: { type: 'string', default: 'runs/latest/model.safetensors', description: 'a model.safetensors written by tessera train' },
} satisfies Specs

export function evaluate(argv: readonly string[], write: (s: string) => void): { accuracy: number; perClass: number[] } {
  const o = parseArgs('tessera eval', argv, EVAL_OPTIONS)
  let bytes: Uint8Array
  try { bytes = readFileSync(o.weights) } catch (e) { throw new TesseraError(`tessera eval: cannot read ${o.weights}: ${(e as Error).message}`) }
  // Rebuild the architecture from the stored settings, then load the weights into it.
  const header = inspectSafetensors(bytes).metadata
  if (header.format !== 'tessera-train') throw new TesseraError(`tessera eval: ${o.weights} was not written by tessera train (metadata format ${JSON.stringify(header.format)})`)
  if (!(DATASETS as readonly string[]).includes(header.data) || !(MODELS as readonly string[]).includes(header.model) || !/^-?\d+$/.test(header.seed ?? '')) {
    throw new TesseraError(`tessera eval: ${o.weights} has unusable settings ${JSON.stringify(header)}`)
  }
  const seed = Number(header.seed)
  const task = prepareTask(header.data as DataName, seed)
  const model = buildModel(header.model as ModelName, task, new Generator(seed + 1))
  loadStateDictFromSafetensors(model, bytes, { strict: true })
  const acc = accuracy(model, task.xTest, task.yTest)
  model.eval()
  const pred = model.forward(task.xTest).argmax(1)
  const perClass = task.classNames.map((_, c) => {
    const mask = task.yTest.eq(c)
    const n = mask.sum().item()
    return n === 0 ? NaN : pred.eq(c).logicalAnd(mask).sum().item() / n
  })
  write(`${header.model} on ${header.data} (seed ${seed}): test accuracy ${(100 * acc).toFixed(2)}% on ${task.xTest.shape[0]} held-out examples\n`)
  write(`recall per class: ${task.classNames.map((name, c) => `${name} ${(100 * perClass[c]).toFixed(1)}%`).join(', ')}\n`)
  return { accuracy: acc, perClass }
}

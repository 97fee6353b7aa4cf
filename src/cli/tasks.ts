/**
 * @file The datasets and models `tessera train` and `tessera eval` know: a seeded 80/20 split of
 * a bundled classification dataset, features scaled with training-split statistics, and small
 * MLP / CNN classifiers. Train and eval rebuild exactly the same split and model from the seed.
 */
import { TesseraError } from '../errors.ts'
import { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { loadDataset } from '../node/datasets.ts'
import { trainTestSplit } from '../data/sampling.ts'
import * as nn from '../nn/index.ts'

export const DATASETS = ['digits', 'iris', 'breast-cancer'] as const
export const MODELS = ['mlp', 'cnn'] as const
export type DataName = (typeof DATASETS)[number]
export type ModelName = (typeof MODELS)[number]

export interface Task {
  xTrain: Tensor; yTrain: Tensor; xTest: Tensor; yTest: Tensor
  features: number
  classNames: string[]
  /** (C, H, W) when the features are an image, for the CNN. */
  image: [number, number, number] | null
}

/** Loads `name`, splits it with `seed`, and standardises features with the training split's statistics. */
export function prepareTask(name: DataName, seed: number): Task {
  const ds = loadDataset(name)
  const { train, test } = trainTestSplit(ds.x.shape[0], 0.2, new Generator(seed))
  let x = ds.x
  if (name === 'digits') {
    x = x.div(16) // pixels 0..16 -> [0, 1]; the CNN keeps the 8x8 layout
  } else {
    const xt = x.indexSelect(0, train)
    const mean = xt.mean(0, true)
    const std = xt.std(0, { keepdim: true, correction: 0 }).add(1e-8)
    x = x.sub(mean).div(std)
  }
  return {
    xTrain: x.indexSelect(0, train), yTrain: ds.y.indexSelect(0, train),
    xTest: x.indexSelect(0, test), yTest: ds.y.indexSelect(0, test),
    features: x.shape[1], classNames: ds.classNames,
    image: name === 'digits' ? [1, 8, 8] : null,
  }
}

/** A classifier for the task, initialised from `generator`. */
export function buildModel(model: ModelName, task: Task, generator: Generator): nn.Module & { forward(x: Tensor): Tensor } {
  const classes = task.classNames.length
  if (model === 'mlp') {
    return new nn.Sequential(
      new nn.Linear(task.features, 128, { generator }), new nn.ReLU(),
      new nn.Linear(128, 64, { generator }), new nn.ReLU(),
      new nn.Linear(64, classes, { generator }),
    )
  }
  if (!task.image) throw new TesseraError(`train: the cnn model needs image data (digits); this dataset has ${task.features} plain features`)
  const [C, H, W] = task.image
  return new nn.Sequential(
    new nn.Unflatten(1, [C, H, W]),
    new nn.Conv2d(C, 16, 3, { padding: 1, generator }), new nn.ReLU(),
    new nn.Conv2d(16, 32, 3, { padding: 1, generator }), new nn.ReLU(),
    new nn.MaxPool2d({ kernelSize: 2 }),
    new nn.Flatten(),
    new nn.Dropout(0.25, { generator }),
    new nn.Linear(32 * (H / 2) * (W / 2), 64, { generator }), new nn.ReLU(),
    new nn.Linear(64, classes, { generator }),
  )
}

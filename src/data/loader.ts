/**
 * @file `DataLoader`: minibatches over tensors that share their first dim (like
 * `torch.utils.data.DataLoader(TensorDataset(x, y))`), runtime-neutral.
 *
 *   const loader = new DataLoader([x, y], { batchSize: 64, shuffle: true, generator: new Generator(0) })
 *   for (let epoch = 0; epoch < 10; epoch++) for (const [xb, yb] of loader) { ... }   // xb (B, ...), yb (B,)
 *
 * Each pass over the loader is one epoch. With `shuffle`, every pass draws a fresh permutation from
 * the generator, so epochs differ from each other but a run is reproducible from the seed. Batches
 * are copies (`indexSelect` along dim 0), never views of the dataset.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import { defaultGenerator, type Generator } from '../rng.ts'
import { Tensor } from '../tensor.ts'
import { shuffledIndices } from './sampling.ts'

export interface DataLoaderOptions {
  /** samples per batch (default 1) */
  batchSize?: number
  /** a new random order every epoch (default false: the stored order) */
  shuffle?: boolean
  /** drop the last batch when it is smaller than batchSize (default false) */
  dropLast?: boolean
  /** where shuffling draws from (default: the default generator) */
  generator?: Generator
}

/** One batch: a tensor per dataset tensor, in the same order. */
export type Batch<T extends readonly Tensor[]> = { -readonly [K in keyof T]: Tensor }

/**
 * Minibatches over tensors sharing their first dim; iterate it once per epoch.
 * Reference: https://pytorch.org/docs/stable/data.html#torch.utils.data.DataLoader
 * @example
 *   const loader = new DataLoader([x, y], { batchSize: 32, shuffle: true, generator: new Generator(0) })
 *   for (const [xb, yb] of loader) step(xb, yb)
 */
export class DataLoader<const T extends readonly Tensor[]> implements Iterable<Batch<T>> {
  readonly tensors: T
  readonly batchSize: number
  readonly shuffle: boolean
  readonly dropLast: boolean
  readonly generator: Generator
  /** number of samples (the shared first dim) */
  readonly numSamples: number

  constructor(tensors: T, opts: DataLoaderOptions = {}) {
    if (!Array.isArray(tensors) || tensors.length === 0 || !tensors.every((t) => t instanceof Tensor)) {
      throw new TesseraError('DataLoader: expected a non-empty array of tensors')
    }
    const bad = tensors.find((t) => t.ndim === 0 || t.shape[0] !== tensors[0].shape[0])
    if (bad) {
      throw new TesseraError(`DataLoader: every tensor needs the same first dim (the sample count); got shapes ${tensors.map((t) => fmtShape(t.shape)).join(', ')}`)
    }
    const batchSize = opts.batchSize ?? 1
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TesseraError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`)
    this.tensors = tensors
    this.batchSize = batchSize
    this.shuffle = opts.shuffle ?? false
    this.dropLast = opts.dropLast ?? false
    this.generator = opts.generator ?? defaultGenerator
    this.numSamples = tensors[0].shape[0]
  }

  /** Number of batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.numSamples / this.batchSize) : Math.ceil(this.numSamples / this.batchSize)
  }

  /** One epoch of batches; with `shuffle` the order is drawn when iteration starts. */
  *[Symbol.iterator](): Iterator<Batch<T>> {
    const n = this.numSamples
    const order = this.shuffle ? shuffledIndices(n, this.generator) : Int32Array.from({ length: n }, (_, i) => i)
    for (let b = 0; b < this.length; b++) {
      const ids = order.slice(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize)) // (B,)
      const index = fromTypedArray(ids, [ids.length])
      yield this.tensors.map((t) => t.indexSelect(0, index)) as Batch<T>
    }
  }
}

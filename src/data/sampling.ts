/**
 * @file Seeded index sampling: random permutations and train/test splits. All randomness comes
 * from a `Generator` (src/rng.ts), so the same seed gives the same split in every runtime.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import { defaultGenerator, type Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'

/**
 * The indices 0..n-1 in a random order: Fisher-Yates from the top, swapping i with a uniform
 * j in [0, i] drawn by `generator.nextInt`.
 */
export function shuffledIndices(n: number, generator: Generator = defaultGenerator): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 2147483647) throw new TesseraError(`shuffledIndices: n must be an integer in [0, 2^31), got ${n}`)
  const order = new Int32Array(n) // (n,)
  for (let i = 0; i < n; i++) order[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = generator.nextInt(0, i + 1)
    const t = order[i]; order[i] = order[j]; order[j] = t
  }
  return order
}

/**
 * A seeded split of the indices 0..n-1: `test` holds round(n * testFraction) of them and `train`
 * the rest, both int32 index tensors for `indexSelect`. (The test set is the head of one
 * `shuffledIndices` permutation, the train set its tail.)
 * @example
 *   const { train, test } = trainTestSplit(x.shape[0], 0.2, new Generator(0))
 *   const [xTrain, xTest] = [x.indexSelect(0, train), x.indexSelect(0, test)]
 */
export function trainTestSplit(n: number, testFraction: number, generator: Generator = defaultGenerator): { train: Tensor; test: Tensor } {
  if (!(testFraction >= 0 && testFraction <= 1)) throw new TesseraError(`trainTestSplit: testFraction must be in [0, 1], got ${testFraction}`)
  const order = shuffledIndices(n, generator)
  const nTest = Math.round(n * testFraction)
  return {
    train: fromTypedArray(order.slice(nTest), [n - nTest]),
    test: fromTypedArray(order.slice(0, nTest), [nTest]),
  }
}

/**
 * @file DataLoader (batching, dropLast, seeded shuffling that changes every epoch but replays from
 * the seed, every sample exactly once per epoch, copies not views) and trainTestSplit.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, arange, data, tensor, type Tensor } from '../../src/index.ts'
import { assertThrows } from '../helpers.ts'

const { DataLoader, trainTestSplit, shuffledIndices } = data

/** x (n, 2) with row i = [i, -i]; y (n,) = i. */
function dataset(n: number): [Tensor, Tensor] {
  const y = arange(n)
  return [y.float().unsqueeze(1).mul(tensor([[1, -1]])), y]
}

const ids = (batches: Iterable<Tensor[]>): number[][] => [...batches].map(([, yb]) => yb.toArray() as number[])

test('batches in order, the last one short; shapes and dtypes follow the tensors', () => {
  const [x, y] = dataset(10)
  const loader = new DataLoader([x, y], { batchSize: 4 })
  assert.is(loader.length, 3)
  assert.is(loader.numSamples, 10)
  const batches = [...loader]
  assert.equal(batches.map(([xb, yb]) => [xb.shape, yb.shape]), [[[4, 2], [4]], [[4, 2], [4]], [[2, 2], [2]]])
  assert.equal(ids(batches), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
  assert.equal(batches[2][0].toArray(), [[8, -8], [9, -9]])
  assert.is(batches[0][1].dtype, 'int32')
  // Default batch size 1, a single tensor, a batch larger than the data.
  assert.is(new DataLoader([y]).length, 10)
  assert.equal(ids([...new DataLoader([x, y], { batchSize: 64 })]), [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
})

test('dropLast drops only a short final batch', () => {
  const [x, y] = dataset(10)
  const drop = new DataLoader([x, y], { batchSize: 4, dropLast: true })
  assert.is(drop.length, 2)
  assert.equal(ids(drop), [[0, 1, 2, 3], [4, 5, 6, 7]])
  assert.is(new DataLoader([x, y], { batchSize: 5, dropLast: true }).length, 2)
  assert.equal([...new DataLoader([x, y], { batchSize: 11, dropLast: true })], [])
})

test('shuffle: every sample exactly once per epoch, a new order each epoch, the same run from the same seed', () => {
  const [x, y] = dataset(50)
  const run = (seed: number): number[][] => {
    const loader = new DataLoader([x, y], { batchSize: 8, shuffle: true, generator: new Generator(seed) })
    return [0, 1, 2].map(() => ids(loader).flat())
  }
  const epochs = run(7)
  for (const order of epochs) assert.equal([...order].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i))
  assert.not.equal(epochs[0], epochs[1])
  assert.not.equal(epochs[1], epochs[2])
  assert.not.equal(epochs[0], Array.from({ length: 50 }, (_, i) => i))
  assert.equal(run(7), epochs, 'replays from the seed')
  assert.not.equal(run(8)[0], epochs[0])
  // x and y stay aligned after shuffling.
  for (const [xb, yb] of new DataLoader([x, y], { batchSize: 8, shuffle: true, generator: new Generator(1) })) {
    assert.equal(xb.select(1, 0).toArray(), yb.float().toArray())
  }
})

test('shuffle with dropLast: full batches of distinct samples, the dropped ones change per epoch', () => {
  const [x, y] = dataset(10)
  const loader = new DataLoader([x, y], { batchSize: 3, shuffle: true, dropLast: true, generator: new Generator(3) })
  const seen = new Set<string>()
  for (let epoch = 0; epoch < 5; epoch++) {
    const flat = ids(loader).flat()
    assert.is(flat.length, 9)
    assert.is(new Set(flat).size, 9)
    seen.add(String([...Array(10).keys()].filter((i) => !flat.includes(i))))
  }
  assert.ok(seen.size > 1, 'a different sample is left out in some epoch')
})

test('the shuffled order is the generator permutation (shuffledIndices), drawn when an epoch starts', () => {
  const [x, y] = dataset(20)
  const loader = new DataLoader([x, y], { batchSize: 20, shuffle: true, generator: new Generator(5) })
  const expected = new Generator(5)
  assert.equal(ids(loader)[0], Array.from(shuffledIndices(20, expected)))
  assert.equal(ids(loader)[0], Array.from(shuffledIndices(20, expected)))
})

test('batches are copies: writing to one leaves the dataset alone', () => {
  const [x, y] = dataset(4)
  const [[xb]] = new DataLoader([x, y], { batchSize: 2 })
  xb.fill_(99)
  assert.equal(x.select(0, 0).toArray(), [0, -0])
})

test('DataLoader validation', () => {
  const [x, y] = dataset(4)
  assertThrows(() => new DataLoader([x, arange(5)]), /^DataLoader: every tensor needs the same first dim \(the sample count\); got shapes \[4,2\], \[5\]$/)
  assertThrows(() => new DataLoader([tensor(1)]), /same first dim/)
  assertThrows(() => new DataLoader([]), /^DataLoader: expected a non-empty array of tensors$/)
  assertThrows(() => new DataLoader([x, y], { batchSize: 0 }), /^DataLoader: batchSize must be a positive integer, got 0$/)
  assertThrows(() => new DataLoader([x, y], { batchSize: 2.5 }), /batchSize must be a positive integer, got 2.5/)
})

test('trainTestSplit: disjoint, covering, sized by round(n * testFraction), seeded', () => {
  const { train, test: held } = trainTestSplit(1797, 0.2, new Generator(0))
  assert.equal([train.shape, held.shape, train.dtype], [[1438], [359], 'int32'])
  const all = [...train.data(), ...held.data()].sort((a, b) => a - b)
  assert.equal(all, Array.from({ length: 1797 }, (_, i) => i))
  assert.equal(trainTestSplit(1797, 0.2, new Generator(0)).test.toArray(), held.toArray())
  assert.not.equal(trainTestSplit(1797, 0.2, new Generator(1)).test.toArray(), held.toArray())
  assert.equal(trainTestSplit(10, 0, new Generator(0)).test.shape, [0])
  assert.equal(trainTestSplit(10, 1, new Generator(0)).train.shape, [0])
  assert.equal(trainTestSplit(0, 0.5, new Generator(0)).train.shape, [0])
  assertThrows(() => trainTestSplit(10, 1.5), /^trainTestSplit: testFraction must be in \[0, 1\], got 1.5$/)
  assertThrows(() => trainTestSplit(10, NaN), /testFraction must be in \[0, 1\], got NaN/)
  assertThrows(() => trainTestSplit(-1, 0.5), /^shuffledIndices: n must be an integer in \[0, 2\^31\), got -1$/)
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, rl } from '../../src/index.ts'
import { CharVocab } from '../../src/data/vocab.ts'
import { loadDataset } from '../../src/node/datasets.ts'

/** Names labelled female (1) / male (0): the ending letters carry most of the signal. */
function namesTask(): { vocab: CharVocab; train: [number[][], number[]]; test: [number[][], number[]] } {
  const g = new Generator(11)
  const pick = (names: string[], n: number): string[] => {
    const a = names.map((s) => s.toLowerCase())
    for (let i = a.length - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [a[i], a[j]] = [a[j], a[i]] }
    return a.slice(0, n)
  }
  const female = pick(loadDataset('names-female'), 500), male = pick(loadDataset('names-male'), 500)
  const vocab = CharVocab.fromTexts([...female, ...male], { specials: ['.'] })
  const enc = (s: string): number[] => vocab.encode(`.${s}.`)
  const split = (xs: string[], label: number): [number[][], number[]][] => [[xs.slice(0, 400).map(enc), Array(400).fill(label)], [xs.slice(400).map(enc), Array(xs.length - 400).fill(label)]]
  const [[fTr, fTrY], [fTe, fTeY]] = split(female, 1), [[mTr, mTrY], [mTe, mTeY]] = split(male, 0)
  return { vocab, train: [[...fTr, ...mTr], [...fTrY, ...mTrY]], test: [[...fTe, ...mTe], [...fTeY, ...mTeY]] }
}

test('a learned reward model separates female from male names and serves as a RewardFn', () => {
  const { vocab, train, test: held } = namesTask()
  const model = new rl.RewardModel(vocab.size, { generator: new Generator(3) })
  const losses = rl.trainRewardModel(model, train[0], train[1], { epochs: 4, generator: new Generator(4) })
  assert.ok(losses[losses.length - 1] < losses[0], `loss falls: ${losses.map((l) => l.toFixed(3))}`)
  assert.ok(losses[0] > 0.6, `starts near log 2: ${losses[0]}`)
  const scores = model.score(held[0])
  const accuracy = scores.filter((s, i) => (s > 0 ? 1 : 0) === held[1][i]).length / scores.length
  assert.ok(accuracy > 0.7, `held-out accuracy ${accuracy}`)
  const reward = rl.learnedReward(model)
  const r = reward(vocab.encode('.'), vocab.encode('anna.'))
  assert.ok(r >= 0 && r <= 1)
  assert.is(r, reward(vocab.encode('.'), vocab.encode('anna.'))) // deterministic
  assert.ok(reward(vocab.encode('.'), vocab.encode('maria.')) > reward(vocab.encode('.'), vocab.encode('robert.')))
})

test('the same seeds give the same reward model', () => {
  const { vocab, train } = namesTask()
  const fit = (): number[] => {
    const m = new rl.RewardModel(vocab.size, { generator: new Generator(5) })
    rl.trainRewardModel(m, train[0].slice(0, 200), train[1].slice(0, 200), { epochs: 1, generator: new Generator(6) })
    return m.score(train[0].slice(0, 5))
  }
  assert.equal(fit(), fit())
})

test.run()

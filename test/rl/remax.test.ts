/**
 * @file ReMax and REINFORCE against sheet 12's "tests that prove it is real": unbiasedness and lower
 * variance than REINFORCE on a 2-step toy MDP (exact gradient by enumeration), the exact call pattern
 * per step, advantage clipping and the zero-gradient case, the masked-mean loss on a hand-built batch,
 * and a zero KL term when policy == reference.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, tensor, isGradEnabled, type Tensor } from '../../src/index.ts'
import { CharLM, type GenerateResult } from '../../src/generate/index.ts'
import { clippedAdvantages, policyGradientLoss, reinforceLoss, remax, remaxLoss, remaxReturns, tokenBatch, tokenLogProbs, toF64 } from '../../src/rl/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

/** π(y_t | y_{t-1}) = softmax(W[y_{t-1}]): a tabular 2-step MDP when the prompt is one token. */
class Bigram extends nn.Module {
  readonly vocabSize: number
  table: nn.Embedding
  constructor(V: number, seed: number) {
    super()
    this.vocabSize = V
    this.table = new nn.Embedding(V, V, { generator: new Generator(seed), dtype: 'float64' })
  }
  forward(ids: Tensor): Tensor { return this.table.forward(ids) } // (B, T) -> (B, T, V)
}

const flatGrad = (m: nn.Module): number[] => m.parameters().flatMap((p) => Array.from(p.grad!.data(), Number))

test('ReMax gradient is unbiased and has lower variance than REINFORCE (2-step toy MDP)', () => {
  const V = 3
  const policy = new Bigram(V, 1)
  const R = (_: readonly number[], y: readonly number[]): number => 1 + (y[0] === 1 ? 1 : 0) + (y[1] === 2 ? 0.5 : 0)
  // Exact ∇J, J = Σ_y π(y) R(y), by enumerating the 9 responses.
  const seqs: number[][] = []
  for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) seqs.push([0, a, b])
  const logp = tokenLogProbs(policy, tensor(seqs, { dtype: 'int32' })).sum(1) // (9,)
  logp.exp().mul(tensor(seqs.map((s) => R([0], s.slice(1))), { dtype: 'float64' })).sum().backward()
  const exact = flatGrad(policy)
  policy.zeroGrad()
  const K = 2500
  const est = (kind: 'remax' | 'none'): { mean: number[]; varSum: number } => {
    const g = new Generator(11)
    const sum = new Array(exact.length).fill(0), sq = new Array(exact.length).fill(0)
    for (let k = 0; k < K; k++) {
      const o = { policy, ref: policy, reward: R, prompts: [[0]], maxNewTokens: 2, klCoef: 0, generator: g, sampling: { temperature: 1, topP: 1 } }
      const { loss } = kind === 'remax' ? remaxLoss(o) : reinforceLoss({ ...o, baseline: 'none' })
      loss.backward()
      // loss = −(1/2) A ∇log π(y) for one 2-token sample, so the estimate of ∇J is −2 ∇loss.
      flatGrad(policy).forEach((v, i) => { sum[i] += -2 * v; sq[i] += 4 * v * v })
      policy.zeroGrad()
    }
    const mean = sum.map((s) => s / K)
    return { mean, varSum: sq.reduce((s, q, i) => s + q / K - mean[i] ** 2, 0) }
  }
  const rm = est('remax'), rf = est('none')
  for (const [name, e] of [['remax', rm], ['reinforce', rf]] as const) {
    const se = Math.sqrt(e.varSum / K) // total standard error bounds every coordinate's
    e.mean.forEach((m, i) => assert.ok(Math.abs(m - exact[i]) < 4 * se + 1e-9, `${name}[${i}]: ${m} vs exact ${exact[i]} (se ${se})`))
  }
  assert.ok(rm.varSum < 0.5 * rf.varSum, `variance remax ${rm.varSum} vs reinforce ${rf.varSum}`)
})

test('one ReMax step: one sample, one greedy, 2B reward calls, one taped policy forward, one untaped ref forward', () => {
  const policy = new CharLM({ vocabSize: 5, hiddenSize: 8, generator: new Generator(0) })
  const ref = new CharLM({ vocabSize: 5, hiddenSize: 8, generator: new Generator(0) })
  const calls = { policy: [] as boolean[], ref: [] as boolean[], steps: 0, reward: 0 }
  policy.registerForwardHook(() => { calls.policy.push(isGradEnabled()) })
  ref.registerForwardHook(() => { calls.ref.push(isGradEnabled()) })
  const step = policy.step.bind(policy)
  policy.step = (s, t) => { calls.steps++; return step(s, t) }
  let optSteps = 0
  const stats = remax({
    policy, ref, prompts: [[1], [2, 3]], maxNewTokens: 3, generator: new Generator(2),
    reward: () => { calls.reward++; return 0 },
    optimizer: { step: () => { optSteps++ }, zeroGrad: () => policy.zeroGrad() },
  })
  assert.equal(calls.policy, [true])
  assert.equal(calls.ref, [false])
  assert.is(calls.reward, 4)
  assert.is(optSteps, 1)
  assert.ok(stats.greedy !== null)
  // two generations of (1 + 3) columns, each through the incremental step
  assert.is(calls.steps, 2 * (2 + 3 - 1))
})

test('A is clipped to ±5; with r = b and β = 0 the gradient is exactly zero', () => {
  assert.equal(clippedAdvantages([10, -10, 1, 5.5], [0, 0, 0.5, 0]), [5, -5, 0.5, 5])
  const policy = new CharLM({ vocabSize: 4, hiddenSize: 6, generator: new Generator(3) })
  const ref = new CharLM({ vocabSize: 4, hiddenSize: 6, generator: new Generator(4) })
  const { loss, stats } = remaxLoss({ policy, ref, reward: () => 0.7, prompts: [[0], [1]], maxNewTokens: 4, klCoef: 0, generator: new Generator(1) })
  loss.backward()
  assert.equal(stats.advantages, [0, 0])
  for (const p of policy.parameters()) assert.ok(Array.from(p.grad!.data()).every((v) => v === 0))
})

test('loss is the masked mean of −G_t logp_t on a hand-built batch (padding excluded, EOS included)', () => {
  // row 0: prompt [1, 2], response [3, 0(EOS)]; row 1: prompt [2], response [1] then padding (pad 0).
  const g: GenerateResult = {
    sequences: tensor([[1, 2, 3, 0], [2, 1, 0, 0]], { dtype: 'int32' }),
    prompts: [[1, 2], [2]], responses: [[3, 0], [1]], stopped: [true, false],
  }
  const batch = tokenBatch(g)
  assert.equal(Array.from(batch.mask), [0, 1, 1, 1, 0, 0])
  const kl = Float64Array.from([0, 0.1, -0.2, 0.3, 0, 0])
  const G = remaxReturns(batch, [2, -1], kl, 0.9)
  assertClose(Array.from(G), [0, 0.1 + 2 * 0.81, -0.2 + 2 * 0.9, 0.3 - 0.9, 0, 0], { atol: 1e-12 })
  const logp = tensor([[-1, -2, -3], [-0.5, -7, -9]], { dtype: 'float64' }).requiresGrad_()
  const loss = policyGradientLoss(logp, G, batch.mask)
  const want = -(G[1] * -2 + G[2] * -3 + G[3] * -0.5) / 3
  assertClose([loss.item()], [want], { atol: 1e-12 })
  loss.backward()
  assertClose(logp.grad!, [[0, -G[1] / 3, -G[2] / 3], [-G[3] / 3, 0, 0]], { atol: 1e-12 })
  assertThrows(() => policyGradientLoss(logp, G, new Float64Array(6)), /no response tokens/)
})

test('KL term is zero when policy == reference', () => {
  const policy = new CharLM({ vocabSize: 4, hiddenSize: 6, generator: new Generator(5) })
  const { stats } = remaxLoss({ policy, ref: policy, reward: (_, y) => y.length, prompts: [[0], [1, 2]], maxNewTokens: 3, klCoef: 1, generator: new Generator(0) })
  assert.is(stats.kl, 0)
  const batch = tokenBatch(stats.sample)
  const lp = toF64(tokenLogProbs(policy, batch.ids))
  assert.ok(lp.every(Number.isFinite))
})

test('bad options throw TesseraErrors', () => {
  const policy = new CharLM({ vocabSize: 4, hiddenSize: 6, generator: new Generator(5) })
  const base = { policy, ref: policy, reward: () => 0, prompts: [[0]], maxNewTokens: 2 }
  assertThrows(() => remaxLoss({ ...base, prompts: [] }), /at least one prompt/)
  assertThrows(() => remaxLoss({ ...base, gamma: 0 }), /gamma/)
  assertThrows(() => remaxLoss({ ...base, reward: () => NaN }), /reward returned NaN/)
})

test.run()

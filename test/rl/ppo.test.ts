/**
 * @file PPO pieces: GAE against a hand-computed 3-token example with a masked position, the clipped
 * surrogate's zero gradient on the clipped side, the clipped value loss, masked whitening, and a
 * full ppo() step's bookkeeping.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, optim, tensor } from '../../src/index.ts'
import { CharLM } from '../../src/generate/index.ts'
import { gae, maskedWhiten, ppo, ppoClipLoss, valueLoss } from '../../src/rl/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

test('GAE equals a hand-computed 3-token example with a masked position', () => {
  const r = Float64Array.from([1, 5, 2]), v = Float64Array.from([0.5, 9, 1]), m = Float64Array.from([1, 0, 1])
  const { advantages, returns } = gae(r, v, m, 1, 3, 0.9, 0.8)
  // t=2: δ = 2 − 1 = 1, A = 1. t=1 (masked): A and V_{t+1} pass through: A = 1. t=0: δ = 1 + 0.9·1 − 0.5 = 1.4, A = 1.4 + 0.72·1.
  assertClose(Array.from(advantages), [2.12, 1, 1], { atol: 1e-12 })
  assertClose(Array.from(returns), [2.62, 10, 2], { atol: 1e-12 })
  // two rows are independent; leading masked positions carry the first valid A back
  const two = gae(Float64Array.from([1, 5, 2, 0, 0, 1]), Float64Array.from([0.5, 9, 1, 0, 0, 0]), Float64Array.from([1, 0, 1, 0, 0, 1]), 2, 3, 0.9, 0.8)
  assertClose(Array.from(two.advantages), [2.12, 1, 1, 1, 1, 1], { atol: 1e-12 })
  assertThrows(() => gae(r, v, m, 2, 3), /B\*T/)
})

test('PPO clip: zero gradient outside [1−ε, 1+ε] on the clipped side, ordinary gradient elsewhere', () => {
  const eps = 0.2
  const ratios = [1.5, 1.5, 0.5, 0.5, 1.0]
  const A = Float64Array.from([1, -1, -1, 1, 2])
  const logp = tensor([ratios.map(Math.log)], { dtype: 'float64' }).requiresGrad_() // (1, 5)
  const old = new Float64Array(5)
  const mask = Float64Array.from([1, 1, 1, 1, 1])
  const loss = ppoClipLoss(logp, old, A, mask, eps)
  // value: −mean(min(ρA, clip(ρ)A)) = −(1.2 − 1.5 − 0.8 + 0.5 + 2) / 5
  assertClose([loss.item()], [-(1.2 - 1.5 - 0.8 + 0.5 + 2) / 5], { atol: 1e-12 })
  loss.backward()
  // d/dlogp (−ρA/5) = −ρA/5 where the unclipped branch is active
  assertClose(logp.grad!, [[0, 1.5 / 5, 0, -0.5 / 5, -2 / 5]], { atol: 1e-12 })
})

test('clipped value loss takes the larger of the clipped and unclipped errors', () => {
  const V = tensor([[1.0, 0.0]], { dtype: 'float64' }).requiresGrad_()
  const loss = valueLoss(V, Float64Array.from([0, 0]), Float64Array.from([2, 1]), Float64Array.from([1, 1]), 0.2)
  // token 0: V=1, clipped V = 0.2: max((1−2)², (0.2−2)²) = 3.24 (constant branch); token 1: 1
  assertClose([loss.item()], [0.5 * (3.24 + 1) / 2], { atol: 1e-12 })
  loss.backward()
  assertClose(V.grad!, [[0, -0.5]], { atol: 1e-12 })
})

test('masked whitening has zero mean and unit variance over valid tokens', () => {
  const x = Float64Array.from([1, 2, 100, 3, 4]), m = Float64Array.from([1, 1, 0, 1, 1])
  const w = maskedWhiten(x, m)
  assert.is(w[2], 0)
  const vals = [w[0], w[1], w[3], w[4]]
  const mean = vals.reduce((s, v) => s + v, 0) / 4
  assert.ok(Math.abs(mean) < 1e-12)
  assert.ok(Math.abs(vals.reduce((s, v) => s + v * v, 0) / 3 - 1) < 1e-6)
})

test('ppo step: first-epoch ratio is 1 (no clipping), both models move, reference untouched', () => {
  const mk = (seed: number, head?: number): CharLM => new CharLM({ vocabSize: 4, hiddenSize: 6, headSize: head, generator: new Generator(seed) })
  const policy = mk(0), ref = mk(0), critic = mk(1, 1)
  const before = policy.parameters().map((p) => Array.from(p.data()))
  const cBefore = critic.parameters().map((p) => Array.from(p.data()))
  const s = ppo({
    policy, ref, critic, reward: (_, y) => y.filter((t) => t === 3).length, prompts: [[0], [1]], maxNewTokens: 3, generator: new Generator(3),
    policyOptimizer: new optim.Adam(policy.parameters(), { lr: 0.01 }), criticOptimizer: new optim.Adam(critic.parameters(), { lr: 0.01 }),
  })
  assert.is(s.clipFraction, 0)
  assert.is(s.kl, 0)
  assert.ok(policy.parameters().some((p, i) => Array.from(p.data()).some((v, j) => v !== before[i][j])))
  assert.ok(critic.parameters().some((p, i) => Array.from(p.data()).some((v, j) => v !== cBefore[i][j])))
  assertThrows(() => ppo({ policy, ref, critic, reward: () => 0, prompts: [[0]], maxNewTokens: 2, clipEps: 1.5,
    policyOptimizer: { step() {}, zeroGrad() {} }, criticOptimizer: { step() {}, zeroGrad() {} } }), /clipEps/)
})

test.run()

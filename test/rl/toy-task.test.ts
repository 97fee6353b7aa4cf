/**
 * @file End to end, seeded: a tiny CharLM policy learns to emit a target token (reward = fraction of
 * response tokens equal to it) under ReMax, REINFORCE (none / mean baseline) and PPO. The mean sampled
 * reward over the last steps must clearly exceed that of the first steps.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, optim } from '../../src/index.ts'
import { CharLM } from '../../src/generate/index.ts'
import { ppo, reinforce, remax, type RewardFn } from '../../src/rl/index.ts'

const V = 5, TARGET = 3, STEPS = 40
const reward: RewardFn = (_, y) => y.filter((t) => t === TARGET).length / Math.max(1, y.length)
const prompts = Array.from({ length: 16 }, (_, i) => [i % 2])
const mk = (seed: number, head?: number): CharLM => new CharLM({ vocabSize: V, embedDim: 8, hiddenSize: 16, headSize: head, generator: new Generator(seed) })
const mean = (x: number[]): number => x.reduce((s, v) => s + v, 0) / x.length

function run(name: string, stepFn: (policy: CharLM, ref: CharLM, g: Generator, opt: optim.Adam) => number[]): void {
  test(`${name}: reward rises on the target-token task`, () => {
    const policy = mk(0), ref = mk(0)
    const g = new Generator(42)
    const opt = new optim.Adam(policy.parameters(), { lr: 0.03 })
    const curve: number[] = []
    for (let s = 0; s < STEPS; s++) curve.push(mean(stepFn(policy, ref, g, opt)))
    const first = mean(curve.slice(0, 5)), last = mean(curve.slice(-5))
    assert.ok(last > first + 0.3 && last > 0.6, `${name}: reward ${first.toFixed(3)} -> ${last.toFixed(3)}`)
  })
}

const common = { reward, prompts, maxNewTokens: 4, klCoef: 0.01, sampling: { temperature: 1, topP: 1 } }
run('remax', (policy, ref, generator, optimizer) => remax({ ...common, policy, ref, generator, optimizer }).rewards)
run('reinforce (no baseline)', (policy, ref, generator, optimizer) => reinforce({ ...common, policy, ref, generator, optimizer, baseline: 'none' }).rewards)
run('reinforce (mean baseline)', (policy, ref, generator, optimizer) => reinforce({ ...common, policy, ref, generator, optimizer, baseline: 'mean' }).rewards)
const critic = mk(7, 1)
const criticOptimizer = new optim.Adam(critic.parameters(), { lr: 0.03 })
run('ppo', (policy, ref, generator, policyOptimizer) => ppo({ ...common, policy, ref, critic, generator, policyOptimizer, criticOptimizer, epochs: 2 }).rewards)

test.run()

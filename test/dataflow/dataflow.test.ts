/**
 * @file HybridFlow dataflow (sheet 42): DataProto chunk/concat/union, the four dispatch modes, and the
 * key property: ReMax and PPO run through worker groups (actor on 1 rank; reference, reward and critic
 * on 2 ranks with DP_COMPUTE_PROTO, critic as 2 replicas) leave bitwise the same parameters as the direct rl.remax / rl.ppo
 * loop for the same seed. Also: the ReMax advantage is exactly 0 when the sample equals the greedy one.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, optim, tensor } from '../../src/index.ts'
import { CharLM } from '../../src/generate/index.ts'
import { ppo, remax, type RewardFn } from '../../src/rl/index.ts'
import {
  ActorWorker, CriticWorker, DataProto, Dispatch, RefWorker, ResourcePool, RewardWorker, WorkerGroup, ppoFlow, register, remaxFlow,
} from '../../src/dataflow/index.ts'
import { assertThrows } from '../helpers.ts'

test('DataProto: chunk then concat preserves row order; union merges keys; sizes are checked', () => {
  const p = new DataProto({ x: tensor([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]) }, { id: ['a', 'b', 'c', 'd', 'e'] }, { k: 1 })
  const parts = p.chunk(2)
  assert.equal(parts.map((q) => q.length), [3, 2])
  assert.equal(parts[1].list('id'), ['d', 'e'])
  const back = DataProto.concat(parts)
  assert.equal(back.tensor('x').toArray(), p.tensor('x').toArray())
  assert.equal(back.list('id'), p.list('id'))
  assert.equal(back.meta, { k: 1 })
  const u = p.union(new DataProto({ y: tensor([1, 2, 3, 4, 5]) }))
  assert.equal(Object.keys(u.tensors), ['x', 'y'])
  assertThrows(() => new DataProto({ x: tensor([1, 2]) }, { id: ['a'] }), /batch size/)
  assertThrows(() => p.chunk(6), /1 <= n <= 5/)
  assertThrows(() => p.tensor('nope'), /no tensor 'nope'/)
})

test('dispatch modes split and collect as registered', () => {
  class W {
    constructor(readonly rank: number) {}
    hello(x: number): number { return x * 10 + this.rank }
    pair(x: number): number { return x + this.rank }
    first(x: number): string { return `r${this.rank}:${x}` }
    rows(p: DataProto): DataProto { return new DataProto({ r: tensor(p.list<number>('v').map(() => this.rank)) }, { v: p.list('v') }) }
    unregistered(): number { return 0 }
  }
  register(W, 'hello', Dispatch.ONE_TO_ALL)
  register(W, 'pair', Dispatch.ALL_TO_ALL)
  register(W, 'first', Dispatch.RANK_ZERO)
  register(W, 'rows', Dispatch.DP_COMPUTE_PROTO)
  const g = new WorkerGroup((r) => new W(r), new ResourcePool(2))
  assert.equal(g.execute('hello', 1), [10, 11])
  assert.equal(g.execute('pair', [5, 7]), [5, 8])
  assert.is(g.execute('first', 3), 'r0:3')
  const out = g.proto('rows', new DataProto({}, { v: [1, 2, 3] }))
  assert.equal(out.list('v'), [1, 2, 3])
  assert.equal(out.tensor('r').toArray(), [0, 0, 1])
  assertThrows(() => g.execute('unregistered'), /not registered/)
  assertThrows(() => g.execute('pair', [1]), /ALL_TO_ALL needs an array of 2/)
  assertThrows(() => new ResourcePool(0), /worldSize/)
})

const V = 5
const reward: RewardFn = (_, y) => y.filter((t) => t === 3).length / Math.max(1, y.length)
const prompts = [[0], [1], [2, 1], [0], [4], [1]]
const mk = (seed: number, head?: number): CharLM => new CharLM({ vocabSize: V, embedDim: 6, hiddenSize: 8, headSize: head, generator: new Generator(seed) })
const params = (m: CharLM): number[][] => m.parameters().map((p) => Array.from(p.data()))
const cfg = { maxNewTokens: 4, stopTokens: [4], klCoef: 0.05, gamma: 0.99 }

test('ReMax through the dataflow gives bitwise the same parameters as the direct loop', () => {
  const p1 = mk(0), r1 = mk(0)
  const o1 = new optim.Adam(p1.parameters(), { lr: 0.02 })
  const g1 = new Generator(9)
  for (let s = 0; s < 4; s++) remax({ ...cfg, policy: p1, ref: r1, reward, prompts, optimizer: o1, generator: g1 })
  const p2 = mk(0), r2 = mk(0)
  const o2 = new optim.Adam(p2.parameters(), { lr: 0.02 })
  const flow = {
    actor: new WorkerGroup(() => new ActorWorker(p2, o2, new Generator(9)), new ResourcePool(1)),
    ref: new WorkerGroup(() => new RefWorker(r2), new ResourcePool(2)),
    reward: new WorkerGroup(() => new RewardWorker(reward), new ResourcePool(2)),
  }
  for (let s = 0; s < 4; s++) remaxFlow(flow, prompts, cfg)
  const a = params(p1), b = params(p2)
  assert.ok(a.some((w, i) => w.some((v, j) => v !== params(mk(0))[i][j])), 'the policy moved')
  assert.equal(a, b)
})

test('PPO through the dataflow gives bitwise the same parameters (actor and critic) as the direct loop', () => {
  const run = (viaFlow: boolean): number[][] => {
    const policy = mk(0), ref = mk(0), critic = mk(3, 1)
    const po = new optim.Adam(policy.parameters(), { lr: 0.02 }), co = new optim.Adam(critic.parameters(), { lr: 0.02 })
    if (!viaFlow) {
      const g = new Generator(5)
      for (let s = 0; s < 3; s++) ppo({ ...cfg, policy, ref, critic, reward, prompts, generator: g, policyOptimizer: po, criticOptimizer: co, epochs: 2 })
    } else {
      const flow = {
        actor: new WorkerGroup(() => new ActorWorker(policy, po, new Generator(5)), new ResourcePool(1)),
        ref: new WorkerGroup(() => new RefWorker(ref), new ResourcePool(2)),
        reward: new WorkerGroup(() => new RewardWorker(reward), new ResourcePool(2)),
        // Two critic replicas (rank 0 is `critic`): values split by rows, updates applied on both.
        critic: new WorkerGroup((r) => {
          if (r === 0) return new CriticWorker(critic, co)
          const replica = mk(3, 1)
          return new CriticWorker(replica, new optim.Adam(replica.parameters(), { lr: 0.02 }))
        }, new ResourcePool(2)),
      }
      for (let s = 0; s < 3; s++) ppoFlow(flow, prompts, { ...cfg, epochs: 2 })
      assert.equal(params(flow.critic.workers[1].critic as CharLM), params(critic), 'replicas stay in sync')
    }
    return [...params(policy), ...params(critic)]
  }
  assert.equal(run(true), run(false))
})

test('ReMax advantage is exactly 0 when the sampled sequence equals the greedy one', () => {
  const p = mk(1)
  const flow = {
    actor: new WorkerGroup(() => new ActorWorker(p, { step() {}, zeroGrad() {} }, new Generator(0)), new ResourcePool(1)),
    ref: new WorkerGroup(() => new RefWorker(p), new ResourcePool(1)),
    reward: new WorkerGroup(() => new RewardWorker((_, y) => y.length + y[0]), new ResourcePool(1)),
  }
  const s = remaxFlow(flow, prompts, { ...cfg, sampling: { temperature: 0 } })
  assert.equal(s.rewards, s.baselines)
  assert.is(s.kl, 0)
  assertThrows(() => ppoFlow(flow, prompts, cfg), /critic worker group/)
})

test.run()

/**
 * @file ReMax and PPO written once as single-controller programs over worker groups (HybridFlow,
 * Sheng et al. 2024, https://arxiv.org/abs/2409.19256 §4.2: "a few lines of code" per algorithm).
 * Dataflow per iteration: actor.generate → ref.logprob, critic.value, reward.score → advantages on the
 * controller → critic.update, actor.update. The math is the same code as rl.remax (Li et al. 2023,
 * https://arxiv.org/abs/2310.10505) and rl.ppo (Schulman et al. 2017, https://arxiv.org/abs/1707.06347),
 * and with one actor rank the parameters match the direct loop bit for bit (tested).
 */
import { TesseraError } from '../errors.ts'
import type { SamplingOptions } from '../generate/sampling.ts'
import { gae, klPenalty, maskedWhiten, meanKl, toF64 } from '../rl/core.ts'
import { clippedAdvantages, remaxReturns } from '../rl/remax.ts'
import { DataProto } from './proto.ts'
import { protoBatch, float64Tensor, type ActorWorker, type CriticWorker, type RefWorker, type RewardWorker } from './roles.ts'
import type { WorkerGroup } from './worker.ts'

export interface Flow {
  actor: WorkerGroup<ActorWorker>
  ref: WorkerGroup<RefWorker>
  reward: WorkerGroup<RewardWorker>
  critic?: WorkerGroup<CriticWorker>
}

export interface FlowOptions {
  maxNewTokens: number
  stopTokens?: number[]
  padId?: number
  /** Default { temperature: 1, topP: 0.9 }. */
  sampling?: SamplingOptions
  klCoef?: number
  gamma?: number
}

const scoresOf = (p: DataProto): number[] => Array.from(toF64(p.tensor('scores')))

/** One ReMax iteration through the dataflow; returns sampled rewards, greedy rewards and KL. */
export function remaxFlow(flow: Flow, prompts: number[][], o: FlowOptions & { clipReward?: number }): { rewards: number[]; baselines: number[]; kl: number } {
  const gen = { maxNewTokens: o.maxNewTokens, stopTokens: o.stopTokens, padId: o.padId }
  const sample = flow.actor.proto('generateSequences', new DataProto({}, { prompts }, { ...gen, sampling: { temperature: 1, topP: 0.9, ...o.sampling } }))
  const greedy = flow.actor.proto('generateSequences', new DataProto({}, { prompts }, { ...gen, sampling: { temperature: 0 } }))
  const rewards = scoresOf(flow.reward.proto('computeScore', sample))
  const baselines = scoresOf(flow.reward.proto('computeScore', greedy))
  const A = clippedAdvantages(rewards, baselines, o.clipReward ?? 5)
  const lp = toF64(flow.actor.proto('computeLogProb', sample).tensor('oldLogProbs')) // (B, T)
  const ref = toF64(flow.ref.proto('computeRefLogProb', sample).tensor('refLogProbs')) // (B, T)
  const b = protoBatch(sample)
  const G = remaxReturns(b, A, klPenalty(lp, ref, b.mask, o.klCoef ?? 0.05), o.gamma ?? 1)
  flow.actor.execute('updatePolicyGradient', sample.union(new DataProto({ returns: float64Tensor(G, [b.B, b.T]) })))
  return { rewards, baselines, kl: meanKl(lp, ref, b.mask) }
}

/** One PPO iteration through the dataflow (needs a critic group). */
export function ppoFlow(flow: Flow, prompts: number[][], o: FlowOptions & { lambda?: number; clipEps?: number; valueClip?: number; epochs?: number; whiten?: boolean }): { rewards: number[]; kl: number } {
  const critic = flow.critic
  if (!critic) throw new TesseraError('ppoFlow: the flow needs a critic worker group')
  const sample = flow.actor.proto('generateSequences', new DataProto({}, { prompts }, {
    maxNewTokens: o.maxNewTokens, stopTokens: o.stopTokens, padId: o.padId, sampling: { temperature: 1, topP: 0.9, ...o.sampling },
  }))
  const old = flow.actor.proto('computeLogProb', sample)
  const ref = flow.ref.proto('computeRefLogProb', sample)
  const values = critic.proto('computeValues', sample)
  const rewards = scoresOf(flow.reward.proto('computeScore', sample))
  const b = protoBatch(sample)
  const lp = toF64(old.tensor('oldLogProbs')), rl = toF64(ref.tensor('refLogProbs'))
  const tokenRewards = klPenalty(lp, rl, b.mask, o.klCoef ?? 0.05) // (B, T)
  for (let i = 0; i < b.B; i++) if (b.length[i] > 0) tokenRewards[i * b.T + b.start[i] + b.length[i] - 1] += rewards[i]
  const { advantages, returns } = gae(tokenRewards, toF64(values.tensor('values')), b.mask, b.B, b.T, o.gamma ?? 1, o.lambda ?? 0.95)
  const A = (o.whiten ?? true) ? maskedWhiten(advantages, b.mask) : advantages
  const data = new DataProto(
    { ...sample.tensors, ...old.tensors, ...values.tensors, advantages: float64Tensor(A, [b.B, b.T]), returns: float64Tensor(returns, [b.B, b.T]) },
    sample.nonTensors, { clipEps: o.clipEps ?? 0.2, valueClip: o.valueClip ?? 0.2 },
  )
  for (let e = 0; e < (o.epochs ?? 1); e++) {
    flow.actor.execute('updatePPO', data)
    critic.execute('updateCritic', data)
  }
  return { rewards, kl: meanKl(lp, rl, b.mask) }
}

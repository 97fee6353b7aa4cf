/**
 * @file The RLHF roles of HybridFlow (Sheng et al. 2024, https://arxiv.org/abs/2409.19256, Fig. 1 and
 * §4) as in-process workers: actor (generate, log-probs, policy updates), reference (log-probs), reward
 * (scores), critic (values, value updates). Every method takes and returns a DataProto.
 *
 * DataProto keys: non-tensors `prompts`, `responses` (number[] per row); tensors `sequences` (B, L)
 * int32, per-token float64 (B, T = L − 1) `oldLogProbs`, `refLogProbs`, `values`, `returns`,
 * `advantages`; `scores` (B,) float64. Meta of a generation request: `maxNewTokens`, `stopTokens`,
 * `padId`, `sampling` (SamplingOptions; temperature 0 = greedy).
 * Read-only passes are DP_COMPUTE_PROTO (rows split across ranks). Updates are ONE_TO_ALL: every
 * replica applies the same full-batch step, so data-parallel replicas stay bitwise identical without
 * a gradient all-reduce (what an all-reduce of equal shards would give, minus the communication).
 */
import { noGrad } from '../autograd.ts'
import { fromTypedArray } from '../creation.ts'
import type { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { generate, type GenerateResult, type SequenceModel } from '../generate/generate.ts'
import type { SamplingOptions } from '../generate/sampling.ts'
import {
  policyGradientLoss, ppoClipLoss, toF64, tokenBatch, tokenLogProbs, valueLoss, type RewardFn, type StepOptimizer, type TokenBatch,
} from '../rl/core.ts'
import { tokenValues } from '../rl/ppo.ts'
import { DataProto } from './proto.ts'
import { Dispatch, register } from './worker.ts'

/** A float64 tensor holding a copy of x (row-major) with the given shape. */
export const float64Tensor = (x: Float64Array, shape: number[]): Tensor => fromTypedArray(Float64Array.from(x), shape, 'float64')

/** The token batch (mask, alignment) of a DataProto holding a generation. */
export function protoBatch(p: DataProto): TokenBatch {
  return tokenBatch({ sequences: p.tensor('sequences'), prompts: p.list('prompts'), responses: p.list('responses'), stopped: [] } as GenerateResult)
}

export class ActorWorker {
  constructor(readonly policy: SequenceModel, readonly optimizer: StepOptimizer, readonly generator: Generator) {}

  /** prompts -> sequences, responses (this rank's rows), drawing from this rank's generator. */
  generateSequences(p: DataProto): DataProto {
    const m = p.meta as { maxNewTokens: number; stopTokens?: number[]; padId?: number; sampling?: SamplingOptions }
    const g = generate(this.policy, p.list<number[]>('prompts'), {
      ...m.sampling, maxNewTokens: m.maxNewTokens, stopTokens: m.stopTokens, padId: m.padId, generator: this.generator,
    })
    return new DataProto({ sequences: g.sequences }, { prompts: g.prompts, responses: g.responses }, p.meta)
  }

  /** sequences -> oldLogProbs (B, T), no tape. */
  computeLogProb(p: DataProto): DataProto {
    const ids = p.tensor('sequences')
    return new DataProto({ oldLogProbs: noGrad(() => tokenLogProbs(this.policy, ids)).double() })
  }

  /** One policy-gradient step on −Σ G logπ mask / Σ mask (ReMax / REINFORCE), full batch. */
  updatePolicyGradient(p: DataProto): number {
    const b = protoBatch(p)
    const loss = policyGradientLoss(tokenLogProbs(this.policy, b.ids), toF64(p.tensor('returns')), b.mask)
    this.optimizer.zeroGrad(); loss.backward(); this.optimizer.step(); this.optimizer.zeroGrad()
    return loss.item()
  }

  /** One PPO clipped-surrogate step, full batch; meta.clipEps. */
  updatePPO(p: DataProto): number {
    const b = protoBatch(p)
    this.optimizer.zeroGrad()
    const loss = ppoClipLoss(tokenLogProbs(this.policy, b.ids), toF64(p.tensor('oldLogProbs')), toF64(p.tensor('advantages')), b.mask, (p.meta.clipEps as number) ?? 0.2)
    loss.backward(); this.optimizer.step(); this.optimizer.zeroGrad()
    return loss.item()
  }
}
register(ActorWorker, 'generateSequences', Dispatch.DP_COMPUTE_PROTO)
register(ActorWorker, 'computeLogProb', Dispatch.DP_COMPUTE_PROTO)
register(ActorWorker, 'updatePolicyGradient', Dispatch.ONE_TO_ALL)
register(ActorWorker, 'updatePPO', Dispatch.ONE_TO_ALL)

export class RefWorker {
  constructor(readonly ref: SequenceModel) {}
  /** sequences -> refLogProbs (B, T), no tape. */
  computeRefLogProb(p: DataProto): DataProto {
    const ids = p.tensor('sequences')
    return new DataProto({ refLogProbs: noGrad(() => tokenLogProbs(this.ref, ids)).double() })
  }
}
register(RefWorker, 'computeRefLogProb', Dispatch.DP_COMPUTE_PROTO)

export class RewardWorker {
  constructor(readonly reward: RewardFn) {}
  /** prompts, responses -> scores (B,). */
  computeScore(p: DataProto): DataProto {
    const prompts = p.list<number[]>('prompts'), responses = p.list<number[]>('responses')
    return new DataProto({ scores: float64Tensor(Float64Array.from(prompts, (x, b) => this.reward(x, responses[b])), [prompts.length]) })
  }
}
register(RewardWorker, 'computeScore', Dispatch.DP_COMPUTE_PROTO)

export class CriticWorker {
  constructor(readonly critic: SequenceModel, readonly optimizer: StepOptimizer) {}
  /** sequences -> values (B, T), no tape. */
  computeValues(p: DataProto): DataProto {
    const ids = p.tensor('sequences')
    return new DataProto({ values: noGrad(() => tokenValues(this.critic, ids)).double() })
  }
  /** One clipped value-loss step, full batch; meta.valueClip. */
  updateCritic(p: DataProto): number {
    const b = protoBatch(p)
    this.optimizer.zeroGrad()
    const loss = valueLoss(tokenValues(this.critic, b.ids), toF64(p.tensor('values')), toF64(p.tensor('returns')), b.mask, (p.meta.valueClip as number) ?? 0.2)
    loss.backward(); this.optimizer.step(); this.optimizer.zeroGrad()
    return loss.item()
  }
}
register(CriticWorker, 'computeValues', Dispatch.DP_COMPUTE_PROTO)
register(CriticWorker, 'updateCritic', Dispatch.ONE_TO_ALL)


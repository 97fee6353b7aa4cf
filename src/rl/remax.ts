/**
 * @file ReMax (Li et al. 2023, "ReMax: A Simple, Effective, and Efficient Reinforcement Learning Method
 * for Aligning Large Language Models", https://arxiv.org/abs/2310.10505; liziniu/ReMax
 * step3_rlhf_finetuning/remax_trainer.py) and the REINFORCE arms it is compared with (Williams 1992).
 *
 * One update per prompt batch (sheet 12):
 *   y ~ π_θ (temperature 1, top-p 0.9), ŷ = greedy; r = R(x, y), b = R(x, ŷ), A = clip(r − b, −c, c).
 *   k_t = −β (log π_θ(y_t|·) − log π_ref(y_t|·))                                  (per token, not summed)
 *   G_t = k_t + A · γ^{T_b − t + 1} for response tokens t = 1..T_b                  (γ = 1: G_t = k_t + A)
 *   L   = −Σ_t G_t log π_θ(y_t | x, y_<t) mask_t / Σ_t mask_t,  G constant;  one optimizer step.
 * REINFORCE uses the same G_t with b = 0 ('none') or the batch mean of r ('mean') and no greedy pass.
 * Shapes: B prompts; per-token arrays (B, T) as in core.ts.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import type { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { generate, type GenerateResult, type SequenceModel } from '../generate/generate.ts'
import type { SamplingOptions } from '../generate/sampling.ts'
import {
  klPenalty, meanKl, policyGradientLoss, toF64, tokenBatch, tokenLogProbs, type RewardFn, type StepOptimizer, type TokenBatch,
} from './core.ts'

export interface PolicyGradientOptions {
  policy: SequenceModel
  /** Frozen reference model for the KL penalty (evaluated without a tape). */
  ref: SequenceModel
  reward: RewardFn
  prompts: readonly (readonly number[])[]
  maxNewTokens: number
  stopTokens?: readonly number[]
  padId?: number
  generator?: Generator
  /** β of the per-token KL penalty. Default 0.05 (ReMax OPT script, review A). */
  klCoef?: number
  /** Discount of the final advantage toward early tokens. Default 1. */
  gamma?: number
  /** |A| is clipped to this. Default 5. */
  clipReward?: number
  /** Default { temperature: 1, topP: 0.9 } (remax_trainer.py). */
  sampling?: SamplingOptions
}

export interface PolicyGradientStats {
  loss: number
  /** Rewards of the sampled responses (B,). */
  rewards: number[]
  /** Baseline per prompt (B,): greedy rewards for ReMax. */
  baselines: number[]
  /** Clipped advantages (B,). */
  advantages: number[]
  /** Mean over response tokens of log π − log π_ref. */
  kl: number
  sample: GenerateResult
  greedy: GenerateResult | null
}

/**
 * Returns G (B, T) from the sequence-level advantages (B,) and the per-token KL penalty:
 * G_t = k_t + A·γ^{T_b − t + 1} (remax_trainer.py `compute_returns`; the last token gets A·γ).
 */
export function remaxReturns(batch: TokenBatch, advantages: readonly number[], kl: Float64Array, gamma = 1): Float64Array {
  const { B, T, start, length } = batch
  if (advantages.length !== B) throw new TesseraError(`remaxReturns: need ${B} advantages, got ${advantages.length}`)
  const G = new Float64Array(B * T) // (B, T)
  for (let b = 0; b < B; b++) {
    let a = advantages[b]
    for (let j = start[b] + length[b] - 1; j >= start[b]; j--) {
      a *= gamma
      G[b * T + j] = kl[b * T + j] + a
    }
  }
  return G
}

/** A = clip(r − b, −c, c) per prompt. */
export function clippedAdvantages(rewards: readonly number[], baselines: readonly number[], clip = 5): number[] {
  return rewards.map((r, i) => Math.min(clip, Math.max(-clip, r - baselines[i])))
}

type Baseline = 'greedy' | 'none' | 'mean'

function check(opts: PolicyGradientOptions, op: string): void {
  if (opts.prompts.length === 0) throw new TesseraError(`${op}: need at least one prompt`)
  if (!((opts.klCoef ?? 0.05) >= 0)) throw new TesseraError(`${op}: klCoef must be >= 0, got ${opts.klCoef}`)
  if (!((opts.gamma ?? 1) > 0 && (opts.gamma ?? 1) <= 1)) throw new TesseraError(`${op}: gamma must be in (0, 1], got ${opts.gamma}`)
  if (!((opts.clipReward ?? 5) > 0)) throw new TesseraError(`${op}: clipReward must be > 0, got ${opts.clipReward}`)
}

/** Builds the loss (with tape on the policy) without stepping; shared by remax/reinforce and the tests. */
function pgLoss(opts: PolicyGradientOptions, baseline: Baseline, op: string): { loss: Tensor; stats: PolicyGradientStats } {
  check(opts, op)
  const gen = { maxNewTokens: opts.maxNewTokens, stopTokens: opts.stopTokens, padId: opts.padId, generator: opts.generator }
  const sample = generate(opts.policy, opts.prompts, { temperature: 1, topP: 0.9, ...opts.sampling, ...gen })
  const greedy = baseline === 'greedy' ? generate(opts.policy, opts.prompts, { ...gen, temperature: 0 }) : null
  const score = (g: GenerateResult): number[] => g.prompts.map((p, b) => {
    const r = opts.reward(p, g.responses[b])
    if (!Number.isFinite(r)) throw new TesseraError(`${op}: reward returned ${r} for prompt ${b}`)
    return r
  })
  const rewards = score(sample)
  const baselines = greedy ? score(greedy)
    : baseline === 'mean' ? rewards.map(() => rewards.reduce((s, r) => s + r, 0) / rewards.length) : rewards.map(() => 0)
  const advantages = clippedAdvantages(rewards, baselines, opts.clipReward ?? 5)
  const batch = tokenBatch(sample)
  const logp = tokenLogProbs(opts.policy, batch.ids) // (B, T), with tape
  const refLogp = noGrad(() => toF64(tokenLogProbs(opts.ref, batch.ids))) // (B, T)
  const lp = toF64(logp)
  const G = remaxReturns(batch, advantages, klPenalty(lp, refLogp, batch.mask, opts.klCoef ?? 0.05), opts.gamma ?? 1)
  const loss = policyGradientLoss(logp, G, batch.mask)
  return { loss, stats: { loss: loss.item(), rewards, baselines, advantages, kl: meanKl(lp, refLogp, batch.mask), sample, greedy } }
}

/** The ReMax loss for one batch (policy tape built, no step): see the file comment. */
export function remaxLoss(opts: PolicyGradientOptions): { loss: Tensor; stats: PolicyGradientStats } {
  return pgLoss(opts, 'greedy', 'remax')
}

/** The REINFORCE loss with no baseline or the batch-mean baseline. */
export function reinforceLoss(opts: PolicyGradientOptions & { baseline?: 'none' | 'mean' }): { loss: Tensor; stats: PolicyGradientStats } {
  return pgLoss(opts, opts.baseline ?? 'none', 'reinforce')
}

/**
 * One ReMax update: loss.backward(), optimizer.step(), optimizer.zeroGrad().
 * @example
 *   const opt = new optim.Adam(policy.parameters(), { lr: 1e-3 })
 *   const s = rl.remax({ policy, ref, reward, prompts, maxNewTokens: 8, optimizer: opt, generator: g })
 */
export function remax(opts: PolicyGradientOptions & { optimizer: StepOptimizer }): PolicyGradientStats {
  const { loss, stats } = remaxLoss(opts)
  opts.optimizer.zeroGrad()
  loss.backward()
  opts.optimizer.step()
  opts.optimizer.zeroGrad()
  return stats
}

/** One REINFORCE update (baseline 'none' or 'mean'). */
export function reinforce(opts: PolicyGradientOptions & { optimizer: StepOptimizer; baseline?: 'none' | 'mean' }): PolicyGradientStats {
  const { loss, stats } = reinforceLoss(opts)
  opts.optimizer.zeroGrad()
  loss.backward()
  opts.optimizer.step()
  opts.optimizer.zeroGrad()
  return stats
}

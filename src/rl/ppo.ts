/**
 * @file PPO for sequence models (Schulman et al. 2017, "Proximal Policy Optimization Algorithms",
 * https://arxiv.org/abs/1707.06347) in the RLHF form of verl `core_algos.py` (Sheng et al. 2024,
 * HybridFlow, https://arxiv.org/abs/2409.19256), with the reward slot shared with rl.remax.
 *
 * Per batch: y ~ π_old; token rewards r_t = −β (log π_old(y_t) − log π_ref(y_t)) plus R(x, y) on the
 * last response token; values V_t from the critic (a SequenceModel with vocabSize 1, read at column t);
 * GAE: δ_t = r_t + γV_{t+1} − V_t, A_t = δ_t + γλA_{t+1}; returns = A + V; A whitened over tokens.
 * Then `epochs` passes of: actor loss −mean min(ρA, clip(ρ, 1−ε, 1+ε)A), ρ = exp(logπ − logπ_old)
 * (Eqn (7)); critic loss ½ mean max((V − R)², (V_old + clip(V − V_old, ±c) − R)²).
 * Shapes: B prompts, ids (B, L), per-token arrays (B, T = L − 1) as in core.ts.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import type { Tensor } from '../tensor.ts'
import { generate, type GenerateResult, type SequenceModel } from '../generate/generate.ts'
import {
  gae, klPenalty, maskedWhiten, meanKl, ppoClipLoss, toF64, tokenBatch, tokenLogProbs, valueLoss, type StepOptimizer,
} from './core.ts'
import type { PolicyGradientOptions } from './remax.ts'

export interface PPOOptions extends Omit<PolicyGradientOptions, 'clipReward'> {
  /** Value model: ids (B, L) -> (B, L, 1); column t is V of the state before token t + 1. */
  critic: SequenceModel
  policyOptimizer: StepOptimizer
  criticOptimizer: StepOptimizer
  /** GAE λ. Default 0.95. */
  lambda?: number
  /** PPO ratio clip ε. Default 0.2. */
  clipEps?: number
  /** Value clip c. Default 0.2. */
  valueClip?: number
  /** Optimisation passes over the batch. Default 1. */
  epochs?: number
  /** Whiten advantages over response tokens. Default true. */
  whiten?: boolean
}

export interface PPOStats {
  rewards: number[]
  kl: number
  policyLoss: number
  valueLoss: number
  /** Fraction of response tokens whose ratio was clipped in the last epoch. */
  clipFraction: number
  sample: GenerateResult
}

/** Critic values V (B, T) from ids (B, L): output column t of a (B, L, 1) value model. */
export function tokenValues(critic: SequenceModel, ids: Tensor): Tensor {
  const [B, L] = ids.shape
  const v = critic.forward(ids) // (B, L, 1)
  if (v.ndim !== 3 || v.shape[2] !== 1) throw new TesseraError(`ppo: the critic must return (B, L, 1), got [${v.shape}]`)
  return v.narrow(1, 0, L - 1).reshape([B, L - 1]) // (B, T)
}

/**
 * One PPO iteration (rollout, GAE, `epochs` actor and critic steps).
 * @example
 *   rl.ppo({ policy, ref, critic, reward, prompts, maxNewTokens: 8, policyOptimizer, criticOptimizer, generator: g })
 */
export function ppo(opts: PPOOptions): PPOStats {
  const op = 'ppo'
  if (opts.prompts.length === 0) throw new TesseraError(`${op}: need at least one prompt`)
  const eps = opts.clipEps ?? 0.2, epochs = opts.epochs ?? 1
  if (!(eps > 0 && eps < 1)) throw new TesseraError(`${op}: clipEps must be in (0, 1), got ${eps}`)
  if (!(Number.isInteger(epochs) && epochs > 0)) throw new TesseraError(`${op}: epochs must be a positive integer, got ${epochs}`)
  const sample = generate(opts.policy, opts.prompts, {
    temperature: 1, topP: 0.9, ...opts.sampling,
    maxNewTokens: opts.maxNewTokens, stopTokens: opts.stopTokens, padId: opts.padId, generator: opts.generator,
  })
  const batch = tokenBatch(sample)
  const { B, T, mask } = batch
  const [old, ref, vOld] = noGrad(() => [
    toF64(tokenLogProbs(opts.policy, batch.ids)), toF64(tokenLogProbs(opts.ref, batch.ids)), toF64(tokenValues(opts.critic, batch.ids)),
  ]) // each (B, T)
  const rewards = sample.prompts.map((p, b) => {
    const r = opts.reward(p, sample.responses[b])
    if (!Number.isFinite(r)) throw new TesseraError(`${op}: reward returned ${r} for prompt ${b}`)
    return r
  })
  const tokenRewards = klPenalty(old, ref, mask, opts.klCoef ?? 0.05) // (B, T)
  for (let b = 0; b < B; b++) if (batch.length[b] > 0) tokenRewards[b * T + batch.start[b] + batch.length[b] - 1] += rewards[b]
  const { advantages, returns } = gae(tokenRewards, vOld, mask, B, T, opts.gamma ?? 1, opts.lambda ?? 0.95)
  const A = (opts.whiten ?? true) ? maskedWhiten(advantages, mask) : advantages
  let policyLoss = 0, vLoss = 0, clipFraction = 0
  for (let e = 0; e < epochs; e++) {
    opts.policyOptimizer.zeroGrad()
    const logp = tokenLogProbs(opts.policy, batch.ids) // (B, T), with tape
    const pl = ppoClipLoss(logp, old, A, mask, eps)
    pl.backward()
    opts.policyOptimizer.step()
    opts.policyOptimizer.zeroGrad()
    opts.criticOptimizer.zeroGrad()
    const vl = valueLoss(tokenValues(opts.critic, batch.ids), vOld, returns, mask, opts.valueClip ?? 0.2)
    vl.backward()
    opts.criticOptimizer.step()
    opts.criticOptimizer.zeroGrad()
    policyLoss = pl.item(); vLoss = vl.item()
    const lp = toF64(logp)
    let clipped = 0, n = 0
    for (let i = 0; i < mask.length; i++) if (mask[i]) { n++; if (Math.abs(Math.exp(lp[i] - old[i]) - 1) > eps) clipped++ }
    clipFraction = clipped / n
  }
  return { rewards, kl: meanKl(old, ref, mask), policyLoss, valueLoss: vLoss, clipFraction, sample }
}

/** @file The `rl` namespace: RLHF policy-gradient methods (ReMax, REINFORCE, PPO) over `SequenceModel`s. */
export {
  tokenBatch, tokenLogProbs, policyGradientLoss, ppoClipLoss, valueLoss, gae, maskedWhiten, klPenalty, meanKl, asTensor, toF64,
  type RewardFn, type StepOptimizer, type TokenBatch,
} from './core.ts'
export {
  remax, remaxLoss, reinforce, reinforceLoss, remaxReturns, clippedAdvantages, type PolicyGradientOptions, type PolicyGradientStats,
} from './remax.ts'
export { ppo, tokenValues, type PPOOptions, type PPOStats } from './ppo.ts'
export { RewardModel, trainRewardModel, learnedReward, type RewardModelOptions, type RewardTraining } from './reward-model.ts'

/**
 * @file The `optim` namespace: optimizers (one per file), gradient clipping, learning-rate schedules
 * and gradient accumulation, modelled on `torch.optim` (https://pytorch.org/docs/stable/optim.html).
 *   const opt = new optim.AdamW(model.namedParameters(), { lr: 1e-3 })
 *   const sched = new optim.CosineAnnealingLR(opt, { tMax: 100 })
 *   loss.backward(); optim.clipGradNorm(model.parameters(), 1); opt.step(); opt.zeroGrad(); sched.step()
 */
export {
  Optimizer, type HyperBase, type GroupBase, type ParamGroup, type ParamsInput, type ParamsLike, type ParamGroupSpec,
  type OptimizerStateDict, type StateValue, type FloatArray, type ParamContext,
} from './optimizer.ts'
export { SGD, type SGDOptions } from './sgd.ts'
export { Adam, type AdamOptions } from './adam.ts'
export { AdamW } from './adamw.ts'
export { Adagrad, type AdagradOptions } from './adagrad.ts'
export { RMSprop, type RMSpropOptions } from './rmsprop.ts'
export { LAMB, type LAMBOptions, type LAMBRules } from './lamb.ts'
export { LARS, type LARSOptions, type LARSRules } from './lars.ts'
export { defaultExclude, type ExcludeRule } from './layer-adaptation.ts'
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.ts'
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, type AnyOptimizer } from './schedules.ts'
export { WarmupDecayLR, warmupPoly, warmupCosine, type WarmupDecayOptions } from './warmup.ts'
export { OneCycleLR, type OneCycleOptions } from './one-cycle.ts'
export { GradientAccumulator, accumulate } from './accumulate.ts'
export { MeZO, normalStream, MEZO_NO_DECAY, type MeZOOptions, type MeZOConfig, type MeZOStepResult, type MeZOStateDict, type ZPass, type ZHook } from './mezo.ts'
export { SparseMeZO, kthAbsValue, magnitudeMaskBits, type SparseMeZOConfig } from './sparse-mezo.ts'
export { EMA, type EMAOptions } from './ema.ts'

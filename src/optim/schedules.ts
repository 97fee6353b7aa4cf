/**
 * @file Learning-rate schedulers, as `torch.optim.lr_scheduler` (PyTorch 1.13): each owns an
 * optimizer and sets `lr` in every param group. Construction applies the value for step 0; each
 * `step()` (called after `optimizer.step()`) advances one step. StepLR, MultiStepLR, ExponentialLR and
 * CosineAnnealingLR use torch's recursive ("chainable") forms, so they compose with other changes to
 * `lr` and give torch's values bit for bit up to `Math.cos` rounding.
 * Reference: https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate
 */
import { TesseraError } from '../errors.ts'
import type { GroupBase, HyperBase, Optimizer } from './optimizer.ts'

/** Any optimizer: schedulers touch only `lr` (and momentum or betas for OneCycleLR). */
export type AnyOptimizer = Optimizer<HyperBase, object>

/**
 * The base scheduler: lr_t of every group comes from `getLr()` at step t = `lastEpoch`. On attach it
 * records each group's lr as `initialLr` (kept if another scheduler set it first) and `baseLrs`.
 *
 * Reference: https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate
 *
 * @example
 *   const sched = new optim.StepLR(opt, { stepSize: 10 })
 *   for (let epoch = 0; epoch < 30; epoch++) { trainEpoch(); sched.step() }
 */
export abstract class LRScheduler {
  /** Steps taken; 0 after construction. */
  lastEpoch = -1
  /** The lr of each group when the first scheduler attached (its `initialLr`). */
  baseLrs: number[]
  protected lastLr: number[] = []

  constructor(readonly optimizer: AnyOptimizer) {
    for (const g of this.groups) g.initialLr ??= g.lr
    this.baseLrs = this.groups.map((g) => g.initialLr!)
  }

  protected get groups(): (HyperBase & GroupBase)[] {
    return this.optimizer.paramGroups
  }

  /** The lr of every group at step `lastEpoch`, computed from the groups' current lrs or from `baseLrs`. */
  protected abstract getLr(): number[]

  /** Subclasses call this at the end of their constructor: applies the step-0 lr (torch's `_initial_step`). */
  protected initialStep(): void {
    this.step()
  }

  /** Advances one step and writes the new lr into every param group. */
  step(): void {
    this.lastEpoch++
    const lrs = this.getLr()
    this.groups.forEach((g, i) => { g.lr = lrs[i] })
    this.lastLr = lrs
  }

  /** The lr of every group as of the last `step()` (`get_last_lr()`). */
  getLastLr(): number[] {
    return this.lastLr.slice()
  }

  /** Every field but the optimizer, deep-copied (like torch's `state_dict`). */
  stateDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(this)) if (k !== 'optimizer') out[k] = deepCopy(v)
    return out
  }

  loadStateDict(sd: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(sd)) if (k !== 'optimizer') (this as Record<string, unknown>)[k] = deepCopy(v)
  }
}

/** A copy of plain data (numbers, strings, arrays, plain objects). */
function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deepCopy(x)])) as T
  return v
}

function positiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new TesseraError(`${op}: ${name} must be a positive integer, got ${v}`)
}

/**
 * Multiplies lr by γ every `stepSize` steps: lr_t = lr_0 · γ^⌊t / stepSize⌋.
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.StepLR.html
 * @example
 *   const sched = new optim.StepLR(opt, { stepSize: 30, gamma: 0.1 })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number
  readonly gamma: number
  constructor(optimizer: AnyOptimizer, opts: { stepSize: number; gamma?: number }) {
    super(optimizer)
    positiveInt('StepLR', 'stepSize', opts.stepSize)
    this.stepSize = opts.stepSize
    this.gamma = opts.gamma ?? 0.1
    this.initialStep()
  }
  protected getLr(): number[] {
    const t = this.lastEpoch
    return this.groups.map((g) => (t === 0 || t % this.stepSize !== 0 ? g.lr : g.lr * this.gamma))
  }
}

/**
 * Multiplies lr by γ at each milestone (a milestone listed k times multiplies by γ^k).
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.MultiStepLR.html
 * @example
 *   const sched = new optim.MultiStepLR(opt, { milestones: [30, 80], gamma: 0.1 })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[]
  readonly gamma: number
  constructor(optimizer: AnyOptimizer, opts: { milestones: number[]; gamma?: number }) {
    super(optimizer)
    for (const m of opts.milestones) if (!Number.isInteger(m) || m < 0) throw new TesseraError(`MultiStepLR: milestones must be integers >= 0, got ${m}`)
    this.milestones = opts.milestones.slice().sort((a, b) => a - b)
    this.gamma = opts.gamma ?? 0.1
    this.initialStep()
  }
  protected getLr(): number[] {
    const k = this.milestones.filter((m) => m === this.lastEpoch).length
    return this.groups.map((g) => (k === 0 ? g.lr : g.lr * this.gamma ** k))
  }
}

/**
 * Multiplies lr by γ every step: lr_t = lr_0 · γ^t.
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ExponentialLR.html
 * @example
 *   const sched = new optim.ExponentialLR(opt, { gamma: 0.95 })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number
  constructor(optimizer: AnyOptimizer, opts: { gamma: number }) {
    super(optimizer)
    this.gamma = opts.gamma
    this.initialStep()
  }
  protected getLr(): number[] {
    return this.groups.map((g) => (this.lastEpoch === 0 ? g.lr : g.lr * this.gamma))
  }
}

/**
 * Cosine annealing (Loshchilov & Hutter 2017, "SGDR", https://arxiv.org/abs/1608.03983, Eqn (5)
 * without restarts): lr_t = η_min + (lr_0 − η_min)(1 + cos(π t / T_max)) / 2, continuing as a cosine
 * past T_max. Computed with torch's recursive form, which also follows external changes to lr.
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html
 * @example
 *   const sched = new optim.CosineAnnealingLR(opt, { tMax: 100 })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number
  readonly etaMin: number
  constructor(optimizer: AnyOptimizer, opts: { tMax: number; etaMin?: number }) {
    super(optimizer)
    positiveInt('CosineAnnealingLR', 'tMax', opts.tMax)
    this.tMax = opts.tMax
    this.etaMin = opts.etaMin ?? 0
    this.initialStep()
  }
  protected getLr(): number[] {
    const t = this.lastEpoch, T = this.tMax, eta = this.etaMin
    if (t === 0) return this.groups.map((g) => g.lr)
    if ((t - 1 - T) % (2 * T) === 0) {
      // At a trough the ratio form would divide by zero: step up by the first increment instead.
      return this.groups.map((g, i) => g.lr + (this.baseLrs[i] - eta) * (1 - Math.cos(Math.PI / T)) / 2)
    }
    return this.groups.map((g) =>
      (1 + Math.cos(Math.PI * t / T)) / (1 + Math.cos(Math.PI * (t - 1) / T)) * (g.lr - eta) + eta)
  }
}

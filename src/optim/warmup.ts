/**
 * @file Linear warmup followed by polynomial or cosine decay: the schedule of the LAMB/BERT recipes
 * (You et al. 2020, https://arxiv.org/abs/1904.00962, Section 4 and sheet 29: "linear warmup then
 * polynomial decay"; BERT's `optimization.py` uses power 1 to 0). The closed forms match Hugging Face's
 * `get_polynomial_decay_schedule_with_warmup` / `get_cosine_schedule_with_warmup`
 * (https://huggingface.co/docs/transformers/main_classes/optimizer_schedules), with the end lr given
 * as a fraction of each group's base lr.
 */
import { TesseraError } from '../errors.ts'
import { LRScheduler, type AnyOptimizer } from './schedules.ts'

export interface WarmupDecayOptions {
  /** Steps of linear warmup from 0 to the base lr. */
  warmupSteps: number
  /** Step at which the decay ends; the lr stays at its end value afterwards. */
  totalSteps: number
  /** Shape of the decay after warmup. Default 'poly'. */
  decay?: 'poly' | 'cosine'
  /** Exponent of the polynomial decay (1 = linear). Default 1. */
  power?: number
  /** The end lr as a fraction of the base lr. Default 0. */
  minLrRatio?: number
}

/**
 * lr_t = lr_0 · f(t) with W = warmupSteps, T = totalSteps, r = minLrRatio, p = min(1, (t − W)/(T − W)):
 *   f(t) = t / W                                   for t < W
 *   f(t) = r + (1 − r)(1 − p)^power                 ('poly')
 *   f(t) = r + (1 − r)(1 + cos(π p)) / 2            ('cosine')
 *
 * Reference: https://huggingface.co/docs/transformers/main_classes/optimizer_schedules
 * @example
 *   const sched = new optim.WarmupDecayLR(opt, { warmupSteps: 100, totalSteps: 1000, decay: 'cosine' })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class WarmupDecayLR extends LRScheduler {
  readonly warmupSteps: number
  readonly totalSteps: number
  readonly decay: 'poly' | 'cosine'
  readonly power: number
  readonly minLrRatio: number

  constructor(optimizer: AnyOptimizer, opts: WarmupDecayOptions) {
    super(optimizer)
    const { warmupSteps, totalSteps, decay = 'poly', power = 1, minLrRatio = 0 } = opts
    if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new TesseraError(`WarmupDecayLR: warmupSteps must be an integer >= 0, got ${warmupSteps}`)
    if (!Number.isInteger(totalSteps) || totalSteps <= warmupSteps) {
      throw new TesseraError(`WarmupDecayLR: totalSteps must be an integer > warmupSteps (${warmupSteps}), got ${totalSteps}`)
    }
    if (decay !== 'poly' && decay !== 'cosine') throw new TesseraError(`WarmupDecayLR: decay must be 'poly' or 'cosine', got ${String(decay)}`)
    if (!(power > 0)) throw new TesseraError(`WarmupDecayLR: power must be > 0, got ${power}`)
    if (!(minLrRatio >= 0 && minLrRatio <= 1)) throw new TesseraError(`WarmupDecayLR: minLrRatio must be in [0, 1], got ${minLrRatio}`)
    this.warmupSteps = warmupSteps
    this.totalSteps = totalSteps
    this.decay = decay
    this.power = power
    this.minLrRatio = minLrRatio
    this.initialStep()
  }

  /** f(t), the multiplier of the base lr at step t. */
  factor(t: number): number {
    const W = this.warmupSteps, r = this.minLrRatio
    if (t < W) return t / W
    const p = Math.min(1, (t - W) / (this.totalSteps - W))
    const shape = this.decay === 'poly' ? (1 - p) ** this.power : (1 + Math.cos(Math.PI * p)) / 2
    return r + (1 - r) * shape
  }

  protected getLr(): number[] {
    const f = this.factor(this.lastEpoch)
    return this.baseLrs.map((lr) => lr * f)
  }
}

/** Linear warmup then polynomial decay to 0 (`schedule.warmupPoly` of sheet 29). */
export function warmupPoly(optimizer: AnyOptimizer, opts: { warmupSteps: number; totalSteps: number; power?: number }): WarmupDecayLR {
  return new WarmupDecayLR(optimizer, { ...opts, decay: 'poly' })
}

/** Linear warmup then cosine decay to `minLrRatio` of the base lr. */
export function warmupCosine(optimizer: AnyOptimizer, opts: { warmupSteps: number; totalSteps: number; minLrRatio?: number }): WarmupDecayLR {
  return new WarmupDecayLR(optimizer, { ...opts, decay: 'cosine' })
}

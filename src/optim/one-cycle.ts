/**
 * @file The 1cycle policy (Smith & Topin 2019, "Super-Convergence: Very Fast Training of Neural
 * Networks Using Large Learning Rates", https://arxiv.org/abs/1708.07120), exactly as
 * `torch.optim.lr_scheduler.OneCycleLR` in PyTorch 1.13: lr rises from maxLr/divFactor to maxLr over
 * pctStart of the steps and then anneals to initialLr/finalDivFactor, while momentum (or Adam's β1)
 * moves the opposite way between maxMomentum and baseMomentum.
 */
import { TesseraError } from '../errors.ts'
import type { GroupBase, HyperBase } from './optimizer.ts'
import { LRScheduler, type AnyOptimizer } from './schedules.ts'

export interface OneCycleOptions {
  /** Peak lr, one for all groups or one per group. */
  maxLr: number | number[]
  /** Total number of steps, or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number
  epochs?: number
  stepsPerEpoch?: number
  pctStart?: number
  annealStrategy?: 'cos' | 'linear'
  cycleMomentum?: boolean
  baseMomentum?: number | number[]
  maxMomentum?: number | number[]
  divFactor?: number
  finalDivFactor?: number
  /** Third phase: back to initialLr, then down to the minimum (fast.ai's schedule is two-phase). */
  threePhase?: boolean
}

type Key = 'initial' | 'max' | 'min'
interface Phase { endStep: number; startLr: Key; endLr: Key; startMomentum: 'max' | 'base'; endMomentum: 'max' | 'base' }
interface Bounds { initial: number; max: number; min: number; maxMomentum: number; baseMomentum: number }
type MomentumGroup = HyperBase & GroupBase & { momentum?: number; betas?: [number, number] }

/**
 * 1cycle. With phases ending at steps e_k and pct = (t − e_{k−1}) / (e_k − e_{k−1}) inside phase k,
 * lr_t = anneal(start_k, end_k, pct), where cos: end + (start − end)(1 + cos(π pct))/2, linear: start + (end − start) pct.
 * Two phases: initial → max until e_1 = pctStart·total − 1, then max → initial/finalDivFactor until total − 1.
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.OneCycleLR.html
 * @example
 *   const sched = new optim.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 1000 })
 *   for (...) { train(); opt.step(); sched.step() }
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number
  readonly phases: Phase[]
  readonly annealStrategy: 'cos' | 'linear'
  readonly cycleMomentum: boolean
  /** Per group: the lr and momentum end points. */
  readonly bounds: Bounds[]
  private readonly useBeta1: boolean

  constructor(optimizer: AnyOptimizer, opts: OneCycleOptions) {
    super(optimizer)
    const op = 'OneCycleLR'
    const { pctStart = 0.3, annealStrategy = 'cos', cycleMomentum = true, divFactor = 25, finalDivFactor = 1e4, threePhase = false } = opts
    const total = opts.totalSteps ?? (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined ? opts.epochs * opts.stepsPerEpoch : undefined)
    if (total === undefined) throw new TesseraError(`${op}: give totalSteps, or epochs and stepsPerEpoch`)
    if (!Number.isInteger(total) || total <= 0) throw new TesseraError(`${op}: expected a positive integer number of total steps, got ${total}`)
    if (!(pctStart >= 0 && pctStart <= 1)) throw new TesseraError(`${op}: pctStart must be in [0, 1], got ${pctStart}`)
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') throw new TesseraError(`${op}: annealStrategy must be 'cos' or 'linear', got ${String(annealStrategy)}`)
    this.totalSteps = total
    this.annealStrategy = annealStrategy
    const e1 = pctStart * total - 1
    this.phases = threePhase
      ? [
          { endStep: e1, startLr: 'initial', endLr: 'max', startMomentum: 'max', endMomentum: 'base' },
          { endStep: 2 * pctStart * total - 2, startLr: 'max', endLr: 'initial', startMomentum: 'base', endMomentum: 'max' },
          { endStep: total - 1, startLr: 'initial', endLr: 'min', startMomentum: 'max', endMomentum: 'max' },
        ]
      : [
          { endStep: e1, startLr: 'initial', endLr: 'max', startMomentum: 'max', endMomentum: 'base' },
          { endStep: total - 1, startLr: 'max', endLr: 'min', startMomentum: 'base', endMomentum: 'max' },
        ]
    const maxLrs = this.perGroup('maxLr', opts.maxLr)
    const maxMom = this.perGroup('maxMomentum', opts.maxMomentum ?? 0.95)
    const baseMom = this.perGroup('baseMomentum', opts.baseMomentum ?? 0.85)
    this.bounds = maxLrs.map((max, i) => {
      const initial = max / divFactor
      return { initial, max, min: initial / finalDivFactor, maxMomentum: maxMom[i], baseMomentum: baseMom[i] }
    })
    // torch sets each group's initial_lr to maxLr / divFactor.
    this.groups.forEach((g, i) => { g.initialLr = this.bounds[i].initial })
    this.baseLrs = this.bounds.map((b) => b.initial)
    this.cycleMomentum = cycleMomentum
    const defaults = optimizer.defaults as unknown as Record<string, unknown>
    this.useBeta1 = 'betas' in defaults
    if (cycleMomentum) {
      if (!('momentum' in defaults) && !this.useBeta1) throw new TesseraError(`${op}: the optimizer must have momentum or betas when cycleMomentum is on`)
      this.groups.forEach((g, i) => this.setMomentum(g, this.bounds[i].maxMomentum))
    }
    this.initialStep()
  }

  private perGroup(name: string, v: number | number[]): number[] {
    if (!Array.isArray(v)) return this.groups.map(() => v)
    if (v.length !== this.groups.length) throw new TesseraError(`OneCycleLR: expected ${this.groups.length} values for ${name}, got ${v.length}`)
    return v.slice()
  }

  private setMomentum(group: MomentumGroup, m: number): void {
    if (this.useBeta1) group.betas = [m, group.betas![1]]
    else group.momentum = m
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start
    return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1)
  }

  protected getLr(): number[] {
    const t = this.lastEpoch
    if (t > this.totalSteps) throw new TesseraError(`OneCycleLR: tried to step ${t + 1} times; the schedule has ${this.totalSteps} total steps`)
    return this.groups.map((g, gi) => {
      const b = this.bounds[gi]
      let start = 0
      for (let k = 0; k < this.phases.length; k++) {
        const ph = this.phases[k]
        if (t <= ph.endStep || k === this.phases.length - 1) {
          const pct = (t - start) / (ph.endStep - start)
          if (this.cycleMomentum) {
            const mom = (key: 'max' | 'base') => (key === 'max' ? b.maxMomentum : b.baseMomentum)
            this.setMomentum(g, this.anneal(mom(ph.startMomentum), mom(ph.endMomentum), pct))
          }
          return this.anneal(b[ph.startLr], b[ph.endLr], pct)
        }
        start = ph.endStep
      }
      throw new Error('unreachable: the last phase always matches')
    })
  }
}

/**
 * @file Exponential moving average of model weights (Polyak averaging with exponential decay), as in
 * the ResNet-RS / EfficientNet training recipes (decay 0.9999 there) and `tf.train.ExponentialMovingAverage`:
 *   ema ← d·ema + (1 − d)·θ   after every optimizer step,
 * with optional warm-up d_t = min(d, (1 + t)/(10 + t)) (TF's `num_updates`). Evaluate with the averaged
 * weights through `withAveraged(fn)` or `copyTo(model)`.
 * Works on a flat list of tensors: a module's parameters and (by default) its float buffers, e.g. batch
 * norm running statistics (the TF recipes average the moving statistics too); integer buffers are copied.
 * Reference: https://www.tensorflow.org/api_docs/python/tf/train/ExponentialMovingAverage
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { isFloating } from '../dtype.ts'
import type { Tensor } from '../tensor.ts'
import type { Module } from '../nn/module.ts'

export interface EMAOptions {
  /** Decay d in [0, 1]. Default 0.9999. */
  decay?: number
  /** Use d_t = min(d, (1 + t)/(10 + t)) at update t (t = 0, 1, …). Default false. */
  warmup?: boolean
  /** Also average the module's float buffers (running statistics). Default true. */
  buffers?: boolean
}

/**
 * Keeps a shadow copy of the weights that follows ema ← d·ema + (1 − d)·θ.
 * Reference: https://arxiv.org/abs/2103.07579 (ResNet-RS recipe, Table 1); Polyak & Juditsky 1992.
 * @example
 *   const ema = new optim.EMA(model, { decay: 0.999 })
 *   opt.step(); ema.update()
 *   const acc = ema.withAveraged(() => evaluate(model))
 */
export class EMA {
  readonly decay: number
  readonly warmup: boolean
  /** The tracked tensors (live weights) and their shadows, in the same order. */
  readonly targets: Tensor[]
  readonly shadows: Tensor[]
  /** Updates applied so far. */
  numUpdates = 0
  private backup: Tensor[] | null = null

  constructor(model: Module | readonly Tensor[], opts: EMAOptions = {}) {
    this.decay = opts.decay ?? 0.9999
    this.warmup = opts.warmup ?? false
    if (!(this.decay >= 0 && this.decay <= 1)) throw new TesseraError(`EMA: decay must be in [0, 1], got ${this.decay}`)
    if (Array.isArray(model)) this.targets = [...(model as readonly Tensor[])]
    else {
      const m = model as Module
      this.targets = [...m.parameters(), ...((opts.buffers ?? true) ? [...m.namedBuffers()].map(([, b]) => b) : [])]
    }
    this.shadows = noGrad(() => this.targets.map((t) => t.detach().clone()))
  }

  /** The decay used by the next update. */
  currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.numUpdates) / (10 + this.numUpdates)) : this.decay
  }

  /** ema ← d·ema + (1 − d)·θ for every float tensor; integer tensors are copied. */
  update(): void {
    if (this.backup) throw new TesseraError('EMA.update: called while the averaged weights are swapped in (inside withAveraged/store)')
    const d = this.currentDecay()
    noGrad(() => {
      this.targets.forEach((t, i) => {
        const s = this.shadows[i]
        if (isFloating(s.dtype)) s.mul_(d).add_(t.detach(), 1 - d)
        else s.copy_(t.detach())
      })
    })
    this.numUpdates++
  }

  /** Copies the averaged weights into the live tensors (overwrites them). */
  copyTo(): void {
    noGrad(() => this.targets.forEach((t, i) => t.copy_(this.shadows[i])))
  }

  /** Swaps the averaged weights in (saving the live ones) until `restore()`. */
  store(): void {
    if (this.backup) throw new TesseraError('EMA.store: averaged weights are already swapped in')
    this.backup = noGrad(() => this.targets.map((t) => t.detach().clone()))
    this.copyTo()
  }

  /** Puts back the live weights saved by `store()`. */
  restore(): void {
    if (!this.backup) throw new TesseraError('EMA.restore: nothing stored')
    const b = this.backup
    noGrad(() => this.targets.forEach((t, i) => t.copy_(b[i])))
    this.backup = null
  }

  /** Runs fn with the averaged weights in place, then restores the live ones. */
  withAveraged<T>(fn: () => T): T {
    this.store()
    try { return fn() } finally { this.restore() }
  }
}

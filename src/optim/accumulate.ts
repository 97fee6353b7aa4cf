/**
 * @file Gradient accumulation: emulate a batch N times larger than fits by summing the gradients of
 * N micro-batches and stepping once (the large-batch recipe of sheet 29, You et al. 2020,
 * https://arxiv.org/abs/1904.00962). Gradients are averaged, so with mean-reduced losses over equal
 * micro-batches one accumulated step equals one step on the concatenated batch.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import type { Tensor } from '../tensor.ts'
import type { AnyOptimizer } from './schedules.ts'

/**
 * Steps an optimizer every `everyN` micro-batches.
 *
 * Semantics: `step(loss)` runs `loss.backward()` (gradients add up in `.grad`) and counts one
 * micro-batch; on every N-th call it multiplies every gradient by 1/N, calls `optimizer.step()` and
 * `optimizer.zeroGrad()`, and returns true (false otherwise). With a mean loss per micro-batch this
 * averages over all N·B examples: Σ_k (1/N) ∇ mean_k = ∇ mean over the big batch. `step()` without a
 * loss counts a micro-batch whose backward the caller ran. `flush()` steps on a partial window of
 * k < N micro-batches, scaling by 1/k. Gradients must be zero (or null) when accumulation starts.
 *
 * Reference: https://arxiv.org/abs/1904.00962 (large-batch training; accumulation emulates the batch)
 * @example
 *   const acc = optim.accumulate(opt, 4)
 *   for (const [x, y] of microBatches) acc.step(lossFn(model.forward(x), y))
 */
export class GradientAccumulator {
  /** Micro-batches accumulated since the last optimizer step. */
  count = 0

  constructor(readonly optimizer: AnyOptimizer, readonly everyN: number) {
    if (!Number.isInteger(everyN) || everyN < 1) throw new TesseraError(`accumulate: everyN must be a positive integer, got ${everyN}`)
  }

  /** Backpropagates `loss` (if given) and steps on every N-th micro-batch; returns whether it stepped. */
  step(loss?: Tensor): boolean {
    loss?.backward()
    this.count++
    if (this.count < this.everyN) return false
    this.apply()
    return true
  }

  /** Steps on the micro-batches accumulated so far, if any; returns whether it stepped. */
  flush(): boolean {
    if (this.count === 0) return false
    this.apply()
    return true
  }

  private apply(): void {
    const scale = 1 / this.count
    noGrad(() => {
      for (const group of this.optimizer.paramGroups) for (const p of group.params) if (p.grad !== null && scale !== 1) p.grad.mul_(scale)
    })
    this.optimizer.step()
    this.optimizer.zeroGrad()
    this.count = 0
  }
}

/** A `GradientAccumulator` stepping `optimizer` every `everyN` micro-batches. */
export function accumulate(optimizer: AnyOptimizer, everyN: number): GradientAccumulator {
  return new GradientAccumulator(optimizer, everyN)
}

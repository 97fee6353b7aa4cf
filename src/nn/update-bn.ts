/**
 * @file `updateBn`: re-estimate every BatchNorm's running statistics with the current weights
 * (PyTorch's `torch.optim.swa_utils.update_bn`, "precise BN" of Wu & Johnson 2021).
 *
 * Why: the running statistics are an exponential moving average (momentum 0.1, a memory of about
 * ten steps) of batch statistics computed with *older* weights. When the weights move fast relative
 * to a channel's spread — a high Adam learning rate, short runs, a channel whose mean is large
 * next to its std — eval mode normalises with statistics that are several std off and accuracy
 * collapses although training mode (batch statistics) is fine. Recomputing the statistics as a plain
 * average over a few batches with the final weights removes the lag.
 * Shapes: whatever the model's forward takes; each batch is passed as-is.
 */
import { noGrad } from '../autograd.ts'
import type { Tensor } from '../tensor.ts'
import type { Module } from './module.ts'
import { BatchNorm1d, BatchNorm2d, BatchNorm3d } from './norm.ts'

type AnyBatchNorm = BatchNorm1d | BatchNorm2d | BatchNorm3d

/**
 * Resets the running mean / var of every BatchNorm in `model` that tracks them, then runs the model in
 * training mode (under noGrad) on each batch with momentum null, so that afterwards
 *   running_mean = (1/T) Σ_t mean_t,  running_var = (1/T) Σ_t var_t (unbiased),  num_batches_tracked = T
 * over the T batches; momentum and every module's training flag are restored.
 * Reference: https://pytorch.org/docs/stable/optim.html#taking-care-of-batch-normalization
 * (`torch.optim.swa_utils.update_bn`); Wu & Johnson 2021, https://arxiv.org/abs/2105.07576 (Sec. 3, precise BN)
 * @example
 *   updateBn([xTrain.narrow(0, 0, 128), xTrain.narrow(0, 128, 128)], net)
 *   net.eval() // now normalises with statistics of the final weights
 */
export function updateBn(batches: Iterable<Tensor>, model: Module & { forward(x: Tensor): unknown }): void {
  const bns = [...model.modules()].filter((m): m is AnyBatchNorm =>
    (m instanceof BatchNorm1d || m instanceof BatchNorm2d || m instanceof BatchNorm3d) && m.runningMean !== null)
  if (bns.length === 0) return
  const modes = [...model.modules()].map((m) => [m, m.training] as const)
  const momenta = bns.map((b) => b.momentum)
  noGrad(() => {
    for (const b of bns) {
      b.runningMean!.fill_(0); b.runningVar!.fill_(1); b.numBatchesTracked!.fill_(0)
      ;(b as { momentum: number | null }).momentum = null // cumulative average: batch t weighted 1/t
    }
  })
  try {
    model.train()
    noGrad(() => { for (const x of batches) model.forward(x) })
  } finally {
    bns.forEach((b, i) => { (b as { momentum: number | null }).momentum = momenta[i] })
    for (const [m, t] of modes) m.training = t
  }
}

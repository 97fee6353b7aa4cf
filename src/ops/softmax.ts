/** @file softmax and logSoftmax along one dim, fused (max-subtracted) forward kernels. */
import { normalizeDim } from '../shape.ts'
import { TesseraError } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'
import { rawCopy } from './view.ts'

function softmaxForward(x: Tensor, dim: number, log: boolean): Tensor {
  const c = x.isContiguous() && x.offset === 0 ? x : rawCopy(x)
  const out = emptyTensor(x.shape, x.dtype)
  const n = x.ndim === 0 ? 1 : x.shape[dim]
  const outer = x.shape.slice(0, dim).reduce((p, d) => p * d, 1)
  const inner = x.shape.slice(dim + 1).reduce((p, d) => p * d, 1)
  kernels.softmax(out.storage, c.storage, outer, n, inner, log)
  return out
}

export const softmaxOps = {
  // dx = y (g - sum(g y))
  softmax: {
    name: 'softmax',
    forward(ctx, [x], { dim }) {
      const y = softmaxForward(x, dim, false)
      ctx.save(y)
      return y
    },
    backward({ saved: [y] }, g, { dim }) {
      return [y.mul(g.sub(g.mul(y).sum(dim, true)))]
    },
  },
  // dx = g - e^y sum(g)
  logSoftmax: {
    name: 'logSoftmax',
    forward(ctx, [x], { dim }) {
      const y = softmaxForward(x, dim, true)
      ctx.save(y)
      return y
    },
    backward({ saved: [y] }, g, { dim }) {
      return [g.sub(y.exp().mul(g.sum(dim, true)))]
    },
  },
} satisfies Record<string, OpDef<{ dim: number }>>

function run(name: 'softmax' | 'logSoftmax', x: Tensor, dim: number): Tensor {
  if (!isFloating(x.dtype)) throw new TesseraError(`${name}: input dtype ${x.dtype} is not floating point; cast it first`)
  return apply(softmaxOps[name], [x], { dim: x.ndim === 0 ? 0 : normalizeDim(name, dim, x.ndim) })
}

/** softmax(x)_i = e^{x_i - m} / sum_j e^{x_j - m}, m = max_j x_j, along `dim`. */
export const softmax = (x: Tensor, dim: number): Tensor => run('softmax', x, dim)
/** logSoftmax(x)_i = x_i - m - log sum_j e^{x_j - m}, along `dim`. */
export const logSoftmax = (x: Tensor, dim: number): Tensor => run('logSoftmax', x, dim)

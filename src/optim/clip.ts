/**
 * @file Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`
 * (https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html). Clipping by global
 * norm is from Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
 * networks" (https://arxiv.org/abs/1211.5063, Algorithm 1). Gradients are scaled in place.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { Tensor } from '../tensor.ts'

export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or ±Infinity instead of scaling by it. */
  errorIfNonfinite?: boolean
}

function gradsOf(op: string, params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params]
  for (const p of list) if (!(p instanceof Tensor)) throw new TesseraError(`${op}: params must be Tensors`)
  return list.flatMap((p) => (p.grad === null ? [] : [p.grad]))
}

/**
 * Scales all gradients together so that their joint p-norm is at most `maxNorm`, and returns the
 * norm they had (accumulated in float64):
 *   N = (Σ_params Σ_i |g_i|^p)^(1/p)  (max |g_i| for p = Infinity);   g ← g · min(1, maxNorm / (N + 1e-6))
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html
 *
 * @example
 *   loss.backward()
 *   const norm = optim.clipGradNorm(model.parameters(), 1.0); opt.step()
 */
export function clipGradNorm(params: Iterable<Tensor> | Tensor, maxNorm: number, normType = 2, opts: ClipGradNormOptions = {}): number {
  const op = 'clipGradNorm'
  if (!(normType > 0)) throw new TesseraError(`${op}: normType must be positive or Infinity, got ${normType}`)
  if (!(maxNorm >= 0)) throw new TesseraError(`${op}: maxNorm must be >= 0, got ${maxNorm}`)
  const grads = gradsOf(op, params)
  if (grads.length === 0) return 0
  let acc = 0
  for (const g of grads) {
    const d = g.data() // (numel) contiguous copy
    for (let i = 0; i < d.length; i++) {
      const a = Math.abs(d[i])
      if (normType === Infinity) acc = Number.isNaN(a) || a > acc ? a : acc
      else acc += normType === 2 ? a * a : normType === 1 ? a : a ** normType
    }
  }
  const total = normType === Infinity || normType === 1 ? acc : normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType)
  if (opts.errorIfNonfinite && !Number.isFinite(total)) {
    throw new TesseraError(`${op}: the total norm of order ${normType} for gradients is non-finite (${total}), so it cannot be clipped; pass errorIfNonfinite: false to scale anyway`)
  }
  const coef = Math.min(1, maxNorm / (total + 1e-6))
  if (coef < 1 || Number.isNaN(coef)) noGrad(() => { for (const g of grads) g.mul_(coef) })
  return total
}

/**
 * Clamps every gradient element to [−clip, clip] in place.
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_value_.html
 *
 * @example
 *   loss.backward(); optim.clipGradValue(model.parameters(), 0.5); opt.step()
 */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clip: number): void {
  if (!(clip >= 0)) throw new TesseraError(`clipGradValue: clip must be >= 0, got ${clip}`)
  noGrad(() => { for (const g of gradsOf('clipGradValue', params)) g.clamp_(-clip, clip) })
}

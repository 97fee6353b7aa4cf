/**
 * @file Loss functions, composed from tensor ops (autograd comes from theirs), with PyTorch's
 * weighting and normalisation rules. Also exported from the `F` namespace.
 *
 * Shapes: classification losses take input (N, C), (N, C, d1, ..., dk) or unbatched (C), the class
 * dim being 1 (0 when unbatched); class-index targets are int32 of shape (N, d1, ..., dk) (or ());
 * probability targets are float with the input's shape. Elementwise losses need input and target
 * of the same shape (PyTorch broadcasts them with a warning; tessera refuses, since it is almost
 * always a (N, 1) vs (N) bug). Reductions: 'mean' (default), 'sum', 'none' (the per-element loss).
 *
 * Reference: https://pytorch.org/docs/stable/nn.functional.html#loss-functions
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { normalizeDim, sameShape } from '../shape.ts'
import { softplus, where } from '../ops/elementwise.ts'
import { logSoftmax } from '../ops/softmax.ts'
import type { Tensor } from '../tensor.ts'

export type Reduction = 'mean' | 'sum' | 'none'

function checkReduction<R extends string>(op: string, r: R, allowed: readonly string[] = ['mean', 'sum', 'none']): R {
  if (!allowed.includes(r)) throw new TesseraError(`${op}: reduction must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(r)}`)
  return r
}

/** 'mean' averages over every element, 'sum' adds them, 'none' returns them. */
function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? loss.mean() : reduction === 'sum' ? loss.sum() : loss
}

function checkFloat(op: string, name: string, t: Tensor): void {
  check(isFloating(t.dtype), op, () => `${name} must be a float tensor, got ${t.dtype} (shape ${fmtShape(t.shape)})`)
}

function checkPair(op: string, input: Tensor, target: Tensor, targetName = 'target'): void {
  checkFloat(op, 'input', input)
  checkFloat(op, targetName, target)
  check(sameShape(input.shape, target.shape), op, () =>
    `${targetName} shape ${fmtShape(target.shape)} differs from input shape ${fmtShape(input.shape)}; expand or reshape one of them explicitly`)
}

// ------------------------------------------------------------------ classification

export interface NLLLossOptions {
  /** Per-class weights (C). */
  weight?: Tensor | null
  /** Targets equal to this contribute nothing, to the loss or to the mean's denominator (default -100). */
  ignoreIndex?: number
  reduction?: Reduction
}

export interface CrossEntropyOptions extends NLLLossOptions {
  /** epsilon in [0, 1]: the target becomes (1 - epsilon) one-hot + epsilon / C uniform. */
  labelSmoothing?: number
}

function classDim(op: string, input: Tensor): number {
  checkFloat(op, 'input', input)
  check(input.ndim >= 1, op, () => 'input must have a class dim: (C), (N, C) or (N, C, d1, ...)')
  return input.ndim === 1 ? 0 : 1
}

function checkWeight(op: string, weight: Tensor | null | undefined, C: number): void {
  if (!weight) return
  check(weight.ndim === 1 && weight.shape[0] === C && isFloating(weight.dtype), op, () =>
    `weight must be a 1-D float tensor of ${C} class weights, got ${weight.dtype} ${fmtShape(weight.shape)}`)
}

/** (C) weights shaped to broadcast against the input along the class dim: (C) or (C, 1, ..., 1). */
const classBroadcast = (weight: Tensor, input: Tensor, cdim: number): Tensor =>
  weight.reshape([weight.shape[0], ...new Array<number>(input.ndim - cdim - 1).fill(1)])

/**
 * Checks class-index targets against the input (C) / (N, C, d...) and returns the targets with
 * ignored entries replaced by 0 (safe to gather) and the mask of the others.
 */
function classTargets(op: string, input: Tensor, target: Tensor, cdim: number, ignoreIndex: number): { safe: Tensor; valid: Tensor } {
  const C = input.shape[cdim]
  const expected = input.shape.filter((_, i) => i !== cdim)
  check(target.dtype === 'int32' || target.dtype === 'int8', op, () =>
    `class-index target must be an int32 tensor, got ${target.dtype} of shape ${fmtShape(target.shape)} for input ${fmtShape(input.shape)} ` +
    `(probability targets must have the input's shape)`)
  check(sameShape(target.shape, expected), op, () =>
    `target shape ${fmtShape(target.shape)} does not fit input ${fmtShape(input.shape)}: expected ${fmtShape(expected)} (the input without its class dim ${cdim})`)
  const valid = target.ne(ignoreIndex)
  const outOfRange = valid.logicalAnd(target.lt(0).logicalOr(target.ge(C)))
  if (outOfRange.any().item()) {
    const t = target.data(), bad = outOfRange.data()
    const first = t[bad.findIndex((b) => b !== 0)]
    throw new TesseraError(`${op}: target ${first} is out of bounds for ${C} classes (input ${fmtShape(input.shape)}, target ${fmtShape(target.shape)}, ignoreIndex ${ignoreIndex})`)
  }
  return { safe: where(valid, target, 0), valid }
}

/**
 * Per-target -w[y] logp[y] (0 for ignored targets) and the weights w[y] (0 for ignored), both of
 * the target's shape; logp (N, C, d...).
 */
function pickTargets(logp: Tensor, safe: Tensor, valid: Tensor, weight: Tensor | null | undefined, cdim: number): { losses: Tensor; w: Tensor } {
  const picked = logp.gather(cdim, safe.unsqueeze(cdim)).squeeze(cdim) // (N, d...)
  const w = weight
    ? where(valid, weight.indexSelect(0, safe.reshape([-1])).reshape(safe.shape), 0) // w[y_n], 0 where ignored
    : valid.to(logp.dtype)
  return { losses: picked.mul(w).neg(), w }
}

/** 'mean' divides by the total weight of the non-ignored targets (NaN when there are none, as PyTorch). */
function reduceWeighted(losses: Tensor, w: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? losses.sum().div(w.sum()) : reduction === 'sum' ? losses.sum() : losses
}

/**
 * Negative log likelihood of class-index targets: l_n = -w[y_n] logp[n, y_n]; 'mean' is
 * sum_n l_n / sum_n w[y_n] over non-ignored n.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.NLLLoss.html
 * @example
 *   nllLoss(logSoftmax(logits, 1), tensor([2, 0], { dtype: 'int32' }))
 */
export function nllLoss(input: Tensor, target: Tensor, opts: NLLLossOptions = {}): Tensor {
  const op = 'nllLoss'
  const reduction = checkReduction(op, opts.reduction ?? 'mean')
  const cdim = classDim(op, input)
  checkWeight(op, opts.weight, input.shape[cdim])
  const { safe, valid } = classTargets(op, input, target, cdim, opts.ignoreIndex ?? -100)
  const { losses, w } = pickTargets(input, safe, valid, opts.weight, cdim)
  return reduceWeighted(losses, w, reduction)
}

/**
 * Cross entropy of logits, for class-index targets (int32, (N, d...)) or class probabilities
 * (float, the input's shape). With p = logSoftmax(input) along the class dim and epsilon the
 * label smoothing:
 *   indices:  (1 - eps) nll(p, y) + (eps / C) S,  S = sum_n [y_n not ignored] (-sum_c w_c p[n, c]),
 *             'mean' dividing both terms by sum_n w[y_n] over non-ignored n;
 *   probs:    l_n = -sum_c w_c q[n, c] p[n, c] with q = (1 - eps) target + eps / C, 'mean' dividing
 *             by the number of samples N d1 ... dk (not by the weights).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
 * @example
 *   crossEntropy(logits, labels, { labelSmoothing: 0.1 }) // logits (N, C), labels (N) int32
 */
export function crossEntropy(input: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy'
  const reduction = checkReduction(op, opts.reduction ?? 'mean')
  const eps = opts.labelSmoothing ?? 0
  check(eps >= 0 && eps <= 1, op, () => `labelSmoothing must be in [0, 1], got ${eps}`)
  const cdim = classDim(op, input)
  const C = input.shape[cdim]
  checkWeight(op, opts.weight, C)
  const ignoreIndex = opts.ignoreIndex ?? -100
  const logp = logSoftmax(input, cdim) // (N, C, d...)
  const wB = opts.weight ? classBroadcast(opts.weight, input, cdim) : null

  if (target.ndim === input.ndim && sameShape(target.shape, input.shape)) {
    check(isFloating(target.dtype), op, () =>
      `a target of the input's shape ${fmtShape(input.shape)} holds class probabilities and must be float, got ${target.dtype}`)
    check(ignoreIndex < 0, op, () => `ignoreIndex (${ignoreIndex}) is not supported for probability targets`)
    const q = eps > 0 ? target.mul(1 - eps).add(eps / C) : target
    let prod = logp.mul(q)
    if (wB) prod = prod.mul(wB)
    if (reduction === 'none') return prod.sum(cdim).neg()
    const total = prod.sum().neg()
    return reduction === 'sum' ? total : total.div(input.numel() / C)
  }

  const { safe, valid } = classTargets(op, input, target, cdim, ignoreIndex)
  const { losses, w } = pickTargets(logp, safe, valid, opts.weight, cdim)
  const nll = reduceWeighted(losses, w, reduction)
  if (eps === 0) return nll
  const smooth = where(valid, (wB ? logp.mul(wB) : logp).sum(cdim).neg(), 0) // (N, d...)
  return nll.mul(1 - eps).add(reduceWeighted(smooth, w, reduction).mul(eps / C))
}

/**
 * log(p) with PyTorch's BCE clamp at -100, written so the gradient at p = 0 is 0 rather than NaN.
 * NOTE: where the clamp is active (p < e^-100, including p = 0) the gradient is 0; PyTorch's
 * fused backward gives (p - y) / max(p (1 - p), 1e-12) there instead.
 */
function clampedLog(p: Tensor): Tensor {
  const pos = p.gt(0)
  return where(pos, where(pos, p, 1).log(), -100).clamp(-100)
}

export interface BCEOptions { weight?: Tensor | null; reduction?: Reduction }

/**
 * Binary cross entropy of probabilities: l = -w (y log x + (1 - y) log(1 - x)), each log clamped
 * at -100 as PyTorch. Input values must lie in [0, 1]; `weight` broadcasts against the input.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.BCELoss.html
 * @example
 *   binaryCrossEntropy(probs.sigmoid(), labels)
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, opts: BCEOptions = {}): Tensor {
  const op = 'binaryCrossEntropy'
  const reduction = checkReduction(op, opts.reduction ?? 'mean')
  checkPair(op, input, target)
  if (input.numel() > 0) {
    const lo = input.amin().item(), hi = input.amax().item()
    check(lo >= 0 && hi <= 1, op, () => `all elements of input must be between 0 and 1, got values in [${lo}, ${hi}]; use bceWithLogits for logits`)
  }
  let loss = target.mul(clampedLog(input)).add(target.neg().add(1).mul(clampedLog(input.neg().add(1)))).neg()
  if (opts.weight) loss = loss.mul(opts.weight.expand(input.shape))
  return reduce(loss, reduction)
}

export interface BCEWithLogitsOptions extends BCEOptions {
  /** Weight of the positive term per class (broadcast along the last dim, e.g. (C)). */
  posWeight?: Tensor | null
}

/**
 * Binary cross entropy of logits, stable for any x: with s(x) = log(1 + e^{-x})
 * = max(-x, 0) + log(1 + e^{-|x|}) and l_w = 1 + (posWeight - 1) y,
 *   l = w ((1 - y) x + l_w s(x))      (= w (max(x, 0) - x y + log(1 + e^{-|x|})) without posWeight).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.BCEWithLogitsLoss.html
 * @example
 *   bceWithLogits(logits, labels, { posWeight: tensor([3]) })
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, opts: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits'
  const reduction = checkReduction(op, opts.reduction ?? 'mean')
  checkPair(op, input, target)
  // NOTE: softplus with threshold Infinity is exactly max(z, 0) + log1p(e^{-|z|}) with gradient
  // sigmoid(z), correct at z = 0 (a relu/abs composite would give the kinks' 0 there).
  const s = softplus(input.neg(), 1, Infinity) // log(1 + e^{-x})
  const negPart = target.neg().add(1).mul(input) // (1 - y) x
  let loss = opts.posWeight ? negPart.add(opts.posWeight.sub(1).mul(target).add(1).mul(s)) : negPart.add(s)
  if (opts.weight) loss = loss.mul(opts.weight)
  check(sameShape(loss.shape, input.shape), op, () => `weight or posWeight broadcast the loss to ${fmtShape(loss.shape)}, beyond the input shape ${fmtShape(input.shape)}`)
  return reduce(loss, reduction)
}
export const bceWithLogits = binaryCrossEntropyWithLogits

// ------------------------------------------------------------------ regression

export interface ReductionOptions { reduction?: Reduction }

/** Mean squared error: l = (x - y)^2. Reference: https://pytorch.org/docs/stable/generated/torch.nn.MSELoss.html */
export function mseLoss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const reduction = checkReduction('mseLoss', opts.reduction ?? 'mean')
  checkPair('mseLoss', input, target)
  return reduce(input.sub(target).square(), reduction)
}

/** Mean absolute error: l = |x - y| (gradient 0 where x = y). Reference: https://pytorch.org/docs/stable/generated/torch.nn.L1Loss.html */
export function l1Loss(input: Tensor, target: Tensor, opts: ReductionOptions = {}): Tensor {
  const reduction = checkReduction('l1Loss', opts.reduction ?? 'mean')
  checkPair('l1Loss', input, target)
  return reduce(input.sub(target).abs(), reduction)
}

/**
 * Huber loss: with d = x - y, l = d^2 / 2 if |d| < delta, else delta (|d| - delta / 2).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.HuberLoss.html
 */
export function huberLoss(input: Tensor, target: Tensor, opts: ReductionOptions & { delta?: number } = {}): Tensor {
  const reduction = checkReduction('huberLoss', opts.reduction ?? 'mean')
  const delta = opts.delta ?? 1
  check(delta > 0, 'huberLoss', () => `delta must be positive, got ${delta}`)
  checkPair('huberLoss', input, target)
  const d = input.sub(target), a = d.abs()
  return reduce(where(a.lt(delta), d.square().mul(0.5), a.sub(0.5 * delta).mul(delta)), reduction)
}

/**
 * Smooth L1 loss: with d = x - y, l = d^2 / (2 beta) if |d| < beta, else |d| - beta / 2
 * (the L1 loss when beta = 0). Equals huberLoss / beta for delta = beta.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.SmoothL1Loss.html
 */
export function smoothL1Loss(input: Tensor, target: Tensor, opts: ReductionOptions & { beta?: number } = {}): Tensor {
  const reduction = checkReduction('smoothL1Loss', opts.reduction ?? 'mean')
  const beta = opts.beta ?? 1
  check(beta >= 0, 'smoothL1Loss', () => `beta must be non-negative, got ${beta}`)
  checkPair('smoothL1Loss', input, target)
  const d = input.sub(target), a = d.abs()
  if (beta === 0) return reduce(a, reduction)
  return reduce(where(a.lt(beta), d.square().mul(0.5 / beta), a.sub(0.5 * beta)), reduction)
}

// ------------------------------------------------------------------ distributions and similarity

export interface KLDivOptions {
  /** 'batchmean' (sum / input.size(0)) is the true KL divergence per sample; 'mean' averages over all elements. */
  reduction?: Reduction | 'batchmean'
  /** The target holds log-probabilities instead of probabilities. */
  logTarget?: boolean
}

/**
 * KL divergence with input = log q (log-probabilities) and target p:
 *   l = p (log p - log q), with 0 log 0 = 0   (logTarget: l = e^t (t - log q)).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.KLDivLoss.html
 * @example
 *   klDiv(logSoftmax(student, 1), softmax(teacher, 1), { reduction: 'batchmean' })
 */
export function klDiv(input: Tensor, target: Tensor, opts: KLDivOptions = {}): Tensor {
  const op = 'klDiv'
  const reduction = checkReduction(op, opts.reduction ?? 'mean', ['mean', 'sum', 'none', 'batchmean'])
  checkPair(op, input, target)
  let loss: Tensor
  if (opts.logTarget) {
    loss = target.exp().mul(target.sub(input))
  } else {
    // xlogy(p, p) = 0 where p = 0; the inner where keeps log's input and gradient finite there.
    // NOTE: so the gradient w.r.t. a zero target is -input (PyTorch's xlogy backward gives NaN).
    const zero = target.eq(0)
    const plogp = where(zero, 0, target.mul(where(zero, 1, target).log()))
    loss = plogp.sub(target.mul(input))
  }
  if (reduction !== 'batchmean') return reduce(loss, reduction)
  return loss.sum().div(input.ndim > 0 ? input.shape[0] : 1)
}

/**
 * Cosine similarity along `dim` (default 1): sum(x1 x2) / (max(|x1|, eps) max(|x2|, eps)), computed
 * as sum((x1 / max(|x1|, eps)) (x2 / max(|x2|, eps))); x1 and x2 broadcast.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.cosine_similarity.html
 * @example
 *   cosineSimilarity(a, b, -1) // a, b (N, D) -> (N)
 */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  const op = 'cosineSimilarity'
  checkFloat(op, 'x1', x1)
  checkFloat(op, 'x2', x2)
  const rank = Math.max(x1.ndim, x2.ndim)
  check(rank > 0, op, () => 'inputs must have at least one dim')
  const d = normalizeDim(op, dim, rank)
  const a = x1.ndim < rank ? x1.reshape([...new Array<number>(rank - x1.ndim).fill(1), ...x1.shape]) : x1
  const b = x2.ndim < rank ? x2.reshape([...new Array<number>(rank - x2.ndim).fill(1), ...x2.shape]) : x2
  check(a.shape[d] === b.shape[d], op, () => `x1 ${fmtShape(x1.shape)} and x2 ${fmtShape(x2.shape)} differ in dim ${dim}`)
  // NOTE: PyTorch 1.13 clamps the squared norm at eps^2 in place under no_grad and then takes its
  // square root, so below eps the value is eps and d|x|/dx = x / max(|x|, eps) (finite, also at
  // x = 0). The detached correction term reproduces both the value and that gradient.
  const clampedNorm = (t: Tensor): Tensor => {
    const s = t.square().sum(d, true)
    return s.add(s.clamp(eps * eps).sub(s).detach()).sqrt()
  }
  return a.div(clampedNorm(a)).mul(b.div(clampedNorm(b))).sum(d)
}

/**
 * Cosine embedding loss with y in {1, -1}: l = 1 - cos(x1, x2) if y = 1, max(0, cos(x1, x2) - margin)
 * if y = -1, cos = sum(x1 x2) / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) over the last dim.
 * x1, x2 (N, D) with y (N), or (D) with y ().
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.CosineEmbeddingLoss.html
 */
export function cosineEmbeddingLoss(x1: Tensor, x2: Tensor, y: Tensor, opts: ReductionOptions & { margin?: number } = {}): Tensor {
  const op = 'cosineEmbeddingLoss'
  const reduction = checkReduction(op, opts.reduction ?? 'mean')
  checkPair(op, x1, x2, 'x2')
  check(y.ndim <= 1 && x1.ndim === y.ndim + 1 && (y.ndim === 0 || y.shape[0] === x1.shape[0]), op, () =>
    `expected x1, x2 of shape (N, D) with y (N), or (D) with y (); got x1 ${fmtShape(x1.shape)}, y ${fmtShape(y.shape)}`)
  const d = y.ndim
  const EPS = 1e-12
  const cos = x1.mul(x2).sum(d).div(x1.square().sum(d).add(EPS).mul(x2.square().sum(d).add(EPS)).sqrt())
  const loss = where(y.eq(1), cos.neg().add(1), 0).add(where(y.eq(-1), cos.sub(opts.margin ?? 0).clamp(0), 0))
  return reduce(loss, reduction)
}

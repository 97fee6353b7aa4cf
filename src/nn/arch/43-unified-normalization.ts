/**
 * @file Paper 43 — "Unified Normalization for Accelerating and Stabilizing Transformers"
 * (Yang et al., ACM MM 2022), https://arxiv.org/abs/2208.01313. Official code:
 * hikvision-research/Unified-Normalization `image_classification/models/unified_normalization/unified_normalization.py`.
 *
 * UN replaces LayerNorm with a batch-statistics normalisation that needs no statistics at inference
 * (so it folds into the next Linear), and stabilises training with
 *   - uncentred per-channel second moments x2 = mean(x²) over all non-pad tokens of the batch,
 *   - "geometric-mean smoothing": after warm-up the forward uses the geometric mean of the last W
 *     second moments (FP window) and the backward the arithmetic mean of the last W gradient
 *     statistics gz (BP window), with an EMA of the latter,
 *   - a gradient scale r = √(var+ε)/√(running_var+ε), clamped to [1/5, 5] once training is stable,
 *   - optional outlier filtration: a batch whose FP window has arithmetic − geometric mean above
 *     W·var(√window) is skipped (its slot takes running_var) and normalised with its own statistics.
 * The forward/backward pair is a `customOp` (the backward is the paper's approximation, not the
 * autograd of the forward); in the early regime (r = 1, window not used, momentum 0) it equals the
 * exact gradient of the composite `unifiedNormBatchRef`, which the tests check.
 *
 * Shapes: x (B, N, C) or (N, C), channels last; padMask (B, N) bool, true = padding.
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { full, ones, tensor, zeros } from '../../creation.ts'
import { customOp } from '../../custom.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Linear } from '../linear.ts'

export interface UnifiedNormOptions {
  /** FP and BP window sizes W (one number for both, or [fpWin, bpWin]). Default 4. */
  window?: number | [number, number]
  /** Iterations before the windows are used (and before outlier filtration). Default 4000. */
  warmupIters?: number
  /** Skip outlier batches (recommended for vision, off for NLP). Default false. */
  outlierFiltration?: boolean
  eps?: number
  /** EMA momentum m of running_var and ema_gz (weight of the OLD value). Default 0.9. */
  momentum?: number
  /** r stays 1 while t ≤ max(gradScaleIters, warmupIters). The official code fixes this at 1000. */
  gradScaleIters?: number
  dtype?: 'float32' | 'float64'
}

/**
 * Unified Normalization (UN1d of the official code) over (B, N, C).
 *
 * Training, iteration t (counted from 1), per channel:
 *   x2 = mean over non-pad tokens of x²;  var = x2 if t ≤ W, t < warmup or skipped, else exp(mean log FPwindow)
 *   r = clamp(√(var+ε)/√(rv+ε), 1, 1) while t ≤ max(1000, warmup) or skipped, else clamp(·, 1/5, 5)
 *   z = x/√(var+ε);  y = γ z + β;  rv ← m rv + (1−m) var
 * Backward: g = dy γ r; gz = mean(g z) (over all B·N tokens, as the official code);
 *   mean_gz = gz early, else mean(BPwindow); ema_gz ← m ema_gz + (1−m) mean_gz;
 *   dx = (g − c z)/√(var+ε), c = mean_gz if skipped else ema_gz; dγ = Σ dy r z; dβ = Σ dy.
 * Eval: y = γ x/√(rv+ε) + β (a per-channel affine map; see `foldNorm`).
 * Reference: https://arxiv.org/abs/2208.01313
 * @example
 *   const un = new UnifiedNorm(32, { window: 4, warmupIters: 200 })
 *   const y = un.forward(x, padMask) // x (B, N, 32), padMask (B, N) true = pad
 */
export class UnifiedNorm extends Module {
  weight: Parameter // (C,)
  bias: Parameter // (C,)
  declare running_var: Tensor // (C,)
  declare ema_gz: Tensor // (C,)
  declare iters: Tensor // () int32, t of the last training forward
  declare buffer_x2: Tensor // (Wf, C) FP window of x2
  declare buffer_gz: Tensor // (Wb, C) BP window of gz
  declare skip_counter: Tensor // () int32
  readonly fpWin: number
  readonly bpWin: number
  readonly warmupIters: number
  readonly outlierFiltration: boolean
  readonly eps: number
  readonly momentum: number
  readonly gradScaleIters: number
  /** Whether the last training forward was skipped as an outlier (or W = 1). */
  lastSkip = false

  constructor(readonly channels: number, opts: UnifiedNormOptions = {}) {
    super()
    if (!Number.isInteger(channels) || channels <= 0) throw new TesseraError(`UnifiedNorm: channels must be a positive integer, got ${channels}`)
    const w = opts.window ?? 4
    ;[this.fpWin, this.bpWin] = typeof w === 'number' ? [w, w] : w
    if (![this.fpWin, this.bpWin].every((v) => Number.isInteger(v) && v >= 1)) throw new TesseraError(`UnifiedNorm: window must be positive integers, got ${JSON.stringify(w)}`)
    this.warmupIters = opts.warmupIters ?? 4000
    this.outlierFiltration = opts.outlierFiltration ?? false
    this.eps = opts.eps ?? 1e-5
    this.momentum = opts.momentum ?? 0.9
    this.gradScaleIters = opts.gradScaleIters ?? 1000
    const dtype = opts.dtype ?? 'float32'
    this.weight = new Parameter(ones([channels], { dtype }))
    this.bias = new Parameter(zeros([channels], { dtype }))
    this.registerBuffer('running_var', ones([channels], { dtype }))
    this.registerBuffer('ema_gz', zeros([channels], { dtype }))
    this.registerBuffer('iters', full([], 0, { dtype: 'int32' }))
    this.registerBuffer('buffer_x2', zeros([this.fpWin, channels], { dtype }))
    this.registerBuffer('buffer_gz', zeros([this.bpWin, channels], { dtype }))
    this.registerBuffer('skip_counter', full([], 0, { dtype: 'int32' }))
  }

  forward(x: Tensor, padMask?: Tensor | null): Tensor {
    const C = this.channels
    if ((x.ndim !== 3 && x.ndim !== 2) || x.shape[x.ndim - 1] !== C) {
      throw new TesseraError(`UnifiedNorm: x must be (B, N, ${C}) or (N, ${C}), got ${fmtShape(x.shape)}`)
    }
    if (!this.training) {
      // Eval: only the running statistics (Eqn: y = γ x/√(rv+ε) + β).
      return x.div(this.running_var.add(this.eps).sqrt()).mul(this.weight).add(this.bias)
    }
    const rows = this.tokenRows(x, padMask) // (T, C) non-pad tokens
    const stats = noGrad(() => this.updateForward(rows))
    return this.op(stats)(x, this.weight, this.bias)
  }

  /** The non-pad tokens as rows (T, C). */
  private tokenRows(x: Tensor, padMask?: Tensor | null): Tensor {
    const C = this.channels
    const flat = x.reshape([-1, C]) // (B·N, C)
    if (!padMask) return flat
    const ok = padMask.dtype === 'bool' && padMask.numel() === flat.shape[0] && (x.ndim === 2 ? padMask.ndim === 1 : padMask.ndim === 2 && padMask.shape[0] === x.shape[0])
    if (!ok) throw new TesseraError(`UnifiedNorm: padMask must be bool (B, N) matching x ${fmtShape(x.shape)}, got ${padMask.dtype} ${fmtShape(padMask.shape)}`)
    const m = padMask.data()
    const keep: number[] = []
    for (let i = 0; i < m.length; i++) if (!m[i]) keep.push(i)
    if (keep.length === 0) throw new TesseraError('UnifiedNorm: padMask marks every token as padding')
    return flat.indexSelect(0, tensor(keep, { dtype: 'int32' }))
  }

  /** Buffer updates of one training forward; returns the constants the op needs. */
  private updateForward(rows: Tensor): { t: number; skip: boolean; v: Tensor; r: Tensor } {
    const W = this.fpWin, m = this.momentum
    this.iters.add_(1)
    const t = this.iters.item()
    const x2 = rows.square().mean(0) // (C,) uncentred second moment
    let skip = W <= 1
    // Outlier filtration: recorded = var(√window) over every slot and channel, before inserting x2.
    const recorded = this.buffer_x2.sqrt().var().item()
    const slot = this.buffer_x2.select(0, t % W) // (C,) view
    slot.copy_(x2)
    if (t >= this.warmupIters && this.outlierFiltration) {
      const am = this.buffer_x2.mean(0), gm = this.buffer_x2.log().mean(0).exp()
      if (am.sub(gm).gt(recorded * W).any().item()) {
        slot.copy_(this.running_var)
        skip = true
        this.skip_counter.add_(1)
      }
    }
    // Geometric mean of the FP window (via logs, as the official code).
    const v = t <= W || t < this.warmupIters || skip ? x2 : this.buffer_x2.log().mean(0).exp() // (C,)
    let r = v.add(this.eps).sqrt().div(this.running_var.add(this.eps).sqrt()) // (C,)
    r = t <= Math.max(this.gradScaleIters, this.warmupIters) || skip ? r.clamp(1, 1) : r.clamp(1 / 5, 5)
    this.running_var.copy_(this.running_var.mul(m).add(v.mul(1 - m)))
    this.lastSkip = skip
    return { t, skip, v, r }
  }

  /** The fused forward/backward for one iteration's constants. */
  private op(s: { t: number; skip: boolean; v: Tensor; r: Tensor }): (x: Tensor, w: Tensor, b: Tensor) => Tensor {
    const C = this.channels, m = this.momentum, Wb = this.bpWin
    const sd = s.v.add(this.eps).sqrt() // (C,)
    return customOp({
      name: 'UnifiedNorm',
      forward: (ctx, x, w, b) => {
        const z = x.div(sd) // (…, C)
        ctx.save(z, w)
        return z.mul(w).add(b)
      },
      backward: (ctx, dy) => {
        const [z, w] = ctx.saved
        const g = dy.mul(w).mul(s.r) // (…, C) gradient compensation
        const gz = g.mul(z).reshape([-1, C]).mean(0) // (C,)
        const slot = this.buffer_gz.select(0, s.t % Wb)
        slot.copy_(s.skip ? this.ema_gz : gz)
        const meanGz = s.t <= Wb || s.t < this.warmupIters || s.skip ? gz : this.buffer_gz.mean(0) // (C,)
        this.ema_gz.copy_(this.ema_gz.mul(m).add(meanGz.mul(1 - m)))
        const c = s.skip ? meanGz : this.ema_gz.clone()
        const dx = g.sub(z.mul(c)).div(sd) // (…, C)
        const lead = dy.shape.slice(0, -1).map((_, i) => i)
        const dw = dy.mul(z.mul(s.r)).sum(lead) // (C,) uses r·z, as the official code
        const db = dy.sum(lead) // (C,)
        return [ctx.needsGrad[0] ? dx : null, ctx.needsGrad[1] ? dw : null, ctx.needsGrad[2] ? db : null]
      },
    })
  }
}

/**
 * The early-regime UN forward from plain ops (autograd gives its exact gradient):
 *   y = γ x/√(mean_tokens x² + ε) + β, statistics over every token of the batch (uncentred).
 * The oracle for `UnifiedNorm` before its windows are used.
 * Reference: https://arxiv.org/abs/2208.01313
 * @example
 *   const y = unifiedNormBatchRef(x, gamma, beta) // x (B, N, C)
 */
export function unifiedNormBatchRef(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1]
  const x2 = x.reshape([-1, C]).square().mean(0) // (C,)
  return x.div(x2.add(eps).sqrt()).mul(weight).add(bias)
}

/**
 * Folds an eval-mode UN into the Linear that follows it: Linear(UN(x)) = x W'ᵀ + b' with
 *   W' = W·diag(γ/√(rv+ε)),  b' = b + W β.
 * Returns a new Linear (the inputs are not modified).
 * Reference: https://arxiv.org/abs/2208.01313 (Sec. 3, "offline" statistics merge into the next linear layer)
 * @example
 *   const merged = foldNorm(un, model.qkv) // merged.forward(x) == model.qkv.forward(un.eval().forward(x))
 */
export function foldNorm(norm: UnifiedNorm, linear: Linear): Linear {
  if (linear.inFeatures !== norm.channels) {
    throw new TesseraError(`foldNorm: Linear has ${linear.inFeatures} input features but UnifiedNorm has ${norm.channels} channels`)
  }
  return noGrad(() => {
    const W = linear.weight // (out, in)
    const s = norm.weight.div(norm.running_var.add(norm.eps).sqrt()) // (in,)
    const dtype = W.dtype === 'float64' ? 'float64' : 'float32'
    const out = new Linear(linear.inFeatures, linear.outFeatures, { dtype })
    out.weight.copy_(W.mul(s))
    const wb = W.matmul(norm.bias.to(W.dtype).unsqueeze(1)).squeeze(1) // (out,)
    out.bias!.copy_(linear.bias ? linear.bias.add(wb) : wb)
    return out
  })
}

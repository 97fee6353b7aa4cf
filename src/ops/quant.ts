/**
 * @file Differentiable quantizers for quantization-aware training.
 *
 * `fakeQuant` is PyTorch's `fake_quantize_per_tensor_affine` / `_per_channel_affine`:
 *   y = (clamp(roundHalfEven(x / s) + z, qmin, qmax) - z) s,
 * with the straight-through estimator dy/dx = 1 where qmin <= roundHalfEven(x / s) + z <= qmax,
 * else 0 (Bengio et al. 2013; Jacob et al. 2018, https://arxiv.org/abs/1712.05877, Sec. 3).
 *
 * `lsq` is Learned Step Size Quantization (Esser et al. 2020, https://arxiv.org/abs/1902.08153):
 *   v = x / s, y = roundHalfEven(clamp(v, -Qn, Qp)) s,                         Eqn (1)-(2)
 *   dy/dx = 1 if -Qn < v < Qp else 0,
 *   dy/ds = round(v) - v inside, -Qn below, Qp above,                          Eqn (3)
 * and the gradient to s is multiplied by g = 1 / sqrt(N Qp), N the number of elements sharing s
 * (Sec. 2.2). Shapes: x any; per-channel scales have shape (x.shape[axis],).
 *
 * `lsqPlus` is LSQ+ (Bhalgat et al. 2020, https://arxiv.org/abs/2004.09576): asymmetric
 * quantization with a learnable scale s AND a learnable offset beta:
 *   v = (x - beta) / s, y = roundHalfEven(clamp(v, n, p)) s + beta,              Eqn (4)
 *   dy/dx = 1 if n < v < p else 0,
 *   dy/ds = round(v) - v inside, n below, p above,                              Eqn (5)
 *   dy/dbeta = 0 inside, 1 outside,                                             Eqn (6)
 * with both parameter gradients scaled by g = 1 / sqrt(N p) as in LSQ.
 * All three ops are OpDefs whose backward is written in tensor ops.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import { apply, type OpDef } from './op.ts'
import type { Tensor } from '../tensor.ts'
import { roundHalfEven } from '../kernels/quant.ts'

export interface FakeQuantOptions {
  bits?: number
  /** Per-tensor scale, or one per channel along `perChannel`. */
  scale: number | readonly number[]
  zeroPoint?: number | readonly number[]
  /** Channel axis for per-channel scales and zero points. */
  perChannel?: number
  /** Integer range; default signed [-2^(b-1), 2^(b-1) - 1], or [0, 2^b - 1] when `unsigned`. */
  unsigned?: boolean
  qmin?: number
  qmax?: number
}

export interface FakeArgs { scale: number[]; zero: number[]; qmin: number; qmax: number; axis: number | null }

/** Channel of each flat element of a contiguous x for a given axis: floor(i / inner) % C. */
function channelStride(x: Tensor, axis: number | null): [number, number] {
  if (axis === null) return [1, 1]
  return [x.shape.slice(axis + 1).reduce((p, d) => p * d, 1), x.shape[axis]]
}

function floatData(op: string, x: Tensor): Float32Array | Float64Array {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new TesseraError(`${op}: expected a float tensor, got ${x.dtype}`)
  return x.data() as Float32Array | Float64Array
}

export const fakeQuantOp: OpDef<FakeArgs> = {
  name: 'fakeQuant',
  forward(ctx, [x], a) {
    const src = floatData('fakeQuant', x)
    const out = new (src.constructor as Float64ArrayConstructor)(src.length) // x.shape
    const mask = new (src.constructor as Float64ArrayConstructor)(src.length) // x.shape, 1 where in range
    const [inner, C] = channelStride(x, a.axis)
    for (let i = 0; i < src.length; i++) {
      const c = Math.floor(i / inner) % C, s = a.scale[c], z = a.zero[c]
      const q = roundHalfEven(src[i] / s) + z
      mask[i] = q >= a.qmin && q <= a.qmax ? 1 : 0
      out[i] = (Math.min(a.qmax, Math.max(a.qmin, q)) - z) * s
    }
    const m = fromTypedArray(mask, x.shape)
    ctx.save(m)
    return fromTypedArray(out, x.shape)
  },
  backward(ctx, g) {
    return [g.mul(ctx.saved[0])] // STE: pass the gradient where in range
  },
}

function perChannelValues(op: string, name: string, v: number | readonly number[], C: number): number[] {
  const arr = typeof v === 'number' ? new Array<number>(C).fill(v) : [...v]
  if (arr.length !== C) throw new TesseraError(`${op}: ${name} has ${arr.length} values for ${C} channels`)
  return arr
}

/**
 * Fake quantization with a straight-through gradient.
 * Reference: https://pytorch.org/docs/stable/generated/torch.fake_quantize_per_tensor_affine.html
 * @example
 *   const y = fakeQuant(x, { bits: 8, scale: 0.1 })                  // per tensor, [-128, 127]
 *   const w = fakeQuant(W, { bits: 4, scale: [0.1, 0.2], perChannel: 0, qmin: -7, qmax: 7 })
 */
export function fakeQuant(x: Tensor, opts: FakeQuantOptions): Tensor {
  const bits = opts.bits ?? 8
  if (!Number.isInteger(bits) || bits < 1 || bits > 16) throw new TesseraError(`fakeQuant: bits must be an integer in [1, 16], got ${bits}`)
  const qmin = opts.qmin ?? (opts.unsigned ? 0 : -(2 ** (bits - 1)))
  const qmax = opts.qmax ?? (opts.unsigned ? 2 ** bits - 1 : 2 ** (bits - 1) - 1)
  if (!(qmin < qmax)) throw new TesseraError(`fakeQuant: need qmin < qmax, got [${qmin}, ${qmax}]`)
  let axis: number | null = null, C = 1
  if (opts.perChannel !== undefined) {
    axis = opts.perChannel < 0 ? opts.perChannel + x.ndim : opts.perChannel
    if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim) throw new TesseraError(`fakeQuant: perChannel axis ${opts.perChannel} is out of range for shape ${fmtShape(x.shape)}`)
    C = x.shape[axis]
  } else if (typeof opts.scale !== 'number' || (opts.zeroPoint !== undefined && typeof opts.zeroPoint !== 'number')) {
    throw new TesseraError('fakeQuant: per-channel scale or zero point given without a perChannel axis')
  }
  const scale = perChannelValues('fakeQuant', 'scale', opts.scale, C)
  const zero = perChannelValues('fakeQuant', 'zeroPoint', opts.zeroPoint ?? 0, C)
  for (const s of scale) if (!(s > 0) || !Number.isFinite(s)) throw new TesseraError(`fakeQuant: scales must be positive and finite, got ${s}`)
  for (const z of zero) if (!Number.isInteger(z) || z < qmin || z > qmax) throw new TesseraError(`fakeQuant: zero point ${z} must be an integer in [${qmin}, ${qmax}]`)
  return apply(fakeQuantOp, [x], { scale, zero, qmin, qmax, axis })
}

export interface LsqOptions {
  bits: number
  /** Signed levels [-2^(b-1), 2^(b-1) - 1] (weights, default) or unsigned [0, 2^b - 1] (post-ReLU activations). */
  signed?: boolean
  /** Channel axis when s holds one step per channel. */
  axis?: number
  /** Gradient scale for s; default 1 / sqrt(N Qp), N the elements per step size. */
  gradScale?: number
}

export interface LsqArgs { Qn: number; Qp: number; axis: number | null; gradScale: number }

export const lsqOp: OpDef<LsqArgs> = {
  name: 'lsq',
  forward(ctx, [x, s], a) {
    const src = floatData('lsq', x)
    const step = s.data() as ArrayLike<number> // (C,) or one value
    const Ctor = src.constructor as Float64ArrayConstructor
    const out = new Ctor(src.length) // x.shape
    const dx = new Ctor(src.length) // x.shape: 1 inside (-Qn, Qp)
    const ds = new Ctor(src.length) // x.shape: per-element dy/ds, Eqn (3)
    const [inner, C] = channelStride(x, a.axis)
    for (let i = 0; i < src.length; i++) {
      const sc = step[Math.floor(i / inner) % C], v = src[i] / sc
      if (v <= -a.Qn) { out[i] = -a.Qn * sc; ds[i] = -a.Qn }
      else if (v >= a.Qp) { out[i] = a.Qp * sc; ds[i] = a.Qp }
      else { const q = roundHalfEven(v); out[i] = q * sc; dx[i] = 1; ds[i] = q - v }
    }
    ctx.save(fromTypedArray(dx, x.shape), fromTypedArray(ds, x.shape))
    return fromTypedArray(out, x.shape)
  },
  backward(ctx, g, a) {
    const [dx, ds] = ctx.saved
    const gs = g.mul(ds)
    const dims = a.axis === null ? undefined : g.shape.map((_, i) => i).filter((i) => i !== a.axis)
    const gScale = (dims === undefined ? gs.sum() : gs.sum(dims)).mul(a.gradScale).reshape(ctx.inputShapes[1] as number[])
    return [g.mul(dx), gScale]
  },
}

/**
 * LSQ quantizer with a learnable step size `s` (a tensor: one element, or (x.shape[axis],)).
 * Reference: Esser et al. 2020, https://arxiv.org/abs/1902.08153
 * @example
 *   const s = new nn.Parameter(tensor([0.05]))
 *   const wq = lsq(w, s, { bits: 4 })   // dL/ds scaled by 1/sqrt(numel(w) * 7)
 */
export function lsq(x: Tensor, s: Tensor, opts: LsqOptions): Tensor {
  const { bits } = opts
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new TesseraError(`lsq: bits must be an integer in [2, 16], got ${bits}`)
  const signed = opts.signed ?? true
  const Qn = signed ? 2 ** (bits - 1) : 0, Qp = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1
  let axis: number | null = null
  if (opts.axis !== undefined) {
    axis = opts.axis < 0 ? opts.axis + x.ndim : opts.axis
    if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim) throw new TesseraError(`lsq: axis ${opts.axis} is out of range for shape ${fmtShape(x.shape)}`)
    if (s.numel() !== x.shape[axis] || s.ndim > 1) throw new TesseraError(`lsq: per-channel step must have shape [${x.shape[axis]}], got ${fmtShape(s.shape)}`)
  } else if (s.numel() !== 1) {
    throw new TesseraError(`lsq: a per-tensor step must have one element, got shape ${fmtShape(s.shape)}; pass axis for per-channel steps`)
  }
  for (const v of Array.from(s.data() as ArrayLike<number>)) if (!(v > 0)) throw new TesseraError(`lsq: step sizes must be positive, got ${v}`)
  const N = x.numel() / (axis === null ? 1 : x.shape[axis])
  const gradScale = opts.gradScale ?? 1 / Math.sqrt(N * Qp)
  return apply(lsqOp, [x, s], { Qn, Qp, axis, gradScale })
}

export interface LsqPlusOptions {
  bits: number
  /** Unsigned levels [0, 2^b - 1] (default, as for activations) or signed [-2^(b-1), 2^(b-1) - 1]. */
  signed?: boolean
  /** Channel axis when s and beta hold one value per channel. */
  axis?: number
  /** Gradient scale for s and beta; default 1 / sqrt(N p), N the elements per scale. */
  gradScale?: number
}

export interface LsqPlusArgs { n: number; p: number; axis: number | null; gradScale: number }

export const lsqPlusOp: OpDef<LsqPlusArgs> = {
  name: 'lsqPlus',
  forward(ctx, [x, s, beta], a) {
    const src = floatData('lsqPlus', x)
    const step = s.data() as ArrayLike<number> // (C,) or one value
    const off = beta.data() as ArrayLike<number> // (C,) or one value
    const Ctor = src.constructor as Float64ArrayConstructor
    const out = new Ctor(src.length) // x.shape
    const dx = new Ctor(src.length) // x.shape: 1 inside (n, p), Eqn (6) dy/dbeta is 1 - dx
    const ds = new Ctor(src.length) // x.shape: per-element dy/ds, Eqn (5)
    const [inner, C] = channelStride(x, a.axis)
    for (let i = 0; i < src.length; i++) {
      const c = Math.floor(i / inner) % C, sc = step[c], b = off[c], v = (src[i] - b) / sc
      if (v <= a.n) { out[i] = a.n * sc + b; ds[i] = a.n }
      else if (v >= a.p) { out[i] = a.p * sc + b; ds[i] = a.p }
      else { const q = roundHalfEven(v); out[i] = q * sc + b; dx[i] = 1; ds[i] = q - v }
    }
    ctx.save(fromTypedArray(dx, x.shape), fromTypedArray(ds, x.shape))
    return fromTypedArray(out, x.shape)
  },
  backward(ctx, g, a) {
    const [dx, ds] = ctx.saved
    const dims = a.axis === null ? undefined : g.shape.map((_, i) => i).filter((i) => i !== a.axis)
    const reduce = (t: Tensor, k: number): Tensor => (dims === undefined ? t.sum() : t.sum(dims)).mul(a.gradScale).reshape(ctx.inputShapes[k] as number[])
    const gx = g.mul(dx)
    // NOTE: dy/dbeta = 1 - dy/dx: beta shifts the clamped outputs one for one and the inside not at all.
    return [gx, reduce(g.mul(ds), 1), reduce(g.sub(gx), 2)]
  },
}

/**
 * LSQ+ quantizer with a learnable scale `s` and offset `beta` (tensors: one element each, or
 * (x.shape[axis],) each): y = round(clamp((x - beta) / s, n, p)) s + beta.
 * Reference: Bhalgat et al. 2020, https://arxiv.org/abs/2004.09576
 * @example
 *   const s = new nn.Parameter(tensor([0.1])), beta = new nn.Parameter(tensor([-0.2]))
 *   const aq = lsqPlus(swish(x), s, beta, { bits: 4 })   // levels 0..15, shifted by beta
 */
export function lsqPlus(x: Tensor, s: Tensor, beta: Tensor, opts: LsqPlusOptions): Tensor {
  const { bits } = opts
  if (!Number.isInteger(bits) || bits < 2 || bits > 16) throw new TesseraError(`lsqPlus: bits must be an integer in [2, 16], got ${bits}`)
  const signed = opts.signed ?? false
  const n = signed ? -(2 ** (bits - 1)) : 0, p = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1
  let axis: number | null = null
  if (opts.axis !== undefined) {
    axis = opts.axis < 0 ? opts.axis + x.ndim : opts.axis
    if (!Number.isInteger(axis) || axis < 0 || axis >= x.ndim) throw new TesseraError(`lsqPlus: axis ${opts.axis} is out of range for shape ${fmtShape(x.shape)}`)
    for (const [name, t] of [['scale', s], ['offset', beta]] as const) {
      if (t.numel() !== x.shape[axis] || t.ndim > 1) throw new TesseraError(`lsqPlus: per-channel ${name} must have shape [${x.shape[axis]}], got ${fmtShape(t.shape)}`)
    }
  } else {
    for (const [name, t] of [['scale', s], ['offset', beta]] as const) {
      if (t.numel() !== 1) throw new TesseraError(`lsqPlus: a per-tensor ${name} must have one element, got shape ${fmtShape(t.shape)}; pass axis for per-channel values`)
    }
  }
  for (const v of Array.from(s.data() as ArrayLike<number>)) if (!(v > 0)) throw new TesseraError(`lsqPlus: scales must be positive, got ${v}`)
  for (const v of Array.from(beta.data() as ArrayLike<number>)) if (!Number.isFinite(v)) throw new TesseraError(`lsqPlus: offsets must be finite, got ${v}`)
  const N = x.numel() / (axis === null ? 1 : x.shape[axis])
  const gradScale = opts.gradScale ?? 1 / Math.sqrt(N * p)
  return apply(lsqPlusOp, [x, s, beta], { n, p, axis, gradScale })
}

/**
 * @file Scaled dot-product attention with PyTorch semantics: the fused FlashAttention-2 primitive
 * (src/kernels/attention.ts) and `scaledDotProductAttentionRef`, the composite
 * (matmul + softmax + matmul) it is tested against.
 *
 * Shapes: q (..., L, E), k (..., S, E), v (..., S, Ev) -> out (..., L, Ev). The leading dims of
 * q, k and v broadcast together (k and v may be shared across heads, e.g. (B, 1, S, E) with q
 * (B, H, L, E)). attnMask broadcasts to (..., L, S): bool keeps where true, float is added to the
 * scores (e.g. a padding mask (B, 1, 1, S)). isCausal keeps j <= i, aligned at the top-left corner
 * (PyTorch's tril(ones(L, S))).
 *
 * Paths: the fused op by default. The composite runs when dropoutP > 0 (dropout on the attention
 * weights, drawn from `generator`, so a seeded generator reproduces it), when a float attnMask
 * requires grad (its gradient is the score gradient, which the fused kernel does not form), and
 * inside the fused op's backward under createGraph (so higher-order gradients work).
 *
 * Fully masked rows (every key removed by the mask): the output row is NaN, and so are that row of
 * dq and all of dk and dv for that batch element, as in PyTorch's math path (which turns bool and
 * causal masks into an additive -inf bias, so the NaN of softmax over all -inf flows through the
 * add). The fused kernel, the composite and test/fixtures/norm.json all agree on this.
 */
import { check, fmtShape } from '../errors.ts'
import { isGradEnabled } from '../autograd.ts'
import { isFloating, type TypedArray } from '../dtype.ts'
import { broadcastShapes, broadcastStrides, numel } from '../shape.ts'
import type { AttentionOperands } from '../kernels/attention.ts'
import { kernels } from '../kernels/registry.ts'
import { Tensor, emptyTensor, scalarTensor } from '../tensor.ts'
import { where } from './elementwise.ts'
import { apply, type OpDef } from './op.ts'
import { rawCopy } from './view.ts'
import { dropout } from '../functional.ts'
import { arange } from '../creation.ts'
import type { Generator } from '../rng.ts'
import { profileState } from '../profile-state.ts'

export interface AttentionOptions {
  /** Bool (keep where true) or float (added to the scores), broadcastable to (..., L, S). */
  attnMask?: Tensor | null
  /** Keep only j <= i (top-left aligned). Not together with attnMask. */
  isCausal?: boolean
  /** Score scale; default 1 / sqrt(E). */
  scale?: number | null
  /** Dropout probability on the attention weights (composite path). Default 0. */
  dropoutP?: number
  /** Random source for dropout (default generator when absent). */
  generator?: Generator
}

interface AttentionArgs {
  /** Broadcast leading shape. */
  batch: number[]
  L: number
  S: number
  E: number
  Ev: number
  scale: number
  causal: boolean
  mask: Tensor | null
}

const OP = 'scaledDotProductAttention'

/** Validates the operands and options; returns the op arguments. */
function attentionArgs(op: string, q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionArgs {
  for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
    check(t instanceof Tensor, op, () => `${name} must be a Tensor`)
    check(t.ndim >= 2, op, () => `${name} must have at least 2 dims (..., rows, features), got shape ${fmtShape(t.shape)}`)
    check(isFloating(t.dtype), op, () => `${name} dtype ${t.dtype} is not floating point`)
  }
  check(q.dtype === k.dtype && q.dtype === v.dtype, op, () => `query, key and value must share a dtype, got ${q.dtype}, ${k.dtype} and ${v.dtype}`)
  const L = q.shape[q.ndim - 2], E = q.shape[q.ndim - 1], S = k.shape[k.ndim - 2], Ev = v.shape[v.ndim - 1]
  check(k.shape[k.ndim - 1] === E, op, () => `key feature size ${k.shape[k.ndim - 1]} (shape ${fmtShape(k.shape)}) does not match query's E = ${E} (shape ${fmtShape(q.shape)})`)
  check(v.shape[v.ndim - 2] === S, op, () => `value has ${v.shape[v.ndim - 2]} rows (shape ${fmtShape(v.shape)}) but key has S = ${S} (shape ${fmtShape(k.shape)})`)
  const batch = broadcastShapes(op, q.shape.slice(0, -2), k.shape.slice(0, -2), v.shape.slice(0, -2))
  const mask = opts.attnMask ?? null
  const causal = opts.isCausal ?? false
  check(typeof causal === 'boolean', op, () => `isCausal must be a boolean, got ${JSON.stringify(causal)}`)
  if (mask !== null) {
    check(mask instanceof Tensor, op, () => 'attnMask must be a Tensor or null')
    check(!causal, op, () => 'attnMask must not be given together with isCausal: true')
    check(mask.dtype === 'bool' || mask.dtype === q.dtype, op, () => `attnMask dtype ${mask.dtype} must be bool or match the query dtype ${q.dtype}`)
    const full = [...batch, L, S]
    const ok = mask.ndim <= full.length && mask.shape.every((d, i) => d === 1 || d === full[full.length - mask.ndim + i])
    check(ok, op, () => `attnMask of shape ${fmtShape(mask.shape)} does not broadcast to the score shape ${fmtShape(full)}`)
  }
  const scale = opts.scale ?? 1 / Math.sqrt(E)
  check(typeof scale === 'number' && !Number.isNaN(scale), op, () => `scale must be a number, got ${opts.scale}`)
  const p = opts.dropoutP ?? 0
  check(typeof p === 'number' && p >= 0 && p <= 1, op, () => `dropoutP must be in [0, 1], got ${p}`)
  return { batch, L, S, E, Ev, scale, causal, mask }
}

// ---------------------------------------------------------------- composite

/**
 * Scores (..., L, S) = scale q k^T + bias. As in PyTorch's math path, a bool or causal mask becomes
 * an additive bias (0 where kept, -inf where not) and every mask is added.
 * NOTE: adding (not `where`) matters only for a fully masked row: its softmax is NaN, and through an
 * add that NaN reaches the gradients of q (that row) and of all of k and v, as in PyTorch.
 */
function scores(q: Tensor, k: Tensor, a: AttentionArgs): Tensor {
  const s = q.matmul(k.mT).mul(a.scale)
  const zero = scalarTensor(0, s.dtype), negInf = scalarTensor(-Infinity, s.dtype)
  if (a.causal) return s.add(where(arange(a.S).unsqueeze(0).le(arange(a.L).unsqueeze(1)), zero, negInf))
  if (a.mask) return s.add(a.mask.dtype === 'bool' ? where(a.mask, zero, negInf) : a.mask)
  return s
}

/**
 * Attention from tensor ops, as in PyTorch's documented reference:
 *   out = dropout(softmax(scale q k^T + mask)) v.
 * Differentiable in q, k, v and a float mask; the oracle for the fused op.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html
 * @example
 *   const q = randn([2, 4, 5, 8]), k = randn([2, 4, 7, 8]), v = randn([2, 4, 7, 3])
 *   const out = scaledDotProductAttentionRef(q, k, v, { isCausal: true }) // (2, 4, 5, 3)
 */
export function scaledDotProductAttentionRef(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const a = attentionArgs('scaledDotProductAttentionRef', q, k, v, opts)
  let p = scores(q, k, a).softmax(-1)
  const dp = opts.dropoutP ?? 0
  if (dp > 0) p = dropout(p, dp, { generator: opts.generator })
  return p.matmul(v)
}

/** Gradients of the composite graph written out (differentiable again): for createGraph. */
function compositeGrads(q: Tensor, k: Tensor, v: Tensor, g: Tensor, a: AttentionArgs): Tensor[] {
  const p = scores(q, k, a).softmax(-1)
  const dv = p.mT.matmul(g)
  const dp = g.matmul(v.mT)
  const ds = p.mul(dp.sub(dp.mul(p).sum(-1, true)))
  return [ds.matmul(k).mul(a.scale), ds.mT.matmul(q).mul(a.scale), dv]
}

// ---------------------------------------------------------------- fused

/** x with its last two dims row-major (a copy when they are not), and the (B,) offsets of its blocks under `batch`. */
function blocks(x: Tensor, batch: number[]): [Tensor, number[]] {
  const rows = x.shape[x.ndim - 2], cols = x.shape[x.ndim - 1]
  const ok = (cols <= 1 || x.strides[x.ndim - 1] === 1) && (rows <= 1 || x.strides[x.ndim - 2] === cols)
  const c = ok ? x : rawCopy(x)
  return [c, batchOffsets(c.offset, broadcastStrides(c.shape.slice(0, -2), c.strides.slice(0, -2), batch), batch)]
}

/** offset + sum_d idx_d strides_d for every index of `batch`, in row-major order: (numel(batch),). */
function batchOffsets(offset: number, strides: number[], batch: number[]): number[] {
  let out = [offset]
  for (let d = 0; d < batch.length; d++) {
    const next: number[] = []
    for (const o of out) for (let i = 0; i < batch[d]; i++) next.push(o + i * strides[d])
    out = next
  }
  return out
}

function operands(q: Tensor, k: Tensor, v: Tensor, a: AttentionArgs): AttentionOperands {
  const [qc, qOff] = blocks(q, a.batch), [kc, kOff] = blocks(k, a.batch), [vc, vOff] = blocks(v, a.batch)
  let mask: TypedArray | null = null, maskOff: number[] = [], maskRs = 0, maskCs = 0
  if (a.mask) {
    const full = [...a.batch, a.L, a.S]
    const ms = broadcastStrides(a.mask.shape, a.mask.strides, full)
    mask = a.mask.storage
    maskOff = batchOffsets(a.mask.offset, ms.slice(0, -2), a.batch)
    maskRs = ms[ms.length - 2]
    maskCs = ms[ms.length - 1]
  }
  return {
    B: numel(a.batch), L: a.L, S: a.S, E: a.E, Ev: a.Ev, scale: a.scale, causal: a.causal,
    q: qc.storage, qOff, k: kc.storage, kOff, v: vc.storage, vOff,
    mask, maskOff, maskRs, maskCs, maskBool: a.mask?.dtype === 'bool',
  }
}

export const attentionOp: OpDef<AttentionArgs> = {
  name: OP,
  forward(ctx, [q, k, v], a) {
    const out = emptyTensor([...a.batch, a.L, a.Ev], q.dtype)
    const lse = emptyTensor([...a.batch, a.L], 'float64')
    if (profileState.counting > 0) profileState.macs += numel(a.batch) * a.L * a.S * (a.E + a.Ev) // QKᵀ and PV
    // NOTE: no keys (S = 0): softmax over an empty row is empty and out = P v is all zeros, as in
    // the composite; lse = log(0) = -Infinity.
    if (a.S === 0) lse.storage.fill(-Infinity)
    else kernels.attentionForward(out.storage, lse.storage as Float64Array, operands(q, k, v, a))
    ctx.save(q, k, v, out, lse, ...(a.mask ? [a.mask] : []))
    return out
  },
  backward(ctx, g, a) {
    const [q, k, v, out, lse] = ctx.saved
    if (isGradEnabled()) return compositeGrads(q, k, v, g, a)
    const dq = emptyTensor([...a.batch, a.L, a.E], q.dtype)
    const dk = emptyTensor([...a.batch, a.S, a.E], q.dtype)
    const dv = emptyTensor([...a.batch, a.S, a.Ev], q.dtype)
    if (a.S > 0) {
      const gd = g.isContiguous() && g.offset === 0 ? g : rawCopy(g)
      kernels.attentionBackward(dq.storage, dk.storage, dv.storage, gd.storage, out.storage, lse.storage as Float64Array, operands(q, k, v, a))
    }
    return [dq, dk, dv]
  },
}

/**
 * Scaled dot-product attention, PyTorch semantics:
 *   out = softmax(scale q k^T + mask) v,  scale = 1 / sqrt(E) by default,
 * fused (FlashAttention-2: online softmax over key tiles, saving the per-row logsumexp; the
 * backward recomputes score tiles), so no more than one 64 x 128 tile of scores exists at a time.
 * Rows that mask every key give NaN (as PyTorch's math path). See the file header for the paths
 * that use the composite instead (dropout, a float mask that requires grad, createGraph).
 * Reference: Dao 2023, https://arxiv.org/abs/2307.08691; PyTorch
 * https://pytorch.org/docs/stable/generated/torch.nn.functional.scaled_dot_product_attention.html
 * @example
 *   const q = randn([1, 8, 128, 64]), k = randn([1, 8, 128, 64]), v = randn([1, 8, 128, 64])
 *   const y = F.scaledDotProductAttention(q, k, v, { isCausal: true }) // (1, 8, 128, 64)
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const a = attentionArgs(OP, q, k, v, opts)
  const maskNeedsGrad = a.mask !== null && a.mask.requiresGrad && isGradEnabled()
  if ((opts.dropoutP ?? 0) > 0 || maskNeedsGrad) return scaledDotProductAttentionRef(q, k, v, opts)
  return apply(attentionOp, [q, k, v], a)
}

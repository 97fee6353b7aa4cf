/**
 * @file The selective scan (S6) primitive of Mamba (Gu & Dao 2023, https://arxiv.org/abs/2312.00752,
 * Algorithm 2, Eqns (2a), (2b), (4)) with its fused kernel backward, and a composite of tensor ops
 * (`selectiveScanComposite`) whose autograd is the oracle for the fused backward.
 *
 * Shapes: u, delta, z: (B, D, L); A: (D, N); Bm, Cm: (B, N, L) or grouped (B, G, N, L); D, deltaBias: (D,).
 * Output: (B, D, L) in u's dtype. The kernels compute in float64 and round once on store.
 */
import { check } from '../errors.ts'
import { fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { stack } from '../functional.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { zeros } from '../creation.ts'
import { apply, firstOrderOnly, type OpDef } from './op.ts'
import { selectiveScanRef as scanRefKernel, type ScanDims, type ScanExtras } from '../kernels/scan.ts'
import { kernels } from '../kernels/registry.ts'

export interface SelectiveScanOptions {
  /** Skip weight (D,). */
  D?: Tensor | null
  /** Gate (B, D, L): out = y silu(z). */
  z?: Tensor | null
  /** Added to delta before softplus, (D,). */
  deltaBias?: Tensor | null
  /** Apply softplus to delta + deltaBias (default false, as in Mamba's `delta_softplus`). */
  deltaSoftplus?: boolean
}

interface ScanArgs { dims: ScanDims; hasD: boolean; hasZ: boolean; hasBias: boolean; grouped: boolean; ref: boolean }

/** Splits the flat input list back into named buffers (inputs are contiguous here). */
function unpack(xs: Tensor[], a: ScanArgs): { u: Tensor; delta: Tensor; A: Tensor; B: Tensor; C: Tensor; ex: ScanExtras } {
  let k = 5
  const Dv = a.hasD ? xs[k++] : null
  const z = a.hasZ ? xs[k++] : null
  const bias = a.hasBias ? xs[k++] : null
  return { u: xs[0], delta: xs[1], A: xs[2], B: xs[3], C: xs[4], ex: { Dv: Dv?.storage ?? null, z: z?.storage ?? null, deltaBias: bias?.storage ?? null } }
}

export const selectiveScanOp: OpDef<ScanArgs> = {
  name: 'selectiveScan',
  forward(ctx, inputs, args) {
    const xs = inputs.map((t) => (t.isContiguous() && t.offset === 0 ? t : t.contiguous()))
    const { u, delta, A, B, C, ex } = unpack(xs, args)
    const out = emptyTensor(u.shape, u.dtype) // (B, D, L)
    ;(args.ref ? scanRefKernel : kernels.selectiveScan)(out.storage, u.storage, delta.storage, A.storage, B.storage, C.storage, ex, args.dims)
    ctx.save(...xs)
    return out
  },
  backward(ctx, grad, args) {
    firstOrderOnly('selectiveScan')
    const xs = ctx.saved
    const { u, delta, A, B, C, ex } = unpack(xs, args)
    const g = grad.contiguous().to('float64')
    const need = ctx.needsGrad
    const buf = (i: number): Tensor | null => (need[i] ? emptyTensor(xs[i].shape, 'float64') : null)
    const du = buf(0), ddelta = buf(1), dA = buf(2), dB = buf(3), dC = buf(4)
    let k = 5
    const dD = args.hasD ? buf(k++) : null
    const dz = args.hasZ ? buf(k++) : null
    const dbias = args.hasBias ? buf(k++) : null
    const s = (t: Tensor | null) => t?.storage ?? null
    kernels.selectiveScanBackward({ du: s(du), ddelta: s(ddelta), dA: s(dA), dB: s(dB), dC: s(dC), dD: s(dD), dz: s(dz), ddeltaBias: s(dbias) },
      g.storage, u.storage, delta.storage, A.storage, B.storage, C.storage, ex, args.dims)
    const out: (Tensor | null)[] = [du, ddelta, dA, dB, dC]
    if (args.hasD) out.push(dD)
    if (args.hasZ) out.push(dz)
    if (args.hasBias) out.push(dbias)
    return out
  },
}

function prepare(u: Tensor, delta: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor, o: SelectiveScanOptions, ref: boolean): [Tensor[], ScanArgs] {
  const op = 'selectiveScan'
  check(u.ndim === 3, op, () => `u must be (B, D, L), got ${fmtShape(u.shape)}`)
  const [Bt, D, L] = u.shape
  check(isFloating(u.dtype), op, () => `u must be floating point, got ${u.dtype}`)
  check(delta.ndim === 3 && delta.shape.every((s, i) => s === u.shape[i]), op, () => `delta must be ${fmtShape(u.shape)}, got ${fmtShape(delta.shape)}`)
  check(A.ndim === 2 && A.shape[0] === D, op, () => `A must be (D=${D}, N), got ${fmtShape(A.shape)}`)
  const N = A.shape[1]
  const grouped = Bm.ndim === 4
  const G = grouped ? Bm.shape[1] : 1
  const want = grouped ? [Bt, G, N, L] : [Bt, N, L]
  for (const [name, t] of [['B', Bm], ['C', Cm]] as const) {
    check(t.ndim === want.length && t.shape.every((s, i) => s === want[i]), op, () => `${name} must be ${fmtShape(want)} (B, [G,] N, L), got ${fmtShape(t.shape)}`)
  }
  check(D % G === 0, op, () => `D=${D} must be a multiple of the group count G=${G}`)
  const inputs = [u, delta, A, Bm, Cm]
  if (o.D) { check(o.D.ndim === 1 && o.D.shape[0] === D, op, () => `D must be (${D},), got ${fmtShape(o.D!.shape)}`); inputs.push(o.D) }
  if (o.z) { check(o.z.ndim === 3 && o.z.shape.every((s, i) => s === u.shape[i]), op, () => `z must be ${fmtShape(u.shape)}, got ${fmtShape(o.z!.shape)}`); inputs.push(o.z) }
  if (o.deltaBias) { check(o.deltaBias.ndim === 1 && o.deltaBias.shape[0] === D, op, () => `deltaBias must be (${D},), got ${fmtShape(o.deltaBias!.shape)}`); inputs.push(o.deltaBias) }
  const dims: ScanDims = { Bt, D, L, N, G, softplus: o.deltaSoftplus ?? false }
  return [inputs, { dims, hasD: !!o.D, hasZ: !!o.z, hasBias: !!o.deltaBias, grouped, ref }]
}

/**
 * Selective scan: h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t, y_t = C_t h_t + D u_t, out = y silu(z),
 * with Δ = softplus(delta + deltaBias) when `deltaSoftplus`. Fused kernel with a fused backward.
 * Reference: https://arxiv.org/abs/2312.00752 (Algorithm 2)
 * @example
 *   const y = selectiveScan(u, delta, A, B, C, {D, deltaSoftplus: true}) // (B, D, L)
 */
export function selectiveScan(u: Tensor, delta: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor, opts: SelectiveScanOptions = {}): Tensor {
  const [inputs, args] = prepare(u, delta, A, Bm, Cm, opts, false)
  return apply(selectiveScanOp, inputs, args)
}

/** The same op running the plain `selectiveScanRef` loop forward (backward is the fused one). */
export function selectiveScanRef(u: Tensor, delta: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor, opts: SelectiveScanOptions = {}): Tensor {
  const [inputs, args] = prepare(u, delta, A, Bm, Cm, opts, true)
  return apply(selectiveScanOp, inputs, args)
}

/**
 * The scan written with tensor ops only (one op chain per time step), so autograd differentiates it:
 * the oracle for the fused backward. O(L) graph nodes; use small L.
 */
export function selectiveScanComposite(u: Tensor, delta: Tensor, A: Tensor, Bm: Tensor, Cm: Tensor, opts: SelectiveScanOptions = {}): Tensor {
  prepare(u, delta, A, Bm, Cm, opts, true)
  const [Bt, D, L] = u.shape
  const N = A.shape[1]
  const perGroup = (m: Tensor): Tensor => {
    if (m.ndim === 3) return m.unsqueeze(1) // (B, 1, N, L)
    const G = m.shape[1]
    return m.unsqueeze(2).expand([Bt, G, D / G, N, L]).reshape([Bt, D, N, L]) // (B, D, N, L)
  }
  const Bx = perGroup(Bm), Cx = perGroup(Cm)
  let pre = opts.deltaBias ? delta.add(opts.deltaBias.unsqueeze(1)) : delta // (B, D, L)
  if (opts.deltaSoftplus) pre = pre.softplus()
  let h: Tensor = zeros([Bt, D, N], { dtype: u.dtype }) // (B, D, N)
  const ys: Tensor[] = []
  for (let t = 0; t < L; t++) {
    const dt = pre.select(2, t).unsqueeze(2) // (B, D, 1)
    const ut = u.select(2, t).unsqueeze(2) // (B, D, 1)
    h = dt.mul(A).exp().mul(h).add(dt.mul(ut).mul(Bx.select(3, t))) // Eqn (2a)
    ys.push(h.mul(Cx.select(3, t)).sum(2)) // Eqn (2b): (B, D)
  }
  let y = stack(ys, 2) // (B, D, L)
  if (opts.D) y = y.add(u.mul(opts.D.unsqueeze(1)))
  if (opts.z) y = y.mul(opts.z.silu())
  return y
}

/**
 * @file Sparse x dense products over the delta-CSR format of `./sparse.ts`, channel-major (CHW):
 *   Eqn (sheet 27): Y[n, co, p] = clamp(b[co] + sum_{k in nz(co)} W[co, k] X[n, k, p], min, max)
 * for X (N, K, P) with P = H W pixels, Y (N, Cout, P); plus the two adjoints autograd needs,
 *   dX[n, k, p] += sum_co W[co, k] dY[n, co, p]             (spmmTransposed, A^T dY)
 *   dV[s] = keep[s] sum_{n, p} dY[n, co, p] X[n, k, p]        (sddmm, sampled at the packed slots).
 * Elsen et al. 2020 "Fast Sparse ConvNets" (https://arxiv.org/abs/1911.09723) and the XNNPACK
 * `xnn_f32_spmm_minmax_ukernel_8x1__scalar` loop order: pixel tiles of MR outermost, then output
 * blocks, then the block's nonzeros; one weight scalar multiplies a contiguous strip of MR pixels
 * and the input pointer walks the pre-scaled `inputDeltas`. Work is nnz * nr * P multiply-adds.
 *
 * `spmmRef` is the obvious loop over the nonzeros (it uses `inputIndex`, not the deltas). `spmm`
 * adds up each output in the same order (bias, then nonzeros by increasing k) in float64 and rounds
 * once on store, so it is bitwise equal to `spmmRef`.
 * All arrays are contiguous: x at xOff, y at 0; values (nnz, nr) as packed; bias (Cout,) or null.
 */
import type { TypedArray } from '../dtype.ts'
import type { SparsePattern } from './sparse.ts'

type Arr = TypedArray

export interface SpmmArgs {
  N: number
  /** Pixels per channel row (H W). */
  P: number
  /** Clamp bounds (fused activation, e.g. 0 and 6 for ReLU6); -Infinity / Infinity for none. */
  min: number
  max: number
}

const clamp = (a: number, lo: number, hi: number): number => (a < lo ? lo : a > hi ? hi : a)

/** Y (N, Cout, P) = clamp(bias + W X): one output at a time. */
export function spmmRef(y: Arr, x: Arr, xOff: number, s: SparsePattern, v: Arr, bias: Arr | null, g: SpmmArgs): void {
  const { N, P, min, max } = g
  const { Cout, K, nr } = s
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      const b = Math.floor(co / nr), r = co % nr
      for (let p = 0; p < P; p++) {
        let acc = bias ? bias[co] : 0
        for (let j = s.blockStart[b]; j < s.blockStart[b + 1]; j++) acc += v[j * nr + r] * x[xOff + (n * K + s.inputIndex[j]) * P + p]
        y[(n * Cout + co) * P + p] = clamp(acc, min, max)
      }
    }
  }
}

/** Pixels [p0, p1) of blocks [b0, b1), one output at a time (tails and a last partial block). */
function pixelsGeneric(y: Arr, yb: number, x: Arr, xb: number, s: SparsePattern, v: Arr, bias: Arr | null, g: SpmmArgs, p0: number, p1: number, b0: number, b1: number): void {
  const { P, min, max } = g
  const { nr, Cout } = s
  for (let b = b0; b < b1; b++) {
    const rows = Math.min(nr, Cout - b * nr), j0 = s.blockStart[b], j1 = s.blockStart[b + 1]
    for (let r = 0; r < rows; r++) {
      const co = b * nr + r
      for (let p = p0; p < p1; p++) {
        let acc = bias ? bias[co] : 0
        for (let j = j0; j < j1; j++) acc += v[j * nr + r] * x[xb + s.inputIndex[j] * P + p]
        y[yb + co * P + p] = clamp(acc, min, max)
      }
    }
  }
}

let scaled = new Int32Array(0) // (nnz,) inputDeltas * P, reused across calls

/** Tuned Y (N, Cout, P) = clamp(bias + W X); bitwise equal to `spmmRef`. */
export function spmm(y: Arr, x: Arr, xOff: number, s: SparsePattern, v: Arr, bias: Arr | null, g: SpmmArgs): void {
  const { N, P } = g
  const { K, Cout, nr, nnz } = s
  if (scaled.length < nnz) scaled = new Int32Array(nnz)
  const d = scaled
  for (let j = 0; j < nnz; j++) d[j] = s.inputDeltas[j] * P
  const MR = nr === 4 ? 4 : 8
  const full = Math.floor(Cout / nr) // blocks with all nr rows
  const first = nnz > 0 ? s.inputIndex[0] : 0
  for (let n = 0; n < N; n++) {
    const xb = xOff + n * K * P, yb = n * Cout * P
    let p = 0
    for (; p + MR <= P; p += MR) {
      const xp = xb + first * P + p
      if (nr === 1) tile1x8(y, yb + p, x, xp, s, v, bias, d, g, full)
      else if (nr === 2) tile2x8(y, yb + p, x, xp, s, v, bias, d, g, full)
      else tile4x4(y, yb + p, x, xp, s, v, bias, d, g, full)
      if (full < s.nBlocks) pixelsGeneric(y, yb, x, xb, s, v, bias, g, p, p + MR, full, s.nBlocks)
    }
    if (p < P) pixelsGeneric(y, yb, x, xb, s, v, bias, g, p, P, 0, s.nBlocks)
  }
}

// The three micro-kernels below share one shape: for each full block, accumulators start at the
// bias, each nonzero j loads one strip of input and nr weights, the pointer moves by d[j] (the
// pointer returns to the tile start after the last nonzero thanks to the rewind delta).

/** nr = 1, MR = 8: output (1, 8) per block. */
function tile1x8(y: Arr, yo: number, x: Arr, xp0: number, s: SparsePattern, v: Arr, bias: Arr | null, d: Int32Array, g: SpmmArgs, full: number): void {
  const { P, min, max } = g
  const nnzb = s.nnzPerBlock
  let xp = xp0, j = 0
  for (let b = 0; b < full; b++) {
    const bv = bias ? bias[b] : 0
    let a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv
    for (let k = nnzb[b]; k > 0; k--, j++) {
      const w = v[j]
      a0 += w * x[xp]; a1 += w * x[xp + 1]; a2 += w * x[xp + 2]; a3 += w * x[xp + 3]
      a4 += w * x[xp + 4]; a5 += w * x[xp + 5]; a6 += w * x[xp + 6]; a7 += w * x[xp + 7]
      xp += d[j]
    }
    const o = yo + b * P
    y[o] = clamp(a0, min, max); y[o + 1] = clamp(a1, min, max); y[o + 2] = clamp(a2, min, max); y[o + 3] = clamp(a3, min, max)
    y[o + 4] = clamp(a4, min, max); y[o + 5] = clamp(a5, min, max); y[o + 6] = clamp(a6, min, max); y[o + 7] = clamp(a7, min, max)
  }
}

/** nr = 2, MR = 8: output (2, 8) per block, each input load used twice. */
function tile2x8(y: Arr, yo: number, x: Arr, xp0: number, s: SparsePattern, v: Arr, bias: Arr | null, d: Int32Array, g: SpmmArgs, full: number): void {
  const { P, min, max } = g
  const nnzb = s.nnzPerBlock
  let xp = xp0, j = 0
  for (let b = 0; b < full; b++) {
    const c0 = bias ? bias[2 * b] : 0, c1 = bias ? bias[2 * b + 1] : 0
    let a0 = c0, a1 = c0, a2 = c0, a3 = c0, a4 = c0, a5 = c0, a6 = c0, a7 = c0
    let e0 = c1, e1 = c1, e2 = c1, e3 = c1, e4 = c1, e5 = c1, e6 = c1, e7 = c1
    for (let k = nnzb[b]; k > 0; k--, j++) {
      const w = v[2 * j], u = v[2 * j + 1]
      const x0 = x[xp], x1 = x[xp + 1], x2 = x[xp + 2], x3 = x[xp + 3], x4 = x[xp + 4], x5 = x[xp + 5], x6 = x[xp + 6], x7 = x[xp + 7]
      a0 += w * x0; a1 += w * x1; a2 += w * x2; a3 += w * x3; a4 += w * x4; a5 += w * x5; a6 += w * x6; a7 += w * x7
      e0 += u * x0; e1 += u * x1; e2 += u * x2; e3 += u * x3; e4 += u * x4; e5 += u * x5; e6 += u * x6; e7 += u * x7
      xp += d[j]
    }
    const o = yo + 2 * b * P, q = o + P
    y[o] = clamp(a0, min, max); y[o + 1] = clamp(a1, min, max); y[o + 2] = clamp(a2, min, max); y[o + 3] = clamp(a3, min, max)
    y[o + 4] = clamp(a4, min, max); y[o + 5] = clamp(a5, min, max); y[o + 6] = clamp(a6, min, max); y[o + 7] = clamp(a7, min, max)
    y[q] = clamp(e0, min, max); y[q + 1] = clamp(e1, min, max); y[q + 2] = clamp(e2, min, max); y[q + 3] = clamp(e3, min, max)
    y[q + 4] = clamp(e4, min, max); y[q + 5] = clamp(e5, min, max); y[q + 6] = clamp(e6, min, max); y[q + 7] = clamp(e7, min, max)
  }
}

/** nr = 4, MR = 4: output (4, 4) per block (16 accumulators, what V8 keeps in registers). */
function tile4x4(y: Arr, yo: number, x: Arr, xp0: number, s: SparsePattern, v: Arr, bias: Arr | null, d: Int32Array, g: SpmmArgs, full: number): void {
  const { P, min, max } = g
  const nnzb = s.nnzPerBlock
  let xp = xp0, j = 0
  for (let b = 0; b < full; b++) {
    const c0 = bias ? bias[4 * b] : 0, c1 = bias ? bias[4 * b + 1] : 0, c2 = bias ? bias[4 * b + 2] : 0, c3 = bias ? bias[4 * b + 3] : 0
    let a0 = c0, a1 = c0, a2 = c0, a3 = c0, e0 = c1, e1 = c1, e2 = c1, e3 = c1
    let f0 = c2, f1 = c2, f2 = c2, f3 = c2, h0 = c3, h1 = c3, h2 = c3, h3 = c3
    for (let k = nnzb[b]; k > 0; k--, j++) {
      const q = 4 * j
      const w0 = v[q], w1 = v[q + 1], w2 = v[q + 2], w3 = v[q + 3]
      const x0 = x[xp], x1 = x[xp + 1], x2 = x[xp + 2], x3 = x[xp + 3]
      a0 += w0 * x0; a1 += w0 * x1; a2 += w0 * x2; a3 += w0 * x3
      e0 += w1 * x0; e1 += w1 * x1; e2 += w1 * x2; e3 += w1 * x3
      f0 += w2 * x0; f1 += w2 * x1; f2 += w2 * x2; f3 += w2 * x3
      h0 += w3 * x0; h1 += w3 * x1; h2 += w3 * x2; h3 += w3 * x3
      xp += d[j]
    }
    const o0 = yo + 4 * b * P, o1 = o0 + P, o2 = o1 + P, o3 = o2 + P
    y[o0] = clamp(a0, min, max); y[o0 + 1] = clamp(a1, min, max); y[o0 + 2] = clamp(a2, min, max); y[o0 + 3] = clamp(a3, min, max)
    y[o1] = clamp(e0, min, max); y[o1 + 1] = clamp(e1, min, max); y[o1 + 2] = clamp(e2, min, max); y[o1 + 3] = clamp(e3, min, max)
    y[o2] = clamp(f0, min, max); y[o2 + 1] = clamp(f1, min, max); y[o2 + 2] = clamp(f2, min, max); y[o2 + 3] = clamp(f3, min, max)
    y[o3] = clamp(h0, min, max); y[o3 + 1] = clamp(h1, min, max); y[o3 + 2] = clamp(h2, min, max); y[o3 + 3] = clamp(h3, min, max)
  }
}

/**
 * dX (N, K, P) = W^T dY for dY (N, Cout, P) at dyOff: dX is zeroed, then each nonzero adds one
 * AXPY strip dX[k, :] += W[co, k] dY[co, :] (in block, column, row order; rounds per add in dX's dtype).
 */
export function spmmTransposed(dx: Arr, dy: Arr, dyOff: number, s: SparsePattern, v: Arr, N: number, P: number): void {
  const { K, Cout, nr } = s
  dx.fill(0)
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < s.nBlocks; b++) {
      const rows = Math.min(nr, Cout - b * nr)
      for (let j = s.blockStart[b]; j < s.blockStart[b + 1]; j++) {
        const xo = (n * K + s.inputIndex[j]) * P
        for (let r = 0; r < rows; r++) {
          const w = v[j * nr + r]
          if (w === 0) continue
          const yo = dyOff + (n * Cout + b * nr + r) * P
          for (let p = 0; p < P; p++) dx[xo + p] += w * dy[yo + p]
        }
      }
    }
  }
}

/** dV (nnz nr,) = keep * sum_{n,p} dY[n, co, p] X[n, k, p] at each packed slot (0 for padding rows). */
export function sddmm(dv: Arr, dy: Arr, dyOff: number, x: Arr, xOff: number, s: SparsePattern, N: number, P: number): void {
  const { K, Cout, nr } = s
  dv.fill(0)
  for (let b = 0; b < s.nBlocks; b++) {
    const rows = Math.min(nr, Cout - b * nr)
    for (let j = s.blockStart[b]; j < s.blockStart[b + 1]; j++) {
      for (let r = 0; r < rows; r++) {
        const q = j * nr + r
        if (s.keep && !s.keep[q]) continue
        let acc = 0
        for (let n = 0; n < N; n++) {
          const xo = xOff + (n * K + s.inputIndex[j]) * P, yo = dyOff + (n * Cout + b * nr + r) * P
          for (let p = 0; p < P; p++) acc += dy[yo + p] * x[xo + p]
        }
        dv[q] = acc
      }
    }
  }
}

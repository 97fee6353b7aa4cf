/**
 * @file Banded (sliding-window) attention with optional global tokens, after Longformer (Beltagy et
 * al. 2020, https://arxiv.org/abs/2004.05150, Sec. 3.1), forward and backward, beside the plain
 * `...Ref` oracles. Used by sheet 59 (BudgetLongformer, https://arxiv.org/abs/2211.17135).
 *
 * Shapes, per batch element b < B (batch and heads flattened by the caller): q (L, E), k (L, E),
 * v (L, Ev), out (L, Ev), lse (L,), contiguous row-major blocks at b * L * E (or b * L * Ev).
 * Global tokens: `glob` (G, L) of 0/1, row floor(b / gDiv) applies to batch element b (so heads of one
 * sequence share it); `glob` null means none.
 *
 *   allowed(i, j) = |i - j| <= w  or  glob[i]  or  glob[j]
 *   s_ij = scale q_i . k_j over allowed j,  P = softmax_j(s),  out = P v,  lse_i = log sum_j e^{s_ij}
 *
 * Each row has at least its own key (|i - i| = 0 <= w), so no row is fully masked.
 * The oracles scan every (i, j) and test `allowed` (O(L^2 E)); the tuned kernels score tiles of BR
 * query rows against their BR + 2w band keys with the packed GEMM, plus a local row's global keys
 * outside its tile, and every key of a global row: O(L (BR + 2w + G) E + G L E) work and
 * O(BR (BR + 2w) + L) scratch. Every kernel returns the number of scores it computed (the oracles:
 * allowed pairs; the tuned ones: tile entries too), so tests check the linear scaling by counting
 * work, not time.
 */
import type { TypedArray } from '../dtype.ts'
import { gemm } from './gemm.ts'

type Arr = TypedArray

export interface BandedOperands {
  B: number
  L: number
  E: number
  Ev: number
  /** Window each side: j in [i - w, i + w]. */
  w: number
  scale: number
  q: Arr // (B, L, E)
  k: Arr // (B, L, E)
  v: Arr // (B, L, Ev)
  /** (G, L) 0/1 global flags, or null. */
  glob: Uint8Array | null
  /** Batch elements per row of `glob` (e.g. the number of heads). */
  gDiv: number
}

const isGlobal = (a: BandedOperands, b: number, i: number): boolean => a.glob !== null && a.glob[Math.floor(b / a.gDiv) * a.L + i] !== 0

/** allowed(i, j) for batch element b. */
export function bandedAllowed(a: BandedOperands, b: number, i: number, j: number): boolean {
  return Math.abs(i - j) <= a.w || isGlobal(a, b, i) || isGlobal(a, b, j)
}

// ---------------------------------------------------------------- oracles

/** out (B, L, Ev), lse (B, L): every (i, j) scored and masked, then softmax and P v. Returns pairs scored. */
export function bandedAttentionRef(out: Arr, lse: Float64Array, a: BandedOperands): number {
  const { B, L, E, Ev, q, k, v } = a
  const s = new Float64Array(L) // (L,) one score row
  let pairs = 0
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      let m = -Infinity
      for (let j = 0; j < L; j++) {
        if (!bandedAllowed(a, b, i, j)) { s[j] = -Infinity; continue }
        let dot = 0
        for (let e = 0; e < E; e++) dot += q[(b * L + i) * E + e] * k[(b * L + j) * E + e]
        s[j] = dot * a.scale
        pairs++
        if (s[j] > m) m = s[j]
      }
      let sum = 0
      for (let j = 0; j < L; j++) { s[j] = Math.exp(s[j] - m); sum += s[j] }
      for (let e = 0; e < Ev; e++) {
        let acc = 0
        for (let j = 0; j < L; j++) acc += s[j] * v[(b * L + j) * Ev + e]
        out[(b * L + i) * Ev + e] = acc / sum
      }
      lse[b * L + i] = m + Math.log(sum)
    }
  }
  return pairs
}

/**
 * dq, dk (B, L, E), dv (B, L, Ev) from dout (B, L, Ev) and the forward's out and lse:
 *   P = e^{s - lse} on allowed pairs, dv = P^T dout, dP = dout v^T, dS = P (dP - rowsum(dout * out)),
 *   dq = scale dS k, dk = scale dS^T q. Returns pairs scored.
 */
export function bandedAttentionBackwardRef(dq: Arr, dk: Arr, dv: Arr, dout: Arr, out: Arr, lse: Float64Array, a: BandedOperands): number {
  const { B, L, E, Ev, q, k, v } = a
  dq.fill(0); dk.fill(0); dv.fill(0)
  let pairs = 0
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      const r = b * L + i
      let D = 0
      for (let e = 0; e < Ev; e++) D += dout[r * Ev + e] * out[r * Ev + e]
      for (let j = 0; j < L; j++) {
        if (!bandedAllowed(a, b, i, j)) continue
        const c = b * L + j
        let dot = 0, dp = 0
        for (let e = 0; e < E; e++) dot += q[r * E + e] * k[c * E + e]
        for (let e = 0; e < Ev; e++) dp += dout[r * Ev + e] * v[c * Ev + e]
        const p = Math.exp(dot * a.scale - lse[r]), ds = p * (dp - D) * a.scale
        pairs++
        for (let e = 0; e < Ev; e++) dv[c * Ev + e] += p * dout[r * Ev + e]
        for (let e = 0; e < E; e++) { dq[r * E + e] += ds * k[c * E + e]; dk[c * E + e] += ds * q[r * E + e] }
      }
    }
  }
  return pairs
}

// ---------------------------------------------------------------- tuned

/**
 * Query rows per tile. A tile of BR local rows [i0, i0 + BR) needs the keys [i0 - w, i0 + BR - 1 + w]:
 * one (BR, BR + 2w) score tile through the packed GEMM, masked to the band, so the work per row is
 * (BR + 2w) E instead of (2w + 1) E, in exchange for the GEMM micro-kernel's rate (Longformer's
 * "sliding chunks" idea). Global rows take the per-row path over all L keys.
 */
const BR = 32

/** Sorted global positions of each row of `glob`: (G,) lists. */
function globalLists(a: BandedOperands): Int32Array[] {
  const G = a.glob ? a.glob.length / a.L : 1
  const lists: Int32Array[] = []
  for (let g = 0; g < G; g++) {
    const idx: number[] = []
    if (a.glob) for (let j = 0; j < a.L; j++) if (a.glob[g * a.L + j] !== 0) idx.push(j)
    lists.push(Int32Array.from(idx))
  }
  return lists
}

interface Scratch {
  s: Float64Array // (BR, BR + 2w) scores, then P
  t: Float64Array // (BR, BR + 2w) dP, then dS
  o: Float64Array // (max(BR + 2w, BR), max(E, Ev)) one tile product
  keep: Uint8Array // (L,) global flags of the current batch row
  row: Float64Array // (L,) one global row's scores
}

function scratch(a: BandedOperands): Scratch {
  const nk = Math.min(a.L, BR + 2 * a.w)
  return {
    s: new Float64Array(BR * nk), t: new Float64Array(BR * nk), o: new Float64Array(Math.max(nk, BR) * Math.max(a.E, a.Ev)),
    keep: new Uint8Array(a.L), row: new Float64Array(a.L),
  }
}

/** The tile's key range [klo, klo + nk) for rows [i0, i0 + br). */
function keyRange(a: BandedOperands, i0: number, br: number): [number, number] {
  const klo = Math.max(0, i0 - a.w), khi = Math.min(a.L - 1, i0 + br - 1 + a.w)
  return [klo, khi - klo + 1]
}

/** s (br, nk) = scale Q[i0..] K[klo..]^T, then -Infinity where (i, j) is not allowed or row i is global. */
function scoreTile(a: BandedOperands, sc: Scratch, b: number, i0: number, br: number, klo: number, nk: number): void {
  const { L, E, w, scale } = a, s = sc.s
  gemm({ M: br, N: nk, K: E, a: a.q, aOff: (b * L + i0) * E, aRs: E, aCs: 1, b: a.k, bOff: (b * L + klo) * E, bRs: 1, bCs: E, c: s, cOff: 0 })
  for (let r = 0; r < br; r++) {
    const i = i0 + r, row = r * nk
    if (sc.keep[i]) { s.fill(-Infinity, row, row + nk); continue }
    for (let c = 0; c < nk; c++) {
      const j = klo + c
      s[row + c] = (j - i <= w && i - j <= w) || sc.keep[j] ? s[row + c] * scale : -Infinity
    }
  }
}

/** scale q_i . k_j. */
function dotScaled(a: BandedOperands, b: number, i: number, j: number): number {
  const { L, E } = a
  let dot = 0
  for (let e = 0, qo = (b * L + i) * E, ko = (b * L + j) * E; e < E; e++) dot += a.q[qo + e] * a.k[ko + e]
  return dot * a.scale
}

/**
 * Tuned forward: out (B, L, Ev), lse (B, L). Local rows by (BR, BR + 2w) GEMM tiles plus their
 * global keys outside the tile; global rows by the per-row loop over all L keys.
 * Returns the number of scores computed (tile entries included): affine in L for fixed w and G.
 */
export function bandedAttentionForward(out: Arr, lse: Float64Array, a: BandedOperands): number {
  const { B, L, Ev, v } = a
  const lists = globalLists(a), sc = scratch(a), s = sc.s, o = sc.o
  let work = 0
  for (let b = 0; b < B; b++) {
    const gl = lists[a.glob ? Math.floor(b / a.gDiv) : 0]
    sc.keep.fill(0); for (const j of gl) sc.keep[j] = 1
    for (let i0 = 0; i0 < L; i0 += BR) {
      const br = Math.min(BR, L - i0), [klo, nk] = keyRange(a, i0, br)
      scoreTile(a, sc, b, i0, br, klo, nk)
      work += br * nk
      for (let r = 0; r < br; r++) {
        const i = i0 + r, row = r * nk
        if (sc.keep[i]) { s.fill(0, row, row + nk); continue }
        let m = -Infinity
        for (let c = 0; c < nk; c++) if (s[row + c] > m) m = s[row + c]
        let extra = 0
        for (const j of gl) if (j < klo || j >= klo + nk) { const x = dotScaled(a, b, i, j); sc.row[extra++] = x; if (x > m) m = x }
        work += extra
        let sum = 0
        for (let c = 0; c < nk; c++) { const p = Math.exp(s[row + c] - m); s[row + c] = p; sum += p }
        for (let t = 0; t < extra; t++) { const p = Math.exp(sc.row[t] - m); sc.row[t] = p; sum += p }
        for (let c = 0; c < nk; c++) s[row + c] /= sum
        for (let t = 0; t < extra; t++) sc.row[t] /= sum
        lse[b * L + i] = m + Math.log(sum)
        // global keys outside the tile: their P v rows, added after the tile product below
        const oo = (b * L + i) * Ev
        for (let e = 0; e < Ev; e++) out[oo + e] = 0
        let t = 0
        for (const j of gl) if (j < klo || j >= klo + nk) { const p = sc.row[t++], vo = (b * L + j) * Ev; for (let e = 0; e < Ev; e++) out[oo + e] += p * v[vo + e] }
      }
      // out rows += P (br, nk) V[klo..] (nk, Ev)
      gemm({ M: br, N: Ev, K: nk, a: s, aOff: 0, aRs: nk, aCs: 1, b: v, bOff: (b * L + klo) * Ev, bRs: Ev, bCs: 1, c: o, cOff: 0 })
      for (let r = 0; r < br; r++) {
        if (sc.keep[i0 + r]) continue
        const oo = (b * L + i0 + r) * Ev
        for (let e = 0; e < Ev; e++) out[oo + e] += o[r * Ev + e]
      }
    }
    for (const i of gl) work += globalRowForward(out, lse, a, sc, b, i)
  }
  return work
}

/** A global row: softmax over all L keys. Returns L. */
function globalRowForward(out: Arr, lse: Float64Array, a: BandedOperands, sc: Scratch, b: number, i: number): number {
  const { L, Ev, v } = a, s = sc.row
  let m = -Infinity
  for (let j = 0; j < L; j++) { s[j] = dotScaled(a, b, i, j); if (s[j] > m) m = s[j] }
  let sum = 0
  for (let j = 0; j < L; j++) { s[j] = Math.exp(s[j] - m); sum += s[j] }
  const oo = (b * L + i) * Ev
  for (let e = 0; e < Ev; e++) {
    let acc = 0
    for (let j = 0; j < L; j++) acc += s[j] * v[(b * L + j) * Ev + e]
    out[oo + e] = acc / sum
  }
  lse[b * L + i] = m + Math.log(sum)
  return L
}

/** dS of pair (i, j) from p: accumulates dq_i, dk_j, dv_j (the per-pair path for global rows and columns). */
function pairBackward(dq: Arr, dk: Arr, dv: Arr, dout: Arr, a: BandedOperands, b: number, i: number, j: number, p: number, D: number): void {
  const { L, E, Ev, q, k, v, scale } = a
  const r = b * L + i, c = b * L + j
  let dp = 0
  for (let e = 0; e < Ev; e++) dp += dout[r * Ev + e] * v[c * Ev + e]
  const ds = p * (dp - D) * scale
  for (let e = 0; e < Ev; e++) dv[c * Ev + e] += p * dout[r * Ev + e]
  for (let e = 0; e < E; e++) { dq[r * E + e] += ds * k[c * E + e]; dk[c * E + e] += ds * q[r * E + e] }
}

/**
 * Tuned backward: dq, dk (B, L, E), dv (B, L, Ev). Per tile: P from the recomputed scores and lse,
 * dP = dout V^T, dS = P (dP - rowsum(dout * out)) scale, dq = dS K, dk += dS^T Q, dv += P^T dout
 * (four GEMMs); global rows and local rows' out-of-tile global keys by the per-pair path.
 * Returns the number of scores computed, as the forward.
 */
export function bandedAttentionBackward(dq: Arr, dk: Arr, dv: Arr, dout: Arr, out: Arr, lse: Float64Array, a: BandedOperands): number {
  const { B, L, E, Ev, q, k } = a
  const lists = globalLists(a), sc = scratch(a), s = sc.s, t = sc.t, o = sc.o
  dq.fill(0); dk.fill(0); dv.fill(0)
  let work = 0
  const rowD = (r: number): number => { let D = 0; for (let e = 0; e < Ev; e++) D += dout[r * Ev + e] * out[r * Ev + e]; return D }
  for (let b = 0; b < B; b++) {
    const gl = lists[a.glob ? Math.floor(b / a.gDiv) : 0]
    sc.keep.fill(0); for (const j of gl) sc.keep[j] = 1
    for (let i0 = 0; i0 < L; i0 += BR) {
      const br = Math.min(BR, L - i0), [klo, nk] = keyRange(a, i0, br)
      scoreTile(a, sc, b, i0, br, klo, nk)
      work += br * nk
      for (let r = 0; r < br; r++) { const li = lse[b * L + i0 + r]; for (let c = r * nk, end = c + nk; c < end; c++) s[c] = Math.exp(s[c] - li) } // P
      gemm({ M: br, N: nk, K: Ev, a: dout, aOff: (b * L + i0) * Ev, aRs: Ev, aCs: 1, b: a.v, bOff: (b * L + klo) * Ev, bRs: 1, bCs: Ev, c: t, cOff: 0 }) // dP
      for (let r = 0; r < br; r++) {
        const D = rowD(b * L + i0 + r)
        for (let c = r * nk, end = c + nk; c < end; c++) t[c] = s[c] * (t[c] - D) * a.scale // dS
      }
      gemm({ M: br, N: E, K: nk, a: t, aOff: 0, aRs: nk, aCs: 1, b: k, bOff: (b * L + klo) * E, bRs: E, bCs: 1, c: o, cOff: 0 }) // dq rows
      for (let r = 0; r < br; r++) for (let e = 0, d = (b * L + i0 + r) * E; e < E; e++) dq[d + e] += o[r * E + e]
      gemm({ M: nk, N: E, K: br, a: t, aOff: 0, aRs: 1, aCs: nk, b: q, bOff: (b * L + i0) * E, bRs: E, bCs: 1, c: o, cOff: 0 }) // dk rows
      for (let c = 0; c < nk; c++) for (let e = 0, d = (b * L + klo + c) * E; e < E; e++) dk[d + e] += o[c * E + e]
      gemm({ M: nk, N: Ev, K: br, a: s, aOff: 0, aRs: 1, aCs: nk, b: dout, bOff: (b * L + i0) * Ev, bRs: Ev, bCs: 1, c: o, cOff: 0 }) // dv rows
      for (let c = 0; c < nk; c++) for (let e = 0, d = (b * L + klo + c) * Ev; e < Ev; e++) dv[d + e] += o[c * Ev + e]
      for (let r = 0; r < br; r++) { // local rows' global keys outside the tile
        const i = i0 + r
        if (sc.keep[i]) continue
        const D = rowD(b * L + i), li = lse[b * L + i]
        for (const j of gl) if (j < klo || j >= klo + nk) { pairBackward(dq, dk, dv, dout, a, b, i, j, Math.exp(dotScaled(a, b, i, j) - li), D); work++ }
      }
    }
    for (const i of gl) {
      const D = rowD(b * L + i), li = lse[b * L + i]
      for (let j = 0; j < L; j++) pairBackward(dq, dk, dv, dout, a, b, i, j, Math.exp(dotScaled(a, b, i, j) - li), D)
      work += L
    }
  }
  return work
}

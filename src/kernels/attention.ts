/**
 * @file Fused scaled dot-product attention, forward and backward, after FlashAttention-2 (Dao 2023,
 * https://arxiv.org/abs/2307.08691, Algorithms 1 and 2), beside the plain `...Ref` oracles.
 *
 * Shapes, per batch element b < B (leading dims flattened, broadcast by the caller through
 * per-batch offsets): q (L, E), k (S, E), v (S, Ev), out (L, Ev), lse (L,), each a contiguous
 * row-major block at its offset. The mask, when present, is read at
 * maskOff[b] + i * maskRs + j * maskCs (strides may be 0: broadcast); a bool mask keeps (i, j)
 * where nonzero, a float mask is added to the score. Causal keeps j <= i (top-left aligned).
 *
 *   s_ij = scale q_i . k_j (+ mask),  P = softmax_j(s),  out = P v,  lse_i = log sum_j e^{s_ij}
 *
 * The tuned kernels never hold more than one BR x BC tile of scores: the forward keeps a running
 * max m and sum l per query row (online softmax) and rescales its accumulator when m grows; the
 * backward recomputes each score tile from q, k and the saved lse. Tile products go through the
 * packed GEMM (`gemm`, bitwise equal to gemmRef), scores and statistics are float64.
 *
 * NOTE: a row whose scores are all -Infinity (fully masked) has l = 0: out = 0/0 = NaN and lse =
 * -Infinity, as PyTorch's math path gives. Its backward P = e^{-inf - (-inf)} is NaN too, so dq of
 * that row and all of dk and dv of that batch element are NaN, as in PyTorch (whose math path adds
 * bool and causal masks as -inf biases) and the composite. S = 0 (no keys) is left to the caller.
 */
import type { TypedArray } from '../dtype.ts'
import { gemm } from './gemm.ts'
import { expF32 } from './fastmath.ts'

type Arr = TypedArray

export interface AttentionOperands {
  B: number
  L: number
  S: number
  E: number
  Ev: number
  scale: number
  causal: boolean
  q: Arr; qOff: ArrayLike<number> // (B,) offsets of (L, E) blocks
  k: Arr; kOff: ArrayLike<number> // (B,) offsets of (S, E) blocks
  v: Arr; vOff: ArrayLike<number> // (B,) offsets of (S, Ev) blocks
  mask: Arr | null
  maskOff: ArrayLike<number> // (B,)
  maskRs: number
  maskCs: number
  maskBool: boolean
}

/** The masked, scaled score of (i, j) given the raw dot product. */
function maskedScore(a: AttentionOperands, b: number, i: number, j: number, dot: number): number {
  if (a.causal && j > i) return -Infinity
  const s = dot * a.scale
  if (!a.mask) return s
  const m = a.mask[a.maskOff[b] + i * a.maskRs + j * a.maskCs]
  return a.maskBool ? (m !== 0 ? s : -Infinity) : s + m
}

// ---------------------------------------------------------------- oracles

/** out (B, L, Ev) and lse (B, L): each query row's full score row, then softmax, then P v. */
export function attentionForwardRef(out: Arr, lse: Float64Array, a: AttentionOperands): void {
  const { B, L, S, E, Ev, q, k, v } = a
  const s = new Float64Array(S) // (S,) one score row
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      let m = -Infinity
      for (let j = 0; j < S; j++) {
        let dot = 0
        for (let e = 0; e < E; e++) dot += q[a.qOff[b] + i * E + e] * k[a.kOff[b] + j * E + e]
        s[j] = maskedScore(a, b, i, j, dot)
        if (s[j] > m) m = s[j]
      }
      const shift = m === -Infinity ? 0 : m
      let sum = 0
      for (let j = 0; j < S; j++) { s[j] = Math.exp(s[j] - shift); sum += s[j] }
      for (let e = 0; e < Ev; e++) {
        let acc = 0
        for (let j = 0; j < S; j++) acc += s[j] * v[a.vOff[b] + j * Ev + e]
        out[(b * L + i) * Ev + e] = acc / sum
      }
      lse[b * L + i] = shift + Math.log(sum)
    }
  }
}

/**
 * dq (B, L, E), dk (B, S, E), dv (B, S, Ev) from dout (B, L, Ev), the forward's out and lse:
 *   P = e^{s - lse},  dv = P^T dout,  dP = dout v^T,  dS = P (dP - rowsum(dout * out)),
 *   dq = scale dS k,  dk = scale dS^T q.
 */
export function attentionBackwardRef(dq: Arr, dk: Arr, dv: Arr, dout: Arr, out: Arr, lse: Float64Array, a: AttentionOperands): void {
  const { B, L, S, E, Ev, q, k, v } = a
  const P = new Float64Array(L * S), dS = new Float64Array(L * S) // (L, S)
  for (let b = 0; b < B; b++) {
    const qo = a.qOff[b], ko = a.kOff[b], vo = a.vOff[b], oo = b * L * Ev
    for (let i = 0; i < L; i++) {
      let D = 0
      for (let e = 0; e < Ev; e++) D += dout[oo + i * Ev + e] * out[oo + i * Ev + e]
      for (let j = 0; j < S; j++) {
        let dot = 0
        for (let e = 0; e < E; e++) dot += q[qo + i * E + e] * k[ko + j * E + e]
        const p = Math.exp(maskedScore(a, b, i, j, dot) - lse[b * L + i])
        let dp = 0
        for (let e = 0; e < Ev; e++) dp += dout[oo + i * Ev + e] * v[vo + j * Ev + e]
        P[i * S + j] = p
        dS[i * S + j] = p * (dp - D)
      }
    }
    for (let j = 0; j < S; j++) {
      for (let e = 0; e < Ev; e++) { let acc = 0; for (let i = 0; i < L; i++) acc += P[i * S + j] * dout[oo + i * Ev + e]; dv[(b * S + j) * Ev + e] = acc }
      for (let e = 0; e < E; e++) { let acc = 0; for (let i = 0; i < L; i++) acc += dS[i * S + j] * q[qo + i * E + e]; dk[(b * S + j) * E + e] = a.scale * acc }
    }
    for (let i = 0; i < L; i++) {
      for (let e = 0; e < E; e++) { let acc = 0; for (let j = 0; j < S; j++) acc += dS[i * S + j] * k[ko + j * E + e]; dq[(b * L + i) * E + e] = a.scale * acc }
    }
  }
}

// ---------------------------------------------------------------- tuned

/**
 * Query rows and key rows per tile. The tile products run at the GEMM micro-kernel's rate either
 * way; 64 x 128 (a 64 KB score tile) was within noise of the best of 32..256 on each side for the
 * forward, the causal forward and the backward here, and keeps causal tile skipping fine-grained.
 */
const BR = 64
const BC = 128

// Workspaces, grown on demand and reused across calls.
const sTile = new Float64Array(BR * BC) // (BR, BC) scores, then probabilities
const dpTile = new Float64Array(BR * BC) // (BR, BC) dP, then dS
let accA: Float64Array = new Float64Array(0) // forward: (BR, Ev) output accumulator; backward: (L, E) dq of one batch element
let accB: Float64Array = new Float64Array(0) // backward: (BC, E) dk of one key tile
let accC: Float64Array = new Float64Array(0) // backward: (BC, Ev) dv of one key tile
let prod: Float64Array = new Float64Array(0) // (max(BR, BC), max(E, Ev)) one tile product
const rowMax = new Float64Array(BR) // (BR,) running max m
const rowSum = new Float64Array(BR) // (BR,) running sum l

function grow(a: Float64Array, n: number): Float64Array {
  return a.length >= n ? a : new Float64Array(n)
}

/**
 * Scores of tile (i0.., j0..) of batch b into sTile (br, bc): scale q_i . k_j, masked. Returns
 * nothing; entries a causal or bool mask removes are -Infinity.
 */
function scoreTile(a: AttentionOperands, b: number, i0: number, br: number, j0: number, bc: number): void {
  const { E } = a
  gemm({ M: br, N: bc, K: E, a: a.q, aOff: a.qOff[b] + i0 * E, aRs: E, aCs: 1, b: a.k, bOff: a.kOff[b] + j0 * E, bRs: 1, bCs: E, c: sTile, cOff: 0 })
  const needsCausal = a.causal && j0 + bc - 1 > i0
  const scale = a.scale
  for (let r = 0; r < br; r++) {
    const row = r * bc, i = i0 + r
    if (!a.mask) {
      for (let c = 0; c < bc; c++) sTile[row + c] *= scale
    } else {
      const mask = a.mask, base = a.maskOff[b] + i * a.maskRs, cs = a.maskCs
      if (a.maskBool) for (let c = 0; c < bc; c++) sTile[row + c] = mask[base + (j0 + c) * cs] !== 0 ? sTile[row + c] * scale : -Infinity
      else for (let c = 0; c < bc; c++) sTile[row + c] = sTile[row + c] * scale + mask[base + (j0 + c) * cs]
    }
    if (needsCausal) for (let c = Math.max(0, i + 1 - j0); c < bc; c++) sTile[row + c] = -Infinity
  }
}

/** Tuned `attentionForwardRef`: online softmax over key tiles; out is float32 or float64. */
export function attentionForward(out: Arr, lse: Float64Array, a: AttentionOperands): void {
  const { B, L, S, Ev } = a
  const f32 = out instanceof Float32Array
  accA = grow(accA, BR * Ev)
  prod = grow(prod, Math.max(BR, BC) * Math.max(a.E, Ev))
  const acc = accA // (br, Ev)
  for (let b = 0; b < B; b++) {
    for (let i0 = 0; i0 < L; i0 += BR) {
      const br = Math.min(BR, L - i0)
      rowMax.fill(-Infinity)
      rowSum.fill(0)
      acc.fill(0, 0, br * Ev)
      const jEnd = a.causal ? Math.min(S, i0 + br) : S // causal: keys past the tile's last row are all masked
      for (let j0 = 0; j0 < jEnd; j0 += BC) {
        const bc = Math.min(BC, jEnd - j0)
        scoreTile(a, b, i0, br, j0, bc)
        for (let r = 0; r < br; r++) {
          const row = r * bc
          let mx = -Infinity, nan = false
          for (let c = 0; c < bc; c++) { const v = sTile[row + c]; if (v > mx) mx = v; else if (v !== v) nan = true }
          const mOld = rowMax[r]
          const mNew = mOld > mx ? mOld : mx
          if (mNew === -Infinity) { // everything so far masked (or NaN): contributes nothing, but a NaN poisons l
            if (nan) rowSum[r] = NaN
            sTile.fill(0, row, row + bc)
            continue
          }
          // Eqn (online softmax): l <- e^{m_old - m_new} l + sum_c e^{s_c - m_new}; acc rescaled alike.
          const alpha = f32 ? expF32(mOld - mNew) : Math.exp(mOld - mNew)
          let sum = 0
          if (f32) for (let c = 0; c < bc; c++) { const p = expF32(sTile[row + c] - mNew); sTile[row + c] = p; sum += p }
          else for (let c = 0; c < bc; c++) { const p = Math.exp(sTile[row + c] - mNew); sTile[row + c] = p; sum += p }
          rowSum[r] = rowSum[r] * alpha + sum
          rowMax[r] = mNew
          if (alpha !== 1) for (let e = r * Ev, end = e + Ev; e < end; e++) acc[e] *= alpha
        }
        // acc += P V_j: (br, bc) x (bc, Ev)
        gemm({ M: br, N: Ev, K: bc, a: sTile, aOff: 0, aRs: bc, aCs: 1, b: a.v, bOff: a.vOff[b] + j0 * Ev, bRs: Ev, bCs: 1, c: prod, cOff: 0 })
        for (let e = 0, n = br * Ev; e < n; e++) acc[e] += prod[e]
      }
      for (let r = 0; r < br; r++) {
        const l = rowSum[r], o = (b * L + i0 + r) * Ev
        for (let e = 0; e < Ev; e++) out[o + e] = acc[r * Ev + e] / l
        lse[b * L + i0 + r] = (rowMax[r] === -Infinity ? 0 : rowMax[r]) + Math.log(l)
      }
    }
  }
}

/**
 * Tuned `attentionBackwardRef`: for each key tile j (outer), every query tile i that can see it
 * (inner): recompute S and P = e^{S - lse}, then dv_j += P^T dout_i, dP = dout_i v_j^T,
 * dS = P (dP - D_i), dq_i += scale dS k_j, dk_j += scale dS^T q_i, with D_i = rowsum(dout_i out_i).
 */
export function attentionBackward(dq: Arr, dk: Arr, dv: Arr, dout: Arr, out: Arr, lse: Float64Array, a: AttentionOperands): void {
  const { B, L, S, E, Ev, scale } = a
  const f32 = dq instanceof Float32Array
  accA = grow(accA, L * E)
  accB = grow(accB, BC * E)
  accC = grow(accC, BC * Ev)
  prod = grow(prod, Math.max(BR, BC) * Math.max(E, Ev))
  const D = new Float64Array(L) // (L,) rowsum(dout * out) of one batch element
  const dqAcc = accA, dkAcc = accB, dvAcc = accC
  for (let b = 0; b < B; b++) {
    const oo = b * L * Ev // dout and out of batch b: (L, Ev)
    for (let i = 0; i < L; i++) {
      let d = 0
      for (let e = 0; e < Ev; e++) d += dout[oo + i * Ev + e] * out[oo + i * Ev + e]
      D[i] = d
    }
    dqAcc.fill(0, 0, L * E)
    for (let j0 = 0; j0 < S; j0 += BC) {
      const bc = Math.min(BC, S - j0)
      dkAcc.fill(0, 0, bc * E)
      dvAcc.fill(0, 0, bc * Ev)
      const iStart = a.causal ? Math.floor(j0 / BR) * BR : 0 // causal: rows above j0 see none of these keys
      for (let i0 = iStart; i0 < L; i0 += BR) {
        const br = Math.min(BR, L - i0)
        scoreTile(a, b, i0, br, j0, bc)
        for (let r = 0; r < br; r++) {
          const row = r * bc, l = lse[b * L + i0 + r]
          if (f32) for (let c = 0; c < bc; c++) sTile[row + c] = expF32(sTile[row + c] - l)
          else for (let c = 0; c < bc; c++) sTile[row + c] = Math.exp(sTile[row + c] - l)
        }
        // dv_j += P^T dout_i: (bc, br) x (br, Ev)
        gemm({ M: bc, N: Ev, K: br, a: sTile, aOff: 0, aRs: 1, aCs: bc, b: dout, bOff: oo + i0 * Ev, bRs: Ev, bCs: 1, c: prod, cOff: 0 })
        for (let e = 0, n = bc * Ev; e < n; e++) dvAcc[e] += prod[e]
        // dP = dout_i v_j^T: (br, Ev) x (Ev, bc); then dS = P (dP - D_i), in place
        gemm({ M: br, N: bc, K: Ev, a: dout, aOff: oo + i0 * Ev, aRs: Ev, aCs: 1, b: a.v, bOff: a.vOff[b] + j0 * Ev, bRs: 1, bCs: Ev, c: dpTile, cOff: 0 })
        for (let r = 0; r < br; r++) {
          const row = r * bc, d = D[i0 + r]
          for (let c = 0; c < bc; c++) dpTile[row + c] = sTile[row + c] * (dpTile[row + c] - d)
        }
        // dq_i += scale dS k_j: (br, bc) x (bc, E)
        gemm({ M: br, N: E, K: bc, a: dpTile, aOff: 0, aRs: bc, aCs: 1, b: a.k, bOff: a.kOff[b] + j0 * E, bRs: E, bCs: 1, c: prod, cOff: 0 })
        for (let e = 0, n = br * E, o = i0 * E; e < n; e++) dqAcc[o + e] += scale * prod[e]
        // dk_j += scale dS^T q_i: (bc, br) x (br, E)
        gemm({ M: bc, N: E, K: br, a: dpTile, aOff: 0, aRs: 1, aCs: bc, b: a.q, bOff: a.qOff[b] + i0 * E, bRs: E, bCs: 1, c: prod, cOff: 0 })
        for (let e = 0, n = bc * E; e < n; e++) dkAcc[e] += scale * prod[e]
      }
      const ko = (b * S + j0) * E, vo = (b * S + j0) * Ev
      for (let e = 0, n = bc * E; e < n; e++) dk[ko + e] = dkAcc[e]
      for (let e = 0, n = bc * Ev; e < n; e++) dv[vo + e] = dvAcc[e]
    }
    for (let e = 0, n = L * E, o = b * L * E; e < n; e++) dq[o + e] = dqAcc[e]
  }
}

/**
 * @file Mamba's S6 selective scan (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with
 * Selective State Spaces", https://arxiv.org/abs/2312.00752, Algorithm 2 and Eqns (2a), (2b), (4)),
 * after state-spaces/mamba `selective_scan_ref` and ggml `ggml_compute_forward_ssm_scan_f32`.
 *
 * Shapes (all buffers contiguous, row-major):
 *   u, delta, z, out: (Bt, D, L)   A: (D, N)   B, C: (Bt, G, N, L)   Dv, deltaBias: (D,)
 * Channel d reads group g = floor(d / (D / G)); ungrouped B/C of shape (Bt, N, L) is G = 1.
 * Per channel and state n (ZOH for A, Euler for B as in Mamba, Eqn (4)):
 *   dt_t = softplus(delta_t + bias)                       (or delta_t + bias without softplus)
 *   h_t  = exp(dt_t A_n) h_{t-1} + dt_t B_{t,n} u_t          Eqn (2a) with Ā = exp(ΔA), B̄u = ΔBu
 *   y_t  = Σ_n C_{t,n} h_{t,n} + D u_t                     Eqn (2b) plus the skip term
 *   out_t = y_t silu(z_t)                                   (the gate of the Mamba block, optional)
 *
 * `selectiveScanRef` is the obvious time loop. `selectiveScan` is the fused forward: float64 state
 * (N,) allocated once per call, offsets hoisted, no allocation in the loops.
 * `selectiveScanBackward` never stores the (Bt, D, L, N) states: forward saves only the inputs.
 * Backward recomputes the states of one channel with a forward pass that keeps a checkpoint every
 * T = 64 steps ((ceil(L/T), N) floats), then walks the chunks in reverse, recomputing each chunk's
 * (T + 1, N) states from its checkpoint (and their exps, (T, N)). Scratch is N (L/T + 2T + 1) floats
 * for the states plus 4 L N for the transposed B, C of one group and their grads, all reused across
 * channels; the cost is two forward passes plus the reverse pass. (Inverting h_{t-1} = (h_t - ΔBu)
 * / exp(ΔA) would need no checkpoints but overflows when exp(ΔA) underflows, so it is not used.)
 */
import type { TypedArray } from '../dtype.ts'
import { expF32 } from './fastmath.ts'

type Arr = TypedArray

export interface ScanDims {
  Bt: number
  D: number
  L: number
  N: number
  G: number
  /** Apply softplus to delta + bias (Mamba's `delta_softplus`). */
  softplus: boolean
}

/** Optional inputs: a missing D or bias counts as 0, a missing z as no gate. */
export interface ScanExtras {
  Dv: Arr | null // (D,)
  z: Arr | null // (Bt, D, L)
  deltaBias: Arr | null // (D,)
}

/** softplus with PyTorch's threshold 20 (linear above it). */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x))
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))

/** The plain loop: h_t = exp(Δ_t A) h_{t-1} + Δ_t B_t u_t; y_t = C_t h_t + D u_t (then gate). */
export function selectiveScanRef(out: Arr, u: Arr, delta: Arr, A: Arr, B: Arr, C: Arr, ex: ScanExtras, dims: ScanDims): void {
  const { Bt, D, L, N, G } = dims
  const perGroup = D / G
  for (let b = 0; b < Bt; b++) {
    for (let d = 0; d < D; d++) {
      const g = Math.floor(d / perGroup)
      const h = new Array<number>(N).fill(0) // (N,)
      for (let t = 0; t < L; t++) {
        const i = (b * D + d) * L + t
        const pre = delta[i] + (ex.deltaBias ? ex.deltaBias[d] : 0)
        const dt = dims.softplus ? softplus(pre) : pre
        let y = 0
        for (let n = 0; n < N; n++) {
          const j = ((b * G + g) * N + n) * L + t
          h[n] = Math.exp(dt * A[d * N + n]) * h[n] + dt * B[j] * u[i] // Eqn (2a)
          y += C[j] * h[n] // Eqn (2b)
        }
        y += (ex.Dv ? ex.Dv[d] : 0) * u[i]
        if (ex.z) y *= ex.z[i] * sigmoid(ex.z[i])
        out[i] = y
      }
    }
  }
}

/**
 * Fused forward: same arithmetic as the Ref, float64 state, no allocation inside the loops. The
 * (N, L) block of B and C of a (batch, group) is transposed once into (L, N) scratch, so the inner
 * loop over n reads contiguous memory (B/C are read at stride L otherwise). For float32 output the
 * N exps per step (the dominant cost) use the inlined `expF32` (relative error < 4e-11, see
 * fastmath.ts); float64 output keeps `Math.exp`.
 */
export function selectiveScan(out: Arr, u: Arr, delta: Arr, A: Arr, B: Arr, C: Arr, ex: ScanExtras, dims: ScanDims): void {
  const { Bt, D, L, N, G, softplus: sp } = dims
  const perGroup = D / G
  const { Dv, z, deltaBias } = ex
  const h = new Float64Array(N) // (N,) state of the current channel
  const f32 = out instanceof Float32Array
  const bT = new Float64Array(L * N), cT = new Float64Array(L * N) // (L, N) B and C of the current (b, g)
  for (let b = 0; b < Bt; b++) {
    for (let d = 0; d < D; d++) {
      if (d % perGroup === 0) transposeBlock(bT, cT, B, C, (b * G + d / perGroup) * N * L, N, L)
      const row = (b * D + d) * L // offset of u[b, d]: (L,)
      const aOff = d * N
      const bias = deltaBias ? deltaBias[d] : 0
      const skip = Dv ? Dv[d] : 0
      h.fill(0)
      for (let t = 0; t < L; t++) {
        const i = row + t
        const pre = delta[i] + bias
        const dt = sp ? (pre > 20 ? pre : Math.log1p(Math.exp(pre))) : pre
        const dtu = dt * u[i]
        let y = 0
        if (f32) {
          for (let n = 0, j = t * N; n < N; n++, j++) {
            const hn = expF32(dt * A[aOff + n]) * h[n] + dtu * bT[j] // Eqn (2a)
            h[n] = hn
            y += cT[j] * hn // Eqn (2b)
          }
        } else {
          for (let n = 0, j = t * N; n < N; n++, j++) {
            const hn = Math.exp(dt * A[aOff + n]) * h[n] + dtu * bT[j]
            h[n] = hn
            y += cT[j] * hn
          }
        }
        y += skip * u[i]
        if (z) { const zi = z[i]; y *= zi / (1 + Math.exp(-zi)) }
        out[i] = y
      }
    }
  }
}

/** bT, cT (L, N) = transpose of the (N, L) blocks of B and C at offset `off`. */
function transposeBlock(bT: Float64Array, cT: Float64Array, B: Arr, C: Arr, off: number, N: number, L: number): void {
  for (let n = 0; n < N; n++) {
    for (let t = 0, src = off + n * L; t < L; t++, src++) { bT[t * N + n] = B[src]; cT[t * N + n] = C[src] }
  }
}

/** Gradients of `selectiveScan`; any output buffer may be null when that gradient is not wanted. */
export interface ScanGrads {
  du: Arr | null // (Bt, D, L)
  ddelta: Arr | null // (Bt, D, L)
  dA: Arr | null // (D, N)
  dB: Arr | null // (Bt, G, N, L)
  dC: Arr | null // (Bt, G, N, L)
  dD: Arr | null // (D,)
  dz: Arr | null // (Bt, D, L)
  ddeltaBias: Arr | null // (D,)
}

const CHUNK = 64

/**
 * Fused backward by reverse-mode through the recurrence, recomputing states chunk by chunk.
 * With hbar_t = dL/dh_t (adjoint): hbar_t = C_t dy_t + exp(Δ_{t+1} A) hbar_{t+1}, and
 *   dA_n += Σ_t hbar_t h_{t-1} exp(Δ_t A_n) Δ_t,  dΔ_t += Σ_n hbar_t (h_{t-1} exp(Δ_t A_n) A_n + B_t u_t),
 *   dB_t += hbar_t Δ_t u_t,  du_t += Σ_n hbar_t Δ_t B_t + D dy_t,  dC_t += dy_t h_t.
 * Grad buffers are zeroed here (dB, dC, dA, dD, dbias accumulate across channels).
 */
export function selectiveScanBackward(gr: ScanGrads, gout: Arr, u: Arr, delta: Arr, A: Arr, B: Arr, C: Arr, ex: ScanExtras, dims: ScanDims): void {
  const { Bt, D, L, N, G, softplus: sp } = dims
  const perGroup = D / G
  const { Dv, z, deltaBias } = ex
  for (const buf of [gr.du, gr.ddelta, gr.dA, gr.dB, gr.dC, gr.dD, gr.dz, gr.ddeltaBias]) buf?.fill(0)
  const nChunks = Math.ceil(L / CHUNK)
  const ckpt = new Float64Array(nChunks * N) // (nChunks, N): state before each chunk
  const hs = new Float64Array((CHUNK + 1) * N) // (T + 1, N): states h_{t0-1} .. h_{t0+T-1} of one chunk
  const es = new Float64Array(CHUNK * N) // (T, N): exp(Δ_t A_n) of one chunk
  const hbar = new Float64Array(N) // (N,) adjoint of the current state
  const dAacc = new Float64Array(N) // (N,) dA of the current channel
  const dtBuf = new Float64Array(L) // (L,) Δ_t of the current channel
  const bT = new Float64Array(L * N), cT = new Float64Array(L * N) // (L, N) B, C of the current (b, g)
  // NOTE: float32 inputs use `expF32` (relative error < 4e-11), as the forward does for float32 output.
  const f32 = u instanceof Float32Array
  const dbT = new Float64Array(L * N), dcT = new Float64Array(L * N) // (L, N) their grads, summed over the group
  for (let b = 0; b < Bt; b++) {
    for (let d = 0; d < D; d++) {
      const bc = (b * G + Math.floor(d / perGroup)) * N * L // (N, L) block of B and C
      if (d % perGroup === 0) { transposeBlock(bT, cT, B, C, bc, N, L); dbT.fill(0); dcT.fill(0) }
      const row = (b * D + d) * L
      const aOff = d * N
      const bias = deltaBias ? deltaBias[d] : 0
      const skip = Dv ? Dv[d] : 0
      // Pass 1: Δ_t and the checkpoints.
      for (let t = 0; t < L; t++) {
        const pre = delta[row + t] + bias
        dtBuf[t] = sp ? (pre > 20 ? pre : Math.log1p(Math.exp(pre))) : pre
      }
      hbar.fill(0)
      for (let n = 0; n < N; n++) hs[n] = 0
      for (let c = 0; c < nChunks; c++) {
        const t0 = c * CHUNK, t1 = Math.min(L, t0 + CHUNK)
        for (let n = 0; n < N; n++) ckpt[c * N + n] = hs[n]
        for (let t = t0; t < t1; t++) {
          const dt = dtBuf[t], dtu = dt * u[row + t]
          for (let n = 0; n < N; n++) { const x = dt * A[aOff + n]; hs[n] = (f32 ? expF32(x) : Math.exp(x)) * hs[n] + dtu * bT[t * N + n] }
        }
      }
      dAacc.fill(0)
      let dDacc = 0, dbiasAcc = 0
      // Pass 2: chunks in reverse; recompute hs[k] = h_{t0+k-1} (k = 0 is the checkpoint) and es.
      for (let c = nChunks - 1; c >= 0; c--) {
        const t0 = c * CHUNK, t1 = Math.min(L, t0 + CHUNK)
        for (let n = 0; n < N; n++) hs[n] = ckpt[c * N + n]
        for (let t = t0; t < t1; t++) {
          const dt = dtBuf[t], dtu = dt * u[row + t], k = (t - t0 + 1) * N, kp = k - N, e0 = (t - t0) * N
          for (let n = 0; n < N; n++) {
            const x = dt * A[aOff + n], e = f32 ? expF32(x) : Math.exp(x)
            es[e0 + n] = e
            hs[k + n] = e * hs[kp + n] + dtu * bT[t * N + n]
          }
        }
        for (let t = t1 - 1; t >= t0; t--) {
          const i = row + t
          const k = (t - t0 + 1) * N, kp = k - N, e0 = (t - t0) * N, tn = t * N
          const dt = dtBuf[t], ui = u[i]
          let dy = gout[i]
          if (z) {
            // out = y silu(z): need y = C_t h_t + D u_t again.
            let y = skip * ui
            for (let n = 0; n < N; n++) y += cT[tn + n] * hs[k + n]
            const zi = z[i], s = sigmoid(zi)
            if (gr.dz) gr.dz[i] = dy * y * s * (1 + zi * (1 - s))
            dy *= zi * s
          }
          dDacc += dy * ui
          let ddt = 0, duAcc = skip * dy
          for (let n = 0; n < N; n++) {
            const an = A[aOff + n], e = es[e0 + n], bn = bT[tn + n]
            const hb = hbar[n] + dy * cT[tn + n] // hbar_t
            dcT[tn + n] += dy * hs[k + n]
            const hPrevE = hs[kp + n] * e
            ddt += hb * (hPrevE * an + bn * ui)
            dAacc[n] += hb * hPrevE * dt
            dbT[tn + n] += hb * dt * ui
            duAcc += hb * dt * bn
            hbar[n] = hb * e // becomes hbar_{t-1} minus its own C term
          }
          if (gr.du) gr.du[i] = duAcc
          const pre = delta[i] + bias
          const dpre = sp ? (pre > 20 ? ddt : ddt * sigmoid(pre)) : ddt
          if (gr.ddelta) gr.ddelta[i] = dpre
          dbiasAcc += dpre
        }
      }
      if (gr.dA) for (let n = 0; n < N; n++) gr.dA[aOff + n] += dAacc[n]
      if (gr.dD) gr.dD[d] += dDacc
      if (gr.ddeltaBias) gr.ddeltaBias[d] += dbiasAcc
      if ((d + 1) % perGroup === 0) {
        // Last channel of the group: write the (L, N) sums back as (N, L).
        for (let n = 0; n < N; n++) {
          for (let t = 0, dst = bc + n * L; t < L; t++, dst++) {
            if (gr.dB) gr.dB[dst] = dbT[t * N + n]
            if (gr.dC) gr.dC[dst] = dcT[t * N + n]
          }
        }
      }
    }
  }
}

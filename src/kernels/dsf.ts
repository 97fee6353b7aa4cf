/**
 * @file Kernels for paper 33, the Dynamical Systems Framework (Sieber et al. 2024, "Understanding the
 * differences in Foundation Models: Attention, State Space Models, and Recurrent Neural Networks",
 * https://arxiv.org/abs/2405.15731): the diagonal linear time-varying recurrence that every DSF
 * layer with diagonal Λ_i runs, and a float64 numerical rank for the realization-theory bound.
 *
 * Shapes (all buffers contiguous, row-major):
 *   a, b, h: (R, L, M)   R = batch rows, L = time, M = flattened state (d·n)
 *   h[r, t, m] = a[r, t, m] h[r, t-1, m] + b[r, t, m],  h[r, -1, m] = 0          DSF Eqn (2), diagonal Λ
 * Backward (g = dLoss/dh, the adjoint state p runs backwards):
 *   p_t = g_t + a_{t+1} p_{t+1};  da_t = p_t h_{t-1};  db_t = p_t
 *
 * `linearRecurrenceRef` is the obvious triple loop with the time loop innermost (strided access);
 * `linearRecurrence` walks rows of M contiguous values, with the previous row's offset hoisted.
 */
import type { TypedArray } from '../dtype.ts'

export interface RecurrenceDims { R: number; L: number; M: number }

/** Oracle: h_t = a_t h_{t-1} + b_t, every (r, m) chain computed on its own. */
export function linearRecurrenceRef(h: TypedArray, a: TypedArray, b: TypedArray, { R, L, M }: RecurrenceDims): void {
  for (let r = 0; r < R; r++) {
    for (let m = 0; m < M; m++) {
      let s = 0
      for (let t = 0; t < L; t++) {
        const i = (r * L + t) * M + m
        s = a[i] * s + b[i]
        h[i] = s
      }
    }
  }
}

/** Tuned forward: time-major rows of M contiguous elements, no index arithmetic in the inner loop. */
export function linearRecurrence(h: TypedArray, a: TypedArray, b: TypedArray, { R, L, M }: RecurrenceDims): void {
  for (let r = 0; r < R; r++) {
    const base = r * L * M
    for (let m = 0; m < M; m++) h[base + m] = b[base + m] // h_0 = b_0 (h_{-1} = 0)
    for (let t = 1; t < L; t++) {
      const cur = base + t * M, prev = cur - M
      for (let m = 0; m < M; m++) h[cur + m] = a[cur + m] * h[prev + m] + b[cur + m]
    }
  }
}

/**
 * Backward of the recurrence given the saved output h (R, L, M), the coefficients a (R, L, M) and
 * the output gradient g (R, L, M). Writes da and db (either may be null when not needed).
 */
export function linearRecurrenceBackward(da: TypedArray | null, db: TypedArray | null, g: TypedArray, h: TypedArray, a: TypedArray, { R, L, M }: RecurrenceDims): void {
  const p = new Float64Array(M) // (M,) adjoint state, reused across rows
  for (let r = 0; r < R; r++) {
    const base = r * L * M
    p.fill(0)
    for (let t = L - 1; t >= 0; t--) {
      const cur = base + t * M, next = cur + M
      for (let m = 0; m < M; m++) {
        const pm = g[cur + m] + (t + 1 < L ? a[next + m] * p[m] : 0)
        p[m] = pm
        if (db) db[cur + m] = pm
        if (da) da[cur + m] = t > 0 ? pm * h[cur - M + m] : 0
      }
    }
  }
}

/**
 * Numerical rank of a row-major (rows, cols) float64 matrix by Gaussian elimination with full
 * pivoting: the number of pivots larger than `relTol` times the largest |entry|.
 * NOTE: full pivoting is rank-revealing enough for the small, well-separated cases this serves
 * (the rank bound n of a finite-state DSF against the full rank of softmax attention).
 */
export function numericalRank(m: ArrayLike<number>, rows: number, cols: number, relTol = 1e-9): number {
  const w = Float64Array.from(m) // (rows, cols) working copy
  let scale = 0
  for (let i = 0; i < w.length; i++) scale = Math.max(scale, Math.abs(w[i]))
  if (scale === 0) return 0
  const rowDone = new Uint8Array(rows), colDone = new Uint8Array(cols)
  let rank = 0
  for (let step = 0; step < Math.min(rows, cols); step++) {
    let best = 0, pr = -1, pc = -1
    for (let i = 0; i < rows; i++) {
      if (rowDone[i]) continue
      for (let j = 0; j < cols; j++) {
        const v = colDone[j] ? 0 : Math.abs(w[i * cols + j])
        if (v > best) { best = v; pr = i; pc = j }
      }
    }
    if (best <= relTol * scale) break
    rank++
    rowDone[pr] = 1; colDone[pc] = 1
    const piv = w[pr * cols + pc]
    for (let i = 0; i < rows; i++) {
      if (rowDone[i]) continue
      const f = w[i * cols + pc] / piv
      if (f === 0) continue
      for (let j = 0; j < cols; j++) if (!colDone[j]) w[i * cols + j] -= f * w[pr * cols + j]
    }
  }
  return rank
}

/**
 * @file Fused normalisation kernels, forward and backward, each beside its plain `...Ref` oracle.
 * After karpathy/llm.c `train_gpt2.c` (`layernorm_forward` / `layernorm_backward`): the forward
 * saves mean and rstd = 1 / sqrt(var + eps) per normalised group; the backward makes dx, dweight
 * and dbias in one sweep per row.
 *
 * Row norms (layerNorm, rmsNorm, groupNorm): x is contiguous (R, M) with M = Cg * S. Row r
 * belongs to group g = r % G and holds channels g*Cg .. g*Cg + Cg - 1, each a run of S elements;
 * the affine weight and bias are per channel, (G * Cg,). layerNorm: G = 1, Cg = M, S = 1.
 * groupNorm on (N, C, *spatial): R = N * G, Cg = C / G, S = prod(spatial). rmsNorm is layerNorm
 * without centring (mean taken as 0).
 *
 * Batch norm: x is contiguous (N, C, S); statistics are per channel over N * S elements.
 *
 * NOTE: statistics are float64 and two-pass (mean first, then the sum of squared deviations),
 * never E[x^2] - E[x]^2, which loses about log10(mean^2 / var) digits (all of float32's when
 * |mean| / std ~ 1e4). The tuned kernels sum with four partial accumulators (shorter dependency
 * chains, and pairwise-ish error), so they match the Refs to rounding, not bitwise.
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

export interface RowNormDims {
  /** Rows (normalised groups). */
  R: number
  /** Groups per sample: row r uses channels (r % G) * Cg ... */
  G: number
  /** Channels per row. */
  Cg: number
  /** Elements per channel within a row (1 for layerNorm). */
  S: number
}

export interface BatchNormDims { N: number; C: number; S: number }

// ---------------------------------------------------------------- row norms: oracles

/**
 * y = (x - mean) rstd w[c] + b[c] per row, the obvious loops. center = false is RMS norm:
 * mean = 0, rstd = 1 / sqrt(mean(x^2) + eps).
 */
export function rowNormForwardRef(y: Arr, mean: Float64Array, rstd: Float64Array, x: Arr, w: Arr, b: Arr, d: RowNormDims, eps: number, center: boolean): void {
  const M = d.Cg * d.S
  for (let r = 0; r < d.R; r++) {
    let mu = 0
    if (center) { for (let j = 0; j < M; j++) mu += x[r * M + j]; mu /= M }
    let v = 0
    for (let j = 0; j < M; j++) { const dev = x[r * M + j] - mu; v += dev * dev }
    const rs = 1 / Math.sqrt(v / M + eps)
    mean[r] = mu
    rstd[r] = rs
    for (let j = 0; j < M; j++) {
      const c = (r % d.G) * d.Cg + Math.floor(j / d.S)
      y[r * M + j] = (x[r * M + j] - mu) * rs * w[c] + b[c]
    }
  }
}

/**
 * dx, dw, db of y = xhat w + b with xhat = (x - mean) rstd, the obvious loops:
 *   dx = rstd (g w - mean(g w) - xhat mean(g w xhat))   (centred; RMS drops the mean(g w) term)
 *   dw[c] = sum g xhat,  db[c] = sum g   (over every row and element of channel c)
 */
export function rowNormBackwardRef(dx: Arr, dw: Float64Array, db: Float64Array, g: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, d: RowNormDims, center: boolean): void {
  const M = d.Cg * d.S
  dw.fill(0, 0, d.G * d.Cg)
  db.fill(0, 0, d.G * d.Cg)
  for (let r = 0; r < d.R; r++) {
    const chan = (j: number): number => (r % d.G) * d.Cg + Math.floor(j / d.S)
    let a = 0, bq = 0
    for (let j = 0; j < M; j++) {
      const xh = (x[r * M + j] - mean[r]) * rstd[r]
      const gw = g[r * M + j] * w[chan(j)]
      a += gw
      bq += gw * xh
      dw[chan(j)] += g[r * M + j] * xh
      db[chan(j)] += g[r * M + j]
    }
    const ma = center ? a / M : 0
    for (let j = 0; j < M; j++) {
      const xh = (x[r * M + j] - mean[r]) * rstd[r]
      dx[r * M + j] = rstd[r] * (g[r * M + j] * w[chan(j)] - ma - xh * (bq / M))
    }
  }
}

// ---------------------------------------------------------------- row norms: tuned

/** sum of x[base .. base + n) with four accumulators. */
function sum4(x: Arr, base: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0
  let j = base
  const end = base + n, end4 = base + (n & ~3)
  for (; j < end4; j += 4) { s0 += x[j]; s1 += x[j + 1]; s2 += x[j + 2]; s3 += x[j + 3] }
  for (; j < end; j++) s0 += x[j]
  return s0 + s1 + (s2 + s3)
}

/** sum of (x - mu)^2 over x[base .. base + n) with four accumulators. */
function sumSqDev4(x: Arr, base: number, n: number, mu: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0
  let j = base
  const end = base + n, end4 = base + (n & ~3)
  for (; j < end4; j += 4) {
    const d0 = x[j] - mu, d1 = x[j + 1] - mu, d2 = x[j + 2] - mu, d3 = x[j + 3] - mu
    s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3
  }
  for (; j < end; j++) { const d0 = x[j] - mu; s0 += d0 * d0 }
  return s0 + s1 + (s2 + s3)
}

/** Tuned `rowNormForwardRef`: y (R, M), mean and rstd (R,). */
export function rowNormForward(y: Arr, mean: Float64Array, rstd: Float64Array, x: Arr, w: Arr, b: Arr, d: RowNormDims, eps: number, center: boolean): void {
  const { R, G, Cg, S } = d
  const M = Cg * S
  for (let r = 0; r < R; r++) {
    const base = r * M // row r of x and y: (M,)
    const mu = center ? sum4(x, base, M) / M : 0
    const rs = 1 / Math.sqrt(sumSqDev4(x, base, M, mu) / M + eps)
    mean[r] = mu
    rstd[r] = rs
    const c0 = (r % G) * Cg // first channel of this row in w and b
    if (S === 1) {
      for (let j = 0; j < M; j++) y[base + j] = (x[base + j] - mu) * (rs * w[c0 + j]) + b[c0 + j]
    } else {
      for (let c = 0; c < Cg; c++) {
        const scale = rs * w[c0 + c], shift = b[c0 + c], o = base + c * S // channel run: (S,)
        for (let s = 0; s < S; s++) y[o + s] = (x[o + s] - mu) * scale + shift
      }
    }
  }
}

/**
 * Tuned `rowNormBackwardRef`: dx (R, M); dw, db (G * Cg,) float64, overwritten. Per row, the first
 * sweep reduces mean(g w) and mean(g w xhat) and accumulates dw, db; the second writes dx.
 */
export function rowNormBackward(dx: Arr, dw: Float64Array, db: Float64Array, g: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, d: RowNormDims, center: boolean): void {
  const { R, G, Cg, S } = d
  const M = Cg * S
  dw.fill(0, 0, G * Cg)
  db.fill(0, 0, G * Cg)
  for (let r = 0; r < R; r++) {
    const base = r * M, mu = mean[r], rs = rstd[r], c0 = (r % G) * Cg
    let a = 0, bq = 0
    for (let c = 0; c < Cg; c++) {
      const wc = w[c0 + c], o = base + c * S // channel run: (S,)
      let sg = 0, sgx = 0
      for (let s = 0; s < S; s++) { const gv = g[o + s]; const xh = (x[o + s] - mu) * rs; sg += gv; sgx += gv * xh }
      a += sg * wc
      bq += sgx * wc
      dw[c0 + c] += sgx
      db[c0 + c] += sg
    }
    const ma = center ? a / M : 0, mb = bq / M
    if (S === 1) {
      for (let j = 0; j < M; j++) dx[base + j] = rs * (g[base + j] * w[c0 + j] - ma - (x[base + j] - mu) * rs * mb)
    } else {
      for (let c = 0; c < Cg; c++) {
        const wc = w[c0 + c], o = base + c * S
        for (let s = 0; s < S; s++) dx[o + s] = rs * (g[o + s] * wc - ma - (x[o + s] - mu) * rs * mb)
      }
    }
  }
}

// ---------------------------------------------------------------- batch norm: oracles

/** Per-channel mean and biased variance of x (N, C, S) over N * S elements: mean, variance (C,). */
export function batchNormStatsRef(mean: Float64Array, variance: Float64Array, x: Arr, d: BatchNormDims): void {
  const { N, C, S } = d
  for (let c = 0; c < C; c++) {
    let mu = 0
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) mu += x[(n * C + c) * S + s]
    mu /= N * S
    let v = 0
    for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) { const dev = x[(n * C + c) * S + s] - mu; v += dev * dev }
    mean[c] = mu
    variance[c] = v / (N * S)
  }
}

/** y (N, C, S) = (x - mean[c]) rstd[c] w[c] + b[c]. */
export function batchNormApplyRef(y: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, b: Arr, d: BatchNormDims): void {
  const { N, C, S } = d
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let s = 0; s < S; s++) { const i = (n * C + c) * S + s; y[i] = (x[i] - mean[c]) * rstd[c] * w[c] + b[c] }
    }
  }
}

/**
 * dx (N, C, S), dw and db (C,): with batch statistics (training) dx = rstd w (g - mean(g) - xhat
 * mean(g xhat)) per channel; with fixed (running) statistics, dx = g rstd w.
 */
export function batchNormBackwardRef(dx: Arr, dw: Float64Array, db: Float64Array, g: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, d: BatchNormDims, training: boolean): void {
  const { N, C, S } = d
  const M = N * S
  for (let c = 0; c < C; c++) {
    let sg = 0, sgx = 0
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) { const i = (n * C + c) * S + s; sg += g[i]; sgx += g[i] * (x[i] - mean[c]) * rstd[c] }
    }
    dw[c] = sgx
    db[c] = sg
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = (n * C + c) * S + s
        const xh = (x[i] - mean[c]) * rstd[c]
        dx[i] = training ? rstd[c] * w[c] * (g[i] - sg / M - xh * (sgx / M)) : g[i] * rstd[c] * w[c]
      }
    }
  }
}

// ---------------------------------------------------------------- batch norm: tuned

/** Tuned `batchNormStatsRef`: sweeps x in memory order, accumulating per channel. */
export function batchNormStats(mean: Float64Array, variance: Float64Array, x: Arr, d: BatchNormDims): void {
  const { N, C, S } = d
  const M = N * S
  mean.fill(0, 0, C)
  variance.fill(0, 0, C)
  for (let n = 0; n < N; n++) {
    if (S === 1) for (let c = 0; c < C; c++) mean[c] += x[n * C + c]
    else for (let c = 0; c < C; c++) mean[c] += sum4(x, (n * C + c) * S, S)
  }
  for (let c = 0; c < C; c++) mean[c] /= M
  for (let n = 0; n < N; n++) {
    if (S === 1) for (let c = 0; c < C; c++) { const dev = x[n * C + c] - mean[c]; variance[c] += dev * dev }
    else for (let c = 0; c < C; c++) variance[c] += sumSqDev4(x, (n * C + c) * S, S, mean[c])
  }
  for (let c = 0; c < C; c++) variance[c] /= M
}

/** Tuned `batchNormApplyRef`. */
export function batchNormApply(y: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, b: Arr, d: BatchNormDims): void {
  const { N, C, S } = d
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c], scale = rstd[c] * w[c], shift = b[c], o = (n * C + c) * S // (S,)
      for (let s = 0; s < S; s++) y[o + s] = (x[o + s] - mu) * scale + shift
    }
  }
}

let bnScratch = new Float64Array(0) // (2C,): per-channel sums of g and g * xhat, then dx coefficients

/** Tuned `batchNormBackwardRef`: one sweep for the per-channel sums, one for dx. */
export function batchNormBackward(dx: Arr, dw: Float64Array, db: Float64Array, g: Arr, x: Arr, mean: Float64Array, rstd: Float64Array, w: Arr, d: BatchNormDims, training: boolean): void {
  const { N, C, S } = d
  const M = N * S
  if (bnScratch.length < 2 * C) bnScratch = new Float64Array(2 * C)
  const sg = db, sgx = dw // accumulate straight into the outputs
  sg.fill(0, 0, C)
  sgx.fill(0, 0, C)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const mu = mean[c], o = (n * C + c) * S
      let a = 0, bq = 0
      for (let s = 0; s < S; s++) { const gv = g[o + s]; a += gv; bq += gv * (x[o + s] - mu) }
      sg[c] += a
      sgx[c] += bq
    }
  }
  const k = bnScratch // k[c] = rstd w, k[C + c] = mean(g xhat) * rstd (the xhat coefficient of dx)
  for (let c = 0; c < C; c++) {
    sgx[c] *= rstd[c] // dw = sum g xhat
    k[c] = rstd[c] * w[c]
    k[C + c] = (sgx[c] / M) * rstd[c]
  }
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const o = (n * C + c) * S, kc = k[c]
      if (!training) { for (let s = 0; s < S; s++) dx[o + s] = g[o + s] * kc; continue }
      const mg = sg[c] / M, mu = mean[c], kx = k[C + c]
      for (let s = 0; s < S; s++) dx[o + s] = kc * (g[o + s] - mg - (x[o + s] - mu) * kx)
    }
  }
}

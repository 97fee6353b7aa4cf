/**
 * @file Paper 16's uncertainty scores and metrics: "Window-Based Early-Exit Cascades for Uncertainty
 * Estimation: When Deep Ensembles are More Efficient than Single Models" (Xia & Bouganis, ICCV 2023),
 * https://arxiv.org/abs/2303.08010; code Guoxoug/window-early-exit (utils/eval_utils.py).
 *
 * Every score here is a *confidence* s (higher = more confident / more in-distribution): selective
 * classification accepts samples with s ≥ τ, OOD detection calls s ≥ τ in-distribution.
 * Shapes: probabilities or logits (N, C); scores and correctness flags (N).
 */
import { TesseraError, check, fmtShape } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'

/** 'msp' max softmax probability; 'entropy' −H(p); 'margin' p(1) − p(2) (binary: 2|p − ½|); 'energy' logsumexp(logits). */
export type ScoreKind = 'msp' | 'entropy' | 'margin' | 'energy'

type Numbers = Tensor | ArrayLike<number>
const toArray = (x: Numbers): Float64Array => Float64Array.from('data' in x && typeof x.data === 'function' ? (x as Tensor).data() : (x as ArrayLike<number>))

/**
 * Confidence scores of a batch of predictions (float64). From probabilities (default):
 *   msp = max_c p_c,   entropy = Σ_c p_c log p_c (= −H, 0 log 0 = 0),   margin = p_(1) − p_(2);
 * from logits (`input: 'logits'`) the same on softmax(z), plus energy = logsumexp_c z_c (= −E(z)).
 * Reference: Hendrycks & Gimpel 2017 (MSP), Liu et al. 2020 (energy), Guoxoug/window-early-exit utils/eval_utils.py.
 * @example
 *   uncertaintyScore(logits, 'entropy', { input: 'logits' }) // (N): −H(softmax(z))
 */
export function uncertaintyScore(x: Tensor, kind: ScoreKind, opts: { input?: 'probs' | 'logits' } = {}): Float64Array {
  const input = opts.input ?? 'probs'
  check(x.ndim === 2, 'uncertaintyScore', () => `expected (N, C) ${input}, got ${fmtShape(x.shape)}`)
  if (kind === 'energy') {
    check(input === 'logits', 'uncertaintyScore', () => "'energy' needs logits (input: 'logits')")
    return toArray(x.to('float64').logsumexp(-1))
  }
  const p = input === 'logits' ? x.to('float64').softmax(-1) : x.to('float64') // (N, C)
  const [N, C] = p.shape
  const d = p.contiguous().data() as Float64Array
  const out = new Float64Array(N) // (N)
  for (let i = 0; i < N; i++) {
    let top = -Infinity, second = -Infinity, negH = 0
    for (let c = 0; c < C; c++) {
      const v = d[i * C + c]
      if (v > top) { second = top; top = v } else if (v > second) second = v
      if (v > 0) negH += v * Math.log(v)
    }
    if (kind === 'msp') out[i] = top
    else if (kind === 'entropy') out[i] = negH
    else if (kind === 'margin') out[i] = C > 1 ? top - second : top
    else throw new TesseraError(`uncertaintyScore: unknown kind ${JSON.stringify(kind)}; expected msp, entropy, margin or energy`)
  }
  return out
}

/** A risk-coverage curve with its operating points. */
export interface RiskCoverage {
  /** k/N for k = 0..N (N + 1 points). */
  coverage: Float64Array
  /** Error rate among the k most confident samples; risk[0] = 0 as in the paper's code. */
  risk: Float64Array
  /** thresholds[k] = the k-th highest score (accept s ≥ thresholds[k] to cover k samples); thresholds[0] = +∞. */
  thresholds: Float64Array
  /** Area under the curve, trapezoidal rule over coverage. */
  aurc: number
  /** The largest coverage (k ≥ 1) whose risk is ≤ r, and its threshold (coverage 0 and τ = +∞ if none). */
  coverageAtRisk(r: number): { coverage: number; threshold: number }
  /** The risk when covering ceil(c·N) samples (c ∈ (0, 1]), and its threshold. */
  riskAtCoverage(c: number): { risk: number; threshold: number }
}

/**
 * Selective-classification risk-coverage curve: sort by confidence (descending), risk_k = errors
 * among the top k / k, AURC = ∫ risk d coverage (trapezoid, with the point (0, 0)).
 * NOTE: tied scores cannot be separated by any threshold, so within a block of ties the errors are
 * spread evenly (the expectation over random tie-breaking) instead of following input order.
 * Reference: Geifman & El-Yaniv 2017, https://arxiv.org/abs/1705.08500; Guoxoug/window-early-exit `risk_coverage_curve`.
 * @example
 *   riskCoverage([0.9, 0.8, 0.7], [1, 0, 1]).aurc
 */
export function riskCoverage(scores: Numbers, correct: ArrayLike<number | boolean>): RiskCoverage {
  const s = toArray(scores)
  const N = s.length
  check(N > 0 && correct.length === N, 'riskCoverage', () => `need as many correctness flags as scores (> 0), got ${correct.length} and ${N}`)
  const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a])
  const coverage = new Float64Array(N + 1), risk = new Float64Array(N + 1), thresholds = new Float64Array(N + 1)
  thresholds[0] = Infinity
  let errBefore = 0
  for (let start = 0; start < N;) {
    let end = start
    let blockErr = 0
    while (end < N && s[order[end]] === s[order[start]]) blockErr += correct[order[end++]] ? 0 : 1
    for (let k = start + 1; k <= end; k++) {
      const cumErr = errBefore + (blockErr * (k - start)) / (end - start)
      coverage[k] = k / N
      risk[k] = cumErr / k
      thresholds[k] = s[order[k - 1]]
    }
    errBefore += blockErr
    start = end
  }
  let aurc = 0
  for (let k = 1; k <= N; k++) aurc += ((risk[k] + risk[k - 1]) / 2) * (coverage[k] - coverage[k - 1])
  return {
    coverage, risk, thresholds, aurc,
    coverageAtRisk(r: number) {
      for (let k = N; k >= 1; k--) if (risk[k] <= r) return { coverage: coverage[k], threshold: thresholds[k] }
      return { coverage: 0, threshold: Infinity }
    },
    riskAtCoverage(c: number) {
      check(c > 0 && c <= 1, 'riskCoverage.riskAtCoverage', () => `coverage must be in (0, 1], got ${c}`)
      const k = Math.min(N, Math.ceil(c * N - 1e-9))
      return { risk: risk[k], threshold: thresholds[k] }
    },
  }
}

/**
 * OOD detection with in-distribution as the positive class: AUROC = P(s_in > s_out) + ½ P(s_in = s_out)
 * (Mann-Whitney), and FPR@95 = the fraction of OOD scores ≥ τ₉₅, the largest threshold that keeps
 * ≥ 95% of in-distribution scores.
 * Reference: Hendrycks & Gimpel 2017, https://arxiv.org/abs/1610.02136
 * @example
 *   aurocFpr95([0.9, 0.8], [0.1, 0.85]) // { auroc: 0.75, fpr95: 0.5 }
 */
export function aurocFpr95(scoresIn: Numbers, scoresOut: Numbers): { auroc: number; fpr95: number } {
  const a = toArray(scoresIn), b = toArray(scoresOut)
  check(a.length > 0 && b.length > 0, 'aurocFpr95', () => `needs both in- and out-of-distribution scores, got ${a.length} and ${b.length}`)
  const all = [...Array.from(a, (v) => [v, 1] as const), ...Array.from(b, (v) => [v, 0] as const)].sort((x, y) => x[0] - y[0])
  // Rank-sum with average ranks for ties.
  let rankSumIn = 0
  for (let i = 0; i < all.length;) {
    let j = i
    while (j < all.length && all[j][0] === all[i][0]) j++
    const avgRank = (i + 1 + j) / 2
    for (let k = i; k < j; k++) if (all[k][1] === 1) rankSumIn += avgRank
    i = j
  }
  const auroc = (rankSumIn - (a.length * (a.length + 1)) / 2) / (a.length * b.length)
  const sortedIn = Float64Array.from(a).sort().reverse()
  const tau = sortedIn[Math.ceil(0.95 * a.length - 1e-9) - 1]
  const fpr95 = b.reduce((n, v) => n + (v >= tau ? 1 : 0), 0) / b.length
  return { auroc, fpr95 }
}

/**
 * @file Paper 16: "Window-Based Early-Exit Cascades for Uncertainty Estimation: When Deep Ensembles
 * are More Efficient than Single Models" (Xia & Bouganis, ICCV 2023), https://arxiv.org/abs/2303.08010;
 * code Guoxoug/window-early-exit (utils/cascade_utils.py, cascade_results.py).
 *
 * An ensemble evaluated as a cascade: member 1 runs on every sample; a sample goes on to member 2
 * (and the output becomes the float64 mean of both softmaxes, with its score recomputed after
 * averaging) only if member 1's confidence s₁ lies in a window [lo, hi] around the operating threshold
 * τ of the uncertainty task (selective classification / OOD detection). Samples far from τ cannot
 * change their accept/reject decision, so they exit early. K > 2 members chain the same rule on the
 * running ensemble. The older threshold policy (for accuracy) passes on s ≤ t (exits when s > t).
 *
 * Shapes: inputs (N, ...) per member; logits (N, C); probabilities (N, C) float64; scores (N).
 * Confidence scores and metrics live in ./16-risk-coverage.ts.
 */
import { TesseraError, check, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { tensor } from '../../creation.ts'
import type { Tensor } from '../../tensor.ts'
import { countMacs } from '../../profile.ts'
import { uncertaintyScore, type ScoreKind } from './16-risk-coverage.ts'

/** A cascade member: a module or function mapping inputs (N, ...) to logits (N, C). */
export type CascadeMember = { forward(x: Tensor): Tensor } | ((x: Tensor) => Tensor)

export interface CascadeOptions {
  members: CascadeMember[]
  /** 'window' (this paper, default) passes on iff lo ≤ s ≤ hi; 'threshold' passes on iff s ≤ t. */
  policy?: 'window' | 'threshold'
  /** [lo, hi], or one window per transition (members.length − 1 of them). */
  window?: [number, number] | [number, number][]
  /** Exit threshold t (threshold policy), or one per transition. */
  threshold?: number | number[]
  /** Confidence score of the running ensemble (default 'msp'). */
  score?: Exclude<ScoreKind, 'energy'>
}

/** The cascade's output on a batch. */
export interface CascadeOutput {
  /** Final probabilities (N, C) float64: member 1's softmax, or the mean over the members run. */
  probs: Tensor
  /** Confidence of the final probabilities (N). */
  scores: Float64Array
  /** Index of the last member each sample ran through (N); 0 = exited after member 1. */
  exitStage: Int32Array
  /** Samples that reached member k (k = 0..K−1); stageCounts[0] = N. */
  stageCounts: number[]
  /** MACs each member spent on the batch (measured with profile.countMacs; 0 if it did not run). */
  stageMacs: number[]
  /** Total MACs, Σ stageMacs, and per sample. */
  macs: number
  avgMacs: number
}

const callMember = (m: CascadeMember, x: Tensor): Tensor => (typeof m === 'function' ? m(x) : m.forward(x))

/** Per-transition pass-on test from the options. */
function passRule(opts: CascadeOptions, K: number): ((s: number) => boolean)[] {
  const policy = opts.policy ?? 'window'
  const per = <T>(v: T | T[] | undefined, isList: boolean, what: string): T[] => {
    if (v === undefined) throw new TesseraError(`Cascade: the ${policy} policy needs \`${what}\``)
    const list = isList ? (v as T[]) : Array.from({ length: K - 1 }, () => v as T)
    check(list.length === K - 1, 'Cascade', () => `${what} must be one value or ${K - 1} (one per transition), got ${list.length}`)
    return list
  }
  if (policy === 'window') {
    const w = opts.window
    const windows = per(w, Array.isArray(w) && Array.isArray(w[0]), 'window') as [number, number][]
    // Eqn (window rule, cascade_utils.window_threshold_strategy): continue iff lo ≤ s ≤ hi.
    return windows.map(([lo, hi]) => (s: number) => s >= lo && s <= hi)
  }
  if (policy === 'threshold') return per(opts.threshold, Array.isArray(opts.threshold), 'threshold').map((t) => (s: number) => s <= t)
  throw new TesseraError(`Cascade: unknown policy ${JSON.stringify(policy)}; expected 'window' or 'threshold'`)
}

/**
 * Routes precomputed member outputs the way the cascade would (the paper's offline evaluation from
 * saved logits): member k's probs (N, C) for every sample; returns the final probs, scores and exit
 * stages. `memberMacs` (per-sample MACs of each member) gives avgMacs = Σ_k frac_k · MACs_k with
 * frac_k the fraction of samples reaching member k.
 */
export function cascadeOutputs(stageProbs: Tensor[], opts: Omit<CascadeOptions, 'members'>, memberMacs?: number[]): Omit<CascadeOutput, 'stageMacs' | 'macs'> {
  const K = stageProbs.length
  check(K >= 1, 'cascadeOutputs', () => 'needs at least one member')
  const [N, C] = stageProbs[0].shape
  stageProbs.forEach((p, k) => check(p.ndim === 2 && p.shape[0] === N && p.shape[1] === C, 'cascadeOutputs', () =>
    `member ${k} probs must be (${N}, ${C}), got ${fmtShape(p.shape)}`))
  const rules = K > 1 ? passRule({ ...opts, members: [] }, K) : []
  const kind = opts.score ?? 'msp'
  const P = stageProbs.map((p) => p.to('float64').contiguous().data() as Float64Array) // K x (N, C)
  const out = new Float64Array(P[0]) // (N, C): running ensemble mean
  const exitStage = new Int32Array(N)
  const stageCounts = [N]
  let active = Array.from({ length: N }, (_, i) => i)
  for (let k = 1; k < K && active.length > 0; k++) {
    const s = uncertaintyScore(rowsOf(out, active, C), kind)
    active = active.filter((_, j) => rules[k - 1](s[j]))
    for (const i of active) {
      exitStage[i] = k
      for (let c = 0; c < C; c++) out[i * C + c] = (out[i * C + c] * k + P[k][i * C + c]) / (k + 1) // mean of members 0..k
    }
    stageCounts.push(active.length)
  }
  while (stageCounts.length < K) stageCounts.push(0)
  const probs = tensor(Array.from(out), { dtype: 'float64' }).reshape([N, C])
  const avgMacs = memberMacs ? stageCounts.reduce((a, n, k) => a + (n / N) * memberMacs[k], 0) : NaN
  return { probs, scores: uncertaintyScore(probs, kind), exitStage, stageCounts, avgMacs }
}

function rowsOf(flat: Float64Array, rows: number[], C: number): Tensor {
  const sub = new Float64Array(rows.length * C) // (|rows|, C)
  rows.forEach((i, j) => sub.set(flat.subarray(i * C, (i + 1) * C), j * C))
  return tensor(Array.from(sub), { dtype: 'float64' }).reshape([rows.length, C])
}

/**
 * A window-based early-exit cascade over an ensemble. `forward(x)` really runs member k only on the
 * samples that reached it (an index_select of x), counts each member's MACs, and combines by the
 * float64 mean of softmaxes (scores recomputed after averaging, as cascade_results.py).
 *   exit after member k  unless  lo_k ≤ s(p̄_k) ≤ hi_k,      p̄_k = (1/(k+1)) Σ_{j ≤ k} softmax(z_j)
 * Reference: https://arxiv.org/abs/2303.08010, Guoxoug/window-early-exit utils/cascade_utils.py
 * @example
 *   const cascade = new Cascade({ members: [small1, small2], window: fitWindow(valScores, tau, 0.2) })
 *   const { probs, avgMacs } = cascade.forward(x)
 */
export class Cascade {
  readonly members: CascadeMember[]
  private readonly rules: ((s: number) => boolean)[]
  readonly score: Exclude<ScoreKind, 'energy'>

  constructor(readonly opts: CascadeOptions) {
    check(opts.members.length >= 1, 'Cascade', () => 'needs at least one member')
    this.members = opts.members
    this.rules = opts.members.length > 1 ? passRule(opts, opts.members.length) : []
    this.score = opts.score ?? 'msp'
  }

  forward(x: Tensor): CascadeOutput {
    return noGrad(() => {
      const N = x.shape[0], K = this.members.length
      let C = 0
      let out = new Float64Array(0) // (N, C): running ensemble mean
      const exitStage = new Int32Array(N)
      const stageCounts: number[] = [], stageMacs: number[] = []
      let active = Array.from({ length: N }, (_, i) => i)
      for (let k = 0; k < K; k++) {
        if (k > 0 && active.length > 0) {
          const s = uncertaintyScore(rowsOf(out, active, C), this.score)
          active = active.filter((_, j) => this.rules[k - 1](s[j]))
        }
        stageCounts.push(k === 0 ? N : active.length)
        if (active.length === 0) { stageMacs.push(0); continue }
        const xs = k === 0 ? x : x.indexSelect(0, tensor(active, { dtype: 'int32' })) // (n_k, ...)
        const { macs, result } = countMacs(() => callMember(this.members[k], xs))
        stageMacs.push(macs)
        check(result.ndim === 2 && result.shape[0] === xs.shape[0], 'Cascade', () => `member ${k} must return (n, C) logits, got ${fmtShape(result.shape)}`)
        const p = result.to('float64').softmax(-1).contiguous().data() as Float64Array // (n_k, C)
        if (k === 0) { C = result.shape[1]; out = new Float64Array(p); continue }
        check(result.shape[1] === C, 'Cascade', () => `member ${k} returns ${result.shape[1]} classes, member 0 ${C}`)
        active.forEach((i, j) => {
          exitStage[i] = k
          for (let c = 0; c < C; c++) out[i * C + c] = (out[i * C + c] * k + p[j * C + c]) / (k + 1)
        })
      }
      const probs = tensor(Array.from(out), { dtype: 'float64' }).reshape([N, C])
      const macs = stageMacs.reduce((a, b) => a + b, 0)
      return { probs, scores: uncertaintyScore(probs, this.score), exitStage, stageCounts, stageMacs, macs, avgMacs: macs / N }
    })
  }
}

/**
 * Percentile of τ among the scores, scipy's `percentileofscore(kind='rank')`/100: the mean of the
 * fractions strictly below and at-or-below τ.
 */
export function quantileOfScore(scores: ArrayLike<number>, tau: number): number {
  let below = 0, atOrBelow = 0
  for (let i = 0; i < scores.length; i++) { if (scores[i] < tau) below++; if (scores[i] <= tau) atOrBelow++ }
  return (below + atOrBelow) / 2 / scores.length
}

/** The q-quantile with linear interpolation between order statistics (torch.quantile's default). */
export function quantile(scores: ArrayLike<number>, q: number): number {
  const s = Float64Array.from(scores).sort()
  check(s.length > 0 && q >= 0 && q <= 1, 'quantile', () => `needs scores and q in [0, 1], got ${s.length} scores, q = ${q}`)
  const pos = q * (s.length - 1), i = Math.floor(pos)
  return i + 1 < s.length ? s[i] + (pos - i) * (s[i + 1] - s[i]) : s[i]
}

/**
 * Fits the window on validation confidences: with q = quantileOfScore(val, τ),
 *   [lo, hi] = [quantile(val, q − f/2), quantile(val, q + f/2)]
 * so a fraction f of the samples (those nearest τ in rank) passes on (paper: f = 0.2).
 * NOTE: cascade_results.py clamps q ± f/2 to [0, 1], which passes fewer than f near the ends; here
 * the interval is shifted inside [0, 1] instead, so the pass fraction is met (τ stays inside).
 * Reference: Guoxoug/window-early-exit cascade_results.py
 * @example
 *   const tau = riskCoverage(valS1, valCorrect).riskAtCoverage(0.8).threshold
 *   const window = fitWindow(valS1, tau, 0.2)
 */
export function fitWindow(valScores: ArrayLike<number>, tau: number, passFraction = 0.2): [number, number] {
  check(passFraction >= 0 && passFraction <= 1, 'fitWindow', () => `passFraction must be in [0, 1], got ${passFraction}`)
  const q = quantileOfScore(valScores, tau)
  let lo = q - passFraction / 2, hi = q + passFraction / 2
  if (lo < 0) { hi -= lo; lo = 0 }
  if (hi > 1) { lo -= hi - 1; hi = 1 }
  return [quantile(valScores, Math.max(0, lo)), quantile(valScores, Math.min(1, hi))]
}

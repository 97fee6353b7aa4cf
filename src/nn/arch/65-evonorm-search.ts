/**
 * @file Paper 65 — EvoNorm: "Evolving Normalization-Activation Layers" (Liu, Brock, Simonyan, Le,
 * NeurIPS 2020), https://arxiv.org/abs/2004.02967, Sec. 4: the evolutionary search over layer graphs
 * (DSL in 65-evonorm-graph.ts) with the paper's two rejection protocols, on a tiny proxy task.
 *   Evolution    regularized evolution: a population of `popSize` accepted layers (oldest dies first);
 *                each step samples `tournament` members, picks a winner uniformly from the Pareto
 *                front of the sample (= the best for one objective), mutates one node, evaluates the child.
 *   Stability    (b) x (N, C, H, W) = conv1x1(h; s·W₀) feeds the layer; L = mean(y ⊙ r) for fixed random
 *                h, W₀, r. λ(s) = ‖∂L/∂(W, v0, v1, γ, β)‖₂; λ = max_s λ(s) over a log grid of weight
 *                scalings s (the adversarial direction normalization layers are exposed to); reject
 *                when λ > maxGradNorm (default 1e8) or any output / gradient is NaN or ±Inf.
 *   Quality      (a) train a small pre-activation ResNet (every norm-act pair = the candidate) on the
 *                proxy data for a few steps; reject when held-out accuracy < minAccuracy (paper: 20%
 *                CIFAR-10 accuracy after 100 steps).
 * NOTE: the paper maximizes the gradient norm by gradient ascent on the weights; here the adversary is
 * restricted to the one-parameter family of weight scalings, searched exhaustively on a log grid.
 *   Fitness      held-out accuracy on each proxy (several proxies, e.g. two batch sizes = multi-objective).
 * Proxy images are NCHW (B, 1, H, W); every random draw comes from a seeded Generator, so a search is
 * bitwise reproducible for its seed (each candidate trains from the same initial weights and batches).
 */
import { TesseraError } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { conv2d } from '../../conv.ts'
import { randn, tensor } from '../../creation.ts'
import { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { AdamW } from '../../optim/adamw.ts'
import { Conv2d } from '../conv.ts'
import { Linear } from '../linear.ts'
import { crossEntropy } from '../losses.ts'
import { Module } from '../module.ts'
import {
  EvoLayer, LEAVES, PRIMITIVES, dependsOnX, formula, mutate, randomGraph, validateGraph,
  type EvoLayerOptions, type LayerGraph, type MutationKind, type PrimitiveName,
} from './65-evonorm-graph.ts'

// ------------------------------------------------------------------ (b) stability

export interface StabilityOptions {
  /** Weight scalings s of the conv feeding the layer (default 10^-3 … 10^3). */
  scales?: readonly number[]
  /** Reject when max_s λ(s) exceeds this (default 1e8). */
  maxGradNorm?: number
  channels?: number
  layer?: EvoLayerOptions
  seed?: number
}
export interface StabilityResult { stable: boolean; reason: 'nonfinite' | 'explode' | null; maxGradNorm: number; worstScale: number }

const DEFAULT_SCALES = [1e-3, 1e-2, 1e-1, 1, 1e1, 1e2, 1e3]
const finite = (t: Tensor): boolean => Number.isFinite(t.abs().sum().item())

/**
 * Numerical-stability check (paper Sec. 4, rejection (b)): the worst gradient norm over adversarial
 * scalings of the preceding conv's weights, in float32 (what training uses).
 * Reference: https://arxiv.org/abs/2004.02967 (Sec. 4)
 * @example
 *   stabilityCheck(parseLayer('x * exp(x)')).stable   // false (exp overflows)
 *   stabilityCheck(parseLayer(KNOWN_LAYERS['bn-relu'])).stable // true
 */
export function stabilityCheck(graph: LayerGraph, opts: StabilityOptions = {}): StabilityResult {
  const C = opts.channels ?? 8, N = 4, H = 4
  const gen = new Generator(opts.seed ?? 0)
  const h = randn([N, C, H, H], { generator: gen }) // (N, C, H, W) activations before the conv
  const W0 = randn([C, C, 1, 1], { generator: gen }).div(Math.sqrt(C)) // (C, C, 1, 1)
  const r = randn([N, C, H, H], { generator: gen }) // (N, C, H, W) fixed random loss direction
  let worst = 0, worstScale = 1
  for (const s of opts.scales ?? DEFAULT_SCALES) {
    const layer = new EvoLayer(graph, C, opts.layer)
    const W = W0.mul(s).requiresGrad_() // (C, C, 1, 1)
    const y = layer.forward(conv2d(h, W)) // (N, C, H, W)
    if (!finite(noGrad(() => y.detach()))) return { stable: false, reason: 'nonfinite', maxGradNorm: Infinity, worstScale: s }
    y.mul(r).mean().backward()
    let sq = 0
    for (const p of [W, ...layer.parameters()]) {
      if (p.grad === null) continue
      const g2 = p.grad.square().sum().item()
      if (!Number.isFinite(g2)) return { stable: false, reason: 'nonfinite', maxGradNorm: Infinity, worstScale: s }
      sq += g2
    }
    const lam = Math.sqrt(sq)
    if (lam > worst) { worst = lam; worstScale = s }
  }
  const bound = opts.maxGradNorm ?? 1e8
  return { stable: worst <= bound, reason: worst <= bound ? null : 'explode', maxGradNorm: worst, worstScale }
}

// ------------------------------------------------------------------ (a) proxy task

/** Proxy data: images (B, 1, H, W) float32 and int32 labels. */
export interface ProxyData { xTrain: Tensor; yTrain: Tensor; xVal: Tensor; yVal: Tensor }
export interface ProxyOptions {
  batch?: number // default 32
  steps?: number // default 40
  lr?: number // default 1e-2 (AdamW)
  channels?: number // default 8
  classes?: number // default 10
  seed?: number // initial weights and batch order, shared by every candidate (default 0)
}
export interface ProxyResult { accuracy: number; finalLoss: number; nonfinite: boolean }

type MakeLayer = (channels: number) => Module
const call = (m: Module, x: Tensor): Tensor => (m.forward as (t: Tensor) => Tensor)(x)

/** stem conv → pre-act residual block (norm-act, conv, norm-act, conv) → norm-act → 2x2 avg pool → linear. Square H×H inputs, H even. */
export class ProxyResNet extends Module {
  stem: Conv2d; na1: Module; conv1: Conv2d; na2: Module; conv2: Conv2d; na3: Module; head: Linear
  constructor(make: MakeLayer, C: number, classes: number, g: Generator, H = 8) {
    super()
    this.stem = new Conv2d(1, C, 3, { padding: 1, bias: false, generator: g })
    this.na1 = make(C)
    this.conv1 = new Conv2d(C, C, 3, { padding: 1, bias: false, generator: g })
    this.na2 = make(C)
    this.conv2 = new Conv2d(C, C, 3, { padding: 1, bias: false, generator: g })
    this.na3 = make(C)
    this.head = new Linear(C * (H >> 1) * (H >> 1), classes, { generator: g })
  }
  forward(x: Tensor): Tensor { // x (B, 1, H, W) → (B, classes)
    const [B, , H, W] = x.shape
    const h = this.stem.forward(x) // (B, C, H, W)
    const r = h.add(this.conv2.forward(call(this.na2, this.conv1.forward(call(this.na1, h))))) // (B, C, H, W)
    const a = call(this.na3, r).reshape([B, -1, H >> 1, 2, W >> 1, 2]).mean([3, 5]) // (B, C, H/2, W/2): 2x2 average pool
    return this.head.forward(a.reshape([B, -1]))
  }
}

/**
 * Short proxy training of a ProxyResNet whose norm-act layers come from `make`; returns held-out
 * accuracy (eval mode). Stops early with nonfinite = true if a loss is NaN/Inf.
 */
export function proxyTrain(make: MakeLayer, data: ProxyData, opts: ProxyOptions = {}): ProxyResult {
  const { batch = 32, steps = 40, lr = 1e-2, channels = 8, classes = 10, seed = 0 } = opts
  const g = new Generator(seed)
  const model = new ProxyResNet(make, channels, classes, g, data.xTrain.shape[2])
  const opt = new AdamW(model.parameters(), { lr, weightDecay: 1e-4 })
  const n = data.xTrain.shape[0]
  let perm: number[] = [], at = n, finalLoss = NaN
  for (let step = 0; step < steps; step++) {
    if (at + batch > n) { // new epoch: Fisher-Yates shuffle from the proxy's generator
      perm = [...Array(n).keys()]
      for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [perm[i], perm[j]] = [perm[j], perm[i]] }
      at = 0
    }
    const idx = tensor(perm.slice(at, at + batch), { dtype: 'int32' }); at += batch
    model.zeroGrad()
    const loss = crossEntropy(model.forward(data.xTrain.indexSelect(0, idx)), data.yTrain.indexSelect(0, idx))
    finalLoss = loss.item()
    if (!Number.isFinite(finalLoss)) return { accuracy: 0, finalLoss, nonfinite: true }
    loss.backward()
    opt.step()
  }
  model.eval()
  const logits = noGrad(() => model.forward(data.xVal)) // (V, classes)
  if (!finite(logits)) return { accuracy: 0, finalLoss, nonfinite: true }
  return { accuracy: logits.argmax(1).eq(data.yVal).float().mean().item(), finalLoss, nonfinite: false }
}

// ------------------------------------------------------------------ selection

/** Indices of the non-dominated points (maximize every objective). */
export function paretoFront(points: readonly (readonly number[])[]): number[] {
  const dominates = (a: readonly number[], b: readonly number[]): boolean => a.every((v, i) => v >= b[i]) && a.some((v, i) => v > b[i])
  return points.map((_, i) => i).filter((i) => !points.some((q, j) => j !== i && dominates(q, points[i])))
}

/**
 * Tournament selection: sample k distinct members, return one uniformly from the Pareto front of the
 * sample (for one objective: a best of the k).
 */
export function tournamentSelect(fitness: readonly (readonly number[])[], k: number, gen: Generator): { winner: number; sampled: number[] } {
  if (fitness.length === 0) throw new TesseraError('tournamentSelect: empty population')
  const pool = [...fitness.keys()]
  const sampled: number[] = []
  for (let i = 0; i < Math.min(k, pool.length); i++) sampled.push(pool.splice(gen.nextInt(0, pool.length), 1)[0])
  const front = paretoFront(sampled.map((i) => fitness[i]))
  return { winner: sampled[front[gen.nextInt(0, front.length)]], sampled }
}

// ------------------------------------------------------------------ the search

export type CandidateStatus = 'accepted' | 'quality' | 'explode' | 'nonfinite' | 'invalid'
export interface TraceEntry {
  id: number
  parent: number // -1 for the random initial population
  mutation: MutationKind | 'random'
  formula: string
  status: CandidateStatus
  fitness: number[] | null // held-out accuracy per proxy (null when rejected before training)
  gradNorm: number
  cached: boolean
}
export interface EvoSearchOptions {
  data: ProxyData
  /** One proxy per objective (default one proxy with ProxyOptions defaults). */
  proxies?: ProxyOptions[]
  primitives?: readonly PrimitiveName[]
  popSize?: number // default 16
  tournament?: number // default 4
  candidates?: number // total evaluated candidates, initial population included (default 64)
  /** Random draws stop when the population is full or this many candidates were used (default candidates / 2). */
  initCandidates?: number
  initNodes?: [number, number] // size range of random initial graphs (default [3, 6])
  maxNodes?: number // default 10
  rejection?: { minAccuracy?: number; maxGradNorm?: number; scales?: readonly number[] }
  layer?: EvoLayerOptions
  seed?: number
  log?: (line: string) => void
}
export interface EvoSearchResult {
  /** Highest mean fitness among accepted candidates (earliest on ties); null if every candidate was rejected. */
  best: TraceEntry | null
  /** Accepted candidates that no other accepted candidate dominates. */
  pareto: TraceEntry[]
  population: TraceEntry[]
  trace: TraceEntry[]
  rejected: Record<Exclude<CandidateStatus, 'accepted'>, number>
  rejectedFraction: number
}

/**
 * Evolutionary search over normalization-activation layers (paper Sec. 4) with the quality and
 * stability rejection protocols. Deterministic for a seed.
 * Reference: https://arxiv.org/abs/2004.02967 (Sec. 4, Fig. 3)
 * @example
 *   const r = evoLayer({ data, popSize: 16, tournament: 4, candidates: 64, rejection: { minAccuracy: 0.3 } })
 *   r.best.formula // e.g. 'x * sigmoid(x) / std_G(x)'
 */
export function evoLayer(opts: EvoSearchOptions): EvoSearchResult {
  const { data, popSize = 16, tournament = 4, candidates = 64, maxNodes = 10, seed = 0, log = () => {} } = opts
  const proxies = opts.proxies ?? [{}]
  const prims = opts.primitives ?? PRIMITIVES
  const [lo, hi] = opts.initNodes ?? [3, 6]
  const minAcc = opts.rejection?.minAccuracy ?? 0.2
  if (!(popSize >= 1 && tournament >= 1 && candidates >= 1 && proxies.length >= 1)) {
    throw new TesseraError(`evoLayer: popSize ${popSize}, tournament ${tournament}, candidates ${candidates} and proxies ${proxies.length} must be >= 1`)
  }
  const gen = new Generator(seed)
  const cache = new Map<string, Pick<TraceEntry, 'status' | 'fitness' | 'gradNorm'>>()
  const trace: TraceEntry[] = []
  const population: TraceEntry[] = [] // oldest first
  const graphs = new Map<number, LayerGraph>()

  const evaluate = (graph: LayerGraph): Pick<TraceEntry, 'status' | 'fitness' | 'gradNorm'> => {
    validateGraph(graph)
    if (!dependsOnX(graph)[LEAVES.length + graph.nodes.length - 1]) return { status: 'invalid', fitness: null, gradNorm: NaN }
    const st = stabilityCheck(graph, { channels: proxies[0].channels, layer: opts.layer, maxGradNorm: opts.rejection?.maxGradNorm, scales: opts.rejection?.scales, seed })
    if (!st.stable) return { status: st.reason ?? 'explode', fitness: null, gradNorm: st.maxGradNorm }
    const fitness: number[] = []
    for (const p of proxies) {
      const r = proxyTrain((c) => new EvoLayer(graph, c, opts.layer), data, { seed, ...p })
      if (r.nonfinite) return { status: 'nonfinite', fitness: null, gradNorm: st.maxGradNorm }
      fitness.push(r.accuracy)
    }
    return { status: fitness.some((a) => a < minAcc) ? 'quality' : 'accepted', fitness, gradNorm: st.maxGradNorm }
  }

  const add = (graph: LayerGraph, parent: number, mutation: TraceEntry['mutation']): void => {
    const f = formula(graph)
    const hit = cache.get(f)
    const res = hit ?? evaluate(graph)
    cache.set(f, res)
    const entry: TraceEntry = { id: trace.length, parent, mutation, formula: f, ...res, fitness: res.fitness && [...res.fitness], cached: hit !== undefined }
    trace.push(entry)
    graphs.set(entry.id, graph)
    if (entry.status === 'accepted') {
      population.push(entry)
      if (population.length > popSize) population.shift() // regularized evolution: the oldest dies
    }
    log(`#${entry.id} ${entry.status.padEnd(9)} ${entry.fitness ? entry.fitness.map((a) => (100 * a).toFixed(1)).join('/') : '-'.padStart(4)}  ${f}`)
  }

  // Random initial population (rejected draws also count as candidates); evolution starts early if
  // random draws use up initCandidates before popSize of them were accepted.
  const initBudget = Math.min(candidates, opts.initCandidates ?? Math.max(1, Math.floor(candidates / 2)))
  while (trace.length < initBudget && population.length < popSize) add(randomGraph(gen, gen.nextInt(lo, hi + 1), prims), -1, 'random')
  while (trace.length < candidates) {
    if (population.length === 0) { add(randomGraph(gen, gen.nextInt(lo, hi + 1), prims), -1, 'random'); continue }
    const { winner } = tournamentSelect(population.map((e) => e.fitness as number[]), tournament, gen)
    const parent = population[winner]
    const m = mutate(graphs.get(parent.id) as LayerGraph, gen, { primitives: prims, maxNodes })
    add(m.graph, parent.id, m.kind)
  }

  const accepted = trace.filter((e) => e.status === 'accepted')
  const mean = (e: TraceEntry): number => (e.fitness as number[]).reduce((a, b) => a + b, 0) / (e.fitness as number[]).length
  const best = accepted.length === 0 ? null : accepted.reduce((b, e) => (mean(e) > mean(b) ? e : b))
  const rejected = { quality: 0, explode: 0, nonfinite: 0, invalid: 0 }
  for (const e of trace) if (e.status !== 'accepted') rejected[e.status]++
  return {
    best,
    pareto: paretoFront(accepted.map((e) => e.fitness as number[])).map((i) => accepted[i]),
    population: [...population],
    trace,
    rejected,
    rejectedFraction: (trace.length - accepted.length) / trace.length,
  }
}

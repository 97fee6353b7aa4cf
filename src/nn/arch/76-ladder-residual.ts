/**
 * @file Paper 76 — "Ladder-residual: parallelism-aware architecture for accelerating large model
 * inference with communication overlapping" (Zhang et al. 2025), https://arxiv.org/abs/2501.06589.
 * Official code: mayank31398/ladder-residual-inference (gpt_fast/gpt_ladder_TP.py).
 *
 * Sub-layers are indexed f₁ = attn₁, f₂ = mlp₁, f₃ = attn₂, … (pre-norm, RMSNorm, no biases).
 *   Standard: r_k = r_{k−1} + f_k(r_{k−1}).
 *   Ladder:   r_k = r_{k−1} + o_{k−2},  o_k = f_k(r_k)  (o_{−1} = o_0 = 0, r_0 = embedding);
 *             h = r_{2L} + o_{2L−1} + o_{2L} → norm → head.
 * So sub-layer k reads the stream WITHOUT the previous sub-layer's output o_{k−1}: under tensor
 * parallelism the all-reduce of o_{k−1} runs while f_k computes. Only layers listed in
 * `ladderLayers` use the ladder wiring (partial conversion); the others are standard.
 *
 * `TensorParallel` runs the same numerics split over P simulated ranks in one process (attention heads
 * and MLP hidden columns sharded, each rank producing a partial sum that an all-reduce adds) and
 * keeps an explicit event-time simulation: one compute stream (ranks in lock-step), one communication
 * stream, and all-reduce handles whose `wait()` blocks the compute clock until the reduction is done.
 *
 * Shapes: tokens (B, L) int32; stream r (B, L, D); logits (B, L, V); H heads of size Dh = D/H.
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { arange } from '../../creation.ts'
import { scaledDotProductAttention } from '../../ops/attention.ts'
import { linear } from '../../functional.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { RMSNorm } from '../norm.ts'
import { Embedding } from '../embedding.ts'
import { now } from '../../clock.ts'

export interface LadderTransformerOptions {
  vocab: number
  d: number
  heads: number
  layers: number
  /** Indices of the layers wired as ladder (default: every layer). `[]` is the standard transformer. */
  ladderLayers?: number[]
  /** MLP hidden width (default 4d). */
  ff?: number
  maxLen?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/** Causal multi-head attention without biases; `partial` computes one rank's head shard. */
export class LadderAttention extends Module {
  wq: Linear; wk: Linear; wv: Linear; wo: Linear
  constructor(readonly d: number, readonly heads: number, opts: { generator?: Generator; dtype?: 'float32' | 'float64' }) {
    super()
    const o = { bias: false, ...opts }
    this.wq = new Linear(d, d, o); this.wk = new Linear(d, d, o); this.wv = new Linear(d, d, o); this.wo = new Linear(d, d, o)
  }
  forward(x: Tensor): Tensor { return this.partial(x, 0, 1) }
  /** Rank `rank` of `world`: heads [rank·H/P, (rank+1)·H/P), and the matching columns of wo. (B, L, D) → partial (B, L, D). */
  partial(x: Tensor, rank: number, world: number): Tensor {
    const [B, L] = x.shape, H = this.heads / world, Dh = this.d / this.heads, cols = H * Dh, c0 = rank * cols
    const proj = (w: Linear): Tensor => linear(x, w.weight.narrow(0, c0, cols)).reshape([B, L, H, Dh]).permute([0, 2, 1, 3]) // (B, H, L, Dh)
    const a = scaledDotProductAttention(proj(this.wq), proj(this.wk), proj(this.wv), { isCausal: true }) // (B, H, L, Dh)
    return linear(a.permute([0, 2, 1, 3]).reshape([B, L, cols]), this.wo.weight.narrow(1, c0, cols)) // (B, L, D)
  }
}

/** GELU MLP without biases; `partial` computes one rank's hidden-column shard. */
export class LadderMLP extends Module {
  w1: Linear; w2: Linear
  constructor(readonly d: number, readonly ff: number, opts: { generator?: Generator; dtype?: 'float32' | 'float64' }) {
    super()
    this.w1 = new Linear(d, ff, { bias: false, ...opts }); this.w2 = new Linear(ff, d, { bias: false, ...opts })
  }
  forward(x: Tensor): Tensor { return this.partial(x, 0, 1) }
  /** Column-parallel w1 (rows [rank·F/P, …)) then row-parallel w2: a partial (B, L, D). */
  partial(x: Tensor, rank: number, world: number): Tensor {
    const n = this.ff / world, c0 = rank * n
    return linear(linear(x, this.w1.weight.narrow(0, c0, n)).gelu(), this.w2.weight.narrow(1, c0, n))
  }
}

export class LadderLayer extends Module {
  norm1: RMSNorm; attn: LadderAttention; norm2: RMSNorm; mlp: LadderMLP
  constructor(d: number, heads: number, ff: number, opts: { generator?: Generator; dtype?: 'float32' | 'float64' }) {
    super()
    this.norm1 = new RMSNorm(d, { eps: 1e-6, dtype: opts.dtype }); this.attn = new LadderAttention(d, heads, opts)
    this.norm2 = new RMSNorm(d, { eps: 1e-6, dtype: opts.dtype }); this.mlp = new LadderMLP(d, ff, opts)
  }
  forward(): never { throw new TesseraError('LadderLayer: call it through LadderTransformer') }
}

/** One sub-layer f_k: which layer, attention or MLP, whether it is ladder-wired, and its (sharded) function. */
export interface SubLayer {
  layer: number
  kind: 'attn' | 'mlp'
  ladder: boolean
  /** f_k(r) computed by rank `rank` of `world` (a partial sum; world = 1 gives f_k(r)). */
  fn: (r: Tensor, rank: number, world: number) => Tensor
}

/**
 * A pre-norm decoder-only transformer whose `ladderLayers` use ladder-residual wiring.
 *   Ladder step k: o_k = f_k(r); r ← r + o_{k−1}; (o_k pending).   Standard step: r ← r + o_{k−1}; r ← r + f_k(r).
 * Reference: https://arxiv.org/abs/2501.06589 (Sec. 3, Eqn for r_k and o_k)
 * @example
 *   const m = new LadderTransformer({ vocab: 28, d: 32, heads: 4, layers: 4, ladderLayers: [2, 3] })
 *   const logits = m.forward(tokens) // tokens (B, L) int32 → (B, L, 28)
 */
export class LadderTransformer extends Module {
  embed: Embedding; pos: Embedding; layers: ModuleList; norm: RMSNorm; head: Linear
  readonly ladderLayers: number[]
  readonly config: Required<Omit<LadderTransformerOptions, 'generator' | 'dtype'>> & { dtype: 'float32' | 'float64' }

  constructor(opts: LadderTransformerOptions) {
    super()
    const { vocab, d, heads, layers } = opts
    const ff = opts.ff ?? 4 * d, maxLen = opts.maxLen ?? 64, dtype = opts.dtype ?? 'float32'
    if (d % heads !== 0) throw new TesseraError(`LadderTransformer: d ${d} must be divisible by heads ${heads}`)
    this.ladderLayers = (opts.ladderLayers ?? Array.from({ length: layers }, (_, i) => i)).slice()
    if (this.ladderLayers.some((i) => !Number.isInteger(i) || i < 0 || i >= layers)) {
      throw new TesseraError(`LadderTransformer: ladderLayers ${JSON.stringify(this.ladderLayers)} must be layer indices in [0, ${layers})`)
    }
    this.config = { vocab, d, heads, layers, ladderLayers: this.ladderLayers, ff, maxLen, dtype }
    const o = { generator: opts.generator, dtype }
    this.embed = new Embedding(vocab, d, o)
    this.pos = new Embedding(maxLen, d, o)
    noGrad(() => { this.embed.weight.mul_(0.1); this.pos.weight.mul_(0.02) })
    this.layers = new ModuleList(Array.from({ length: layers }, () => new LadderLayer(d, heads, ff, o)))
    this.norm = new RMSNorm(d, { eps: 1e-6, dtype })
    this.head = new Linear(d, vocab, { bias: false, ...o })
  }

  /** f₁ … f_{2L} in order. */
  subLayers(): SubLayer[] {
    const out: SubLayer[] = []
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers.at(i) as LadderLayer, ladder = this.ladderLayers.includes(i)
      out.push({ layer: i, kind: 'attn', ladder, fn: (r, p, P) => l.attn.partial(l.norm1.forward(r), p, P) })
      out.push({ layer: i, kind: 'mlp', ladder, fn: (r, p, P) => l.mlp.partial(l.norm2.forward(r), p, P) })
    }
    return out
  }

  /** r_0 = token embedding + learned position: (B, L) → (B, L, D). */
  embedTokens(tokens: Tensor): Tensor {
    if (tokens.ndim !== 2 || tokens.shape[1] > this.config.maxLen) {
      throw new TesseraError(`LadderTransformer: tokens must be (B, L) with L <= ${this.config.maxLen}, got ${fmtShape(tokens.shape)}`)
    }
    return this.embed.forward(tokens).add(this.pos.forward(arange(tokens.shape[1])))
  }

  /** Final norm and LM head: (B, L, D) → (B, L, V). */
  output(h: Tensor): Tensor { return this.head.forward(this.norm.forward(h)) }

  forward(tokens: Tensor): Tensor {
    let r = this.embedTokens(tokens) // (B, L, D)
    let pending: Tensor | null = null // o_{k−1}, not yet in the stream
    for (const s of this.subLayers()) {
      if (s.ladder) {
        const o = s.fn(r, 0, 1) // o_k = f_k(r_k), r_k lacks o_{k−1}
        if (pending) r = r.add(pending)
        pending = o
      } else {
        if (pending) { r = r.add(pending); pending = null }
        r = r.add(s.fn(r, 0, 1))
      }
    }
    if (pending) r = r.add(pending) // h = r_{2L} + o_{2L}
    return this.output(r)
  }
}

/**
 * A copy of `model` with the same weights whose last `layers` layers (a count) or the listed layer
 * indices use ladder wiring; the paper then retrains briefly (the HF variant converts the last 16/20 of 32).
 * Reference: https://arxiv.org/abs/2501.06589 (Sec. 5, adapting Llama-3.1 8B)
 * @example
 *   const ladder = convertToLadder(trained, 2) // last 2 layers become ladder layers
 */
export function convertToLadder(model: LadderTransformer, layers: number | number[]): LadderTransformer {
  const L = model.config.layers
  const ladderLayers = typeof layers === 'number' ? Array.from({ length: Math.min(layers, L) }, (_, i) => L - Math.min(layers, L) + i) : layers
  const out = new LadderTransformer({ ...model.config, ladderLayers })
  out.loadStateDict(model.stateDict())
  return out
}

/** Time of one all-reduce of `bytes` over `world` ranks, ms. */
export type CommModel = (bytes: number, world: number) => number

/**
 * Ring all-reduce latency model: α + 2(P−1)/P · bytes / bandwidth (0 for P = 1).
 * @example
 *   const comm = ringAllReduce(2, 1e6) // 2 ms per call plus 1 GB/s
 */
export function ringAllReduce(alphaMs: number, bytesPerMs = Infinity): CommModel {
  return (bytes, world) => (world <= 1 ? 0 : alphaMs + (2 * (world - 1) / world) * bytes / bytesPerMs)
}

export interface TPEvent {
  /** 'launch' f_k starts computing; 'allreduce' o_k's reduction is issued; 'wait' f_k's handle is waited on. */
  type: 'launch' | 'allreduce' | 'wait'
  /** Sub-layer index k (1-based, as the paper); 0 for the embedding, 2L+1 for the head. */
  k: number
  /** Simulated time, ms. */
  t: number
}

/** An in-flight all-reduce: `wait()` advances the compute clock to its completion and returns the sum. */
export interface AllReduceHandle { k: number; start: number; end: number; wait(): Tensor }

export interface TensorParallelOptions {
  world: number
  /** All-reduce time model (default `ringAllReduce(2)`: 2 ms per call). */
  comm?: CommModel
  /**
   * Compute time of one sub-layer on one rank, ms. Default: the measured wall time of that rank's
   * partial computation (ranks run in lock-step, so a step costs the slowest rank's time).
   */
  computeMs?: (kind: 'embed' | 'attn' | 'mlp' | 'head', rank: number) => number
}

export interface TPResult {
  logits: Tensor
  /** Simulated time until the logits are ready, ms. */
  timeMs: number
  events: TPEvent[]
  /** Total compute-stream busy time and total communication time, ms. */
  computeMs: number
  commMs: number
  /** Compute time of each step (slowest rank), in order: embed, f_1 … f_2L, head. */
  steps: { kind: 'embed' | 'attn' | 'mlp' | 'head'; k: number; ms: number }[]
}

/**
 * Tensor-parallel inference of a `LadderTransformer` over `world` simulated ranks with asynchronous
 * all-reduce. Standard sub-layers wait for the previous all-reduce before computing; ladder
 * sub-layers wait only for the one before it, so communication overlaps the next sub-layer's compute.
 * Reference: https://arxiv.org/abs/2501.06589 (Sec. 3, Fig. 2); gpt_fast/gpt_ladder_TP.py
 * @example
 *   const tp = new TensorParallel(model, { world: 2, comm: ringAllReduce(2) })
 *   const { logits, timeMs } = tp.forward(tokens)
 */
export class TensorParallel {
  readonly world: number
  private readonly comm: CommModel
  private clock = 0
  private commFree = 0
  private events: TPEvent[] = []
  private computeTotal = 0
  private commTotal = 0
  private steps: TPResult['steps'] = []

  constructor(readonly model: LadderTransformer, private readonly opts: TensorParallelOptions) {
    const P = opts.world, { heads, ff } = model.config
    if (!Number.isInteger(P) || P < 1 || heads % P !== 0 || ff % P !== 0) {
      throw new TesseraError(`TensorParallel: world ${P} must be a positive integer dividing heads ${heads} and ff ${ff}`)
    }
    this.world = P
    this.comm = opts.comm ?? ringAllReduce(2)
  }

  /** Runs `work(rank)` on every rank, advancing the compute clock by the slowest rank. */
  private compute<T>(kind: 'embed' | 'attn' | 'mlp' | 'head', k: number, work: (rank: number) => T): T[] {
    this.events.push({ type: 'launch', k, t: this.clock })
    let slowest = 0
    const out: T[] = []
    for (let p = 0; p < this.world; p++) {
      const t0 = now()
      out.push(work(p))
      slowest = Math.max(slowest, this.opts.computeMs ? this.opts.computeMs(kind, p) : now() - t0)
    }
    this.clock += slowest
    this.computeTotal += slowest
    this.steps.push({ kind, k, ms: slowest })
    return out
  }

  /** Issues the all-reduce of the ranks' partials (after the compute that produced them). */
  private allReduce(k: number, partials: Tensor[]): AllReduceHandle {
    const bytes = partials[0].numel() * (partials[0].dtype === 'float64' ? 8 : 4)
    const start = Math.max(this.clock, this.commFree), dur = this.comm(bytes, this.world)
    const end = start + dur
    this.commFree = end
    this.commTotal += dur
    this.events.push({ type: 'allreduce', k, t: start })
    let sum: Tensor | null = null
    return {
      k, start, end,
      wait: () => {
        this.events.push({ type: 'wait', k, t: this.clock })
        this.clock = Math.max(this.clock, end)
        if (!sum) sum = partials.reduce((a, b) => a.add(b)) // the reduction itself (fixed rank order)
        return sum
      },
    }
  }

  /** One forward pass; the simulated time is when the head's output is ready. */
  forward(tokens: Tensor): TPResult {
    this.clock = 0; this.commFree = 0; this.events = []; this.computeTotal = 0; this.commTotal = 0; this.steps = []
    return noGrad(() => {
      const m = this.model, subs = m.subLayers()
      let r = this.compute('embed', 0, () => m.embedTokens(tokens))[0] // replicated on every rank
      const pending: AllReduceHandle[] = []
      subs.forEach((s, i) => {
        const k = i + 1
        // Ladder: everything but o_{k−1} must be in the stream; standard: everything. The first ladder
        // sub-layer after a standard one sees the whole stream (o_{k−1} was never pending), as `forward`.
        const keep = s.ladder && i > 0 && subs[i - 1].ladder ? 1 : 0
        while (pending.length > keep) r = r.add(pending.shift()!.wait())
        const partials = this.compute(s.kind, k, (p) => s.fn(r, p, this.world))
        pending.push(this.allReduce(k, partials))
      })
      while (pending.length) r = r.add(pending.shift()!.wait())
      const logits = this.compute('head', subs.length + 1, () => m.output(r))[0]
      return { logits, timeMs: this.clock, events: this.events, computeMs: this.computeTotal, commMs: this.commTotal, steps: this.steps }
    })
  }
}

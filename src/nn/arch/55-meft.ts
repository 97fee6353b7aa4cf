/**
 * @file Paper 55, MEFT: "Make Pre-trained Model Reversible: From Parameter to Memory Efficient
 * Fine-Tuning" (Liao, Tan, Monz 2023), https://arxiv.org/abs/2306.00477 ; reference code
 * BaohaoLiao/mefts `models/modeling_revbert.py`.
 *
 * Pieces: a bottleneck `Adapter`; a two-stream `ReversibleCoupling`
 *   y¹ = λ·x¹ + F(x²),  y² = β·x² + G(y¹)        (paper Eqn 1; swapped output (y², y¹) for MEFT1/2)
 * with its exact inverse; a `ReversibleStack` whose backward is one `customOp` that keeps only the
 * stack's output and rebuilds every layer's inputs from it (so activation memory does not grow with
 * depth); and `meft(layers, ...)`, which turns the layers of a pretrained post-norm transformer into
 * such a stack (MEFT1/2/3) with the PLM frozen and only adapters trainable.
 *
 * Shapes: every stream is (B, L, D) (batch-first tokens, D = model width). The stack's custom op
 * carries both streams stacked as (2, B, L, D).
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { enableGrad, noGrad } from '../../autograd.ts'
import { customOp } from '../../custom.ts'
import { stack } from '../../functional.ts'
import { zerosLike } from '../../creation.ts'
import { defaultGenerator, type Generator, type GeneratorState } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { Dropout, GELU, ReLU } from '../activation.ts'
import type { TransformerEncoderLayer } from '../attention.ts'

type TensorFn = (x: Tensor) => Tensor
const call = (m: Module, x: Tensor): Tensor => (m.forward as unknown as TensorFn)(x)

export interface AdapterOptions {
  /** LayerNorm on the adapter input (MEFT's "LN-first" G adapter). Default false. */
  lnFirst?: boolean
  dropout?: number
  activation?: 'relu' | 'gelu'
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Bottleneck adapter A(x) = W_up · drop(act(W_down · LN?(x) + b_down)) + b_up, with W_up, b_up = 0 at
 * init so A ≡ 0 and an inserted adapter leaves the pretrained function unchanged.
 * Reference: Houlsby et al. 2019, https://arxiv.org/abs/1902.00751 ; MEFT §3.
 * @example
 *   const a = new Adapter(32, 8, { generator: new Generator(0) })
 *   a.forward(randn([2, 5, 32])) // (2, 5, 32), all zeros at init
 */
export class Adapter extends Module {
  ln: LayerNorm | null
  down: Linear
  up: Linear
  act: Module
  drop: Dropout

  constructor(readonly d: number, readonly r: number, opts: AdapterOptions = {}) {
    super()
    const { generator, dtype } = opts
    this.ln = opts.lnFirst ? new LayerNorm(d, { dtype }) : null
    this.down = new Linear(d, r, { generator, dtype })
    this.up = new Linear(r, d, { generator, dtype })
    noGrad(() => { this.up.weight.zero_(); this.up.bias?.zero_() })
    this.act = opts.activation === 'gelu' ? new GELU() : new ReLU()
    this.drop = new Dropout(opts.dropout ?? 0, { generator })
  }

  forward(x: Tensor): Tensor { // (B, L, D) -> (B, L, D)
    if (x.shape[x.ndim - 1] !== this.d) throw new TesseraError(`Adapter: x must be (..., ${this.d}), got ${fmtShape(x.shape)}`)
    const h = this.ln ? this.ln.forward(x) : x
    return this.up.forward(this.drop.forward(call(this.act, this.down.forward(h))))
  }
}

export interface CouplingOptions {
  /** λ, the factor on x¹ (paper's x1_factor). Must be non-zero to invert. */
  lambda?: number
  /** β, the factor on x² (x2_factor). Must be non-zero to invert. */
  beta?: number
  /** Output (y², y¹) instead of (y¹, y²) (MEFT1, MEFT2). */
  swap?: boolean
}

/**
 * Reversible two-stream block (Eqn 1): y¹ = λ·x¹ + F(x²), y² = β·x² + G(y¹); inverse
 * x² = (y² − G(y¹))/β, x¹ = (y¹ − F(x²))/λ. With `swap` the block returns (y², y¹).
 * Reference: https://arxiv.org/abs/2306.00477 (Eqn 1, Fig. 2); RevNet, https://arxiv.org/abs/1707.04585
 * @example
 *   const c = new ReversibleCoupling(new Adapter(8, 2), new Adapter(8, 2), { lambda: 0.5, beta: 1 })
 *   const [y1, y2] = c.forward(x1, x2); c.inverse(y1, y2) // ≈ [x1, x2]
 */
export class ReversibleCoupling extends Module {
  readonly lambda: number
  readonly beta: number
  readonly swap: boolean
  constructor(public f: Module, public g: Module, opts: CouplingOptions = {}) {
    super()
    this.lambda = opts.lambda ?? 1
    this.beta = opts.beta ?? 1
    this.swap = opts.swap ?? false
  }

  forward(x1: Tensor, x2: Tensor): [Tensor, Tensor] { // (B, L, D) each
    const y1 = x1.mul(this.lambda).add(call(this.f, x2)) // Eqn 1: y¹ = λx¹ + F(x²)
    const y2 = x2.mul(this.beta).add(call(this.g, y1)) //   y² = βx² + G(y¹)
    return this.swap ? [y2, y1] : [y1, y2]
  }

  /** The block's inputs from its outputs (in the same order `forward` returned them). */
  inverse(o1: Tensor, o2: Tensor): [Tensor, Tensor] {
    if (this.lambda === 0 || this.beta === 0) throw new TesseraError(`ReversibleCoupling.inverse: needs λ, β ≠ 0, got λ=${this.lambda}, β=${this.beta}`)
    const [y1, y2] = this.swap ? [o2, o1] : [o1, o2]
    const x2 = y2.sub(call(this.g, y1)).div(this.beta)
    const x1 = y1.sub(call(this.f, x2)).div(this.lambda)
    return [x1, x2]
  }
}

/** The generator states before F and before G of one layer, for replaying dropout masks. */
interface LayerStates { f: GeneratorState[]; g: GeneratorState[] }

/**
 * A stack of reversible couplings. With `memorySaving` (default) the whole stack is one custom op
 * whose backward recomputes each layer's inputs from its outputs (top layer down) instead of
 * storing activations: given (y¹, y²) and (dy¹, dy²) it recomputes G(y¹) with grad, backprops dy²,
 * sets dy¹ += ∂G/∂y¹ᵀdy², x² = (y² − G(y¹))/β, recomputes F(x²), backprops dy¹, x¹ = (y¹ − F(x²))/λ,
 * dx² = β·dy² + ∂F/∂x²ᵀdy¹, dx¹ = λ·dy¹. Dropout masks are replayed by restoring the states of
 * `generators` recorded in the forward. Gradients reach trainable parameters through the op's
 * inputs, exactly as ordinary autograd would deliver them.
 * Reference: https://arxiv.org/abs/2306.00477 §3.3; Gomez et al. 2017, https://arxiv.org/abs/1707.04585 Alg. 1
 */
export class ReversibleStack extends Module {
  layers: ModuleList
  memorySaving = true
  private readonly generators: Generator[]

  constructor(layers: ReversibleCoupling[], opts: { generators?: Generator[] } = {}) {
    super()
    this.layers = new ModuleList(layers)
    this.generators = opts.generators ?? [defaultGenerator]
  }

  private get blocks(): ReversibleCoupling[] { return [...this.layers.children()] as ReversibleCoupling[] }

  forward(x1: Tensor, x2: Tensor): [Tensor, Tensor] { // (B, L, D) each
    if (x1.ndim < 1 || x1.shape.join() !== x2.shape.join()) {
      throw new TesseraError(`ReversibleStack: the two streams must have one shape, got ${fmtShape(x1.shape)} and ${fmtShape(x2.shape)}`)
    }
    if (!this.memorySaving) {
      let s: [Tensor, Tensor] = [x1, x2]
      for (const b of this.blocks) s = b.forward(s[0], s[1])
      return s
    }
    const params = this.parameters().filter((p) => p.requiresGrad)
    const op = this.reversibleOp(params)
    const out = op(stack([x1, x2]), ...params) // (2, B, L, D)
    return [out.select(0, 0), out.select(0, 1)]
  }

  private reversibleOp(params: Parameter[]): (...xs: Tensor[]) => Tensor {
    const blocks = this.blocks, gens = this.generators
    const snap = (): GeneratorState[] => gens.map((g) => g.getState())
    const restore = (s: GeneratorState[]): void => { gens.forEach((g, i) => g.setState(s[i])) }
    const states: LayerStates[] = []
    return customOp({
      name: 'ReversibleStack',
      forward: (ctx, x) => {
        let [a, b] = [x.select(0, 0), x.select(0, 1)] // (B, L, D) each
        for (const blk of blocks) {
          const f = snap()
          const y1 = a.mul(blk.lambda).add(call(blk.f, b))
          const g = snap()
          const y2 = b.mul(blk.beta).add(call(blk.g, y1))
          states.push({ f, g })
          ;[a, b] = blk.swap ? [y2, y1] : [y1, y2]
        }
        const out = stack([a, b]) // (2, B, L, D): the only activation kept for backward
        ctx.save(out)
        return out
      },
      backward: (ctx, grad) => {
        const out = ctx.saved[0]
        for (const blk of blocks) {
          if (blk.lambda === 0 || blk.beta === 0) throw new TesseraError(`ReversibleStack: the memory-saving backward needs λ, β ≠ 0, got λ=${blk.lambda}, β=${blk.beta}`)
        }
        const after = snap()
        const temps = params.map((p) => new Parameter(p)) // fresh leaves sharing storage
        const undo = this.swapParams(params, temps)
        let [o1, o2] = [out.select(0, 0).detach(), out.select(0, 1).detach()] // (B, L, D)
        let [d1, d2] = [grad.select(0, 0), grad.select(0, 1)]
        try {
          for (let l = blocks.length - 1; l >= 0; l--) {
            const blk = blocks[l], st = states[l]
            const [y1, y2, dy2] = blk.swap ? [o2, o1, d1] : [o1, o2, d2]
            let dy1 = blk.swap ? d2 : d1
            restore(st.g)
            const y1l = y1.detach().requiresGrad_()
            const gOut = enableGrad(() => call(blk.g, y1l)) // G(y¹), recomputed
            if (gOut.requiresGrad) gOut.backward(dy2)
            if (y1l.grad) dy1 = dy1.add(y1l.grad)
            const x2 = noGrad(() => y2.sub(gOut.detach()).div(blk.beta)) // x² = (y² − G(y¹))/β
            restore(st.f)
            const x2l = x2.requiresGrad_()
            const fOut = enableGrad(() => call(blk.f, x2l)) // F(x²), recomputed
            if (fOut.requiresGrad) fOut.backward(dy1)
            const x1 = noGrad(() => y1.sub(fOut.detach()).div(blk.lambda)) // x¹ = (y¹ − F(x²))/λ
            const dx2 = x2l.grad ? dy2.mul(blk.beta).add(x2l.grad) : dy2.mul(blk.beta)
            const dx1 = dy1.mul(blk.lambda)
            ;[o1, o2, d1, d2] = [x1, x2.detach(), dx1, dx2]
          }
        } finally {
          undo()
          restore(after)
          states.length = 0
        }
        return [ctx.needsGrad[0] ? stack([d1, d2]) : null, ...temps.map((t) => t.grad ?? zerosLike(t))]
      },
    })
  }

  /** Points every module attribute holding one of `params` at its temporary leaf; returns the undo. */
  private swapParams(params: Parameter[], temps: Parameter[]): () => void {
    const index = new Map<Tensor, number>(params.map((p, i) => [p, i]))
    const undo: (() => void)[] = []
    for (const m of this.modules()) {
      const rec = m as unknown as Record<string, unknown>
      for (const [k, v] of Object.entries(rec)) {
        const i = v instanceof Parameter ? index.get(v) : undefined
        if (i === undefined) continue
        rec[k] = temps[i]
        undo.push(() => { rec[k] = v })
      }
    }
    return () => { for (const u of undo) u() }
  }
}

// ------------------------------------------------------------------ MEFT on a post-norm transformer

const selfAttn = (l: TransformerEncoderLayer, x: Tensor): Tensor =>
  l.dropout1.forward(l.self_attn.forward(x, x, x, { needWeights: false }).output)
const feedForward = (l: TransformerEncoderLayer, x: Tensor): Tensor =>
  l.dropout2.forward(l.linear2.forward(l.dropout.forward(call(l.activation, l.linear1.forward(x)))))

/** A post-norm PLM layer with an adapter parallel to its FFN, before the FFN LayerNorm: norm2(h + FF(h) + A(h)), h = norm1(x + SA(x)). */
export class AdaptedEncoderLayer extends Module {
  constructor(public layer: TransformerEncoderLayer, public adapter: Adapter | null) { super() }
  forward(x: Tensor): Tensor { // (B, L, D)
    const l = this.layer
    const h = l.norm1.forward(x.add(selfAttn(l, x)))
    const r = h.add(feedForward(l, h))
    return l.norm2.forward(this.adapter ? r.add(this.adapter.forward(h)) : r)
  }
}

/** MEFT3's F: the attention sub-block with an adapter on its output, norm1(x + SA(x) + A(x)). */
export class AttentionSubBlock extends Module {
  constructor(public layer: TransformerEncoderLayer, public adapter: Adapter) { super() }
  forward(x: Tensor): Tensor { return this.layer.norm1.forward(x.add(selfAttn(this.layer, x)).add(this.adapter.forward(x))) }
}

/** MEFT3's G: the feed-forward sub-block, norm2(y + FF(y)). */
export class FeedForwardSubBlock extends Module {
  constructor(public layer: TransformerEncoderLayer) { super() }
  forward(y: Tensor): Tensor { return this.layer.norm2.forward(y.add(feedForward(this.layer, y))) }
}

export interface MEFTOptions {
  /** 1: F = PLM layer (+ parallel adapter), G = adapter, swapped. 2: F = adapter, G = PLM layer, swapped. 3: F = attention, G = FFN, not swapped. */
  variant?: 1 | 2 | 3
  /** Defaults by variant, so that y ≈ the PLM layer at init: MEFT1 λ=0.1 (repo x1_factor); MEFT2 λ=1; MEFT3 λ=0.1. */
  lambda?: number
  /** Defaults: MEFT1 β=1 (repo x2_factor); MEFT2 β=0.1; MEFT3 β=0.1. */
  beta?: number
  /** Adapter bottleneck width (default 8). */
  r?: number
  /** LayerNorm first in the G adapter of MEFT1 (default false). */
  lnFirst?: boolean
  adapterDropout?: number
  generator?: Generator
  /** Generators whose state is replayed for dropout in the recomputing backward (default: the `generator`, else the default generator). */
  dropoutGenerators?: Generator[]
}

/**
 * A pretrained layer stack made reversible (MEFT). The embedding output h₀ is duplicated,
 * x¹ = x² = h₀; each layer is a `ReversibleCoupling`; the output is (x¹ + x²)/2. For MEFT1 with
 * zero adapters and λ = 0 the stream fed to layer l's F is exactly h_{l−1} and the output is
 * (h_{L−1} + h_L)/2 (the reference code's starting point); with λ = 0.1 it stays close.
 */
export class MEFT extends Module {
  constructor(public stack: ReversibleStack, readonly variant: 1 | 2 | 3) { super() }
  /** h0 (B, L, D) -> (B, L, D). */
  forward(h0: Tensor): Tensor {
    const [a, b] = this.stack.forward(h0, h0)
    return a.add(b).mul(0.5)
  }
  /** Adapters and any other parameters left trainable. */
  trainableParameters(): Parameter[] { return this.parameters().filter((p) => p.requiresGrad) }
}

/**
 * Inserts adapters into pretrained post-norm `TransformerEncoderLayer`s, freezes the PLM weights
 * and returns the reversible model (Eqn 1 with the paper's F/G assignment per variant).
 * Reference: https://arxiv.org/abs/2306.00477 §3.2, Fig. 3; BaohaoLiao/mefts models/modeling_revbert.py
 * @example
 *   const m = meft(plm.layers, { variant: 1, r: 8, generator: new Generator(0) })
 *   m.forward(embed(x)) // (B, L, D); only m.trainableParameters() (the adapters) learn
 */
export function meft(layers: readonly TransformerEncoderLayer[], opts: MEFTOptions = {}): MEFT {
  const variant = opts.variant ?? 1
  if (![1, 2, 3].includes(variant)) throw new TesseraError(`meft: variant must be 1, 2 or 3, got ${variant}`)
  const defaults = { 1: [0.1, 1], 2: [1, 0.1], 3: [0.1, 0.1] }[variant]
  const lambda = opts.lambda ?? defaults[0], beta = opts.beta ?? defaults[1], r = opts.r ?? 8
  const blocks = layers.map((l) => {
    if (l.normFirst) throw new TesseraError('meft: expects post-norm layers (normFirst false), as in BERT/RoBERTa')
    for (const p of l.parameters()) p.requiresGrad_(false)
    const dtype = l.linear1.weight.dtype === 'float64' ? 'float64' : 'float32'
    const adapter = (lnFirst = false): Adapter => new Adapter(l.dModel, r, { lnFirst, dropout: opts.adapterDropout, generator: opts.generator, dtype })
    if (variant === 1) return new ReversibleCoupling(new AdaptedEncoderLayer(l, adapter()), adapter(opts.lnFirst), { lambda, beta, swap: true })
    if (variant === 2) return new ReversibleCoupling(adapter(), new AdaptedEncoderLayer(l, null), { lambda, beta, swap: true })
    return new ReversibleCoupling(new AttentionSubBlock(l, adapter()), new FeedForwardSubBlock(l), { lambda, beta, swap: false })
  })
  const gens = opts.dropoutGenerators ?? (opts.generator ? [opts.generator] : [defaultGenerator])
  return new MEFT(new ReversibleStack(blocks, { generators: gens }), variant)
}

/**
 * Bytes of activations the autograd graph behind `t` holds for backward: the distinct storages saved
 * by its nodes, minus storages of `exclude` (parameters, which exist anyway). Walks the graph only.
 */
export function savedActivationBytes(t: Tensor, exclude: readonly Tensor[] = []): number {
  const skip = new Set(exclude.map((p) => p.storage))
  const seenStore = new Set<unknown>()
  type N = { next: (N | null)[]; ctx?: { saved: Tensor[] } }
  const seen = new Set<N>()
  const todo: N[] = t.gradFn ? [t.gradFn as unknown as N] : []
  let bytes = 0
  while (todo.length > 0) {
    const n = todo.pop()!
    if (seen.has(n)) continue
    seen.add(n)
    for (const s of n.ctx?.saved ?? []) {
      if (skip.has(s.storage) || seenStore.has(s.storage)) continue
      seenStore.add(s.storage)
      bytes += s.storage.byteLength
    }
    for (const c of n.next) if (c) todo.push(c)
  }
  return bytes
}

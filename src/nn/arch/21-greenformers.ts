/**
 * @file Paper 21 — "Greenformers: Improving Computation and Memory Efficiency in Transformer Models
 * via Low-Rank Approximation" (Cahyawijaya 2021), https://arxiv.org/abs/2108.10808. Official code:
 * SamuelCahyawijaya/greenformer (src/greenformer/auto_fact.py). Linformer: Wang et al. 2020,
 * https://arxiv.org/abs/2006.04768.
 *
 *   LED (linear encoder-decoder): W (out, in) ≈ V U, U (r, in), V (out, r): y = V(U x) + b,
 *     r(in + out) weights instead of in·out; useful only below r_lim = ⌊in·out/(in+out)⌋.
 *   CED (convolutional encoder-decoder): a k×k conv in → r (no bias) then a 1×1 conv r → out.
 *   autoFactorize: replaces the Linear / Conv2d layers of a model by LED / CED, either freshly
 *     initialised ('random', low-rank training from scratch) or from the truncated SVD of the trained
 *     weight ('svd', the Eckart–Young best rank-r approximation).
 *   LowRankTransformer: every Q, K, V, O and FFN projection is an LED.
 *   LinformerAttention: keys and values projected along the sequence, K' = E K, V' = F V with
 *     E, F (k, n), attn = softmax(Q K'ᵀ/√Dh) V': O(n k) instead of O(n²) (non-causal).
 *
 * Shapes: x (B, L, D) with L ≤ n (seqLen); heads H of size Dh = D/H; conv inputs (B, C, H, W).
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { randn } from '../../creation.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { Conv2d } from '../conv.ts'
import { LayerNorm } from '../norm.ts'
import { svd } from '../../linalg/svd.ts'

type DT = 'float32' | 'float64'
interface InitOpts { generator?: Generator; dtype?: DT }

/**
 * The greenformer rank rule: r_lim = ⌊in·out/(in+out)⌋; a fractional rank ρ < 1 means r = ⌊ρ·r_lim⌋.
 * Returns null (leave the layer dense) when r = 0 or r ≥ r_lim (no saving).
 * @example
 *   factorRank(64, 64, 0.5) // 16;  factorRank(64, 64, 32) // null
 */
export function factorRank(inF: number, outF: number, rank: number): number | null {
  const rLim = Math.floor((inF * outF) / (inF + outF))
  const r = rank < 1 ? Math.floor(rank * rLim) : Math.floor(rank)
  return r <= 0 || r >= rLim ? null : r
}

/**
 * Linear encoder-decoder: y = V(U x) + b with U = encoder.weight (r, in), V = decoder.weight (out, r).
 * Reference: https://arxiv.org/abs/2108.10808 (Sec. 3.1, LED)
 * @example
 *   const led = new LED({ in: 64, out: 64, rank: 16 }) // 16·128 + 64 parameters
 */
export class LED extends Module {
  encoder: Linear // (r, in), no bias
  decoder: Linear // (out, r), bias
  constructor(readonly opts: { in: number; out: number; rank: number; bias?: boolean } & InitOpts) {
    super()
    if (!Number.isInteger(opts.rank) || opts.rank < 1) throw new TesseraError(`LED: rank must be a positive integer, got ${opts.rank}`)
    this.encoder = new Linear(opts.in, opts.rank, { bias: false, generator: opts.generator, dtype: opts.dtype })
    this.decoder = new Linear(opts.rank, opts.out, { bias: opts.bias !== false, generator: opts.generator, dtype: opts.dtype })
  }
  forward(x: Tensor): Tensor { return this.decoder.forward(this.encoder.forward(x)) }
}

export interface CEDOptions extends InitOpts { in: number; out: number; rank: number; kernel: number; stride?: number; padding?: number; groups?: number; bias?: boolean }

/**
 * Convolutional encoder-decoder: a k×k conv in → r (no bias, `groups`) then a 1×1 conv r → out
 * (bias, the same groups, so each group's factorization stays block-diagonal). r must be a multiple
 * of groups (autoFactorize rounds it up).
 * Reference: https://arxiv.org/abs/2108.10808 (Sec. 3.1, CED)
 * @example
 *   const ced = new CED({ in: 16, out: 32, rank: 8, kernel: 3, padding: 1 }) // (B, 16, H, W) → (B, 32, H, W)
 */
export class CED extends Module {
  encoder: Conv2d // (r, in/g, k, k)
  decoder: Conv2d // (out, r/g, 1, 1)
  constructor(readonly opts: CEDOptions) {
    super()
    const g = opts.groups ?? 1
    if (!Number.isInteger(opts.rank) || opts.rank < 1 || opts.rank % g !== 0) throw new TesseraError(`CED: rank ${opts.rank} must be a positive multiple of groups ${g}`)
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.encoder = new Conv2d(opts.in, opts.rank, opts.kernel, { ...o, stride: opts.stride, padding: opts.padding, groups: g, bias: false })
    this.decoder = new Conv2d(opts.rank, opts.out, 1, { ...o, groups: g, bias: opts.bias !== false })
  }
  forward(x: Tensor): Tensor { return this.decoder.forward(this.encoder.forward(x)) }
}

/** Best rank-r factors of M (p, q) ≈ A B, A (p, r) = u_r diag(s_r)·…, via SVD: returns [left (p, r), right (r, q)]. */
function truncatedFactors(M: Tensor, r: number): [Tensor, Tensor] {
  // Greenformer factorizes Wᵀ = u diag(s) vᵀ, U = (u diag(s))ᵀ, V = v; equivalently W = v (s uᵀ).
  const { U, S, Vh } = svd(M.mT) // Mᵀ (q, p) = U S Vh
  const k = Math.min(r, S.shape[0])
  const enc = U.narrow(1, 0, k).mul(S.narrow(0, 0, k)).mT // (k, q) = (u s)ᵀ
  const dec = Vh.narrow(0, 0, k).mT // (p, k) = v
  return [dec, enc]
}

export interface AutoFactorizeOptions {
  /** Integer rank, or a fraction ρ < 1 of r_lim. */
  rank: number
  /** 'random': fresh LED/CED (low-rank training); 'svd': initialised from the truncated SVD. Default 'svd'. */
  solver?: 'random' | 'svd'
  /** Only these modules are considered (default: every Linear and Conv2d). */
  only?: Module[]
  /** Factorize even when r ≥ r_lim (no saving), with r capped at min(in, out); for checks. */
  force?: boolean
  generator?: Generator
}

/**
 * Replaces each Linear by an LED and each Conv2d by a CED (in place), following the rank rule;
 * returns the dotted names replaced with their ranks.
 * 'svd': LED encoder = (u_r s_r)ᵀ, decoder = v_r, bias copied, from Wᵀ = u s vᵀ (Eckart–Young);
 * CED: each group's weight flattened to (out/g, in·k²/g) and factorized the same way.
 * Reference: https://arxiv.org/abs/2108.10808 (Sec. 3.2); greenformer auto_fact.py
 * @example
 *   autoFactorize(model, { rank: 0.5, solver: 'svd' }) // then fine-tune
 */
export function autoFactorize(model: Module, opts: AutoFactorizeOptions): { name: string; rank: number }[] {
  const solver = opts.solver ?? 'svd', done: { name: string; rank: number }[] = []
  const pick = (inF: number, outF: number): number | null => {
    if (!opts.force) return factorRank(inF, outF, opts.rank)
    const rLim = Math.floor((inF * outF) / (inF + outF))
    return Math.min(opts.rank < 1 ? Math.max(1, Math.floor(opts.rank * rLim)) : opts.rank, Math.min(inF, outF))
  }
  for (const [prefix, parent] of [...model.namedModules()]) {
    if (parent instanceof LED || parent instanceof CED) continue // already factorized
    for (const [name, child] of [...parent.namedChildren()]) {
      if (opts.only && !opts.only.includes(child)) continue
      const full = prefix ? `${prefix}.${name}` : name
      let replacement: Module | null = null, r: number | null = null
      if (child instanceof Linear) {
        r = pick(child.inFeatures, child.outFeatures)
        if (r === null) continue
        const dtype = child.weight.dtype as DT
        const led = new LED({ in: child.inFeatures, out: child.outFeatures, rank: r, bias: child.bias !== null, generator: opts.generator, dtype })
        if (solver === 'svd') noGrad(() => {
          const [dec, enc] = truncatedFactors(child.weight.to('float64'), r!)
          led.encoder.weight.copy_(enc); led.decoder.weight.copy_(dec)
          if (child.bias) led.decoder.bias!.copy_(child.bias)
        })
        replacement = led
      } else if (child instanceof Conv2d) {
        const g = child.options.groups ?? 1, [kh, kw] = child.kernelSize
        if (kh !== kw || typeof child.options.padding === 'string') continue
        const inFlat = (child.inChannels * kh * kw) / g
        r = pick(inFlat, child.outChannels)
        if (r === null) continue
        r = Math.ceil(r / g) * g
        const stride = child.options.stride, padding = child.options.padding
        const ced = new CED({
          in: child.inChannels, out: child.outChannels, rank: r, kernel: kh, groups: g, bias: child.bias !== null,
          stride: typeof stride === 'number' ? stride : stride?.[0], padding: typeof padding === 'number' ? padding : padding?.[0],
          generator: opts.generator, dtype: child.weight.dtype as DT,
        })
        if (solver === 'svd') noGrad(() => {
          const og = child.outChannels / g, rg = r! / g
          for (let j = 0; j < g; j++) {
            const Wj = child.weight.narrow(0, j * og, og).reshape([og, inFlat]).to('float64') // (out/g, in·k²/g)
            const [dec, enc] = truncatedFactors(Wj, rg)
            ced.encoder.weight.narrow(0, j * rg, rg).copy_(enc.reshape([rg, child.inChannels / g, kh, kw]))
            ced.decoder.weight.narrow(0, j * og, og).copy_(dec.reshape([og, rg, 1, 1]))
          }
          if (child.bias) ced.decoder.bias!.copy_(child.bias)
        })
        replacement = ced
      }
      if (replacement && r !== null) {
        ;(parent as unknown as Record<string, Module>)[name] = replacement
        done.push({ name: full, rank: r })
      }
    }
  }
  return done
}

/** A dense Linear, or an LED when `rank` is given and the rank rule allows a saving. */
export function lowRankLinear(inF: number, outF: number, rank: number | null, o: InitOpts & { bias?: boolean } = {}): Linear | LED {
  const r = rank === null ? null : factorRank(inF, outF, rank)
  const init = { generator: o.generator, dtype: o.dtype, bias: o.bias }
  return r === null ? new Linear(inF, outF, init) : new LED({ ...init, in: inF, out: outF, rank: r })
}

export interface AttentionOptions extends InitOpts { d: number; heads: number; rank?: number | null }

/** Multi-head self-attention with explicit softmax(Q Kᵀ/√Dh) V (materialises the (L, L) scores). */
export class FullAttention extends Module {
  wq: Module; wk: Module; wv: Module; wo: Module
  readonly d: number; readonly heads: number
  constructor(opts: AttentionOptions) {
    super()
    if (opts.d % opts.heads !== 0) throw new TesseraError(`${this.constructor.name}: d ${opts.d} must be divisible by heads ${opts.heads}`)
    this.d = opts.d; this.heads = opts.heads
    const mk = (): Module => lowRankLinear(opts.d, opts.d, opts.rank ?? null, opts)
    this.wq = mk(); this.wk = mk(); this.wv = mk(); this.wo = mk()
  }
  /** Projects keys and values along the sequence (identity here; Linformer overrides). */
  protected shrink(k: Tensor, v: Tensor): [Tensor, Tensor] { return [k, v] }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.d) throw new TesseraError(`${this.constructor.name}: x must be (B, L, ${this.d}), got ${fmtShape(x.shape)}`)
    const [B, L] = x.shape, H = this.heads, Dh = this.d / H
    const proj = (m: Module): Tensor => (m.forward as (t: Tensor) => Tensor)(x).reshape([B, L, H, Dh]).permute([0, 2, 1, 3]) // (B, H, L, Dh)
    const [k, v] = this.shrink(proj(this.wk), proj(this.wv)) // (B, H, k, Dh)
    const p = proj(this.wq).matmul(k.mT).mul(1 / Math.sqrt(Dh)).softmax(-1) // (B, H, L, k)
    return (this.wo.forward as (t: Tensor) => Tensor)(p.matmul(v).permute([0, 2, 1, 3]).reshape([B, L, this.d]))
  }
}

export interface LinformerOptions extends AttentionOptions {
  /** Maximum sequence length n (E, F are (k, n); shorter inputs use the first L columns). */
  seqLen: number
  /** Projected length k. */
  k: number
  /** 'none': separate E, F; 'kv': F = E; 'layer': E = F = `shared` (one matrix for every layer). */
  share?: 'none' | 'kv' | 'layer'
  shared?: Parameter
}

/**
 * Linformer self-attention: attn = softmax(Q (E K)ᵀ/√Dh) (F V), E, F (k, n) learned (Xavier-normal).
 * Reference: Wang et al. 2020, https://arxiv.org/abs/2006.04768 (Eqn 7); Greenformers Sec. 3.3
 * @example
 *   const att = new LinformerAttention({ d: 32, heads: 4, seqLen: 512, k: 32 }) // (B, 512, 32) → (B, 512, 32)
 */
export class LinformerAttention extends FullAttention {
  E: Parameter // (k, n)
  F: Parameter // (k, n)
  readonly seqLen: number
  constructor(opts: LinformerOptions) {
    super(opts)
    this.seqLen = opts.seqLen
    const share = opts.share ?? 'none'
    const fresh = (): Parameter => new Parameter(randn([opts.k, opts.seqLen], opts).mul(Math.sqrt(2 / (opts.k + opts.seqLen))))
    if (share === 'layer') {
      if (!opts.shared || opts.shared.shape[0] !== opts.k || opts.shared.shape[1] !== opts.seqLen) throw new TesseraError(`LinformerAttention: share 'layer' needs a shared (${opts.k}, ${opts.seqLen}) parameter`)
      this.E = opts.shared; this.F = opts.shared
    } else {
      this.E = fresh()
      this.F = share === 'kv' ? this.E : fresh()
    }
  }
  protected override shrink(k: Tensor, v: Tensor): [Tensor, Tensor] {
    const L = k.shape[2]
    if (L > this.seqLen) throw new TesseraError(`LinformerAttention: sequence length ${L} exceeds seqLen ${this.seqLen}`)
    return [this.E.narrow(1, 0, L).matmul(k), this.F.narrow(1, 0, L).matmul(v)] // (B, H, k, Dh)
  }
}

/**
 * Attention FLOPs for one head-summed layer excluding projections: standard 4 n² d, Linformer
 * 8 n k d (E K, F V, Q K'ᵀ, P V'), multiply-adds counted as 2.
 * @example
 *   attentionFlops(512, 64) / attentionFlops(512, 64, 32) // 8
 */
export function attentionFlops(n: number, d: number, k?: number): number {
  return k === undefined ? 4 * n * n * d : 8 * n * k * d
}

export interface LowRankTransformerOptions extends InitOpts {
  inDim: number; d: number; heads: number; layers: number; classes: number; seqLen: number
  ff?: number
  /** Rank (integer or fraction of r_lim) of every Q, K, V, O and FFN projection; null = dense. */
  rank?: number | null
  attention?: 'full' | 'linformer'
  /** Linformer k (default 32) and sharing. */
  k?: number
  share?: 'none' | 'kv' | 'layer'
}

class LRBlock extends Module {
  norm1: LayerNorm; attn: FullAttention; norm2: LayerNorm; ff1: Module; ff2: Module
  constructor(o: LowRankTransformerOptions, shared?: Parameter) {
    super()
    const ff = o.ff ?? 2 * o.d, rank = o.rank ?? null
    this.norm1 = new LayerNorm(o.d, { dtype: o.dtype })
    this.attn = o.attention === 'linformer'
      ? new LinformerAttention({ ...o, rank, seqLen: o.seqLen, k: o.k ?? 32, share: o.share, shared })
      : new FullAttention({ ...o, rank })
    this.norm2 = new LayerNorm(o.d, { dtype: o.dtype })
    this.ff1 = lowRankLinear(o.d, ff, rank, o); this.ff2 = lowRankLinear(ff, o.d, rank, o)
  }
  forward(x: Tensor): Tensor {
    x = x.add(this.attn.forward(this.norm1.forward(x)))
    const f1 = this.ff1.forward as (t: Tensor) => Tensor, f2 = this.ff2.forward as (t: Tensor) => Tensor
    return x.add(f2(f1(this.norm2.forward(x)).gelu()))
  }
}

/**
 * A pre-norm transformer encoder classifier whose projections are LEDs (low-rank training, "LRT"),
 * optionally with Linformer attention: embed (inDim → d) + position, blocks, LayerNorm, mean-pool, head.
 * Reference: https://arxiv.org/abs/2108.10808 (Sec. 4, LRT)
 * @example
 *   const m = new LowRankTransformer({ inDim: 8, d: 32, heads: 4, layers: 2, classes: 10, seqLen: 8, rank: 0.5 })
 *   m.forward(x) // x (B, 8, 8) → (B, 10)
 */
export class LowRankTransformer extends Module {
  embed: Linear; pos: Parameter; blocks: ModuleList; norm: LayerNorm; head: Linear
  constructor(readonly options: LowRankTransformerOptions) {
    super()
    const o = options
    this.embed = new Linear(o.inDim, o.d, o)
    this.pos = new Parameter(randn([o.seqLen, o.d], o).mul(0.02))
    const shared = o.attention === 'linformer' && o.share === 'layer'
      ? new Parameter(randn([o.k ?? 32, o.seqLen], o).mul(Math.sqrt(2 / ((o.k ?? 32) + o.seqLen)))) : undefined
    this.blocks = new ModuleList(Array.from({ length: o.layers }, () => new LRBlock(o, shared)))
    this.norm = new LayerNorm(o.d, { dtype: o.dtype })
    this.head = new Linear(o.d, o.classes, o)
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.options.inDim) throw new TesseraError(`LowRankTransformer: x must be (B, L, ${this.options.inDim}), got ${fmtShape(x.shape)}`)
    let h = this.embed.forward(x).add(this.pos.narrow(0, 0, x.shape[1])) // (B, L, d)
    for (const b of this.blocks) h = (b as LRBlock).forward(h)
    return this.head.forward(this.norm.forward(h).mean(1))
  }
}

/** Parameters of the Q, K, V, O and FFN projections only (what LRT shrinks). */
export function projectionParams(model: LowRankTransformer): number {
  let n = 0
  for (const b of model.blocks) {
    const blk = b as LRBlock
    for (const m of [blk.attn.wq, blk.attn.wk, blk.attn.wv, blk.attn.wo, blk.ff1, blk.ff2]) n += m.numParameters()
  }
  return n
}


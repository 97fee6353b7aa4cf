/**
 * @file Paper 18 (Hedegaard, "Efficient Online Processing with Deep Neural Networks",
 * https://arxiv.org/abs/2306.13474), the compression chapter: Structured Pruning Adapters
 * (Hedegaard et al., "Structured Pruning Adapters", https://arxiv.org/abs/2211.10155), SPLoRA.
 *
 * A frozen Linear W (Dout, Din) gets a low-rank adapter ΔW = B A, B (Dout, r), A (r, Din), both
 * initialised U(±1e-4) (the sheet's reading). Channels are pruned jointly in W and the adapter with
 * binary masks m_out (Dout,), m_in (Din,):
 *   y = m_out ⊙ ((W + B A) (m_in ⊙ x)) + m_out ⊙ b
 * and `fuse()` returns the small task model W' = (W + B A)[kept rows][:, kept cols], b' = b[kept rows],
 * which maps x[kept cols] to y[kept rows] exactly.
 * Shapes: x (..., Din) → y (..., Dout).
 */
import { TesseraError } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { rand, tensor } from '../../creation.ts'
import { linear } from '../../functional.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Linear } from '../linear.ts'

export interface SPLoRAOptions { rank?: number; initRange?: number; generator?: Generator }

/**
 * SPLoRA adapter around a frozen nn.Linear (Reference: https://arxiv.org/abs/2211.10155, Eqn for
 * SPLoRA: W' = (W + B A) with structured (row/column) pruning applied to both).
 * @example
 *   const a = new adapters.SPLoRA(new nn.Linear(32, 16), { rank: 4 })
 *   a.pruneChannels({ out: keepRows, in: keepCols }); const small = a.fuse() // nn.Linear(kept in, kept out)
 */
export class SPLoRA extends Module {
  readonly base: Linear
  adapterA: Parameter // (r, Din)
  adapterB: Parameter // (Dout, r)
  keepOut: number[] // kept output rows
  keepIn: number[] // kept input columns
  readonly rank: number

  constructor(base: Linear, opts: SPLoRAOptions = {}) {
    super()
    if (!(base instanceof Linear)) throw new TesseraError('SPLoRA: can only wrap an nn.Linear')
    const r = opts.rank ?? 16, c = opts.initRange ?? 1e-4
    if (!Number.isInteger(r) || r < 1) throw new TesseraError(`SPLoRA: rank must be an integer >= 1, got ${r}`)
    this.base = base
    this.rank = r
    for (const p of base.parameters()) p.requiresGrad_(false)
    const dtype = base.weight.dtype as 'float32' | 'float64'
    this.adapterA = new Parameter(rand([r, base.inFeatures], { generator: opts.generator, dtype }).mul(2 * c).sub(c))
    this.adapterB = new Parameter(rand([base.outFeatures, r], { generator: opts.generator, dtype }).mul(2 * c).sub(c))
    this.keepOut = Array.from({ length: base.outFeatures }, (_, i) => i)
    this.keepIn = Array.from({ length: base.inFeatures }, (_, i) => i)
  }

  /** Structured pruning: keep only the listed output rows / input columns (of W and the adapter jointly). */
  pruneChannels(keep: { out?: number[]; in?: number[] }): this {
    const ok = (ids: number[], n: number): boolean => ids.length > 0 && ids.every((i) => Number.isInteger(i) && i >= 0 && i < n) && new Set(ids).size === ids.length
    if (keep.out && !ok(keep.out, this.base.outFeatures)) throw new TesseraError(`SPLoRA.pruneChannels: out must be distinct indices in [0, ${this.base.outFeatures})`)
    if (keep.in && !ok(keep.in, this.base.inFeatures)) throw new TesseraError(`SPLoRA.pruneChannels: in must be distinct indices in [0, ${this.base.inFeatures})`)
    if (keep.out) this.keepOut = [...keep.out].sort((a, b) => a - b)
    if (keep.in) this.keepIn = [...keep.in].sort((a, b) => a - b)
    return this
  }

  private mask(ids: number[], n: number): Tensor {
    const m = new Array<number>(n).fill(0)
    for (const i of ids) m[i] = 1
    return tensor(m, { dtype: this.base.weight.dtype })
  }

  /** y = m_out ⊙ ((W + B A)(m_in ⊙ x) + b): the unfused, full-size masked forward. */
  forward(x: Tensor): Tensor {
    const w = this.base.weight.add(this.adapterB.matmul(this.adapterA)) // (Dout, Din)
    const y = linear(x.mul(this.mask(this.keepIn, this.base.inFeatures)), w, this.base.bias) // (..., Dout)
    return y.mul(this.mask(this.keepOut, this.base.outFeatures))
  }

  /** The fused, pruned layer: nn.Linear(|keepIn|, |keepOut|) with W' = (W + B A)[keepOut][:, keepIn]. */
  fuse(): Linear {
    const dtype = this.base.weight.dtype as 'float32' | 'float64'
    const out = new Linear(this.keepIn.length, this.keepOut.length, { bias: this.base.bias !== null, dtype })
    noGrad(() => {
      const rows = tensor(this.keepOut, { dtype: 'int32' }), cols = tensor(this.keepIn, { dtype: 'int32' })
      const w = this.base.weight.add(this.adapterB.matmul(this.adapterA)).indexSelect(0, rows).indexSelect(1, cols)
      out.weight.copy_(w)
      if (this.base.bias && out.bias) out.bias.copy_(this.base.bias.indexSelect(0, rows))
    })
    return out
  }

  /** Learned (adapter) parameters for the kept channels: r (|keepOut| + |keepIn|). */
  learnedParameters(): number { return this.rank * (this.keepOut.length + this.keepIn.length) }
}

/**
 * @file Paper 30, EfficientFormer (Li et al. 2022, https://arxiv.org/abs/2206.01191), Sec. 4.2 step 1:
 * the Gumbel-softmax supernet whose architecture logits α give the block importances for the latency
 * driven slimming (./30-efficientformer-slimming.ts). Not in the released code; follows the paper text.
 *
 * One MetaPath per slot of the space, at the stage's largest width. A MetaPath mixes its branches,
 * X_{i+1} = Σ_n w_n MP_n(X_i), w = softmax((α + ε)/τ), ε ~ Gumbel(0, 1); branches: identity, Meta4D,
 * and in the trailing `maxVit` slots of stage 4 also Meta3D (flatten to tokens, Meta3D, back to a map).
 * Shapes: images (B, C_in, side, side); maps (B, C_s, H_s, H_s); tokens (B, r², C_4); logits (B, K);
 * α (n_choices,) per slot, choices ordered [identity, meta4d, meta3d?].
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { tensor, zeros } from '../../creation.ts'
import { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { ModuleList, Sequential } from '../containers.ts'
import { Linear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { ConvBNAct } from '../blocks.ts'
import { crossEntropy } from '../losses.ts'
import { Adam } from '../../optim/adam.ts'
import { Meta3D, Meta4D } from './30-efficientformer.ts'
import { stageSides, type BlockKind, type SlimmingImportance, type SlimmingSpace } from './30-efficientformer-slimming.ts'

/** Gumbel(0, 1) noise ε = −log(−log u), u ~ U(0, 1) from the generator. (n,) float64 or float32. */
export function sampleGumbel(shape: number[], generator: Generator, dtype: 'float32' | 'float64' = 'float32'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1)
  const v = Array.from({ length: n }, () => -Math.log(-Math.log(1e-12 + (1 - 2e-12) * generator.nextFloat64())))
  return tensor(v, { dtype }).reshape(shape)
}

/**
 * Gumbel-softmax relaxation (Jang et al. 2017): w = softmax((α + ε)/τ) along the last dim; differentiable
 * in α for fixed noise ε. Reference: https://arxiv.org/abs/1611.01144, https://arxiv.org/abs/2206.01191 (Sec. 4.2)
 * @example
 *   gumbelSoftmax(alpha, sampleGumbel(alpha.shape, g), 1) // sums to 1
 */
export function gumbelSoftmax(alpha: Tensor, noise: Tensor, tau: number): Tensor {
  if (!(tau > 0)) throw new TesseraError(`gumbelSoftmax: tau must be > 0, got ${tau}`)
  if (noise.shape.join() !== alpha.shape.join()) throw new TesseraError(`gumbelSoftmax: noise must match alpha [${alpha.shape.join(',')}], got [${noise.shape.join(',')}]`)
  return alpha.add(noise).div(tau).softmax(-1)
}

/** One searchable slot: identity / Meta4D (/ Meta3D) mixed by Gumbel-softmax weights of its logits α. (B, C, H, W) -> same. */
export class MetaPath extends Module {
  alpha: Parameter // (n_choices,)
  meta4d: Meta4D
  meta3d: Meta3D | null
  readonly choices: BlockKind[]

  constructor(readonly dim: number, resolution: number, allow3d: boolean, opts: { mlpRatio?: number; layerScaleInit?: number; numHeads?: number; keyDim?: number; generator?: Generator }) {
    super()
    this.choices = allow3d ? ['identity', 'meta4d', 'meta3d'] : ['identity', 'meta4d']
    this.alpha = new Parameter(zeros([this.choices.length]))
    this.meta4d = new Meta4D(dim, opts)
    this.meta3d = allow3d ? new Meta3D(dim, resolution, opts) : null
  }

  /** X_{i+1} = Σ_n w_n MP_n(X_i) for given mixing weights w (n_choices,). */
  forward(x: Tensor, w: Tensor): Tensor {
    const [B, C, H, W] = x.shape
    let y = x.mul(w.select(0, 0)).add(this.meta4d.forward(x).mul(w.select(0, 1))) // (B, C, H, W)
    if (this.meta3d) {
      const t = this.meta3d.forward(x.flatten(2).transpose(1, 2)) // (B, H W, C)
      y = y.add(t.transpose(1, 2).reshape([B, C, H, W]).mul(w.select(0, 2)))
    }
    return y
  }
}

export interface SupernetForwardOptions { tau?: number; generator?: Generator }

/**
 * EfficientFormer supernet over a `SlimmingSpace` at maximal widths: stem, 4 stages of MetaPaths,
 * Conv3x3 s2 + BN embeddings, LN + token mean + Linear head. Each forward draws fresh Gumbel noise per
 * slot from `generator` (pass a freshly seeded one to repeat the same noise).
 * Reference: https://arxiv.org/abs/2206.01191 (Sec. 4.2)
 */
export class SlimmingSupernet extends Module {
  stem: Sequential
  paths: ModuleList // MetaPath, stage by stage
  downsamples: ModuleList
  norm: LayerNorm
  head: Linear
  readonly stageOf: number[] // stage of each path

  constructor(readonly space: SlimmingSpace, opts: { generator?: Generator } = {}) {
    super()
    const g = opts.generator ?? new Generator(0), w = space.widths.map((x) => Math.max(...x)), r = stageSides(space.side)[3]
    const bo = { mlpRatio: space.mlpRatio, layerScaleInit: space.layerScaleInit, numHeads: space.numHeads, keyDim: space.keyDim, generator: g }
    const c0 = Math.floor(w[0] / 2)
    this.stem = new Sequential(new ConvBNAct(space.inChans ?? 3, c0, 3, { stride: 2, generator: g }), new ConvBNAct(c0, w[0], 3, { stride: 2, generator: g }))
    const paths: MetaPath[] = [], downs: ConvBNAct[] = []
    this.stageOf = []
    for (let s = 0; s < 4; s++) {
      for (let j = 0; j < space.depths[s]; j++) {
        paths.push(new MetaPath(w[s], r, s === 3 && j >= space.depths[3] - space.maxVit, bo))
        this.stageOf.push(s)
      }
      if (s < 3) downs.push(new ConvBNAct(w[s], w[s + 1], 3, { stride: 2, act: 'none', generator: g }))
    }
    this.paths = new ModuleList(paths)
    this.downsamples = new ModuleList(downs)
    this.norm = new LayerNorm(w[3])
    this.head = new Linear(w[3], space.numClasses ?? 1000, { generator: g })
  }

  /** The architecture logits α, one (n_choices,) tensor per slot. */
  archParameters(): Parameter[] { return ([...this.paths] as MetaPath[]).map((p) => p.alpha) }

  /** Everything but α. */
  weightParameters(): Parameter[] {
    const arch = new Set<Parameter>(this.archParameters())
    return this.parameters().filter((p) => !arch.has(p))
  }

  /** Logits (B, K); each slot mixes its branches with w = gumbelSoftmax(α, ε, τ), ε drawn from `generator`. */
  forward(x: Tensor, opts: SupernetForwardOptions = {}): Tensor {
    const tau = opts.tau ?? 1, g = opts.generator ?? new Generator(0)
    const paths = [...this.paths] as MetaPath[], downs = [...this.downsamples] as ConvBNAct[]
    let h = this.stem.forward<Tensor>(x) // (B, C_1, H_1, H_1)
    let i = 0
    for (let s = 0; s < 4; s++) {
      for (let j = 0; j < this.space.depths[s]; j++, i++) h = paths[i].forward(h, gumbelSoftmax(paths[i].alpha, sampleGumbel(paths[i].alpha.shape, g), tau)) // (B, C_s, H_s, H_s)
      if (s < 3) h = downs[s].forward(h)
    }
    const t = h.flatten(2).transpose(1, 2) // (B, r², C_4)
    return this.head.forward(this.norm.forward(t).mean(1))
  }

  /** Slot importances log(π_k/π_I) = α_k − α_I, arranged as `SlimmingImportance`. */
  importance(): SlimmingImportance {
    const blocks: SlimmingImportance['blocks'] = this.space.depths.map(() => [])
    ;([...this.paths] as MetaPath[]).forEach((p, i) => {
      const a = Array.from(p.alpha.data())
      blocks[this.stageOf[i]].push(p.meta3d ? { meta4d: a[1] - a[0], meta3d: a[2] - a[0] } : { meta4d: a[1] - a[0] })
    })
    return { blocks }
  }
}

export interface SupernetTrainOptions { steps?: number; batch?: number; lr?: number; archLr?: number; tau?: number; seed?: number }

/**
 * Trains a `SlimmingSupernet` jointly: each step draws a random batch and fresh Gumbel noise, and one
 * Adam step updates the weights (lr) and another the architecture logits α (archLr) on the same
 * cross-entropy loss. Returns the supernet, its importances and the mean of the last 10 losses.
 * Reference: https://arxiv.org/abs/2206.01191 (Sec. 4.2, "train the supernet with Gumbel Softmax sampling")
 */
export function trainSupernet(space: SlimmingSpace, data: { x: Tensor; y: Tensor }, opts: SupernetTrainOptions = {}): { supernet: SlimmingSupernet; importance: SlimmingImportance; loss: number } {
  const steps = opts.steps ?? 50, batch = opts.batch ?? 32, tau = opts.tau ?? 1, g = new Generator(opts.seed ?? 0)
  const [N, C, Hs, Ws] = data.x.shape
  if (data.x.ndim !== 4 || C !== (space.inChans ?? 3) || Hs !== space.side || Ws !== space.side || data.y.shape[0] !== N) {
    throw new TesseraError(`trainSupernet: data.x must be (N, ${space.inChans ?? 3}, ${space.side}, ${space.side}) with y (N,), got x [${data.x.shape.join(',')}], y [${data.y.shape.join(',')}]`)
  }
  const net = new SlimmingSupernet(space, { generator: new Generator((opts.seed ?? 0) + 1) })
  const wOpt = new Adam(net.weightParameters(), { lr: opts.lr ?? 2e-3 }), aOpt = new Adam(net.archParameters(), { lr: opts.archLr ?? 3e-2 })
  const last: number[] = []
  net.train()
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, N)), { dtype: 'int32' })
    wOpt.zeroGrad(); aOpt.zeroGrad()
    const loss = crossEntropy(net.forward(data.x.indexSelect(0, ids), { tau, generator: g }), data.y.indexSelect(0, ids))
    loss.backward(); wOpt.step(); aOpt.step()
    last.push(loss.item()); if (last.length > 10) last.shift()
  }
  return { supernet: net, importance: net.importance(), loss: last.reduce((a, b) => a + b, 0) / Math.max(1, last.length) }
}

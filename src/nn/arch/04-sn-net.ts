/**
 * @file Paper 04 — SN-Net, "Stitchable Neural Networks" (Pan, Cai, Zhuang; CVPR 2023),
 * https://arxiv.org/abs/2302.06586. Official code: ziplab/SN-Net (stitching_deit/snnet.py, utils.py).
 *
 * A family of pretrained ViT "anchors" of equal depth L and widths d_0 < d_1 < ... is stitched into
 * one network that can run, at run time and without retraining, any of many accuracy/FLOPs
 * trade-offs: run the front anchor's embedding and blocks 0..j, map its tokens to the next anchor's
 * width with a stitching layer (a Linear), then run the end anchor's blocks l..L−1, norm and head.
 *
 * Shapes: images (B, C, H, W); tokens (B, T, d_a) in front of a stitch and (B, T, d_b) after it;
 * logits (B, classes). Least-squares init flattens tokens to (B·T, d).
 */
import { TesseraError, check, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { ones, zeros } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { countMacs, shapeOnly } from '../../profile.ts'
import { lstsq } from '../../linalg/pinv.ts'
import { Module } from '../module.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import type { ViT } from '../vit.ts'

/**
 * A stitching layer: y = W x + β, mapping the front anchor's tokens (…, d_in) to the end anchor's
 * width (…, d_out) (paper Sec. 3.2, Eqn (2): S = A ∘ T ∘ B with T a linear transform).
 * Reference: https://arxiv.org/abs/2302.06586
 * @example
 *   const s = new StitchingLayer(192, 384); s.forward(tokens) // (B, T, 192) -> (B, T, 384)
 */
export class StitchingLayer extends Module {
  transform: Linear
  constructor(readonly dIn: number, readonly dOut: number, opts: { generator?: Generator; dtype?: 'float32' | 'float64' } = {}) {
    super()
    this.transform = new Linear(dIn, dOut, opts)
  }

  /** Sets W (d_out, d_in) and β (d_out,). */
  setWeights(weight: Tensor, bias: Tensor): void {
    check(weight.ndim === 2 && weight.shape[0] === this.dOut && weight.shape[1] === this.dIn && bias.ndim === 1 && bias.shape[0] === this.dOut,
      'StitchingLayer.setWeights', () => `need W (${this.dOut}, ${this.dIn}) and β (${this.dOut}), got ${fmtShape(weight.shape)} and ${fmtShape(bias.shape)}`)
    noGrad(() => {
      this.transform.weight.copy_(weight.to(this.transform.weight.dtype))
      this.transform.bias!.copy_(bias.to(this.transform.bias!.dtype))
    })
  }

  forward(x: Tensor): Tensor { return this.transform.forward(x) }
}

/** The paired stitch positions of two equal-depth anchors. */
export interface PairedStitching {
  /** (j, l): front block j's output feeds end block l. */
  pairs: [number, number][]
  /** Stitching-layer index of each pair (pairs first seen in the same window share one layer). */
  layerIds: number[]
  /** Number of stitching layers per anchor pair. */
  numStitches: number
}

/**
 * Paired stitching (official utils.py `paired_stitching`): slide a window of `kernelSize` block ids
 * with `stride` over 0..depth−1; every not-yet-seen (j, l) with j, l in the window is a stitch
 * position, and all positions first seen in one window share a stitching layer. depth 12, k 2,
 * s 1 gives 34 positions on 11 layers.
 * @example
 *   pairedConfigs(6).pairs // [[0,0],[0,1],[1,0],[1,1],[1,2],[2,1],[2,2],...] (16 pairs)
 */
export function pairedConfigs(depth: number, kernelSize = 2, stride = 1): PairedStitching {
  check(Number.isInteger(depth) && depth > 0 && Number.isInteger(kernelSize) && kernelSize > 0 && Number.isInteger(stride) && stride > 0,
    'stitch.pairedConfigs', () => `depth, kernelSize and stride must be positive integers, got ${depth}, ${kernelSize}, ${stride}`)
  const pairs: [number, number][] = [], layerIds: number[] = []
  const seen = new Set<string>()
  let stitchId = -1
  for (let i = 0; i < depth; i += stride) {
    const ids = Array.from({ length: Math.min(kernelSize, depth - i) }, (_, t) => i + t)
    let fresh = false
    for (const j of ids) {
      for (const l of ids) {
        if (seen.has(`${j},${l}`)) continue
        seen.add(`${j},${l}`)
        pairs.push([j, l]); layerIds.push(stitchId + 1); fresh = true
      }
    }
    if (fresh) stitchId++
  }
  return { pairs, layerIds, numStitches: stitchId + 1 }
}

/** One runnable network: a chain of anchors and, between consecutive ones, a stitch position and layer. */
export interface StitchConfig {
  /** Anchor ids in order, e.g. [1] (anchor alone) or [0, 1] (anchor 0 stitched into anchor 1). */
  anchors: number[]
  /** Stitch position (j, l) between anchors[i] and anchors[i+1]. */
  stitches: [number, number][]
  /** Stitching-layer index used for each stitch. */
  layers: number[]
}

/**
 * All configurations (official `get_stitch_configs`): each anchor alone, then for each anchor
 * combination in itertools order every chain of stitch positions whose next front block is not
 * before the previous end block. `nearest` (default) keeps only neighbouring pairs (a, a+1) and no
 * longer chains: A + (A − 1)·|pairs| configs (71 for A = 3, L = 12).
 */
export function stitchConfigs(depth: number, numAnchors: number, opts: { kernelSize?: number; stride?: number; nearest?: boolean } = {}): StitchConfig[] {
  const { pairs, layerIds } = pairedConfigs(depth, opts.kernelSize ?? 2, opts.stride ?? 1)
  const nearest = opts.nearest ?? true
  const combos: number[][] = []
  const choose = (start: number, size: number, acc: number[]): void => {
    if (acc.length === size) { combos.push(acc); return }
    for (let a = start; a < numAnchors; a++) choose(a + 1, size, [...acc, a])
  }
  for (let size = 1; size <= numAnchors; size++) choose(0, size, [])
  const out: StitchConfig[] = []
  for (const comb of combos) {
    if (nearest && (comb.length > 2 || (comb.length === 2 && comb[1] !== comb[0] + 1))) continue
    const extend = (stitches: [number, number][], layers: number[]): void => {
      if (stitches.length === comb.length - 1) { out.push({ anchors: comb, stitches, layers }); return }
      const lastOut = stitches.length ? stitches[stitches.length - 1][1] : -1
      pairs.forEach((p, t) => { if (p[0] >= lastOut) extend([...stitches, p], [...layers, layerIds[t]]) })
    }
    extend([], [])
  }
  return out
}

export interface SNNetOptions {
  /** Pretrained ViTs of one family: equal depth, increasing width. */
  anchors: ViT[]
  kernelSize?: number
  stride?: number
  nearest?: boolean
  /** Draws the random configuration of each training forward. */
  generator?: Generator
}

/**
 * Stitchable Neural Network over ViT anchors. In training mode every forward samples a configuration
 * uniformly (official `SNNet.forward`); in eval mode it runs the one chosen by `setConfig`.
 * Forward of config (a→b, (j, l)):  x = embed_a(img); blocks_a[0..j]; x = W x + β; blocks_b[l..L−1]; classifier_b.
 * Reference: https://arxiv.org/abs/2302.06586 (Sec. 3.3, Fig. 3)
 * @example
 *   const sn = new SNNet({ anchors: [small, large] }); initLeastSquares(sn, images)
 *   sn.eval(); sn.setConfig(5); sn.forward(images) // (B, classes); sn.flops(5, [1, 1, 8, 8])
 */
export class SNNet extends Module {
  anchors: ModuleList
  /** stitch_layers[p][s]: stitching layer s of anchor pair p (pairs in `pairKeys` order). */
  stitch_layers: ModuleList
  declare readonly configs: StitchConfig[]
  declare readonly pairKeys: string[]
  readonly depth: number
  /** The configuration run in eval mode. */
  configId = 0
  /** The configuration the last forward ran. */
  lastConfigId = 0
  declare private readonly generator: Generator

  constructor(opts: SNNetOptions) {
    super()
    const A = opts.anchors
    if (A.length < 1) throw new TesseraError('SNNet: need at least one anchor')
    const L = A[0].depth
    A.forEach((m, i) => check(m.depth === L, 'SNNet', () => `anchors must have equal depth; anchor 0 has ${L} blocks, anchor ${i} has ${m.depth}`))
    this.depth = L
    this.anchors = new ModuleList(A)
    const configs = stitchConfigs(L, A.length, opts)
    const { numStitches } = pairedConfigs(L, opts.kernelSize ?? 2, opts.stride ?? 1)
    const keys = [...new Set(configs.flatMap((c) => c.anchors.slice(1).map((b, i) => `${c.anchors[i]}-${b}`)))]
    this.stitch_layers = new ModuleList(keys.map((k) => {
      const [a, b] = k.split('-').map(Number)
      return new ModuleList(Array.from({ length: numStitches }, () => new StitchingLayer(A[a].embedDim, A[b].embedDim, { generator: opts.generator, dtype: A[a].config.dtype })))
    }))
    const hidden = { enumerable: false, writable: true }
    Object.defineProperty(this, 'configs', { ...hidden, value: configs })
    Object.defineProperty(this, 'pairKeys', { ...hidden, value: keys })
    Object.defineProperty(this, 'generator', { ...hidden, value: opts.generator ?? new Generator(0) })
  }

  get numConfigs(): number { return this.configs.length }

  anchor(a: number): ViT { return this.anchors.at(a) as ViT }

  /** Stitching layer s between anchors a → b. */
  stitchLayer(a: number, b: number, s: number): StitchingLayer {
    const p = this.pairKeys.indexOf(`${a}-${b}`)
    if (p < 0) throw new TesseraError(`SNNet: no stitching layers from anchor ${a} to anchor ${b}`)
    return (this.stitch_layers.at(p) as ModuleList).at(s) as StitchingLayer
  }

  /** Chooses the configuration run in eval mode (runtime switching, no retraining). */
  setConfig(id: number): this {
    check(Number.isInteger(id) && id >= 0 && id < this.numConfigs, 'SNNet.setConfig', () => `config id must be an integer in [0, ${this.numConfigs}), got ${id}`)
    this.configId = id
    return this
  }

  /** Alias of `setConfig` (the sheet's name). */
  setStitch(id: number): this { return this.setConfig(id) }

  forward(x: Tensor): Tensor {
    const id = this.training ? this.generator.nextInt(0, this.numConfigs) : this.configId
    return this.forwardConfig(x, id)
  }

  /** Runs configuration `id` on images (B, C, H, W) -> logits (B, classes). */
  forwardConfig(x: Tensor, id: number): Tensor {
    check(Number.isInteger(id) && id >= 0 && id < this.numConfigs, 'SNNet.forwardConfig', () => `config id must be in [0, ${this.numConfigs}), got ${id}`)
    this.lastConfigId = id
    const c = this.configs[id]
    if (c.anchors.length === 1) return this.anchor(c.anchors[0]).forward(x)
    let h = this.anchor(c.anchors[0]).embed.forward(x) // (B, T, d_a)
    let front = 0
    c.stitches.forEach(([j, l], i) => {
      h = this.anchor(c.anchors[i]).forwardBlocks(h, front, j + 1)
      h = this.stitchLayer(c.anchors[i], c.anchors[i + 1], c.layers[i]).forward(h) // (B, T, d_b)
      front = l
    })
    const last = this.anchor(c.anchors[c.anchors.length - 1])
    return last.classifier.forward(last.forwardBlocks(h, front))
  }

  /** The modules configuration `id` runs, in order (for parameter counts and manual composition). */
  usedModules(id: number): Module[] {
    const c = this.configs[id]
    if (c.anchors.length === 1) return [this.anchor(c.anchors[0])]
    const mods: Module[] = [this.anchor(c.anchors[0]).embed]
    let front = 0
    c.stitches.forEach(([j, l], i) => {
      const a = this.anchor(c.anchors[i])
      for (let t = front; t <= j; t++) mods.push(a.block(t))
      mods.push(this.stitchLayer(c.anchors[i], c.anchors[i + 1], c.layers[i]))
      front = l
    })
    const last = this.anchor(c.anchors[c.anchors.length - 1])
    for (let t = front; t < this.depth; t++) mods.push(last.block(t))
    mods.push(last.classifier)
    return mods
  }

  /** Parameters of configuration `id` (official `get_model_size`). */
  params(id: number): number {
    return this.usedModules(id).reduce((s, m) => s + m.numParameters(), 0)
  }

  /** Multiply-adds of one forward of configuration `id` on an input of `inputShape` (default one image), counted shape-only. */
  flops(id: number, inputShape?: number[]): number {
    const a = this.anchor(0).config
    const shape = inputShape ?? [1, a.inChans, a.imgSize, a.imgSize]
    return shapeOnly(() => countMacs(() => noGrad(() => this.forwardConfig(zeros(shape, { dtype: a.dtype }), id))).macs)
  }
}

/**
 * Least-squares stitch between paired activations (official `ps_inv`): tokens X1 (N, d_a) of the
 * front anchor and X2 (N, d_b) of the end anchor; solve [X1, 1] M ≈ X2 with M = pinv([X1, 1]) X2
 * ((d_a + 1, d_b)), so W = M[:d_a]ᵀ (d_b, d_a) and β = M[d_a] (d_b,). Float64 throughout.
 * @example
 *   const { weight, bias } = leastSquaresStitch(X1, X2) // X2 ≈ X1 Wᵀ + β
 */
export function leastSquaresStitch(x1: Tensor, x2: Tensor): { weight: Tensor; bias: Tensor } {
  const a = x1.reshape([-1, x1.shape[x1.ndim - 1]]).to('float64') // (N, d_a)
  const b = x2.reshape([-1, x2.shape[x2.ndim - 1]]).to('float64') // (N, d_b)
  check(a.shape[0] === b.shape[0], 'stitch.leastSquaresStitch', () => `paired activations need the same number of tokens, got ${fmtShape(x1.shape)} and ${fmtShape(x2.shape)}`)
  const dA = a.shape[1]
  const m = lstsq(cat([a, ones([a.shape[0], 1], { dtype: 'float64' })], 1), b) // (d_a + 1, d_b)
  return { weight: m.narrow(0, 0, dA).mT.contiguous(), bias: m.select(0, dA).contiguous() }
}

/**
 * Initialises every stitching layer of `snnet` by least squares on one batch of images (official
 * `initialize_stitching_weights`): for anchor pair a → b and each position (j, l) sharing a layer,
 * X1 = tokens after front block j, X2 = the end anchor's tokens entering block l (the embedding for
 * l = 0); the layer gets the mean of the per-position (W, β).
 * NOTE: the official code takes X2 = end_features[l − 1], which for l = 0 wraps to the *last*
 * block's output (Python index −1); we use the true input of block 0, the embedding output.
 */
export function initLeastSquares(snnet: SNNet, images: Tensor): void {
  const positions = new Map<number, [number, number][]>() // layer id -> positions
  for (const c of snnet.configs) {
    if (c.anchors.length !== 2) continue
    const list = positions.get(c.layers[0]) ?? []
    if (!list.some(([j, l]) => j === c.stitches[0][0] && l === c.stitches[0][1])) list.push(c.stitches[0])
    positions.set(c.layers[0], list)
  }
  const feats = new Map<number, Tensor[]>()
  const featuresOf = (a: number): Tensor[] => {
    if (!feats.has(a)) feats.set(a, noGrad(() => snnet.anchor(a).blockFeatures(images))) // [(B, T, d_a)] × (L + 1)
    return feats.get(a)!
  }
  for (const key of snnet.pairKeys) {
    const [a, b] = key.split('-').map(Number)
    const fa = featuresOf(a), fb = featuresOf(b)
    for (const [layer, list] of positions) {
      const sols = list.map(([j, l]) => leastSquaresStitch(fa[j + 1], fb[l]))
      const mean = (ts: Tensor[]): Tensor => ts.reduce((s, t) => s.add(t)).div(ts.length)
      snnet.stitchLayer(a, b, layer).setWeights(mean(sols.map((s) => s.weight)), mean(sols.map((s) => s.bias)))
    }
  }
}

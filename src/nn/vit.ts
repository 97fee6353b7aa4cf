/**
 * @file Vision Transformer (ViT / DeiT), shared by the vision papers that stitch or assemble ViTs
 * (sheet 04 SN-Net, sheet 52 Deep Model Assembling).
 *
 * Dosovitskiy et al. 2020, "An Image is Worth 16x16 Words", https://arxiv.org/abs/2010.11929;
 * Touvron et al. 2020, "Training data-efficient image transformers" (DeiT), https://arxiv.org/abs/2012.12877.
 * Layout and initialisation follow timm's `VisionTransformer` (pre-norm blocks, fused qkv Linear,
 * GELU MLP, trunc-normal(0.02) Linear weights and position embedding, zero biases).
 *
 * The network is three parts, so papers can cut it between blocks:
 *   embed      image (B, C, H, W) -> patch conv (B, D, H/P, W/P) -> tokens (B, N, D), N = HW/P²
 *              [+ class token -> (B, 1 + N, D)] + learned position embedding
 *   blocks     ViTBlock × depth, (B, T, D) -> (B, T, D), T = N (+1 with a class token)
 *   classifier final LayerNorm, pool (class token or mean of the patch tokens) (B, D), head (B, classes)
 *
 * Parameter names: `embed.patch_embed.proj.*`, `embed.cls_token`, `embed.pos_embed`, `blocks.i.*`
 * (timm's names below `blocks`), `classifier.norm.*`, `classifier.head.*`.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { zeros } from '../creation.ts'
import { cat } from '../ops/indexing.ts'
import { scaledDotProductAttention } from '../ops/attention.ts'
import type { Generator } from '../rng.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from './module.ts'
import { ModuleList } from './containers.ts'
import { Parameter } from './parameter.ts'
import { Linear } from './linear.ts'
import { LayerNorm } from './norm.ts'
import { Conv2d } from './conv.ts'
import { DropPath } from './blocks.ts'
import { truncNormal_ } from './init.ts'
import { isShapeOnly } from '../profile.ts'

type DT = 'float32' | 'float64'

/** A ViT configuration. */
export interface ViTOptions {
  /** Square input side H = W (default 224). */
  imgSize?: number
  /** Patch side P; imgSize must be a multiple (default 16). */
  patchSize?: number
  /** Input channels C (default 3). */
  inChans?: number
  /** Classes of the head; 0 means no head (features out). Default 1000. */
  numClasses?: number
  /** Token width D. */
  embedDim: number
  /** Number of transformer blocks. */
  depth: number
  /** Attention heads H (D divisible by H). */
  numHeads: number
  /** MLP hidden = mlpRatio · D (default 4). */
  mlpRatio?: number
  /** Bias in the qkv projection (default true, as DeiT). */
  qkvBias?: boolean
  /** 'cls' (a class token, DeiT) or 'mean' (mean of the patch tokens, no class token). Default 'cls'. */
  pool?: 'cls' | 'mean'
  /**
   * Std of the truncated-normal init of every Linear weight, the class token and the position
   * embedding (default 0.02, timm's value for D = 192..768). Tiny widths train much faster with a
   * larger value, e.g. 1/√D.
   */
  initStd?: number
  /** Stochastic-depth rate of the last block; block i gets dropPath · i / (depth − 1) (timm's linear rule). */
  dropPath?: number
  generator?: Generator
  dtype?: DT
}

/** Published DeiT configurations at 224x224, patch 16, 1000 classes (DeiT paper Table 1). */
export const VIT_PRESETS = {
  'deit-tiny': { embedDim: 192, depth: 12, numHeads: 3 },
  'deit-small': { embedDim: 384, depth: 12, numHeads: 6 },
  'deit-base': { embedDim: 768, depth: 12, numHeads: 12 },
} as const satisfies Record<string, Pick<ViTOptions, 'embedDim' | 'depth' | 'numHeads'>>

export type ViTPreset = keyof typeof VIT_PRESETS

/** truncN(0, std²) in place (timm's ViT init); skipped in shape-only mode, where there is no data. */
function truncInit<T extends Tensor>(t: T, std: number, g?: Generator): T {
  return isShapeOnly() ? t : truncNormal_(t, { std, generator: g })
}

/** Initialises a Linear as timm's ViT: W ~ truncN(0, std²) cut at ±2, b = 0. */
function initLinear(l: Linear, std: number, g?: Generator): Linear {
  truncInit(l.weight.detach(), std, g)
  l.bias?.detach().zero_()
  return l
}

interface InitOpts { generator?: Generator; dtype?: DT; initStd?: number }

/** Image to patch tokens by a P×P stride-P convolution: (B, C, H, W) -> (B, HW/P², D). */
export class PatchEmbed extends Module {
  proj: Conv2d
  readonly numPatches: number
  constructor(readonly imgSize: number, readonly patchSize: number, readonly inChans: number, readonly embedDim: number, opts: { generator?: Generator; dtype?: DT } = {}) {
    super()
    if (!(Number.isInteger(imgSize) && Number.isInteger(patchSize) && patchSize > 0 && imgSize % patchSize === 0)) {
      throw new TesseraError(`PatchEmbed: imgSize ${imgSize} must be a positive multiple of patchSize ${patchSize}`)
    }
    this.numPatches = (imgSize / patchSize) ** 2
    this.proj = new Conv2d(inChans, embedDim, patchSize, { stride: patchSize, generator: opts.generator, dtype: opts.dtype })
  }

  forward(x: Tensor): Tensor {
    const S = this.imgSize
    if (x.ndim !== 4 || x.shape[1] !== this.inChans || x.shape[2] !== S || x.shape[3] !== S) {
      throw new TesseraError(`PatchEmbed: x must be (B, ${this.inChans}, ${S}, ${S}), got ${fmtShape(x.shape)}`)
    }
    return this.proj.forward(x).flatten(2).transpose(1, 2) // (B, D, H/P, W/P) -> (B, N, D)
  }
}

/** Multi-head self-attention with a fused qkv Linear: softmax(q kᵀ/√E) v per head, then proj. */
export class ViTAttention extends Module {
  qkv: Linear
  proj: Linear
  constructor(readonly dim: number, readonly numHeads: number, opts: InitOpts & { qkvBias?: boolean } = {}) {
    super()
    check(dim % numHeads === 0, 'ViTAttention', () => `dim ${dim} must be divisible by numHeads ${numHeads}`)
    this.qkv = initLinear(new Linear(dim, 3 * dim, { bias: opts.qkvBias ?? true, generator: opts.generator, dtype: opts.dtype }), opts.initStd ?? 0.02, opts.generator)
    this.proj = initLinear(new Linear(dim, dim, { generator: opts.generator, dtype: opts.dtype }), opts.initStd ?? 0.02, opts.generator)
  }

  forward(x: Tensor): Tensor {
    const [B, T, D] = x.shape
    const H = this.numHeads, E = D / H
    const qkv = this.qkv.forward(x).reshape([B, T, 3, H, E]).permute([2, 0, 3, 1, 4]) // (3, B, H, T, E)
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)]
    const o = scaledDotProductAttention(q, k, v) // (B, H, T, E)
    return this.proj.forward(o.permute([0, 2, 1, 3]).reshape([B, T, D])) // (B, T, D)
  }
}

/** fc2(GELU(fc1(x))), hidden width mlpRatio · D. */
export class ViTMlp extends Module {
  fc1: Linear
  fc2: Linear
  constructor(dim: number, hidden: number, opts: InitOpts = {}) {
    super()
    this.fc1 = initLinear(new Linear(dim, hidden, opts), opts.initStd ?? 0.02, opts.generator)
    this.fc2 = initLinear(new Linear(hidden, dim, opts), opts.initStd ?? 0.02, opts.generator)
  }
  forward(x: Tensor): Tensor { return this.fc2.forward(this.fc1.forward(x).gelu()) }
}

/** Pre-norm block: x ← x + DropPath(Attn(LN(x))); x ← x + DropPath(MLP(LN(x))). (B, T, D) -> (B, T, D). */
export class ViTBlock extends Module {
  norm1: LayerNorm
  attn: ViTAttention
  drop_path: DropPath
  norm2: LayerNorm
  mlp: ViTMlp
  constructor(readonly dim: number, numHeads: number, opts: InitOpts & { mlpRatio?: number; qkvBias?: boolean; dropPath?: number } = {}) {
    super()
    const o = { generator: opts.generator, dtype: opts.dtype, initStd: opts.initStd }
    this.norm1 = new LayerNorm(dim, { eps: 1e-6, dtype: opts.dtype })
    this.attn = new ViTAttention(dim, numHeads, { ...o, qkvBias: opts.qkvBias })
    this.drop_path = new DropPath(opts.dropPath ?? 0, opts.generator)
    this.norm2 = new LayerNorm(dim, { eps: 1e-6, dtype: opts.dtype })
    this.mlp = new ViTMlp(dim, Math.round(dim * (opts.mlpRatio ?? 4)), o)
  }

  forward(x: Tensor): Tensor {
    x = x.add(this.drop_path.forward(this.attn.forward(this.norm1.forward(x))))
    return x.add(this.drop_path.forward(this.mlp.forward(this.norm2.forward(x))))
  }
}

/** Patch embedding + optional class token + learned position embedding: (B, C, H, W) -> (B, T, D). */
export class ViTEmbed extends Module {
  patch_embed: PatchEmbed
  cls_token: Parameter | null
  pos_embed: Parameter
  constructor(imgSize: number, patchSize: number, inChans: number, readonly embedDim: number, readonly pool: 'cls' | 'mean', opts: InitOpts = {}) {
    super()
    const std = opts.initStd ?? 0.02
    this.patch_embed = new PatchEmbed(imgSize, patchSize, inChans, embedDim, opts)
    const T = this.patch_embed.numPatches + (pool === 'cls' ? 1 : 0)
    this.cls_token = pool === 'cls' ? new Parameter(truncInit(zeros([1, 1, embedDim], { dtype: opts.dtype }), std, opts.generator)) : null // (1, 1, D)
    this.pos_embed = new Parameter(truncInit(zeros([1, T, embedDim], { dtype: opts.dtype }), std, opts.generator)) // (1, T, D)
  }

  forward(x: Tensor): Tensor {
    let t = this.patch_embed.forward(x) // (B, N, D)
    if (this.cls_token) t = cat([this.cls_token.expand([t.shape[0], 1, this.embedDim]), t], 1) // (B, 1 + N, D)
    return t.add(this.pos_embed)
  }
}

/** Final LayerNorm, pooling ('cls': token 0, 'mean': mean over tokens) and the linear head: (B, T, D) -> (B, classes). */
export class ViTClassifier extends Module {
  norm: LayerNorm
  head: Linear | null
  constructor(readonly embedDim: number, readonly numClasses: number, readonly pool: 'cls' | 'mean', opts: InitOpts = {}) {
    super()
    this.norm = new LayerNorm(embedDim, { eps: 1e-6, dtype: opts.dtype })
    this.head = numClasses > 0 ? initLinear(new Linear(embedDim, numClasses, opts), opts.initStd ?? 0.02, opts.generator) : null
  }

  forward(x: Tensor): Tensor {
    const h = this.norm.forward(x) // (B, T, D)
    const pooled = this.pool === 'cls' ? h.select(1, 0) : h.mean(1) // (B, D)
    return this.head ? this.head.forward(pooled) : pooled
  }
}

/** Resolved options (defaults filled in). */
export function resolveViTOptions(opts: ViTOptions): Required<Omit<ViTOptions, 'generator' | 'dtype'>> & Pick<ViTOptions, 'generator' | 'dtype'> {
  return {
    imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, mlpRatio: 4, qkvBias: true, pool: 'cls', dropPath: 0, initStd: 0.02,
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  } as Required<Omit<ViTOptions, 'generator' | 'dtype'>> & Pick<ViTOptions, 'generator' | 'dtype'>
}

/**
 * Vision Transformer: y = classifier(blocks(embed(x))), x (B, C, H, W) -> logits (B, classes).
 * Reference: https://arxiv.org/abs/2010.11929 (Eqns 1-4), https://arxiv.org/abs/2012.12877
 * @example
 *   const vit = new ViT({ imgSize: 8, patchSize: 2, inChans: 1, numClasses: 10, embedDim: 32, depth: 4, numHeads: 2 })
 *   vit.forward(x) // x (B, 1, 8, 8) -> (B, 10);  new ViT(ViT.preset('deit-small')) is DeiT-S
 */
export class ViT extends Module {
  embed: ViTEmbed
  blocks: ModuleList
  classifier: ViTClassifier
  readonly embedDim: number
  readonly depth: number
  declare readonly config: ReturnType<typeof resolveViTOptions>

  constructor(opts: ViTOptions) {
    super()
    const c = resolveViTOptions(opts)
    Object.defineProperty(this, 'config', { value: c, enumerable: false })
    check(Number.isInteger(c.depth) && c.depth >= 0, 'ViT', () => `depth must be a non-negative integer, got ${c.depth}`)
    const o = { generator: c.generator, dtype: c.dtype, initStd: c.initStd }
    this.embedDim = c.embedDim
    this.depth = c.depth
    this.embed = new ViTEmbed(c.imgSize, c.patchSize, c.inChans, c.embedDim, c.pool, o)
    this.blocks = new ModuleList(Array.from({ length: c.depth }, (_, i) => new ViTBlock(c.embedDim, c.numHeads, {
      ...o, mlpRatio: c.mlpRatio, qkvBias: c.qkvBias, dropPath: c.depth > 1 ? (c.dropPath * i) / (c.depth - 1) : c.dropPath,
    })))
    this.classifier = new ViTClassifier(c.embedDim, c.numClasses, c.pool, o)
  }

  /** Options of a published DeiT preset, with overrides. */
  static preset(name: ViTPreset, overrides: Partial<ViTOptions> = {}): ViTOptions {
    if (!(name in VIT_PRESETS)) throw new TesseraError(`ViT.preset: unknown preset '${name}'; expected one of ${Object.keys(VIT_PRESETS).join(', ')}`)
    return { imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, ...VIT_PRESETS[name], ...overrides }
  }

  /** Block i as a ViTBlock. */
  block(i: number): ViTBlock { return this.blocks.at(i) as ViTBlock }

  /** Runs blocks start..end−1 on tokens (B, T, D). */
  forwardBlocks(x: Tensor, start = 0, end = this.depth): Tensor {
    for (let i = start; i < end; i++) x = this.block(i).forward(x)
    return x
  }

  /** Token features after every block: [embed output, block 0 output, ..., block L−1 output], each (B, T, D). */
  blockFeatures(x: Tensor): Tensor[] {
    const out = [this.embed.forward(x)]
    for (let i = 0; i < this.depth; i++) out.push(this.block(i).forward(out[i]))
    return out
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.forwardBlocks(this.embed.forward(x)))
  }
}

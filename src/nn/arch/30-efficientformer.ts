/**
 * @file Paper 30, EfficientFormer: "EfficientFormer: Vision Transformers at MobileNet Speed"
 * (Li et al. 2022), https://arxiv.org/abs/2206.01191. Follows the released code
 * (snap-research/EfficientFormer: models/efficientformer.py).
 *
 * Dimension-consistent design: a conv stem (H/4), then four stages of Meta4D blocks on NCHW maps
 * (pooling token mixer + conv MLP, Eqn (3)), joined by stride-2 conv embeddings; the last `vitNum`
 * blocks of stage 4 switch to Meta3D on tokens (MHSA with a learned relative-position attention bias
 * + linear MLP, Eqn (4)). Head: LayerNorm, mean over tokens, Linear (+ a distillation Linear whose
 * logits are averaged with the class head's).
 *
 * Shapes: images (B, 3, H, W); stage maps (B, C_i, H/2^{i+2}, W/2^{i+2}); tokens (B, N = r², C_4);
 * attention scores (B, heads, N, N); logits (B, K).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { fromTypedArray, zeros } from '../../creation.ts'
import { avgPool2d } from '../../ops/pool.ts'
import { scaledDotProductAttention } from '../../ops/attention.ts'
import { noGrad } from '../../autograd.ts'
import { defaultGenerator, type Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { ModuleList, Sequential } from '../containers.ts'
import { Linear } from '../linear.ts'
import { LayerNorm } from '../norm.ts'
import { truncNormal_ } from '../init.ts'
import { isShapeOnly } from '../../profile.ts'
import { ConvBNAct, DropPath, LayerScale, type Activation } from '../blocks.ts'

/**
 * ConvBNAct with a zero-initialised conv bias, as the official stem / Embedding / Mlp convs
 * (nn.Conv2d with bias=True before the BN); the shared block is bias-free.
 */
function convBNAct(inC: number, outC: number, kernel: number, act: Activation, g: Generator, stride = 1): ConvBNAct {
  const m = new ConvBNAct(inC, outC, kernel, { stride, act, generator: g })
  m.conv.bias = new Parameter(zeros([outC])) // (outC,)
  return m
}

/** Truncated-normal (std .02) weight and zero bias, the official init of Linear / Conv1x1 (skipped in shape-only mode, where values are meaningless). */
function initTrunc(l: { weight: Parameter; bias: Parameter | null }, g: Generator): void {
  if (isShapeOnly()) return
  noGrad(() => { truncNormal_(l.weight, { std: 0.02, generator: g }); l.bias?.fill_(0) })
}

/**
 * Pooling token mixer (PoolFormer): y = AvgPool_{k×k, s1, p k/2, count_include_pad=False}(x) − x.
 * The block adds x back, so the mixer returns only the change. NCHW in and out.
 * Reference: https://arxiv.org/abs/2206.01191 (Eqn 3)
 * @example
 *   new PoolMixer().forward(ones([1, 4, 5, 5])) // all zeros, borders included
 */
export class PoolMixer extends Module {
  constructor(readonly poolSize = 3) {
    super()
    if (!(Number.isInteger(poolSize) && poolSize % 2 === 1)) throw new TesseraError(`PoolMixer: poolSize must be an odd integer, got ${poolSize}`)
  }
  forward(x: Tensor): Tensor {
    const k = this.poolSize
    return avgPool2d(x, { kernelSize: k, stride: 1, padding: (k - 1) / 2, countIncludePad: false }).sub(x) // (B, C, H, W)
  }
}

export interface MetaBlockOptions {
  mlpRatio?: number
  /** Initial LayerScale value (paper: 1e-5). */
  layerScaleInit?: number
  dropPath?: number
  generator?: Generator
}

/**
 * Meta4D block, Eqn (3): x ← x + LS₁ ⊙ (Pool(x) − x);  x ← x + LS₂ ⊙ Mlp(x), with
 * Mlp = Conv1×1(C→rC) + BN + GELU + Conv1×1(rC→C) + BN. (B, C, H, W) -> (B, C, H, W).
 * Reference: https://arxiv.org/abs/2206.01191
 */
export class Meta4D extends Module {
  mixer: PoolMixer
  fc1: ConvBNAct
  fc2: ConvBNAct
  ls1: LayerScale
  ls2: LayerScale
  dropPath: DropPath

  constructor(readonly dim: number, opts: MetaBlockOptions & { poolSize?: number } = {}) {
    super()
    const g = opts.generator ?? defaultGenerator, hidden = Math.floor(dim * (opts.mlpRatio ?? 4))
    this.mixer = new PoolMixer(opts.poolSize ?? 3)
    this.fc1 = convBNAct(dim, hidden, 1, 'gelu', g)
    this.fc2 = convBNAct(hidden, dim, 1, 'none', g)
    for (const c of [this.fc1.conv, this.fc2.conv]) initTrunc(c, g)
    this.ls1 = new LayerScale(dim, opts.layerScaleInit ?? 1e-5, { channelDim: 1 })
    this.ls2 = new LayerScale(dim, opts.layerScaleInit ?? 1e-5, { channelDim: 1 })
    this.dropPath = new DropPath(opts.dropPath ?? 0, g)
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.dim) throw new TesseraError(`Meta4D: x must be (B, ${this.dim}, H, W), got [${x.shape.join(',')}]`)
    const h = x.add(this.dropPath.forward(this.ls1.forward(this.mixer.forward(x)))) // (B, C, H, W)
    return h.add(this.dropPath.forward(this.ls2.forward(this.fc2.forward(this.fc1.forward(h)))))
  }
}

/**
 * Learned relative-position attention bias (LeViT / EfficientFormer): one scalar per head and per
 * offset (|Δrow|, |Δcol|) on an r×r grid, so r² entries; bias[h, i, j] = table[h, idx(i, j)].
 * In eval mode the gathered (heads, N, N) bias is cached (cleared by the next training-mode call
 * or `clearCache()`). Reference: https://arxiv.org/abs/2206.01191 (Sec. 3.3), https://arxiv.org/abs/2104.01136
 */
export class AttentionBias extends Module {
  biases: Parameter // (heads, r²)
  readonly index: Int32Array // (N·N,) offset id of each (query, key) pair
  readonly numOffsets: number
  private cache: Tensor | null = null

  constructor(readonly numHeads: number, readonly resolution: number) {
    super()
    if (!(Number.isInteger(resolution) && resolution >= 1)) throw new TesseraError(`AttentionBias: resolution must be a positive integer, got ${resolution}`)
    const r = resolution, N = r * r, ids = new Map<string, number>()
    this.index = new Int32Array(N * N)
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const key = `${Math.abs(Math.floor(i / r) - Math.floor(j / r))},${Math.abs((i % r) - (j % r))}`
        if (!ids.has(key)) ids.set(key, ids.size)
        this.index[i * N + j] = ids.get(key)!
      }
    }
    this.numOffsets = ids.size
    this.biases = new Parameter(zeros([numHeads, ids.size]))
  }

  /** Drops the eval-mode cache (call after changing `biases` while in eval mode). */
  clearCache(): void { this.cache = null }

  /** The (heads, N, N) bias: a gather in training mode (gradients accumulate over shared offsets), cached in eval. */
  forward(): Tensor {
    const N = this.resolution * this.resolution
    const gather = () => this.biases.indexSelect(1, fromTypedArray(this.index, [N * N], 'int32')).reshape([this.numHeads, N, N])
    if (this.training) {
      this.cache = null
      return gather()
    }
    this.cache ??= noGrad(gather)
    return this.cache
  }
}

export interface AttentionOptions { numHeads?: number; keyDim?: number; attnRatio?: number; generator?: Generator }

/**
 * EfficientFormer MHSA: [q | k | v] = x W_qkv split per head (key dim d_k, value dim attnRatio·d_k);
 * A = softmax(q kᵀ d_k^{-1/2} + bias[h, idx(i, j)]); out = concat_h(A v) W_proj. (B, N, C) -> (B, N, C).
 * Reference: https://arxiv.org/abs/2206.01191 (Eqn 4)
 */
export class EfficientAttention extends Module {
  qkv: Linear
  proj: Linear
  bias: AttentionBias
  readonly numHeads: number
  readonly keyDim: number
  readonly valueDim: number

  constructor(readonly dim: number, resolution: number, opts: AttentionOptions = {}) {
    super()
    const g = opts.generator ?? defaultGenerator
    this.numHeads = opts.numHeads ?? 8
    this.keyDim = opts.keyDim ?? 32
    this.valueDim = Math.floor((opts.attnRatio ?? 4) * this.keyDim)
    this.qkv = new Linear(dim, this.numHeads * (2 * this.keyDim + this.valueDim), { generator: g })
    this.proj = new Linear(this.numHeads * this.valueDim, dim, { generator: g })
    this.bias = new AttentionBias(this.numHeads, resolution)
  }

  forward(x: Tensor): Tensor {
    const [B, N] = x.shape, H = this.numHeads, dk = this.keyDim, dv = this.valueDim
    if (N !== this.bias.resolution ** 2) throw new TesseraError(`EfficientAttention: x must have N = ${this.bias.resolution ** 2} tokens, got [${x.shape.join(',')}]`)
    const qkv = this.qkv.forward(x).reshape([B, N, H, 2 * dk + dv]).permute([0, 2, 1, 3]) // (B, H, N, 2dk + dv)
    const [q, k, v] = qkv.split([dk, dk, dv], 3) // (B, H, N, dk), (B, H, N, dk), (B, H, N, dv)
    const o = scaledDotProductAttention(q, k, v, { attnMask: this.bias.forward(), scale: dk ** -0.5 }) // (B, H, N, dv)
    return this.proj.forward(o.transpose(1, 2).reshape([B, N, H * dv])) // (B, N, C)
  }
}

/**
 * Meta3D block, Eqn (4): x ← x + LS₁ ⊙ MHSA(LN(x));  x ← x + LS₂ ⊙ Mlp(LN(x)), Mlp = Linear–GELU–Linear.
 * (B, N, C) -> (B, N, C). Reference: https://arxiv.org/abs/2206.01191
 */
export class Meta3D extends Module {
  norm1: LayerNorm
  attn: EfficientAttention
  norm2: LayerNorm
  fc1: Linear
  fc2: Linear
  ls1: LayerScale
  ls2: LayerScale
  dropPath: DropPath

  constructor(readonly dim: number, resolution: number, opts: MetaBlockOptions & AttentionOptions = {}) {
    super()
    const g = opts.generator ?? defaultGenerator, hidden = Math.floor(dim * (opts.mlpRatio ?? 4))
    this.norm1 = new LayerNorm(dim)
    this.attn = new EfficientAttention(dim, resolution, opts)
    this.norm2 = new LayerNorm(dim)
    this.fc1 = new Linear(dim, hidden, { generator: g })
    this.fc2 = new Linear(hidden, dim, { generator: g })
    for (const l of [this.attn.qkv, this.attn.proj, this.fc1, this.fc2]) initTrunc(l, g)
    this.ls1 = new LayerScale(dim, opts.layerScaleInit ?? 1e-5)
    this.ls2 = new LayerScale(dim, opts.layerScaleInit ?? 1e-5)
    this.dropPath = new DropPath(opts.dropPath ?? 0, g)
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new TesseraError(`Meta3D: x must be (B, N, ${this.dim}), got [${x.shape.join(',')}]`)
    const h = x.add(this.dropPath.forward(this.ls1.forward(this.attn.forward(this.norm1.forward(x))))) // (B, N, C)
    return h.add(this.dropPath.forward(this.ls2.forward(this.fc2.forward(this.fc1.forward(this.norm2.forward(h)).gelu()))))
  }
}

export interface EfficientFormerOptions {
  layers: number[]
  embedDims: number[]
  /** Number of Meta3D blocks at the end of the last stage. */
  vitNum: number
  /** Side r of the last stage's map (input side / 32; 7 at 224 px). */
  resolution?: number
  inChans?: number
  numClasses?: number
  distillation?: boolean
  mlpRatio?: number
  layerScaleInit?: number
  /** Stochastic depth, linear over all blocks up to this rate. */
  dropPathRate?: number
  numHeads?: number
  keyDim?: number
  generator?: Generator
}

/** The paper's presets (Table 1; official code's EfficientFormer_width / _depth). */
export const EFFICIENTFORMER_PRESETS: Record<'l1' | 'l3' | 'l7', Pick<EfficientFormerOptions, 'layers' | 'embedDims' | 'vitNum'>> = {
  l1: { layers: [3, 2, 6, 4], embedDims: [48, 96, 224, 448], vitNum: 1 },
  l3: { layers: [4, 4, 12, 6], embedDims: [64, 128, 320, 512], vitNum: 4 },
  l7: { layers: [6, 6, 18, 8], embedDims: [96, 192, 384, 768], vitNum: 8 },
}

/** A named step of the forward pass, for the latency profiler. */
export interface LatencyBlock { name: string; kind: string; run(x: Tensor): Tensor }

/**
 * EfficientFormer (Li et al. 2022): stem (two Conv3×3 s2 + BN + ReLU) -> 4 stages of Meta4D blocks
 * with Conv3×3 s2 + BN embeddings between them -> flatten (the 4D->3D switch) -> `vitNum` Meta3D
 * blocks -> LN -> token mean -> Linear head (+ distillation head, averaged).
 * Reference: https://arxiv.org/abs/2206.01191
 * @example
 *   const m = EfficientFormer.preset('l1')
 *   m.forward(randn([1, 3, 224, 224])) // (1, 1000)
 */
export class EfficientFormer extends Module {
  stem: Sequential
  stages: ModuleList // Meta4D blocks of every stage (the last stage's 4D part only)
  downsamples: ModuleList // ConvBNAct(C_i -> C_{i+1}, 3x3, s2, no act)
  meta3d: ModuleList
  norm: LayerNorm
  head: Linear
  distHead: Linear | null
  readonly opts: EfficientFormerOptions

  static preset(name: keyof typeof EFFICIENTFORMER_PRESETS, opts: Partial<EfficientFormerOptions> = {}): EfficientFormer {
    const p = EFFICIENTFORMER_PRESETS[name]
    if (!p) throw new TesseraError(`EfficientFormer.preset: unknown preset '${String(name)}' (known: l1, l3, l7)`)
    return new EfficientFormer({ ...p, ...opts })
  }

  constructor(opts: EfficientFormerOptions) {
    super()
    const { layers, embedDims: d, vitNum } = opts
    if (layers.length !== 4 || d.length !== 4) throw new TesseraError(`EfficientFormer: layers and embedDims need 4 entries, got ${layers.length} and ${d.length}`)
    if (!(vitNum >= 0 && vitNum <= layers[3])) throw new TesseraError(`EfficientFormer: vitNum must be in [0, layers[3] = ${layers[3]}], got ${vitNum}`)
    const g = opts.generator ?? defaultGenerator, r = opts.resolution ?? 7, total = layers.reduce((a, b) => a + b, 0)
    const dpr = (i: number) => (opts.dropPathRate ?? 0) * (total > 1 ? i / (total - 1) : 0)
    const block = { mlpRatio: opts.mlpRatio, layerScaleInit: opts.layerScaleInit, generator: g }
    this.stem = new Sequential(convBNAct(opts.inChans ?? 3, Math.floor(d[0] / 2), 3, 'relu', g, 2), convBNAct(Math.floor(d[0] / 2), d[0], 3, 'relu', g, 2))
    const stages: Module[] = [], downs: Module[] = [], m3: Module[] = []
    let b = 0
    for (let s = 0; s < 4; s++) {
      const n4 = s === 3 ? layers[s] - vitNum : layers[s]
      stages.push(new Sequential(...Array.from({ length: n4 }, () => new Meta4D(d[s], { ...block, dropPath: dpr(b++) }))))
      if (s === 3) for (let i = 0; i < vitNum; i++) m3.push(new Meta3D(d[3], r, { ...block, dropPath: dpr(b++), numHeads: opts.numHeads, keyDim: opts.keyDim }))
      else downs.push(convBNAct(d[s], d[s + 1], 3, 'none', g, 2))
    }
    this.stages = new ModuleList(stages)
    this.downsamples = new ModuleList(downs)
    this.meta3d = new ModuleList(m3)
    this.norm = new LayerNorm(d[3])
    const K = opts.numClasses ?? 1000
    this.head = new Linear(d[3], K, { generator: g })
    this.distHead = opts.distillation ?? true ? new Linear(d[3], K, { generator: g }) : null
    for (const l of [this.head, this.distHead]) if (l) initTrunc(l, g)
    this.opts = { ...opts, resolution: r }
  }

  /** The ordered forward steps (stem, each block, each embedding, the 4D->3D flatten, the head). */
  latencyBlocks(): LatencyBlock[] {
    const out: LatencyBlock[] = [{ name: 'stem', kind: 'stem', run: (x) => this.stem.forward<Tensor>(x) }]
    const stages = [...this.stages] as Sequential[], downs = [...this.downsamples] as ConvBNAct[]
    stages.forEach((st, s) => {
      ;[...st].forEach((m, i) => out.push({ name: `stage${s + 1}.${i}`, kind: 'Meta4D', run: (x) => (m as Meta4D).forward(x) }))
      if (s < 3) out.push({ name: `embed${s + 1}${s + 2}`, kind: 'Embedding', run: (x) => downs[s].forward(x) })
    })
    out.push({ name: 'flat', kind: 'Flat', run: (x) => x.flatten(2).transpose(1, 2) }) // (B, C, r, r) -> (B, r², C)
    ;[...this.meta3d].forEach((m, i) => out.push({ name: `stage4.vit${i}`, kind: 'Meta3D', run: (x) => (m as Meta3D).forward(x) }))
    out.push({ name: 'head', kind: 'Head', run: (x) => this.head4(x) })
    return out
  }

  /** Stem and all Meta4D blocks: the map before the 4D->3D switch, (B, C_4, r, r). */
  forwardFeatures(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`EfficientFormer: x must be (B, C, H, W), got [${x.shape.join(',')}]`)
    let h = this.stem.forward<Tensor>(x) // (B, C_1, H/4, W/4)
    const downs = [...this.downsamples] as ConvBNAct[]
    ;([...this.stages] as Sequential[]).forEach((st, s) => {
      h = st.forward<Tensor>(h) // (B, C_s, H/2^{s+2}, W/2^{s+2})
      if (s < 3) h = downs[s].forward(h)
    })
    return h
  }

  /** Class and distillation logits (B, K) each; `dist` null without distillation. */
  forwardHeads(x: Tensor): { cls: Tensor; dist: Tensor | null } {
    let t = this.forwardFeatures(x).flatten(2).transpose(1, 2) // (B, N, C_4)
    for (const m of this.meta3d) t = (m as Meta3D).forward(t)
    const pooled = this.norm.forward(t).mean(1) // (B, C_4)
    return { cls: this.head.forward(pooled), dist: this.distHead ? this.distHead.forward(pooled) : null }
  }

  /** Logits (B, K): the class head, averaged with the distillation head when present (the official eval path). */
  forward(x: Tensor): Tensor {
    const { cls, dist } = this.forwardHeads(x)
    return dist ? cls.add(dist).div(2) : cls
  }

  private head4(t: Tensor): Tensor {
    const pooled = this.norm.forward(t).mean(1) // (B, C_4)
    const cls = this.head.forward(pooled)
    return this.distHead ? cls.add(this.distHead.forward(pooled)).div(2) : cls
  }
}

/**
 * Closed-form parameter count of an EfficientFormer config (conv biases and BN γ/β included, BN
 * buffers and the attention-bias index excluded).
 */
export function efficientFormerParamCount(o: Pick<EfficientFormerOptions, 'layers' | 'embedDims' | 'vitNum'> & { resolution?: number; numClasses?: number; distillation?: boolean; inChans?: number; numHeads?: number; keyDim?: number; mlpRatio?: number }): number {
  const d = o.embedDims, r = o.resolution ?? 7, H = o.numHeads ?? 8, dk = o.keyDim ?? 32, dv = 4 * dk, m = o.mlpRatio ?? 4, K = o.numClasses ?? 1000
  const convBn = (i: number, c: number, k: number) => k * k * i * c + c + 2 * c // weight + bias + BN γ/β
  const c0 = Math.floor(d[0] / 2)
  let n = convBn(o.inChans ?? 3, c0, 3) + convBn(c0, d[0], 3)
  for (let s = 0; s < 4; s++) {
    const C = d[s], hid = Math.floor(C * m)
    const meta4d = convBn(C, hid, 1) + convBn(hid, C, 1) + 2 * C
    const n3 = s === 3 ? o.vitNum : 0
    n += (o.layers[s] - n3) * meta4d
    const offsets = r * r // (|Δrow|, |Δcol|) ∈ {0..r-1}²
    const meta3d = 4 * C + (C * H * (2 * dk + dv) + H * (2 * dk + dv)) + (H * dv * C + C) + H * offsets + (C * hid + hid) + (hid * C + C) + 2 * C
    n += n3 * meta3d
    if (s < 3) n += convBn(C, d[s + 1], 3)
  }
  return n + 2 * d[3] + (o.distillation ?? true ? 2 : 1) * (d[3] * K + K)
}


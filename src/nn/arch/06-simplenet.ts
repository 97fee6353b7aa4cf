/**
 * @file Paper 06, SimpleNet: "Lets keep it simple, Using simple architectures to outperform deeper
 * and more complex architectures" (Hasanpour et al. 2016), https://arxiv.org/abs/1608.06037.
 *
 * A plain 13-layer stack: homogeneous 3x3 convolutions (1x1 only near the end), BN + ReLU after
 * every conv, gradual down-sampling with 2x2 max-pools, dropout for regularisation, no hidden FC
 * layer, then a global *max* pool and one Linear classifier. Layer lists follow the PyTorch port
 * (Coderx7/SimpleNet_Pytorch: Cifar/models/simplenet.py and "ImageNet models/simplenet.py");
 * `variant: 'caffe'` follows the original Caffe net (Coderx7/SimpleNet prototxt, see
 * papers/_review-A-verified.md): no BN on the last three convs, Dropout2d 0.2 after every layer,
 * conv #7 pools before its BN, and a 2x2 max-pool instead of the global pool.
 *
 * Shapes: images NCHW (B, C, H, W); features (B, C', H', W'); logits (B, K).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { rand } from '../../creation.ts'
import { adaptiveMaxPool2d, maxPool2d } from '../../ops/pool.ts'
import { defaultGenerator, type Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Sequential } from '../containers.ts'
import { Conv2d } from '../conv.ts'
import { BatchNorm2d } from '../norm.ts'
import { Linear } from '../linear.ts'
import { calculateGain, xavierUniform_ } from '../init.ts'
import { noGrad } from '../../autograd.ts'

/**
 * Channel-wise dropout (Tompson et al. 2015): in training each (sample, channel) plane is zeroed
 * with probability p and the survivors are scaled by 1/(1-p); identity in eval mode or when p = 0.
 * Input (B, C, *spatial). Reference: https://pytorch.org/docs/stable/generated/torch.nn.Dropout2d.html
 * @example
 *   const d = new Dropout2d(0.1, new Generator(0))
 *   d.forward(randn([2, 8, 4, 4])) // whole 4x4 planes zeroed
 */
export class Dropout2d extends Module {
  constructor(readonly p = 0.5, readonly generator: Generator = defaultGenerator) {
    super()
    if (!(p >= 0 && p <= 1)) throw new TesseraError(`Dropout2d: p must be in [0, 1], got ${p}`)
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 3) throw new TesseraError(`Dropout2d: x must be (B, C, *spatial), got [${x.shape.join(',')}]`)
    if (!this.training || this.p === 0) return x
    if (this.p === 1) return x.mul(0)
    const maskShape = [x.shape[0], x.shape[1], ...Array<number>(x.ndim - 2).fill(1)] // (B, C, 1, 1)
    const dtype = x.dtype === 'float64' ? 'float64' : 'float32'
    const keep = rand(maskShape, { dtype, generator: this.generator }).ge(this.p)
    return x.mul(keep).div(1 - this.p)
  }
}

/**
 * Global max pooling: y[b, c] = max_{h, w} x[b, c, h, w]; (B, C, H, W) -> (B, C). The backward
 * routes each output gradient to the arg-max position only (max-pool semantics).
 * Reference: https://arxiv.org/abs/1608.06037 (Sec. 3, "global max pooling")
 */
export class GlobalMaxPool2d extends Module {
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`GlobalMaxPool2d: x must be (B, C, H, W), got [${x.shape.join(',')}]`)
    return adaptiveMaxPool2d(x, 1).flatten(1) // (B, C)
  }
}

/** One entry of a SimpleNet layer list: a 3x3 conv width, a 1x1 conv `{ out, kernel: 1 }`, or a 2x2 max-pool 'p'. */
export type SimpleNetLayer = number | { out: number; kernel: 1 | 3 } | 'p'

const k1 = (out: number): SimpleNetLayer => ({ out, kernel: 1 })
/** Layer lists of the released nets (13 convs each). */
export const SIMPLENET_CFGS: Record<'cifar5m' | 'cifar310k' | 'cifar460k' | 'imagenet' | 'imagenet9m', SimpleNetLayer[]> = {
  cifar5m: [64, 128, 128, 128, 'p', 128, 128, 256, 'p', 256, 256, 'p', 512, k1(2048), k1(256), 'p', 256],
  cifar310k: [64, 32, 32, 32, 'p', 32, 32, 64, 'p', 64, 64, 'p', 128, k1(256), k1(64), 'p', 64],
  cifar460k: [32, 32, 32, 64, 'p', 64, 64, 64, 'p', 64, 64, 'p', 96, k1(96), k1(96), 'p', 100],
  imagenet: [64, 128, 128, 128, 128, 128, 'p', 256, 256, 256, 512, 'p', k1(2048), k1(256), 256],
  imagenet9m: [128, 192, 192, 192, 192, 192, 'p', 320, 320, 320, 640, 'p', k1(2560), k1(320), 320],
}
/** ImageNet stride modes of the PyTorch port: layer index -> stride (the first layers downsample early). */
export const SIMPLENET_STRIDE_MODES: Record<number, Record<number, number>> = {
  0: {}, 1: { 0: 2, 1: 2, 2: 2 }, 2: { 0: 2, 1: 2, 2: 1, 3: 2 }, 3: { 0: 2, 1: 2, 2: 1, 3: 1, 4: 2 }, 4: { 0: 2, 1: 1, 2: 2, 3: 1, 4: 2, 5: 1 },
}

export interface SimpleNetOptions {
  /** A named layer list or a custom one. Default 'cifar5m'. */
  cfg?: keyof typeof SIMPLENET_CFGS | SimpleNetLayer[]
  /** Width multiplier: every conv has round(c · scale) channels. */
  scale?: number
  inChans?: number
  numClasses?: number
  /** Dropout2d rate by layer index (convs and pools both count, as in the PyTorch port); index = list length: after the global pool. */
  dropRates?: Record<number, number>
  /** 'pytorch' (default): BN after every conv, global max pool. 'caffe': the original Caffe net (see file comment). */
  variant?: 'pytorch' | 'caffe'
  /** ImageNet stride mode (SIMPLENET_STRIDE_MODES); default 2 for the imagenet cfgs, 0 otherwise. */
  mode?: number
  /** Padding of the 1x1 convs: 0 (sheet, early CIFAR port) or 1 (the released code, which grows the map by 2). Default 0 for CIFAR cfgs, 1 for ImageNet. */
  k1Padding?: number
  generator?: Generator
}

/** Conv -> [pool] -> [BN] -> ReLU -> [Dropout2d]: one SimpleNet conv layer (the pool only for Caffe's conv #7). */
export class SimpleConv extends Module {
  conv: Conv2d
  pool: boolean
  bn: BatchNorm2d | null
  drop: Dropout2d | null

  constructor(inC: number, outC: number, kernel: number, o: { stride: number; padding: number; bn: boolean; poolBeforeBn: boolean; drop: number | null; generator: Generator }) {
    super()
    this.conv = new Conv2d(inC, outC, kernel, { stride: o.stride, padding: o.padding, generator: o.generator })
    // Xavier-uniform with the ReLU gain on the weights; biases keep PyTorch's default (Sec. 3, init).
    noGrad(() => xavierUniform_(this.conv.weight, { gain: calculateGain('relu'), generator: o.generator }))
    this.pool = o.poolBeforeBn
    this.bn = o.bn ? new BatchNorm2d(outC, { eps: 1e-5, momentum: 0.05 }) : null
    this.drop = o.drop === null ? null : new Dropout2d(o.drop, o.generator)
  }

  forward(x: Tensor): Tensor {
    let h = this.conv.forward(x) // (B, C', H', W')
    if (this.pool) h = maxPool2d(h, { kernelSize: 2, stride: 2 }) // Caffe: conv #7 pools before its BN
    if (this.bn) h = this.bn.forward(h)
    h = h.relu()
    return this.drop ? this.drop.forward(h) : h
  }
}

/** 2x2 max-pool (stride 2 unless the stride mode says otherwise) -> [Dropout2d]. */
export class SimplePool extends Module {
  drop: Dropout2d | null
  constructor(readonly stride: number, drop: number | null, generator: Generator) {
    super()
    this.drop = drop === null ? null : new Dropout2d(drop, generator)
  }
  forward(x: Tensor): Tensor {
    const h = maxPool2d(x, { kernelSize: 2, stride: this.stride }) // (B, C, H/2, W/2)
    return this.drop ? this.drop.forward(h) : h
  }
}

/**
 * SimpleNet (Hasanpour et al. 2016): `features` (13 conv layers and the max-pools of the cfg) ->
 * global max pool (Caffe: 2x2 max-pool to 1x1) -> Dropout2d -> Linear(C_last -> K).
 * Reference: https://arxiv.org/abs/1608.06037
 * @example
 *   const net = new SimpleNet({ cfg: 'cifar310k', numClasses: 10 })
 *   net.forward(randn([2, 3, 32, 32])) // (2, 10)
 */
export class SimpleNet extends Module {
  features: Sequential
  headDrop: Dropout2d | null
  classifier: Linear
  readonly variant: 'pytorch' | 'caffe'
  readonly layers: SimpleNetLayer[]

  constructor(opts: SimpleNetOptions = {}) {
    super()
    const cfgName = typeof opts.cfg === 'string' ? opts.cfg : null
    const layers = opts.cfg === undefined ? SIMPLENET_CFGS.cifar5m : typeof opts.cfg === 'string' ? SIMPLENET_CFGS[opts.cfg] : opts.cfg
    if (!layers) throw new TesseraError(`SimpleNet: unknown cfg '${String(opts.cfg)}' (known: ${Object.keys(SIMPLENET_CFGS).join(', ')})`)
    const isImagenet = cfgName !== null && cfgName.startsWith('imagenet')
    const scale = opts.scale ?? 1, variant = opts.variant ?? 'pytorch', g = opts.generator ?? defaultGenerator
    if (!(scale > 0)) throw new TesseraError(`SimpleNet: scale must be positive, got ${scale}`)
    const strides = SIMPLENET_STRIDE_MODES[opts.mode ?? (isImagenet ? 2 : 0)]
    if (!strides) throw new TesseraError(`SimpleNet: mode must be one of ${Object.keys(SIMPLENET_STRIDE_MODES).join(', ')}, got ${opts.mode}`)
    const k1Padding = opts.k1Padding ?? (isImagenet ? 1 : 0)
    const drops = opts.dropRates ?? {}
    const convIdx = layers.flatMap((l, i) => (l === 'p' ? [] : [i]))
    const caffeNoBn = new Set(convIdx.slice(-3)) // Caffe: the last three convs have no BN
    const dropAt = (i: number): number | null => drops[i] ?? (variant === 'caffe' ? 0.2 : null)
    const mods: Module[] = []
    let inC = opts.inChans ?? 3
    layers.forEach((l, i) => {
      const stride = strides[i] ?? (l === 'p' ? 2 : 1)
      if (l === 'p') {
        // Caffe's conv #7 (the conv before the 2nd pool) pools before its BN: that pool is folded in there.
        if (variant === 'caffe' && i === secondPool(layers)) return
        mods.push(new SimplePool(stride, dropAt(i), g))
        return
      }
      const out = typeof l === 'number' ? l : l.out, kernel = typeof l === 'number' ? 3 : l.kernel
      const outC = Math.round(out * scale)
      const poolBeforeBn = variant === 'caffe' && layers[i + 1] === 'p' && i + 1 === secondPool(layers)
      mods.push(new SimpleConv(inC, outC, kernel, {
        stride, padding: kernel === 1 ? k1Padding : 1, bn: !(variant === 'caffe' && caffeNoBn.has(i)), poolBeforeBn,
        drop: poolBeforeBn ? dropAt(i + 1) : dropAt(i), generator: g,
      }))
      inC = outC
    })
    this.features = new Sequential(...mods)
    const headRate = drops[layers.length] ?? (variant === 'caffe' ? 0.2 : null)
    this.headDrop = headRate === null ? null : new Dropout2d(headRate, g)
    this.classifier = new Linear(inC, opts.numClasses ?? 10, { generator: g })
    this.variant = variant
    this.layers = layers.slice()
  }

  /** The feature map before the global pool: (B, C_last, H', W'). */
  forwardFeatures(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new TesseraError(`SimpleNet: x must be (B, C, H, W), got [${x.shape.join(',')}]`)
    return this.features.forward<Tensor>(x)
  }

  forward(x: Tensor): Tensor {
    const f = this.forwardFeatures(x) // (B, C, H', W')
    let p: Tensor // (B, C, 1, 1)
    if (this.variant === 'caffe') {
      p = maxPool2d(f, { kernelSize: 2, stride: 2 })
      if (p.shape[2] !== 1 || p.shape[3] !== 1) throw new TesseraError(`SimpleNet(caffe): the final 2x2 pool must reach 1x1, got features [${f.shape.join(',')}]`)
    } else {
      p = adaptiveMaxPool2d(f, 1) // global max pool
    }
    if (this.headDrop) p = this.headDrop.forward(p)
    return this.classifier.forward(p.flatten(1)) // (B, K)
  }
}

/** Index of the second 'p' in a layer list (-1 if none). */
function secondPool(layers: SimpleNetLayer[]): number {
  let n = 0
  for (let i = 0; i < layers.length; i++) if (layers[i] === 'p' && ++n === 2) return i
  return -1
}

/**
 * Closed-form parameter count of a SimpleNet cfg: Σ conv (k² c_in c_out + c_out) + 2 c_out per BN + (C_last + 1) K.
 * `noBnLast` drops the BN of the last that-many convs (the Caffe net: 3).
 */
export function simpleNetParamCount(layers: SimpleNetLayer[], opts: { inChans?: number; numClasses?: number; scale?: number; noBnLast?: number } = {}): number {
  let inC = opts.inChans ?? 3, n = 0
  const convs = layers.filter((l): l is Exclude<SimpleNetLayer, 'p'> => l !== 'p')
  convs.forEach((l, j) => {
    const out = Math.round((typeof l === 'number' ? l : l.out) * (opts.scale ?? 1)), k = typeof l === 'number' ? 3 : l.kernel
    n += k * k * inC * out + out + (j >= convs.length - (opts.noBnLast ?? 0) ? 0 : 2 * out)
    inC = out
  })
  return n + (inC + 1) * (opts.numClasses ?? 10)
}

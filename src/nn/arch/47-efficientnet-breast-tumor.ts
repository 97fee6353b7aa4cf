/**
 * @file Paper 47 — "Breast Tumor Classification Using EfficientNet Deep Learning Model" (BreakHis,
 * 8 subtypes, imbalanced), https://arxiv.org/abs/2411.17870. The network is EfficientNet
 * (src/nn/arch/35-tinynet.ts); this file holds the training method around it:
 *   - cost-sensitive learning: balanced class weights w_c = N / (C n_c) and the weighted cross entropy
 *     L = −Σ_i w_{y_i} log p_{i,y_i} / Σ_i w_{y_i} (F.crossEntropy's `weight` already implements it);
 *   - the "intensive" augmentation pipeline: flips, 90° rotations, small affine, brightness/contrast
 *     jitter, random resized crop, Gaussian noise — each applied per image with probability p;
 *   - transfer: keep a trained backbone, put a new classifier on it (`transferHead`), train the head
 *     with the backbone frozen (BN statistics too), then unfreeze everything at a lower lr (`fitTransfer`);
 *   - metrics: confusion matrix, per-class precision / recall / F1, macro averages, balanced accuracy.
 * Images are NCHW (N, C, H, W) float; labels (N) int32; logits (N, K).
 * The affine, jitter and crop steps reuse src/data/augment.ts (randAugment over op subsets, randomCrop,
 * horizontalFlip); vertical flips, 90° rotations, resized crops and noise are written here.
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { fromTypedArray, tensor } from '../../creation.ts'
import { defaultGenerator, type Generator } from '../../rng.ts'
import { noGrad } from '../../autograd.ts'
import { crossEntropy } from '../losses.ts'
import { Linear } from '../linear.ts'
import { BatchNorm2d } from '../norm.ts'
import type { Module } from '../module.ts'
import type { Parameter } from '../parameter.ts'
import { Adam } from '../../optim/adam.ts'
import { horizontalFlip, randAugment } from '../../data/augment.ts'

// ------------------------------------------------------------------ cost-sensitive loss

/** Occurrences of each class 0 … C−1 among integer labels. */
export function classCounts(labels: Tensor | readonly number[], numClasses: number): number[] {
  const ys = Array.isArray(labels) ? labels as readonly number[] : Array.from((labels as Tensor).contiguous().data() as ArrayLike<number>)
  const n = new Array<number>(numClasses).fill(0)
  for (const y of ys) {
    if (!(Number.isInteger(y) && y >= 0 && y < numClasses)) throw new TesseraError(`classCounts: label ${y} outside [0, ${numClasses})`)
    n[y]++
  }
  return n
}

/**
 * Class weights from class counts n_c: 'balanced' w_c = N / (C n_c) (scikit-learn's
 * compute_class_weight, so Σ_c n_c w_c = N), 'sqrt' w_c ∝ 1/√n_c scaled the same way, 'none' all 1.
 * Reference: https://scikit-learn.org/stable/modules/generated/sklearn.utils.class_weight.compute_class_weight.html
 * @example
 *   classWeights([90, 10], 'balanced') // [0.5556, 5]
 */
export function classWeights(counts: readonly number[], mode: 'balanced' | 'sqrt' | 'none' = 'balanced'): number[] {
  if (counts.length === 0 || !counts.every((n) => Number.isInteger(n) && n > 0)) {
    throw new TesseraError(`classWeights: counts must be positive integers (every class needs a sample), got [${counts.join(',')}]`)
  }
  const N = counts.reduce((a, b) => a + b, 0), C = counts.length
  if (mode === 'none') return counts.map(() => 1)
  if (mode === 'balanced') return counts.map((n) => N / (C * n))
  const raw = counts.map((n) => 1 / Math.sqrt(n)), s = counts.reduce((a, n, i) => a + n * raw[i], 0)
  return raw.map((r) => (r * N) / s)
}

/**
 * Weighted (and optionally label-smoothed) cross entropy: L = −Σ_i w_{y_i} log p_{i,y_i} / Σ_i w_{y_i}.
 * logits (N, K), target (N) int32. A thin layer over F.crossEntropy's `weight`.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.CrossEntropyLoss.html
 */
export function weightedCrossEntropy(logits: Tensor, target: Tensor, opts: { classWeights?: readonly number[] | Tensor; labelSmoothing?: number } = {}): Tensor {
  const w = opts.classWeights
  const weight = w === undefined ? null : Array.isArray(w) ? tensor(w as number[], { dtype: logits.dtype === 'float64' ? 'float64' : 'float32' }) : (w as Tensor)
  return crossEntropy(logits, target, { weight, labelSmoothing: opts.labelSmoothing })
}

// ------------------------------------------------------------------ augmentation

type F = Float32Array | Float64Array

/** Per image (C, H, W): out = T(img). */
function perImage(x: Tensor, g: Generator, p: number, f: (out: F, img: F, C: number, H: number, W: number, g: Generator) => void): Tensor {
  if (x.ndim !== 4) throw new TesseraError(`augment: images must be (N, C, H, W), got [${x.shape.join(',')}]`)
  const [N, C, H, W] = x.shape
  const src = x.contiguous().data() as F // (N, C, H, W)
  const out = (x.dtype === 'float64' ? new Float64Array(src.length) : new Float32Array(src.length)) as F
  const S = C * H * W
  for (let n = 0; n < N; n++) {
    const img = src.subarray(n * S, (n + 1) * S), o = out.subarray(n * S, (n + 1) * S)
    if (g.nextFloat64() < p) f(o, img, C, H, W, g)
    else o.set(img)
  }
  return fromTypedArray(out, [N, C, H, W])
}

/** Flips each image upside down with probability p. */
export const verticalFlip = (x: Tensor, g: Generator, p = 0.5): Tensor => perImage(x, g, p, (o, img, C, H, W) => {
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let i = 0; i < W; i++) o[(c * H + y) * W + i] = img[(c * H + H - 1 - y) * W + i]
})

/** Rotates each (square) image by k·90° (k uniform in 1..3) with probability p. */
export const rotate90 = (x: Tensor, g: Generator, p = 0.5): Tensor => perImage(x, g, p, (o, img, C, H, W) => {
  if (H !== W) throw new TesseraError(`rotate90: images must be square, got ${H}x${W}`)
  const k = g.nextInt(1, 4)
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let i = 0; i < W; i++) {
    const [sy, sx] = k === 1 ? [i, W - 1 - y] : k === 2 ? [H - 1 - y, W - 1 - i] : [H - 1 - i, y]
    o[(c * H + y) * W + i] = img[(c * H + sy) * W + sx]
  }
})

/** Adds N(0, σ²) noise to each image with probability p. */
export const gaussianNoise = (x: Tensor, g: Generator, sigma: number, p = 1): Tensor => perImage(x, g, p, (o, img) => {
  for (let i = 0; i < img.length; i++) o[i] = img[i] + sigma * g.nextNormal()
})

/**
 * Random resized crop (Inception-style, square windows): with probability p, a window of area
 * s·H·W (s uniform in [minScale, 1]) at a uniform position is resized back to H x W (bilinear).
 */
export const randomResizedCrop = (x: Tensor, g: Generator, minScale = 0.6, p = 1): Tensor => perImage(x, g, p, (o, img, C, H, W) => {
  const s = Math.sqrt(minScale + (1 - minScale) * g.nextFloat64())
  const h = s * H, w = s * W, y0 = g.nextFloat64() * (H - h), x0 = g.nextFloat64() * (W - w)
  for (let y = 0; y < H; y++) for (let i = 0; i < W; i++) {
    // Pixel-centre mapping of the output grid onto the window, clamped to the image.
    const sy = Math.min(H - 1, Math.max(0, y0 + ((y + 0.5) * h) / H - 0.5)), sx = Math.min(W - 1, Math.max(0, x0 + ((i + 0.5) * w) / W - 0.5))
    const yA = Math.floor(sy), xA = Math.floor(sx), yB = Math.min(H - 1, yA + 1), xB = Math.min(W - 1, xA + 1), fy = sy - yA, fx = sx - xA
    for (let c = 0; c < C; c++) {
      const at = (yy: number, xx: number): number => img[(c * H + yy) * W + xx]
      o[(c * H + y) * W + i] = (1 - fy) * ((1 - fx) * at(yA, xA) + fx * at(yA, xB)) + fy * ((1 - fx) * at(yB, xA) + fx * at(yB, xB))
    }
  }
})

/** Keeps images where mask[n] is false, takes `aug` where true. */
function mix(x: Tensor, aug: Tensor, g: Generator, p: number): Tensor {
  if (p >= 1) return aug
  const N = x.shape[0]
  const keep = tensor(Array.from({ length: N }, () => (g.nextFloat64() < p ? 0 : 1)), { dtype: x.dtype === 'float64' ? 'float64' : 'float32' }).reshape([N, 1, 1, 1])
  return x.mul(keep).add(aug.mul(keep.neg().add(1)))
}

export interface AugmentPipelineOptions {
  generator: Generator
  /** Probability of each step per image (default 0.5; the paper's "intensive" setting: 0.8). */
  p?: number
  /** Horizontal and vertical flips (default true; off for digits, whose classes are not flip-invariant). */
  flips?: boolean
  /** 90° rotations (default true; off for digits). */
  rot90?: boolean
  /** Small affine: one of rotate / translate / shear at RandAugment magnitude `affineMagnitude` (default 3). */
  affine?: boolean
  affineMagnitude?: number
  /** Brightness or contrast jitter at magnitude `jitterMagnitude` (default 3). */
  jitter?: boolean
  jitterMagnitude?: number
  /** Random resized crop down to `cropMinScale` of the area (default 0.7). */
  crop?: boolean
  cropMinScale?: number
  /** Additive Gaussian noise of std `noiseSigma` (default 0.05). */
  noise?: boolean
  noiseSigma?: number
}

/**
 * The augmentation pipeline of the paper (flips, 90° rotations, small affine, brightness/contrast
 * jitter, random resized crop, Gaussian noise), each step applied per image with probability p.
 * Shapes and labels are unchanged; the same generator state gives the same output.
 * @example
 *   const xa = augmentPipeline(x, { generator: new Generator(0), p: 0.8, flips: false, rot90: false })
 */
export function augmentPipeline(images: Tensor, opts: AugmentPipelineOptions): Tensor {
  const g = opts.generator, p = opts.p ?? 0.5
  if (!(p >= 0 && p <= 1)) throw new TesseraError(`augmentPipeline: p must be in [0, 1], got ${p}`)
  let x = images
  if (opts.flips ?? true) { x = horizontalFlip(x, g, p / 2); x = verticalFlip(x, g, p / 2) }
  if (opts.rot90 ?? true) x = rotate90(x, g, p)
  if (opts.affine ?? true) {
    x = mix(x, randAugment(x, { n: 1, magnitude: opts.affineMagnitude ?? 3, generator: g, ops: ['rotate', 'translateX', 'translateY', 'shearX', 'shearY'] }), g, p)
  }
  if (opts.jitter ?? true) x = mix(x, randAugment(x, { n: 1, magnitude: opts.jitterMagnitude ?? 3, generator: g, ops: ['brightness', 'contrast'] }), g, p)
  if (opts.crop ?? true) x = randomResizedCrop(x, g, opts.cropMinScale ?? 0.7, p)
  if (opts.noise ?? true) x = gaussianNoise(x, g, opts.noiseSigma ?? 0.05, p)
  return x
}

// ------------------------------------------------------------------ transfer

/** A model with a replaceable linear classifier under `headName` (EfficientNet: 'classifier'). */
export type HeadModel = Module & { forward(x: Tensor): Tensor }

export interface TransferHandle {
  head: Linear
  /** Every parameter outside the head. */
  backbone: Parameter[]
  /** Re-enables gradients of the backbone (and BN statistics updates in train mode). */
  unfreeze(): void
  /** Whether the backbone is frozen. */
  readonly frozen: boolean
}

/**
 * Transfer to a new label set: replaces `model[headName]` (a Linear) by a fresh Linear with
 * `numClasses` outputs and freezes every other parameter (requiresGrad = false; `fitTransfer` also
 * keeps the backbone's BatchNorm layers in eval mode while frozen). Every non-head tensor is kept.
 * Reference: https://arxiv.org/abs/2411.17870 (binary → 8-class transfer)
 * @example
 *   const h = transferHead(binaryNet, 8); ...train the head...; h.unfreeze()
 */
export function transferHead(model: HeadModel, numClasses: number, opts: { headName?: string; generator?: Generator; freeze?: boolean } = {}): TransferHandle {
  const name = opts.headName ?? 'classifier'
  const rec = model as unknown as Record<string, unknown>
  const old = rec[name]
  if (!(old instanceof Linear)) throw new TesseraError(`transferHead: model.${name} must be a Linear classifier`)
  const head = new Linear(old.inFeatures, numClasses, { generator: opts.generator ?? defaultGenerator })
  rec[name] = head
  const headParams = new Set<Parameter>(head.parameters())
  const backbone = model.parameters().filter((p) => !headParams.has(p))
  let frozen = opts.freeze ?? true
  for (const p of backbone) p.requiresGrad = !frozen
  return {
    head, backbone,
    unfreeze() { for (const p of backbone) p.requiresGrad = true; frozen = false },
    get frozen() { return frozen },
  }
}

export interface FitTransferOptions {
  /** Steps with the backbone frozen (head only) and with everything trainable. */
  headSteps: number
  fineTuneSteps: number
  /** Adam lr of the head phase and (lower) of the fine-tuning phase. */
  lr?: number
  fineTuneLr?: number
  /** Loss of one training batch (the model is already in the right mode). */
  loss: (step: number, phase: 'head' | 'finetune') => Tensor
}

/**
 * The two-phase transfer schedule: Adam on the head with the backbone frozen (its BN layers in eval
 * mode), then `unfreeze()` and Adam on every parameter at the lower fine-tuning lr. Returns the losses.
 */
export function fitTransfer(model: HeadModel, handle: TransferHandle, opts: FitTransferOptions): { headLosses: number[]; fineTuneLosses: number[] } {
  const headLosses: number[] = [], fineTuneLosses: number[] = []
  const phase = (which: 'head' | 'finetune', steps: number, params: Parameter[], lr: number, out: number[]): void => {
    if (steps <= 0) return
    const opt = new Adam(params, { lr })
    for (let s = 0; s < steps; s++) {
      model.train()
      if (handle.frozen) for (const m of model.modules()) if (m instanceof BatchNorm2d) m.training = false
      opt.zeroGrad()
      const l = opts.loss(s, which)
      l.backward()
      opt.step()
      out.push(l.item())
    }
  }
  phase('head', opts.headSteps, handle.head.parameters(), opts.lr ?? 3e-3, headLosses)
  handle.unfreeze()
  phase('finetune', opts.fineTuneSteps, model.parameters(), opts.fineTuneLr ?? 1e-3, fineTuneLosses)
  model.eval()
  return { headLosses, fineTuneLosses }
}

// ------------------------------------------------------------------ metrics

export interface ClassificationReport {
  /** confusion[t][p]: samples of true class t predicted as p. */
  confusion: number[][]
  precision: number[]
  recall: number[]
  f1: number[]
  support: number[]
  accuracy: number
  macroPrecision: number
  macroRecall: number
  macroF1: number
  /** Mean per-class recall (= macroRecall over classes present). */
  balancedAccuracy: number
}

/**
 * Confusion matrix and per-class precision p_c = TP/(TP+FP), recall r_c = TP/(TP+FN),
 * F1 = 2 p r / (p + r) (0 when undefined), macro averages and balanced accuracy (mean recall over
 * classes with support). pred and target: (N) integer labels.
 */
export function classificationReport(pred: Tensor | readonly number[], target: Tensor | readonly number[], numClasses: number): ClassificationReport {
  const arr = (t: Tensor | readonly number[]): number[] => (Array.isArray(t) ? [...t as readonly number[]] : Array.from(noGrad(() => (t as Tensor).contiguous().data()) as ArrayLike<number>))
  const P = arr(pred), T = arr(target)
  if (P.length !== T.length) throw new TesseraError(`classificationReport: pred and target lengths differ: ${P.length} vs ${T.length}`)
  const K = numClasses, conf = Array.from({ length: K }, () => new Array<number>(K).fill(0))
  for (let i = 0; i < T.length; i++) {
    if (!(T[i] >= 0 && T[i] < K && P[i] >= 0 && P[i] < K)) throw new TesseraError(`classificationReport: labels must lie in [0, ${K}), got target ${T[i]}, pred ${P[i]}`)
    conf[T[i]][P[i]]++
  }
  const support = conf.map((row) => row.reduce((a, b) => a + b, 0))
  const predicted = conf[0].map((_, p) => conf.reduce((a, row) => a + row[p], 0))
  const precision = conf.map((row, c) => (predicted[c] > 0 ? row[c] / predicted[c] : 0))
  const recall = conf.map((row, c) => (support[c] > 0 ? row[c] / support[c] : 0))
  const f1 = precision.map((p, c) => (p + recall[c] > 0 ? (2 * p * recall[c]) / (p + recall[c]) : 0))
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length
  const present = recall.filter((_, c) => support[c] > 0)
  return {
    confusion: conf, precision, recall, f1, support,
    accuracy: conf.reduce((a, row, c) => a + row[c], 0) / Math.max(1, T.length),
    macroPrecision: mean(precision), macroRecall: mean(recall), macroF1: mean(f1), balancedAccuracy: mean(present),
  }
}

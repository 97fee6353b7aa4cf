/**
 * @file Shared harness of the vision demos on the bundled 8x8 digits (examples/simplenet-digits.ts,
 * examples/efficientformer-digits.ts; the sampled loop also in emov2 and efficientvmamba): a seeded 75/25 split, nearest-neighbour upsampling to s x s
 * (NCHW, one channel), a same-batches training loop (Adam, random ±1-pixel shift augmentation),
 * BN re-estimation and held-out accuracy, and MACs per image via profile.countMacs.
 */
import { Generator, nn, noGrad, optim, tensor, zeros, type Tensor } from '../../src/index.ts'
import { loadDataset } from '../../src/node/datasets.ts'
import { trainTestSplit } from '../../src/data/sampling.ts'
import { updateBn } from '../../src/nn/update-bn.ts'
import { countMacs, countParams, shapeOnly } from '../../src/profile.ts'

export type ImageModel = nn.Module & { forward(x: Tensor): Tensor }

export interface DigitImages { xTr: Tensor; yTr: Tensor; xTe: Tensor; yTe: Tensor; side: number }

/** Nearest upsampling by an integer factor f: (B, C, H, W) -> (B, C, H f, W f). */
export function upsampleNearest(x: Tensor, f: number): Tensor {
  const [B, C, H, W] = x.shape
  return x.reshape([B, C, H, 1, W, 1]).expand([B, C, H, f, W, f]).contiguous().reshape([B, C, H * f, W * f])
}

/** Digits scaled to [0, 1], upsampled to side x side, split 75/25 with a seeded generator. */
export function loadDigitImages(side: number, seed: number): DigitImages {
  const { x: raw, y } = loadDataset('digits')
  const x = upsampleNearest(raw.div(16).reshape([raw.shape[0], 1, 8, 8]), side / 8) // (1797, 1, side, side)
  const { train, test } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  return { xTr: x.indexSelect(0, train), yTr: y.indexSelect(0, train), xTe: x.indexSelect(0, test), yTe: y.indexSelect(0, test), side }
}

export interface TrainResult { trainLoss: number; seconds: number }

/**
 * Adam (lr 2e-3) on random batches; each batch is shifted by a random (dy, dx) ∈ {-u, 0, u}² pixels
 * (u = side/8, one source pixel; a roll, the digits' borders are blank). Batches and shifts come from
 * `seed`, so every model sees the same data.
 */
export function trainModel(model: ImageModel, d: DigitImages, steps: number, batch: number, seed: number, lr = 2e-3): TrainResult {
  const g = new Generator(seed), u = d.side / 8
  const opt = new optim.Adam(model.parameters(), { lr })
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
  const last: number[] = []
  const t0 = performance.now()
  model.train()
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, d.xTr.shape[0])), { dtype: 'int32' })
    const shift = [u * (g.nextInt(0, 3) - 1), u * (g.nextInt(0, 3) - 1)]
    const xb = d.xTr.indexSelect(0, ids).roll(shift, [2, 3]) // (batch, 1, side, side)
    opt.zeroGrad()
    const loss = nn.losses.crossEntropy(model.forward(xb), d.yTr.indexSelect(0, ids))
    loss.backward(); opt.step(); sched.step()
    last.push(loss.item()); if (last.length > 20) last.shift()
  }
  return { trainLoss: last.reduce((a, b) => a + b, 0) / last.length, seconds: (performance.now() - t0) / 1000 }
}

/**
 * AdamW with cosine decay on batches drawn with replacement from (x, y) by `g` (no augmentation):
 * the loop of the EMOv2 and EfficientVMamba demos. Returns the mean loss of the last 10 steps.
 */
export function trainSampled(model: ImageModel, x: Tensor, y: Tensor, o: { steps: number; batch: number; generator: Generator; lr: number; weightDecay: number }): TrainResult {
  const { steps, batch, generator: g } = o
  const opt = new optim.AdamW(model.parameters(), { lr: o.lr, weightDecay: o.weightDecay })
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
  const last: number[] = []
  const t0 = performance.now()
  model.train()
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, x.shape[0])), { dtype: 'int32' })
    opt.zeroGrad()
    const l = nn.losses.crossEntropy(model.forward(x.indexSelect(0, ids)), y.indexSelect(0, ids))
    l.backward(); opt.step(); sched.step()
    last.push(l.item()); if (last.length > 10) last.shift()
  }
  return { trainLoss: last.reduce((a, b) => a + b, 0) / last.length, seconds: (performance.now() - t0) / 1000 }
}

/** Held-out accuracy (on the first `maxTest` test images) in eval mode after re-estimating BN statistics on (at most `maxBnBatches`) training batches of 128. */
export function evaluate(model: ImageModel, d: DigitImages, opts: { maxBnBatches?: number; maxTest?: number } = {}): number {
  model.eval()
  const n = Math.min(opts.maxBnBatches ?? Infinity, Math.floor(d.xTr.shape[0] / 128))
  updateBn(Array.from({ length: n }, (_, i) => d.xTr.narrow(0, 128 * i, 128)), model)
  const T = Math.min(opts.maxTest ?? Infinity, d.xTe.shape[0])
  return noGrad(() => model.forward(d.xTe.narrow(0, 0, T)).argmax(1).eq(d.yTe.narrow(0, 0, T)).float().mean().item())
}

/** Parameters and MACs per image (one side x side image, shape-only forward of a fresh copy built by `build`). */
export function cost(build: () => ImageModel, side: number): { params: number; macs: number } {
  return shapeOnly(() => {
    const m = build().eval()
    return { params: countParams(m), macs: countMacs(() => m.forward(zeros([1, 1, side, side]))).macs }
  })
}

/** Median milliseconds of a no-grad eval forward of `model` on x over `runs` runs (after one warm-up). */
export function forwardMs(model: ImageModel, x: Tensor, runs = 3): number {
  model.eval()
  noGrad(() => model.forward(x))
  const t: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now()
    noGrad(() => model.forward(x))
    t.push(performance.now() - t0)
  }
  return t.sort((a, b) => a - b)[runs >> 1]
}

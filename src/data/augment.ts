/**
 * @file Image augmentation for small NCHW batches (8x8 / 16x16 digits and the like): RandAugment
 * (Cubuk et al. 2020, https://arxiv.org/abs/1909.13719) over a small op set that makes sense at that
 * size — translate, rotate, shear (inverse-mapped with bilinear or nearest sampling, zero fill),
 * contrast, brightness, cutout — plus `randomCrop(padding)` and `horizontalFlip`.
 *
 * Images: (N, C, H, W) float tensors; outputs are new float32 (or float64) tensors of the same shape.
 * Every random draw comes from the given `Generator`. Augmentation is data preparation, not part of
 * the autograd graph: outputs do not require grad.
 *
 * Magnitude m ∈ [0, 10] (RandAugment's integer scale, `_MAX_LEVEL` = 10) maps linearly to each op's
 * range at m = 10: translate ±30% of the side, rotate ±30°, shear ±0.3, contrast and brightness
 * factors 1 ± 0.9, cutout side 50% of the image. Geometric ops draw a random sign. m = 0 is the identity.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'

type F = Float32Array | Float64Array
/** One image (C, H, W) as a flat array, transformed in place into `out`. */
type ImageOp = (out: F, img: F, C: number, H: number, W: number) => void

export type Interpolation = 'bilinear' | 'nearest'
export type AugmentOpName = 'translateX' | 'translateY' | 'rotate' | 'shearX' | 'shearY' | 'contrast' | 'brightness' | 'cutout'
export const AUGMENT_OPS: readonly AugmentOpName[] = ['translateX', 'translateY', 'rotate', 'shearX', 'shearY', 'contrast', 'brightness', 'cutout']

function checkImages(op: string, x: Tensor): [number, number, number, number] {
  if (x.ndim !== 4 || !(x.dtype === 'float32' || x.dtype === 'float64')) {
    throw new TesseraError(`${op}: images must be a float (N, C, H, W) tensor, got ${x.dtype} [${x.shape.join(',')}]`)
  }
  return x.shape as [number, number, number, number]
}

/** Applies a per-image op to every image of the batch; `pick(n)` returns image n's op (or null: copy). */
function mapImages(op: string, x: Tensor, pick: (n: number) => ImageOp[]): Tensor {
  const [N, C, H, W] = checkImages(op, x)
  const src = x.contiguous().data() as F // (N, C, H, W)
  const Ctor = x.dtype === 'float64' ? Float64Array : Float32Array
  const out = new Ctor(src.length) // (N, C, H, W)
  const S = C * H * W
  let a = new Ctor(S), b = new Ctor(S)
  for (let n = 0; n < N; n++) {
    a.set(src.subarray(n * S, (n + 1) * S))
    for (const f of pick(n)) { f(b, a, C, H, W); [a, b] = [b, a] }
    out.set(a, n * S)
  }
  return fromTypedArray(out, [N, C, H, W])
}

/** Samples img (C, H, W) at source coordinates (sy, sx) for each output pixel; zero outside. */
function sampleAt(out: F, img: F, C: number, H: number, W: number, map: (y: number, x: number) => [number, number], interp: Interpolation): void {
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [sy, sx] = map(y, x)
      for (let c = 0; c < C; c++) {
        const base = c * H * W
        let v = 0
        if (interp === 'nearest') {
          const iy = Math.round(sy), ix = Math.round(sx)
          if (iy >= 0 && iy < H && ix >= 0 && ix < W) v = img[base + iy * W + ix]
        } else {
          const y0 = Math.floor(sy), x0 = Math.floor(sx), fy = sy - y0, fx = sx - x0
          const at = (yy: number, xx: number): number => (yy >= 0 && yy < H && xx >= 0 && xx < W ? img[base + yy * W + xx] : 0)
          v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
        }
        out[base + y * W + x] = v
      }
    }
  }
}

// ------------------------------------------------------------------ single-image ops

/** out(y, x) = img(y − dy, x − dx) for integer shifts (zero fill). */
const translateOp = (dy: number, dx: number): ImageOp => (out, img, C, H, W) =>
  sampleAt(out, img, C, H, W, (y, x) => [y - dy, x - dx], 'nearest')

/** Rotation by `deg` degrees counter-clockwise (in the displayed image, y down) about the centre. */
const rotateOp = (deg: number, interp: Interpolation): ImageOp => (out, img, C, H, W) => {
  const t = (deg * Math.PI) / 180, cos = Math.cos(t), sin = Math.sin(t)
  const cy = (H - 1) / 2, cx = (W - 1) / 2
  // Inverse map: source = R(−θ) (dest − centre) + centre, with y pointing down.
  sampleAt(out, img, C, H, W, (y, x) => {
    const u = x - cx, v = y - cy
    return [cy + sin * u + cos * v, cx + cos * u - sin * v]
  }, interp)
}

/** Shear about the centre: out(y, x) = img(y − sy (x − cx), x − sx (y − cy)). */
const shearOp = (sy: number, sx: number, interp: Interpolation): ImageOp => (out, img, C, H, W) => {
  const cy = (H - 1) / 2, cx = (W - 1) / 2
  sampleAt(out, img, C, H, W, (y, x) => [y - sy * (x - cx), x - sx * (y - cy)], interp)
}

/** out = μ + f (img − μ), μ the image's mean over (C, H, W) (PIL's ImageEnhance.Contrast blends with the mean grey). */
const contrastOp = (f: number): ImageOp => (out, img) => {
  let mu = 0
  for (let i = 0; i < img.length; i++) mu += img[i]
  mu /= img.length
  for (let i = 0; i < img.length; i++) out[i] = mu + f * (img[i] - mu)
}

/** out = f · img (PIL's ImageEnhance.Brightness blends with black). */
const brightnessOp = (f: number): ImageOp => (out, img) => {
  for (let i = 0; i < img.length; i++) out[i] = f * img[i]
}

/** Zeroes the size x size square with top-left corner (y0, x0) (clipped to the image), all channels. */
const cutoutOp = (y0: number, x0: number, size: number): ImageOp => (out, img, C, H, W) => {
  out.set(img)
  for (let c = 0; c < C; c++) {
    for (let y = Math.max(0, y0); y < Math.min(H, y0 + size); y++) {
      for (let x = Math.max(0, x0); x < Math.min(W, x0 + size); x++) out[c * H * W + y * W + x] = 0
    }
  }
}

// ------------------------------------------------------------------ batch ops with explicit parameters

/** Shifts every image by (dy, dx) integer pixels (positive: down / right), zero fill. */
export const translate = (x: Tensor, dy: number, dx: number): Tensor => mapImages('translate', x, () => [translateOp(Math.round(dy), Math.round(dx))])
/** Rotates every image by `degrees` counter-clockwise about its centre, zero fill. */
export const rotate = (x: Tensor, degrees: number, interp: Interpolation = 'bilinear'): Tensor => mapImages('rotate', x, () => [rotateOp(degrees, interp)])
/** Shears every image: out(y, x) = in(y − sy (x − cx), x − sx (y − cy)). */
export const shear = (x: Tensor, sy: number, sx: number, interp: Interpolation = 'bilinear'): Tensor => mapImages('shear', x, () => [shearOp(sy, sx, interp)])
/** out = μ + f (x − μ) per image. */
export const adjustContrast = (x: Tensor, f: number): Tensor => mapImages('adjustContrast', x, () => [contrastOp(f)])
/** out = f x. */
export const adjustBrightness = (x: Tensor, f: number): Tensor => mapImages('adjustBrightness', x, () => [brightnessOp(f)])
/** Zeroes a size x size square at (y0, x0) in every image. */
export const cutout = (x: Tensor, y0: number, x0: number, size: number): Tensor => mapImages('cutout', x, () => [cutoutOp(y0, x0, size)])

// ------------------------------------------------------------------ random augmentation

export interface RandAugmentOptions {
  /** Ops applied per image, each chosen uniformly with replacement (RandAugment N). Default 2. */
  n?: number
  /** Magnitude in [0, 10] (RandAugment M). Default 5. */
  magnitude?: number
  generator: Generator
  ops?: readonly AugmentOpName[]
  interpolation?: Interpolation
}

/** The op `name` at magnitude m ∈ [0, 10] for one H x W image, drawing signs / positions from g. */
function randomOp(name: AugmentOpName, m: number, H: number, W: number, g: Generator, interp: Interpolation): ImageOp {
  const level = m / 10
  const sign = (): number => (g.nextFloat64() < 0.5 ? -1 : 1)
  switch (name) {
    case 'translateX': return translateOp(0, sign() * Math.round(level * 0.3 * W))
    case 'translateY': return translateOp(sign() * Math.round(level * 0.3 * H), 0)
    case 'rotate': return rotateOp(sign() * level * 30, interp)
    case 'shearX': return shearOp(0, sign() * level * 0.3, interp)
    case 'shearY': return shearOp(sign() * level * 0.3, 0, interp)
    case 'contrast': return contrastOp(1 + sign() * level * 0.9)
    case 'brightness': return brightnessOp(1 + sign() * level * 0.9)
    case 'cutout': {
      const size = Math.round(level * 0.5 * Math.min(H, W))
      const cy = g.nextInt(0, H), cx = g.nextInt(0, W) // centre
      return cutoutOp(cy - Math.floor(size / 2), cx - Math.floor(size / 2), size)
    }
    default: throw new TesseraError(`randAugment: unknown op '${String(name)}'`)
  }
}

/**
 * RandAugment: for every image, n ops drawn uniformly (with replacement) from `ops`, each applied at
 * magnitude m (a random sign for the signed ones). Same generator state, same output.
 * Reference: https://arxiv.org/abs/1909.13719
 * @example
 *   const xa = randAugment(x, { n: 2, magnitude: 9, generator: new Generator(0) }) // x (N, 1, 16, 16)
 */
export function randAugment(images: Tensor, opts: RandAugmentOptions): Tensor {
  const n = opts.n ?? 2, m = opts.magnitude ?? 5, ops = opts.ops ?? AUGMENT_OPS, g = opts.generator
  if (!(Number.isInteger(n) && n >= 0) || !(m >= 0 && m <= 10) || ops.length === 0) {
    throw new TesseraError(`randAugment: need an integer n >= 0, magnitude in [0, 10] and at least one op, got n ${n}, magnitude ${m}, ${ops.length} ops`)
  }
  const [, , H, W] = checkImages('randAugment', images)
  const interp = opts.interpolation ?? 'bilinear'
  return mapImages('randAugment', images, () => Array.from({ length: n }, () => randomOp(ops[g.nextInt(0, ops.length)], m, H, W, g, interp)))
}

/**
 * Random crop after zero padding: pads each image by `padding` on every side and crops an H x W window
 * at a uniform offset, i.e. an integer shift (dy, dx) ∈ [−padding, padding]² per image.
 */
export function randomCrop(images: Tensor, padding: number, generator: Generator): Tensor {
  if (!(Number.isInteger(padding) && padding >= 0)) throw new TesseraError(`randomCrop: padding must be a non-negative integer, got ${padding}`)
  return mapImages('randomCrop', images, () => [translateOp(generator.nextInt(-padding, padding + 1), generator.nextInt(-padding, padding + 1))])
}

/** Flips each image left-right with probability p (default 0.5). */
export function horizontalFlip(images: Tensor, generator: Generator, p = 0.5): Tensor {
  const flip: ImageOp = (out, img, C, H, W) => sampleAt(out, img, C, H, W, (y, x) => [y, W - 1 - x], 'nearest')
  return mapImages('horizontalFlip', images, () => (generator.nextFloat64() < p ? [flip] : []))
}

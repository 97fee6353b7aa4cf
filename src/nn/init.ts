/**
 * @file Weight initialisation, as `torch.nn.init` (exported as `nn.init`). Every function fills a
 * float tensor in place (under noGrad, so Parameters are fine), returns it, and takes its random
 * numbers from `opts.generator` (the default generator otherwise). Draws are made in the tensor's
 * dtype (53-bit uniforms for float64, 24-bit for float32).
 *
 * Fans follow PyTorch: for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel) and
 * fan_out = out * prod(kernel) (the receptive field of a convolution counts in both).
 *
 * Reference: https://pytorch.org/docs/stable/nn.init.html
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { isFloating } from '../dtype.ts'
import { erf, normalCdf } from '../kernels/math.ts'
import { fromTypedArray, rand, randn } from '../creation.ts'
import { qr } from '../linalg/qr.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'

export interface RandomInitOptions { generator?: Generator }
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu'
export type FanMode = 'fan_in' | 'fan_out'

function floatTensor(op: string, t: Tensor): void {
  check(isFloating(t.dtype), op, () => `can only initialise float32 or float64 tensors, got ${t.dtype}`)
}

/** Writes `values` (any shape with t's element count) into t in place, without recording a graph. */
function write<T extends Tensor>(t: T, values: Tensor): T {
  noGrad(() => t.copy_(values.reshape(t.shape).to(t.dtype)))
  return t
}

const floatDType = (t: Tensor): 'float32' | 'float64' => (t.dtype === 'float64' ? 'float64' : 'float32')

/**
 * The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for
 * relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope `param`, default 0.01), 3/4 for selu.
 * Reference: https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.calculate_gain
 * @example
 *   calculateGain('leaky_relu', 0.2) // sqrt(2 / 1.04)
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1
    case 'tanh': return 5 / 3
    case 'relu': return Math.SQRT2
    case 'leaky_relu': {
      const slope = param ?? 0.01
      check(typeof slope === 'number' && Number.isFinite(slope), 'calculateGain', () => `negative slope ${slope} is not a valid number`)
      return Math.sqrt(2 / (1 + slope * slope))
    }
    case 'selu': return 3 / 4
    default: throw new TesseraError(`calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`)
  }
}

/** fan_in = size(1) * receptive field, fan_out = size(0) * receptive field (needs >= 2 dims). */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  check(t.ndim >= 2, 'calculateFanInAndFanOut', () => `fan in and fan out can not be computed for a tensor with fewer than 2 dims (shape ${fmtShape(t.shape)})`)
  const receptive = t.shape.slice(2).reduce((p, d) => p * d, 1)
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive }
}

function fanOf(op: string, t: Tensor, mode: FanMode): number {
  check(mode === 'fan_in' || mode === 'fan_out', op, () => `mode must be 'fan_in' or 'fan_out', got ${JSON.stringify(mode)}`)
  const { fanIn, fanOut } = calculateFanInAndFanOut(t)
  return mode === 'fan_in' ? fanIn : fanOut
}

/** Fills t with U(a, b). */
export function uniform_<T extends Tensor>(t: T, a = 0, b = 1, opts: RandomInitOptions = {}): T {
  floatTensor('uniform_', t)
  check(a <= b, 'uniform_', () => `expected a <= b, got a = ${a}, b = ${b}`)
  return write(t, rand(t.shape, { dtype: floatDType(t), generator: opts.generator }).mul(b - a).add(a))
}

/** Fills t with N(mean, std^2). */
export function normal_<T extends Tensor>(t: T, mean = 0, std = 1, opts: RandomInitOptions = {}): T {
  floatTensor('normal_', t)
  check(std >= 0, 'normal_', () => `std must be non-negative, got ${std}`)
  return write(t, randn(t.shape, { dtype: floatDType(t), generator: opts.generator }).mul(std).add(mean))
}

/** Fills t with `value`. */
export function constant_<T extends Tensor>(t: T, value: number): T {
  noGrad(() => t.fill_(value))
  return t
}
export const zeros_ = <T extends Tensor>(t: T): T => constant_(t, 0)
export const ones_ = <T extends Tensor>(t: T): T => constant_(t, 1)

export interface XavierOptions extends RandomInitOptions { gain?: number }

/**
 * Glorot uniform: U(-b, b) with b = gain sqrt(6 / (fan_in + fan_out)).
 * Reference: Glorot & Bengio 2010, http://proceedings.mlr.press/v9/glorot10a.html
 * @example
 *   init.xavierUniform_(lin.weight, { gain: init.calculateGain('tanh') })
 */
export function xavierUniform_<T extends Tensor>(t: T, opts: XavierOptions = {}): T {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t)
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut))
  const bound = Math.sqrt(3) * std
  return uniform_(t, -bound, bound, opts)
}

/** Glorot normal: N(0, std^2) with std = gain sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal_<T extends Tensor>(t: T, opts: XavierOptions = {}): T {
  const { fanIn, fanOut } = calculateFanInAndFanOut(t)
  return normal_(t, 0, (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), opts)
}

export interface KaimingOptions extends RandomInitOptions {
  /** Negative slope of the leaky_relu that follows (only used for 'leaky_relu'; default 0). */
  a?: number
  mode?: FanMode
  nonlinearity?: Nonlinearity
}

function kaimingStd(op: string, t: Tensor, opts: KaimingOptions): number {
  const fan = fanOf(op, t, opts.mode ?? 'fan_in')
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan)
}

/**
 * He uniform: U(-b, b) with b = gain sqrt(3 / fan), fan from `mode` (default fan_in), gain from
 * `nonlinearity` (default leaky_relu with slope a = 0, i.e. sqrt 2).
 * Reference: He et al. 2015, https://arxiv.org/abs/1502.01852
 * @example
 *   init.kaimingUniform_(conv.weight, { a: Math.sqrt(5) }) // PyTorch's default for Linear/Conv
 */
export function kaimingUniform_<T extends Tensor>(t: T, opts: KaimingOptions = {}): T {
  if (t.numel() === 0) return t
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, opts)
  return uniform_(t, -bound, bound, opts)
}

/** He normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_<T extends Tensor>(t: T, opts: KaimingOptions = {}): T {
  if (t.numel() === 0) return t
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, opts), opts)
}

/**
 * erf^{-1}(y) for y in [-1, 1]: Giles' single-precision approximation ("Approximating the erfinv
 * function", GPU Computing Gems, 2011) refined by two Newton steps on erf(x) - y = 0
 * (erf'(x) = 2/sqrt(pi) e^{-x^2}), which brings it to float64 accuracy.
 */
export function erfinv(y: number): number {
  if (y <= -1) return y === -1 ? -Infinity : NaN
  if (y >= 1) return y === 1 ? Infinity : NaN
  if (y !== y) return NaN
  let w = -Math.log((1 - y) * (1 + y))
  let p: number
  if (w < 5) {
    w -= 2.5
    p = 2.81022636e-08
    for (const c of [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]) p = c + p * w
  } else {
    w = Math.sqrt(w) - 3
    p = -0.000200214257
    for (const c of [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]) p = c + p * w
  }
  let x = p * y
  for (let k = 0; k < 2; k++) {
    const d = 1.1283791670955126 * Math.exp(-x * x)
    if (d === 0) break
    x -= (erf(x) - y) / d
  }
  return x
}

export interface TruncNormalOptions extends RandomInitOptions { mean?: number; std?: number; a?: number; b?: number }

/**
 * N(mean, std^2) truncated to [a, b] (defaults 0, 1, -2, 2), by inverse-CDF sampling as PyTorch:
 * u ~ U(2 Phi(alpha) - 1, 2 Phi(beta) - 1), x = mean + std sqrt(2) erfinv(u), clamped to [a, b],
 * with alpha = (a - mean)/std, beta = (b - mean)/std.
 * Reference: https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.trunc_normal_
 * @example
 *   init.truncNormal_(w, { std: 0.02 }) // ViT-style
 */
export function truncNormal_<T extends Tensor>(t: T, opts: TruncNormalOptions = {}): T {
  floatTensor('truncNormal_', t)
  const { mean = 0, std = 1, a = -2, b = 2 } = opts
  check(std > 0 && a < b, 'truncNormal_', () => `need std > 0 and a < b, got std = ${std}, a = ${a}, b = ${b}`)
  const lo = 2 * normalCdf((a - mean) / std) - 1
  const hi = 2 * normalCdf((b - mean) / std) - 1
  const u = rand(t.shape, { dtype: 'float64', generator: opts.generator }).data() as Float64Array
  const out = new Float64Array(u.length)
  for (let i = 0; i < u.length; i++) {
    const x = mean + std * Math.SQRT2 * erfinv(lo + (hi - lo) * u[i])
    out[i] = Math.min(Math.max(x, a), b)
  }
  return write(t, fromTypedArray(out, [out.length]))
}

/**
 * A (semi-)orthogonal matrix: t viewed as (rows, cols) with cols = numel / rows gets Q from the QR
 * of a standard Gaussian matrix (transposed when rows < cols), with each column multiplied by the
 * sign of R's diagonal so that the result is Haar-distributed; then scaled by `gain`.
 * Reference: Saxe et al. 2013, https://arxiv.org/abs/1312.6120; Mezzadri 2006, https://arxiv.org/abs/math-ph/0609050
 * @example
 *   init.orthogonal_(rnn.weight_hh_l0)
 */
export function orthogonal_<T extends Tensor>(t: T, opts: XavierOptions = {}): T {
  floatTensor('orthogonal_', t)
  check(t.ndim >= 2, 'orthogonal_', () => `only tensors with 2 or more dims are supported, got shape ${fmtShape(t.shape)}`)
  if (t.numel() === 0) return t
  const rows = t.shape[0]
  const cols = t.numel() / rows
  let g = randn([rows, cols], { dtype: 'float64', generator: opts.generator })
  if (rows < cols) g = g.T
  const { Q, R } = qr(g.contiguous())
  const k = Math.min(rows, cols)
  const diag = R.reshape([-1]).slice(0, 0, k * k, k + 1) // (k): R[i][i]
  // NOTE: torch uses sign(0) = 0 here, which would zero a column; a Gaussian matrix has a zero
  // pivot with probability 0, so we take +1 instead.
  let q = Q.mul(diag.ge(0).to('float64').mul(2).sub(1))
  if (rows < cols) q = q.T
  return write(t, q.contiguous().mul(opts.gain ?? 1))
}

/** The identity on a 2-D tensor (ones on the main diagonal, zeros elsewhere). */
export function eye_<T extends Tensor>(t: T): T {
  floatTensor('eye_', t)
  check(t.ndim === 2, 'eye_', () => `only 2-D tensors are supported, got shape ${fmtShape(t.shape)}`)
  const [n, m] = t.shape
  const out = new Float64Array(n * m)
  for (let i = 0; i < Math.min(n, m); i++) out[i * m + i] = 1
  return write(t, fromTypedArray(out, [n * m]))
}

/**
 * Dirac delta for a 3-, 4- or 5-D convolution weight (out, in, *kernel): within each of `groups`
 * groups of out channels, channel d gets a 1 at input channel d and the kernel centre, so the
 * convolution preserves its input.
 * Reference: https://pytorch.org/docs/stable/nn.init.html#torch.nn.init.dirac_
 */
export function dirac_<T extends Tensor>(t: T, groups = 1): T {
  floatTensor('dirac_', t)
  check(t.ndim >= 3 && t.ndim <= 5, 'dirac_', () => `only 3-, 4- and 5-D tensors are supported, got shape ${fmtShape(t.shape)}`)
  check(Number.isInteger(groups) && groups > 0 && t.shape[0] % groups === 0, 'dirac_', () => `dim 0 (${t.shape[0]}) is not divisible by groups ${groups}`)
  const perGroup = t.shape[0] / groups
  const minDim = Math.min(perGroup, t.shape[1])
  const kernel = t.shape.slice(2)
  const kSize = kernel.reduce((p, d) => p * d, 1)
  // Row-major offset of the kernel centre (floor(k / 2) in each spatial dim).
  let centre = 0
  for (const d of kernel) centre = centre * d + Math.floor(d / 2)
  const out = new Float64Array(t.numel())
  for (let g = 0; g < groups; g++) {
    for (let d = 0; d < minDim; d++) out[((g * perGroup + d) * t.shape[1] + d) * kSize + centre] = 1
  }
  return write(t, fromTypedArray(out, [out.length]))
}

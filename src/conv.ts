/**
 * @file Convolutions as composites of the `unfold`/`fold` primitives and matmul (which runs on
 * `kernels.gemm`), so their gradients of every order come from those ops. 2-D depthwise
 * convolution (groups = in_channels) runs on its direct kernel instead. Names and semantics follow
 * `torch.nn.functional` (https://pytorch.org/docs/stable/nn.functional.html#convolution-functions).
 *
 * Shapes, S = 1..3 spatial dims, K = prod(kernel), L = prod(output spatial size), G = groups:
 *   conv:            x (N, Cin, *S) -> unfold (N, Cin K, L) -> W (G, Cout/G, Cin/G K) @ (N, G, Cin/G K, L)
 *                    -> (N, G, Cout/G, L) -> (N, Cout, *So)
 *   transposed conv: W^T (G, Cout/G K, Cin/G) @ x (N, G, Cin/G, L_in) -> (N, Cout K, L_in) -> fold (N, Cout, *So)
 * Unbatched inputs (Cin, *S) are accepted and give unbatched outputs, as in PyTorch.
 */
import { TesseraError, check, fmtShape } from './errors.ts'
import { numel } from './shape.ts'
import { Tensor } from './tensor.ts'
import {
  batched, blocks, checkFits, depthwiseConv2dOp, depthwiseGeometry, foldRaw, tuple, unfoldRaw, type IntOrTuple, type Sliding,
} from './ops/conv.ts'
import { apply } from './ops/op.ts'

export type { IntOrTuple } from './ops/conv.ts'

export interface ConvOptions {
  stride?: IntOrTuple
  /** Zero padding on both sides of each dim; 'valid' is 0, 'same' keeps the size (stride 1 only). */
  padding?: IntOrTuple | 'same' | 'valid'
  dilation?: IntOrTuple
  groups?: number
}

export interface ConvTransposeOptions {
  stride?: IntOrTuple
  /** The padding of the conv this is the adjoint of: trimmed from both sides of each output dim. */
  padding?: IntOrTuple
  /** Extra size added to one side of each output dim (smaller than stride or dilation). */
  outputPadding?: IntOrTuple
  dilation?: IntOrTuple
  groups?: number
}

const LAYOUTS = ['', 'C, L', 'C, H, W', 'C, D, H, W']
const KERNEL_LAYOUTS = ['', 'kL', 'kH, kW', 'kD, kH, kW']

function checkWeight(op: string, x: Tensor, weight: Tensor, bias: Tensor | null | undefined, S: number, layout: string): void {
  check(weight instanceof Tensor, op, () => 'weight must be a tensor')
  check(weight.ndim === S + 2, op, () => `weight must have rank ${S + 2} (${layout}, ${KERNEL_LAYOUTS[S]}), got shape ${fmtShape(weight.shape)}`)
  check(weight.dtype === x.dtype, op, () => `input dtype ${x.dtype} and weight dtype ${weight.dtype} differ`)
  if (bias !== null && bias !== undefined) {
    check(bias instanceof Tensor && bias.dtype === x.dtype, op, () => `bias must be a ${x.dtype} tensor like the input`)
  }
}

function checkGroups(op: string, groups: number, Cin: number, Cout: number): void {
  check(Number.isInteger(groups) && groups >= 1, op, () => `groups must be a positive integer, got ${groups}`)
  check(Cin % groups === 0 && Cout % groups === 0, op, () =>
    `groups ${groups} must divide both in_channels ${Cin} and out_channels ${Cout}`)
}

function addBias(op: string, y: Tensor, bias: Tensor | null | undefined, Cout: number): Tensor {
  if (bias === null || bias === undefined) return y
  check(bias.ndim === 1 && bias.shape[0] === Cout, op, () => `bias must have shape [${Cout}] (out_channels), got ${fmtShape(bias.shape)}`)
  return y.add(bias.reshape([Cout, ...new Array<number>(y.ndim - 2).fill(1)]))
}

/** Per-dim (before, after) padding of a conv; 'same' splits d (k - 1) as PyTorch: the extra unit after. */
function convPadding(op: string, padding: ConvOptions['padding'], S: number, kernel: number[], dilation: number[], stride: number[]): [number[], number[]] {
  if (padding === 'valid') return [new Array<number>(S).fill(0), new Array<number>(S).fill(0)]
  if (padding === 'same') {
    check(stride.every((s) => s === 1), op, () => `padding='same' is not supported for strided convolutions (stride ${fmtShape(stride)})`)
    const before = kernel.map((k, i) => Math.floor((dilation[i] * (k - 1)) / 2))
    return [before, kernel.map((k, i) => dilation[i] * (k - 1) - before[i])]
  }
  check(typeof padding !== 'string', op, () => `padding must be 'same', 'valid', a non-negative integer or a tuple of ${S}, got '${padding}'`)
  const p = tuple(op, 'padding', padding ?? 0, S, 0)
  return [p, p.slice()]
}

function convNd(op: string, S: number, input: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts: ConvOptions): Tensor {
  const [x, isBatched] = batched(op, input, S, LAYOUTS[S])
  checkWeight(op, x, weight, bias, S, 'out_channels, in_channels / groups')
  const groups = opts.groups ?? 1
  const [N, Cin] = x.shape
  const [Cout, CinG] = weight.shape
  const kernel = weight.shape.slice(2)
  checkGroups(op, groups, Cin, Cout)
  check(CinG * groups === Cin, op, () =>
    `input has ${Cin} channels but weight ${fmtShape(weight.shape)} with groups ${groups} expects ${CinG * groups} (input ${fmtShape(input.shape)})`)
  const stride = tuple(op, 'stride', opts.stride ?? 1, S)
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, S)
  const [padBefore, padAfter] = convPadding(op, opts.padding, S, kernel, dilation, stride)
  const w: Sliding = { size: x.shape.slice(2), kernel, stride, dilation, padBefore, padAfter }
  checkFits(op, w, input.shape)
  const out = blocks(w)
  let y: Tensor
  if (S === 2 && groups > 1 && groups === Cin && CinG === 1) {
    // Depthwise: the direct kernel (im2col would run G matrix products of one row each).
    y = apply(depthwiseConv2dOp, [x, weight], depthwiseGeometry(N, Cin, Cout / Cin, w))
  } else {
    const K = numel(kernel), L = numel(out)
    // A 1x1 kernel with stride 1 and no padding: the columns are the image itself.
    const pointwise = kernel.every((k, i) => k === 1 && stride[i] === 1 && padBefore[i] === 0 && padAfter[i] === 0)
    const cols = pointwise ? x.reshape([N, Cin, L]) : unfoldRaw(x, w) // (N, Cin K, L)
    y = weight.reshape([groups, Cout / groups, CinG * K]).matmul(cols.reshape([N, groups, CinG * K, L])) // (N, G, Cout/G, L)
    y = y.reshape([N, Cout, ...out])
  }
  y = addBias(op, y, bias, Cout)
  return isBatched ? y : y.squeeze(0)
}

/**
 * 1-D convolution (cross-correlation): y[n, o, l] = b[o] + sum_{c, k} W[o, c, k] x[n, g(o) Cin/G + c, l s - p + k d].
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv1d.html
 * @example
 *   const y = F.conv1d(randn([2, 4, 10]), randn([8, 4, 3]), null, { padding: 'same' }) // [2, 8, 10]
 */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv1d', 1, x, weight, bias, opts)
}

/**
 * 2-D convolution: y[n, o, i, j] = b[o] + sum_{c, kh, kw} W[o, c, kh, kw] x[n, g(o) Cin/G + c, i sH - pH + kh dH, j sW - pW + kw dW].
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv2d.html
 * @example
 *   const y = F.conv2d(randn([1, 3, 8, 8]), randn([16, 3, 3, 3]), randn([16]), { stride: 2, padding: 1 }) // [1, 16, 4, 4]
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv2d', 2, x, weight, bias, opts)
}

/**
 * 3-D convolution, the same sum over (kd, kh, kw).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv3d.html
 * @example
 *   const y = F.conv3d(randn([1, 2, 4, 6, 6]), randn([4, 2, 3, 3, 3]), null, { padding: 1 }) // [1, 4, 4, 6, 6]
 */
export function conv3d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  return convNd('conv3d', 3, x, weight, bias, opts)
}

function convTransposeNd(op: string, S: number, input: Tensor, weight: Tensor, bias: Tensor | null | undefined, opts: ConvTransposeOptions): Tensor {
  const [x, isBatched] = batched(op, input, S, LAYOUTS[S])
  checkWeight(op, x, weight, bias, S, 'in_channels, out_channels / groups')
  const groups = opts.groups ?? 1
  const [N, Cin] = x.shape
  const [CinW, CoutG] = weight.shape
  const kernel = weight.shape.slice(2)
  check(Cin === CinW, op, () => `input has ${Cin} channels but weight ${fmtShape(weight.shape)} expects ${CinW} (input ${fmtShape(input.shape)})`)
  checkGroups(op, groups, Cin, CoutG * groups)
  const Cout = CoutG * groups
  const stride = tuple(op, 'stride', opts.stride ?? 1, S)
  const dilation = tuple(op, 'dilation', opts.dilation ?? 1, S)
  const padding = tuple(op, 'padding', opts.padding ?? 0, S, 0)
  const outputPadding = tuple(op, 'outputPadding', opts.outputPadding ?? 0, S, 0)
  outputPadding.forEach((p, i) => check(p < stride[i] || p < dilation[i], op, () =>
    `outputPadding ${fmtShape(outputPadding)} must be smaller than either stride ${fmtShape(stride)} or dilation ${fmtShape(dilation)}`))
  check(kernel.every((k) => k >= 1), op, () => `kernel size must be positive, got weight ${fmtShape(weight.shape)}`)
  const inSize = x.shape.slice(2)
  // out = (in - 1) s - 2 p + d (k - 1) + outputPadding + 1
  const size = inSize.map((n, i) => (n - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + outputPadding[i] + 1)
  check(size.every((s) => s >= 1), op, () =>
    `output size ${fmtShape(size)} is not positive (input ${fmtShape(input.shape)}, kernel ${fmtShape(kernel)}, stride ${fmtShape(stride)}, padding ${fmtShape(padding)}, dilation ${fmtShape(dilation)})`)
  // NOTE: the fold that is this conv's adjoint pads `padding` before and `padding - outputPadding`
  // after (possibly negative): that gives exactly the input's block count, and output rows past the
  // last block receive nothing (only the bias), as in PyTorch.
  const w: Sliding = { size, kernel, stride, dilation, padBefore: padding, padAfter: padding.map((p, i) => p - outputPadding[i]) }
  const K = numel(kernel), L = numel(inSize)
  const wT = weight.reshape([groups, Cin / groups, CoutG * K]).mT // (G, Cout/G K, Cin/G)
  const cols = wT.matmul(x.reshape([N, groups, Cin / groups, L])).reshape([N, Cout * K, L]) // (N, Cout K, L)
  const pointwise = kernel.every((k, i) => k === 1 && stride[i] === 1 && padding[i] === 0 && outputPadding[i] === 0)
  let y = pointwise ? cols.reshape([N, Cout, ...size]) : foldRaw(cols, w)
  y = addBias(op, y, bias, Cout)
  return isBatched ? y : y.squeeze(0)
}

/**
 * 1-D transposed convolution (the adjoint of conv1d in x): weight (Cin, Cout / G, kL), output
 * length (L - 1) s - 2 p + d (k - 1) + outputPadding + 1.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv_transpose1d.html
 * @example
 *   const y = F.convTranspose1d(randn([1, 4, 5]), randn([4, 2, 3]), null, { stride: 2 }) // [1, 2, 11]
 */
export function convTranspose1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose1d', 1, x, weight, bias, opts)
}

/**
 * 2-D transposed convolution: the gradient of conv2d with respect to its input, plus bias.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv_transpose2d.html
 * @example
 *   const y = F.convTranspose2d(randn([1, 8, 4, 4]), randn([8, 3, 3, 3]), null, { stride: 2, padding: 1, outputPadding: 1 }) // [1, 3, 8, 8]
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose2d', 2, x, weight, bias, opts)
}

/**
 * 3-D transposed convolution.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.functional.conv_transpose3d.html
 * @example
 *   const y = F.convTranspose3d(randn([1, 2, 3, 3, 3]), randn([2, 2, 2, 2, 2]), null, { stride: 2 }) // [1, 2, 6, 6, 6]
 */
export function convTranspose3d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose3d', 3, x, weight, bias, opts)
}

export interface UnfoldOptions {
  kernelSize: IntOrTuple
  dilation?: IntOrTuple
  padding?: IntOrTuple
  stride?: IntOrTuple
}

export interface FoldOptions extends UnfoldOptions {
  outputSize: IntOrTuple
}

function foldWindow(op: string, size: number[], opts: UnfoldOptions): Sliding {
  check(opts !== null && typeof opts === 'object' && opts.kernelSize !== undefined, op, () => 'options need kernelSize')
  const padding = tuple(op, 'padding', opts.padding ?? 0, 2, 0)
  return {
    size, kernel: tuple(op, 'kernelSize', opts.kernelSize, 2), stride: tuple(op, 'stride', opts.stride ?? 1, 2),
    dilation: tuple(op, 'dilation', opts.dilation ?? 1, 2), padBefore: padding, padAfter: padding.slice(),
  }
}

/**
 * Extracts sliding blocks (im2col): x (N, C, H, W) -> (N, C kH kW, L), column l holding block l's
 * values in (c, kh, kw) order, L = prod over dims of floor((size + 2 p - d (k - 1) - 1) / s) + 1.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.Unfold.html
 * @example
 *   const cols = F.unfold(randn([1, 3, 5, 5]), { kernelSize: 3, padding: 1 }) // [1, 27, 25]
 */
export function unfold(input: Tensor, opts: UnfoldOptions): Tensor {
  const [x, isBatched] = batched('unfold', input, 2, 'C, H, W')
  const w = foldWindow('unfold', x.shape.slice(2), opts)
  checkFits('unfold', w, input.shape)
  const cols = unfoldRaw(x, w)
  return isBatched ? cols : cols.squeeze(0)
}

/**
 * Sums sliding blocks back into an image (col2im), the adjoint of `unfold`: (N, C kH kW, L) ->
 * (N, C, outputSize), overlapping values added.
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.Fold.html
 * @example
 *   const img = F.fold(randn([1, 27, 25]), { outputSize: 5, kernelSize: 3, padding: 1 }) // [1, 3, 5, 5]
 */
export function fold(input: Tensor, opts: FoldOptions): Tensor {
  const [cols, isBatched] = batched('fold', input, 1, 'C kH kW, L')
  const size = tuple('fold', 'outputSize', opts?.outputSize, 2)
  const w = foldWindow('fold', size, opts)
  const K = numel(w.kernel)
  check(cols.shape[1] % K === 0, 'fold', () =>
    `input dim 1 (${cols.shape[1]}) must be divisible by the product of kernelSize ${fmtShape(w.kernel)} (${K}); input ${fmtShape(input.shape)}`)
  checkFits('fold', w, [cols.shape[0], cols.shape[1] / K, ...size])
  const L = numel(blocks(w))
  if (cols.shape[2] !== L) {
    throw new TesseraError(`fold: outputSize ${fmtShape(size)} with kernelSize ${fmtShape(w.kernel)}, stride ${fmtShape(w.stride)}, padding ${fmtShape(w.padBefore)}, dilation ${fmtShape(w.dilation)} gives ${fmtShape(blocks(w))} = ${L} blocks, but input ${fmtShape(input.shape)} has ${cols.shape[2]}`)
  }
  const img = foldRaw(cols, w)
  return isBatched ? img : img.squeeze(0)
}

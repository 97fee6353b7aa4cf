/**
 * @file Gradcheck of every differentiable primitive, driven by the op table.
 *
 * `CASES` is keyed by `OpName`, so `tsc` fails when an op is added to `OPS` without a case; at run
 * time every op must have a case, and every case must route through its op (a node of that name is
 * reachable from the output). Each case compares backward against central differences on small
 * float64 inputs (every element checked). Inputs are kept away from kinks (noted per case), since
 * a difference that straddles a kink measures neither one-sided derivative.
 * The second half checks higher-order gradients: gradcheck of functions that themselves call
 * `backward(..., {createGraph: true})`.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  Generator, Tensor, enableGrad, gradcheck, randint, randn, sub, div, pow, where, cat, gather, scatter, scatterAdd,
  indexSelect, indexAdd, pad, tensor, type GradcheckOptions, type NestedArray,
} from '../../src/index.ts'
import type { Node } from '../../src/autograd.ts'
import { OPS, type OpName } from '../../src/ops/index.ts'
import { sliceScatter } from '../../src/ops/view.ts'
import { assertThrows } from '../helpers.ts'
import { F } from '../../src/index.ts'
import { depthwiseRaw } from '../../src/ops/conv.ts'
import { avgPoolBackwardOp } from '../../src/ops/pool.ts'
import { apply } from '../../src/ops/op.ts'
import { windowAxis } from '../../src/kernels/pool.ts'

import { packDeltaCSR, sparseConv1x1, sparseConv3x3, sparseMatmulCHW, sparseMatmulTransposedOp, sparseSampledMatmulOp } from '../../src/ops/sparse.ts'

/** A (6, 5) weight packed in nr = 4 blocks whose rows keep different columns (union pattern, padded slots). */
const sparseW = packDeltaCSR(randn([6, 5], { dtype: 'float64', generator: new Generator(527) }), { nr: 4, mask: randn([6, 5], { generator: new Generator(528) }).gt(0) })
const sparseArgs = { pattern: sparseW.pattern, min: -Infinity, max: Infinity }
const sparse3 = packDeltaCSR(randn([4, 2, 3, 3], { dtype: 'float64', generator: new Generator(529) }), { nr: 2, mask: randn([4, 2, 3, 3], { generator: new Generator(530) }).gt(0) })

interface Case {
  /** What the case exercises (printed on failure). */
  label: string
  /** Fresh inputs; those that require grad are checked. */
  inputs: () => Tensor[]
  fn: (...xs: Tensor[]) => Tensor
  opts?: GradcheckOptions
}

// ---------------------------------------------------------------- inputs

let nextSeed = 1

/** A float64 leaf of standard normals (optionally mapped first, e.g. away from a kink) that requires grad. */
function rnd(shape: number[], map?: (t: Tensor) => Tensor): Tensor {
  const t = randn(shape, { dtype: 'float64', generator: new Generator(nextSeed++) })
  return (map ? map(t) : t).requiresGrad_()
}

/** A float64 constant (no grad). */
const cst = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: new Generator(nextSeed++) })
const f64 = (data: NestedArray): Tensor => tensor(data, { dtype: 'float64' }).requiresGrad_()
const idx = (data: NestedArray): Tensor => tensor(data, { dtype: 'int32' })
const randIdx = (high: number, shape: number[]): Tensor => randint(0, high, shape, { generator: new Generator(nextSeed++) })

/** |x| + 0.5: strictly positive, for log, sqrt, rsqrt, pow bases. */
const positive = (t: Tensor): Tensor => t.abs().add(0.5)

/**
 * Moves every value closer than `margin` to one of the `kinks` out to kink +- margin, so the
 * central difference (eps = 1e-6) never straddles a kink.
 */
const avoid = (kinks: number[], margin = 0.25) => (t: Tensor): Tensor => {
  const d = t.data()
  for (let i = 0; i < d.length; i++) {
    for (const k of kinks) if (Math.abs(d[i] - k) < margin) d[i] = d[i] >= k ? k + margin : k - margin
  }
  return tensor(Array.from(d), { dtype: t.dtype }).reshape(t.shape)
}

const un = (label: string, fn: (x: Tensor) => Tensor, map?: (t: Tensor) => Tensor, shape = [3, 4]): Case =>
  ({ label, inputs: () => [rnd(shape, map)], fn })
const bin = (label: string, fn: (x: Tensor, y: Tensor) => Tensor, sa: number[], sb: number[], ma?: (t: Tensor) => Tensor, mb?: (t: Tensor) => Tensor): Case =>
  ({ label, inputs: () => [rnd(sa, ma), rnd(sb, mb)], fn })

// ---------------------------------------------------------------- cases

/** Depthwise geometry of the grad-op cases: x (1, 2, 5, 4), w (4, 1, 3, 2), stride 2, padding [1, 0]. */
const DW = { N: 1, C: 2, M: 2, H: 5, W: 4, Ho: 3, Wo: 2, kH: 3, kW: 2, sH: 2, sW: 2, dH: 1, dW: 1, pH: 1, pW: 0 }
/** Average-pool tables of the avgPoolBackward case: a (5, 4) input, kernel [3, 2], stride 2, padding 1 -> (3, 3). */
const AVG = {
  h: windowAxis(5, 3, { kernel: 3, stride: 2, pad: 1, dilation: 1 }, true),
  w: windowAxis(4, 3, { kernel: 2, stride: 2, pad: 1, dilation: 1 }, false),
}

/** Fixed running statistics for the eval-mode batchNorm case (variance kept positive). */
const RM = tensor([0.3, -0.2, 0.1], { dtype: 'float64' })
const RV = tensor([0.5, 1.5, 0.8], { dtype: 'float64' })

/** Attention masks: a padding mask (2, 1, 1, 5) with no fully masked row, and an additive bias (4, 6). */
const PAD = tensor([[true, true, false, true, false], [true, false, true, true, true]]).reshape([2, 1, 1, 5])
const BIAS = tensor([[0, -1, 0.5, 0, -2, 0], [1, 0, 0, -0.5, 0, 0], [0, 0, 0, 0, 0, 0.3], [-1, 2, 0, 0, 0, 0]], { dtype: 'float64' })

const CASES: { [K in OpName]: Case[] } = {
  // ---- unary
  neg: [un('[3,4]', (x) => x.neg()), un('transposed', (x) => x.mT.neg())],
  exp: [un('[3,4]', (x) => x.exp()), un('strided slice', (x) => x.slice(1, 0, undefined, 2).exp(), undefined, [3, 5])],
  // log, sqrt, rsqrt: inputs |x| + 0.5, inside the domain.
  log: [un('positive', (x) => x.log(), positive), un('transposed', (x) => x.mT.log(), positive)],
  log1p: [un('x > -1', (x) => x.log1p(), (t) => t.abs())],
  expm1: [un('[3,4]', (x) => x.expm1())],
  sqrt: [un('positive', (x) => x.sqrt(), positive), un('transposed', (x) => x.mT.sqrt(), positive)],
  rsqrt: [un('positive', (x) => x.rsqrt(), positive)],
  // reciprocal: pole at 0, inputs kept |x| >= 0.5
  reciprocal: [un('away from 0', (x) => x.reciprocal(), avoid([0], 0.5))],
  // abs, sign, relu, leakyRelu, elu: kink at 0
  abs: [un('away from 0', (x) => x.abs(), avoid([0])), un('transposed', (x) => x.mT.abs(), avoid([0]))],
  sign: [un('away from 0 (gradient 0)', (x) => x.sign(), avoid([0]))],
  sin: [un('[3,4]', (x) => x.sin())],
  cos: [un('[3,4]', (x) => x.cos())],
  tanh: [un('[3,4]', (x) => x.tanh()), un('[2,3,4] permuted', (x) => x.permute([2, 0, 1]).tanh(), undefined, [2, 3, 4])],
  sigmoid: [un('[3,4]', (x) => x.sigmoid())],
  erf: [un('[3,4]', (x) => x.erf())],
  relu: [un('away from 0', (x) => x.relu(), avoid([0])), un('transposed', (x) => x.mT.relu(), avoid([0]))],
  leakyRelu: [un('slope 0.1, away from 0', (x) => x.leakyRelu(0.1), avoid([0]))],
  elu: [un('alpha 1.5, away from 0', (x) => x.elu(1.5), avoid([0]))],
  gelu: [un('[3,4]', (x) => x.gelu())],
  geluTanh: [un('[3,4]', (x) => x.gelu('tanh'))],
  silu: [un('[3,4]', (x) => x.silu())],
  // softplus switches to the identity where beta x > threshold: keep x away from threshold / beta
  softplus: [un('default', (x) => x.softplus()), un('beta 2, threshold 1, away from 0.5', (x) => x.softplus(2, 1), avoid([0.5]))],
  // clamp: kinks at the bounds
  clamp: [
    un('[-0.5, 0.5], away from the bounds', (x) => x.clamp(-0.5, 0.5), avoid([-0.5, 0.5], 0.1)),
    un('min only', (x) => x.clamp(0.2), avoid([0.2], 0.1)),
    un('max only, transposed', (x) => x.mT.clamp(null, 0), avoid([0], 0.1)),
  ],
  powScalar: [
    un('x^3', (x) => x.pow(3)),
    un('x^2.5, positive', (x) => x.pow(2.5), positive),
    un('x^-1.5, positive', (x) => x.pow(-1.5), positive),
    un('x^0 (gradient 0)', (x) => x.pow(0)),
  ],

  // ---- binary (broadcasting, scalars, 0-d tensors, non-contiguous)
  add: [
    bin('same shape', (x, y) => x.add(y), [3, 4], [3, 4]),
    bin('broadcast [3,1] + [4]', (x, y) => x.add(y), [3, 1], [4]),
    bin('alpha 2', (x, y) => x.add(y, 2), [3, 4], [4]),
    bin('0-d + [2,3]', (x, y) => x.add(y), [], [2, 3]),
    bin('transposed + row', (x, y) => x.mT.add(y), [4, 3], [1, 4]),
    un('tensor + number', (x) => x.add(2.5)),
  ],
  sub: [
    bin('broadcast [2,3,4] - [3,1]', (x, y) => x.sub(y), [2, 3, 4], [3, 1]),
    un('number - tensor', (x) => sub(2, x)),
  ],
  mul: [
    bin('broadcast [2,1,4] * [3,1]', (x, y) => x.mul(y), [2, 1, 4], [3, 1]),
    un('x * x (same tensor twice)', (x) => x.mul(x)),
    bin('strided slice * transposed', (x, y) => x.slice(0, 0, undefined, 2).mul(y.mT), [5, 3], [3, 3]),
  ],
  // div: denominators kept |y| >= 0.5
  div: [
    bin('broadcast [3,4] / [4]', (x, y) => x.div(y), [3, 4], [4], undefined, avoid([0], 0.5)),
    bin('broadcast [3,1] / [2,1,4]', (x, y) => x.div(y), [3, 1], [2, 1, 4], undefined, avoid([0], 0.5)),
    un('number / tensor', (x) => div(1.5, x), avoid([0], 0.5)),
  ],
  // pow: positive bases (the exponent gradient takes log a)
  pow: [
    bin('positive base, broadcast [3,4] ** [4]', (x, y) => x.pow(y), [3, 4], [4], positive),
    bin('[3,1] ** [2,1,4]', (x, y) => x.pow(y), [3, 1], [2, 1, 4], positive),
    un('number ** tensor', (x) => pow(2, x)),
  ],
  // maximum, minimum: independent normals never tie; the scalar case keeps x away from 0.3
  maximum: [
    bin('broadcast [3,1] vs [4]', (x, y) => x.maximum(y), [3, 1], [4]),
    bin('transposed vs [3,4]', (x, y) => x.mT.maximum(y), [4, 3], [3, 4]),
    un('vs number 0.3', (x) => x.maximum(0.3), avoid([0.3], 0.1)),
  ],
  minimum: [
    bin('broadcast [2,3,1] vs [3,4]', (x, y) => x.minimum(y), [2, 3, 1], [3, 4]),
    un('vs number 0.3', (x) => x.minimum(0.3), avoid([0.3], 0.1)),
  ],
  where: [
    { label: 'broadcast cond [3,1], a [3,4], b [4]', inputs: () => [cst([3, 1]).gt(0), rnd([3, 4]), rnd([4])], fn: (c, x, y) => where(c, x, y) },
    { label: 'b a number', inputs: () => [cst([3, 4]).gt(0), rnd([3, 4])], fn: (c, x) => where(c, x, 0.5) },
    { label: 'method form, transposed', inputs: () => [cst([3, 4]).gt(0), rnd([4, 3]), rnd([3, 4])], fn: (c, x, y) => x.mT.where(c, y) },
  ],

  // ---- reductions (all dims, one dim, several dims, keepdim, non-contiguous)
  sum: [
    un('all', (x) => x.sum()),
    un('dim 1', (x) => x.sum(1)),
    un('dims [0,2] keepdim', (x) => x.sum([0, 2], true), undefined, [2, 3, 4]),
    un('dim -1 of permuted', (x) => x.permute([1, 2, 0]).sum(-1), undefined, [2, 3, 4]),
    un('dims [0,1] of transposed (no single run)', (x) => x.transpose(0, 2).sum([0, 1]), undefined, [2, 3, 4]),
  ],
  mean: [
    un('all', (x) => x.mean()),
    un('dims [0,2]', (x) => x.mean([0, 2]), undefined, [2, 3, 4]),
    un('dim -1 keepdim of transposed', (x) => x.mT.mean(-1, true)),
  ],
  // prod: multilinear, so central differences are exact even at the zeros
  prod: [
    un('dim 1', (x) => x.prod(1)),
    un('all', (x) => x.prod(), undefined, [2, 3]),
    un('dims [0,2] keepdim', (x) => x.prod([0, 2], true), undefined, [2, 2, 3]),
    { label: 'with zeros (one and two per row)', inputs: () => [f64([[1.5, 0, -2, 0.5], [0, 2, 0, 1.25], [0.5, -1, 2, 3]])], fn: (x) => x.prod(1) },
    un('dim 0 of transposed', (x) => x.mT.prod(0)),
  ],
  // amax, amin: no ties in independent normals (the gradient is split at ties)
  amax: [
    un('dim 1', (x) => x.amax(1)),
    un('dims [0,2] keepdim', (x) => x.amax([0, 2], true), undefined, [2, 3, 4]),
    un('all, transposed', (x) => x.mT.amax()),
  ],
  amin: [
    un('dim 0', (x) => x.amin(0)),
    un('dims [1,2]', (x) => x.amin([1, 2]), undefined, [2, 3, 4]),
  ],
  logsumexp: [
    un('dim 1', (x) => x.logsumexp(1)),
    un('dims [0,2] keepdim', (x) => x.logsumexp([0, 2], true), undefined, [2, 3, 4]),
    un('all of transposed', (x) => x.mT.logsumexp()),
  ],
  var: [
    un('dim 1 (unbiased)', (x) => x.var(1)),
    un('dims [0,2] correction 0 keepdim', (x) => x.var([0, 2], { correction: 0, keepdim: true }), undefined, [2, 3, 4]),
    un('all of transposed', (x) => x.mT.var()),
  ],
  cumsum: [
    un('dim 1', (x) => x.cumsum(1)),
    un('dim 0', (x) => x.cumsum(0)),
    un('dim -1 of transposed', (x) => x.mT.cumsum(-1), undefined, [2, 3, 4]),
    un('1-D', (x) => x.cumsum(0), undefined, [5]),
    un('contiguous view at an offset', (x) => x.slice(0, 1).cumsum(1)),
  ],

  // ---- layout
  reshape: [
    un('view-able', (x) => x.reshape([4, 3])),
    un('transposed -> copy', (x) => x.mT.reshape([-1])),
    un('view()', (x) => x.view([2, 6])),
    un('unsqueeze / flatten', (x) => x.unsqueeze(1).flatten(0, 1), undefined, [2, 3, 4]),
  ],
  permute: [un('[2,0,1]', (x) => x.permute([2, 0, 1]), undefined, [2, 3, 4]), un('mT', (x) => x.mT)],
  expand: [
    un('[3,1] -> [2,3,4]', (x) => x.expand([2, 3, 4]), undefined, [3, 1]),
    un('[4] -> [3,4] (-1 keeps a dim)', (x) => x.expand([3, -1]), undefined, [4]),
  ],
  slice: [
    un('step 2', (x) => x.slice(1, 1, 6, 2), undefined, [3, 7]),
    un('negative start', (x) => x.slice(0, -2)),
    un('step 3 of transposed', (x) => x.mT.slice(1, 0, undefined, 3), undefined, [7, 2]),
    un('narrow / select', (x) => x.narrow(1, 1, 2).select(0, 2)),
  ],
  sliceScatter: [
    un('dim 1, start 1, step 2', (g) => sliceScatter(g, [3, 7], { dim: 1, start: 1, step: 2, length: 3 }), undefined, [3, 3]),
    un('dim 0, transposed source', (g) => sliceScatter(g.mT, [5, 3], { dim: 0, start: 0, step: 3, length: 2 }), undefined, [3, 2]),
  ],
  copy: [un('clone', (x) => x.clone()), un('contiguous() of transposed', (x) => x.mT.contiguous())],
  // float64 -> float32 -> float64 rounds to float32: eps 1e-3 and loose tolerances (error ~ ulp32 / eps)
  cast: [
    { label: 'float64 -> float32 -> float64', inputs: () => [rnd([3, 4])], fn: (x) => x.to('float32').to('float64').mul(x), opts: { eps: 1e-3, atol: 1e-3, rtol: 1e-3 } },
    {
      label: 'float32 leaf -> float64',
      inputs: () => [randn([3, 4], { generator: new Generator(nextSeed++) }).requiresGrad_()],
      fn: (x) => x.to('float64').tanh(),
    },
  ],

  // ---- matmul
  matmul: [
    bin('[3,4] @ [4,2]', (x, y) => x.matmul(y), [3, 4], [4, 2]),
    bin('[4] @ [4,3]', (x, y) => x.matmul(y), [4], [4, 3]),
    bin('[3,4] @ [4]', (x, y) => x.matmul(y), [3, 4], [4]),
    bin('[4] @ [4]', (x, y) => x.matmul(y), [4], [4]),
    bin('batched broadcast [2,1,3,4] @ [3,4,2]', (x, y) => x.matmul(y), [2, 1, 3, 4], [3, 4, 2]),
    bin('[3,4] @ [2,4,5] (2-D times batch)', (x, y) => x.matmul(y), [3, 4], [2, 4, 5]),
    bin('transposed operands', (x, y) => x.mT.matmul(y.mT), [4, 3], [2, 4]),
  ],

  // ---- softmax
  softmax: [
    un('dim -1', (x) => x.softmax(-1)),
    un('dim 0', (x) => x.softmax(0)),
    un('middle dim of permuted', (x) => x.permute([2, 0, 1]).softmax(1), undefined, [2, 3, 4]),
    un('contiguous view at an offset', (x) => x.slice(0, 1).softmax(-1)),
  ],
  logSoftmax: [
    un('dim -1', (x) => x.logSoftmax(-1)),
    un('dim 1 of [2,3,4]', (x) => x.logSoftmax(1), undefined, [2, 3, 4]),
    un('dim 0 of transposed', (x) => x.mT.logSoftmax(0)),
  ],

  // ---- indexing (int32 index tensors)
  gather: [
    { label: 'dim 1, repeats', inputs: () => [rnd([3, 4]), randIdx(4, [3, 5])], fn: (x, i) => gather(x, 1, i) },
    { label: 'dim 0, index smaller than x', inputs: () => [rnd([3, 4]), randIdx(3, [2, 2])], fn: (x, i) => x.gather(0, i) },
    { label: 'transposed x', inputs: () => [rnd([4, 3]), randIdx(4, [3, 2])], fn: (x, i) => x.mT.gather(1, i) },
  ],
  // scatter: indices unique along dim, so no src element is overwritten (the src gradient of an
  // overwritten element is ill-defined, as in PyTorch)
  scatter: [
    { label: 'dim 1, x and src', inputs: () => [rnd([3, 5]), idx([[4, 0, 2], [1, 3, 0], [2, 4, 1]]), rnd([3, 3])], fn: (x, i, s) => scatter(x, 1, i, s) },
    { label: 'dim 0, transposed src', inputs: () => [rnd([4, 3]), idx([[3, 0, 1], [1, 2, 3]]), rnd([3, 2])], fn: (x, i, s) => x.scatter(0, i, s.mT) },
    { label: 'number src', inputs: () => [rnd([3, 5]), idx([[4, 0], [1, 3], [2, 2]])], fn: (x, i) => scatter(x, 1, i, 2.5) },
  ],
  scatterAdd: [
    { label: 'dim 1, repeats accumulate', inputs: () => [rnd([3, 4]), randIdx(4, [3, 6]), rnd([3, 6])], fn: (x, i, s) => scatterAdd(x, 1, i, s) },
    { label: 'dim 0, transposed x', inputs: () => [rnd([3, 4]), randIdx(4, [2, 3]), rnd([2, 3])], fn: (x, i, s) => x.mT.scatterAdd(0, i, s) },
  ],
  indexSelect: [
    { label: 'dim 0, repeats', inputs: () => [rnd([3, 4]), idx([2, 0, 2])], fn: (x, i) => indexSelect(x, 0, i) },
    { label: 'dim 1 of transposed', inputs: () => [rnd([4, 3]), idx([3, 1])], fn: (x, i) => x.mT.indexSelect(1, i) },
    { label: 'contiguous x at an offset', inputs: () => [rnd([4, 3]), idx([2, 0])], fn: (x, i) => x.slice(0, 1).indexSelect(0, i) },
    { label: 'index is a prefix view of a longer tensor', inputs: () => [rnd([4, 2]), idx([1, 3, 0, 2]).slice(0, 0, 2)], fn: (x, i) => x.indexSelect(0, i) },
  ],
  indexAdd: [
    { label: 'dim 0, repeats', inputs: () => [rnd([5, 3]), idx([0, 2, 2, 4]), rnd([4, 3])], fn: (x, i, s) => indexAdd(x, 0, i, s) },
    { label: 'dim 1, transposed src', inputs: () => [rnd([3, 4]), idx([3, 0]), rnd([2, 3])], fn: (x, i, s) => x.indexAdd(1, i, s.mT) },
  ],
  cat: [
    { label: 'dim 0, three inputs', inputs: () => [rnd([2, 3]), rnd([1, 3]), rnd([3, 3])], fn: (x, y, z) => cat([x, y, z], 0) },
    { label: 'dim 1, one input without grad', inputs: () => [rnd([2, 3]), cst([2, 2])], fn: (x, y) => cat([x, y], 1) },
    { label: 'dim -1, transposed input', inputs: () => [rnd([3, 2]), rnd([2, 4])], fn: (x, y) => cat([x.mT, y], -1) },
  ],
  pad: [
    un('last dim [1,2]', (x) => pad(x, [1, 2])),
    un('two dims, value 0.5', (x) => pad(x, [1, 0, 0, 2], 0.5)),
    un('all dims of transposed', (x) => pad(x.mT, [0, 1, 2, 1]), undefined, [3, 2]),
  ],
  flip: [un('dim 0', (x) => x.flip(0)), un('dims [0,1]', (x) => x.flip([0, 1])), un('dim -1 of transposed', (x) => x.mT.flip(-1))],

  // ---- convolution: conv = unfold -> matmul, transposed conv = matmul -> fold; depthwise is direct
  unfold: [
    un('F.unfold kernel [2,3] padding 1 stride [2,1] dilation [1,2]', (x) => F.unfold(x, { kernelSize: [2, 3], padding: 1, stride: [2, 1], dilation: [1, 2] }), undefined, [2, 2, 4, 5]),
    un('F.unfold of a transposed input', (x) => F.unfold(x.transpose(2, 3), { kernelSize: 2 }), undefined, [1, 2, 4, 3]),
    bin('conv1d stride 2 padding 1', (x, w) => F.conv1d(x, w, null, { stride: 2, padding: 1 }), [2, 3, 7], [2, 3, 3]),
    bin("conv2d groups 2 padding 'same' (even kernel)", (x, w) => F.conv2d(x, w, null, { groups: 2, padding: 'same' }), [1, 4, 4, 3], [2, 2, 2, 2]),
    bin('conv3d padding 1 stride 2', (x, w) => F.conv3d(x, w, null, { padding: 1, stride: 2 }), [1, 2, 3, 3, 3], [2, 2, 2, 2, 2]),
  ],
  fold: [
    un('F.fold overlapping blocks', (c) => F.fold(c, { outputSize: [3, 4], kernelSize: 2 }), undefined, [1, 8, 6]),
    bin('convTranspose2d stride 2 padding 1 outputPadding 1 groups 2', (x, w) => F.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1, groups: 2 }), [1, 4, 2, 3], [4, 1, 3, 3]),
    bin('convTranspose1d dilation 2 outputPadding 1 (negative padding after)', (x, w) => F.convTranspose1d(x, w, null, { dilation: 2, outputPadding: 1 }), [2, 2, 4], [2, 3, 2]),
  ],
  depthwiseConv2d: [
    { label: 'conv2d groups = C, multiplier 2, stride 2, padding 1, bias', inputs: () => [rnd([2, 2, 5, 4]), rnd([4, 1, 3, 3]), rnd([4])], fn: (x, w, b) => F.conv2d(x, w, b, { groups: 2, stride: 2, padding: 1 }) },
    bin("dilation 2, padding 'same', transposed input", (x, w) => F.conv2d(x.transpose(2, 3), w, null, { groups: 3, dilation: 2, padding: 'same' }), [1, 3, 5, 6], [3, 1, 3, 3]),
  ],
  depthwiseConv2dGradInput: [{ label: 'dy and w', inputs: () => [rnd([1, 4, 3, 2]), rnd([4, 1, 3, 2])], fn: (dy, w) => depthwiseRaw.gradInput(dy, w, DW) }],
  depthwiseConv2dGradWeight: [{ label: 'x and dy', inputs: () => [rnd([1, 2, 5, 4]), rnd([1, 4, 3, 2])], fn: (x, dy) => depthwiseRaw.gradWeight(x, dy, DW) }],
  // maxPool: independent normals never tie, so eps never moves an argmax
  maxPool: [
    un('maxPool2d k3 s2 p1 ceilMode dilation [1,2]', (x) => F.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, dilation: [1, 2] }), undefined, [1, 2, 6, 7]),
    un('maxPool1d k2 stride 1 (overlapping windows), transposed input', (x) => F.maxPool1d(x.mT, { kernelSize: 2, stride: 1 }), undefined, [2, 5, 3]),
    un('adaptiveMaxPool2d [2,3] of [5,4]', (x) => F.adaptiveMaxPool2d(x, [2, 3]), undefined, [2, 1, 5, 4]),
  ],
  avgPool: [
    un('avgPool2d k3 s2 p1 ceilMode, no countIncludePad', (x) => F.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), undefined, [1, 2, 6, 5]),
    un('avgPool1d k3 padding 1, divisor includes padding', (x) => F.avgPool1d(x, { kernelSize: 3, padding: 1 }), undefined, [2, 2, 5]),
    un('adaptiveAvgPool2d [3,2] of [5,7], transposed input', (x) => F.adaptiveAvgPool2d(x.transpose(2, 3), [3, 2]), undefined, [1, 2, 7, 5]),
  ],
  avgPoolBackward: [un('the adjoint applied directly', (g) => apply(avgPoolBackwardOp, [g], AVG), undefined, [1, 2, 3, 3])],

  // ---- normalisation (fused forward and backward kernels; eps 1e-5 keeps rstd smooth)
  layerNorm: [
    { label: 'last dim, weight and bias', inputs: () => [rnd([3, 4]), rnd([4]), rnd([4])], fn: (x, w, b) => F.layerNorm(x, [4], w, b) },
    un('two trailing dims of a transposed input, no affine', (x) => F.layerNorm(x.mT, [4, 3]), undefined, [2, 3, 4]),
    bin('three trailing dims, weight only', (x, w) => F.layerNorm(x, [2, 2, 3], w), [2, 2, 2, 3], [2, 2, 3]),
  ],
  rmsNorm: [
    bin('last dim with weight', (x, w) => F.rmsNorm(x, [5], w), [3, 5], [5]),
    un('two dims, no weight, default eps, slice at an offset', (x) => F.rmsNorm(x.slice(0, 1), [3, 4]), undefined, [3, 3, 4]),
  ],
  groupNorm: [
    { label: '(2, 6, 3), 3 groups, weight and bias', inputs: () => [rnd([2, 6, 3]), rnd([6]), rnd([6])], fn: (x, w, b) => F.groupNorm(x, 3, w, b) },
    { label: '(2, 4, 2, 3) permuted, 2 groups, bias only', inputs: () => [rnd([2, 3, 4, 2]), rnd([4])], fn: (x, b) => F.groupNorm(x.permute([0, 2, 3, 1]), 2, null, b) },
    un('(3, 4), one group per channel, no affine', (x) => F.groupNorm(x, 4), undefined, [3, 4]),
  ],
  batchNorm: [
    { label: 'training (4, 3) with affine and running stats', inputs: () => [rnd([4, 3]), rnd([3]), rnd([3])], fn: (x, w, b) => F.batchNorm(x, cst([3]), cst([3]).abs(), w, b, { training: true }) },
    un('training (2, 3, 4), no affine, no running stats, transposed input', (x) => F.batchNorm(x.transpose(0, 2).transpose(1, 2), null, null, null, null, { training: true }), undefined, [4, 2, 3]),
    { label: 'eval (2, 3, 2, 2) with running stats and affine', inputs: () => [rnd([2, 3, 2, 2]), rnd([3]), rnd([3])], fn: (x, w, b) => F.batchNorm(x, RM, RV, w, b) },
  ],

  // ---- attention (fused FlashAttention-2 kernels; the backward recomputes score tiles)
  selectiveScan: [
    { label: 'u, delta, A, B, C (2, 2, 5) N=3', inputs: () => [rnd([2, 2, 5]), rnd([2, 2, 5], (t) => t.abs()), rnd([2, 3], (t) => t.abs().neg()), rnd([2, 3, 5]), rnd([2, 3, 5])], fn: (u, d, A, B, C) => F.selectiveScan(u, d, A, B, C) },
    { label: 'grouped G=2 with D, z, deltaBias, softplus', inputs: () => [rnd([1, 4, 4]), rnd([1, 4, 4]), rnd([4, 2], (t) => t.abs().neg()), rnd([1, 2, 2, 4]), rnd([1, 2, 2, 4]), rnd([4]), rnd([1, 4, 4]), rnd([4])], fn: (u, d, A, B, C, D, z, b) => F.selectiveScan(u, d, A, B, C, { D, z, deltaBias: b, deltaSoftplus: true }) },
  ],
  // NOTE: only the clipped region is gradchecked: inside the range the straight-through gradient is
  // deliberately not the true (zero) derivative of rounding.
  fakeQuant: [{ label: 'all clipped, 3 bits, scale 0.5 (STE = true gradient 0)', inputs: () => [tensor([3.3, -4.7, 10, -9], { dtype: 'float64' }).requiresGrad_(true)], fn: (x) => F.fakeQuant(x, { bits: 3, scale: 0.5 }) }],
  lsq: [{ label: 'all clipped, per tensor, gradScale 1', inputs: () => [tensor([3, -3, 5, -4.5, 2.2], { dtype: 'float64' }).requiresGrad_(true), tensor([0.5], { dtype: 'float64' }).requiresGrad_(true)], fn: (x, s) => F.lsq(x, s, { bits: 3, gradScale: 1 }) }],
  lsqPlus: [{ label: 'all clipped, per tensor, gradScale 1', inputs: () => [tensor([3, -3, 5, -4.5, 2.2], { dtype: 'float64' }).requiresGrad_(true), tensor([0.5], { dtype: 'float64' }).requiresGrad_(true), tensor([0.1], { dtype: 'float64' }).requiresGrad_(true)], fn: (x, s, b) => F.lsqPlus(x, s, b, { bits: 2, gradScale: 1 }) }],
  sparseMatmul: [
    { label: 'x (2,5,3), kept values of union-padded nr 4 blocks, bias', inputs: () => [rnd([2, 5, 3]), sparseW.values.detach().requiresGrad_(), rnd([6])], fn: (x, v, b) => sparseMatmulCHW(x, { pattern: sparseW.pattern, values: v }, b) },
    { label: 'sparseConv1x1 x (2,5,2,2)', inputs: () => [rnd([2, 5, 2, 2]), sparseW.values.detach().requiresGrad_()], fn: (x, v) => sparseConv1x1(x, { pattern: sparseW.pattern, values: v }) },
    { label: 'sparseConv3x3 stride 2 x (1,2,5,4)', inputs: () => [rnd([1, 2, 5, 4]), sparse3.values.detach().requiresGrad_()], fn: (x, v) => sparseConv3x3(x, { pattern: sparse3.pattern, values: v }, null, { stride: 2 }) },
  ],
  sparseMatmulTransposed: [{ label: 'dy (2,6,3), values', inputs: () => [rnd([2, 6, 3]), sparseW.values.detach().requiresGrad_()], fn: (dy, v) => apply(sparseMatmulTransposedOp, [dy, v], sparseArgs) }],
  sparseSampledMatmul: [{ label: 'dy (2,6,3), x (2,5,3)', inputs: () => [rnd([2, 6, 3]), rnd([2, 5, 3])], fn: (dy, x) => apply(sparseSampledMatmulOp, [dy, x], sparseArgs) }],
  causalConv1dLong: [
    { label: 'direct: u (2, 2, 7), k (2, 4)', inputs: () => [rnd([2, 2, 7]), rnd([2, 4])], fn: (u, k) => F.causalConv1dLong(u, k, 'direct') },
    { label: 'fft: u (1, 2, 9), k (2, 9)', inputs: () => [rnd([1, 2, 9]), rnd([2, 9])], fn: (u, k) => F.fftConv(u, k) },
  ],
  scaledDotProductAttention: [
    { label: '(2, 5, 4) x (2, 6, 4) x (2, 6, 3)', inputs: () => [rnd([2, 5, 4]), rnd([2, 6, 4]), rnd([2, 6, 3])], fn: (q, k, v) => F.scaledDotProductAttention(q, k, v) },
    { label: 'causal, L > S, scale 0.7, transposed q', inputs: () => [rnd([1, 3, 7]), rnd([1, 5, 3]), rnd([1, 5, 2])], fn: (q, k, v) => F.scaledDotProductAttention(q.mT, k, v, { isCausal: true, scale: 0.7 }) },
    { label: 'bool padding mask (2,1,1,S), k and v shared across heads', inputs: () => [rnd([2, 2, 3, 4]), rnd([2, 1, 5, 4]), rnd([2, 1, 5, 2])], fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: PAD }) },
    { label: 'float mask (L, S)', inputs: () => [rnd([4, 3]), rnd([6, 3]), rnd([6, 2])], fn: (q, k, v) => F.scaledDotProductAttention(q, k, v, { attnMask: BIAS }) },
  ],
}

// ---------------------------------------------------------------- first order, per op

/** Names of every node reachable from the output's grad function. */
function graphNames(out: Tensor): Set<string> {
  const names = new Set<string>()
  const seen = new Set<Node>()
  const stack: Node[] = out.gradFn ? [out.gradFn] : []
  while (stack.length > 0) {
    const node = stack.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    names.add(node.name)
    for (const n of node.next) if (n) stack.push(n)
  }
  return names
}

function runCase(op: string, c: Case): void {
  const inputs = c.inputs()
  const names = graphNames(c.fn(...inputs))
  assert.ok(names.has(op), `${op} / ${c.label}: no ${op} node in the output's graph (found ${[...names].join(', ') || 'none'})`)
  try {
    gradcheck(c.fn, inputs, c.opts)
  } catch (err) {
    assert.unreachable(`${op} / ${c.label}: ${(err as Error).message}`)
  }
}

test('every op in OPS has a gradcheck case, and every case names an op', () => {
  const ops = Object.keys(OPS).sort()
  assert.equal(Object.keys(CASES).sort(), ops)
  for (const op of ops) assert.ok(CASES[op as OpName].length > 0, `${op} has no gradcheck case`)
})

for (const op of Object.keys(OPS) as OpName[]) {
  test(`gradcheck ${op}`, () => {
    for (const c of CASES[op]) runCase(op, c)
  })
}

// ---------------------------------------------------------------- higher order

/**
 * d loss(...xs) / d xs[k] as a differentiable tensor (backward with createGraph), leaving every
 * input's `.grad` as it was. Grad mode is forced on so that gradcheck can evaluate it under noGrad.
 */
function gradOf(loss: (...xs: Tensor[]) => Tensor, xs: Tensor[], k = 0): Tensor {
  return enableGrad(() => {
    const before = xs.map((t) => t.grad)
    for (const t of xs) t.grad = null
    loss(...xs).backward(undefined, { createGraph: true })
    const g = xs[k].grad
    xs.forEach((t, i) => { t.grad = before[i] })
    assert.ok(g !== null, 'gradOf: no gradient reached the input')
    return g
  })
}

test('second order: elementwise (d/dx of sum(tanh(x)^2)), against the closed form', () => {
  const x = rnd([3, 4])
  const g = gradOf((x) => x.tanh().pow(2).sum(), [x])
  // d/dx tanh^2 = 2 tanh (1 - tanh^2)
  const t = x.detach().tanh()
  const expected = t.mul(t.mul(t).neg().add(1)).mul(2).data()
  const got = g.data()
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-12, `element ${i}: ${got[i]} vs ${expected[i]}`)
  gradcheck((x) => gradOf((x) => x.tanh().pow(2).sum(), [x]), [x])
})

test('second order: elementwise chain of two inputs (sigmoid, exp, mul, div, broadcast)', () => {
  const loss = (x: Tensor, y: Tensor): Tensor => x.sigmoid().mul(y.exp()).div(x.mul(x).add(1)).sum()
  const x = rnd([3, 4]), y = rnd([4])
  gradcheck((x, y) => gradOf(loss, [x, y], 0), [x, y])
  gradcheck((x, y) => gradOf(loss, [x, y], 1), [x, y])
})

test('second order: matmul', () => {
  const loss = (a: Tensor, b: Tensor): Tensor => a.matmul(b).pow(2).sum()
  const a = rnd([3, 4]), b = rnd([4, 2])
  gradcheck((a, b) => gradOf(loss, [a, b], 0), [a, b])
  gradcheck((a, b) => gradOf(loss, [a, b], 1), [a, b])
  const a3 = rnd([2, 3, 4]), b3 = rnd([4, 2])
  gradcheck((a, b) => gradOf((a, b) => a.matmul(b).tanh().sum(), [a, b], 1), [a3, b3])
})

test('second order: softmax and logSoftmax', () => {
  const w = cst([3, 4])
  const x = rnd([3, 4])
  gradcheck((x) => gradOf((x) => x.softmax(-1).mul(w).sum(), [x]), [x])
  gradcheck((x) => gradOf((x) => x.logSoftmax(0).mul(w).sum(), [x]), [x])
})

test('second order: reductions (sum, mean, logsumexp, var, amax, cumsum)', () => {
  const x = rnd([3, 4])
  gradcheck((x) => gradOf((x) => x.sum(1).pow(2).sum(), [x]), [x])
  gradcheck((x) => gradOf((x) => x.mean(0, true).exp().sum(), [x]), [x])
  gradcheck((x) => gradOf((x) => x.logsumexp(1).sum(), [x]), [x])
  gradcheck((x) => gradOf((x) => x.var(1).pow(2).sum(), [x]), [x])
  // amax's gradient is piecewise constant in x, its own gradient comes through the outer tanh
  gradcheck((x) => gradOf((x) => x.amax(1).tanh().sum(), [x]), [x])
  gradcheck((x) => gradOf((x) => x.cumsum(1).pow(2).sum(), [x]), [x])
})

test('second order: layout and index ops (permute, slice, cat, gather, indexSelect, pad, flip)', () => {
  const x = rnd([3, 4])
  const i = randIdx(4, [3, 2])
  const loss = (x: Tensor): Tensor =>
    cat([x.mT.slice(0, 0, undefined, 2), x.flip(0).mT.slice(0, 1, undefined, 2)], 0).pow(2).sum()
      .add(x.gather(1, i).pow(3).sum()).add(pad(x.indexSelect(0, idx([2, 0])), [1, 1]).sin().sum())
  gradcheck((x) => gradOf(loss, [x]), [x])
})

test('third order: d^3/dx^3 of sum(tanh(x)^3)', () => {
  const x = rnd([2, 3])
  const second = (x: Tensor): Tensor => gradOf((x) => gradOf((x) => x.tanh().pow(3).sum(), [x]).sum(), [x])
  gradcheck(second, [x])
})

test('second order: conv2d through unfold -> matmul -> fold, both inputs', () => {
  const loss = (x: Tensor, w: Tensor): Tensor => F.conv2d(x, w, null, { stride: 2, padding: 1 }).tanh().sum()
  const x = rnd([1, 2, 5, 4]), w = rnd([3, 2, 3, 3])
  gradcheck((x, w) => gradOf(loss, [x, w], 0), [x, w])
  gradcheck((x, w) => gradOf(loss, [x, w], 1), [x, w])
})

test('second order: depthwise conv2d, convTranspose1d, maxPool2d and avgPool2d', () => {
  const dw = (x: Tensor, w: Tensor): Tensor => F.conv2d(x, w, null, { groups: 2, padding: 1 }).pow(2).sum()
  const x = rnd([1, 2, 4, 3]), w = rnd([4, 1, 2, 2])
  gradcheck((x, w) => gradOf(dw, [x, w], 0), [x, w])
  gradcheck((x, w) => gradOf(dw, [x, w], 1), [x, w])
  const tr = (x: Tensor, w: Tensor): Tensor => F.convTranspose1d(x, w, null, { stride: 2, outputPadding: 1 }).sin().sum()
  const xt = rnd([1, 2, 3]), wt = rnd([2, 2, 3])
  gradcheck((x, w) => gradOf(tr, [x, w], 1), [xt, wt])
  const xp = rnd([1, 1, 4, 5])
  gradcheck((x) => gradOf((x) => F.maxPool2d(x, { kernelSize: 2, stride: 1 }).pow(3).sum(), [x]), [xp])
  gradcheck((x) => gradOf((x) => F.avgPool2d(x, { kernelSize: 3, padding: 1, stride: 2 }).exp().sum(), [x]), [xp])
})

test('second order: layerNorm (composite backward under createGraph), each of x, weight, bias', () => {
  const loss = (x: Tensor, w: Tensor, b: Tensor): Tensor => F.layerNorm(x, [4], w, b).tanh().pow(2).sum()
  const x = rnd([3, 4]), w = rnd([4]), b = rnd([4])
  for (let k = 0; k < 3; k++) gradcheck((x, w, b) => gradOf(loss, [x, w, b], k), [x, w, b])
})

test('second order: rmsNorm, groupNorm, batchNorm (training and eval)', () => {
  const x = rnd([4, 6]), w = rnd([6]), w3 = rnd([3])
  gradcheck((x, w) => gradOf((x, w) => F.rmsNorm(x, [6], w).sin().sum(), [x, w], 0), [x, w])
  gradcheck((x, w) => gradOf((x, w) => F.rmsNorm(x, [6], w).sin().sum(), [x, w], 1), [x, w])
  gradcheck((x) => gradOf((x) => F.groupNorm(x.reshape([2, 6, 2]), 3).pow(3).sum(), [x]), [x])
  const x3 = rnd([4, 3, 2])
  gradcheck((x, w) => gradOf((x, w) => F.batchNorm(x, null, null, w, null, { training: true }).pow(3).sum(), [x, w], 0), [x3, w3])
  gradcheck((x, w) => gradOf((x, w) => F.batchNorm(x, RM, RV, w, null).pow(3).sum(), [x, w], 1), [x3, w3])
})

test('second order: scaledDotProductAttention (composite backward under createGraph), each of q, k, v', () => {
  const loss = (q: Tensor, k: Tensor, v: Tensor): Tensor => F.scaledDotProductAttention(q, k, v, { isCausal: true }).pow(2).sum()
  const q = rnd([1, 4, 3]), k = rnd([1, 5, 3]), v = rnd([1, 5, 2])
  for (let i = 0; i < 3; i++) gradcheck((q, k, v) => gradOf(loss, [q, k, v], i), [q, k, v])
  const masked = (q: Tensor, k: Tensor, v: Tensor): Tensor => F.scaledDotProductAttention(q, k, v, { attnMask: BIAS.slice(1, 0, 5) }).tanh().sum()
  gradcheck((q, k, v) => gradOf(masked, [q, k, v], 0), [q.select(0, 0).detach().requiresGrad_(), k.select(0, 0).detach().requiresGrad_(), v.select(0, 0).detach().requiresGrad_()])
})

test('prod is first-order only: its backward under createGraph throws a TesseraError', () => {
  const x = rnd([3, 4])
  assertThrows(() => x.prod(1).sum().backward(undefined, { createGraph: true }), /prod: higher-order gradients/)
  // first order still works after the failed attempt
  x.grad = null
  x.prod(1).sum().backward()
  assert.ok(x.grad !== null)
})

test.run()

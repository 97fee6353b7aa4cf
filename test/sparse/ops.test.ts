/**
 * @file Sparse convolution ops and layers (Elsen et al. 2020, sheet 27; SparseByteNN, sheet 53):
 * sparseConv1x1 / sparseConv3x3 against F.conv2d with the masked dense weight (stride 1 and 2,
 * odd sizes, fused ReLU6), gradcheck of the three primitives (to the input, the kept values and
 * the bias; union-padded blocks included), the input gradient against the dense conv's, training of
 * nn.SparseConv1x1 / nn.SparseLinear with pruned positions staying exactly 0, and error messages.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, enableGrad, gradcheck, nn, optim, randn, type Tensor } from '../../src/index.ts'
import { apply } from '../../src/ops/op.ts'
import {
  packDeltaCSR, sparseConv1x1, sparseConv3x3, sparseMatmulCHW, sparseMatmulTransposedOp, sparseSampledMatmulOp, unpackDeltaCSR,
} from '../../src/ops/sparse.ts'
import { SparseConv1x1, SparseLinear } from '../../src/nn/sparse.ts'
import { mseLoss } from '../../src/nn/losses.ts'
import { assertClose, assertThrows } from '../helpers.ts'

let seed = 53
const rn = (shape: number[], dtype: 'float32' | 'float64' = 'float32'): Tensor => randn(shape, { dtype, generator: new Generator(seed++) })
/** A 0/1 float mask keeping each entry with probability 1 - sparsity (rows of a block differ). */
const maskOf = (shape: number[], sparsity: number, dtype: 'float32' | 'float64' = 'float32'): Tensor =>
  randn(shape, { generator: new Generator(seed++) }).abs().gt(sparsity === 0 ? -1 : sparsity === 1 ? Infinity : inverseHalfNormal(sparsity)).to(dtype)
/** |z| < t with probability p for z ~ N(0, 1): a few table points are enough here. */
const inverseHalfNormal = (p: number): number => ({ 0.5: 0.6745, 0.7: 1.0364, 0.9: 1.6449 } as Record<number, number>)[p] ?? 0.6745

test('sparseConv1x1 == F.conv2d 1x1 with the masked weight (nr 1/2/4, sparsity 0/0.5/0.9/1, bias, ReLU6)', () => {
  for (const nr of [1, 2, 4]) for (const sp of [0, 0.5, 0.9, 1]) {
    const [N, Cin, Cout, H, W] = [2, 6, 7, 3, 5]
    const w = rn([Cout, Cin, 1, 1]), m = maskOf([Cout, Cin, 1, 1], sp), b = rn([Cout]), x = rn([N, Cin, H, W])
    const packed = packDeltaCSR(w, { nr, mask: m })
    assertClose(unpackDeltaCSR(packed), w.mul(m).reshape([Cout, Cin]), { atol: 0, rtol: 0 })
    assertClose(sparseConv1x1(x, packed, b), F.conv2d(x, w.mul(m), b), { atol: 1e-5, msg: `nr ${nr} sp ${sp}` })
    assertClose(sparseConv1x1(x, packed, b, { min: 0, max: 6 }), F.conv2d(x, w.mul(m), b).clamp(0, 6), { atol: 1e-5 })
    assertClose(sparseConv1x1(x.select(0, 1), packed), F.conv2d(x, w.mul(m)).select(0, 1), { atol: 1e-5, msg: 'unbatched' })
  }
})

test('sparseConv3x3 == F.conv2d 3x3 (padding 1, stride 1 and 2, odd sizes) with the masked weight', () => {
  for (const nr of [1, 4]) for (const stride of [1, 2]) for (const sp of [0, 0.5, 0.9]) {
    const [N, Cin, Cout, H, W] = [2, 3, 5, 7, 6]
    const w = rn([Cout, Cin, 3, 3]), m = maskOf([Cout, Cin, 3, 3], sp), b = rn([Cout]), x = rn([N, Cin, H, W])
    const y = sparseConv3x3(x, packDeltaCSR(w, { nr, mask: m }), b, { stride })
    assertClose(y, F.conv2d(x, w.mul(m), b, { padding: 1, stride }), { atol: 1e-5, msg: `nr ${nr} stride ${stride} sp ${sp}` })
  }
})

test('gradcheck: sparse product to input, kept values and bias (union-padded nr 4 blocks, clamp)', () => {
  const [N, K, Cout, P] = [2, 5, 6, 3]
  const w = rn([Cout, K], 'float64'), m = maskOf([Cout, K], 0.5, 'float64')
  const packed = packDeltaCSR(w, { nr: 4, mask: m })
  assert.ok(packed.pattern.keep !== null, 'rows of a block differ: the pattern is padded')
  const x = rn([N, K, P], 'float64').requiresGrad_(), v = packed.values.detach().requiresGrad_(), b = rn([Cout], 'float64').requiresGrad_()
  gradcheck((x, v, b) => sparseMatmulCHW(x, { pattern: packed.pattern, values: v }, b), [x, v, b])
  // Clamp at +-0.5: the inputs are fixed, so check that no output sits within eps of a bound.
  const y = sparseMatmulCHW(x, { pattern: packed.pattern, values: v }, b).detach()
  assert.ok(y.sub(0.5).abs().amin().item() > 1e-4 && y.add(0.5).abs().amin().item() > 1e-4)
  gradcheck((x, v, b) => sparseMatmulCHW(x, { pattern: packed.pattern, values: v }, b, { min: -0.5, max: 0.5 }), [x, v, b])
  const args = { pattern: packed.pattern, min: -Infinity, max: Infinity }
  const dy = rn([N, Cout, P], 'float64').requiresGrad_()
  gradcheck((dy, v) => apply(sparseMatmulTransposedOp, [dy, v], args), [dy, v])
  gradcheck((dy, x) => apply(sparseSampledMatmulOp, [dy, x], args), [dy, x])
  // Second order: d/dx and d/dv of sum((A_v x)^2), built with createGraph, checked by gradcheck.
  const gradOf = (x: Tensor, v: Tensor, k: number): Tensor => enableGrad(() => {
    const before = [x.grad, v.grad]
    x.grad = null; v.grad = null
    sparseMatmulCHW(x, { pattern: packed.pattern, values: v }).square().sum().backward(undefined, { createGraph: true })
    const g = k === 0 ? x.grad! : v.grad!
    x.grad = before[0]; v.grad = before[1]
    return g
  })
  gradcheck((x, v) => gradOf(x, v, 0), [x, v])
  gradcheck((x, v) => gradOf(x, v, 1), [x, v])
})

test('gradcheck: sparseConv3x3 stride 2 and sparseConv1x1 (float64)', () => {
  const w = rn([4, 2, 3, 3], 'float64'), m = maskOf([4, 2, 3, 3], 0.5, 'float64')
  const packed = packDeltaCSR(w, { nr: 2, mask: m })
  const x = rn([1, 2, 5, 4], 'float64').requiresGrad_(), v = packed.values.detach().requiresGrad_()
  gradcheck((x, v) => sparseConv3x3(x, { pattern: packed.pattern, values: v }, null, { stride: 2 }), [x, v])
  const w1 = rn([3, 4, 1, 1], 'float64'), p1 = packDeltaCSR(w1, { nr: 1, mask: maskOf([3, 4, 1, 1], 0.5, 'float64') })
  const x1 = rn([2, 4, 2, 3], 'float64').requiresGrad_(), v1 = p1.values.detach().requiresGrad_()
  gradcheck((x, v) => sparseConv1x1(x, { pattern: p1.pattern, values: v }), [x1, v1])
})

test('input gradient == dense conv gradient of the masked weight; pruned slots get 0 gradient', () => {
  const w = rn([8, 6, 1, 1]), m = maskOf([8, 6, 1, 1], 0.5), x = rn([2, 6, 4, 4]), dy = rn([2, 8, 4, 4])
  const packed = packDeltaCSR(w, { nr: 4, mask: m })
  const xs = x.detach().requiresGrad_(), v = packed.values.detach().requiresGrad_()
  sparseConv1x1(xs, { pattern: packed.pattern, values: v }).backward(dy)
  const xd = x.detach().requiresGrad_(), wd = w.mul(m).detach().requiresGrad_()
  F.conv2d(xd, wd).backward(dy)
  assertClose(xs.grad!, xd.grad!, { atol: 1e-5 })
  const dW = unpackDeltaCSR({ pattern: packed.pattern, values: v.grad! })
  assertClose(dW, wd.grad!.mul(m).reshape([8, 6]), { atol: 1e-4 })
  const keep = packed.pattern.keep!
  v.grad!.data().forEach((g, q) => { if (!keep[q]) assert.is(g, 0) })
})

test('nn.SparseConv1x1: fromDense at 90% (nr 4) matches conv with toDense(); SGD lowers the loss; pruned stay 0', () => {
  const conv = new nn.Conv2d(16, 12, 1, { generator: new Generator(1) })
  const sp = SparseConv1x1.fromDense(conv, { sparsity: 0.9, nr: 4 })
  assert.ok(Math.abs(sp.sparsity - 0.9) < 0.03, `sparsity ${sp.sparsity}`)
  const x = rn([2, 16, 5, 5]), target = rn([2, 12, 5, 5])
  assertClose(sp.forward(x), F.conv2d(x, sp.toDense(), sp.bias), { atol: 1e-5 })
  const zeros = sp.toDense().eq(0)
  const opt = new optim.SGD(sp.parameters(), { lr: 0.5, momentum: 0.9 })
  const losses: number[] = []
  for (let step = 0; step < 8; step++) {
    opt.zeroGrad()
    const loss = mseLoss(sp.forward(x), target)
    loss.backward()
    opt.step()
    losses.push(loss.item())
  }
  assert.ok(losses[7] < losses[0] * 0.95, `loss ${losses[0]} -> ${losses[7]}`)
  assert.equal(sp.parameters().length, 2)
  const dense = sp.toDense()
  assert.ok(dense.where(zeros, 0).eq(0).all().item() === 1 && dense.maskedFill(zeros.logicalNot(), 0).eq(0).all().item() === 1, 'pruned positions exactly 0')
})

test('nn.SparseLinear with a per-row mask (union-padded nr 2 blocks): trains, pruned positions stay 0', () => {
  const lin = new nn.Linear(10, 6, { generator: new Generator(2) })
  const mask = maskOf([6, 10], 0.7)
  const sl = SparseLinear.fromDense(lin, { mask, nr: 2 })
  assert.ok(sl.pattern.keep !== null)
  const x = rn([3, 4, 10]), target = rn([3, 4, 6])
  assertClose(sl.forward(x), F.linear(x, lin.weight.mul(mask), lin.bias), { atol: 1e-5, shape: [3, 4, 6] })
  const opt = new optim.SGD(sl.parameters(), { lr: 0.2, weightDecay: 0.01 })
  const losses: number[] = []
  for (let step = 0; step < 8; step++) {
    opt.zeroGrad()
    const loss = mseLoss(sl.forward(x), target)
    loss.backward()
    opt.step()
    losses.push(loss.item())
  }
  assert.ok(losses[7] < losses[0], `loss ${losses[0]} -> ${losses[7]}`)
  assert.ok(sl.toDense().mul(mask.logicalNot().to('float32')).abs().sum().item() === 0, 'pruned positions exactly 0')
})

test('errors name the op, the argument and the shapes', () => {
  const packed = packDeltaCSR(rn([4, 3]), { nr: 2 })
  assertThrows(() => sparseConv1x1(rn([1, 5, 2, 2]), packed), /sparseConv1x1: input of shape \[1,5,2,2\] gives 5 input rows but the packed weight is \(4, 3\)/)
  assertThrows(() => sparseConv1x1(rn([1, 3, 2, 2], 'float64'), packed), /sparseConv1x1: values dtype float32 does not match input dtype float64/)
  assertThrows(() => sparseMatmulCHW(rn([1, 3, 2]), packed, rn([5])), /sparseMatmulCHW: bias must have shape \[4\], got \[5\]/)
  assertThrows(() => sparseConv3x3(rn([1, 3, 4, 4]), packed), /sparseConv3x3: input of shape \[1,3,4,4\] gives 27 input rows/)
  assertThrows(() => sparseConv3x3(rn([1, 3, 4, 4]), packed, null, { stride: 3 }), /sparseConv3x3: stride must be 1 or 2, got 3/)
  assertThrows(() => packDeltaCSR(rn([4, 3]), { nr: 3 }), /packDeltaCSR: nr must be 1, 2 or 4, got 3/)
  assertThrows(() => packDeltaCSR(rn([4, 3]), { mask: rn([3, 4, 1]) }), /packDeltaCSR: mask of shape \[3,4,1\] does not match weight of shape \[4,3\]/)
  assertThrows(() => SparseConv1x1.fromDense(new nn.Conv2d(3, 4, 3)), /SparseConv1x1: needs a 1x1 Conv2d, got kernel \[3,3\]/)
  assertThrows(() => SparseLinear.fromDense(new nn.Linear(3, 4), { sparsity: 2 }), /SparseLinear: sparsity must be in \[0, 1\], got 2/)
  assertThrows(() => sparseConv1x1(rn([1, 3, 2, 2]), packed, null, { min: 1, max: 0 }), /sparseConv1x1: min 1 must not exceed max 0/)
})

test.run()

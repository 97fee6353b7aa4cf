/**
 * @file The shared vision blocks (src/nn/blocks.ts): channel rounding on the reference code's
 * values, DropPath's per-sample masks and scaling, LayerScale on both layouts, SE against a hand
 * computation, MBConv's residual and shapes, activations against their formulas, float64 gradcheck.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, nn, noGrad, randn, tensor, zeros, type Tensor } from '../../src/index.ts'

const g = new Generator(11)
const close = (a: number, b: number, tol = 1e-6): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b))

test('makeDivisible: nearest multiple, floor of divisor, never below 90%', () => {
  assert.is(nn.makeDivisible(32 * 1.1), 32) // 35.2 -> 32
  assert.is(nn.makeDivisible(16 * 1.4), 24) // 22.4 -> 24
  assert.is(nn.makeDivisible(3), 8)
  assert.is(nn.makeDivisible(27), 32) // 27 -> 24 would be < 0.9 * 27 = 24.3
  assert.is(nn.makeDivisible(100, 8), 104)
  assert.is(nn.makeDivisible(20, 4, 16), 20)
})

test('activations match their formulas', () => {
  const x = tensor([-4, -3, -1, 0, 0.5, 3, 7], { dtype: 'float64' })
  const v = x.toArray() as number[]
  const hs = nn.hardsigmoid(x).toArray() as number[], hw = nn.hardswish(x).toArray() as number[]
  for (let i = 0; i < v.length; i++) {
    const ref = Math.min(1, Math.max(0, v[i] / 6 + 0.5))
    assert.ok(close(hs[i], ref, 1e-15) && close(hw[i], v[i] * ref, 1e-15))
  }
  assert.equal(nn.activate(x, 'relu6').toArray(), [0, 0, 0, 0, 0.5, 3, 6])
  const silu = nn.activate(x, 'silu').toArray() as number[]
  for (let i = 0; i < v.length; i++) assert.ok(close(silu[i], v[i] / (1 + Math.exp(-v[i])), 1e-14))
  assert.throws(() => nn.activate(x, 'swish' as nn.Activation), /unknown activation 'swish'/)
})

test('DropPath: identity in eval and at p = 0; in training each sample is kept whole (scaled 1/(1-p)) or zeroed', () => {
  const dp = new nn.DropPath(0.5, new Generator(5))
  const x = randn([64, 3, 2, 2], { generator: g })
  dp.eval()
  assert.is(dp.forward(x), x)
  dp.train()
  const y = dp.forward(x)
  let kept = 0
  const xs = x.toArray() as number[][][][], ys = y.toArray() as number[][][][]
  for (let b = 0; b < 64; b++) {
    const ratio = ys[b].flat(2).map((v, i) => v / xs[b].flat(2)[i])
    const allKept = ratio.every((r) => close(r, 2)), allZero = ys[b].flat(2).every((v) => v === 0)
    assert.ok(allKept || allZero, `sample ${b} is kept or dropped as a whole`)
    if (allKept) kept++
  }
  assert.ok(kept > 16 && kept < 48, `about half kept: ${kept}`)
  assert.is(new nn.DropPath(0).forward(x), x)
  assert.throws(() => new nn.DropPath(1), /p must be in \[0, 1\)/)
})

test('LayerScale scales channels on NCHW and channels-last inputs', () => {
  const ls = new nn.LayerScale(3, 0.5, { channelDim: 1 })
  const x = randn([2, 3, 2, 2], { generator: g })
  assert.ok(ls.forward(x).sub(x.mul(0.5)).abs().amax().item() === 0)
  const last = new nn.LayerScale(4, 1e-5)
  const t = randn([2, 5, 4], { generator: g })
  assert.ok(last.forward(t).sub(t.mul(1e-5)).abs().amax().item() < 1e-12)
  assert.throws(() => last.forward(randn([2, 5, 3])), /expected 4 channels on dim 2/)
})

test('SqueezeExcite equals the hand computation s = sigmoid(W2 relu(W1 mean(x) + b1) + b2)', () => {
  const se = new nn.SqueezeExcite(4, 2, { generator: g, dtype: 'float64' })
  const x = randn([2, 4, 3, 3], { generator: g, dtype: 'float64' })
  const pooled = x.mean([2, 3]) // (2, 4)
  const w1 = se.reduce.weight.reshape([2, 4]), w2 = se.expand.weight.reshape([4, 2])
  const s = pooled.matmul(w1.T).add(se.reduce.bias!).relu().matmul(w2.T).add(se.expand.bias!).sigmoid() // (2, 4)
  const ref = x.mul(s.reshape([2, 4, 1, 1]))
  assert.ok(se.forward(x).sub(ref).abs().amax().item() < 1e-14)
})

test('MBConv: shapes, residual only at stride 1 with equal widths, identity when the projection BN is zeroed', () => {
  const block = new nn.MBConv(8, 8, { expand: 4, kernel: 3, stride: 1, seRatio: 0.25, generator: g })
  assert.ok(block.residual && block.se !== null && block.expandConv !== null)
  const x = randn([2, 8, 6, 6], { generator: g })
  noGrad(() => { block.project.bn.weight!.zero_(); block.project.bn.bias!.zero_() })
  block.eval()
  assert.ok(block.forward(x).sub(x).abs().amax().item() === 0)
  const down = new nn.MBConv(8, 16, { expand: 1, kernel: 5, stride: 2 })
  assert.ok(!down.residual && down.expandConv === null && down.se === null)
  assert.equal(down.forward(x).shape, [2, 16, 3, 3])
  assert.throws(() => new nn.MBConv(8, 8, { expand: 4, kernel: 4, stride: 1 }), /odd kernel/)
})

test('gradcheck (float64): SE, ConvBNAct with hardswish, MBConv with SE', () => {
  const x = randn([2, 4, 4, 4], { generator: g, dtype: 'float64' }).requiresGrad_()
  const se = new nn.SqueezeExcite(4, 2, { generator: g, gate: 'hardsigmoid', dtype: 'float64' })
  assert.ok(gradcheck((t: Tensor) => se.forward(t), [x]))
  const cba = new nn.ConvBNAct(4, 3, 3, { act: 'hardswish', generator: g, dtype: 'float64' })
  assert.ok(gradcheck((t: Tensor) => cba.forward(t), [x]))
  const mb = new nn.MBConv(4, 4, { expand: 2, kernel: 3, stride: 1, seRatio: 0.5, generator: g, dtype: 'float64' })
  assert.ok(gradcheck((t: Tensor) => mb.forward(t), [x]))
  void zeros
})

test.run()

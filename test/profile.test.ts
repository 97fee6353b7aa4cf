/**
 * @file The profiler (src/profile.ts): MAC counts of each counted op against their formulas,
 * shape-only mode (no data allocated, the same parameter and MAC counts as a real pass, kernels
 * restored afterwards even on a throw), and EfficientNet-B0 assembled from the shared blocks at its
 * published size (5,288,548 parameters, 0.39 G MACs at 224x224).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, defaultKernels, kernels, nn, profile, randn, scaledDotProductAttention, tensor, zeros, type Tensor } from '../src/index.ts'

const g = new Generator(3)

test('countMacs: linear, conv (im2col GEMM), grouped and depthwise conv, batched matmul, attention', () => {
  const lin = new nn.Linear(12, 7, { generator: g })
  assert.is(profile.countMacs(() => lin.forward(randn([5, 12], { generator: g }))).macs, 5 * 12 * 7)
  const conv = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, generator: g })
  const x = randn([2, 4, 9, 9], { generator: g }) // out 5x5
  assert.is(profile.countMacs(() => conv.forward(x)).macs, 2 * 6 * 5 * 5 * 4 * 9)
  const grouped = new nn.Conv2d(4, 8, 3, { groups: 2, padding: 1, generator: g })
  assert.is(profile.countMacs(() => grouped.forward(x)).macs, 2 * 8 * 9 * 9 * (4 / 2) * 9)
  const dw = new nn.Conv2d(4, 4, 3, { groups: 4, padding: 1, generator: g })
  assert.is(profile.countMacs(() => dw.forward(x)).macs, 2 * 4 * 9 * 9 * 9)
  const a = randn([3, 2, 5, 6], { generator: g }), b = randn([6, 4], { generator: g })
  assert.is(profile.countMacs(() => a.matmul(b)).macs, 3 * 2 * 5 * 6 * 4)
  const q = randn([2, 3, 5, 8], { generator: g }), k = randn([2, 3, 7, 8], { generator: g }), v = randn([2, 3, 7, 4], { generator: g })
  assert.is(profile.countMacs(() => scaledDotProductAttention(q, k, v)).macs, 2 * 3 * 5 * 7 * (8 + 4))
  // Elementwise work is not counted; counting stops when fn returns.
  assert.is(profile.countMacs(() => F.relu(x).add(1).sum()).macs, 0)
  assert.is(profile.countMacs(() => { profile.countMacs(() => lin.forward(randn([1, 12]))); return lin.forward(randn([1, 12])) }).macs, 2 * 84)
})

test('countParams counts shared parameters once and can skip frozen ones', () => {
  const a = new nn.Linear(3, 4)
  const seq = new nn.Sequential(a, new nn.ReLU(), a)
  assert.is(profile.countParams(seq), 16)
  a.bias!.requiresGrad = false
  assert.is(profile.countParams(seq, { trainableOnly: true }), 12)
})

class SmallNet extends nn.Module {
  stem = new nn.ConvBNAct(3, 8, 3, { stride: 2, act: 'silu' })
  block = new nn.MBConv(8, 16, { expand: 4, kernel: 5, stride: 2, seRatio: 0.25 })
  attn = new nn.MultiheadAttention(16, 2)
  head = new nn.Linear(16, 10)
  forward(x: Tensor): Tensor {
    const h = this.block.forward(this.stem.forward(x)) // (B, 16, H/4, W/4)
    const t = h.flatten(2).transpose(1, 2) // (B, L, 16)
    return this.head.forward(this.attn.forward(t, t, t).output.mean(1))
  }
}

test('shapeOnly: nothing allocated, same parameter and MAC counts as a real pass, output shape right', () => {
  const gemmBefore = kernels.gemm
  const fake = profile.shapeOnly(() => new SmallNet())
  assert.is(fake.head.weight.storage.length, 0, 'no weight data')
  const real = new SmallNet()
  assert.is(profile.countParams(fake), profile.countParams(real))
  const fakeRun = profile.shapeOnly(() => profile.countMacs(() => fake.forward(zeros([2, 3, 32, 32]))))
  const realRun = profile.countMacs(() => real.forward(randn([2, 3, 32, 32], { generator: g })))
  assert.is(fakeRun.macs, realRun.macs)
  assert.equal(fakeRun.result.shape, [2, 10])
  assert.is(fakeRun.result.storage.length, 0)
  // Tensors built from explicit values (tensor, arange, ...) keep their data: index tensors stay usable.
  const picked = profile.shapeOnly(() => randn([8, 5]).indexSelect(1, tensor(Int32Array.from([0, 2, 4]))))
  assert.equal(picked.shape, [8, 3])
  assert.equal(profile.shapeOnly(() => tensor([1, 2, 3]).toArray()), [1, 2, 3])
  // Scalar constants created inside stay real: x.mul(0.37) after the pass uses a cached 0-d tensor.
  profile.shapeOnly(() => randn([4]).mul(0.37))
  assert.ok(Math.abs((tensor([2]).mul(0.37).item()) - 0.74) < 1e-6)
  assert.is(profile.isShapeOnly(), false)
  assert.is(kernels.gemm, gemmBefore, 'kernels restored')
})

test('shapeOnly restores the kernels in use (e.g. a swapped GEMM) even when fn throws', () => {
  const mine = (...args: Parameters<typeof kernels.gemm>): void => defaultKernels.gemm(...args)
  const before = kernels.gemm
  kernels.gemm = mine
  try {
    assert.throws(() => profile.shapeOnly(() => { throw new Error('boom') }), /boom/)
    assert.is(kernels.gemm, mine)
    profile.shapeOnly(() => profile.shapeOnly(() => zeros([2])))
    assert.is(kernels.gemm, mine)
  } finally {
    kernels.gemm = before
  }
  assert.throws(() => profile.shapeOnly(42 as unknown as () => void), /expected a function/)
})

test('EfficientNet-B0 from the shared blocks: 5,288,548 parameters and 0.386 G MACs at 224x224', () => {
  // (expand, kernel, stride, channels, repeats) per stage, Tan & Le 2019, Table 1.
  const B0 = [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 2], [6, 3, 2, 80, 3], [6, 5, 1, 112, 3], [6, 5, 2, 192, 4], [6, 3, 1, 320, 1]]
  const net = profile.shapeOnly(() => {
    const layers: nn.Module[] = [new nn.ConvBNAct(3, 32, 3, { stride: 2, act: 'silu' })]
    let c = 32
    for (const [e, k, s, o, n] of B0) {
      for (let i = 0; i < n; i++) { layers.push(new nn.MBConv(c, o, { expand: e, kernel: k, stride: i === 0 ? s : 1, seRatio: 0.25 })); c = o }
    }
    layers.push(new nn.ConvBNAct(320, 1280, 1, { act: 'silu' }), new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(1280, 1000))
    return new nn.Sequential(...layers)
  })
  assert.is(profile.countParams(net), 5_288_548) // torchvision / timm efficientnet_b0
  const { macs, result } = profile.shapeOnly(() => profile.countMacs(() => net.forward(zeros([1, 3, 224, 224]))))
  assert.equal(result.shape, [1, 1000])
  assert.ok(Math.abs(macs / 0.39e9 - 1) < 0.02, `MACs ${macs} vs the published 0.39 G`)
})

test.run()

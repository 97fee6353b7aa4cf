/**
 * @file EfficientFormer (paper 30, https://arxiv.org/abs/2206.01191): the relative-offset bias table,
 * PoolMixer borders (count_include_pad=False), eval-cached bias, attention against an explicit
 * softmax(q kᵀ/√d + B) v, identity blocks at LayerScale 0, the L1 224 -> 7x7x448 map, parameter
 * counts (closed form, and Table 1 of the paper) and MACs at 224x224 under profile.shapeOnly,
 * and the per-block latency table.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, ones, randn, zeros, type Tensor } from '../../../src/index.ts'
import { countMacs, countParams, shapeOnly } from '../../../src/profile.ts'
import {
  AttentionBias, EFFICIENTFORMER_PRESETS, EfficientAttention, EfficientFormer, Meta3D, Meta4D, PoolMixer, efficientFormerParamCount,
} from '../../../src/nn/arch/30-efficientformer.ts'
import { profile } from '../../../src/nn/arch/30-efficientformer-latency.ts'
import { assertClose } from '../../helpers.ts'

// NOTE: runs first: in shape-only mode the elementwise kernels still loop over zero-length buffers, and once
// real computations have warmed them up those out-of-bounds loops deoptimise (this test then takes ~3x longer).
test('L1 maps 224x224 to 7x7x448 before the flatten; presets: params = closed form, vs Table 1 (M) and MACs at 224 (G)', () => {
  // Paper Table 1 (with the distillation head, as the released counts): L1 12.3M / 1.3G, L3 31.3M / 3.9G, L7 82.1M / 10.2G.
  const table = { l1: [12.3e6, 1.3e9], l3: [31.3e6, 3.9e9], l7: [82.1e6, 10.2e9] } as const
  shapeOnly(() => {
    for (const name of ['l1', 'l3', 'l7'] as const) {
      const m = EfficientFormer.preset(name).eval()
      const params = countParams(m)
      assert.is(params, efficientFormerParamCount(EFFICIENTFORMER_PRESETS[name]), name)
      // Table 1 rounds to 0.1M; the released code's count differs by < 0.35% (L3 31.41M, as timm lists).
      assert.ok(Math.abs(params / table[name][0] - 1) < 0.004, `${name} params ${params}`)
      if (name === 'l1') {
        assert.is(params, 12_289_928)
        assert.equal(m.forwardFeatures(zeros([1, 3, 224, 224])).shape, [1, 448, 7, 7])
      }
      const { macs, result } = countMacs(() => m.forward(zeros([1, 3, 224, 224])))
      assert.equal(result.shape, [1, 1000])
      assert.ok(Math.abs(macs / table[name][1] - 1) < 0.01, `${name} MACs ${macs}`)
    }
  })
})

test('AttentionBias: r² offsets on an r x r grid, symmetric index, shared offsets accumulate gradient', () => {
  for (const r of [1, 2, 3, 7]) assert.is(new AttentionBias(2, r).numOffsets, r * r)
  const r = 3, N = 9, ab = new AttentionBias(2, r)
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) assert.is(ab.index[i * N + j], ab.index[j * N + i])
  for (let i = 0; i < N; i++) assert.is(ab.index[i * N + i], 0) // offset (0, 0) is id 0
  const w = randn([2, N, N], { generator: new Generator(1) })
  ab.forward().mul(w).sum().backward()
  // d/d table[h, o] = Σ over pairs (i, j) with offset o of w[h, i, j]
  const wv = w.toArray() as number[][][], expected = [0, 1].map((h) => {
    const acc = new Array<number>(r * r).fill(0)
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) acc[ab.index[i * N + j]] += wv[h][i][j]
    return acc
  })
  assertClose(ab.biases.grad!, expected, { atol: 1e-5 })
})

test('PoolMixer: constant input -> 0 everywhere (borders included); corner = mean of the 2x2 in-bounds window − x', () => {
  assertClose(new PoolMixer().forward(ones([2, 3, 5, 6]).mul(4.5)), zeros([2, 3, 5, 6]), { atol: 1e-6 })
  const x = randn([1, 1, 4, 4], { generator: new Generator(2) }), xv = (x.toArray() as number[][][][])[0][0]
  const y = (new PoolMixer().forward(x).toArray() as number[][][][])[0][0]
  assert.ok(Math.abs(y[0][0] - ((xv[0][0] + xv[0][1] + xv[1][0] + xv[1][1]) / 4 - xv[0][0])) < 1e-6)
  let s = 0
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s += xv[i][j]
  assert.ok(Math.abs(y[1][1] - (s / 9 - xv[1][1])) < 1e-6)
})

test('eval-mode cached bias equals the training-mode gather; attention matches softmax(q kᵀ/√d + B) v', () => {
  const g = new Generator(3), attn = new EfficientAttention(16, 3, { numHeads: 2, keyDim: 4, generator: g })
  noGrad(() => attn.bias.biases.copy_(randn([2, 9], { generator: g })))
  const train = attn.bias.forward().detach().clone()
  attn.eval()
  const cached = attn.bias.forward()
  assert.ok(attn.bias.forward() === cached, 'the eval bias is cached')
  assertClose(cached, train)
  // Explicit attention: qkv split per head into (4, 4, 16), scale 4^-1/2.
  const x = randn([2, 9, 16], { generator: g })
  const out = noGrad(() => attn.forward(x))
  const qkv = noGrad(() => attn.qkv.forward(x)).reshape([2, 9, 2, 24]).permute([0, 2, 1, 3]) // (B, H, N, 24)
  const q = qkv.narrow(3, 0, 4), k = qkv.narrow(3, 4, 4), v = qkv.narrow(3, 8, 16)
  const a = q.matmul(k.transpose(2, 3)).mul(0.5).add(train).softmax(-1) // (B, H, N, N)
  const ref = noGrad(() => attn.proj.forward(a.matmul(v).transpose(1, 2).reshape([2, 9, 32])))
  assertClose(out, ref, { atol: 1e-5 })
})

test('LayerScale 0: Meta4D and Meta3D are the identity (and not at LayerScale 1)', () => {
  const g = new Generator(4)
  const m4 = new Meta4D(8, { layerScaleInit: 0, generator: g }), m3 = new Meta3D(8, 2, { layerScaleInit: 0, numHeads: 2, keyDim: 4, generator: g })
  const x4 = randn([2, 8, 4, 4], { generator: g }), x3 = randn([2, 4, 8], { generator: g })
  assertClose(m4.forward(x4), x4, { atol: 0 })
  assertClose(m3.forward(x3), x3, { atol: 0 })
  const n4 = new Meta4D(8, { layerScaleInit: 1, generator: g }), n3 = new Meta3D(8, 2, { layerScaleInit: 1, numHeads: 2, keyDim: 4, generator: g })
  assert.ok(n4.forward(x4).sub(x4).abs().amax().item() > 1e-2)
  assert.ok(n3.forward(x3).sub(x3).abs().amax().item() > 1e-2)
  // A whole tiny net with LayerScale 0: the head sees exactly the stem + embeddings path.
  const net = new EfficientFormer({ layers: [1, 1, 1, 2], embedDims: [8, 8, 16, 16], vitNum: 1, resolution: 1, numClasses: 3, layerScaleInit: 0, generator: g })
  const img = randn([2, 3, 32, 32], { generator: g })
  let h: Tensor = net.stem.forward<Tensor>(img)
  for (const d of net.downsamples) h = (d as unknown as { forward(t: Tensor): Tensor }).forward(h)
  assertClose(net.forwardFeatures(img), h, { atol: 0 })
})

test('latency.profile: one row per block in forward order, chained shapes, positive medians, LUT keyed by kind and shape', () => {
  const net = new EfficientFormer({ layers: [1, 1, 2, 2], embedDims: [8, 16, 16, 24], vitNum: 1, resolution: 2, numClasses: 5, generator: new Generator(5) })
  const lut = profile(net, randn([1, 3, 64, 64], { generator: new Generator(6) }), { runs: 3 })
  assert.equal(lut.rows.map((r) => r.name), [
    'stem', 'stage1.0', 'embed12', 'stage2.0', 'embed23', 'stage3.0', 'stage3.1', 'embed34', 'stage4.0', 'flat', 'stage4.vit0', 'head',
  ])
  for (let i = 1; i < lut.rows.length; i++) assert.equal(lut.rows[i].inShape, lut.rows[i - 1].outShape)
  assert.equal(lut.rows[lut.rows.length - 1].outShape, [1, 5])
  assert.ok(lut.rows.every((r) => r.medianMs >= 0 && r.runs === 3))
  assert.ok(Math.abs(lut.totalMs - lut.rows.reduce((s, r) => s + r.medianMs, 0)) < 1e-9)
  assert.ok('Meta4D@1x16x8x8' in lut.lookup && 'Meta3D@1x4x24' in lut.lookup)
  assert.ok(net.training, 'the training flag is restored')
})

test.run()

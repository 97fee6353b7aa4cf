/**
 * @file EfficientTDNN modules (paper 74, https://arxiv.org/abs/2103.13581): DynamicConv1d at full
 * size == Conv1d, sliced == a smaller Conv1d with the sliced / centre-cropped weights (identity
 * transforms at init), trained transforms change the kernel; Res2 receptive field per group and block
 * shapes; AttentiveStatsPool with uniform attention == mean/std pooling; AAM-softmax with m = 0 ==
 * scaled-cosine CE and the margin by hand; EER on a hand case and an analytic overlap; dense sum
 * aggregation == explicit recurrence; float64 gradchecks on tiny shapes.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, gradcheck, linspace, nn, noGrad, randn, randint, tensor, cat, type Tensor } from '../../../src/index.ts'
import {
  AAMSoftmax, AttentiveStatsPool, DynamicConv1d, Res2Conv1d, SERes2DilatedTDNNBlock, TDNNSpeakerNet, eer, weightedStats,
} from '../../../src/nn/arch/74-efficienttdnn.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const f64 = { dtype: 'float64' as const }

test('DynamicConv1d: full size == Conv1d; sliced width/kernel == Conv1d with first-k channels and centre crop', () => {
  const g = new Generator(1)
  const dc = new DynamicConv1d(6, 5, 5, { dilation: 2, generator: g, ...f64 })
  const x = randn([2, 6, 11], { generator: g, ...f64 })
  assertClose(dc.forward(x), F.conv1d(x, dc.weight, dc.bias, { padding: 4, dilation: 2 }), { atol: 1e-12 })
  const xs = x.narrow(1, 0, 4) // in = 4 active channels
  const w3 = dc.weight.narrow(0, 0, 3).narrow(1, 0, 4).narrow(2, 1, 3) // out 3, in 4, centre 3 taps
  assertClose(dc.forward(xs, { outChannels: 3, kernelSize: 3 }), F.conv1d(xs, w3, dc.bias!.narrow(0, 0, 3), { padding: 2, dilation: 2 }), { atol: 1e-12 })
  const w1 = dc.weight.narrow(0, 0, 2).narrow(2, 2, 1)
  assertClose(dc.forward(x, { outChannels: 2, kernelSize: 1 }), F.conv1d(x, w1, dc.bias!.narrow(0, 0, 2)), { atol: 1e-12 })
  // A non-identity transform: kernel 3 = crop · T3ᵀ, kernel 1 = (crop(crop · T3ᵀ)) · T1ᵀ, by hand.
  noGrad(() => { dc.transforms[0].copy_(randn([3, 3], { generator: g, ...f64 })); dc.transforms[1].fill_(0.5) })
  const W = dc.weight.narrow(2, 1, 3).matmul(dc.transforms[0].T) // (5, 6, 3)
  assertClose(dc.activeWeight(6, { kernelSize: 3 }).weight, W, { atol: 1e-12 })
  assertClose(dc.activeWeight(6, { kernelSize: 1 }).weight, W.narrow(2, 1, 1).mul(0.5), { atol: 1e-12 })
  assert.is(dc.parameters().length, 4, 'weight, bias and two kernel transforms are parameters')
  assertThrows(() => dc.forward(x, { kernelSize: 4 }), /DynamicConv1d: active config/)
  assertThrows(() => dc.forward(x, { outChannels: 9 }), /DynamicConv1d: active config/)
})

test('Res2: group i sees exactly ±i·d·(k−1)/2 frames; SE-Res2 block keeps (B, C, T)', () => {
  const g = new Generator(2)
  const k = 3, d = 2, s = 4, C = 8, T = 31, t0 = 15
  const r2 = new Res2Conv1d(C, s, k, d, { generator: g, ...f64 })
  r2.eval()
  // NOTE: positive weights and inputs keep every ReLU open, so a zero gradient can only mean "outside
  // the receptive field", never a dead unit.
  noGrad(() => { for (const p of r2.parameters()) p.copy_(p.abs().add(0.01)) })
  const x = randn([1, C, T], { generator: g, ...f64 }).abs().add(0.1).requiresGrad_()
  const y = r2.forward(x)
  for (let i = 0; i < s; i++) {
    x.grad = null
    y.narrow(1, i * 2, 2).narrow(2, t0, 1).sum().backward(undefined, { retainGraph: true })
    const reach = (x.grad!.abs().sum([0, 1]).data() as Float64Array)
    const support = [...reach.keys()].filter((t) => reach[t] > 0)
    const R = (i * d * (k - 1)) / 2
    assert.equal([support[0], support[support.length - 1]], [t0 - R, t0 + R], `group ${i}`)
  }
  const blk = new SERes2DilatedTDNNBlock(C, { kernelSize: k, dilation: d, scale: s, generator: g })
  assert.equal(blk.forward(randn([3, C, 10], { generator: g })).shape, [3, C, 10])
  assertThrows(() => blk.forward(randn([3, C + 1, 10])), /SERes2DilatedTDNNBlock: x must be \(B, 8, T\)/)
  assertThrows(() => new Res2Conv1d(10, 4, 3, 1), /divisible by scale/)
})

test('AttentiveStatsPool with uniform attention == mean/std pooling; real attention differs', () => {
  const g = new Generator(3)
  const asp = new AttentiveStatsPool(4, { attentionChannels: 5, generator: g, ...f64 })
  const h = randn([3, 4, 7], { generator: g, ...f64 })
  const naive = cat([h.mean(2), h.var(2, { correction: 0 }).sqrt()], 1)
  const out = asp.forward(h)
  assert.ok(out.sub(naive).abs().max().item() > 1e-3, 'random attention is not uniform')
  noGrad(() => { asp.score.weight.zero_(); asp.score.bias!.fill_(0.7) }) // equal logits -> α = 1/T
  assertClose(asp.forward(h), naive, { atol: 1e-12 })
  // Weighted stats by hand with a one-hot α: picks that frame, std 0 (clamped to sqrt(eps)).
  const onehot = tensor([0, 0, 1, 0, 0, 0, 0], f64).reshape([1, 1, 7]).expand([3, 4, 7])
  const [mu, sd] = weightedStats(h, onehot, 1e-12)
  assertClose(mu, h.select(2, 2), { atol: 1e-12 })
  assert.ok(sd.max().item() <= 1e-5)
})

test('AAM-softmax: m = 0 == CE of s·cos; margin applied to the target logit only', () => {
  const g = new Generator(4)
  const aam0 = new AAMSoftmax(6, 5, { margin: 0, scale: 30, generator: g, ...f64 })
  const x = randn([8, 6], { generator: g, ...f64 }), y = randint(0, 5, [8], { generator: g })
  const xn = x.div(x.norm(2, 1, true)), wn = aam0.weight.div(aam0.weight.norm(2, 1, true))
  const cos = xn.matmul(wn.T)
  assertClose(aam0.forward(x, y), nn.losses.crossEntropy(cos.mul(30), y), { atol: 1e-12 })
  const aam = new AAMSoftmax(6, 5, { margin: 0.2, scale: 30, generator: g, ...f64 })
  noGrad(() => aam.weight.copy_(aam0.weight))
  const logits = aam.logits(x, y).data() as Float64Array, c = cos.data() as Float64Array, yy = y.data() as Int32Array
  for (let i = 0; i < 8; i++) {
    for (let j = 0; j < 5; j++) {
      const th = Math.acos(c[i * 5 + j])
      const want = j !== yy[i] ? c[i * 5 + j] : th + 0.2 <= Math.PI ? Math.cos(th + 0.2) : c[i * 5 + j] - Math.sin(Math.PI - 0.2) * 0.2
      assert.ok(Math.abs(logits[i * 5 + j] - 30 * want) < 1e-9, `logit ${i},${j}`)
    }
  }
  assert.ok(aam.forward(x, y).item() > aam0.forward(x, y).item(), 'the margin raises the loss')
})

test('eer: hand case 1/3, ties, separable 0, uniform overlap = analytic 1/6', () => {
  assertClose([eer([0.9, 0.8, 0.4, 0.7, 0.3, 0.2], [1, 1, 1, 0, 0, 0])], [1 / 3], { atol: 1e-12 })
  assert.is(eer([0.9, 0.8, 0.1, 0.2], [1, 1, 0, 0]), 0)
  assertClose([eer([0.5, 0.5], [1, 0])], [0.5], { atol: 1e-12 })
  // targets ~ U[0.4, 1], non-targets ~ U[0, 0.6] (fine grids): the crossing at t = 0.5 gives 0.1/0.6.
  const n = 6001
  const tgt = linspace(0.4, 1, n, f64), non = linspace(0, 0.6, n, f64)
  const labels = [...Array(n).fill(1), ...Array(n).fill(0)]
  assertClose([eer(cat([tgt, non]), labels)], [1 / 6], { atol: 1e-3 })
  assertThrows(() => eer([1, 2], [1, 1]), /eer: needs both/)
})

test('TDNNSpeakerNet: dense sum aggregation == explicit recurrence (depth 2 and 4); embedding shape', () => {
  for (const D of [2, 4]) {
    const g = new Generator(10 + D)
    const net = new TDNNSpeakerNet({ inFeatures: 8, channels: 8, blocks: D, scale: 4, embDim: 6, generator: g, ...f64 })
    net.eval()
    const x = randn([3, 8, 9], { generator: g, ...f64 })
    const feats: Tensor[] = []
    net.catConv.registerForwardHook((_m, inputs) => { feats.push(inputs[0] as Tensor) })
    const emb = net.forward(x)
    assert.equal(emb.shape, [3, 6])
    // Explicit recurrence out_i = B_i(out_{i-1}) + Σ_{j<i} out_j (out_0 = layer1(x)).
    const outs = [net.layer1.forward(x)]
    const blocks = [...net.blocks.children()] as SERes2DilatedTDNNBlock[]
    for (let i = 1; i <= D; i++) outs.push(blocks[i - 1].forward(outs[i - 1]).add(outs.slice(0, i).reduce((a, b) => a.add(b))))
    assertClose(feats[0], cat(outs.slice(1), 1), { atol: 1e-10 })
  }
})

test('gradcheck (float64): sliced DynamicConv1d (incl. transforms), AttentiveStatsPool, AAM-softmax, SE-Res2 block', () => {
  const g = new Generator(5)
  const dc = new DynamicConv1d(3, 4, 5, { dilation: 1, generator: g, ...f64 })
  noGrad(() => dc.transforms[0].add_(randn([3, 3], { generator: g, ...f64 }).mul(0.3)))
  const x = randn([2, 3, 6], { generator: g, ...f64 }).requiresGrad_()
  gradcheck((a, w, t) => { void w; void t; return dc.forward(a, { outChannels: 2, kernelSize: 3 }) }, [x, dc.weight, dc.transforms[0]])
  const asp = new AttentiveStatsPool(3, { attentionChannels: 4, generator: g, ...f64 })
  const h = randn([2, 3, 5], { generator: g, ...f64 }).requiresGrad_()
  gradcheck((a) => asp.forward(a), [h, asp.attention.weight, asp.score.weight])
  const aam = new AAMSoftmax(4, 3, { margin: 0.2, scale: 5, generator: g, ...f64 })
  const e = randn([5, 4], { generator: g, ...f64 }).requiresGrad_(), y = tensor([0, 1, 2, 1, 0], { dtype: 'int32' })
  gradcheck((a) => aam.forward(a, y), [e, aam.weight])
  const blk = new SERes2DilatedTDNNBlock(4, { kernelSize: 3, dilation: 2, scale: 2, generator: g, dtype: 'float64' })
  blk.eval()
  const z = randn([2, 4, 6], { generator: g, ...f64 }).requiresGrad_()
  gradcheck((a) => blk.forward(a), [z, blk.unit1.conv.weight, blk.se.fc1.weight])
})

test.run()

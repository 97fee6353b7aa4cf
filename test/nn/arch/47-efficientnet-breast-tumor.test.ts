/**
 * @file Paper 47 (EfficientNet on imbalanced BreakHis, https://arxiv.org/abs/2411.17870): the class-
 * weighted cross entropy against its explicit formula and gradient (float64), balanced class weights
 * (Σ n_c w_c = N), MBConv's SE gate and EfficientNet-B0's closed-form parameter count, `transferHead`
 * keeping every backbone tensor and freezing it (BN statistics included) during the head phase, the
 * augmentation steps (shapes, seeded determinism, explicit flips / rotations / identity cases), and the
 * per-class metrics against a hand-made confusion matrix.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, noGrad, profile, randn, tensor, type Tensor } from '../../../src/index.ts'
import { MBConv } from '../../../src/nn/blocks.ts'
import { EfficientNet, efficientNet } from '../../../src/nn/arch/35-tinynet.ts'
import {
  augmentPipeline, classCounts, classWeights, classificationReport, fitTransfer, gaussianNoise, randomResizedCrop, rotate90,
  transferHead, verticalFlip, weightedCrossEntropy,
} from '../../../src/nn/arch/47-efficientnet-breast-tumor.ts'

const g = new Generator(5)
const arr = (t: Tensor): number[] => Array.from(t.contiguous().data() as ArrayLike<number>)

test('weighted CE: equals plain CE for unit weights, the explicit formula, and a per-sample gradient scaled by w_y / Σ w', () => {
  const N = 6, K = 4
  const z = randn([N, K], { generator: g, dtype: 'float64' }).requiresGrad_()
  const y = tensor([0, 1, 3, 3, 2, 1], { dtype: 'int32' })
  const w = [0.5, 2, 1, 4]
  assert.ok(Math.abs(weightedCrossEntropy(z, y, { classWeights: [1, 1, 1, 1] }).item() - F.crossEntropy(z, y).item()) < 1e-14)
  const L = weightedCrossEntropy(z, y, { classWeights: tensor(w, { dtype: 'float64' }) })
  const Z = z.toArray() as number[][], Y = arr(y)
  let num = 0, den = 0
  const soft = Z.map((row) => { const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0); return e.map((v) => v / s) })
  Y.forEach((c, i) => { num += -w[c] * Math.log(soft[i][c]); den += w[c] })
  assert.ok(Math.abs(L.item() - num / den) < 1e-12)
  L.backward()
  const G = z.grad!.toArray() as number[][]
  Y.forEach((c, i) => soft[i].forEach((p, k) => assert.ok(Math.abs(G[i][k] - (w[c] / den) * (p - (k === c ? 1 : 0))) < 1e-12)))
})

test('balanced class weights: w_c = N / (C n_c), Σ n_c w_c = N; counts from labels', () => {
  const counts = classCounts(tensor([0, 0, 0, 1, 2, 2, 0, 0, 0, 2], { dtype: 'int32' }), 3)
  assert.equal(counts, [6, 1, 3])
  for (const mode of ['balanced', 'sqrt'] as const) {
    const w = classWeights(counts, mode)
    assert.ok(Math.abs(counts.reduce((a, n, c) => a + n * w[c], 0) - 10) < 1e-12, mode)
  }
  assert.equal(classWeights([90, 10]).map((v) => +v.toFixed(6)), [0.555556, 5])
  assert.equal(classWeights([3, 4], 'none'), [1, 1])
  assert.throws(() => classWeights([5, 0]), /positive integers/)
  assert.throws(() => classCounts([0, 3], 3), /outside/)
})

test('MBConv SE gate lies in (0, 1); EfficientNet-B0 channels and parameters match the closed form', () => {
  const blk = new MBConv(8, 8, { expand: 4, kernel: 3, stride: 1, seRatio: 0.25, generator: g })
  const h = randn([2, 32, 5, 5], { generator: g }).mul(3)
  const se = blk.se!
  const s = noGrad(() => se.expand.forward(se.reduce.forward(h.mean([2, 3], true)).silu()).sigmoid()) // (2, 32, 1, 1)
  const sv = arr(s)
  assert.ok(sv.every((v) => v > 0 && v < 1))
  assert.ok(noGrad(() => se.forward(h).sub(h.mul(s)).abs().amax().item()) < 1e-6)
  const b0 = profile.shapeOnly(() => efficientNet('b0'))
  assert.equal(b0.stageChannels, [16, 24, 40, 80, 112, 192, 320])
  assert.equal(b0.stageRepeats, [1, 2, 2, 3, 3, 4, 1])
  // Closed form: convs without bias + BN (2 per channel), SE convs with bias, FC with bias.
  let n = 3 * 32 * 9 + 2 * 32, c = 32
  const table = [[1, 3, 16, 1], [6, 3, 24, 2], [6, 5, 40, 2], [6, 3, 80, 3], [6, 5, 112, 3], [6, 5, 192, 4], [6, 3, 320, 1]]
  for (const [e, k, o, r] of table) {
    for (let i = 0; i < r; i++) {
      const hid = c * e, red = Math.floor(c / 4)
      n += (e === 1 ? 0 : c * hid + 2 * hid) + hid * k * k + 2 * hid + (hid * red + red + red * hid + hid) + hid * o + 2 * o
      c = o
    }
  }
  n += 320 * 1280 + 2 * 1280 + 1280 * 1000 + 1000
  assert.is(n, 5_288_548)
  assert.is(profile.countParams(b0), n)
})

const tiny = (classes: number): EfficientNet => new EfficientNet({
  arch: ['ds_r1_k3_s1_e1_c16_se0.25', 'ir_r1_k3_s2_e2_c24_se0.25'], width: 0.5, stemSize: 8, stemStride: 1, headSize: 16, inChannels: 1, numClasses: classes, dropRate: 0, generator: new Generator(2),
})

test('transferHead keeps every backbone tensor, swaps the head; the head phase freezes the backbone and its BN statistics', () => {
  const m = tiny(2)
  const before = Object.fromEntries(Object.entries(m.stateDict()).map(([k, v]) => [k, arr(v)]))
  const h = transferHead(m, 5, { generator: new Generator(1) })
  assert.equal(m.classifier.weight.shape, [5, 16])
  assert.ok(h.frozen && h.backbone.every((p) => !p.requiresGrad) && h.head.parameters().every((p) => p.requiresGrad))
  const after = m.stateDict()
  for (const [k, v] of Object.entries(before)) if (!k.startsWith('classifier.')) assert.equal(arr(after[k]), v, k)
  const x = randn([8, 1, 8, 8], { generator: g }), y = tensor([0, 1, 2, 3, 4, 0, 1, 2], { dtype: 'int32' })
  const headBefore = arr(m.classifier.weight)
  fitTransfer(m, h, { headSteps: 3, fineTuneSteps: 0, lr: 1e-2, loss: () => F.crossEntropy(m.forward(x), y) })
  const mid = m.stateDict()
  for (const [k, v] of Object.entries(before)) if (!k.startsWith('classifier.')) assert.equal(arr(mid[k]), v, `frozen ${k}`)
  assert.ok(arr(m.classifier.weight).some((v, i) => v !== headBefore[i]), 'head trained')
  assert.ok(!h.frozen && h.backbone.every((p) => p.requiresGrad), 'unfrozen after the schedule')
  fitTransfer(m, h, { headSteps: 0, fineTuneSteps: 2, fineTuneLr: 1e-2, loss: () => F.crossEntropy(m.forward(x), y) })
  assert.ok(arr(m.stem.conv.weight).some((v, i) => v !== before['stem.conv.weight'][i]), 'backbone fine-tuned')
  assert.throws(() => transferHead(m, 3, { headName: 'stem' }), /must be a Linear/)
})

test('augmentations: shapes kept, deterministic under a seed, explicit flips / 90° rotations, identity cases', () => {
  const x = randn([6, 2, 5, 5], { generator: g })
  const X = x.toArray() as number[][][][]
  const a1 = augmentPipeline(x, { generator: new Generator(9), p: 0.8 }), a2 = augmentPipeline(x, { generator: new Generator(9), p: 0.8 })
  assert.equal(a1.shape, x.shape)
  assert.equal(arr(a1), arr(a2))
  assert.ok(arr(a1).some((v, i) => v !== arr(x)[i]))
  assert.equal(arr(augmentPipeline(x, { generator: new Generator(9), p: 0 })), arr(x))
  assert.equal(arr(verticalFlip(x, new Generator(0), 1)), arr(x.flip([2])))
  const R = rotate90(x, new Generator(3), 1).toArray() as number[][][][]
  for (let n = 0; n < 6; n++) {
    const cands = [1, 2, 3].map((k) => X[n].map((ch) => ch.map((row, yy) => row.map((_, xx) =>
      k === 1 ? ch[xx][4 - yy] : k === 2 ? ch[4 - yy][4 - xx] : ch[4 - xx][yy]))))
    assert.ok(cands.some((c) => JSON.stringify(c) === JSON.stringify(R[n])), `image ${n} is a 90° rotation`)
  }
  // rotate90 with k = 1 four times would be the identity; here: the three candidates are distinct rotations.
  assert.ok(Math.abs(arr(randomResizedCrop(x, new Generator(1), 1)).reduce((a, v, i) => a + Math.abs(v - arr(x)[i]), 0)) < 1e-5, 'scale 1: identity')
  const z = gaussianNoise(tensor(new Array(4000).fill(0)).reshape([1, 1, 40, 100]), new Generator(4), 0.1)
  const zv = arr(z), mean = zv.reduce((a, b) => a + b, 0) / zv.length, sd = Math.sqrt(zv.reduce((a, b) => a + (b - mean) ** 2, 0) / zv.length)
  assert.ok(Math.abs(mean) < 0.01 && Math.abs(sd - 0.1) < 0.01, `noise mean ${mean} sd ${sd}`)
})

test('classificationReport: confusion matrix, precision / recall / F1, macro averages, balanced accuracy', () => {
  const yTrue = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
  const yPred = [0, 0, 0, 1, 1, 0, 2, 2, 1, 2]
  const r = classificationReport(yPred, yTrue, 3)
  assert.equal(r.confusion, [[3, 1, 0], [1, 1, 0], [0, 1, 3]])
  assert.equal(r.support, [4, 2, 4])
  assert.equal(r.recall, [0.75, 0.5, 0.75])
  assert.equal(r.precision, [0.75, 1 / 3, 1])
  assert.ok(Math.abs(r.f1[1] - (2 * (1 / 3) * 0.5) / (1 / 3 + 0.5)) < 1e-15)
  assert.is(r.accuracy, 0.7)
  assert.ok(Math.abs(r.balancedAccuracy - 2 / 3) < 1e-15)
  assert.ok(Math.abs(r.macroPrecision - (0.75 + 1 / 3 + 1) / 3) < 1e-15)
  assert.throws(() => classificationReport([0, 3], [0, 1], 3), /labels must lie/)
})

test.run()

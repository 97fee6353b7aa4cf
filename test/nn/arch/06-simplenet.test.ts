/**
 * @file SimpleNet (paper 06, https://arxiv.org/abs/1608.06037): parameter counts of the released cfgs
 * under profile.shapeOnly (PyTorch variant: BN after all 13 convs, sheet 06; Caffe variant: no BN on
 * the last three convs, papers/_review-A-verified.md), the 32x32 feature map, global max-pool
 * gradient routing, Dropout2d and the BN momentum 0.05.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, randn, zeros } from '../../../src/index.ts'
import { countMacs, countParams, shapeOnly } from '../../../src/profile.ts'
import { Dropout2d, GlobalMaxPool2d, SimpleConv, SIMPLENET_CFGS, SimpleNet, simpleNetParamCount } from '../../../src/nn/arch/06-simplenet.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

test('parameter counts: cifar5m 5,498,378 / cifar310k 312,362 (pytorch, BN on all convs); caffe 5,493,258 / 311,594', () => {
  shapeOnly(() => {
    assert.is(countParams(new SimpleNet({ cfg: 'cifar5m', numClasses: 10 })), 5_498_378)
    assert.is(countParams(new SimpleNet({ cfg: 'cifar310k', numClasses: 10 })), 312_362)
    assert.is(countParams(new SimpleNet({ cfg: 'cifar5m', numClasses: 10, variant: 'caffe' })), 5_493_258)
    assert.is(countParams(new SimpleNet({ cfg: 'cifar310k', numClasses: 10, variant: 'caffe' })), 311_594)
    // The closed form agrees, and the Caffe difference is the BN γ/β of the last three convs (2·(2048+256+256)).
    assert.is(simpleNetParamCount(SIMPLENET_CFGS.cifar5m), 5_498_378)
    assert.is(simpleNetParamCount(SIMPLENET_CFGS.cifar5m, { noBnLast: 3 }), 5_498_378 - 5_120)
  })
})

test('ImageNet v1 (PyTorch port, 1000 classes): 5m = 5,752,808 ("5.7m"), scale 0.5 = 1,506,792 ("1.5m"); 224 -> 11x11x256 in mode 2', () => {
  shapeOnly(() => {
    const m = new SimpleNet({ cfg: 'imagenet', numClasses: 1000 }).eval()
    assert.is(countParams(m), 5_752_808)
    assert.is(countParams(new SimpleNet({ cfg: 'imagenet', numClasses: 1000, scale: 0.5 })), 1_506_792)
    // mode 2 strides 2,2,1,2 then two pools: 224 -> 7; the released 1x1 convs use padding 1 (7 -> 9 -> 11).
    assert.equal(m.forwardFeatures(zeros([1, 3, 224, 224])).shape, [1, 256, 11, 11])
    const { macs, result } = countMacs(() => m.forward(zeros([1, 3, 224, 224])))
    assert.equal(result.shape, [1, 1000])
    assert.ok(macs > 1.7e9 && macs < 1.9e9, `MACs ${macs}`)
  })
})

test('32x32 input: cifar5m features are 2x2x256 before the global pool; logits [B, K]', () => {
  shapeOnly(() => {
    const m = new SimpleNet({ cfg: 'cifar5m', numClasses: 10 }).eval()
    assert.equal(m.forwardFeatures(zeros([2, 3, 32, 32])).shape, [2, 256, 2, 2])
    assert.equal(m.forward(zeros([2, 3, 32, 32])).shape, [2, 10])
  })
  // A real (small) forward: scale 0.25 cifar310k on 2 images, caffe variant reaches 1x1 with its 2x2 pool.
  const small = new SimpleNet({ cfg: 'cifar310k', scale: 0.25, numClasses: 7, generator: new Generator(0) })
  assert.equal(small.forward(randn([2, 3, 32, 32], { generator: new Generator(1) })).shape, [2, 7])
  const caffe = new SimpleNet({ cfg: 'cifar310k', scale: 0.25, variant: 'caffe', generator: new Generator(0) })
  assert.equal(caffe.forward(randn([2, 3, 32, 32], { generator: new Generator(1) })).shape, [2, 10])
  assertThrows(() => caffe.forward(randn([1, 3, 64, 64])), /final 2x2 pool must reach 1x1/)
})

test('global max pool: value = per-channel max; backward routes the whole gradient to the arg-max only', () => {
  const x = randn([2, 3, 4, 5], { generator: new Generator(3), dtype: 'float64' }).requiresGrad_()
  const y = new GlobalMaxPool2d().forward(x) // (2, 3)
  const w = randn([2, 3], { generator: new Generator(4), dtype: 'float64' })
  y.mul(w).sum().backward()
  const xv = x.detach().toArray() as number[][][][], g = x.grad!.toArray() as number[][][][], wv = w.toArray() as number[][]
  for (let b = 0; b < 2; b++) {
    for (let c = 0; c < 3; c++) {
      const flat = xv[b][c].flat(), gflat = g[b][c].flat()
      const arg = flat.indexOf(Math.max(...flat))
      assert.ok(Math.abs((y.toArray() as number[][])[b][c] - flat[arg]) < 1e-12)
      gflat.forEach((v, i) => assert.ok(Math.abs(v - (i === arg ? wv[b][c] : 0)) < 1e-12, `grad[${b},${c},${i}] = ${v}`))
    }
  }
})

test('Dropout2d zeroes whole channels, scales survivors by 1/(1-p) in training, identity in eval', () => {
  const d = new Dropout2d(0.4, new Generator(5))
  const x = randn([8, 16, 3, 3], { generator: new Generator(6) }).add(5) // nonzero everywhere
  const y = d.forward(x)
  const xv = x.toArray() as number[][][][], yv = y.toArray() as number[][][][]
  let dropped = 0
  for (let b = 0; b < 8; b++) {
    for (let c = 0; c < 16; c++) {
      const ratio = yv[b][c].flat().map((v, i) => v / xv[b][c].flat()[i])
      const zero = ratio.every((r) => r === 0), kept = ratio.every((r) => Math.abs(r - 1 / 0.6) < 1e-5)
      assert.ok(zero || kept, `channel (${b}, ${c}) is neither dropped nor scaled: ${ratio}`)
      if (zero) dropped++
    }
  }
  assert.ok(dropped > 20 && dropped < 80, `dropped ${dropped} of 128 channels at p = 0.4`)
  assertClose(d.eval().forward(x), x)
})

test('BatchNorm momentum 0.05: running_mean after one batch = 0.05 · batch mean', () => {
  const m = new SimpleNet({ cfg: [4], scale: 1, inChans: 1, numClasses: 2, generator: new Generator(7) })
  const x = randn([6, 1, 5, 5], { generator: new Generator(8) })
  m.forward(x)
  const first = [...m.features][0] as SimpleConv
  const batchMean = noGrad(() => first.conv.forward(x).mean([0, 2, 3])).toArray() as number[]
  assertClose(first.bn!.runningMean!, batchMean.map((v) => 0.05 * v), { atol: 1e-6 })
})

test.run()

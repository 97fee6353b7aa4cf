/**
 * @file Sheet 35 demo (TinyNet, https://arxiv.org/abs/2010.14819) in quick mode: the bilinear resize is
 * PyTorch's align_corners = false, each rule's calibrated variant really costs (profile.countMacs on a
 * freshly built net) within 15% of the 1/4 budget, the tiny formula keeps resolution and depth at least
 * as high and width lower than the inverse giant formula, and both variants learn well above chance.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, tensor, zeros } from '../../src/index.ts'
import { EfficientNet } from '../../src/nn/arch/35-tinynet.ts'
import { countMacs, shapeOnly } from '../../src/profile.ts'
import { cost, microOptions, realised, resize, resizeMatrix, runTinyNetDigits, sideOf } from '../../examples/tinynet-digits.ts'

test('resizeMatrix: bilinear, align_corners = false (rows sum to 1, hand values for 2 → 4)', () => {
  // torch.nn.functional.interpolate([a, b], size=4, mode='linear') = [a, 0.75a + 0.25b, 0.25a + 0.75b, b]
  assert.equal(resizeMatrix(2, 4).toArray(), [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
  const R = resizeMatrix(8, 21).toArray() as number[][]
  for (const row of R) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-6)
  const x = tensor([[[[1, 2], [3, 4]]]]) // (1, 1, 2, 2)
  const y = resize(x, 4).toArray() as number[][][][]
  assert.ok(Math.abs(y[0][0][1][1] - (0.75 * (0.75 * 1 + 0.25 * 2) + 0.25 * (0.75 * 3 + 0.25 * 4))) < 1e-6)
  assert.is(resize(x, 2), x)
})

test('realised() matches the built network and cost() is its counted MACs', () => {
  const p = { r: 0.7, w: 0.8, d: 0.6 }
  const a = realised(p), m = new EfficientNet(microOptions(p, new Generator(0))).eval()
  assert.equal([a.channels, a.repeats, a.head, a.side], [m.stageChannels, m.stageRepeats, m.headChannels, sideOf(p.r)])
  const macs = noGrad(() => countMacs(() => m.forward(zeros([1, 1, a.side, a.side]))).macs)
  assert.is(cost(p).macs, macs)
  assert.is(cost(p).macs, shapeOnly(() => countMacs(() => new EfficientNet(microOptions(p)).eval().forward(zeros([1, 1, a.side, a.side]))).macs))
})

test('tinynet-digits quick: MACs on budget, tiny keeps r and d, shrinks w; both learn', () => {
  const r = runTinyNetDigits({ quick: true, seed: 0 })
  assert.equal(r.variants.map((v) => [v.rule, v.target]), [['inverse-giant', 0.25], ['tiny', 0.25]])
  const [g, t] = r.variants
  for (const v of r.variants) {
    assert.ok(Math.abs(v.macs / (0.25 * r.baseMacs) - 1) < 0.15, `${v.rule}: ${v.macs} MACs vs budget ${0.25 * r.baseMacs}`)
    assert.is(v.macs, cost(v.rwd).macs)
    assert.ok(v.params > 0 && v.params < r.baseParams, `${v.rule}: ${v.params} params`)
    assert.ok(v.accuracy > 0.3, `${v.rule}: held-out accuracy ${v.accuracy} (chance 0.1)`)
  }
  // The paper's shape of the tiny formula vs the inverse giant formula at the same budget.
  assert.ok(t.side >= g.side && t.rwd.d >= g.rwd.d, `tiny side ${t.side}, d ${t.rwd.d} vs giant ${g.side}, ${g.rwd.d}`)
  assert.ok(t.rwd.w < g.rwd.w && t.channels.every((c, i) => c <= g.channels[i]), `tiny channels ${t.channels} vs giant ${g.channels}`)
  assert.is(r.testSize + r.trainSize, 1797)
})

test.run()

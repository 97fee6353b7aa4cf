/**
 * @file Paper 35 / 47 shared network: EfficientNet-B0 … B3 built by `efficientNet(name)` under
 * profile.shapeOnly have torchvision's exact parameter counts and the paper's MACs (Tan & Le 2019,
 * Table 2: 0.39 / 0.70 / 1.0 / 1.8 B at 224 / 240 / 260 / 300) within 2%.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { profile, zeros } from '../../../src/index.ts'
import { EFFICIENTNET_PRESETS, efficientNet } from '../../../src/nn/arch/35-tinynet.ts'

test('EfficientNet-B0 … B3: exact parameters and MACs at the paper resolutions', () => {
  // torchvision efficientnet_b0 … b3 parameter counts (the same graph as the TF reference).
  const published: Record<string, [number, number]> = { b0: [5_288_548, 0.39e9], b1: [7_794_184, 0.70e9], b2: [9_109_994, 1.0e9], b3: [12_233_232, 1.8e9] }
  for (const [name, [params, macs]] of Object.entries(published)) {
    const r = EFFICIENTNET_PRESETS[name].resolution
    const { p, mac, shape } = profile.shapeOnly(() => {
      const m = efficientNet(name).eval()
      const run = profile.countMacs(() => m.forward(zeros([1, 3, r, r])))
      return { p: profile.countParams(m), mac: run.macs, shape: run.result.shape }
    })
    assert.is(p, params, `${name} parameters`)
    assert.equal(shape, [1, 1000])
    // 2%: the paper prints 2 significant digits and counts with its own tool (B0 -1.1%, B1 -1.9%, B3 +1.5%).
    assert.ok(Math.abs(mac / macs - 1) < 0.02, `${name} MACs ${mac} vs ${macs}`)
  }
})

test('EfficientNet stage repeats ceil(d n) and head round_filters(1280, w)', () => {
  const [b2, b3] = profile.shapeOnly(() => [efficientNet('b2'), efficientNet('b3')])
  assert.equal(b2.stageRepeats, [2, 3, 3, 4, 4, 5, 2])
  assert.equal(b3.stageRepeats, [2, 3, 3, 5, 5, 6, 2])
  assert.is(b2.headChannels, 1408)
  assert.is(b3.stemChannels, 40) // round_filters(32, 1.2) = 38.4 → 40
  assert.throws(() => efficientNet('b9'), /unknown preset/)
})

test.run()

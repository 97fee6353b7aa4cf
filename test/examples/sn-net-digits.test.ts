/**
 * @file The SN-Net digits demo (sheet 04, https://arxiv.org/abs/2302.06586) in quick mode: 12 configs
 * (2 anchors + 10 paired stitches for depth 4), anchors above chance and untouched by the stitch init,
 * the (j, j+1) stitches strictly between the anchors in MACs and cheaper for larger j, and the
 * parameter count of each anchor config equal to that anchor's.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runSNNetDigits } from '../../examples/sn-net-digits.ts'

test('sn-net-digits (quick): enumeration, MACs ordering, anchors intact', () => {
  const r = runSNNetDigits({ quick: true, seed: 0 })
  assert.is(r.configs.length, 12)
  assert.equal(r.configs.slice(0, 2).map((c) => c.name), ['anchor 0', 'anchor 1'])
  const [a0, a1] = r.configs
  for (const a of [a0, a1]) {
    assert.ok(a.accRandomStitch > 0.15, `anchor above chance: ${a.accRandomStitch}`)
    assert.is(a.accLeastSquares, a.accRandomStitch, 'stitch init does not touch the anchors')
  }
  const diag = [0, 1, 2].map((j) => r.configs.find((c) => c.name === `0→1 (j=${j}, l=${j + 1})`)!)
  assert.ok(a0.macs < diag[2].macs && diag[2].macs < diag[1].macs && diag[1].macs < diag[0].macs && diag[0].macs < a1.macs)
  for (const c of r.configs) for (const v of [c.accRandomStitch, c.accLeastSquares, c.accTrained]) assert.ok(v >= 0 && v <= 1)
  assert.ok(r.monotonicity >= 0 && r.monotonicity <= 1)
})

test.run()

/**
 * @file The EfficientFormer demo's quick mode: both arms build, train a few steps and report real
 * numbers at about equal parameters, and the L1 latency table at 224x224 covers every block with
 * chained shapes (the 4D->3D switch at 7x7x448 -> 49x448) and 1.29 GMACs.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runEfficientFormerDigits } from '../../examples/efficientformer-digits.ts'

test('quick run: two trained arms and the L1 latency table', () => {
  const r = runEfficientFormerDigits({ quick: true })
  const [ef, cn] = r.arms
  assert.ok(Math.abs(ef.params / cn.params - 1) < 0.05, `params ${ef.params} vs ${cn.params}`)
  assert.ok(ef.macs < cn.macs, 'pooling mixers: fewer MACs than the conv blocks')
  for (const a of r.arms) assert.ok(a.testAccuracy >= 0 && a.testAccuracy <= 1 && Number.isFinite(a.trainLoss) && a.trainSeconds > 0)
  const rows = r.l1.rows
  assert.is(rows.filter((x) => x.kind === 'Meta4D').length, 14)
  assert.is(rows.filter((x) => x.kind === 'Meta3D').length, 1)
  const flat = rows.find((x) => x.kind === 'Flat')!
  assert.equal(flat.inShape, [1, 448, 7, 7])
  assert.equal(flat.outShape, [1, 49, 448])
  assert.equal(rows[rows.length - 1].outShape, [1, 1000])
  assert.ok(Math.abs(r.l1.macs / 1.3e9 - 1) < 0.01, `L1 MACs ${r.l1.macs}`)
  assert.ok(r.l1.totalMs > 0 && rows.every((x) => x.medianMs >= 0))
})

test.run()

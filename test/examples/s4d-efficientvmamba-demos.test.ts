/**
 * @file Quick modes of the S4D (sheet 41) and EfficientVMamba (sheet 71) digits demos: S4D-Lin solves
 * the delay task where random imaginary parts fail; EfficientVMamba-micro reaches well above chance in
 * eval mode once its BatchNorm statistics are re-estimated, with the atrous scan's 4x fewer scan steps
 * and MACs (and a faster core) than the full cross-scan at the same parameter count.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runS4DDigits } from '../../examples/s4d-digits.ts'
import { runEfficientVMambaDigits } from '../../examples/efficientvmamba-digits.ts'


test('s4d-digits quick: on the delay task S4D-Lin reproduces u_{t-k} (MSE << 1 = predicting zero), random imaginary parts do not', () => {
  const r = runS4DDigits({ quick: true, seed: 0 })
  assert.is(r.digits, null)
  assert.equal(r.delay.arms.map((a) => a.name), ['S4D-Lin', 'S4D-Rand'])
  const [lin, rnd] = r.delay.arms
  assert.is(lin.params, rnd.params)
  assert.ok(lin.testMSE < 0.15, `S4D-Lin MSE ${lin.testMSE}`)
  assert.ok(rnd.testMSE > 0.5 && rnd.testMSE > 4 * lin.testMSE, `S4D-Rand MSE ${rnd.testMSE} vs Lin ${lin.testMSE}`)
})

test('efficientvmamba-digits quick: eval-mode accuracy well above chance after updateBn; atrous scan 4x cheaper than cross at equal params', () => {
  const r = runEfficientVMambaDigits({ quick: true, seed: 0 })
  const [a, c, cnn] = r.arms
  assert.is(a.params, c.params)
  assert.ok(Math.abs(cnn.params - a.params) / a.params < 0.1)
  assert.is(a.scanSteps, 4 * 16); assert.is(c.scanSteps, 4 * 64)
  assert.is(c.scanFlops / a.scanFlops, 4)
  assert.ok(a.trained && cnn.trained && !c.trained)
  // eval mode with re-estimated BN statistics (the stale EMA statistics gave ~10-15% here)
  assert.ok(a.testAccuracy > 0.5, `atrous ${a.testAccuracy}`)
  assert.ok(a.testAccuracy > a.staleBnAccuracy + 0.2, `updateBn ${a.testAccuracy} vs stale ${a.staleBnAccuracy}`)
  assert.ok(a.scanShare > 0 && a.scanShare < 1 && Number.isFinite(a.trainLoss))
  assert.ok(cnn.testAccuracy > 0.2, `CNN ${cnn.testAccuracy}`)
})

test.run()

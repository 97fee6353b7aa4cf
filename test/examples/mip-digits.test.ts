/**
 * @file The MIP digits demo (examples/mip-digits.ts) in quick mode: both parametrizations train (the
 * held-out objective falls well below its start and stays finite), and MIP is lower after 100 steps and at
 * the end, and reaches the threshold (within 10% of the worse final loss) in fewer steps (the paper's faster-convergence claim).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runMIPDigits } from '../../examples/mip-digits.ts'

test('quick MIP demo: both train; MIP converges faster than the default parametrization', () => {
  const r = runMIPDigits({ quick: true, seed: 0 })
  assert.is(r.runs.length, 2)
  for (const run of r.runs) {
    assert.not.ok(run.diverged)
    assert.is(run.curve.length, r.steps / r.evalEvery + 1)
    assert.ok(run.final < 0.5 * run.curve[0], `${run.parametrization}: ${run.curve[0]} -> ${run.final}`)
  }
  const [s] = r.summary
  assert.ok(s.mipFinal < s.defaultFinal, `MIP ${s.mipFinal} vs default ${s.defaultFinal}`)
  assert.ok(s.mipEarly < s.defaultEarly, `after ${s.earlyStep} steps: MIP ${s.mipEarly} vs default ${s.defaultEarly}`)
  assert.ok(s.mipStepsToT < s.defaultStepsToT, `steps to T: MIP ${s.mipStepsToT} vs default ${s.defaultStepsToT}`)
})

test.run()

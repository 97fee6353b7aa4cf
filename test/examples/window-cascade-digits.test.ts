/**
 * @file The window-cascade digits demo (examples/window-cascade-digits.ts) in quick mode: MAC
 * accounting (cascade = member + passed fraction x member; ensemble = 2 members), about 20% of test
 * samples passed on, the ensemble improves selective classification over its members, and the window
 * cascade beats the threshold cascade at the targeted operating point (risk at 80% coverage).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runWindowCascadeDigits } from '../../examples/window-cascade-digits.ts'

test('quick window-cascade demo: costs, pass fraction, ensemble gain, window beats threshold at the target', () => {
  const r = runWindowCascadeDigits({ quick: true, seed: 0 })
  const by = Object.fromEntries(r.methods.map((m) => [m.name, m]))
  const A = by['single A'], B = by['single B'], ens = by['ensemble A+B'], win = by['window cascade'], thr = by['threshold cascade']
  assert.is(A.avgMacs, 64 * 32 + 32 * 2)
  assert.is(ens.avgMacs, A.avgMacs + B.avgMacs)
  for (const c of [win, thr]) {
    assert.ok(Math.abs(c.avgMacs - (A.avgMacs + c.passFraction * B.avgMacs)) < 1e-6)
    assert.ok(c.passFraction > 0.1 && c.passFraction < 0.3, `${c.name} passed ${c.passFraction}`)
  }
  for (const m of r.methods) assert.ok(m.accuracy > 0.85, `${m.name}: ${m.accuracy}`)
  assert.ok(ens.aurc < (A.aurc + B.aurc) / 2, `ensemble AURC ${ens.aurc} vs members ${A.aurc}, ${B.aurc}`)
  assert.ok(win.riskAt80 < thr.riskAt80, `risk@80: window ${win.riskAt80} vs threshold ${thr.riskAt80}`)
  assert.ok(win.avgMacs < 0.65 * ens.avgMacs)
})

test.run()

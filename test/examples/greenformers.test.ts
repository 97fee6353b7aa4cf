/**
 * @file Sheet 21 demo (Greenformers, https://arxiv.org/abs/2108.10808) in quick mode: Linformer's
 * forward storage grows about linearly in n while standard attention's grows about quadratically
 * (measured with the meter), the FLOP ratio is n/(2k), and the low-rank arms have the parameter
 * counts the rank rule gives, with accuracies in range.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runGreenformers } from '../../examples/greenformers.ts'

test('greenformers quick: memory scaling and parameter counts', () => {
  const r = runGreenformers({ quick: true, seed: 0 })
  const [a, , c] = r.scaling // n = 64, 128, 256
  assert.ok(c.fullBytes / a.fullBytes > 8, `standard attention storage ×${c.fullBytes / a.fullBytes} for n ×4 (≈ quadratic)`)
  assert.ok(c.linformerBytes / a.linformerBytes < 4.5, `Linformer storage ×${c.linformerBytes / a.linformerBytes} for n ×4 (≈ linear)`)
  assert.ok(c.linformerBytes < c.fullBytes / 3)
  for (const s of r.scaling) assert.is(s.fullFlops / s.linformerFlops, s.n / (2 * r.k))
  assert.equal(r.arms.map((x) => x.name), ['dense', 'LRT ρ=0.5', 'LRT ρ=0.25', 'dense→SVD ρ=0.5', 'dense→SVD ρ=0.5 +FT'])
  const by = Object.fromEntries(r.arms.map((x) => [x.name, x]))
  assert.is(by['dense'].projectionParams, 16832)
  assert.is(by['LRT ρ=0.5'].projectionParams, 8384)
  assert.is(by['dense→SVD ρ=0.5'].projectionParams, by['LRT ρ=0.5'].projectionParams)
  assert.ok(by['LRT ρ=0.25'].params < by['LRT ρ=0.5'].params && by['LRT ρ=0.5'].params < by['dense'].params)
  for (const x of r.arms) assert.ok(x.testAccuracy >= 0 && x.testAccuracy <= 1)
})

test.run()

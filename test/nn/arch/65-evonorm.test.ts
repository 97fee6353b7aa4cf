/**
 * @file Paper 65 EvoNorm (src/nn/arch/65-evonorm.ts): B0 and S0 against naive loops of the paper's
 * equations (train and eval, random v/γ/β), the running-variance update with the unbiased n/(n−1)
 * factor and momentum 0.1, batch-(in)dependence, the v = 0 closed forms, and float64 gradcheck of
 * both layers (inputs kept away from the max() tie of B0).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, randn, cat, type Tensor } from '../../../src/index.ts'
import { EvoNormB0, EvoNormS0, groupStd, instanceStd } from '../../../src/nn/arch/65-evonorm.ts'

const g = new Generator(65)
type A4 = number[][][][]
const arr = (t: Tensor): number[] => Array.from(t.contiguous().data() as Float64Array)

/** Biased variance of a list. */
function bvar(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length
}

function naiveB0(X: A4, varB: number[], v: number[], gam: number[], bet: number[], eps: number): A4 {
  return X.map((xn) => xn.map((xc, c) => {
    const sI = Math.sqrt(bvar(xc.flat()) + eps)
    return xc.map((row) => row.map((x) => (x / Math.max(Math.sqrt(varB[c] + eps), v[c] * x + sI)) * gam[c] + bet[c]))
  }))
}

function naiveS0(X: A4, G: number, v: number[], gam: number[], bet: number[], eps: number): A4 {
  const C = X[0].length, cg = C / G
  return X.map((xn) => xn.map((xc, c) => {
    const grp = Math.floor(c / cg)
    const vals = xn.slice(grp * cg, (grp + 1) * cg).flat(2)
    const sG = Math.sqrt(bvar(vals) + eps)
    return xc.map((row) => row.map((x) => ((x / (1 + Math.exp(-v[c] * x))) / sG) * gam[c] + bet[c]))
  }))
}

function randomize(m: EvoNormB0 | EvoNormS0): void {
  noGrad(() => {
    m.v.copy_(randn([m.numFeatures], { generator: g, dtype: 'float64' }))
    m.weight.copy_(randn([m.numFeatures], { generator: g, dtype: 'float64' }))
    m.bias.copy_(randn([m.numFeatures], { generator: g, dtype: 'float64' }))
  })
}

const maxAbs = (a: A4, b: A4): number => Math.max(...a.flat(3).map((v, i) => Math.abs(v - b.flat(3)[i])))

test('instanceStd and groupStd match naive loops', () => {
  const x = randn([2, 6, 3, 4], { generator: g, dtype: 'float64' })
  const X = x.toArray() as A4
  const iS = instanceStd(x, 1e-3).toArray() as A4
  const gS = groupStd(x, 3, 1e-3).toArray() as A4
  for (let n = 0; n < 2; n++) for (let c = 0; c < 6; c++) {
    assert.ok(Math.abs(iS[n][c][0][0] - Math.sqrt(bvar(X[n][c].flat()) + 1e-3)) < 1e-12)
    const gi = Math.floor(c / 2)
    assert.ok(Math.abs(gS[n][c][0][0] - Math.sqrt(bvar(X[n].slice(2 * gi, 2 * gi + 2).flat(2)) + 1e-3)) < 1e-12)
  }
  assert.throws(() => groupStd(x, 4), /groups 4 must divide C = 6/)
})

test('EvoNorm-B0 = naive formula in training (batch variance) and eval (running_var); running_var update', () => {
  const m = new EvoNormB0(4, { dtype: 'float64' })
  randomize(m)
  const x = randn([3, 4, 3, 3], { generator: g, dtype: 'float64' })
  const X = x.toArray() as A4
  const varB = [0, 1, 2, 3].map((c) => bvar(X.flatMap((xn) => xn[c].flat())))
  const v = arr(m.v), gam = arr(m.weight), bet = arr(m.bias)
  const y = noGrad(() => m.forward(x)).toArray() as A4
  assert.ok(maxAbs(y, naiveB0(X, varB, v, gam, bet, 1e-3)) < 1e-12, 'train')
  // running_var ← 0.9·1 + 0.1·σ²_B·n/(n−1), n = 3·3·3 = 27
  const rv = arr(m.runningVar)
  rv.forEach((r, c) => assert.ok(Math.abs(r - (0.9 + 0.1 * varB[c] * 27 / 26)) < 1e-12))
  m.eval()
  const x2 = randn([2, 4, 3, 3], { generator: g, dtype: 'float64' })
  const ye = noGrad(() => m.forward(x2)).toArray() as A4
  assert.ok(maxAbs(ye, naiveB0(x2.toArray() as A4, rv, v, gam, bet, 1e-3)) < 1e-12, 'eval uses running_var')
  assert.equal(arr(m.runningVar), rv, 'eval does not touch running_var')
})

test('EvoNorm-S0 = naive formula; output of a sample is independent of the rest of the batch (B0 in training is not)', () => {
  const m = new EvoNormS0(8, { groups: 2, dtype: 'float64' })
  randomize(m)
  const x = randn([3, 8, 2, 3], { generator: g, dtype: 'float64' })
  const y = noGrad(() => m.forward(x))
  assert.ok(maxAbs(y.toArray() as A4, naiveS0(x.toArray() as A4, 2, arr(m.v), arr(m.weight), arr(m.bias), 1e-5)) < 1e-12)
  const first = x.slice(0, 0, 1)
  const other = cat([first, randn([4, 8, 2, 3], { generator: g, dtype: 'float64' }).mul(5)], 0)
  const y2 = noGrad(() => m.forward(other)).slice(0, 0, 1)
  assert.is(y2.sub(y.slice(0, 0, 1)).abs().amax().item(), 0, 'S0 sample 0 unchanged')
  const b0 = new EvoNormB0(8, { dtype: 'float64' })
  const a = noGrad(() => b0.forward(x)).slice(0, 0, 1), b = noGrad(() => b0.forward(other)).slice(0, 0, 1)
  assert.ok(a.sub(b).abs().amax().item() > 1e-3, 'B0 (train) depends on the batch')
  assert.is(new EvoNormS0(16).groups, 16)
  assert.is(new EvoNormS0(64, { groupSize: 8 }).groups, 8)
  assert.throws(() => new EvoNormS0(12, { groups: 5 }), /must divide numFeatures 12/)
})

test('v = 0 closed forms: S0 = 0.5·x/σ_G·γ + β; B0 = x / max(σ_B, σ_I)·γ + β', () => {
  const x = randn([2, 4, 3, 3], { generator: g, dtype: 'float64' })
  const s0 = new EvoNormS0(4, { groups: 2, dtype: 'float64' })
  noGrad(() => s0.v.zero_())
  const ref = x.mul(0.5).div(groupStd(x, 2, 1e-5))
  assert.ok(noGrad(() => s0.forward(x)).sub(ref).abs().amax().item() < 1e-12)
  const b0 = new EvoNormB0(4, { dtype: 'float64' })
  noGrad(() => b0.v.zero_())
  const sB = x.var([0, 2, 3], { correction: 0, keepdim: true }).add(1e-3).sqrt()
  const refB = x.div(sB.maximum(instanceStd(x, 1e-3)))
  assert.ok(noGrad(() => b0.forward(x)).sub(refB).abs().amax().item() < 1e-12)
})

test('gradcheck float64: B0 (train and eval) and S0 w.r.t. x, v, γ, β', () => {
  // B0: v·x + σ_I vs σ_B ties have measure zero; the random draw below keeps a margin (checked).
  const x = randn([2, 3, 3, 3], { generator: g, dtype: 'float64' }).requiresGrad_()
  const b0 = new EvoNormB0(3, { dtype: 'float64' })
  randomize(b0)
  const sB = noGrad(() => x.var([0, 2, 3], { correction: 0, keepdim: true }).add(1e-3).sqrt())
  const right = noGrad(() => x.mul(b0.v.reshape([1, 3, 1, 1])).add(instanceStd(x, 1e-3)))
  assert.ok(right.sub(sB).abs().amin().item() > 1e-3, 'away from the max() tie')
  const fb = (xi: Tensor, v: Tensor, w: Tensor, b: Tensor): Tensor => {
    const save = [b0.v, b0.weight, b0.bias]
    ;(b0 as unknown as Record<string, Tensor>).v = v; (b0 as unknown as Record<string, Tensor>).weight = w; (b0 as unknown as Record<string, Tensor>).bias = b
    try { return b0.forward(xi) } finally { [b0.v, b0.weight, b0.bias] = save }
  }
  const ps = [b0.v, b0.weight, b0.bias].map((p) => p.detach().clone().requiresGrad_())
  assert.ok(gradcheck(fb, [x, ...ps]))
  b0.eval()
  assert.ok(gradcheck(fb, [x, ...ps]))
  const s0 = new EvoNormS0(4, { groups: 2, dtype: 'float64' })
  randomize(s0)
  const xs = randn([2, 4, 2, 2], { generator: g, dtype: 'float64' }).requiresGrad_()
  const fs = (xi: Tensor, v: Tensor, w: Tensor, b: Tensor): Tensor => {
    const save = [s0.v, s0.weight, s0.bias]
    ;(s0 as unknown as Record<string, Tensor>).v = v; (s0 as unknown as Record<string, Tensor>).weight = w; (s0 as unknown as Record<string, Tensor>).bias = b
    try { return s0.forward(xi) } finally { [s0.v, s0.weight, s0.bias] = save }
  }
  assert.ok(gradcheck(fs, [xs, ...[s0.v, s0.weight, s0.bias].map((p) => p.detach().clone().requiresGrad_())]))
})

test('shape errors name the layer and shapes', () => {
  assert.throws(() => new EvoNormB0(4).forward(randn([2, 3, 2, 2])), /EvoNormB0: x must be \(N, C, H, W\) with C = 4, got \[2,3,2,2\]/)
  assert.throws(() => new EvoNormS0(4, { groups: 2 }).forward(randn([2, 4, 2])), /EvoNormS0/)
})

test.run()

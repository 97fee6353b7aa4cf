/**
 * @file Gaussian-process regression (src/stats/gaussian-process.ts, used by paper 35's tiny formula):
 * Cholesky against L Lᵀ = A, noiseless interpolation of the training points with zero variance there,
 * smooth predictions between them, closed forms for one and two training points (mean, variance,
 * log marginal likelihood), and the length-scale search maximising the marginal likelihood.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator } from '../../src/index.ts'
import { cholesky, fitGaussianProcess, gaussianProcess } from '../../src/stats/gaussian-process.ts'

test('cholesky: L Lᵀ = A for a random SPD matrix; rejects an indefinite one', () => {
  const g = new Generator(1), n = 5
  const B = Float64Array.from({ length: n * n }, () => g.nextNormal())
  const A = new Float64Array(n * n) // B Bᵀ + I
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? 1 : 0
    for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k]
    A[i * n + j] = s
  }
  const L = cholesky(A, n)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0
    for (let k = 0; k < n; k++) s += L[i * n + k] * L[j * n + k]
    assert.ok(Math.abs(s - A[i * n + j]) < 1e-12)
    if (j > i) assert.is(L[i * n + j], 0)
  }
  assert.throws(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2), /not positive definite/)
})

test('noiseless GP interpolates its training points (zero variance there) and is smooth between them', () => {
  const X = [0, 0.5, 1.2, 2, 3], y = [1, -0.5, 0.3, 2, 1.1]
  const gp = gaussianProcess(X, y, { lengthScale: 0.7, variance: 2, noise: 0 })
  gp.predict(X).forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-7, `x ${X[i]}: ${v} vs ${y[i]}`))
  gp.predictVariance(X).forEach((v) => assert.ok(v < 1e-8))
  assert.ok(gp.predictVariance([0.85])[0] > 1e-3, 'uncertain between points')
  // Smooth: on a fine grid the slope stays bounded and the second difference is O(h²).
  const h = 1e-3, grid = Array.from({ length: 3001 }, (_, i) => i * h), f = gp.predict(grid)
  for (let i = 1; i < grid.length - 1; i++) {
    assert.ok(Math.abs(f[i + 1] - f[i]) < 20 * h)
    assert.ok(Math.abs(f[i + 1] - 2 * f[i] + f[i - 1]) < 100 * h * h)
  }
})

test('closed forms: one and two training points', () => {
  const s = 1.7, l = 0.6, n = 0.05
  const k = (a: number, b: number): number => s * Math.exp(-((a - b) ** 2) / (2 * l * l))
  // One point (x0, y0), zero prior mean: mean k(x*, x0) y0 / (s + n), var s − k² / (s + n).
  const one = gaussianProcess([0.3], [2], { lengthScale: l, variance: s, noise: n, mean: 'zero' })
  const xs = 1.1, kk = k(xs, 0.3), den = s + n + 1e-10 * s
  assert.ok(Math.abs(one.predict([xs])[0] - (kk * 2) / den) < 1e-12)
  assert.ok(Math.abs(one.predictVariance([xs])[0] - (s - (kk * kk) / den)) < 1e-12)
  assert.ok(Math.abs(one.logMarginalLikelihood - (-0.5 * 4 / den - 0.5 * Math.log(den) - 0.5 * Math.log(2 * Math.PI))) < 1e-12)
  // Two points, constant mean m = mean(y): mean m + k*ᵀ K⁻¹ (y − m) with the explicit 2x2 inverse.
  const X = [0, 1], y = [1, 3], m = 2
  const two = gaussianProcess(X, y, { lengthScale: l, variance: s, noise: n })
  const a = s + n + 1e-10 * s, b = k(0, 1), det = a * a - b * b
  const r = [y[0] - m, y[1] - m], alpha = [(a * r[0] - b * r[1]) / det, (-b * r[0] + a * r[1]) / det]
  for (const x of [-0.4, 0.5, 2]) {
    assert.ok(Math.abs(two.predict([x])[0] - (m + k(x, 0) * alpha[0] + k(x, 1) * alpha[1])) < 1e-12)
  }
  // With noise the GP smooths: it no longer passes through the points.
  assert.ok(Math.abs(two.predict([0])[0] - 1) > 1e-3)
})

test('multi-feature inputs and the length-scale search by marginal likelihood', () => {
  const gp = gaussianProcess([[0, 0], [1, 0], [0, 1]], [0, 1, 1], { lengthScale: 1, noise: 0 })
  assert.ok(Math.abs(gp.predict([[1, 0]])[0] - 1) < 1e-7)
  assert.throws(() => gp.predict([[1]]), /need 2 features/)
  const X = Array.from({ length: 12 }, (_, i) => i / 11), y = X.map((x) => Math.sin(2 * Math.PI * x))
  const cand = [0.01, 0.05, 0.2, 1, 5]
  const best = fitGaussianProcess(X, y, { noise: 1e-4, candidates: cand })
  for (const l of cand) assert.ok(gaussianProcess(X, y, { noise: 1e-4, lengthScale: l }).logMarginalLikelihood <= best.logMarginalLikelihood)
  assert.is(best.lengthScale, 0.2)
  assert.throws(() => gaussianProcess([0, 1], [1]), /N targets/)
})

test.run()

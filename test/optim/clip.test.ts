/** @file clipGradNorm and clipGradValue against torch.nn.utils.clip_grad_norm_ (test/fixtures/optim.json). */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { optim, tensor, zeros, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { flat, fx } from './fixture.ts'

function withGrads(grads: number[][]): Tensor[] {
  return grads.map((g, i) => {
    const p = zeros(fx.params.shapes[i]).requiresGrad_()
    p.grad = flat('float32', g, fx.params.shapes[i])
    return p
  })
}

for (const c of fx.clipping) {
  test(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}) matches torch`, () => {
    const params = withGrads(c.grads)
    const total = optim.clipGradNorm(params, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType)
    assert.ok(Math.abs(total - c.totalNorm) <= 1e-6 * c.totalNorm, `total ${total} vs ${c.totalNorm}`)
    params.forEach((p, i) => assertClose(p.grad!, c.clipped[i], { rtol: 1e-6, atol: 1e-7, msg: `grad ${i}` }))
  })
}

test('clipGradNorm: the clipped gradients have norm maxNorm; small ones are untouched; params without grad are ignored', () => {
  const a = zeros([2]).requiresGrad_(), b = zeros([1]).requiresGrad_(), c = zeros([3]).requiresGrad_()
  a.grad = tensor([3, 0]); b.grad = tensor([4])
  assert.is(optim.clipGradNorm([a, b, c], 1), 5)
  assertClose(a.grad, [0.6, 0], { atol: 1e-6 })
  assertClose(b.grad, [0.8], { atol: 1e-6 })
  const g = a.grad
  assert.ok(Math.abs(optim.clipGradNorm(a, 10) - 0.6) < 1e-6)
  assert.is(a.grad, g)
  assertClose(a.grad, [0.6, 0], { atol: 1e-6 })
  assert.is(optim.clipGradNorm([c], 1), 0)
})

test('clipGradNorm: errorIfNonfinite', () => {
  const p = zeros([2]).requiresGrad_()
  p.grad = tensor([Infinity, 1])
  assertThrows(() => optim.clipGradNorm([p], 1, 2, { errorIfNonfinite: true }), /non-finite/)
  assert.is(optim.clipGradNorm([p], 1), Infinity)
  p.grad = tensor([NaN, 1])
  assert.ok(Number.isNaN(optim.clipGradNorm([p], 1, Infinity)))
  assertThrows(() => optim.clipGradNorm([p], 1, 0), /normType must be positive/)
})

test('clipGradValue clamps every element to [-clip, clip]', () => {
  const p = zeros([2, 2]).requiresGrad_()
  p.grad = tensor([[-3, 0.2], [0.7, -0.1]])
  optim.clipGradValue([p], 0.5)
  assertClose(p.grad, [[-0.5, 0.2], [0.5, -0.1]])
  assertThrows(() => optim.clipGradValue([p], -1), /clip must be >= 0/)
})

test.run()

/**
 * @file linalg.pinv / linalg.lstsq (src/linalg/pinv.ts): the four Penrose conditions on tall, wide
 * and rank-deficient matrices; the inverse of a square invertible matrix; lstsq against the normal
 * equations' solution and an exact linear system.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, randn, tensor } from '../../src/index.ts'
import { pinv, lstsq } from '../../src/linalg/pinv.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const g = new Generator(5)

test('Penrose conditions: A A⁺ A = A, A⁺ A A⁺ = A⁺, A A⁺ and A⁺ A symmetric (tall, wide, rank-deficient)', () => {
  const rankDeficient = randn([7, 2], { generator: g, dtype: 'float64' }).matmul(randn([2, 5], { generator: g, dtype: 'float64' })) // rank 2
  for (const a of [randn([9, 4], { generator: g, dtype: 'float64' }), randn([3, 6], { generator: g, dtype: 'float64' }), rankDeficient, rankDeficient.mT.contiguous()]) {
    const p = pinv(a)
    assert.equal(p.shape, [a.shape[1], a.shape[0]])
    assertClose(a.matmul(p).matmul(a), a, { atol: 1e-10 })
    assertClose(p.matmul(a).matmul(p), p, { atol: 1e-10 })
    const ap = a.matmul(p), pa = p.matmul(a)
    assertClose(ap, ap.mT, { atol: 1e-10 })
    assertClose(pa, pa.mT, { atol: 1e-10 })
  }
})

test('square invertible: pinv = inverse; float32 in, float32 out', () => {
  const a = tensor([[2, 1], [1, 3]], { dtype: 'float32' })
  const p = pinv(a)
  assert.is(p.dtype, 'float32')
  assertClose(p, [[0.6, -0.2], [-0.2, 0.4]], { atol: 1e-6 })
})

test('lstsq: exact system recovered; overdetermined solution satisfies the normal equations', () => {
  const a = randn([20, 4], { generator: g, dtype: 'float64' }), xTrue = randn([4, 3], { generator: g, dtype: 'float64' })
  assertClose(lstsq(a, a.matmul(xTrue)), xTrue, { atol: 1e-10 })
  const b = randn([20, 3], { generator: g, dtype: 'float64' })
  const x = lstsq(a, b)
  assertClose(a.mT.matmul(a.matmul(x).sub(b)), [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], { atol: 1e-10 }) // Aᵀ(AX − B) = 0
  const v = lstsq(a, b.select(1, 0).contiguous())
  assertClose(v, x.select(1, 0), { atol: 1e-12 })
  assertThrows(() => lstsq(a, randn([5, 2])), /lstsq: B must be/)
  assertThrows(() => pinv(randn([2, 2, 2])), /pinv: expected a 2-D matrix/)
})

test.run()

/**
 * @file One-sided Jacobi SVD (src/linalg/svd.ts): A = U diag(S) Vh to 1e-12 for tall, wide and square
 * float64 matrices, orthonormal U columns and Vh rows, descending non-negative S, a known spectrum
 * (diag(3, 2, 1) under rotations), rank-deficient input still orthonormal, and Eckart–Young.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, eye, randn, tensor } from '../../src/index.ts'
import { svd } from '../../src/linalg/svd.ts'
import { qr } from '../../src/linalg/qr.ts'
import { assertClose } from '../helpers.ts'

const f64 = (shape: number[], seed: number) => randn(shape, { dtype: 'float64', generator: new Generator(seed) })

test('reconstruction and orthogonality: tall, wide, square', () => {
  for (const [m, n, seed] of [[7, 4, 1], [4, 7, 2], [6, 6, 3], [1, 5, 4], [5, 1, 5]]) {
    const A = f64([m, n], seed)
    const { U, S, Vh } = svd(A)
    const k = Math.min(m, n)
    assert.equal([U.shape, S.shape, Vh.shape], [[m, k], [k], [k, n]])
    assertClose(U.mul(S).matmul(Vh), A, { atol: 1e-12, msg: `${m}x${n}` })
    assertClose(U.mT.matmul(U), eye(k, undefined, { dtype: 'float64' }), { atol: 1e-12 })
    assertClose(Vh.matmul(Vh.mT), eye(k, undefined, { dtype: 'float64' }), { atol: 1e-12 })
    const s = Array.from(S.data())
    for (let i = 1; i < s.length; i++) assert.ok(s[i] <= s[i - 1] && s[i] >= 0)
  }
})

test('known spectrum: Q1 diag(3, 2, 1) Q2ᵀ has singular values 3, 2, 1', () => {
  const Q1 = qr(f64([5, 3], 6)).Q, Q2 = qr(f64([3, 3], 7)).Q
  const A = Q1.mul(tensor([3, 2, 1], { dtype: 'float64' })).matmul(Q2.mT)
  assertClose(svd(A).S, [3, 2, 1], { atol: 1e-13 })
})

test('rank-deficient input: U still has orthonormal columns', () => {
  const B = f64([6, 2], 8), C = f64([2, 4], 9)
  const { U, S, Vh } = svd(B.matmul(C)) // rank 2, k = 4
  assert.ok(S.data()[2] < 1e-12 && S.data()[3] < 1e-12)
  assertClose(U.mT.matmul(U), eye(4, undefined, { dtype: 'float64' }), { atol: 1e-10 })
  assertClose(U.mul(S).matmul(Vh), B.matmul(C), { atol: 1e-12 })
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { arange, promoteTypes, resultType, tensor } from '../src/index.ts'

test('promotion lattice bool < int8 < int32 < float32 < float64', () => {
  assert.is(promoteTypes('int8', 'float32'), 'float32')
  assert.is(promoteTypes('bool', 'int8'), 'int8')
  assert.is(promoteTypes('int32', 'int8'), 'int32')
  assert.is(promoteTypes('float64', 'float32'), 'float64')
})

test('numbers and 0-d tensors promote only across categories (PyTorch result_type)', () => {
  const i8 = { dtype: 'int8' as const, ndim: 1 }
  assert.is(resultType(i8, 3), 'int8')
  assert.is(resultType(i8, 0.5), 'float32')
  assert.is(resultType({ dtype: 'bool', ndim: 1 }, 2), 'int32')
  assert.is(resultType({ dtype: 'float32', ndim: 1 }, { dtype: 'float64', ndim: 0 }), 'float32')
  assert.is(resultType(i8, { dtype: 'float64', ndim: 0 }), 'float64')
  assert.is(resultType({ dtype: 'float32', ndim: 0 }, { dtype: 'float64', ndim: 0 }), 'float64')
})

test('ops follow the promotion rules', () => {
  const i8 = tensor([100, -100], { dtype: 'int8' })
  const sum = i8.add(i8)
  assert.is(sum.dtype, 'int8')
  assert.equal(sum.toArray(), [-56, 56]) // wraps like int8 arithmetic
  assert.is(i8.add(tensor([1, 1])).dtype, 'float32')
  assert.is(i8.mul(0.5).dtype, 'float32')
  assert.is(arange(3).div(2).dtype, 'float32') // true division
  assert.equal(arange(3).div(2).toArray(), [0, 0.5, 1])
  assert.equal(tensor([-7, 7], { dtype: 'int32' }).div(2, { roundingMode: 'trunc' }).toArray(), [-3, 3])
  assert.equal(tensor([-7, 7], { dtype: 'int32' }).div(2, { roundingMode: 'floor' }).toArray(), [-4, 3])
  assert.is(tensor([true, false]).sum().dtype, 'int32')
  assert.is(tensor([true, true]).add(tensor([true, false])).dtype, 'bool')
  assert.equal(tensor([true, true]).add(tensor([true, false])).toArray(), [true, true])
  assert.equal(tensor([1, 2], { dtype: 'int8' }).lt(300).toArray(), [true, true]) // the scalar is not wrapped
  assert.equal(tensor([2], { dtype: 'int32' }).eq(2.5).toArray(), [false])
  assert.is(tensor([1.5]).to('int32').item(), 1)
  assert.equal(tensor([0, 0.1, NaN]).bool().toArray(), [false, true, true])
})

test('int32 matmul, prod and pow wrap modulo 2^32 exactly (values checked against PyTorch 1.13)', () => {
  const a = tensor([[100000, 3]], { dtype: 'int32' }), b = tensor([[100000], [7]], { dtype: 'int32' })
  assert.equal(a.matmul(b).toArray(), [[1410065429]])
  assert.is(tensor([100000, 99999, 7], { dtype: 'int32' }).prod().item(), 1279823264)
  assert.is(tensor([3], { dtype: 'int32' }).pow(40).item(), 689956897)
  assert.is(tensor([3], { dtype: 'int32' }).pow(tensor([40], { dtype: 'int32' })).item(), 689956897)
  assert.is(tensor([3], { dtype: 'int8' }).pow(5).item(), -13) // 243 wraps to -13 in int8
})

test.run()

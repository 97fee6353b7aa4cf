import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { arange, eye, full, fromTypedArray, linspace, ones, tensor, zeros, zerosLike, onesLike, randint } from '../src/index.ts'
import { assertThrows } from './helpers.ts'

test('tensor() from nested arrays, scalars, booleans and typed arrays', () => {
  const a = tensor([[1, 2, 3], [4, 5, 6]])
  assert.equal(a.shape, [2, 3])
  assert.equal(a.strides, [3, 1])
  assert.is(a.dtype, 'float32')
  assert.equal(a.toArray(), [[1, 2, 3], [4, 5, 6]])
  const s = tensor(3.5)
  assert.equal(s.shape, [])
  assert.is(s.item(), 3.5)
  assert.is(tensor([true, false]).dtype, 'bool')
  assert.equal(tensor([true, false]).toArray(), [true, false])
  assert.is(tensor(new Int32Array([1, 2])).dtype, 'int32')
  assert.is(tensor(new Int8Array([1, -2])).dtype, 'int8')
  assert.equal(tensor([1.7, -1.7], { dtype: 'int32' }).toArray(), [1, -1]) // truncation toward zero
  assert.equal(tensor([[]]).shape, [1, 0])
})

test('tensor() rejects ragged data and ambiguous Uint8Array', () => {
  assertThrows(() => tensor([[1, 2], [3]]), /tensor: ragged nested array/)
  assertThrows(() => tensor(new Uint8Array([1])), /Uint8Array data is ambiguous/)
  assertThrows(() => tensor([1], { dtype: 'float16' as never }), /unknown dtype "float16"/)
})

test('factories: zeros, ones, full, eye, *Like', () => {
  assert.equal(zeros([2, 2]).toArray(), [[0, 0], [0, 0]])
  assert.equal(ones([3], { dtype: 'int8' }).toArray(), [1, 1, 1])
  assert.equal(full([2], 7).toArray(), [7, 7])
  assert.equal(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]])
  const x = tensor([1, 2], { dtype: 'float64' })
  assert.is(zerosLike(x).dtype, 'float64')
  assert.equal(onesLike(x).toArray(), [1, 1])
  assertThrows(() => zeros([2, -1]), /zeros|full: shape must be a list of non-negative integers/)
})

test('arange and linspace follow PyTorch', () => {
  assert.equal(arange(5).toArray(), [0, 1, 2, 3, 4])
  assert.is(arange(5).dtype, 'int32')
  assert.equal(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75])
  assert.is(arange(0, 1, 0.5).dtype, 'float32')
  assert.equal(arange(5, 0, -2).toArray(), [5, 3, 1])
  assert.equal(arange(3, 3).shape, [0])
  assert.equal(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1])
  assert.equal(linspace(-1, 1, 1).toArray(), [-1])
  assert.is(linspace(0, 0.3, 7).data()[6], Math.fround(0.3)) // the end point is exact
  assertThrows(() => arange(0, 1, 0), /arange: need finite bounds and a nonzero step/)
})

test('fromTypedArray wraps without copying', () => {
  const buf = new Float32Array([1, 2, 3, 4])
  const t = fromTypedArray(buf, [2, 2])
  buf[0] = 9
  assert.equal(t.toArray(), [[9, 2], [3, 4]])
  assertThrows(() => fromTypedArray(buf, [3]), /needs 3 elements, the array has 4/)
})

test('data() is a contiguous copy and item() needs one element', () => {
  const x = tensor([[1, 2], [3, 4]]).T
  const d = x.data()
  assert.equal(Array.from(d), [1, 3, 2, 4])
  d[0] = 100
  assert.equal(x.toArray(), [[1, 3], [2, 4]])
  assertThrows(() => x.item(), /item: only one-element tensors can be converted to a number, got shape \[2,2\]/)
  assert.is(randint(0, 5, [1, 1, 1]).item() >= 0, true)
})

test('toString prints like PyTorch', () => {
  assert.is(tensor([[1, 2], [3, 4]]).toString(), 'tensor([[1., 2.],\n        [3., 4.]])')
  assert.is(tensor([0.5, -1.25]).toString(), 'tensor([ 0.5000, -1.2500])')
  assert.is(tensor([1e-5, 1]).toString(), 'tensor([1.0000e-05, 1.0000e+00])')
  assert.is(tensor([NaN, Infinity, 1]).toString(), 'tensor([nan, inf, 1.])')
  assert.is(tensor([1, 2], { dtype: 'int8' }).toString(), 'tensor([1, 2], dtype=int8)')
  assert.is(tensor([true, false]).toString(), 'tensor([ True, False])')
  assert.is(tensor(2).toString(), 'tensor(2.)')
  assert.is(tensor([1], { requiresGrad: true }).toString(), 'tensor([1.], requiresGrad=true)')
  assert.is(tensor([1], { requiresGrad: true }).mul(2).toString(), 'tensor([2.], gradFn=<mul>)')
  assert.is(zeros([0, 3]).toString(), 'tensor([], size=[0, 3])')
  const big = arange(2000).reshape([2, 1000]).toString()
  assert.is(big, 'tensor([[   0,    1,    2,  ...,  997,  998,  999],\n        [1000, 1001, 1002,  ..., 1997, 1998, 1999]])')
})

test.run()

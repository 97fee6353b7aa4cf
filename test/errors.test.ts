import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { arange, cat, F, ones, randn, stack, tensor, TesseraError, zeros } from '../src/index.ts'
import { assertThrows } from './helpers.ts'

test('errors are TesseraErrors that name the op, the argument and the shapes', () => {
  try {
    zeros([2, 3]).matmul(zeros([4, 5]))
    assert.unreachable()
  } catch (e) {
    assert.ok(e instanceof TesseraError)
    assert.is((e as Error).message, 'matmul: inner dimensions differ: a is [2,3], b is [4,5]')
  }
})

test('shape errors', () => {
  assertThrows(() => zeros([2, 3]).add(zeros([4, 3])), /add: shapes \[2,3\] and \[4,3\] cannot be broadcast together \(dim 0: 2 vs 4\)/)
  assertThrows(() => zeros([3]).matmul(zeros([4])), /matmul: inner dimensions differ: a is \[3\], b is \[4\]/)
  assertThrows(() => tensor(1).matmul(zeros([1])), /matmul: both arguments need at least 1 dimension/)
  assertThrows(() => zeros([2, 3]).reshape([4, 2]), /reshape: shape \[4,2\] is invalid for input of shape \[2,3\] \(6 elements\)/)
  assertThrows(() => zeros([2, 3]).expand([3, 3]), /expand: cannot expand \[2,3\] to \[3,3\] \(dim 0\)/)
  assertThrows(() => zeros([2, 3]).permute([0, 0]), /permute: dims \[0,0\] repeat a dim/)
  assertThrows(() => zeros([2, 3]).permute([0]), /permute: got 1 dims \[0\] for a tensor of rank 2/)
  assertThrows(() => cat([zeros([2, 3]), zeros([2, 4])], 0), /cat: tensor 1 has shape \[2,4\], expected \[-1,3\]/)
  assertThrows(() => stack([zeros([2]), zeros([3])]), /stack: tensor 1 has shape \[3\], expected \[2\]/)
  assertThrows(() => zeros([2, 3]).narrow(1, 2, 2), /narrow: start 2 with length 2 is out of range for dim 1 of size 3/)
  assertThrows(() => zeros([2]).select(0, 2), /select: index 2 is out of range for dim 0 of size 2/)
  assertThrows(() => F.pad(zeros([2]), [1, 1, 1, 1]), /pad: pads must have an even length of at most 2 \* rank \(2\), got 4/)
  assertThrows(() => F.pad(zeros([2]), [-1, 1]), /pad: pads must be non-negative integers/)
  assertThrows(() => zeros([2]).split([1, 2]), /split: sizes \[1,2\] do not sum to dim 0 of size 2/)
})

test('dim errors', () => {
  assertThrows(() => zeros([2, 3]).sum(2), /sum: dim 2 is out of range for a tensor of rank 2 \(expected -2\.\.1\)/)
  assertThrows(() => zeros([2, 3]).sum([0, -2]), /sum: dim 0 appears more than once/)
  assertThrows(() => zeros([2, 3]).softmax(-3), /softmax: dim -3 is out of range/)
  assertThrows(() => zeros([2, 3]).transpose(0, 5), /transpose: dim 5 is out of range/)
  assertThrows(() => zeros([2]).unsqueeze(3), /unsqueeze: dim 3 is out of range for a tensor of rank 2/)
})

test('dtype errors', () => {
  const i = arange(4)
  assertThrows(() => i.mean(), /mean: input dtype int32 is not floating point; cast it first/)
  assertThrows(() => i.softmax(0), /softmax: input dtype int32 is not floating point/)
  assertThrows(() => tensor([true]).neg(), /neg: negation of a bool tensor is not supported/)
  assertThrows(() => tensor([true]).sub(tensor([false])), /sub: subtraction of bool tensors is not supported/)
  assertThrows(() => i.pow(-1), /pow: integers to negative integer powers are not allowed/)
  assertThrows(() => i.div(0, { roundingMode: 'floor' }), /div: integer division by zero \(roundingMode 'floor'\)/)
  assertThrows(() => F.where(tensor([1]), 1, 2), /where: condition must be a bool tensor, got float32/)
  assertThrows(() => randn([2]).gather(0, tensor([0])), /gather: index must be an int32 tensor, got float32/)
})

test('index errors', () => {
  const x = randn([3, 4])
  assertThrows(() => x.gather(1, tensor([[0, 4]], { dtype: 'int32' })), /gather: index 4 is out of bounds for dim of size 4/)
  assertThrows(() => x.gather(1, tensor([0], { dtype: 'int32' })), /gather: index has rank 1 but input has rank 2/)
  assertThrows(() => x.indexSelect(0, tensor([-1], { dtype: 'int32' })), /indexSelect: index -1 is out of bounds for dim of size 3/)
  assertThrows(() => x.indexAdd(0, tensor([0], { dtype: 'int32' }), ones([2, 4])), /indexAdd: src must have shape \[1,4\]/)
  assertThrows(() => x.scatter(0, tensor([[5]], { dtype: 'int32' }), 1), /scatter: index 5 is out of bounds for dim of size 3/)
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { arange, noGrad, randn, tensor, zeros, Generator } from '../src/index.ts'
import { assertThrows } from './helpers.ts'

test('views share storage: reshape, permute, transpose, slice, expand, squeeze, unsqueeze', () => {
  const x = arange(12).reshape([3, 4])
  const views = [x.reshape([4, 3]), x.permute([1, 0]), x.T, x.mT, x.slice(1, 0, 4, 2), x.narrow(0, 1, 2),
    x.unsqueeze(0).expand([2, 3, 4]), x.unsqueeze(1).squeeze(1), x.flatten(), x.unflatten(1, [2, 2]), x.select(0, 1), x.view([12])]
  for (const v of views) assert.ok(v.storage === x.storage, 'shares storage')
  x.fill_(5)
  for (const v of views) assert.ok(Array.from(v.data()).every((e) => e === 5))
})

test('strides and offsets of views', () => {
  const x = arange(24).reshape([2, 3, 4])
  const p = x.permute([2, 0, 1])
  assert.equal(p.shape, [4, 2, 3])
  assert.equal(p.strides, [1, 12, 4])
  const s = x.slice(2, 1, 4, 2)
  assert.equal(s.shape, [2, 3, 2])
  assert.equal(s.strides, [12, 4, 2])
  assert.is(s.offset, 1)
  assert.equal(s.toArray(), [[[1, 3], [5, 7], [9, 11]], [[13, 15], [17, 19], [21, 23]]])
  const e = tensor([[1], [2]]).expand([2, 3])
  assert.equal(e.strides, [1, 0])
  assert.equal(e.toArray(), [[1, 1, 1], [2, 2, 2]])
  assert.equal(x.slice(1, -2).shape, [2, 2, 4]) // negative start counts from the end
  assert.equal(x.slice(1, 5, 9).shape, [2, 0, 4]) // clamped like Python slicing
})

test('reshape copies only when a view is impossible; view() refuses', () => {
  const x = arange(6).reshape([2, 3])
  const t = x.T
  const r = t.reshape([6])
  assert.ok(r.storage !== x.storage)
  assert.equal(r.toArray(), [0, 3, 1, 4, 2, 5])
  assertThrows(() => t.view([6]), /view: shape \[3,2\] with strides \[1,3\] cannot be viewed as \[6\] without a copy; use reshape\(\)/)
  // A permuted tensor whose merged dims stay contiguous can still be viewed.
  const y = arange(24).reshape([2, 3, 4]).permute([1, 0, 2])
  assert.equal(y.reshape([3, 2, 2, 2]).storage === y.storage, true)
  assert.equal(x.reshape([-1, 2]).shape, [3, 2])
  assertThrows(() => x.reshape([4, -1]), /reshape: cannot infer -1 in \[4,-1\] for 6 elements/)
})

test('contiguous() returns itself when already contiguous, copies otherwise; clone() always copies', () => {
  const x = randn([3, 4], { generator: new Generator(1) })
  assert.ok(x.contiguous() === x)
  const t = x.T.contiguous()
  assert.ok(t.storage !== x.storage)
  assert.ok(t.isContiguous())
  assert.equal(t.toArray(), x.T.toArray())
  const c = x.clone()
  c.fill_(0)
  assert.not.equal(x.toArray(), c.toArray())
})

test('in-place ops write through views and bump the version counter', () => {
  const x = zeros([2, 3])
  const row = x.select(0, 1)
  const v0 = x.version
  row.add_(tensor([1, 2, 3]))
  assert.equal(x.toArray(), [[0, 0, 0], [1, 2, 3]])
  assert.is(x.version, v0 + 1)
  x.T.mul_(2) // strided target
  assert.equal(x.toArray(), [[0, 0, 0], [2, 4, 6]])
  x.slice(1, 0, 3, 2).fill_(-1)
  assert.equal(x.toArray(), [[-1, 0, -1], [-1, 4, -1]])
  x.clamp_(0, 3)
  assert.equal(x.toArray(), [[0, 0, 0], [0, 3, 0]])
  x.copy_(tensor([7, 8, 9])) // broadcast source
  assert.equal(x.toArray(), [[7, 8, 9], [7, 8, 9]])
  x.maskedFill_(x.gt(7.5), 0)
  assert.equal(x.toArray(), [[7, 0, 0], [7, 0, 0]])
  x.sub_(1, 2).div_(2)
  assert.equal(x.toArray(), [[2.5, -1, -1], [2.5, -1, -1]])
  assert.is(x.version, v0 + 8)
})

test('in-place dtype rules: int tensors cannot take float results', () => {
  const i = tensor([1, 2], { dtype: 'int32' })
  i.add_(3)
  assert.equal(i.toArray(), [4, 5])
  assertThrows(() => i.add_(0.5), /add_: result dtype float32 cannot be cast to int32 in place/)
  assertThrows(() => i.add_(tensor([[1, 2], [3, 4]], { dtype: 'int32' })), /add_: result of shape \[2,2\] cannot be written into a tensor of shape \[2\]/)
})

test('uniform_ and normal_ are seeded', () => {
  const a = zeros([5]).uniform_(-1, 1, new Generator(4))
  const b = zeros([5]).uniform_(-1, 1, new Generator(4))
  assert.equal(a.toArray(), b.toArray())
  assert.ok(Array.from(a.data()).every((v) => v >= -1 && v < 1))
  const n = zeros([1000]).normal_(3, 0.5, new Generator(2))
  assert.ok(Math.abs(n.mean().item() - 3) < 0.06)
})

test('in-place on a tensor that requires grad is refused unless inside noGrad', () => {
  const w = randn([2]).requiresGrad_()
  assertThrows(() => w.add_(1), /add_: in-place operation on a tensor that requires grad; do it inside noGrad\(\)/)
  noGrad(() => w.add_(1))
})

test('split, chunk, stack, repeat, roll, tril, triu', () => {
  const x = arange(10)
  assert.equal(x.split(4).map((t) => t.toArray()), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
  assert.equal(x.split([2, 8]).map((t) => t.shape), [[2], [8]])
  assert.equal(x.chunk(3).map((t) => t.shape[0]), [4, 4, 2])
  assert.equal(x.roll(3, 0).toArray(), [7, 8, 9, 0, 1, 2, 3, 4, 5, 6])
  assert.equal(x.roll(-1, 0).toArray(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 0])
  assert.equal(tensor([[1, 2]]).repeat([2, 2]).toArray(), [[1, 2, 1, 2], [1, 2, 1, 2]])
  const m = arange(9).reshape([3, 3])
  assert.equal(m.tril().toArray(), [[0, 0, 0], [3, 4, 0], [6, 7, 8]])
  assert.equal(m.triu(1).toArray(), [[0, 1, 2], [0, 0, 5], [0, 0, 0]])
})

test.run()

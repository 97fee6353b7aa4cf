import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { customOp, enableGrad, Generator, isGradEnabled, noGrad, ones, randn, tensor } from '../src/index.ts'
import { assertClose, assertThrows } from './helpers.ts'

test('x.matmul(w).relu().sum().backward() gives the textbook gradient', () => {
  const x = tensor([[1, -2], [3, 4]])
  const w = tensor([[1, 0, -1], [2, 1, 0]], { requiresGrad: true })
  x.matmul(w).relu().sum().backward()
  // x w = [[-3,-2,-1],[11,4,-3]]; relu passes only (1,0),(1,1); dW = x^T mask
  assert.equal(w.grad!.toArray(), [[3, 3, 0], [4, 4, 0]])
})

test('gradients accumulate across backward calls until zeroed', () => {
  const w = tensor([1, 2, 3], { requiresGrad: true })
  w.mul(w).sum().backward()
  w.mul(w).sum().backward()
  assert.equal(w.grad!.toArray(), [4, 8, 12])
  w.grad = null
  w.sum().backward()
  assert.equal(w.grad!.toArray(), [1, 1, 1])
})

test('a tensor used twice gets the sum of both paths', () => {
  const x = tensor([2], { requiresGrad: true })
  const y = x.mul(x).add(x.mul(3)) // dy/dx = 2x + 3
  y.backward(ones([1]))
  assert.equal(x.grad!.toArray(), [7])
})

test('leaf gradients are independent copies (optimizers write them in place)', () => {
  const a = tensor([1, 2], { requiresGrad: true })
  const b = tensor([3, 4], { requiresGrad: true })
  a.add(b).sum().backward()
  a.grad!.mul_(10)
  assert.equal(b.grad!.toArray(), [1, 1])
  assert.ok(a.grad!.isContiguous())
})

test('noGrad and enableGrad control recording', () => {
  const w = randn([3]).requiresGrad_()
  const y = noGrad(() => w.mul(2))
  assert.is(y.requiresGrad, false)
  assert.is(y.gradFn, null)
  noGrad(() => {
    assert.is(isGradEnabled(), false)
    const z = enableGrad(() => w.mul(2))
    assert.is(z.requiresGrad, true)
  })
  assert.is(isGradEnabled(), true)
})

test('detach cuts the graph and shares storage', () => {
  const w = tensor([1, 2], { requiresGrad: true })
  const d = w.mul(2).detach()
  assert.is(d.requiresGrad, false)
  const y = w.mul(d).sum()
  y.backward()
  assert.equal(w.grad!.toArray(), [2, 4])
})

test('backward through a freed graph asks for retainGraph; retainGraph allows a second pass', () => {
  const x = tensor([1, 2], { requiresGrad: true })
  const y = x.exp().sum()
  y.backward()
  assertThrows(() => y.backward(), /backward: trying to backward through exp a second time, but its saved tensors were freed; pass \{retainGraph: true\}/)
  const z = x.exp().sum()
  x.grad = null
  z.backward(undefined, { retainGraph: true })
  z.backward()
  assertClose(x.grad!, [2 * Math.E, 2 * Math.exp(2)], { rtol: 1e-6 })
})

test('changing a saved tensor in place is caught at backward', () => {
  const a = tensor([1, 2], { requiresGrad: true })
  const b = tensor([3, 4])
  const y = a.mul(b).sum()
  b.add_(1)
  assertThrows(() => y.backward(), /backward: a tensor of shape \[2\] saved by mul was modified by an in-place operation \(version 0 when saved, 1 now\)/)
  // add saves nothing, so changing its input afterwards is harmless
  const c = tensor([1, 1])
  const z = a.add(c).sum()
  c.add_(5)
  a.grad = null
  z.backward()
  assert.equal(a.grad!.toArray(), [1, 1])
})

test('hooks see and may replace gradients; retainGrad keeps non-leaf grads', () => {
  const x = tensor([1, 2, 3], { requiresGrad: true })
  const h = x.mul(2)
  h.retainGrad()
  const seen: number[][] = []
  h.registerHook((g) => { seen.push(g.toArray() as number[]) })
  const handle = x.registerHook((g) => g.mul(10))
  h.sum().backward()
  assert.equal(seen, [[1, 1, 1]])
  assert.equal(h.grad!.toArray(), [1, 1, 1])
  assert.equal(x.grad!.toArray(), [20, 20, 20])
  handle.remove()
  x.grad = null
  x.mul(2).sum().backward()
  assert.equal(x.grad!.toArray(), [2, 2, 2])
})

test('backward needs a gradient for non-scalar outputs and a graph to walk', () => {
  const x = tensor([1, 2], { requiresGrad: true })
  assertThrows(() => x.mul(2).backward(), /backward: grad can be implicitly created only for a single-element output; got shape \[2\]/)
  assertThrows(() => tensor([1]).backward(), /backward: tensor does not require grad and has no grad function/)
  assertThrows(() => x.mul(2).backward(tensor([1, 2, 3])), /backward: gradient has shape \[3\] but the tensor has shape \[2\]/)
  assertThrows(() => tensor([1], { dtype: 'int32' }).requiresGrad_(), /requiresGrad_: only floating point tensors can require gradients, got int32/)
  assertThrows(() => x.mul(2).requiresGrad_(false), /can only change requiresGrad of leaf tensors/)
})

test('second-order gradient with createGraph', () => {
  const x = tensor([0.5, -1], { dtype: 'float64', requiresGrad: true })
  const y = x.pow(3).sum()
  y.backward(undefined, { createGraph: true })
  const g = x.grad! // 3 x^2, itself differentiable
  assert.ok(g.requiresGrad)
  x.grad = null
  g.sum().backward()
  assertClose(x.grad!, [3, -6]) // 6 x
})

test('custom ops: user forward and backward', () => {
  const calls: string[] = []
  const cube = customOp({
    name: 'cube',
    forward: (ctx, x) => { calls.push('fwd'); ctx.save(x); return x.mul(x).mul(x) },
    backward: (ctx, g) => { calls.push('bwd'); return [g.mul(ctx.saved[0].pow(2)).mul(3)] },
  })
  const x = tensor([1, 2], { requiresGrad: true })
  const y = cube(x)
  assert.is(y.gradFn!.name, 'cube')
  y.sum().backward()
  assert.equal(x.grad!.toArray(), [3, 12])
  assert.equal(calls, ['fwd', 'bwd'])
  const broken = customOp({ name: 'broken', forward: (_c, a) => a.mul(1), backward: () => [] })
  assertThrows(() => broken(x).sum().backward(), /broken: backward returned 0 gradients for 1 inputs/)
  const identity = customOp({ name: 'identity', forward: (_c, a) => a, backward: (_c, g) => [g] })
  const out = identity(x)
  assert.ok(out !== x && x.gradFn === null, 'a returned input is detached, not hijacked')
})

test('a deep chain of 20000 ops backpropagates without overflowing the stack', () => {
  const x = tensor([1], { requiresGrad: true })
  let y = x
  for (let i = 0; i < 20000; i++) y = y.add(1)
  y.sum().backward()
  assert.equal(x.grad!.toArray(), [1])
})

test('int inputs get no gradient; float32 and float64 mix casts gradients back', () => {
  const a = tensor([1, 2], { requiresGrad: true }) // float32
  const b = tensor([3, 4], { dtype: 'float64', requiresGrad: true })
  const y = a.mul(b)
  assert.is(y.dtype, 'float64')
  y.sum().backward()
  assert.is(a.grad!.dtype, 'float32')
  assert.is(b.grad!.dtype, 'float64')
  assert.equal(a.grad!.toArray(), [3, 4])
  const i = tensor([1, 2], { dtype: 'int32' })
  const z = a.mul(i).sum()
  a.grad = null
  z.backward()
  assert.equal(a.grad!.toArray(), [1, 2])
})

test('broadcast gradients are summed back to each input shape', () => {
  const a = randn([3, 1], { generator: new Generator(1) }).requiresGrad_()
  const b = randn([4], { generator: new Generator(2) }).requiresGrad_()
  a.mul(b).sum().backward()
  assert.equal(a.grad!.shape, [3, 1])
  assert.equal(b.grad!.shape, [4])
  assertClose(a.grad!, Array(3).fill(b.sum().item()), { rtol: 1e-5 })
  assertClose(b.grad!, Array(4).fill(a.sum().item()), { rtol: 1e-5 })
})

test.run()

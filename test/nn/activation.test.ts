/**
 * @file Activation and shape modules: each equals its functional form (those are tested against
 * PyTorch in test/ops), keeps gradients flowing, and Dropout follows training mode and its seed.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, manualSeed, nn, ones, randn, type Tensor } from '../../src/index.ts'
import { assertThrows } from '../helpers.ts'

test('elementwise activations equal their functional forms', () => {
  const x = randn([3, 4], { generator: new Generator(1) })
  const pairs: [nn.Module & { forward(x: Tensor): Tensor }, Tensor][] = [
    [new nn.ReLU(), x.relu()],
    [new nn.LeakyReLU(0.2), F.leakyRelu(x, 0.2)],
    [new nn.LeakyReLU(), F.leakyRelu(x, 0.01)],
    [new nn.ELU(0.5), F.elu(x, 0.5)],
    [new nn.GELU(), F.gelu(x)],
    [new nn.GELU({ approximate: 'tanh' }), F.gelu(x, 'tanh')],
    [new nn.SiLU(), F.silu(x)],
    [new nn.Sigmoid(), F.sigmoid(x)],
    [new nn.Tanh(), F.tanh(x)],
    [new nn.Softplus({ beta: 2, threshold: 1 }), F.softplus(x, 2, 1)],
    [new nn.Softmax(0), F.softmax(x, 0)],
    [new nn.LogSoftmax(-1), F.logSoftmax(x, -1)],
  ]
  for (const [m, expected] of pairs) assert.equal(m.forward(x).toArray(), expected.toArray(), m.constructor.name)
  const id = new nn.Identity()
  assert.is(id.forward(x), x)
  assert.is(new nn.Sequential(new nn.Linear(4, 3), new nn.GELU(), new nn.Linear(3, 2)).parameters().length, 4, 'activations have no parameters')
  assertThrows(() => new nn.GELU({ approximate: 'fast' as 'tanh' }), /GELU: approximate must be 'none' or 'tanh', got "fast"/)
})

test('gradients flow through activation modules', () => {
  const x = randn([5], { generator: new Generator(2) }).requiresGrad_()
  new nn.Sequential(new nn.SiLU(), new nn.Tanh(), new nn.Softmax(0)).forward<Tensor>(x).mul(randn([5])).sum().backward()
  assert.ok(x.grad && x.grad.abs().sum().item() > 0)
})

test('Flatten and Unflatten', () => {
  const x = randn([2, 3, 4, 5])
  assert.equal(new nn.Flatten().forward(x).shape, [2, 60])
  assert.equal(new nn.Flatten(0, 2).forward(x).shape, [24, 5])
  assert.equal(new nn.Unflatten(1, [2, -1]).forward(new nn.Flatten().forward(x)).shape, [2, 2, 30])
  assertThrows(() => new nn.Unflatten(1, [7, -1]).forward(randn([2, 60])), /unflatten: sizes \[7,-1\] do not multiply to dim 1 of size 60/)
})

test('Dropout: identity in eval and for p = 0, zeros for p = 1, scaled survivors, seeded masks', () => {
  const x = ones([100, 100])
  const d = new nn.Dropout(0.3, { seed: 1 })
  const y = d.forward(x)
  const kept = Array.from(y.data()).filter((v) => v !== 0)
  assert.ok(Math.abs(kept.length / 1e4 - 0.7) < 0.02, `keep rate ${kept.length / 1e4}`)
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-6), 'survivors scaled by 1/(1-p)')
  assert.equal(new nn.Dropout(0.3, { seed: 1 }).forward(x).toArray(), y.toArray(), 'same seed, same mask')
  assert.not.equal(d.forward(x).toArray(), y.toArray(), 'the module generator advances')
  d.eval()
  assert.is(d.forward(x), x)
  assert.is(new nn.Dropout(0).forward(x), x)
  assert.equal(new nn.Dropout(1).forward(x).sum().item(), 0)
  const g = new Generator(3)
  const a = new nn.Dropout(0.5, { generator: g })
  assert.is(a.generator, g, 'a given generator is shared')
  manualSeed(11)
  const m1 = new nn.Dropout(0.5).forward(x)
  manualSeed(11)
  assert.equal(new nn.Dropout(0.5).forward(x).toArray(), m1.toArray(), 'without seed: the default generator, as PyTorch')
  assertThrows(() => new nn.Dropout(1.2), /Dropout: p must be in \[0, 1\], got 1.2/)
})

test.run()

/** @file peft.LoRA and applyLoRA (Hu et al. 2021): init, Eqn (3), merge round trip, dropout, freezing, MeZO through LoRA. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { nn, randn, noGrad, Generator, type Tensor } from '../../src/index.ts'
import { LoRA, applyLoRA, trainableParameters } from '../../src/peft/index.ts'
import { MeZO } from '../../src/optim/mezo.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const gen = (s: number): Generator => new Generator(s)

test('LoRA: B = 0 and A ~ kaiming-uniform(a = √5) (bound 1/√in), so the output starts equal to the base', () => {
  const base = new nn.Linear(16, 8, { generator: gen(1) })
  const layer = new LoRA(base, { r: 4, alpha: 8, generator: gen(2) })
  assert.equal(layer.loraA.shape, [4, 16])
  assert.equal(layer.loraB.shape, [8, 4])
  assert.ok(Array.from(layer.loraB.storage).every((v) => v === 0))
  const a = Array.from(layer.loraA.storage)
  assert.ok(a.every((v) => Math.abs(v) <= 1 / 4) && a.some((v) => Math.abs(v) > 0.15), 'A spans U(-1/√16, 1/√16)')
  assert.is(layer.scaling, 2)
  const x = randn([5, 16], { generator: gen(3) })
  assertClose(layer.forward(x), base.forward(x), { atol: 0, rtol: 0 })
})

test('LoRA: forward is Eqn (3), h = W₀x + b + (α/r)·B A x', () => {
  const base = new nn.Linear(6, 3, { generator: gen(1) })
  const layer = new LoRA(base, { r: 2, alpha: 3, generator: gen(2) })
  noGrad(() => layer.loraB.copy_(randn([3, 2], { generator: gen(4) })))
  const x = randn([4, 6], { generator: gen(5) })
  const BA = layer.loraB.matmul(layer.loraA) // (3, 6)
  const expected = base.forward(x).add(x.matmul(BA.T).mul(1.5))
  assertClose(layer.forward(x), expected, { atol: 1e-6, rtol: 1e-5 })
})

test('LoRA: merge() gives the same outputs and unmerge() restores W₀ within float rounding', () => {
  const base = new nn.Linear(8, 5, { generator: gen(1) })
  const layer = new LoRA(base, { r: 3, alpha: 6, generator: gen(2) })
  noGrad(() => layer.loraB.copy_(randn([5, 3], { generator: gen(3) })))
  const W0 = Array.from(base.weight.storage)
  const x = randn([7, 8], { generator: gen(4) })
  const y = layer.forward(x)
  layer.merge()
  assert.ok(layer.merged)
  assert.not.equal(Array.from(base.weight.storage), W0)
  assertClose(layer.forward(x), y, { atol: 1e-5, rtol: 1e-5 })
  assertThrows(() => layer.merge(), /already merged/)
  layer.unmerge()
  assertClose(base.weight, [W0], { atol: 1e-6, rtol: 0 })
  assertClose(layer.forward(x), y, { atol: 1e-5, rtol: 1e-5 })
  assertThrows(() => layer.unmerge(), /not merged/)
})

test('LoRA: dropout acts on the LoRA path only, and only in training mode', () => {
  const base = new nn.Linear(10, 4, { generator: gen(1) })
  const layer = new LoRA(base, { r: 2, dropout: 0.5, generator: gen(2) })
  const x = randn([3, 10], { generator: gen(3) })
  assertClose(layer.forward(x), base.forward(x), { atol: 0, rtol: 0, msg: 'B = 0: nothing of the base path is dropped' })
  noGrad(() => layer.loraB.fill_(1))
  const train1 = layer.forward(x), train2 = layer.forward(x)
  assert.not.equal(Array.from(train1.data()), Array.from(train2.data()))
  layer.eval()
  const e1 = layer.forward(x)
  assertClose(e1, layer.forward(x), { atol: 0, rtol: 0 })
  assertClose(e1, base.forward(x).add(x.matmul(layer.loraA.T).matmul(layer.loraB.T)), { atol: 1e-5, rtol: 1e-5 })
})

test('LoRA: the base is frozen; backward reaches only A and B (A gets zero grad while B = 0)', () => {
  const base = new nn.Linear(6, 4, { generator: gen(1) })
  const layer = new LoRA(base, { r: 2, generator: gen(2) })
  assert.is(base.weight.requiresGrad, false)
  assert.is(base.bias!.requiresGrad, false)
  layer.forward(randn([5, 6], { generator: gen(3) })).square().sum().backward()
  assert.is(base.weight.grad, null)
  assert.ok(Array.from(layer.loraB.grad!.data()).some((v) => v !== 0))
  assert.ok(Array.from(layer.loraA.grad!.data()).every((v) => v === 0))
})

test('applyLoRA: replaces matching Linear children at any depth, freezes the rest, lists trainable names', () => {
  const model = new nn.Sequential(new nn.Linear(4, 8, { generator: gen(1) }), new nn.ReLU(), new nn.Sequential(new nn.Linear(8, 8, { generator: gen(2) }), new nn.Linear(8, 2, { generator: gen(3) })))
  const names = applyLoRA(model, { targets: (name) => name !== '2.1', r: 2, alpha: 4, generator: gen(4) })
  assert.equal(names, ['0', '2.0'])
  assert.ok((model as unknown as Record<string, unknown>)[0] instanceof LoRA)
  assert.equal(trainableParameters(model).map(([n]) => n), ['0.loraA', '0.loraB', '2.0.loraA', '2.0.loraB'])
  assert.is(model.forward<Tensor>(randn([3, 4], { generator: gen(5) })).shape.join(), '3,2')
  assertThrows(() => applyLoRA(model, { targets: /nothing/ }), /no nn.Linear layer matches/)
  assert.equal(applyLoRA(model, { targets: ['1'] }), ['2.1'], 'a second call wraps only the remaining layer, not the LoRA bases')
})

test('MeZO through LoRA: lowers the loss while every base weight stays bitwise unchanged', () => {
  const g = gen(7)
  const teacher = new nn.Linear(6, 3, { generator: g })
  const X = randn([64, 6], { generator: g })
  const Y = teacher.forward(X).detach()
  const model = new nn.Sequential(new nn.Linear(6, 3, { generator: g }))
  applyLoRA(model, { targets: /.*/, r: 2, alpha: 2, dropout: 0.1, generator: g })
  model.eval() // the paper's MeZO forwards run without dropout
  const baseBefore = model.parameters().filter((p) => !p.requiresGrad).map((p) => Array.from(p.storage))
  const loss = (): number => model.forward<Tensor>(X).sub(Y).square().mean().item()
  const start = loss()
  const opt = new MeZO(trainableParameters(model), { lr: 0.05, eps: 1e-2, seed: 3 })
  for (let i = 0; i < 800; i++) opt.step(loss)
  const end = loss()
  assert.ok(end < 0.3 * start, `loss ${start} -> ${end}`)
  assert.equal(model.parameters().filter((p) => !p.requiresGrad).map((p) => Array.from(p.storage)), baseBefore)
})

test('LoRA: clear errors', () => {
  const base = new nn.Linear(2, 2)
  assertThrows(() => new LoRA(base, { r: 0 }), /r must be an integer >= 1/)
  assertThrows(() => new LoRA(base, { dropout: 1 }), /dropout must be in \[0, 1\)/)
  assertThrows(() => new LoRA(new nn.ReLU() as unknown as nn.Linear), /only wrap an nn.Linear/)
})

test.run()

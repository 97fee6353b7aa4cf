/**
 * @file Embedding and Bilinear against PyTorch (test/fixtures/nn.json, sections `embedding` and
 * `bilinear`): outputs and gradients, the padding row's zero gradient, initialisation, gradchecks,
 * and error messages.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, gradcheck, nn, randn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fixture, load, tol, values } from './nn-fixture.ts'

const ids = (data: number[][] | number[]): Tensor => tensor(data, { dtype: 'int32' })

for (const dtype of ['float64', 'float32'] as const) {
  test(`Embedding with paddingIdx matches PyTorch: output and weight gradient (${dtype})`, () => {
    const c = fixture.embedding
    const emb = new nn.Embedding(c.num, c.dim, { paddingIdx: c.paddingIdx, dtype })
    emb.loadStateDict({ weight: load(c.weight, dtype) })
    const out = emb.forward(load(c.ids))
    assertClose(out, values(c.output), { ...tol(dtype), shape: c.output.shape })
    out.mul(load(c.v, dtype)).sum().backward()
    assertClose(emb.weight.grad!, values(c.gradWeight), tol(dtype))
    assert.equal(Array.from(emb.weight.grad!.select(0, c.paddingIdx).data()), [0, 0, 0], 'padding row gets no gradient')
  })

  test(`Bilinear matches PyTorch: outputs and gradients, 2-D and 3-D inputs (${dtype})`, () => {
    for (const c of fixture.bilinear) {
      const m = new nn.Bilinear(3, 4, 2, { dtype })
      m.loadStateDict({ weight: load(c.weight, dtype), bias: load(c.bias, dtype) })
      const x1 = load(c.x1, dtype).requiresGrad_(), x2 = load(c.x2, dtype).requiresGrad_()
      const y = m.forward(x1, x2)
      assertClose(y, values(c.output), { ...tol(dtype), shape: c.output.shape })
      y.mul(load(c.v, dtype)).sum().backward()
      const grads: Record<string, Tensor | null> = { x1: x1.grad, x2: x2.grad, weight: m.weight.grad, bias: m.bias!.grad }
      for (const [k, ref] of Object.entries(c.grads as Record<string, { data: number[] }>)) assertClose(grads[k]!, ref.data, { ...tol(dtype), msg: k })
    }
  })
}

test('padding only drops the lookup gradient: a tied use of the table still reaches the padding row', () => {
  const emb = new nn.Embedding(4, 3, { paddingIdx: -1, generator: new Generator(1) })
  assert.is(emb.paddingIdx, 3)
  assert.equal(Array.from(emb.weight.select(0, 3).data()), [0, 0, 0], 'padding row initialised to zeros')
  const h = emb.forward(ids([[3, 1, 3]])) // (1, 3, 3)
  h.matmul(emb.weight.T).sum().backward() // tied output projection uses every row
  const g = emb.weight.grad!
  assert.ok(g.select(0, 3).abs().sum().item() > 0, 'the projection still trains the padding row')
  const lookupOnly = new nn.Embedding(4, 3, { paddingIdx: 3 })
  lookupOnly.forward(ids([3, 3])).sum().backward()
  assert.equal(lookupOnly.weight.grad!.abs().sum().item(), 0)
})

test('Embedding: N(0, 1) init, fromPretrained (frozen by default), F.embedding, dtype and range errors', () => {
  const emb = new nn.Embedding(200, 50, { generator: new Generator(2) })
  const v = Array.from(emb.weight.data())
  const mean = v.reduce((a, b) => a + b) / v.length
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length)
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(sd - 1) < 0.03, `mean ${mean}, std ${sd}`)
  const w = randn([5, 2])
  const frozen = nn.Embedding.fromPretrained(w)
  assert.not.ok(frozen.weight.requiresGrad)
  assert.equal(frozen.forward(ids([4, 0])).toArray(), [w.select(0, 4).toArray(), w.select(0, 0).toArray()])
  assert.ok(nn.Embedding.fromPretrained(w, { freeze: false }).weight.requiresGrad)
  assert.equal(F.embedding(ids([[1]]), w).shape, [1, 1, 2])
  assertThrows(() => emb.forward(tensor([1, 2])), /embedding: indices must be an int32 tensor, got float32 \(shape \[2\]\)/)
  assertThrows(() => emb.forward(ids([3, 200])), /embedding: index 200 is out of range for a table of 200 rows \(indices \[2\]\)/)
  assertThrows(() => emb.forward(ids([-1])), /embedding: index -1 is out of range/)
  assertThrows(() => new nn.Embedding(5, 2, { paddingIdx: 5 }), /Embedding: paddingIdx 5 must be within \[-5, 5\)/)
})

test('Bilinear: U(-1/sqrt(in1), 1/sqrt(in1)) init, no bias option, shape errors', () => {
  const m = new nn.Bilinear(16, 3, 40, { generator: new Generator(3) })
  const v = Array.from(m.weight.data()).concat(Array.from(m.bias!.data()))
  assert.ok(v.every((x) => Math.abs(x) <= 0.25) && Math.max(...v.map(Math.abs)) > 0.24)
  assert.is(new nn.Bilinear(2, 2, 2, { bias: false }).bias, null)
  assertThrows(() => m.forward(randn([4, 16]), randn([5, 3])), /bilinear: inputs \[4,16\] and \[5,3\] do not fit weight \[40,16,3\]/)
})

test('gradcheck: embedding lookup (repeated ids; padding on an unused row) and bilinear (float64)', () => {
  const w = randn([5, 3], { dtype: 'float64', generator: new Generator(4) }).requiresGrad_()
  // Without padding: a padding row's zero gradient is by design not the derivative of the lookup.
  gradcheck((w) => F.embedding(ids([[0, 2, 2], [4, 1, 2]]), w), [w])
  gradcheck((w) => F.embedding(ids([[0, 2, 2], [4, 1, 2]]), w, 3), [w])
  const x1 = randn([2, 3], { dtype: 'float64', generator: new Generator(5) }).requiresGrad_()
  const x2 = randn([2, 4], { dtype: 'float64', generator: new Generator(6) }).requiresGrad_()
  const A = randn([2, 3, 4], { dtype: 'float64', generator: new Generator(7) }).requiresGrad_()
  const b = randn([2], { dtype: 'float64', generator: new Generator(8) }).requiresGrad_()
  gradcheck((x1, x2, A, b) => F.bilinear(x1, x2, A, b), [x1, x2, A, b])
})

test.run()

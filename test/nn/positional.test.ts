/**
 * @file Positional encodings: RoPE against the Hugging Face LLaMA formula (x cos + rotate_half(x) sin)
 * and the sinusoidal table against the PyTorch tutorial's, both computed in
 * scripts/gen_nn_fixtures.py (test/fixtures/nn.json, sections `rope` and `sinusoidal`); RoPE's
 * defining properties (norm-preserving, relative); the modules; a gradcheck.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, nn, randn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fixture, load, tol, values } from './nn-fixture.ts'

for (const dtype of ['float64', 'float32'] as const) {
  test(`applyRotaryEmbedding matches the half-split formula (${dtype})`, () => {
    for (const c of fixture.rope) {
      const pos = typeof c.positions === 'number' ? c.positions : load(c.positions)
      const out = nn.applyRotaryEmbedding(load(c.x, dtype), pos, { base: c.base, rotaryDim: c.rotaryDim })
      assert.is(out.dtype, dtype)
      assertClose(out, values(c.output), { ...tol(dtype), shape: c.output.shape, msg: c.label })
    }
  })
}

test('sinusoidalTable matches the PyTorch tutorial (even and odd D, with a start offset)', () => {
  for (const c of fixture.sinusoidal) {
    assertClose(nn.sinusoidalTable(c.L, c.D, { start: c.start }), values(c.table), { atol: 1e-12, shape: [c.L, c.D] })
  }
})

test('RoPE preserves norms and makes q.k depend only on the position difference', () => {
  const g = new Generator(1)
  const q = randn([1, 1, 16], { dtype: 'float64', generator: g }), k = randn([1, 1, 16], { dtype: 'float64', generator: g })
  const rot = (x: Tensor, p: number): Tensor => nn.applyRotaryEmbedding(x, p)
  assertClose(rot(q, 7).norm(), q.norm(), { atol: 1e-12 })
  const dot = (m: number, n: number): number => rot(q, m).mul(rot(k, n)).sum().item()
  assertClose([dot(3, 1), dot(12, 10), dot(102, 100)], [dot(2, 0), dot(2, 0), dot(2, 0)], { atol: 1e-10 })
  const x = randn([2, 5, 8], { generator: g })
  assert.equal(nn.applyRotaryEmbedding(x, 0).narrow(1, 0, 1).toArray(), x.narrow(1, 0, 1).toArray(), 'position 0 is the identity')
  assert.equal(new nn.RotaryEmbedding(8, { base: 100 }).forward(x, 3).toArray(), nn.applyRotaryEmbedding(x, 3, { base: 100 }).toArray())
  assert.equal(new nn.RotaryEmbedding(4).forward(x).narrow(-1, 4, 4).toArray(), x.narrow(-1, 4, 4).toArray(), 'features past rotaryDim pass through')
})

test('SinusoidalPositionalEncoding and LearnedPositionalEmbedding add per-position vectors with an offset', () => {
  const x = randn([2, 5, 6])
  const pe = new nn.SinusoidalPositionalEncoding(6)
  assertClose(pe.forward(x, 2), x.add(nn.sinusoidalTable(5, 6, { start: 2 }).float()), { atol: 1e-6 })
  assertClose(pe.forward(randn([1, 300, 6]).mul(0)).select(0, 0), nn.sinusoidalTable(300, 6).float(), { atol: 1e-6 })
  assert.is(pe.parameters().length, 0)
  const lpe = new nn.LearnedPositionalEmbedding(8, 6, { generator: new Generator(2) })
  assert.equal(lpe.forward(x, 3).toArray(), x.add(lpe.weight.narrow(0, 3, 5)).toArray())
  lpe.forward(x, 1).sum().backward()
  assert.equal(Array.from(lpe.weight.grad!.sum(1).data()), [0, 12, 12, 12, 12, 12, 0, 0], 'gradient reaches the used rows only (N * D = 12 each)')
  assertThrows(() => lpe.forward(x, 4), /LearnedPositionalEmbedding: positions 4 .. 8 exceed maxLen 8 \(input \[2,5,6\]\)/)
  assertThrows(() => pe.forward(randn([5, 4])), /SinusoidalPositionalEncoding: input has shape \[5,4\], expected \(..., L, 6\)/)
  assertThrows(() => nn.applyRotaryEmbedding(randn([2, 5, 6]), 0, { rotaryDim: 5 }), /rotaryDim must be a positive even number <= 6, got 5/)
  assertThrows(() => nn.applyRotaryEmbedding(randn([2, 5, 6]), tensor([0, 1, 2], { dtype: 'int32' })), /positions must be a tensor of shape \(..., 5\) for input \[2,5,6\], got \[3\]/)
})

test('gradcheck: applyRotaryEmbedding (float64)', () => {
  const x = randn([2, 3, 6], { dtype: 'float64', generator: new Generator(3) }).requiresGrad_()
  gradcheck((x) => nn.applyRotaryEmbedding(x, tensor([0, 4, 9], { dtype: 'int32' }), { rotaryDim: 4 }), [x])
})

test.run()

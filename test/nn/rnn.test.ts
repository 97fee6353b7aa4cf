/**
 * @file Recurrent layers against PyTorch (test/fixtures/nn.json, section `rnn`): weights are
 * PyTorch state dicts loaded by name, so names, shapes, gate order and directions must all match.
 * Each case runs in float64 (tight tolerances) and float32, comparing outputs and the gradients of
 * sum(out * v) w.r.t. the input, the initial states and every weight. Gradchecks of the cells and
 * of a small bidirectional LSTM/GRU follow.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, nn, randn, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fixture, load, tol, values, type FT } from './nn-fixture.ts'

interface RnnCase {
  name: string
  kind: 'GRU' | 'LSTM' | 'RNN' | 'GRUCell' | 'LSTMCell' | 'RNNCell'
  args: { inputSize: number; hiddenSize: number; numLayers?: number; batchFirst?: boolean; bidirectional?: boolean; bias?: boolean; projSize?: number; nonlinearity?: 'tanh' | 'relu' }
  state: Record<string, FT>
  inputs: Record<string, FT>
  outputs: Record<string, FT>
  cotangents: Record<string, FT>
  grads: Record<string, FT>
}

type AnyRnn = nn.GRU | nn.LSTM | nn.RNN | nn.GRUCell | nn.LSTMCell | nn.RNNCell

function build(c: RnnCase, dtype: 'float32' | 'float64'): AnyRnn {
  const { inputSize: I, hiddenSize: H, ...rest } = c.args
  const opts = { ...rest, dtype, generator: new Generator(0) }
  switch (c.kind) {
    case 'GRU': return new nn.GRU(I, H, opts)
    case 'LSTM': return new nn.LSTM(I, H, opts)
    case 'RNN': return new nn.RNN(I, H, opts)
    case 'GRUCell': return new nn.GRUCell(I, H, opts)
    case 'LSTMCell': return new nn.LSTMCell(I, H, opts)
    case 'RNNCell': return new nn.RNNCell(I, H, opts)
  }
}

function run(m: AnyRnn, c: RnnCase, x: Tensor, h0?: Tensor, c0?: Tensor): Record<string, Tensor> {
  if (m instanceof nn.LSTM) return m.forward(x, h0 ? { h: h0, c: c0 } : undefined)
  if (m instanceof nn.GRU || m instanceof nn.RNN) return m.forward(x, h0)
  if (m instanceof nn.LSTMCell) return m.forward(x, h0 ? { h: h0, c: c0! } : undefined)
  if (c.kind === 'GRUCell' || c.kind === 'RNNCell') return { h: (m as nn.GRUCell).forward(x, h0) }
  throw new Error(`unknown kind ${c.kind}`)
}

for (const c of fixture.rnn as RnnCase[]) {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`${c.kind} matches PyTorch: ${c.name} (${dtype})`, () => {
      const m = build(c, dtype)
      const sd = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, load(v, dtype)]))
      assert.equal([...m.namedParameters()].map(([n]) => n), Object.keys(c.state), 'parameter names and order as PyTorch')
      m.loadStateDict(sd)
      const ins = Object.fromEntries(Object.entries(c.inputs).map(([k, v]) => [k, load(v, dtype).requiresGrad_()]))
      const outs = run(m, c, ins.input, ins.h0, ins.c0)
      assert.equal(Object.keys(outs).sort(), Object.keys(c.outputs).sort())
      const t = tol(dtype)
      let loss: Tensor | null = null
      for (const [k, ref] of Object.entries(c.outputs)) {
        assertClose(outs[k], values(ref), { ...t, shape: ref.shape, msg: `${c.name} ${k}` })
        const term = outs[k].mul(load(c.cotangents[k], dtype)).sum()
        loss = loss ? loss.add(term) : term
      }
      loss!.backward()
      const params = Object.fromEntries(m.namedParameters())
      for (const [k, ref] of Object.entries(c.grads)) {
        const leaf = k.startsWith('param:') ? params[k.slice(6)] : ins[k]
        assert.ok(leaf?.grad, `${c.name}: no gradient for ${k}`)
        assertClose(leaf.grad!, values(ref), { ...t, shape: ref.shape, msg: `${c.name} d${k}` })
      }
    })
  }
}

const f64 = { dtype: 'float64' as const }

test('gradcheck: GRUCell, LSTMCell, RNNCell w.r.t. input, state and weights (float64)', () => {
  const gen = new Generator(7)
  const x = randn([2, 3], { ...f64, generator: gen }).requiresGrad_()
  const h = randn([2, 4], { ...f64, generator: gen }).requiresGrad_()
  const cs = randn([2, 4], { ...f64, generator: gen }).requiresGrad_()
  const gru = new nn.GRUCell(3, 4, { dtype: 'float64', generator: gen })
  gradcheck((x, h) => gru.forward(x, h), [x, h])
  gradcheck((wih, whh, bih, bhh) => { void wih; void whh; void bih; void bhh; return gru.forward(x, h) }, gru.parameters())
  const lstm = new nn.LSTMCell(3, 4, { dtype: 'float64', generator: gen })
  gradcheck((x, h, c) => { const s = lstm.forward(x, { h, c }); return s.h.add(s.c.mul(0.7)) }, [x, h, cs])
  gradcheck(() => { const s = lstm.forward(x, { h, c: cs }); return s.h.add(s.c.mul(0.7)) }, lstm.parameters())
  const rnn = new nn.RNNCell(3, 4, { dtype: 'float64', generator: gen })
  gradcheck((x, h) => rnn.forward(x, h), [x, h])
  gradcheck(() => rnn.forward(x, h), rnn.parameters())
})

test('gradcheck: 2-layer bidirectional LSTM with projection and GRU sequences (float64)', () => {
  const gen = new Generator(8)
  const x = randn([3, 2, 2], { ...f64, generator: gen }).requiresGrad_() // (L, N, I)
  const lstm = new nn.LSTM(2, 3, { numLayers: 2, bidirectional: true, projSize: 2, dtype: 'float64', generator: gen })
  const h0 = randn([4, 2, 2], { ...f64, generator: gen }).requiresGrad_()
  const c0 = randn([4, 2, 3], { ...f64, generator: gen }).requiresGrad_()
  const lstmOut = (): Tensor => { const r = lstm.forward(x, { h: h0, c: c0 }); return r.output.sum().add(r.h.sum()).add(r.c.mul(0.5).sum()) }
  gradcheck(lstmOut, [x, h0, c0])
  gradcheck(lstmOut, lstm.parameters().slice(0, 5).concat(lstm.parameters().slice(-5)))
  const gru = new nn.GRU(2, 3, { numLayers: 2, bidirectional: true, batchFirst: true, dtype: 'float64', generator: gen })
  gradcheck((x) => gru.forward(x).output, [x])
})

test('dropout between layers: identity in eval mode, seeded masks in training', () => {
  const x = randn([4, 3, 2], { generator: new Generator(1) })
  const make = (dropout: number, seed = 5): nn.GRU => new nn.GRU(2, 6, { numLayers: 3, dropout, seed, generator: new Generator(2) })
  const plain = make(0).forward(x).output
  const dropped = make(0.5)
  dropped.eval()
  assert.equal(dropped.forward(x).output.toArray(), plain.toArray())
  dropped.train()
  const a = dropped.forward(x).output
  assert.not.equal(a.toArray(), plain.toArray())
  assert.equal(make(0.5).forward(x).output.toArray(), a.toArray(), 'same seed, same masks')
})

test('shapes: batchFirst, unbatched, projection; h ordered (layer, direction)', () => {
  const lstm = new nn.LSTM(3, 5, { numLayers: 2, bidirectional: true, batchFirst: true, projSize: 2 })
  const r = lstm.forward(randn([4, 7, 3]))
  assert.equal([r.output.shape, r.h.shape, r.c.shape], [[4, 7, 4], [4, 4, 2], [4, 4, 5]])
  const u = lstm.forward(randn([7, 3]))
  assert.equal([u.output.shape, u.h.shape, u.c.shape], [[7, 4], [4, 2], [4, 5]])
  // The last layer's forward h_n is the output at the last step; its reverse h_n the output at step 0.
  assertClose(r.h.select(0, 2), r.output.select(1, 6).narrow(-1, 0, 2))
  assertClose(r.h.select(0, 3), r.output.select(1, 0).narrow(-1, 2, 2))
  const cell = new nn.GRUCell(3, 4)
  assert.equal(cell.forward(randn([3])).shape, [4])
})

test('clear errors for bad inputs, states and options', () => {
  const gru = new nn.GRU(3, 4, { numLayers: 2 })
  assertThrows(() => gru.forward(randn([5, 2, 4])), /GRU: input has shape \[5,2,4\], expected \(L, N, 3\)/)
  assertThrows(() => gru.forward(randn([5, 2, 3]), randn([1, 2, 4])), /GRU: h0 has shape \[1,2,4\], expected \[2,2,4\]/)
  const lstm = new nn.LSTM(3, 4)
  assertThrows(() => lstm.forward(randn([5, 2, 3]), { h: randn([1, 2, 4]), c: randn([1, 3, 4]) }), /LSTM: c0 has shape \[1,3,4\], expected \[1,2,4\]/)
  assertThrows(() => new nn.LSTM(3, 4, { projSize: 4 }), /projSize must be a non-negative integer smaller than hiddenSize \(4\)/)
  assertThrows(() => new nn.GRU(3, 4, { dropout: 1.5 }), /GRU: dropout must be in \[0, 1\]/)
  assertThrows(() => new nn.RNN(3, 4, { nonlinearity: 'gelu' as 'relu' }), /RNN: nonlinearity must be 'tanh' or 'relu'/)
  assertThrows(() => new nn.LSTMCell(3, 4).forward(randn([2, 3]), { h: randn([2, 4]), c: randn([2, 5]) }), /LSTMCell: c has shape \[2,5\], expected \[2,4\]/)
})

test('initialisation: every weight U(-1/sqrt(H), 1/sqrt(H)); no bias when bias: false', () => {
  const lstm = new nn.LSTM(10, 16, { numLayers: 2, generator: new Generator(3) })
  for (const [name, p] of lstm.namedParameters()) {
    const v = Array.from(p.data())
    assert.ok(v.every((x) => Math.abs(x) <= 0.25), name)
    assert.ok(Math.max(...v.map(Math.abs)) > 0.2, `${name} fills its range`)
  }
  assert.equal([...new nn.GRU(2, 3, { bias: false }).namedParameters()].map(([n]) => n), ['weight_ih_l0', 'weight_hh_l0'])
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import nnModulesJson from '../fixtures/nn-modules.json' with { type: 'json' }
import { nn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

interface T { shape: number[]; data: number[]; dtype: 'bool' | 'float64' }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const fixture = (nnModulesJson as unknown) as { cases: any[] }
const cases = (kind: string) => fixture.cases.filter((c) => c.kind === kind)

const make = (x: T, requiresGrad = false): Tensor =>
  x.dtype === 'bool' ? tensor(x.data.map(Boolean)).reshape(x.shape) : tensor(x.data, { dtype: 'float64', requiresGrad }).reshape(x.shape)

function stateDict(s: Record<string, T>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const [k, v] of Object.entries(s)) out[k] = k.endsWith('num_batches_tracked') ? tensor(v.data, { dtype: 'int32' }).reshape(v.shape) : make(v)
  return out
}

for (const c of cases('mha')) {
  test(`MultiheadAttention matches PyTorch: ${c.name}`, () => {
    const m = new nn.MultiheadAttention(8, 2, { batchFirst: c.batchFirst, dtype: 'float64' })
    m.loadStateDict(stateDict(c.state))
    const q = make(c.q).requiresGrad_()
    const { output, weights } = m.forward(q, make(c.k), make(c.v), {
      keyPaddingMask: c.kpm ? make(c.kpm) : null, attnMask: c.attn ? make(c.attn) : null, needWeights: c.needWeights,
    })
    assertClose(output, c.out.data, { atol: 1e-12, rtol: 1e-10, shape: c.out.shape })
    if (c.weights) assertClose(weights!, c.weights.data, { atol: 1e-12, rtol: 1e-10, shape: c.weights.shape })
    else assert.is(weights, null)
    output.backward(make(c.cot))
    assertClose(q.grad!, c.dq.data, { atol: 1e-11, rtol: 1e-9 })
    assertClose(m.in_proj_weight.grad!, c.dW.data, { atol: 1e-11, rtol: 1e-9 })
  })
}

for (const c of cases('encoder')) {
  test(`TransformerEncoderLayer matches PyTorch: ${c.name}`, () => {
    const m = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0, activation: c.activation, batchFirst: true, normFirst: c.normFirst, dtype: 'float64' })
    assert.equal(Object.keys(m.stateDict()).sort(), Object.keys(c.state).sort())
    m.loadStateDict(stateDict(c.state))
    const x = make(c.x).requiresGrad_()
    const y = m.forward(x, { srcKeyPaddingMask: c.kpm ? make(c.kpm) : null })
    assertClose(y, c.out.data, { atol: 1e-11, rtol: 1e-9, shape: c.out.shape })
    y.backward(make(c.cot))
    assertClose(x.grad!, c.dx.data, { atol: 1e-10, rtol: 1e-8 })
  })
}

for (const c of cases('batchnorm')) {
  test(`BatchNorm2d running statistics and eval mode match PyTorch: ${c.name}`, () => {
    const m = new nn.BatchNorm2d(3, { momentum: c.momentum, dtype: 'float64' })
    m.weight!.detach().copy_(make(c.weight))
    m.bias!.detach().copy_(make(c.bias))
    c.xs.forEach((x: T, i: number) => assertClose(m.forward(make(x)), c.outs[i].data, { atol: 1e-12, rtol: 1e-10 }))
    const sd = m.stateDict()
    for (const [k, v] of Object.entries(c.state as Record<string, T>)) assertClose(sd[k], v.data, { atol: 1e-12, rtol: 1e-10, msg: k })
    m.eval()
    assertClose(m.forward(make(c.xEval)), c.yEval.data, { atol: 1e-12, rtol: 1e-10 })
  })
}

test('norm modules: LayerNorm, RMSNorm, GroupNorm call their functional forms; errors are clear', () => {
  const x = tensor([[1, 2, 3, 4], [2, 4, 6, 8]])
  const ln = new nn.LayerNorm(4)
  assertClose(ln.forward(x).mean(1), [0, 0], { atol: 1e-6 })
  assert.equal(Object.keys(new nn.LayerNorm([2, 2], { bias: false }).stateDict()), ['weight'])
  assertClose(new nn.RMSNorm(4).forward(x).pow(2).mean(1), [1, 1], { atol: 1e-5 })
  assert.equal(new nn.GroupNorm(2, 4).forward(x.reshape([2, 4, 1])).shape, [2, 4, 1])
  assertThrows(() => new nn.GroupNorm(3, 4), /GroupNorm: numGroups 3 must be a positive integer dividing numChannels 4/)
  assertThrows(() => new nn.BatchNorm2d(4).forward(x), /BatchNorm2d: expected a 4-D input, got shape \[2,4\]/)
  assertThrows(() => new nn.MultiheadAttention(6, 4), /MultiheadAttention: embedDim 6 must be divisible by numHeads 4/)
  const m = new nn.MultiheadAttention(4, 2)
  assertThrows(() => m.forward(tensor([[[1, 2, 3]]]), tensor([[[1, 2, 3]]]), tensor([[[1, 2, 3]]])), /MultiheadAttention: query must be \(L, N, 4\)/)
})

test('MultiheadAttention: isCausal blocks the future; unbatched inputs work', () => {
  const m = new nn.MultiheadAttention(4, 2)
  const x = tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
  const { output, weights } = m.forward(x, x, x, { isCausal: true })
  assert.equal(output.shape, [3, 4])
  const w = weights!.toArray() as number[][]
  assert.is(w[0][1], 0)
  assert.is(w[0][2], 0)
  assert.is(w[1][2], 0)
  assertClose(weights!.sum(-1), [1, 1, 1], { atol: 1e-6 })
})

test.run()

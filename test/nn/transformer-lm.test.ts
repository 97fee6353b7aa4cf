/**
 * @file The shared causal transformer LM (src/nn/transformer-lm.ts): causalSelfAttention against a
 * naive per-head loop (RoPE off) and RoPE's relative-position property, float64 gradcheck, FFN
 * parameter counts (MLP 2·D·F, SwiGLU 3·D·F), pluggable FFN/blocks and causality of the whole LM.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, nn, randint, randn, tensor, type Tensor } from '../../src/index.ts'
import { CausalSelfAttention, SwiGLUMLP, TransformerLM, TransformerMLP, causalSelfAttention } from '../../src/nn/transformer-lm.ts'
import { assertClose, assertThrows } from '../helpers.ts'

/** out[b, t, h·E:(h+1)·E] = Σ_{j≤t} softmax_j(q·k_j / √E) v_j, one head at a time. */
function attentionNaive(q: number[][][], k: number[][][], v: number[][][], H: number): number[][][] {
  const D = q[0][0].length, E = D / H
  return q.map((qb, b) => qb.map((qt, t) => {
    const out = new Array(D).fill(0)
    for (let h = 0; h < H; h++) {
      const sl = (x: number[]) => x.slice(h * E, (h + 1) * E)
      const s = Array.from({ length: t + 1 }, (_, j) => sl(qt).reduce((a, x, i) => a + x * sl(k[b][j])[i], 0) / Math.sqrt(E))
      const m = Math.max(...s), w = s.map((x) => Math.exp(x - m)), z = w.reduce((a, x) => a + x, 0)
      for (let j = 0; j <= t; j++) for (let i = 0; i < E; i++) out[h * E + i] += (w[j] / z) * v[b][j][h * E + i]
    }
    return out
  }))
}

const g = new Generator(0)
const [q, k, v] = [0, 1, 2].map(() => randn([2, 5, 8], { dtype: 'float64', generator: g }))
const a3 = (t: Tensor) => t.toArray() as number[][][]

test('causalSelfAttention (no RoPE) matches the naive masked softmax loop; gradcheck with RoPE', () => {
  assertClose(causalSelfAttention(q, k, v, 2, { rotaryDim: 0 }), attentionNaive(a3(q), a3(k), a3(v), 2), { atol: 1e-12, rtol: 1e-12 })
  const [qs, ks, vs] = [q, k, v].map((t) => t.narrow(1, 0, 3).contiguous().requiresGrad_())
  gradcheck((x, y, z) => causalSelfAttention(x, y, z, 2), [qs, ks, vs])
  assertThrows(() => causalSelfAttention(q, k, v, 3), /causalSelfAttention: D = 8 must be divisible by numHeads = 3/)
})

test('RoPE makes the scores depend on relative position only: offsetting q and k together changes nothing', () => {
  const qq = q.narrow(0, 0, 1), kk = k.narrow(0, 0, 1) // (1, 5, 8)
  const s0 = nn.applyRotaryEmbedding(qq, 0).matmul(nn.applyRotaryEmbedding(kk, 0).mT)
  const s3 = nn.applyRotaryEmbedding(qq, 3).matmul(nn.applyRotaryEmbedding(kk, 3).mT)
  assertClose(s3, s0, { atol: 1e-12, rtol: 1e-12 })
  assert.ok(Math.max(...Array.from(s0.sub(qq.matmul(kk.mT)).abs().data())) > 1e-3, 'RoPE does rotate')
})

test('FFN sizes: MLP 2·D·F, SwiGLU 3·D·F; attention 4·D² (bias-free)', () => {
  assert.is(new TransformerMLP(16, 64).numParameters(), 2 * 16 * 64)
  assert.is(new SwiGLUMLP(16, 43).numParameters(), 3 * 16 * 43)
  assert.is(new CausalSelfAttention(16, 2).numParameters(), 4 * 16 * 16)
  const relu = new TransformerMLP(4, 8, { activation: 'relu', generator: new Generator(1) })
  const x = randn([2, 4], { generator: new Generator(2) })
  assertClose(relu.forward(x), relu.fc2.forward(relu.fc1.forward(x).relu()), { atol: 0, rtol: 0 })
  assert.is(new TransformerMLP(16, 64, { activation: 'polynorm' }).numParameters(), 2 * 16 * 64 + 4)
  assert.is(new TransformerMLP(16, 64, { activation: 'polyrelu' }).act.constructor.name, 'PolyReLU')
  assertThrows(() => new TransformerMLP(4, 8, { activation: 'tanh' as 'relu' }), /TransformerMLP: activation must be/)
})

test('TransformerLM: logits (B, T, V), pluggable FFN, causal', () => {
  const lm = new TransformerLM({ vocabSize: 9, dModel: 16, numLayers: 2, numHeads: 2, ffn: () => new SwiGLUMLP(16, 20, { generator: g }), generator: new Generator(3) })
  const D = 16, V = 9
  assert.is(lm.numParameters(), V * D + 2 * (2 * D + 4 * D * D + 2 * D + 3 * D * 20) + 2 * D + D * V + V)
  const ids = randint(0, 9, [2, 6], { generator: new Generator(4) })
  const a = lm.forward(ids)
  assert.equal(a.shape, [2, 6, 9])
  const rows = ids.toArray() as number[][]
  rows[0][3] = (rows[0][3] + 1) % 9
  const b = lm.forward(tensor(rows, { dtype: 'int32' }))
  assert.equal(Array.from(b.narrow(1, 0, 3).contiguous().data()), Array.from(a.narrow(1, 0, 3).contiguous().data()))
  assert.ok(Math.abs(b.select(0, 0).select(0, 3).sub(a.select(0, 0).select(0, 3)).abs().sum().item()) > 1e-6)
  assertThrows(() => lm.forward(tensor([1, 2], { dtype: 'int32' })), /TransformerLM: ids must be \(B, T\) int32/)
})

test.run()

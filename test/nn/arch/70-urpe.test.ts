/**
 * @file Sheet 70 (URPE, https://arxiv.org/abs/2205.13401): C is Toeplitz with heads (2L - 1)
 * parameters; URPE with C = 1 equals RPE exactly; on identical tokens RPE rows are identical for any
 * weights while URPE's differ, and hand-set URPE weights realise position identification exactly;
 * dL/dc_k = sum_{j-i=k} dL/dAttn_ij A_ij vs autograd; float64 gradcheck; padding equals truncation;
 * T5 buckets; the ETP/PI generators' exact targets.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, randn, tensor, zeros } from '../../../src/index.ts'
import { RPEAttention, RPEBias, URPEAttention, RelativeTransformer, t5Bucket, toeplitz, urpeAttention } from '../../../src/nn/arch/70-urpe.ts'
import { evenTokenPrediction, positionIdentification } from '../../../src/data/synthetic.ts'
import { assertClose } from '../../helpers.ts'

const f64 = (shape: number[], g: Generator) => randn(shape, { dtype: 'float64', generator: g })

test('C is Toeplitz: C_h[i, j] = c_h[j - i + maxLen - 1]; parameter count heads (2 maxLen - 1)', () => {
  const g = new Generator(1)
  const m = new URPEAttention(8, { heads: 2, maxLen: 7, generator: g })
  assert.equal(m.c.shape, [2, 13])
  assert.equal(m.rpe.bias.shape, [2, 13])
  assert.is(m.numParameters() - new RPEAttention(8, { heads: 2, maxLen: 7 }).numParameters(), 2 * 13)
  noGrad(() => m.c.copy_(randn([2, 13], { generator: g })))
  const c = m.c.data(), L = 5
  const C = toeplitz(m.c, L, m.opts).data()
  for (let h = 0; h < 2; h++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) {
    assert.is(C[(h * L + i) * L + j], c[h * 13 + j - i + 6])
    if (i > 0 && j > 0) assert.is(C[(h * L + i) * L + j], C[(h * L + i - 1) * L + j - 1])
  }
  // bucketed tables are Toeplitz too
  const b = new RPEBias({ heads: 1, maxLen: 40, buckets: 8 })
  noGrad(() => b.bias.copy_(randn([1, 8], { generator: g })))
  const B = b.forward(30).data()
  for (let i = 1; i < 30; i++) for (let j = 1; j < 30; j++) assert.is(B[i * 30 + j], B[(i - 1) * 30 + j - 1])
})

test('T5 bidirectional buckets match transformers\' _relative_position_bucket (32 buckets, max distance 128)', () => {
  const cases: [number, number][] = [[0, 0], [1, 17], [-1, 1], [7, 23], [8, 24], [-20, 10], [127, 31], [128, 31], [-1000, 15]]
  for (const [r, want] of cases) assert.is(t5Bucket(r, 32, 128), want, `r = ${r}`)
})

test('URPE with C = 1 equals RPE exactly (same weights)', () => {
  const g = new Generator(2)
  const rpe = new RPEAttention(12, { heads: 3, maxLen: 9, generator: g })
  noGrad(() => rpe.rpe.bias.copy_(randn([3, 17], { generator: g })))
  const urpe = new URPEAttention(12, { heads: 3, maxLen: 9 })
  urpe.loadStateDict(rpe.stateDict(), { strict: false })
  const x = randn([2, 9, 12], { generator: g })
  assert.equal(Array.from(urpe.forward(x).data()), Array.from(rpe.forward(x).data()))
  const pad = tensor([[false, false, false, false, false, false, false, true, true], new Array(9).fill(false)], { dtype: 'bool' })
  assert.equal(Array.from(urpe.forward(x, { keyPaddingMask: pad }).data()), Array.from(rpe.forward(x, { keyPaddingMask: pad }).data()))
})

test('identical tokens: every RPE output row is the same for any weights; URPE rows differ once C is not constant', () => {
  const g = new Generator(3)
  for (let trial = 0; trial < 3; trial++) {
    const rpe = new RelativeTransformer({ vocab: 5, numClasses: 4, dModel: 8, heads: 2, layers: 2, maxLen: 10, universal: false, generator: g })
    for (const p of rpe.parameters()) noGrad(() => p.add_(randn(p.shape, { generator: g })))
    const ids = tensor([new Array(10).fill(trial + 1)], { dtype: 'int32' })
    const y = rpe.forward(ids).data() // (1, 10, 4)
    for (let i = 1; i < 10; i++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(y[i * 4 + c] - y[c]) < 1e-5, `RPE row ${i} differs`)
  }
  const urpe = new RelativeTransformer({ vocab: 5, numClasses: 4, dModel: 8, heads: 2, layers: 2, maxLen: 10, universal: true, generator: g })
  const ids = tensor([new Array(10).fill(2)], { dtype: 'int32' })
  const y0 = urpe.forward(ids).data()
  for (let i = 1; i < 10; i++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(y0[i * 4 + c] - y0[c]) < 1e-5, 'URPE with C = 1 behaves as RPE')
  for (const a of urpe.attn) noGrad(() => (a as URPEAttention).c.copy_(randn([2, 19], { generator: g })))
  const y = urpe.forward(ids).data()
  let spread = 0
  for (let i = 1; i < 10; i++) for (let c = 0; c < 4; c++) spread = Math.max(spread, Math.abs(y[i * 4 + c] - y[c]))
  assert.ok(spread > 1e-2, `URPE rows differ: ${spread}`)
})

test('URPE realises position identification by hand-set weights (out_i = i for ANY input), which RPE cannot', () => {
  const L = 9, D = 4
  const m = new URPEAttention(D, { heads: 1, maxLen: L, dtype: 'float64' })
  noGrad(() => {
    m.qkv.weight.zero_(); m.qkv.bias!.zero_()
    m.qkv.bias!.narrow(0, 2 * D, D).fill_(1) // v_j = 1: uniform A (q = k = 0, bias 0) averages ones
    m.out.weight.copy_(zeros([D, D], { dtype: 'float64' }).add(tensor([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], { dtype: 'float64' })))
    m.out.bias!.zero_()
    // c_k = L for k = j - i < 0, else 0: out_i = (1/L) sum_{j < i} L = i
    m.c.copy_(tensor([Array.from({ length: 2 * L - 1 }, (_, t) => (t - (L - 1) < 0 ? L : 0))], { dtype: 'float64' }))
  })
  const g = new Generator(4)
  for (const x of [f64([2, L, D], g), zeros([1, L, D], { dtype: 'float64' }).add(3)]) {
    const y = m.forward(x).data()
    for (let b = 0; b < x.shape[0]; b++) for (let i = 0; i < L; i++) for (let d = 0; d < D; d++) assert.ok(Math.abs(y[(b * L + i) * D + d] - i) < 1e-12)
  }
  // the same weights without C (RPE) give the same row everywhere: the constant 1
  const rpe = new RPEAttention(D, { heads: 1, maxLen: L, dtype: 'float64' })
  rpe.loadStateDict(m.stateDict(), { strict: false })
  assertClose(rpe.forward(f64([1, L, D], g)), new Array(L * D).fill(1), { atol: 1e-12 })
})

test('dL/dc_k = sum over j - i = k of dL/dAttn_ij * A_ij (batch summed) equals autograd', () => {
  const g = new Generator(5)
  const B = 2, H = 2, L = 6, Dh = 3, M = 8, P = 2 * M - 1
  const [q, k, v] = [0, 1, 2].map(() => f64([B, H, L, Dh], g))
  const bias = f64([H, L, L], g), G = f64([B, H, L, Dh], g)
  const c = f64([H, P], g).requiresGrad_()
  urpeAttention(q, k, v, bias, toeplitz(c, L, { heads: H, maxLen: M })).mul(G).sum().backward()
  const A = q.matmul(k.mT).mul(1 / Math.sqrt(Dh)).add(bias).softmax(-1).data() // (B, H, L, L)
  const dAttn = G.matmul(v.mT).data() // dL/d(A ⊙ C) = G v^T: (B, H, L, L)
  const want = new Float64Array(H * P)
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) {
    const t = ((b * H + h) * L + i) * L + j
    want[h * P + j - i + M - 1] += dAttn[t] * A[t]
  }
  assertClose(c.grad!, Array.from(want), { atol: 1e-12 })
  // offsets beyond L - 1 receive nothing
  assert.is(c.grad!.data()[0], 0)
})

test('gradcheck (float64): urpeAttention in q, k, v, bias table and c; the module in x', () => {
  const g = new Generator(6)
  const H = 2, L = 4, M = 5, o = { heads: H, maxLen: M }
  const ins = [f64([1, H, L, 2], g), f64([1, H, L, 2], g), f64([1, H, L, 2], g), f64([H, 9], g), f64([H, 9], g)].map((t) => t.requiresGrad_())
  gradcheck((q, k, v, b, c) => urpeAttention(q, k, v, toeplitz(b, L, o), toeplitz(c, L, o)), ins)
  const m = new URPEAttention(4, { heads: 2, maxLen: 5, generator: g, dtype: 'float64' })
  noGrad(() => { m.c.copy_(f64([2, 9], g)); m.rpe.bias.copy_(f64([2, 9], g)) })
  gradcheck((x) => m.forward(x), [f64([2, 5, 4], g).requiresGrad_()])
})

test('key padding: outputs at real positions equal the unpadded shorter sequence', () => {
  const g = new Generator(7)
  const m = new URPEAttention(8, { heads: 2, maxLen: 10, generator: g, dtype: 'float64' })
  noGrad(() => { m.c.copy_(f64([2, 19], g)); m.rpe.bias.copy_(f64([2, 19], g)) })
  const x = f64([1, 10, 8], g)
  const pad = tensor([Array.from({ length: 10 }, (_, i) => i >= 7)], { dtype: 'bool' })
  assertClose(m.forward(x, { keyPaddingMask: pad }).narrow(1, 0, 7), m.forward(x.narrow(1, 0, 7)), { atol: 1e-12 })
})

test('ETP and PI generators: exact targets on a fixed seed, reproducible draws', () => {
  const L = 7, V = 6
  const etp = evenTokenPrediction({ n: 3, length: L, vocab: V, generator: new Generator(8) })
  const g = new Generator(8)
  const x = etp.x.data(), y = etp.y.data()
  for (let r = 0; r < 3; r++) {
    for (let i = 0; i < L; i++) { assert.is(x[r * L + i], g.nextInt(0, V - 1)); assert.ok(x[r * L + i] < V - 1) }
    assert.equal(Array.from(y.slice(r * L, r * L + L)), [x[r * L + 1], x[r * L + 3], x[r * L + 5], V - 1, V - 1, V - 1, V - 1])
  }
  assert.is(etp.numClasses, V)
  const pi = positionIdentification({ n: 2, length: 5, vocab: 4, generator: new Generator(9) })
  assert.equal(pi.y.toArray(), [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]])
  assert.is(pi.numClasses, 6)
  assert.equal(positionIdentification({ n: 1, length: 3, vocab: 4, generator: new Generator(0), offset: 0 }).y.toArray(), [[0, 1, 2]])
  assert.equal(pi.x.toArray(), positionIdentification({ n: 2, length: 5, vocab: 4, generator: new Generator(9) }).x.toArray())
})

test.run()

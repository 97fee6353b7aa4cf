/**
 * @file TokenFormer (sheet 63, https://arxiv.org/abs/2410.23168): Pattention against a naive loop for
 * all three normalisations, a hand example, row scale invariance, float64 gradcheck of X, K_P, V_P,
 * growth (zero-key tokens keep the function bit for bit; both-zero tokens are dead; √n′ rescaling is
 * the old layer with s = √n′), loadIncremental, parameter counts and causality of the LM.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, randn, randint, tensor, type Tensor } from '../../../src/index.ts'
import { Pattention, TokenFormerLM, loadIncremental, type PattentionNorm } from '../../../src/nn/arch/63-tokenformer.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

/** erf by its Taylor series: accurate to ~1e-13 for |x| < 3. */
function erf(x: number): number {
  let term = x, sum = x
  for (let n = 1; n < 80; n++) { term *= (-x * x) / n; sum += term / (2 * n + 1) }
  return (2 / Math.sqrt(Math.PI)) * sum
}
const gelu = (u: number): number => 0.5 * u * (1 + erf(u / Math.SQRT2))

/** O = Θ(X K_Pᵀ) V_P row by row. */
function pattentionNaive(X: number[][], K: number[][], Vp: number[][], norm: PattentionNorm, s: number): number[][] {
  const n = K.length
  return X.map((x) => {
    const a = K.map((k) => k.reduce((acc, v, j) => acc + v * x[j], 0)) // (n)
    let h: number[]
    if (norm === 'l2_norm_gelu') { const r = Math.hypot(...a); h = a.map((v) => gelu((s * v) / r)) }
    else if (norm === 'gelu_l2_norm') { const g = a.map(gelu), r = Math.hypot(...g); h = g.map((v) => (s * v) / r) }
    else { const e = a.map(Math.exp), z = e.reduce((p, v) => p + v, 0); h = e.map((v) => (n * v) / z) }
    return Vp[0].map((_, o) => h.reduce((acc, w, i) => acc + w * Vp[i][o], 0))
  })
}

const arr = (t: Tensor): number[][] => t.double().toArray() as number[][]
const layer = (dIn: number, dOut: number, n: number, norm: PattentionNorm = 'l2_norm_gelu', seed = 0): Pattention =>
  new Pattention(dIn, dOut, n, { norm, keyStd: 0.5, valueStd: 0.5, generator: new Generator(seed), dtype: 'float64' })

test('sheet test 1: l2_norm_gelu on a hand example; all three norms match the naive loop', () => {
  const p = layer(2, 2, 2)
  noGrad(() => { p.key_param_tokens.copy_(tensor([[1, 0], [0, 1]], { dtype: 'float64' })); p.value_param_tokens.copy_(tensor([[1, 2], [3, 4]], { dtype: 'float64' })) })
  // A = [3, 4], ‖A‖ = 5, s = √2: Â = GELU([0.6√2, 0.8√2]) = [0.680459, 0.985481] (Python math.erf), O = Â V_P
  const h = [gelu(0.6 * Math.SQRT2), gelu(0.8 * Math.SQRT2)]
  assertClose(h, [0.6804585107315495, 0.9854811245251307], { atol: 1e-14, rtol: 0 })
  assertClose(p.forward(tensor([[3, 4]], { dtype: 'float64' })), [[h[0] + 3 * h[1], 2 * h[0] + 4 * h[1]]], { atol: 1e-14, rtol: 1e-13 })
  for (const norm of ['l2_norm_gelu', 'gelu_l2_norm', 'softmax'] as const) {
    const q = layer(5, 3, 7, norm, 1)
    const X = randn([4, 5], { dtype: 'float64', generator: new Generator(2) })
    const want = pattentionNaive(arr(X), arr(q.key_param_tokens), arr(q.value_param_tokens), norm, Math.sqrt(7))
    assertClose(q.forward(X), want, { atol: 1e-12, rtol: 1e-11, msg: norm })
    assert.equal(q.forward(X.reshape([2, 2, 5])).shape, [2, 2, 3])
  }
  assertThrows(() => new Pattention(4, 4, 3, { norm: 'relu' as PattentionNorm }), /Pattention: norm must be/)
  assertThrows(() => layer(5, 3, 7).forward(randn([2, 4])), /Pattention: x must be \(\.\.\., 5\), got \[2,4\]/)
})

test('sheet test 1: rows are scale-invariant, Pattention(c X) = Pattention(X) for c > 0 (l2_norm_gelu)', () => {
  const p = layer(6, 4, 5, 'l2_norm_gelu', 3)
  const X = randn([3, 6], { dtype: 'float64', generator: new Generator(4) })
  for (const c of [0.01, 0.5, 7]) assertClose(p.forward(X.mul(c)), p.forward(X), { atol: 1e-13, rtol: 1e-12, msg: `c=${c}` })
})

test('sheet test 2: float64 gradcheck of X, K_P and V_P through each normalisation', () => {
  for (const norm of ['l2_norm_gelu', 'gelu_l2_norm', 'softmax'] as const) {
    const p = layer(4, 3, 5, norm, 5)
    const X = randn([3, 4], { dtype: 'float64', generator: new Generator(6) }).requiresGrad_()
    gradcheck((x, k, v) => {
      p.key_param_tokens = k as typeof p.key_param_tokens
      p.value_param_tokens = v as typeof p.value_param_tokens
      return p.forward(x)
    }, [X, p.key_param_tokens, p.value_param_tokens])
  }
})

test('sheet test 3: growing with zero keys keeps the output bit for bit; both-zero tokens never get a gradient', () => {
  const X = randn([4, 6], { generator: new Generator(7) }) // float32, as in training
  for (const init of ['zero-keys', 'zero'] as const) {
    const p = new Pattention(6, 5, 8, { generator: new Generator(8) })
    const before = Array.from(p.forward(X).data())
    p.grow(13, { init, generator: new Generator(9) })
    assert.is(p.numParamTokens, 13)
    // Bitwise: A_new = X·0 = 0 exactly, ‖A_i‖ adds exact zeros to a float64 running sum, GELU(0) = 0,
    // and the gemm sums the K = n′ products in order in float64, so the extra terms 0·V_new add exact zeros.
    assert.equal(Array.from(p.forward(X).data()), before, init)
    p.forward(X).square().sum().backward()
    const gk = Array.from(p.key_param_tokens.grad!.narrow(0, 8, 5).contiguous().data())
    const gv = Array.from(p.value_param_tokens.grad!.narrow(0, 8, 5).contiguous().data())
    assert.ok(gv.every((v) => v === 0), `${init}: new value rows get zero gradient at step 0 (GELU(0) = 0)`)
    if (init === 'zero') assert.ok(gk.every((v) => v === 0), 'zero: new keys get zero gradient too, so they stay dead')
    else assert.ok(gk.some((v) => Math.abs(v) > 1e-6), 'zero-keys: new keys get a gradient through the random values')
  }
})

test('sheet test 3: with s = √n′ (keepScale false) the grown layer is the old one with √n replaced by √n′', () => {
  const p = layer(6, 5, 8, 'l2_norm_gelu', 10)
  const old = layer(6, 5, 8, 'l2_norm_gelu', 10)
  const X = randn([4, 6], { dtype: 'float64', generator: new Generator(11) })
  p.grow(18, { init: 'zero', keepScale: false })
  assert.is(p.scale, Math.sqrt(18))
  old.scale = Math.sqrt(18)
  assertClose(p.forward(X), old.forward(X), { atol: 0, rtol: 0 })
  old.scale = Math.sqrt(8)
  const moved = Math.max(...Array.from(p.forward(X).sub(old.forward(X)).abs().data()))
  assert.ok(moved > 1e-3, `rescaling changes the function (${moved})`)
  const fresh = layer(6, 5, 8, 'l2_norm_gelu', 10).grow(18, { init: 'normal', generator: new Generator(12), keyStd: 0.5, valueStd: 0.5 })
  assert.ok(Math.max(...Array.from(fresh.forward(X).sub(old.forward(X)).abs().data())) > 1e-3, 'normal init changes it too')
  assertThrows(() => p.grow(4), /Pattention.grow: newNum must be an integer >= 18/)
})

const cfg = { vocabSize: 11, dModel: 16, numLayers: 2, numHeads: 2, qkvTokens: 8, projTokens: 6, ffnTokens: 20 }
const tokens = randint(0, 11, [3, 7], { generator: new Generator(13) })

test('sheet tests 4-5: Pattention parameters = Σ n (d_in + d_out); linear in n with nothing else changing', () => {
  const lm = new TokenFormerLM({ ...cfg, generator: new Generator(14) })
  const D = 16, V = 11, L = 2
  const patt = L * (3 * 8 + 6 + 20) * 2 * D
  const other = V * D + 2 * D + D * V + V // embedding, final LayerNorm, head (with bias)
  assert.is(lm.numParameters(), patt + other)
  assert.is(lm.pattentions().length, 10)
  const big = new TokenFormerLM({ ...cfg, ffnTokens: 40, generator: new Generator(14) })
  assert.is(big.numParameters() - lm.numParameters(), L * 20 * 2 * D)
  lm.grow({ ffnTokens: 40 })
  assert.is(lm.numParameters(), big.numParameters())
})

test('sheet test 4: loadIncremental copies old tokens into the prefix bit-exactly; zero-key loads keep the logits', () => {
  const small = new TokenFormerLM({ ...cfg, generator: new Generator(15) })
  const grown = { qkvTokens: 16, projTokens: 12, ffnTokens: 40 }
  const fresh = loadIncremental(new TokenFormerLM({ ...cfg, ...grown, generator: new Generator(16) }), small)
  const untouched = new TokenFormerLM({ ...cfg, ...grown, generator: new Generator(16) })
  const sp = new Map(small.namedParameters()), up = new Map(untouched.namedParameters())
  for (const [name, p] of fresh.namedParameters()) {
    const s = sp.get(name)!
    const n = s.shape[0]
    assert.equal(Array.from(p.narrow(0, 0, n).contiguous().data()), Array.from(s.contiguous().data()), name)
    if (p.shape[0] > n) assert.equal(Array.from(p.narrow(0, n, p.shape[0] - n).contiguous().data()), Array.from(up.get(name)!.narrow(0, n, p.shape[0] - n).contiguous().data()), `${name}: fresh init kept`)
  }
  const zk = loadIncremental(new TokenFormerLM({ ...cfg, ...grown, generator: new Generator(16) }), small, { newTokens: 'zero-keys' })
  const want = Array.from(noGrad(() => small.forward(tokens)).data())
  assert.equal(Array.from(noGrad(() => zk.forward(tokens)).data()), want)
  const inPlace = new TokenFormerLM({ ...cfg, generator: new Generator(15) }).grow(grown, { generator: new Generator(17) })
  assert.equal(Array.from(noGrad(() => inPlace.forward(tokens)).data()), want)
  assertThrows(() => loadIncremental(new TokenFormerLM({ ...cfg, numLayers: 1 }), small), /loadIncremental: the models differ in structure/)
})

test('the TokenFormer LM is causal: changing token t leaves the logits before t unchanged', () => {
  const lm = new TokenFormerLM({ ...cfg, generator: new Generator(18) })
  const a = lm.forward(tokens)
  const ids = tokens.toArray() as number[][]
  ids[1][4] = (ids[1][4] + 1) % 11
  const b = lm.forward(tensor(ids, { dtype: 'int32' }))
  assert.equal(Array.from(b.narrow(1, 0, 4).contiguous().data()), Array.from(a.narrow(1, 0, 4).contiguous().data()))
  assert.ok(Math.max(...Array.from(b.select(0, 1).narrow(0, 4, 3).sub(a.select(0, 1).narrow(0, 4, 3)).abs().data())) > 1e-6)
})

test.run()

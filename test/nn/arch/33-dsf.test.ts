/**
 * @file 33 DSF (https://arxiv.org/abs/2405.15731): for every layer the recurrent output equals the
 * materialized Φ·v (float64, 1e-12) and the step-by-step oracle; Φ is causal; linear attention's
 * parallel form; the paper's equivalences (S6 with constant Δ and A -> 0, and SSD with A = 0, Δ = 1,
 * are unnormalized linear attention); random-feature softmax converges to softmax attention as n
 * grows; softmax Φ's past→future ranks grow with L while every DSF's stay ≤ n; normalized
 * attention's rows sum to ≤ 1 and reproduce a constant v; gradcheck of every layer; kernel oracle.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, rand, tensor, type Tensor } from '../../../src/index.ts'
import {
  applyPhi, DSF, dsfScan, dsfScanRef, hankelRanks, linearRecurrence, materialize, randomFeatureSoftmax, SoftmaxAttention, type DSFParams,
} from '../../../src/nn/arch/33-dsf.ts'
import { LinearAttention, makeDSFMixer, NormalizedAttention, S6, SSD, type DSFMixerName } from '../../../src/nn/arch/33-dsf-layers.ts'
import { linearRecurrence as recTuned, linearRecurrenceRef as recRef, numericalRank } from '../../../src/kernels/dsf.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const f64 = 'float64' as const
const NAMES: DSFMixerName[] = ['linear', 'normalized', 's6', 'ssd', 'qlstm', 'rglru']
const multiHead = (name: DSFMixerName): boolean => name === 'linear' || name === 'normalized' || name === 'ssd'
const mixer = (name: DSFMixerName, d: number, n: number, seed: number) =>
  makeDSFMixer(name, d, n, { generator: new Generator(seed), dtype: f64, ...(multiHead(name) ? { heads: 2 } : {}) })
const maxAbs = (a: Tensor, b: Tensor): number => a.sub(b).abs().amax().item()
const setData = (t: Tensor, vals: Tensor): void => { t.storage.set(vals.contiguous().to(t.dtype).data()) }

test('every layer: fused recurrent form == DSF scan == step-by-step oracle == Φ·v (float64, 1e-12)', () => {
  const x = randn([2, 9, 8], { dtype: f64, generator: new Generator(1) })
  for (const [k, name] of NAMES.entries()) {
    const layer = mixer(name, 8, 3, 10 + k)
    const y = layer.forward(x) // (2, 9, 8)
    const p = layer.dsf(x)
    const { Phi, v } = materialize(layer, x)
    assert.equal(Phi.shape, [2, 8, 9, 9], name)
    assert.ok(y.abs().amax().item() > 1e-3, `${name}: non-trivial output`)
    assert.ok(maxAbs(y, dsfScan(p)) < 1e-12, `${name}: forward vs dsfScan ${maxAbs(y, dsfScan(p))}`)
    assert.ok(maxAbs(y, dsfScanRef(p)) < 1e-12, `${name}: forward vs step oracle`)
    assert.ok(maxAbs(y, applyPhi(Phi, v)) < 1e-12, `${name}: forward vs Φv ${maxAbs(y, applyPhi(Phi, v))}`)
  }
})

test('causality: Φ is lower triangular, and perturbing x_t leaves y_{<t} unchanged', () => {
  const x = randn([1, 8, 8], { dtype: f64, generator: new Generator(2) })
  const layers: (DSF | SoftmaxAttention)[] = NAMES.map((n, k) => mixer(n, 8, 3, 20 + k))
  layers.push(new SoftmaxAttention(8, { heads: 2, generator: new Generator(3), dtype: f64 }))
  for (const layer of layers) {
    const Phi = materialize(layer, x).Phi.contiguous().data() // (1, 8, 8, 8)
    let upper = 0, lower = 0
    for (let c = 0; c < 8; c++) for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
      const val = Math.abs(Phi[(c * 8 + i) * 8 + j])
      if (j > i) upper = Math.max(upper, val); else lower = Math.max(lower, val)
    }
    assert.is(upper, 0, layer.constructor.name)
    assert.ok(lower > 0, layer.constructor.name)
    const x2 = x.clone()
    x2.storage[5 * 8 + 3] += 1 // perturb x_5
    const y1 = layer.forward(x), y2 = layer.forward(x2)
    assert.ok(maxAbs(y1.narrow(1, 0, 5), y2.narrow(1, 0, 5)) === 0, `${layer.constructor.name}: past unchanged`)
    assert.ok(maxAbs(y1.narrow(1, 5, 3), y2.narrow(1, 5, 3)) > 1e-6, `${layer.constructor.name}: future changes`)
  }
})

test('linear attention: parallel masked form == recurrent form (normalized and not, 1 and 2 heads, elu+1 and relu)', () => {
  const x = randn([2, 10, 8], { dtype: f64, generator: new Generator(4) })
  for (const [normalize, heads, featureMap] of [[true, 1, 'elu1'], [true, 2, 'elu1'], [false, 2, 'relu'], [false, 1, 'identity']] as const) {
    const la = new LinearAttention(8, { n: 4, heads, featureMap, normalize, generator: new Generator(5), dtype: f64 })
    const d = maxAbs(la.forward(x), la.parallel(x))
    assert.ok(d < 1e-12, `${normalize} ${heads} ${featureMap}: ${d}`)
  }
})

/** Unnormalized identity-feature linear attention with W_Q = W_C, W_K = W_B, W_V = I. */
function matchingLinearAttention(d: number, n: number, heads: number, WB: Tensor, WC: Tensor): LinearAttention {
  const la = new LinearAttention(d, { n, heads, featureMap: 'identity', normalize: false, dtype: f64 })
  setData(la.Wq.weight, WC); setData(la.Wk.weight, WB)
  setData(la.Wv.weight, tensor(Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))), { dtype: f64 }))
  return la
}
const SOFTPLUS_INV_1 = Math.log(Math.E - 1) // softplus(b) = 1

test('equivalence: S6 with constant Δ = 1, D = 0 and A -> 0 is unnormalized linear attention (φ = id, q = W_C u, k = W_B u)', () => {
  const x = randn([2, 8, 6], { dtype: f64, generator: new Generator(6) })
  const s6 = new S6(6, { n: 3, generator: new Generator(7), dtype: f64 })
  s6.Wdelta.weight.storage.fill(0); s6.deltaBias.storage.fill(SOFTPLUS_INV_1); s6.D.storage.fill(0)
  const la = matchingLinearAttention(6, 3, 1, s6.WB.weight, s6.WC.weight)
  const yLA = la.forward(x)
  const errs = [0, -3, -40].map((logA) => { s6.Alog.storage.fill(logA); return maxAbs(s6.forward(x), yLA) }) // |A| = 1, 0.05, 4e-18
  assert.ok(errs[0] > 1e-2, `A = -1 differs: ${errs[0]}`)
  assert.ok(errs[1] < errs[0] && errs[2] < 1e-12, `errors shrink to 0 as A -> 0: ${errs}`)
  // And Φ itself: every channel of S6 carries linear attention's one L×L matrix.
  assert.ok(maxAbs(materialize(s6, x).Phi, materialize(la, x).Phi) < 1e-12)
})

test('equivalence: SSD (2 heads) with A = 0, Δ = 1, D = 0 is 2-head unnormalized linear attention; with A < 0 it is decayed', () => {
  const x = randn([2, 8, 8], { dtype: f64, generator: new Generator(8) })
  const ssd = new SSD(8, { n: 3, heads: 2, generator: new Generator(9), dtype: f64 })
  ssd.Wdelta.weight.storage.fill(0); ssd.deltaBias.storage.fill(SOFTPLUS_INV_1); ssd.D.storage.fill(0)
  ssd.Alog.storage.fill(-Infinity) // A = -exp(-inf) = 0 exactly, Λ_i = I
  const la = matchingLinearAttention(8, 3, 2, ssd.WB.weight, ssd.WC.weight)
  assert.ok(maxAbs(ssd.forward(x), la.forward(x)) < 1e-12)
  // With A_h = -log 2 and Δ = 1: Φ_ij = 2^{-(i-j)} (linear attention's Φ_ij) — linear attention with decay.
  ssd.Alog.storage.fill(Math.log(Math.LN2))
  const P = materialize(ssd, x).Phi.contiguous().data(), Q = materialize(la, x).Phi.contiguous().data()
  for (let i = 0; i < 8; i++) for (let j = 0; j <= i; j++) {
    const e = 3 * 64 + i * 8 + j // batch 0, channel 3
    assert.ok(Math.abs(P[e] - 2 ** -(i - j) * Q[e]) < 1e-12, `(${i}, ${j})`)
  }
})

test('random-feature softmax: max |Φ_n − Φ_softmax| shrinks as the state expansion n grows (3 seeds)', () => {
  const x = randn([1, 12, 8], { dtype: f64, generator: new Generator(11) })
  const sa = new SoftmaxAttention(8, { heads: 1, keyDim: 8, generator: new Generator(12), dtype: f64 })
  const PhiSoftmax = materialize(sa, x).Phi
  const err = (n: number): number => {
    let total = 0
    for (const seed of [1, 2, 3]) {
      const phi = randomFeatureSoftmax(n, 8, { generator: new Generator(100 + seed) })
      const la = new LinearAttention(8, { n, keyDim: 8, featureMap: phi, dtype: f64 })
      setData(la.Wq.weight, sa.Wq.weight); setData(la.Wk.weight, sa.Wk.weight); setData(la.Wv.weight, sa.Wv.weight)
      total += maxAbs(materialize(la, x).Phi, PhiSoftmax)
    }
    return total / 3
  }
  const e = [4, 64, 1024].map(err)
  assert.ok(e[0] > e[1] && e[1] > e[2], `errors ${e}`)
  // Monte Carlo rate 1/√n predicts e(1024)/e(64) ≈ 1/4 (measured 0.31 here); assert a margin of 2.
  assert.ok(e[2] < e[1] / 2 && e[2] < e[0] / 4, `errors ${e}`)
})

test('rank growth: softmax Φ[t:, :t] has full rank min(t, L − t) (grows with L); every DSF layer stays ≤ its state n', () => {
  for (const L of [8, 16, 24]) {
    const x = randn([1, L, 8], { dtype: f64, generator: new Generator(13) })
    const sa = new SoftmaxAttention(8, { heads: 1, generator: new Generator(14), dtype: f64 })
    const ranks = hankelRanks(materialize(sa, x).Phi.select(0, 0).select(0, 0))
    assert.equal(ranks, Array.from({ length: L - 1 }, (_, t) => Math.min(t + 1, L - t - 1)), `softmax L = ${L}`)
    assert.is(Math.max(...ranks), L / 2)
  }
  const x = randn([1, 20, 8], { dtype: f64, generator: new Generator(15) })
  for (const [k, name] of NAMES.entries()) {
    const n = name === 'qlstm' || name === 'rglru' ? 1 : 3
    const Phi = materialize(mixer(name, 8, 3, 30 + k), x).Phi.select(0, 0) // (d, L, L)
    for (const c of [0, 5]) {
      const ranks = hankelRanks(Phi.select(0, c))
      assert.is(Math.max(...ranks), n, `${name} channel ${c}: ${ranks}`)
    }
  }
})

test('normalized attention: Φ ≥ 0 with rows summing to ≤ 1; φ ≡ 1 (n = 1) and a constant v give y ≡ v', () => {
  const x = randn([2, 10, 8], { dtype: f64, generator: new Generator(16) })
  const na = new NormalizedAttention(8, { n: 4, heads: 2, generator: new Generator(17), dtype: f64 })
  const Phi = materialize(na, x).Phi
  assert.ok(Phi.amin().item() >= 0)
  const rows = Phi.sum(3) // (B, d, L)
  assert.ok(rows.amax().item() <= 1 + 1e-12 && rows.amin().item() > 0, `row sums in (0, 1]: ${rows.amin().item()} .. ${rows.amax().item()}`)
  const one = new NormalizedAttention(8, { n: 1, heads: 2, generator: new Generator(18), dtype: f64 }) // softmax over 1 feature: φ ≡ 1
  const xc = randn([2, 1, 8], { dtype: f64, generator: new Generator(19) }).expand([2, 10, 8]).contiguous() // constant input -> constant v
  assertClose(one.forward(xc), one.Wv.forward(xc), { atol: 1e-12, rtol: 0 })
  assertClose(materialize(one, xc).Phi.sum(3), Array(2 * 8 * 10).fill(1), { atol: 1e-12, rtol: 0 })
})

test('gradcheck (float64): every layer w.r.t. input and all parameters, fused forward and DSF scan', () => {
  const x = randn([1, 4, 4], { dtype: f64, generator: new Generator(20) }).requiresGrad_()
  for (const [k, name] of NAMES.entries()) {
    const layer = makeDSFMixer(name, 4, 2, { generator: new Generator(40 + k), dtype: f64, ...(multiHead(name) ? { heads: 2 } : {}) })
    const inputs = [x, ...layer.parameters()]
    gradcheck(() => layer.forward(x), inputs)
    gradcheck(() => dsfScan(layer.dsf(x)), inputs)
  }
  const sa = new SoftmaxAttention(4, { heads: 2, generator: new Generator(50), dtype: f64 })
  gradcheck(() => { const m = materialize(sa, x); return applyPhi(m.Phi, m.v) }, [x, ...sa.parameters()])
})

test('linearRecurrence: tuned kernel == ref oracle (NaN-prefilled), op gradcheck, and the generic DSF module', () => {
  const g = new Generator(21)
  for (const [R, L, M] of [[1, 1, 1], [2, 7, 5], [3, 13, 1]]) {
    const a = rand([R * L * M], { dtype: f64, generator: g }).data() as Float64Array
    const b = randn([R * L * M], { dtype: f64, generator: g }).data() as Float64Array
    const h1 = new Float64Array(R * L * M).fill(NaN), h2 = new Float64Array(R * L * M).fill(NaN)
    recRef(h1, a, b, { R, L, M }); recTuned(h2, a, b, { R, L, M })
    assertClose(Array.from(h2), Array.from(h1), { atol: 0, rtol: 0 })
  }
  const a = rand([2, 5, 3], { dtype: f64, generator: g }).requiresGrad_(), b = randn([2, 5, 3], { dtype: f64, generator: g }).requiresGrad_()
  gradcheck((p, q) => linearRecurrence(p, q), [a, b])
  // Generic DSF from a generator: an exponential moving average, Λ = 1/2, B = 1/2, C = 1 (closed form).
  const ema = new DSF((u: Tensor): DSFParams => {
    const full = [...u.shape, 1], half = tensor([[[[0.5]]]], { dtype: f64 }).expand(full)
    return { v: u, lam: half, B: half, C: half.mul(2), D: null }
  })
  const u = randn([1, 6, 2], { dtype: f64, generator: g })
  const ud = u.data(), want: number[] = []
  for (let i = 0; i < 6; i++) for (let c = 0; c < 2; c++) {
    let s = 0
    for (let j = 0; j <= i; j++) s += 0.5 ** (i - j + 1) * ud[j * 2 + c]
    want.push(s)
  }
  assertClose(ema.forward(u), want, { atol: 1e-14 })
  assertClose(ema.forwardRef(u), want, { atol: 1e-14 })
  assert.is(numericalRank([1, 2, 2, 4], 2, 2), 1)
  assert.is(numericalRank([1, 2, 3, 4], 2, 2), 2)
})

test('errors name the layer and the shapes', () => {
  const la = new LinearAttention(8, { n: 4 })
  assertThrows(() => la.forward(randn([1, 5, 6])), /LinearAttention: x must be \(B, L, D\) with D = 8, got \[1,5,6\]/)
  assertThrows(() => new S6(8).forward(randn([5, 8])), /S6: x must be/)
  assertThrows(() => new SSD(8, { heads: 3 }), /SSD: dModel=8 must be a multiple of heads=3/)
  assertThrows(() => makeDSFMixer('nope' as DSFMixerName, 8, 2), /makeDSFMixer: unknown layer/)
  assertThrows(() => new LinearAttention(8, { n: 4, keyDim: 3, featureMap: randomFeatureSoftmax(5, 3) }).forward(randn([1, 2, 8])), /n = 4 features, got 5/)
  assertThrows(() => new DSF().forward(randn([1, 2, 3])), /DSF: no DSF generator/)
})

test.run()

/**
 * @file PolyCom (sheet 38, https://arxiv.org/abs/2411.03884): PolyReLU and PolyNorm against naive
 * per-element loops (orders 1..4), the sheet's reductions (a = [0,0,1] gives ReLU / RMS-normalised x,
 * order 1 is an affine ReLU), float64 gradcheck for x, weight and bias, PolyNorm's scale invariance,
 * the 4-scalar init, zero input -> bias, and the FFN wiring.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, randn, tensor, zeros, type Tensor } from '../../../src/index.ts'
import { PolyNorm, PolyReLU } from '../../../src/nn/arch/38-polycom.ts'
import { TransformerMLP } from '../../../src/nn/transformer-lm.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const rows = (x: Tensor): number[][] => x.toArray() as number[][]

/** Σ_{i=1..r} w[r−i] ρ(x)^i + b, one element at a time. */
function polyReluNaive(x: number[][], w: number[], b: number): number[][] {
  const r = w.length
  return x.map((row) => row.map((v) => {
    const rho = Math.max(0, v)
    let y = b
    for (let i = 1; i <= r; i++) y += w[r - i] * rho ** i
    return y
  }))
}

/** Σ_{i=1..r} w[r−i] x^i / √(mean(x^{2i}) + ε) + b, one row at a time. */
function polyNormNaive(x: number[][], w: number[], b: number, eps: number): number[][] {
  const r = w.length
  return x.map((row) => {
    const out = row.map(() => b)
    for (let i = 1; i <= r; i++) {
      const z = row.map((v) => v ** i)
      const rms = Math.sqrt(z.reduce((s, v) => s + v * v, 0) / z.length + eps)
      z.forEach((v, k) => { out[k] += w[r - i] * v / rms })
    }
    return out
  })
}

function setCoeffs(m: PolyReLU | PolyNorm, w: number[], b: number): void {
  noGrad(() => { m.weight.copy_(tensor(w, { dtype: m.weight.dtype })); m.bias.copy_(tensor([b], { dtype: m.bias.dtype })) })
}

test('PolyReLU and PolyNorm match the naive loops for orders 1..4 (float64, random coefficients)', () => {
  const g = new Generator(3)
  for (const r of [1, 2, 3, 4]) {
    const x = randn([5, 7], { dtype: 'float64', generator: g })
    const w = Array.from({ length: r }, () => g.nextNormal()), b = g.nextNormal()
    const pr = new PolyReLU({ order: r, dtype: 'float64' }), pn = new PolyNorm({ order: r, dtype: 'float64' })
    setCoeffs(pr, w, b)
    setCoeffs(pn, w, b)
    assertClose(pr.forward(x), polyReluNaive(rows(x), w, b), { atol: 1e-12, rtol: 1e-12, msg: `PolyReLU r=${r}` })
    assertClose(pn.forward(x), polyNormNaive(rows(x), w, b, 1e-6), { atol: 1e-12, rtol: 1e-12, msg: `PolyNorm r=${r}` })
  }
})

test('float32 matches the float64 loop to float32 precision; leading dims broadcast (B, T, F)', () => {
  const x = randn([2, 3, 8], { generator: new Generator(4) })
  const flat = rows(x.reshape([6, 8]).double())
  const w = [0.3, -0.7, 1.1], b = 0.2
  const pr = new PolyReLU(), pn = new PolyNorm()
  setCoeffs(pr, w, b)
  setCoeffs(pn, w, b)
  assert.equal(pn.forward(x).shape, [2, 3, 8])
  assertClose(pr.forward(x).reshape([6, 8]), polyReluNaive(flat, w, b), { atol: 1e-5, rtol: 1e-5 })
  assertClose(pn.forward(x).reshape([6, 8]), polyNormNaive(flat, w, b, 1e-6), { atol: 1e-5, rtol: 1e-5 })
})

test('sheet test 1: a = [0,0,1], b = 0 gives ReLU (PolyReLU) and RMS-normalised x (PolyNorm)', () => {
  const x = randn([4, 6], { dtype: 'float64', generator: new Generator(5) })
  const pr = new PolyReLU({ dtype: 'float64' }), pn = new PolyNorm({ dtype: 'float64' })
  setCoeffs(pr, [0, 0, 1], 0)
  setCoeffs(pn, [0, 0, 1], 0)
  assertClose(pr.forward(x), x.relu(), { atol: 0, rtol: 0 })
  const expected = rows(x).map((row) => {
    const rms = Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + 1e-6)
    return row.map((v) => v / rms)
  })
  assertClose(pn.forward(x), expected, { atol: 1e-14, rtol: 1e-12 })
})

test('order-1 PolyReLU is the affine ReLU a_1 ReLU(x) + a_0', () => {
  const x = tensor([[-2, -0.5, 0, 0.25, 3]], { dtype: 'float64' })
  const pr = new PolyReLU({ order: 1, dtype: 'float64' })
  setCoeffs(pr, [2.5], -1)
  assertClose(pr.forward(x), [[-1, -1, -1, -0.375, 6.5]], { atol: 0, rtol: 0 })
})

test('sheet test 2: float64 gradcheck of x, weight and bias (PolyReLU away from the kink, PolyNorm everywhere)', () => {
  const g = new Generator(6)
  // PolyReLU's ReLU has a kink at 0: keep |x| >= 0.2 so finite differences never straddle it.
  const base = randn([3, 5], { dtype: 'float64', generator: g })
  const xr = base.add(base.sign().mul(0.2)).detach().requiresGrad_()
  const pr = new PolyReLU({ dtype: 'float64' })
  setCoeffs(pr, [0.4, -0.3, 0.9], 0.1)
  gradcheck((x, w, b) => {
    pr.weight = w as typeof pr.weight
    pr.bias = b as typeof pr.bias
    return pr.forward(x)
  }, [xr, pr.weight, pr.bias])
  const xn = randn([3, 5], { dtype: 'float64', generator: g }).requiresGrad_()
  const pn = new PolyNorm({ order: 4, dtype: 'float64' })
  setCoeffs(pn, [0.2, 0.4, -0.3, 0.9], 0.1)
  gradcheck((x, w, b) => {
    pn.weight = w as typeof pn.weight
    pn.bias = b as typeof pn.bias
    return pn.forward(x)
  }, [xn, pn.weight, pn.bias])
})

test('sheet test 3: PolyNorm(c x) = PolyNorm(x) for c > 0', () => {
  const x = randn([4, 16], { dtype: 'float64', generator: new Generator(7) })
  const pn = new PolyNorm({ dtype: 'float64' })
  setCoeffs(pn, [0.5, -1, 2], 0.3)
  const y = pn.forward(x)
  // Exact up to ε: N((c x)^i) = x^i / √(mean(x^{2i}) + ε / c^{2i}), so c^{2i} ≥ 1/64 moves ε to at most 64e-6
  // against mean(x^{2i}) ≳ 0.3 here: relative change ≲ 1e-4.
  for (const c of [0.5, 2, 10]) assertClose(pn.forward(x.mul(c)), y, { atol: 1e-4, rtol: 1e-4, msg: `c=${c}` })
  const tiny = new PolyNorm({ dtype: 'float64', eps: 1e-30 }) // with ε → 0 the invariance is exact to rounding
  setCoeffs(tiny, [0.5, -1, 2], 0.3)
  assertClose(tiny.forward(x.mul(7)), tiny.forward(x), { atol: 1e-12, rtol: 1e-12 })
})

test('sheet test 4: exactly 4 trainable scalars, initialised to 1/3, 1/3, 1/3, 0', () => {
  for (const m of [new PolyReLU(), new PolyNorm()]) {
    assert.is(m.numParameters(), 4)
    assert.equal([...m.namedParameters()].map(([n]) => n), ['weight', 'bias'])
    assertClose(m.weight, [1 / 3, 1 / 3, 1 / 3], { atol: 1e-7, rtol: 0 })
    assert.equal(Array.from(m.bias.data()), [0])
  }
  assert.is(new PolyNorm({ order: 5 }).numParameters(), 6)
  assertThrows(() => new PolyReLU({ order: 0 }), /PolyReLU: order must be an integer >= 1/)
})

test('sheet test 5: zero input gives the bias, with no NaN (ε in PolyNorm)', () => {
  const pr = new PolyReLU(), pn = new PolyNorm()
  setCoeffs(pr, [1, 2, 3], 0.75)
  setCoeffs(pn, [1, 2, 3], 0.75)
  const z = zeros([2, 6])
  for (const y of [pr.forward(z), pn.forward(z)]) assert.equal(Array.from(y.data()), new Array(12).fill(0.75))
  const x = zeros([2, 6]).requiresGrad_()
  pn.forward(x).sum().backward()
  assert.ok(Array.from(x.grad!.data()).every(Number.isFinite), 'finite gradient at 0')
})

test('as the FFN activation: TransformerMLP(D, F, PolyNorm) has 2·D·F + 4 parameters and its gradient reaches a_i', () => {
  const act = new PolyNorm()
  const mlp = new TransformerMLP(8, 32, { activation: act, generator: new Generator(8) })
  assert.is(mlp.numParameters(), 2 * 8 * 32 + 4)
  mlp.forward(randn([2, 3, 8], { generator: new Generator(9) })).square().sum().backward()
  assert.ok(Array.from(act.weight.grad!.data()).every((v) => v !== 0 && Number.isFinite(v)))
  assertThrows(() => act.forward(tensor([1, 2], { dtype: 'int32' })), /PolyNorm: x must be a float tensor/)
})

test.run()

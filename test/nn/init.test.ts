/**
 * @file nn.init: gains and fans against PyTorch (test/fixtures/nn.json, section `init`), and the
 * statistics of each initialiser (bounds, means, stds, truncation, orthogonality), not its values.
 * Also the Householder QR behind orthogonal_, and erfinv behind truncNormal_.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, empty, nn, randn, tensor, zeros, type Tensor } from '../../src/index.ts'
import { erfinv } from '../../src/nn/init.ts'
import { qr } from '../../src/linalg/qr.ts'
import { erf } from '../../src/kernels/math.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fixture } from './nn-fixture.ts'

const { init } = nn

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = Array.from(t.data())
  const mean = v.reduce((a, b) => a + b, 0) / v.length
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1))
  return { mean, std, min: Math.min(...v), max: Math.max(...v) }
}

/** |a - b| within k standard errors of a mean of n draws with standard deviation sd. */
const nearMean = (a: number, b: number, sd: number, n: number, k = 5): boolean => Math.abs(a - b) <= (k * sd) / Math.sqrt(n)
/** A sample std within 5% of the expected one (n >= 5000 draws: the std of the estimate is < 1%). */
const nearStd = (a: number, b: number): boolean => Math.abs(a - b) <= 0.05 * b

test('calculateGain and fans match PyTorch', () => {
  for (const [name, param, gain] of fixture.init.gains as [nn.init.Nonlinearity, number | null, number][]) {
    assertClose([init.calculateGain(name, param ?? undefined)], [gain], { atol: 1e-15, msg: `${name} ${param}` })
  }
  for (const { shape, fanIn, fanOut } of fixture.init.fans) {
    assert.equal(init.calculateFanInAndFanOut(empty(shape)), { fanIn, fanOut }, `fans of [${shape}]`)
  }
  assertThrows(() => init.calculateGain('swish' as 'relu'), /calculateGain: unsupported nonlinearity "swish"/)
  assertThrows(() => init.calculateFanInAndFanOut(empty([5])), /fewer than 2 dims \(shape \[5\]\)/)
})

test('kaiming: uniform within the bound PyTorch computes (and close to it), normal with its std', () => {
  for (const k of fixture.init.kaiming) {
    const opts = { a: k.a, mode: k.mode, nonlinearity: k.nonlinearity, generator: new Generator(1) }
    const u = stats(init.kaimingUniform_(empty(k.shape), opts))
    assert.ok(Math.max(-u.min, u.max) <= k.bound * (1 + 1e-6), `uniform within ${k.bound}`)
    assert.ok(Math.max(-u.min, u.max) >= 0.97 * k.bound, `uniform reaches ~${k.bound} (torch: ${k.torchMaxAbs})`)
    const n = empty(k.shape).numel()
    assert.ok(nearStd(u.std, k.std), `uniform std ${u.std} vs ${k.std}`)
    const g = stats(init.kaimingNormal_(empty(k.shape), opts))
    assert.ok(nearStd(g.std, k.std) && nearMean(g.mean, 0, k.std, n), `normal std ${g.std} vs ${k.std}, mean ${g.mean}`)
  }
})

test('xavier uniform and normal', () => {
  for (const x of fixture.init.xavier) {
    const n = empty(x.shape).numel()
    const u = stats(init.xavierUniform_(empty(x.shape, { dtype: 'float64' }), { gain: x.gain, generator: new Generator(2) }))
    assert.ok(Math.max(-u.min, u.max) <= x.bound && Math.max(-u.min, u.max) >= 0.95 * x.bound, `xavier bound ${x.bound}`)
    const g = stats(init.xavierNormal_(empty(x.shape), { gain: x.gain, generator: new Generator(3) }))
    assert.ok(nearStd(g.std, x.std) && nearMean(g.mean, 0, x.std, n), `xavier normal std ${g.std} vs ${x.std}`)
  }
})

test('truncNormal_: within [a, b], with the truncated normal mean and std', () => {
  for (const c of fixture.init.truncNormal) {
    const n = 40000
    const s = stats(init.truncNormal_(empty([n], { dtype: 'float64' }), { mean: c.mean, std: c.std, a: c.a, b: c.b, generator: new Generator(4) }))
    assert.ok(s.min >= c.a && s.max <= c.b, `bounds [${c.a}, ${c.b}]: got [${s.min}, ${s.max}]`)
    assert.ok(nearMean(s.mean, c.expectedMean, c.expectedStd, n), `mean ${s.mean} vs ${c.expectedMean} (torch sample ${c.torchMean})`)
    assert.ok(nearStd(s.std, c.expectedStd), `std ${s.std} vs ${c.expectedStd} (torch sample ${c.torchStd})`)
  }
})

test('erfinv inverts erf to float64 accuracy', () => {
  assertClose([erfinv(0.5), erfinv(-0.9), erfinv(0)], [0.4769362762044699, -1.1630871536766743, 0], { atol: 1e-15, rtol: 1e-14 })
  for (let y = -0.999999; y < 1; y += 0.0137) assertClose([erf(erfinv(y))], [y], { atol: 2e-16, rtol: 1e-14, msg: `y = ${y}` })
  assert.equal([erfinv(1), erfinv(-1)], [Infinity, -Infinity])
  assert.ok(Number.isNaN(erfinv(1.5)))
})

/** max |A - B| over all elements. */
const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().amax().item()

test('orthogonal_: orthonormal rows or columns (to 1e-5 in float32), scaled by gain; conv shapes flatten', () => {
  for (const shape of [[6, 4], [4, 6], [5, 3, 2], [8, 8]]) {
    for (const dtype of ['float32', 'float64'] as const) {
      const w = init.orthogonal_(empty(shape, { dtype }), { gain: 2, generator: new Generator(5) })
      const m = w.reshape([shape[0], -1]).double().div(2)
      const [r, c] = m.shape
      const gram = r >= c ? m.T.matmul(m) : m.matmul(m.T)
      assert.ok(maxDiff(gram, nn.init.eye_(empty([Math.min(r, c), Math.min(r, c)], { dtype: 'float64' }))) < (dtype === 'float64' ? 1e-12 : 1e-5), `[${shape}] ${dtype}`)
    }
  }
  const a = init.orthogonal_(empty([4, 4]), { generator: new Generator(6) })
  const b = init.orthogonal_(empty([4, 4]), { generator: new Generator(6) })
  assert.equal(a.toArray(), b.toArray(), 'seeded')
  assertThrows(() => init.orthogonal_(empty([3])), /orthogonal_: only tensors with 2 or more dims are supported, got shape \[3\]/)
})

test('Householder QR: Q R = A, Q^T Q = I, R upper triangular (tall, wide, rank-deficient)', () => {
  const cases = [randn([7, 4], { dtype: 'float64', generator: new Generator(7) }), randn([3, 5], { dtype: 'float64', generator: new Generator(8) }),
    tensor([[1, 2, 0], [2, 4, 0], [3, 6, 0], [0, 0, 0]], { dtype: 'float64' })]
  for (const A of cases) {
    const { Q, R } = qr(A)
    const k = Math.min(...A.shape)
    assert.equal([Q.shape, R.shape], [[A.shape[0], k], [k, A.shape[1]]])
    assert.ok(maxDiff(Q.matmul(R), A) < 1e-13, 'Q R = A')
    assert.ok(maxDiff(Q.T.matmul(Q), init.eye_(empty([k, k], { dtype: 'float64' }))) < 1e-13, 'orthonormal Q')
    assert.ok(maxDiff(R.tril(-1), zeros(R.shape, { dtype: 'float64' })) === 0, 'upper triangular R')
  }
})

test('uniform_, normal_, constant_, zeros_, ones_, eye_, dirac_ fill in place and return the tensor', () => {
  const p = new nn.Parameter(empty([100, 100]))
  assert.is(init.uniform_(p, -2, 3, { generator: new Generator(9) }), p, 'works on a Parameter in grad mode, returns it')
  const u = stats(p)
  assert.ok(u.min >= -2 && u.max < 3 && nearMean(u.mean, 0.5, 5 / Math.sqrt(12), 1e4))
  const g = stats(init.normal_(empty([100, 100], { dtype: 'float64' }), 1, 0.5, { generator: new Generator(10) }))
  assert.ok(nearMean(g.mean, 1, 0.5, 1e4) && nearStd(g.std, 0.5))
  assert.equal(init.constant_(empty([2, 2]), 0.25).toArray(), [[0.25, 0.25], [0.25, 0.25]])
  assert.equal(init.ones_(empty([3])).toArray(), [1, 1, 1])
  assert.equal(init.zeros_(init.ones_(empty([2]))).toArray(), [0, 0])
  assert.equal(init.eye_(empty([2, 3])).toArray(), [[1, 0, 0], [0, 1, 0]])
  // dirac_: a conv weight (out 4, in 2, 3) with 2 groups of 2 out channels passes channel d of each group through.
  const d = init.dirac_(empty([4, 2, 3]), 2)
  assert.equal(d.toArray(), [[[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]], [[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]])
  assert.equal(init.dirac_(empty([1, 1, 2, 3])).toArray(), [[[[0, 0, 0], [0, 1, 0]]]])
  assertThrows(() => init.uniform_(empty([2], { dtype: 'int32' })), /uniform_: can only initialise float32 or float64 tensors, got int32/)
  assertThrows(() => init.kaimingUniform_(empty([3, 3]), { mode: 'fan_avg' as 'fan_in' }), /kaimingUniform_: mode must be 'fan_in' or 'fan_out'/)
  assertThrows(() => init.dirac_(empty([3, 2, 3]), 2), /dirac_: dim 0 \(3\) is not divisible by groups 2/)
})

test.run()

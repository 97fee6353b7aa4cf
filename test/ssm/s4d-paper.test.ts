/**
 * @file S4D (sheet 41, https://arxiv.org/abs/2206.11893) beyond test/ssm/s4d.test.ts: convolution
 * mode == recurrent mode on a long sequence (L = 1024, float64), the bidirectional kernel against the
 * naive two-sided sum, init properties (stable dA for every init and discretisation, dt range, C
 * variance), ZOH and bilinear agreeing to O(dt^2), and the delay capability: the span of one
 * channel's S4D-Lin kernels holds the delayed impulse δ_{l=k}, that of S4D-Real does not.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, stack, tensor, optim } from '../../src/index.ts'
import { S4D } from '../../src/ssm/s4d.ts'
import { householderQR } from '../../src/linalg/qr.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const INITS = ['lin', 'inv', 'real', 'legs', 'rand'] as const

function recurrent(m: S4D, u: ReturnType<typeof randn>): ReturnType<typeof randn> {
  let s = m.initialState(u.shape[0])
  const ys = []
  for (let t = 0; t < u.shape[2]; t++) { const [y, n] = m.step(s, u.select(2, t)); ys.push(y); s = n }
  return stack(ys, 2)
}

test('conv mode == recurrent mode at L = 1024 in float64 (1e-8), Lin and Inv, zoh and bilinear', () => {
  for (const disc of ['zoh', 'bilinear'] as const) {
    for (const init of ['lin', 'inv'] as const) {
      const m = new S4D(2, { dState: 8, init, disc, dtype: 'float64', generator: new Generator(11) })
      const u = randn([1, 2, 1024], { dtype: 'float64', generator: new Generator(12) })
      const conv = m.forward(u)
      assertClose(recurrent(m, u), conv, { atol: 1e-8, rtol: 1e-8, msg: `${disc} ${init}` })
    }
  }
})

test('bidirectional: y_t = Σ_{j<=t} K_j u_{t-j} + D u_t + Σ_{m>=1} Kb_{m-1} u_{t+m}; no recurrent mode', () => {
  const L = 9, H = 2
  const m = new S4D(H, { dState: 4, bidirectional: true, dtype: 'float64', generator: new Generator(13) })
  const u = randn([2, H, L], { dtype: 'float64', generator: new Generator(14) })
  const K = m.kernel(L).data(), Kb = m.kernel(L, 'backward').data(), D = m.D.data(), ud = u.data()
  const want: number[] = []
  for (let b = 0; b < 2; b++) for (let h = 0; h < H; h++) for (let t = 0; t < L; t++) {
    const at = (s: number) => ud[(b * H + h) * L + s]
    let y = D[h] * at(t)
    for (let j = 0; j <= t; j++) y += K[h * L + j] * at(t - j)
    for (let s = 1; t + s < L; s++) y += Kb[h * L + s - 1] * at(t + s)
    want.push(y)
  }
  assertClose(m.forward(u), want, { atol: 1e-12 })
  assertThrows(() => m.step(m.initialState(1), u.select(2, 0)), /bidirectional layer has no recurrent mode/)
  assertThrows(() => new S4D(2, { dState: 4 }).kernel(4, 'backward'), /needs a bidirectional layer/)
  const groups = new optim.AdamW(m.paramGroups(0.01), { lr: 0.01 }).paramGroups as unknown as { params: unknown[] }[]
  assert.equal(groups[0].params, [m.C, m.Cb, m.D])
  const uu = randn([1, H, 5], { dtype: 'float64', generator: new Generator(15) }).requiresGrad_()
  gradcheck((x) => m.forward(x), [uu, m.Cb!, m.C, m.logDt])
})

test('init: A = -exp(logAReal) + i AImag has Re A < 0, |dA| < 1 (zoh and bilinear), dt in [dtMin, dtMax], E|C|^2 = 1', () => {
  for (const init of INITS) {
    for (const disc of ['zoh', 'bilinear'] as const) {
      const m = new S4D(16, { dState: 64, init, disc, dtype: 'float64', dtMin: 1e-3, dtMax: 1e-1, generator: new Generator(16) })
      const { dA } = m.discretize()
      const mod = dA.re.square().add(dA.im.square()).sqrt().data()
      assert.ok(mod.every((r) => r < 1 && r > 0), `${init} ${disc}: stable`)
      assert.ok(m.logAReal.exp().neg().data().every((r) => r < 0))
      const dt = m.logDt.exp().data()
      assert.ok(dt.every((d) => d >= 1e-3 - 1e-15 && d <= 1e-1 + 1e-15), `${init}: dt range`)
    }
  }
  // log dt is uniform: its mean over many channels is the midpoint of [log 1e-3, log 1e-1]
  const big = new S4D(4000, { dState: 2, dtype: 'float64', generator: new Generator(17) })
  const ld = Array.from(big.logDt.data()), mean = ld.reduce((a, b) => a + b, 0) / ld.length
  assert.ok(Math.abs(mean - Math.log(1e-2)) < 0.1, `mean log dt ${mean}`)
  const c2 = big.C.square().sum(2).mean().item() // E |C|^2 for complex N(0, 1)
  assert.ok(Math.abs(c2 - 1) < 0.06, `E|C|^2 = ${c2}`)
})

test('ZOH and bilinear kernels agree to O(dt^2) relative: halving dt quarters the gap', () => {
  const gap = (dt: number): number => {
    const mk = (disc: 'zoh' | 'bilinear') => {
      const m = new S4D(1, { dState: 8, init: 'lin', disc, dtype: 'float64', generator: new Generator(18) })
      m.logDt.detach().fill_(Math.log(dt))
      return m.kernel(Math.round(2 / dt)) // same horizon t = l dt in [0, 2)
    }
    const a = mk('zoh'), b = mk('bilinear')
    return a.sub(b).abs().amax().item() / a.abs().amax().item()
  }
  const g1 = gap(0.02), g2 = gap(0.01)
  assert.ok(g1 < 0.05, `gap ${g1}`)
  assert.ok(g1 / g2 > 3.5 && g1 / g2 < 4.5, `ratio ${g1 / g2} (expect 4)`)
})

/** Fraction of δ_{l=k}'s energy outside the span of one channel's kernels over all C: 1 − ||Q^T e_k||². */
function delayResidual(init: (typeof INITS)[number], dt: number, L: number, k: number): number {
  const N2 = 32
  const m = new S4D(1, { dState: 2 * N2, init, dtype: 'float64', generator: new Generator(19) })
  m.logDt.detach().fill_(Math.log(dt))
  const cols: number[][] = []
  const parts = init === 'real' ? [0] : [0, 1] // a real A makes the imaginary part of C redundant
  for (let n = 0; n < N2; n++) {
    for (const p of parts) {
      m.C.detach().copy_(tensor([Array.from({ length: N2 }, (_, i) => [i === n && p === 0 ? 1 : 0, i === n && p === 1 ? 1 : 0])], { dtype: 'float64' }))
      cols.push(Array.from(m.kernel(L).data()))
    }
  }
  const J = cols.length, M = new Float64Array(L * J) // (L, J)
  for (let l = 0; l < L; l++) for (let j = 0; j < J; j++) M[l * J + j] = cols[j][l]
  const { q } = householderQR(M, L, J) // (L, J)
  let proj = 0
  for (let j = 0; j < J; j++) proj += q[k * J + j] ** 2
  return 1 - proj
}

test('delay capability: S4D-Lin kernels (N = 64, dt = 1/32) span 85% of δ_{l=48}; S4D-Real spans < 30%', () => {
  const lin = delayResidual('lin', 1 / 32, 128, 48)
  const real = Math.min(...[1 / 64, 1 / 32, 1 / 16].map((dt) => delayResidual('real', dt, 128, 48)))
  assert.ok(lin < 0.15, `Lin residual ${lin}`)
  assert.ok(real > 0.7, `Real residual ${real}`)
})

test.run()

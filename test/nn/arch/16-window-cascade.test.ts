/**
 * @file Paper 16, window-based early-exit cascades (https://arxiv.org/abs/2303.08010): confidence
 * scores against hand values, the risk-coverage curve / AURC of a hand-made 6-sample example and of a
 * perfect ranking (closed form), AUROC / FPR@95, the window routing (outside → member 1 exactly,
 * inside → ensemble mean), empty window = member 1 and full window = ensemble, MAC accounting
 * N·MACs₁ + passed·MACs₂, online cascade == offline routing for K = 3, threshold policy, fitWindow.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, noGrad, randn, tensor, type Tensor } from '../../../src/index.ts'
import { countMacs } from '../../../src/profile.ts'
import { aurocFpr95, riskCoverage, uncertaintyScore } from '../../../src/nn/arch/16-risk-coverage.ts'
import { Cascade, cascadeOutputs, fitWindow, quantile, quantileOfScore } from '../../../src/nn/arch/16-window-cascade.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const member = (seed: number, hidden = 16): nn.Sequential => {
  const g = new Generator(seed)
  return new nn.Sequential(new nn.Linear(8, hidden, { generator: g }), new nn.ReLU(), new nn.Linear(hidden, 3, { generator: g }))
}
const softmax = (m: nn.Module, x: Tensor): Float64Array => noGrad(() => (m.forward as (x: Tensor) => Tensor)(x).to('float64').softmax(-1).data() as Float64Array)
const x = randn([40, 8], { generator: new Generator(1) }).mul(3)

test('uncertaintyScore: msp, −entropy, margin from probs; the same from logits; energy = logsumexp', () => {
  const p = tensor([[0.7, 0.2, 0.1], [0.5, 0.5, 0]], { dtype: 'float64' })
  assertClose(uncertaintyScore(p, 'msp'), [0.7, 0.5], { atol: 1e-15 })
  assertClose(uncertaintyScore(p, 'entropy'), [0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1), Math.log(0.5)], { atol: 1e-15 })
  assertClose(uncertaintyScore(p, 'margin'), [0.5, 0], { atol: 1e-15 })
  const z = tensor([[2, 0, -1], [0.3, 0.3, -5]], { dtype: 'float64' })
  assertClose(uncertaintyScore(z, 'msp', { input: 'logits' }), Array.from(uncertaintyScore(z.softmax(-1), 'msp')), { atol: 1e-15 })
  assertClose(uncertaintyScore(z, 'energy', { input: 'logits' }), [Math.log(Math.exp(2) + 1 + Math.exp(-1)), Math.log(2 * Math.exp(0.3) + Math.exp(-5))], { atol: 1e-14 })
  // Binary: margin = 2 |p − ½|, the distance to the decision threshold.
  assertClose(uncertaintyScore(tensor([[0.8, 0.2], [0.45, 0.55]]), 'margin'), [0.6, 0.1], { atol: 1e-7 })
  assertThrows(() => uncertaintyScore(p, 'energy'), /needs logits/)
})

test('risk-coverage of a hand-made 6-sample example: curve, AURC = 0.275, operating points, ties', () => {
  const rc = riskCoverage([0.4, 0.9, 0.7, 0.8, 0.5, 0.6], [1, 1, 1, 0, 0, 1])
  // sorted: 0.9 ✓, 0.8 ✗, 0.7 ✓, 0.6 ✓, 0.5 ✗, 0.4 ✓
  assertClose(rc.risk, [0, 0, 1 / 2, 1 / 3, 1 / 4, 2 / 5, 2 / 6], { atol: 1e-15 })
  assertClose(rc.coverage, [0, 1, 2, 3, 4, 5, 6].map((k) => k / 6), { atol: 1e-15 })
  // trapezoid: (1/6)(0 + 1/4 + 5/12 + 7/24 + 13/40 + 11/30) = (1/6)(198/120)
  assertClose([rc.aurc], [0.275], { atol: 1e-15 })
  assert.equal(rc.coverageAtRisk(0.3), { coverage: 4 / 6, threshold: 0.6 })
  assert.equal(rc.coverageAtRisk(0), { coverage: 1 / 6, threshold: 0.9 })
  assert.equal(rc.riskAtCoverage(0.5), { risk: 1 / 3, threshold: 0.7 })
  // Ties share their errors evenly: scores [1, 1, 0], correct [1, 0, 1].
  assertClose(riskCoverage([1, 1, 0], [1, 0, 1]).risk, [0, 0.5, 0.5, 1 / 3], { atol: 1e-15 })
})

test('AURC of a perfect ranking matches the closed form and is the minimum over rankings', () => {
  const N = 20, E = 5
  const correct = Array.from({ length: N }, (_, i) => (i < N - E ? 1 : 0))
  const scores = Array.from({ length: N }, (_, i) => N - i) // errors get the lowest confidence
  const r = (k: number): number => (k === 0 ? 0 : Math.max(0, k - (N - E)) / k)
  let closed = 0
  for (let k = 1; k <= N; k++) closed += (r(k) + r(k - 1)) / 2 / N
  assertClose([riskCoverage(scores, correct).aurc], [closed], { atol: 1e-15 })
  const g = new Generator(2)
  for (let t = 0; t < 20; t++) {
    const shuffled = Array.from({ length: N }, () => g.nextFloat64())
    assert.ok(riskCoverage(shuffled, correct).aurc >= closed - 1e-15)
  }
  // Worst ranking (all errors first): risk 1 up to coverage E/N.
  assert.ok(riskCoverage(scores.map((s) => -s), correct).aurc > 0.5)
})

test('aurocFpr95: Mann-Whitney AUROC with ties and FPR at 95% TPR on hand examples', () => {
  assert.equal(aurocFpr95([0.9, 0.8], [0.1, 0.85]), { auroc: 0.75, fpr95: 0.5 })
  assert.equal(aurocFpr95([1, 2, 3], [0, -1]), { auroc: 1, fpr95: 0 })
  assert.is(aurocFpr95([1, 1], [1, 1]).auroc, 0.5)
  const inS = Array.from({ length: 100 }, (_, i) => i) // τ95 = 5: OOD at or above 5 are false positives
  assert.is(aurocFpr95(inS, [4, 5, 6, -1]).fpr95, 0.5)
})

test('window routing: outside the window exactly member 1, inside the float64 ensemble mean', () => {
  const m1 = member(3), m2 = member(4)
  const p1 = softmax(m1, x), p2 = softmax(m2, x)
  const s1 = uncertaintyScore(tensor(Array.from(p1), { dtype: 'float64' }).reshape([40, 3]), 'msp')
  const window: [number, number] = [quantile(s1, 0.3), quantile(s1, 0.7)]
  const out = new Cascade({ members: [m1, m2], window }).forward(x)
  const probs = out.probs.data()
  let passed = 0
  for (let i = 0; i < 40; i++) {
    const inside = s1[i] >= window[0] && s1[i] <= window[1]
    passed += inside ? 1 : 0
    assert.is(out.exitStage[i], inside ? 1 : 0)
    for (let c = 0; c < 3; c++) {
      const want = inside ? (p1[i * 3 + c] + p2[i * 3 + c]) / 2 : p1[i * 3 + c]
      assert.ok(Math.abs(probs[i * 3 + c] - want) < 1e-15, `sample ${i}`)
    }
  }
  assert.ok(passed >= 15 && passed <= 17, `passed ${passed}`)
  assert.equal(out.stageCounts, [40, passed])
  assertClose(out.scores, Array.from(uncertaintyScore(out.probs, 'msp')), { atol: 0 })
})

test('empty window = member 1 at its MACs; full window = the ensemble; MACs = N·MACs₁ + passed·MACs₂ exactly', () => {
  const m1 = member(5, 8), m2 = member(6, 32)
  const mac1 = countMacs(() => noGrad(() => m1.forward(x.narrow(0, 0, 1)))).macs // 8·8 + 8·3
  const mac2 = countMacs(() => noGrad(() => m2.forward(x.narrow(0, 0, 1)))).macs // 8·32 + 32·3
  assert.equal([mac1, mac2], [88, 352])
  const empty = new Cascade({ members: [m1, m2], window: [1, 0] }).forward(x)
  assertClose(empty.probs, Array.from(softmax(m1, x)), { atol: 0, shape: [40, 3] })
  assert.equal([empty.macs, empty.avgMacs, empty.stageCounts[1]], [40 * mac1, mac1, 0])
  const full = new Cascade({ members: [m1, m2], window: [-Infinity, Infinity] }).forward(x)
  const p1 = softmax(m1, x), p2 = softmax(m2, x)
  assertClose(full.probs, Array.from(p1, (v, i) => (v + p2[i]) / 2), { atol: 1e-15, shape: [40, 3] })
  assert.is(full.macs, 40 * (mac1 + mac2))
  const mid = new Cascade({ members: [m1, m2], window: [0.5, 0.8] }).forward(x)
  const passed = mid.stageCounts[1]
  assert.ok(passed > 0 && passed < 40)
  assert.is(mid.macs, 40 * mac1 + passed * mac2)
  assert.is(mid.avgMacs, mac1 + (passed / 40) * mac2)
})

test('K = 3 chain and threshold policy: the online cascade equals offline routing of full outputs', () => {
  const ms = [member(7), member(8), member(9, 24)]
  const probs = ms.map((m) => tensor(Array.from(softmax(m, x)), { dtype: 'float64' }).reshape([40, 3]))
  const macs = ms.map((m) => countMacs(() => noGrad(() => m.forward(x.narrow(0, 0, 1)))).macs)
  const window: [number, number][] = [[0.4, 0.9], [0.45, 0.85]]
  const online = new Cascade({ members: ms, window, score: 'msp' }).forward(x)
  const offline = cascadeOutputs(probs, { window }, macs)
  assertClose(online.probs, offline.probs, { atol: 1e-15 })
  assert.equal(Array.from(online.exitStage), Array.from(offline.exitStage))
  assert.equal(online.stageCounts, offline.stageCounts)
  assert.ok(online.stageCounts[2] > 0 && online.stageCounts[2] < online.stageCounts[1])
  assertClose([online.avgMacs], [offline.avgMacs], { atol: 1e-9 })
  // Threshold policy: exit when s > t, so the samples passed on are exactly those with s₁ ≤ t.
  const s1 = uncertaintyScore(probs[0], 'msp')
  const t = quantile(s1, 0.2)
  const thr = new Cascade({ members: ms.slice(0, 2), policy: 'threshold', threshold: t }).forward(x)
  assert.equal(Array.from(thr.exitStage), Array.from(s1, (s) => (s <= t ? 1 : 0)))
  assertThrows(() => new Cascade({ members: ms, window: [[0, 1]] }), /one per transition/)
  assertThrows(() => new Cascade({ members: ms, policy: 'threshold' }), /needs `threshold`/)
})

test('fitWindow: contains τ and passes the requested fraction of validation samples (shifted at the ends)', () => {
  const g = new Generator(10)
  const val = Array.from({ length: 500 }, () => g.nextFloat64())
  const frac = (w: [number, number]): number => val.filter((s) => s >= w[0] && s <= w[1]).length / val.length
  for (const tau of [0.5, 0.3, 0.97, 0.01]) {
    const w = fitWindow(val, tau, 0.2)
    assert.ok(w[0] <= tau && tau <= w[1], `τ ${tau} outside [${w}]`)
    assert.ok(Math.abs(frac(w) - 0.2) <= 2 / val.length, `τ ${tau}: fraction ${frac(w)}`)
  }
  assert.is(quantileOfScore([1, 2, 3, 4], 3), 0.625) // scipy percentileofscore(kind='rank') = 62.5
  assert.is(quantileOfScore([1, 2, 3, 4], 2.5), 0.5)
  assert.is(quantile([1, 2, 3, 4], 0.5), 2.5)
  const w0 = fitWindow(val, 0.5, 0)
  assert.ok(w0[1] - w0[0] < 1e-2 && frac([w0[0], w0[1]]) <= 2 / val.length)
})

test.run()

/**
 * @file EfficientFormer latency-driven slimming (paper 30, Sec. 4, https://arxiv.org/abs/2206.01191):
 * on a synthetic table and synthetic importances the greedy path is exactly the hand-computed ratio
 * order, the result is the first config under budget along it, tighter budgets never give slower
 * configs, an impossible budget throws; the measured table has every candidate entry and predicts a
 * built subnet's forward time within a loose factor; Gumbel-softmax passes gradcheck (float64) and
 * the supernet's α receive the finite-difference gradient of the loss.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, randn, randint, tensor } from '../../../src/index.ts'
import { now } from '../../../src/clock.ts'
import { crossEntropy } from '../../../src/nn/losses.ts'
import { efficientFormerParamCount } from '../../../src/nn/arch/30-efficientformer.ts'
import {
  buildSubnet, configKeys, largestSubnet, latencyTableKeys, latencySlimming, measureLatencyTable, predictLatency, slimmingPath, smallestSubnet, subnetOptions,
  type LatencyTable, type SlimmingImportance, type SlimmingSpace,
} from '../../../src/nn/arch/30-efficientformer-slimming.ts'
import { gumbelSoftmax, sampleGumbel, SlimmingSupernet, type MetaPath } from '../../../src/nn/arch/30-efficientformer-supernet.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

// side 64 -> stage sides 16, 8, 4, 2
const space: SlimmingSpace = { side: 64, inChans: 1, numClasses: 10, depths: [1, 2, 1, 2], widths: [[8], [12, 16], [16], [24, 32]], maxVit: 1 }
const table: LatencyTable = {
  'stem:1>8@64': 10, 'meta4d:8@16': 5, 'embed:8>16@16': 2, 'embed:8>12@16': 1.5,
  'meta4d:16@8': 4, 'meta4d:12@8': 3, 'embed:16>16@8': 1, 'embed:12>16@8': 0.8,
  'meta4d:16@4': 3, 'embed:16>32@4': 1, 'embed:16>24@4': 0.75,
  'meta4d:32@2': 2, 'meta4d:24@2': 1.5, 'meta3d:32@2': 6, 'meta3d:24@2': 4, 'head:32@2': 0.5, 'head:24@2': 0.4,
}
const importance: SlimmingImportance = { blocks: [[{ meta4d: 3 }], [{ meta4d: 1.2 }, { meta4d: 2 }], [{ meta4d: 2 }], [{ meta4d: 0.5 }, { meta4d: 0.9, meta3d: 1.56 }]] }

test('synthetic table: the greedy path is the hand-computed ratio order', () => {
  const start = largestSubnet(space)
  assert.equal(start, { widths: [8, 16, 16, 32], blocks: [['meta4d'], ['meta4d', 'meta4d'], ['meta4d'], ['meta4d', 'meta3d']] })
  // 10 + 5 + 2 + 4 + 4 + 1 + 3 + 1 + 2 + 6 + 0.5
  assert.ok(Math.abs(predictLatency(space, table, start) - 38.5) < 1e-12)
  const p = slimmingPath(space, table, importance, start)
  // step 1 at 38.5 ms: drop s2.0 1.2/4 = .3, drop s2.1 2/4 = .5, drop s4.0 .5/2 = .25, drop s4.1 (3D) 1.56/6 = .26,
  //   3D->4D (1.56-.9)/(6-2) = .165, shrink s2 16->12 (1.2+2)(1/4)/(2+.5+.2) = .2963, shrink s4 32->24 (.5+1.56)(1/4)/(.25+.5+2+.1) = .1807
  // step 2 at 34.5: drop s4.0 .25 beats shrink s4 (.5+.9)/4/1.35 = .2593, shrink s2 .2963, drop s2.0 .3, drop s4.1 .9/2 = .45
  // step 3 at 32.5: shrink s4 .9/4/.85 = .2647 beats shrink s2 .2963 and drop s2.0 .3 (s4 has one block left)
  // step 4 at 31.65: shrink s2 .2963 < drop s2.0 .3
  // step 5 at 28.95: drop s2.0 1.2/3 = .4 < drop s2.1 2/3; then nothing is legal (25.95 = the smallest subnet)
  assert.equal(p.trace.map((s) => s.action), [
    { type: 'meta3dToMeta4d', stage: 3, slot: 1 },
    { type: 'drop', stage: 3, slot: 0, kind: 'meta4d' },
    { type: 'shrink', stage: 3, from: 32, to: 24 },
    { type: 'shrink', stage: 1, from: 16, to: 12 },
    { type: 'drop', stage: 1, slot: 0, kind: 'meta4d' },
  ])
  assertClose(p.trace.map((s) => s.latencyMs), [34.5, 32.5, 31.65, 28.95, 25.95], { atol: 1e-9 })
  assertClose(p.trace.map((s) => s.importanceLost), [0.66, 0.5, 0.225, 0.8, 1.2], { atol: 1e-12 })
  assertClose(p.trace.map((s) => s.ratio), [0.165, 0.25, 0.225 / 0.85, 0.8 / 2.7, 0.4], { atol: 1e-12 })
  assert.equal(p.config, { widths: [8, 12, 16, 24], blocks: [['meta4d'], ['identity', 'meta4d'], ['meta4d'], ['identity', 'meta4d']] })
  // every step's latency is the sum of its config's table entries
  assert.equal(configKeys(space, p.config), ['stem:1>8@64', 'meta4d:8@16', 'embed:8>12@16', 'meta4d:12@8', 'embed:12>16@8', 'meta4d:16@4', 'embed:16>24@4', 'meta4d:24@2', 'head:24@2'])
})

test('budget: result is the first config under budget along the greedy path; tighter never slower; impossible throws', () => {
  const full = slimmingPath(space, table, importance, largestSubnet(space))
  const lats = [38.5, ...full.trace.map((s) => s.latencyMs)]
  let prev = -Infinity
  for (let b = 26; b <= 40; b += 0.25) {
    const r = latencySlimming({ space, latencyTable: table, importance, budgetMs: b })
    const k = lats.findIndex((l) => l <= b)
    assert.is(r.trace.length, k, `budget ${b}`)
    assert.ok(r.predictedMs <= b && Math.abs(r.predictedMs - lats[k]) < 1e-9)
    assert.ok(Math.abs(predictLatency(space, table, r.config) - r.predictedMs) < 1e-12)
    assert.ok(r.trace.slice(0, -1).every((s) => s.latencyMs > b), 'no earlier config was under budget')
    assert.ok(r.predictedMs >= prev - 1e-12, `a looser budget (${b}) gave a faster config than a tighter one`)
    prev = r.predictedMs
  }
  assert.is(latencySlimming({ space, latencyTable: table, importance, budgetMs: 33 }).trace.length, 2)
  assertThrows(() => latencySlimming({ space, latencyTable: table, importance, budgetMs: 25.9 }), /below the smallest subnet of the space \(25\.950 ms/)
  assertThrows(() => latencySlimming({ space, latencyTable: { ...table, 'head:24@2': NaN }, importance, budgetMs: 30 }), /no finite entry 'head:24@2'/)
  assertThrows(() => latencySlimming({ space, latencyTable: table, budgetMs: 30 }), /pass importance or data/)
})

test('smallest subnet: dynamic programming equals brute force, also on a table that is not monotone in width', () => {
  const brute = (t: LatencyTable) => {
    let best = Infinity
    for (const w1 of space.widths[1]) for (const w3 of space.widths[3]) {
      for (const last of ['meta4d', 'meta3d'] as const) {
        best = Math.min(best, predictLatency(space, t, { widths: [8, w1, 16, w3], blocks: [['meta4d'], ['identity', 'meta4d'], ['meta4d'], ['identity', last]] }))
      }
    }
    return best
  }
  const a = smallestSubnet(space, table)
  assert.equal(a.config, { widths: [8, 12, 16, 24], blocks: [['meta4d'], ['identity', 'meta4d'], ['meta4d'], ['identity', 'meta4d']] })
  assert.ok(Math.abs(a.latencyMs - 25.95) < 1e-9 && Math.abs(a.latencyMs - brute(table)) < 1e-12)
  // a narrower stage-4 embedding that is slower (5 ms vs 1) and a Meta3D cheaper than Meta4D at width 32
  const odd = { ...table, 'embed:16>24@4': 5, 'meta3d:32@2': 1 }
  const b = smallestSubnet(space, odd)
  assert.equal(b.config.widths, [8, 12, 16, 32])
  assert.equal(b.config.blocks[3], ['identity', 'meta3d'])
  assert.ok(Math.abs(b.latencyMs - brute(odd)) < 1e-12, `${b.latencyMs} vs ${brute(odd)}`)
})

test('subnet options: layers / vitNum from the kept blocks, params match the closed form; Meta3D must trail', () => {
  const o = subnetOptions(space, largestSubnet(space))
  assert.equal([o.layers, o.embedDims, o.vitNum, o.resolution], [[1, 2, 1, 2], [8, 16, 16, 32], 1, 2])
  assert.is(buildSubnet(space, largestSubnet(space)).numParameters(), efficientFormerParamCount({ ...o, distillation: false }))
  assertThrows(() => subnetOptions(space, { widths: [8, 16, 16, 32], blocks: [['meta4d'], ['meta4d', 'meta4d'], ['meta4d'], ['meta3d', 'meta4d']] }), /Meta3D blocks must trail stage 4/)
})

test('measured table: every candidate entry; a built subnet forward is within 3x of the prediction', () => {
  const sp: SlimmingSpace = { side: 32, inChans: 1, numClasses: 10, depths: [1, 1, 1, 2], widths: [[8, 12], [16], [16, 24], [24, 32]], maxVit: 1, numHeads: 2, keyDim: 8 }
  const B = 16, t = measureLatencyTable(sp, { batch: B, runs: 3 })
  // stem 2 + meta4d 2+1+2+2 + meta3d 2 + embeds 2·1 + 1·2 + 2·2 + head 2
  assert.is(Object.keys(t).length, 2 + 7 + 2 + 8 + 2)
  assert.equal(Object.keys(t).sort(), latencyTableKeys(sp).sort())
  assert.ok(Object.values(t).every((v) => Number.isFinite(v) && v >= 0))
  const c = largestSubnet(sp), model = buildSubnet(sp, c, { generator: new Generator(1) }).eval(), x = randn([B, 1, 32, 32])
  noGrad(() => model.forward(x)); noGrad(() => model.forward(x))
  const ts: number[] = []
  for (let i = 0; i < 5; i++) { const t0 = now(); noGrad(() => model.forward(x)); ts.push(now() - t0) }
  const measured = ts.sort((a, b) => a - b)[2], predicted = predictLatency(sp, t, c)
  assert.ok(measured / predicted < 3 && predicted / measured < 3, `measured ${measured.toFixed(2)} ms vs predicted ${predicted.toFixed(2)} ms`)
})

test('Gumbel-softmax: sums to 1, gradcheck in float64 on a mixture of branch outputs', () => {
  const g = new Generator(3), alpha = randn([3], { dtype: 'float64', generator: g }).requiresGrad_(), noise = sampleGumbel([3], g, 'float64')
  const y = randn([3, 4], { dtype: 'float64', generator: g }) // three branch outputs of 4 elements
  assert.ok(Math.abs(gumbelSoftmax(alpha, noise, 0.7).sum().item() - 1) < 1e-12)
  gradcheck((a) => gumbelSoftmax(a, noise, 0.7).reshape([3, 1]).mul(y).sum(0), [alpha])
})

test('supernet: α of a MetaPath get the finite-difference gradient of the loss (fixed noise and batch)', () => {
  const sp: SlimmingSpace = { side: 32, inChans: 1, numClasses: 4, depths: [1, 1, 1, 2], widths: [[8], [8], [8], [16]], maxVit: 1, numHeads: 2, keyDim: 4, layerScaleInit: 1 }
  const net = new SlimmingSupernet(sp, { generator: new Generator(2) }), x = randn([6, 1, 32, 32], { generator: new Generator(4) }), y = randint(0, 4, [6], { generator: new Generator(5) })
  const loss = () => crossEntropy(net.forward(x, { tau: 1, generator: new Generator(9) }), y)
  const path = [...net.paths][4] as MetaPath
  assert.equal(path.choices, ['identity', 'meta4d', 'meta3d'])
  net.zeroGrad(); loss().backward()
  const grad = Array.from(path.alpha.grad!.data()), eps = 1e-2
  const a0 = Array.from(path.alpha.data()), setAlpha = (v: number[]) => noGrad(() => path.alpha.copy_(tensor(v)))
  const fd = [0, 1, 2].map((i) => {
    setAlpha(a0.map((v, k) => (k === i ? v + eps : v))); const lp = noGrad(loss).item()
    setAlpha(a0.map((v, k) => (k === i ? v - eps : v))); const lm = noGrad(loss).item()
    setAlpha(a0)
    return (lp - lm) / (2 * eps)
  })
  // float32 loss (~1.4): rounding ~1e-7 per evaluation -> ~1e-5 on the quotient; O(eps²) curvature term
  assertClose(grad, fd, { atol: 2e-4, rtol: 2e-2 })
  assert.ok(Math.max(...grad.map(Math.abs)) > 1e-3, `gradients too small to be informative: ${grad}`)
  assert.ok(Math.abs(grad.reduce((s, v) => s + v, 0)) < 1e-5, 'softmax logits: the gradient sums to 0')
  const imp = net.importance()
  assert.equal(imp.blocks.map((b) => b.length), [1, 1, 1, 2])
  assert.ok(imp.blocks[3][1].meta3d !== undefined && imp.blocks[3][0].meta3d === undefined)
})

test('latencySlimming with data: trains the supernet and returns a config under budget', () => {
  const sp: SlimmingSpace = { side: 32, inChans: 1, numClasses: 4, depths: [1, 1, 2, 2], widths: [[8], [8], [8, 16], [16]], maxVit: 1, numHeads: 2, keyDim: 4, layerScaleInit: 1 }
  const t: LatencyTable = Object.fromEntries(latencyTableKeys(sp).map((k) => [k, 1])) // every entry 1 ms: only depth saves latency
  const data = { x: randn([16, 1, 32, 32], { generator: new Generator(6) }), y: randint(0, 4, [16], { generator: new Generator(7) }) }
  // stem + 6 blocks + 3 embeddings + head = 11 ms; 9 ms needs two drops
  const r = latencySlimming({ space: sp, latencyTable: t, budgetMs: 9, data, steps: 3, train: { batch: 4 }, seed: 1 })
  assert.is(r.startMs, 11)
  assert.is(r.predictedMs, 9)
  assert.equal(r.trace.map((s) => s.action.type), ['drop', 'drop'])
  assert.equal(r.options.layers.reduce((a, b) => a + b, 0), 4)
  assert.ok(r.importance.blocks.flat().some((e) => e.meta4d !== 0), 'α moved from 0')
})

test.run()

/**
 * Paper 65 (EvoNorm) search: the layer DSL must reproduce nn.EvoNormB0 / S0 and BN-ReLU exactly,
 * mutation must keep valid DAGs and change one node, the stability check must reject x·exp(x)-style
 * layers but not BN-ReLU, tournament selection must return the best of its sample, and a seeded
 * search must replay bit for bit.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, nn, noGrad, randn, tensor, type Tensor } from '../../../src/index.ts'
import { loadDataset } from '../../../src/node/datasets.ts'
import { EvoNormB0, EvoNormS0 } from '../../../src/nn/arch/65-evonorm.ts'
import {
  EvoLayer, KNOWN_LAYERS, LEAVES, arity, dependsOnX, formula, mutate, parseLayer, randomGraph, validateGraph, type LayerGraph,
} from '../../../src/nn/arch/65-evonorm-graph.ts'
import { evoLayer, paretoFront, stabilityCheck, tournamentSelect } from '../../../src/nn/arch/65-evonorm-search.ts'

const g = new Generator(6565)
const L = LEAVES.length
const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().amax().item()
function setParams(m: { v?: Tensor; v1?: Tensor; weight: Tensor; bias: Tensor }, vals: Tensor[]): void {
  noGrad(() => { (m.v ?? m.v1 as Tensor).copy_(vals[0]); m.weight.copy_(vals[1]); m.bias.copy_(vals[2]) })
}

test('DSL B0 and S0 equal nn.EvoNormB0 / EvoNormS0 (train, eval with running_var, gradients)', () => {
  const C = 4
  const vals = [0, 1, 2].map(() => randn([C], { generator: g, dtype: 'float64' }))
  const b0 = new EvoNormB0(C, { dtype: 'float64' }), d0 = new EvoLayer(parseLayer(KNOWN_LAYERS['evonorm-b0']), C, { eps: 1e-3, dtype: 'float64' })
  setParams(b0, vals); setParams(d0, vals)
  const x = randn([3, C, 3, 3], { generator: g, dtype: 'float64' }).requiresGrad_()
  const yb = b0.forward(x), yd = d0.forward(x)
  assert.is(maxDiff(yb, yd), 0, 'B0 train forward')
  const r = randn([3, C, 3, 3], { generator: g, dtype: 'float64' })
  yb.mul(r).sum().backward(); const gb = x.grad as Tensor; x.grad = null
  yd.mul(r).sum().backward()
  const gd: Tensor | null = x.grad
  assert.ok(gd !== null && maxDiff(gb, gd) < 1e-12, 'B0 dx')
  assert.ok(maxDiff(b0.v.grad as Tensor, d0.v1.grad as Tensor) < 1e-12, 'B0 dv')
  assert.is(maxDiff(b0.runningVar, (d0 as unknown as Record<string, Tensor>)[`running_var_${L}`]), 0, 'running_var update')
  b0.eval(); d0.eval()
  const x2 = randn([2, C, 3, 3], { generator: g, dtype: 'float64' })
  assert.is(maxDiff(noGrad(() => b0.forward(x2)), noGrad(() => d0.forward(x2))), 0, 'B0 eval')
  const s0 = new EvoNormS0(8, { groups: 2, dtype: 'float64' }), e0 = new EvoLayer(parseLayer('x * sigmoid(v * x) / std_G(x)'), 8, { groups: 2, dtype: 'float64' })
  const v8 = [0, 1, 2].map(() => randn([8], { generator: g, dtype: 'float64' }))
  setParams(s0, v8); setParams(e0, v8)
  const x3 = randn([2, 8, 2, 3], { generator: g, dtype: 'float64' })
  assert.is(maxDiff(noGrad(() => s0.forward(x3)), noGrad(() => e0.forward(x3))), 0, 'S0')
  assert.ok(gradcheck((xi: Tensor) => e0.forward(xi), [x3.clone().requiresGrad_()]), 'S0 DSL gradcheck')
})

test('DSL BN-ReLU equals ReLU(BatchNorm2d(x)) in train and eval; mean_NHW keeps a running mean', () => {
  const bn = new nn.BatchNorm2d(3, { dtype: 'float64' }), d = new EvoLayer(parseLayer(KNOWN_LAYERS['bn-relu']), 3, { dtype: 'float64' })
  const x = randn([4, 3, 2, 2], { generator: g, dtype: 'float64' }).mul(3).add(1)
  assert.ok(maxDiff(noGrad(() => bn.forward(x).relu()), noGrad(() => d.forward(x))) < 1e-12, 'train')
  const rm = (d as unknown as Record<string, Tensor>)[`running_mean_${L}`]
  const mu = x.mean([0, 2, 3])
  assert.ok(maxDiff(rm, mu.mul(0.1)) < 1e-15, 'running mean = 0.9·0 + 0.1·μ_B')
  bn.eval(); d.eval()
  assert.ok(maxDiff(noGrad(() => bn.forward(x).relu()), noGrad(() => d.forward(x))) < 1e-12, 'eval')
})

test('printing and parsing: round trip, precedence, sharing, errors', () => {
  for (const s of [...Object.values(KNOWN_LAYERS), 'x - (v0 - x)', '-(x * v1) / -x', 'x / (x / x)', 'square(-x) - -x']) {
    assert.is(formula(parseLayer(formula(parseLayer(s)))), formula(parseLayer(s)), s)
  }
  assert.is(formula(parseLayer('x-(v0-x)')), 'x - (v0 - x)')
  assert.is(parseLayer('x / max(std_NHW(x), v * x + std_HW(x))').nodes.length, 6, 'x and std_* shared, v = v1')
  assert.throws(() => parseLayer('x % 2'), /parseLayer: unexpected character/)
  assert.throws(() => parseLayer('foo(x)'), /unknown name/)
  assert.throws(() => parseLayer('max(x)'), /expected ','/)
  assert.throws(() => validateGraph({ nodes: [{ op: 'add', inputs: [0] }] }), /needs 2 inputs, got 1/)
  assert.throws(() => validateGraph({ nodes: [{ op: 'exp', inputs: [5] }] }), /not an earlier node \(topological order\)/)
  assert.throws(() => new EvoLayer(parseLayer('v0 + 1'), 4), /does not depend on x/)
})

test('stability check rejects x·exp(x) (non-finite) and x⁵ (gradient explosion), keeps BN-ReLU, B0, S0', () => {
  const opts = { layer: { groups: 2 } }
  const e = stabilityCheck(parseLayer('x * exp(x)'), opts)
  assert.is(e.stable, false); assert.is(e.reason, 'nonfinite')
  const p = stabilityCheck(parseLayer('x * square(square(x))'), opts)
  assert.is(p.stable, false); assert.is(p.reason, 'explode'); assert.ok(p.maxGradNorm > 1e8 && Number.isFinite(p.maxGradNorm))
  assert.is(p.worstScale, 1000, 'x⁵ explodes at the largest weight scale')
  for (const k of ['bn-relu', 'evonorm-b0', 'evonorm-s0', 'gn-relu'] as const) {
    const s = stabilityCheck(parseLayer(KNOWN_LAYERS[k]), opts)
    assert.ok(s.stable && s.maxGradNorm < 1e3, `${k}: ${s.maxGradNorm}`)
  }
  // normalization makes λ(s) shrink as s grows (∂L/∂W ∝ 1/s): the worst case is the smallest scale
  assert.is(stabilityCheck(parseLayer(KNOWN_LAYERS['bn-relu']), opts).worstScale, 1e-3)
  assert.is(stabilityCheck(parseLayer('log(x)'), opts).reason, 'nonfinite')
})

function assertValid(gr: LayerGraph): void {
  validateGraph(gr)
  gr.nodes.forEach((n, k) => { assert.is(n.inputs.length, arity(n.op)); n.inputs.forEach((i) => assert.ok(i < L + k)) })
  assert.ok(dependsOnX(gr)[L + gr.nodes.length - 1], 'output depends on x')
}

test('mutation: valid DAG, output depends on x, exactly one node changed (insert: one node + one edge)', () => {
  const kinds = new Set<string>()
  for (let t = 0; t < 300; t++) {
    const parent = randomGraph(g, 2 + (t % 5))
    assertValid(parent)
    const m = mutate(parent, g, { maxNodes: 7 })
    assertValid(m.graph)
    kinds.add(m.kind)
    assert.is.not(formula(m.graph), formula(parent))
    const ch = m.graph.nodes
    if (m.kind !== 'insert') {
      assert.is(ch.length, parent.nodes.length)
      const diff = ch.map((n, k) => JSON.stringify(n) !== JSON.stringify(parent.nodes[k]) ? k : -1).filter((k) => k >= 0)
      assert.equal(diff, [m.node - L], 'one node differs')
      if (m.kind === 'input') assert.is(ch[m.node - L].op, parent.nodes[m.node - L].op)
      else assert.is.not(ch[m.node - L].op, parent.nodes[m.node - L].op)
    } else {
      assert.is(ch.length, parent.nodes.length + 1)
      assert.is(m.rewired, m.node + 1)
      // drop the inserted node, undo the index shift: only the rewired node's single slot differs
      const back = ch.filter((_, k) => k !== m.node - L).map((n) => ({ op: n.op, inputs: n.inputs.map((i) => (i > m.node ? i - 1 : i)) }))
      const diffs = back.flatMap((n, k) => n.inputs.map((i, s) => (i !== parent.nodes[k].inputs[s] || n.op !== parent.nodes[k].op ? [k, s] : null)).filter((d) => d !== null))
      assert.is(diffs.length, 1)
      assert.is(ch[m.rewired - L].inputs[diffs[0]![1]], m.node)
    }
  }
  assert.equal([...kinds].sort(), ['input', 'insert', 'op'])
})

test('tournament selection returns the best of its k distinct samples; Pareto front', () => {
  const fit = Array.from({ length: 20 }, () => [g.nextFloat64()])
  for (let t = 0; t < 200; t++) {
    const { winner, sampled } = tournamentSelect(fit, 5, g)
    assert.is(new Set(sampled).size, 5)
    assert.ok(sampled.includes(winner))
    assert.is(fit[winner][0], Math.max(...sampled.map((i) => fit[i][0])))
  }
  assert.equal(paretoFront([[1, 0], [0, 1], [0.5, 0.5], [0.4, 0.4], [1, 0]]), [0, 1, 2, 4])
  const fit2 = Array.from({ length: 12 }, () => [g.nextFloat64(), g.nextFloat64()])
  for (let t = 0; t < 100; t++) {
    const { winner, sampled } = tournamentSelect(fit2, 4, g)
    assert.ok(!sampled.some((i) => fit2[i][0] > fit2[winner][0] && fit2[i][1] > fit2[winner][1]), 'winner not dominated')
  }
})

function tinyData(): { xTrain: Tensor; yTrain: Tensor; xVal: Tensor; yVal: Tensor } {
  const { x, y } = loadDataset('digits')
  const xi = x.div(16).reshape([-1, 1, 8, 8])
  const ids = (a: number, b: number): Tensor => tensor(Array.from({ length: b - a }, (_, i) => a + i), { dtype: 'int32' })
  return { xTrain: xi.indexSelect(0, ids(0, 96)), yTrain: y.indexSelect(0, ids(0, 96)), xVal: xi.indexSelect(0, ids(1000, 1100)), yVal: y.indexSelect(0, ids(1000, 1100)) }
}

test('search: same seed gives the identical trace; rejection bookkeeping; multi-objective Pareto front', () => {
  const data = tinyData()
  const opts = { data, popSize: 3, tournament: 2, candidates: 8, proxies: [{ steps: 6, batch: 16, channels: 4 }], layer: { groups: 2 }, rejection: { minAccuracy: 0.2 } }
  const a = evoLayer({ ...opts, seed: 3 }), b = evoLayer({ ...opts, seed: 3 })
  assert.equal(JSON.stringify(a.trace), JSON.stringify(b.trace))
  assert.is(a.trace.length, 8)
  const c = evoLayer({ ...opts, seed: 4 })
  assert.is.not(JSON.stringify(c.trace), JSON.stringify(a.trace))
  for (const e of a.trace) {
    if (e.status === 'quality') assert.ok((e.fitness as number[])[0] < 0.2)
    if (e.status === 'accepted') assert.ok((e.fitness as number[])[0] >= 0.2)
    if (e.mutation !== 'random') assert.is(a.trace[e.parent].status, 'accepted', 'parents come from the population')
  }
  const nRej = Object.values(a.rejected).reduce((s, v) => s + v, 0)
  assert.is(nRej, a.trace.filter((e) => e.status !== 'accepted').length)
  assert.is(a.rejectedFraction, nRej / 8)
  assert.ok(a.population.length <= 3 && a.population.every((e) => e.status === 'accepted'))
  assert.is(a.best?.fitness![0], Math.max(...a.trace.filter((e) => e.status === 'accepted').map((e) => e.fitness![0])))
  const m = evoLayer({ ...opts, candidates: 5, seed: 5, rejection: { minAccuracy: 0 }, proxies: [{ steps: 3, batch: 16, channels: 4 }, { steps: 3, batch: 4, channels: 4 }] })
  const acc = m.trace.filter((e) => e.status === 'accepted')
  assert.ok(m.pareto.length >= 1 && m.pareto.every((e) => e.fitness!.length === 2))
  for (const e of acc) assert.ok(m.pareto.includes(e) || m.pareto.some((p) => p.fitness!.every((v, i) => v >= e.fitness![i])), 'off-front points are dominated')
})

test.run()

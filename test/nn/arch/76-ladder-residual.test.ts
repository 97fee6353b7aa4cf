/**
 * @file Paper 76, Ladder Residual (https://arxiv.org/abs/2501.06589): ladder forward == the explicit
 * recurrence r_k = r_{k−1} + o_{k−2}, o_k = f_k(r_k); ladderLayers = [] == a hand-written standard
 * pre-norm transformer; tensor-parallel (P = 2, 4) == unsharded (float64) for standard, ladder and
 * mixed wiring; event order (o_k waited only after f_{k+1} launched); the time model on a hand
 * example; convertToLadder keeps weights; gradcheck through the ladder wiring.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randint, type Tensor } from '../../../src/index.ts'
import {
  LadderTransformer, TensorParallel, convertToLadder, ringAllReduce, type LadderLayer,
} from '../../../src/nn/arch/76-ladder-residual.ts'
import { assertClose } from '../../helpers.ts'

const cfg = { vocab: 11, d: 16, heads: 4, layers: 3, ff: 32, maxLen: 8, dtype: 'float64' as const }
const model = (ladderLayers: number[], seed = 1): LadderTransformer => new LadderTransformer({ ...cfg, ladderLayers, generator: new Generator(seed) })
const tokens = randint(0, 11, [2, 6], { generator: new Generator(9), dtype: 'int32' })

/** f_k(r) for k = 1..2L, written out from the layer modules. */
function fs(m: LadderTransformer): ((r: Tensor) => Tensor)[] {
  const out: ((r: Tensor) => Tensor)[] = []
  for (const l of m.layers) {
    const layer = l as LadderLayer
    out.push((r) => layer.attn.forward(layer.norm1.forward(r)), (r) => layer.mlp.forward(layer.norm2.forward(r)))
  }
  return out
}

test('ladder forward equals the explicit recurrence r_k = r_{k−1} + o_{k−2}, o_k = f_k(r_k), h = r_2L + o_2L−1 + o_2L', () => {
  const m = model([0, 1, 2])
  const f = fs(m), K = f.length
  const r: Tensor[] = [m.embedTokens(tokens)]
  const o: (Tensor | null)[] = [null] // o_0 = 0 (o_{−1} = 0 too)
  for (let k = 1; k <= K; k++) {
    const prev2 = k >= 2 ? o[k - 2] : null
    r[k] = prev2 ? r[k - 1].add(prev2) : r[k - 1]
    o[k] = f[k - 1](r[k])
  }
  const h = r[K].add(o[K - 1]!).add(o[K]!)
  assertClose(m.forward(tokens), m.output(h), { atol: 1e-12 })
  // and it differs from the standard wiring with the same weights
  const std = convertToLadder(m, [])
  assert.ok(std.forward(tokens).sub(m.forward(tokens)).abs().amax().item() > 1e-3)
})

test('ladderLayers = [] is exactly the standard pre-norm transformer', () => {
  const m = model([])
  let r = m.embedTokens(tokens)
  for (const f of fs(m)) r = r.add(f(r))
  assertClose(m.forward(tokens), m.output(r), { atol: 0, rtol: 0 })
})

test('tensor-parallel forward equals the unsharded forward (float64) for standard, ladder and mixed, P = 1, 2, 4', () => {
  for (const ladder of [[], [0, 1, 2], [2]]) {
    const m = model(ladder, 3)
    const ref = m.forward(tokens)
    for (const world of [1, 2, 4]) {
      const { logits } = new TensorParallel(m, { world, comm: ringAllReduce(0.1) }).forward(tokens)
      assertClose(logits, ref, { atol: 1e-12, msg: `ladder ${JSON.stringify(ladder)} P=${world}` })
    }
  }
})

test('event log: in the ladder schedule o_k is waited on only after f_{k+1} is launched; standard waits before', () => {
  const ladder = new TensorParallel(model([0, 1, 2]), { world: 2 }).forward(tokens).events
  const at = (ev: typeof ladder, type: string, k: number): number => ev.findIndex((e) => e.type === type && e.k === k)
  for (let k = 1; k <= 5; k++) assert.ok(at(ladder, 'wait', k) > at(ladder, 'launch', k + 1), `ladder: wait o_${k} after launch f_${k + 1}`)
  const std = new TensorParallel(model([]), { world: 2 }).forward(tokens).events
  for (let k = 1; k <= 5; k++) assert.ok(at(std, 'wait', k) < at(std, 'launch', k + 1), `standard: wait o_${k} before launch f_${k + 1}`)
})

test('time model, hand example: 2 layers, 1 ms per sub-layer, 1 ms per all-reduce: standard 8 ms, ladder 5 ms; zero comm: both 4 ms', () => {
  const two = { ...cfg, layers: 2 }
  const computeMs = (kind: string): number => (kind === 'attn' || kind === 'mlp' ? 1 : 0)
  const run = (ladderLayers: number[], alpha: number): number =>
    new TensorParallel(new LadderTransformer({ ...two, ladderLayers, generator: new Generator(4) }), { world: 2, comm: ringAllReduce(alpha), computeMs }).forward(tokens).timeMs
  assert.is(run([], 1), 8)
  assert.is(run([0, 1], 1), 5)
  // mixed: standard layer 0 (f1 0-1, comm 1-2, f2 2-3, comm 3-4), then ladder layer 1: its first
  // sub-layer sees the whole stream (f3 4-5, comm 5-6), f4 overlaps o_3's comm (5-6, comm 6-7): 7 ms
  assert.is(run([1], 1), 7)
  assert.is(run([], 0), 4)
  assert.is(run([0, 1], 0), 4)
  // comm-bound: 3 ms per all-reduce, the communication stream is the bottleneck (4 × 3 + 1)
  assert.is(run([0, 1], 3), 13)
  assert.is(run([], 3), 16)
})

test('convertToLadder: same weights, last k layers ladder-wired', () => {
  const m = model([])
  const c = convertToLadder(m, 2)
  assert.equal(c.ladderLayers, [1, 2])
  for (const [k, v] of Object.entries(m.stateDict())) assertClose(c.stateDict()[k], v, { atol: 0, rtol: 0 })
})

test('gradients through the ladder wiring match finite differences (float64)', () => {
  const m = new LadderTransformer({ vocab: 5, d: 4, heads: 2, layers: 2, ff: 8, maxLen: 4, dtype: 'float64', generator: new Generator(5), ladderLayers: [0, 1] })
  const t = randint(0, 5, [1, 3], { generator: new Generator(6), dtype: 'int32' })
  const l0 = m.layers.at(0) as LadderLayer, l1 = m.layers.at(1) as LadderLayer
  gradcheck(() => m.forward(t), [l0.attn.wq.weight, l0.mlp.w1.weight, l1.attn.wo.weight, m.embed.weight])
})

test.run()

/**
 * @file Deep Model Assembling (https://arxiv.org/abs/2212.04129): stage partition per dividedDepths,
 * a staged ViT equal to the plain ViT with the same weights, the hybrid with all meta stages equal to
 * the meta model, module incubation changing only stage i (frozen meta bit-identical), stage i's
 * gradient through the later frozen stages equal to the unfrozen gradient, assembling copying the
 * incubated weights exactly, and the three-phase driver's compute accounting.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, randn, tensor, type Tensor } from '../../../src/index.ts'
import { ViT } from '../../../src/nn/vit.ts'
import {
  StagedViT, ViTStage, assembleStages, incubateModule, incubationHybrid, modelAssembling, unfreeze,
} from '../../../src/nn/arch/52-deep-model-assembling.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const base = { imgSize: 4, patchSize: 2, inChans: 1, numClasses: 3, embedDim: 8, numHeads: 2, dtype: 'float64' as const }
const g = new Generator(9)
const data = { x: randn([16, 1, 4, 4], { generator: g, dtype: 'float64' }), y: tensor(Array.from({ length: 16 }, (_, i) => i % 3), { dtype: 'int32' }) }
const snapshot = (m: nn.Module): Map<string, number[]> => new Map([...m.namedParameters()].map(([k, p]) => [k, [...(p.data() as Float64Array)]]))

test('stage partition follows dividedDepths; embedding in stage 0, norm and head in stage K−1; drop path linear over depth', () => {
  const m = new StagedViT({ ...base, dividedDepths: [2, 2, 2, 2], dropPath: 0.7, generator: g })
  assert.equal(m.dividedDepths, [2, 2, 2, 2])
  assert.equal([0, 1, 2, 3].map((i) => [m.stage(i).embed !== null, m.stage(i).classifier !== null]), [[true, false], [false, false], [false, false], [false, true]])
  assertClose([...m.stage(2).blocks].map((b) => (b as unknown as { drop_path: { p: number } }).drop_path.p), [0.4, 0.5], { atol: 1e-12 })
  assert.equal(new StagedViT({ ...base, dividedDepths: [3, 1], generator: g }).dividedDepths, [3, 1])
  assertThrows(() => m.replaceStage(1, new ViTStage({ ...base, numBlocks: 2, first: true, last: false })), /replaceStage: stage 1 needs first = false/)
})

test('a staged ViT is the plain ViT of depth Σ dividedDepths (same weights, same output)', () => {
  const vit = new ViT({ ...base, depth: 4, generator: g }).eval()
  const staged = new StagedViT({ ...base, dividedDepths: [1, 2, 1], generator: g }).eval()
  const sd: Record<string, Tensor> = {}
  const blockOf = [[0, 0], [1, 0], [1, 1], [2, 0]]
  for (const [k, v] of Object.entries(vit.stateDict())) {
    if (k.startsWith('embed.')) sd[`stages.0.${k}`] = v
    else if (k.startsWith('classifier.')) sd[`stages.2.${k}`] = v
    else {
      const [, b, ...rest] = k.split('.')
      const [s, j] = blockOf[Number(b)]
      sd[`stages.${s}.blocks.${j}.${rest.join('.')}`] = v
    }
  }
  staged.loadStateDict(sd)
  const x = randn([3, 1, 4, 4], { generator: g, dtype: 'float64' })
  assert.equal(staged.forward(x).data(), vit.forward(x).data())
})

test('the hybrid with all meta stages equals the meta model (shared stages, and a copied stage)', () => {
  const meta = new StagedViT({ ...base, dividedDepths: [1, 1, 1, 1], generator: g }).eval()
  const x = randn([3, 1, 4, 4], { generator: g, dtype: 'float64' })
  const y = meta.forward(x).data()
  for (let i = 0; i < 4; i++) {
    assert.equal(meta.withStage(i, meta.stage(i)).forward(x).data(), y)
    const copy = new ViTStage({ ...base, numBlocks: 1, first: i === 0, last: i === 3, generator: g })
    copy.loadStateDict(meta.stage(i).stateDict())
    const hybrid = incubationHybrid(meta, i, copy).eval()
    assert.equal(hybrid.forward(x).data(), y, `stage ${i}`)
    unfreeze(meta)
  }
})

test('stage i gets the same non-zero gradient through the frozen later stages as with nothing frozen; frozen stages get none', () => {
  const meta = new StagedViT({ ...base, dividedDepths: [1, 1, 1, 1], generator: g }).eval()
  const stage = new ViTStage({ ...base, numBlocks: 2, first: false, last: false, generator: g })
  const loss = (m: StagedViT): void => nn.losses.crossEntropy(m.forward(data.x), data.y).backward()
  // Reference: everything trainable.
  const open = meta.withStage(1, stage).eval()
  loss(open)
  const ref = [...stage.namedParameters()].map(([k, p]) => [k, p.grad!.clone()] as const)
  open.zeroGrad()
  const hybrid = incubationHybrid(meta, 1, stage).eval()
  loss(hybrid)
  const params = new Map(stage.namedParameters())
  for (const [k, r] of ref) {
    const gr = params.get(k)!.grad!
    assert.ok(gr.abs().sum().item() > 0, `${k} has a gradient`)
    assertClose(gr, r, { atol: 1e-12 })
  }
  for (const k of [0, 2, 3]) for (const p of meta.stage(k).parameters()) {
    assert.is(p.requiresGrad, false)
    assert.is(p.grad, null)
  }
  unfreeze(meta)
})

test('incubation steps change only stage i; every meta parameter stays bit-identical', () => {
  for (const i of [0, 2, 3]) {
    const meta = new StagedViT({ ...base, dividedDepths: [1, 1, 1, 1], generator: g })
    const before = snapshot(meta)
    const stage = new ViTStage({ ...base, numBlocks: 2, first: i === 0, last: i === 3, generator: g })
    const stageBefore = snapshot(stage)
    incubateModule(meta, i, stage, data, { steps: 3, lr: 1e-2, batch: 8, generator: g })
    assert.equal(snapshot(meta), before, `meta unchanged while incubating ${i}`)
    const after = snapshot(stage)
    for (const [k, v] of stageBefore) assert.not.equal(after.get(k), v, `stage ${i} ${k} trained`)
  }
})

test('assembling copies each incubated stage exactly; the driver accounts steps × measured MACs', () => {
  const r = modelAssembling({
    target: { ...base, dividedDepths: [2, 2] }, data, steps: { pt: 2, mt: 2, ft: 2 }, lr: { pt: 1e-2, mt: 1e-2, ft: 1e-3 }, batch: 8, generator: g,
  })
  assert.equal(r.target.dividedDepths, [2, 2])
  assert.equal(r.meta.dividedDepths, [1, 1])
  const fresh = new StagedViT({ ...base, dividedDepths: [2, 2], generator: g })
  assembleStages(fresh, r.incubated)
  for (let i = 0; i < 2; i++) assert.equal(snapshot(fresh.stage(i)), snapshot(r.incubated[i]))
  const { pt, mt, ft } = r.stats
  assert.is(r.totalMacs, 2 * (pt.macsPerStep + mt[0].macsPerStep + mt[1].macsPerStep + ft.macsPerStep))
  // Incubating the last stage backpropagates through nothing frozen; stage 0 backpropagates through
  // the frozen meta stage after it (activation gradients only), so it costs more than the forward.
  assert.ok(mt[0].macsPerStep > mt[1].macsPerStep, `${mt[0].macsPerStep} > ${mt[1].macsPerStep}`)
  assert.ok(ft.macsPerStep > mt[0].macsPerStep && pt.macsPerStep < ft.macsPerStep)
  assert.ok([...r.target.parameters()].every((p) => p.requiresGrad) && [...r.meta.parameters()].every((p) => p.requiresGrad))
})

test.run()

/**
 * @file SN-Net (https://arxiv.org/abs/2302.06586): the official enumeration (34 paired positions on 11
 * layers for L = 12, 71 configs for 3 anchors, 35 for L = 6), least-squares init exact on a synthetic
 * linear map and equal to the per-position solutions on the anchors' own features, anchor configs
 * bit-for-bit equal to the anchors, stitched forward equal to a manual composition, parameter and
 * FLOPs counts against closed forms with the FLOPs ordering, runtime switching.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, profile, randn } from '../../../src/index.ts'
import { ViT } from '../../../src/nn/vit.ts'
import { SNNet, StitchingLayer, initLeastSquares, leastSquaresStitch, pairedConfigs, stitchConfigs } from '../../../src/nn/arch/04-sn-net.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const g = new Generator(42)
const anchor = (D: number, depth = 4, dtype: 'float32' | 'float64' = 'float64'): ViT =>
  new ViT({ imgSize: 8, patchSize: 2, inChans: 1, numClasses: 10, embedDim: D, depth, numHeads: 2, generator: g, dtype })

test('enumeration: 34 pairs on 11 layers (L = 12), 71 configs for 3 anchors, 35 for L = 6, official order', () => {
  const p = pairedConfigs(12, 2, 1)
  assert.is(p.pairs.length, 34)
  assert.is(p.numStitches, 11)
  assert.equal(p.pairs.slice(0, 7), [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [2, 1], [2, 2]])
  assert.equal(p.layerIds.slice(0, 7), [0, 0, 0, 0, 1, 1, 1])
  assert.is(stitchConfigs(12, 3).length, 71)
  assert.is(stitchConfigs(6, 3).length, 3 + 2 * 16)
  const cfgs = stitchConfigs(6, 3)
  assert.equal(cfgs.slice(0, 3).map((c) => c.anchors), [[0], [1], [2]])
  assert.equal(cfgs[3], { anchors: [0, 1], stitches: [[0, 0]], layers: [0] })
  assert.equal(cfgs[3 + 16].anchors, [1, 2])
  // without `nearest`: (0,2) pairs and 3-anchor chains whose second front block is not before the first end block
  const far = stitchConfigs(3, 3, { nearest: false })
  assert.ok(far.some((c) => c.anchors.join() === '0,2'))
  const chains = far.filter((c) => c.anchors.length === 3)
  assert.ok(chains.length > 0 && chains.every((c) => c.stitches[1][0] >= c.stitches[0][1]))
  const sn = new SNNet({ anchors: [anchor(4, 12), anchor(6, 12), anchor(8, 12)], generator: g })
  assert.is(sn.numConfigs, 71)
  assert.equal(sn.pairKeys, ['0-1', '1-2'])
})

test('least squares is exact on a synthetic linear map X2 = X1 M + c (and float32 activations)', () => {
  const x1 = randn([6, 10, 5], { generator: g, dtype: 'float64' }) // (B, T, d_a)
  const M = randn([5, 7], { generator: g, dtype: 'float64' }), c = randn([7], { generator: g, dtype: 'float64' })
  const x2 = x1.matmul(M).add(c) // (B, T, d_b)
  const { weight, bias } = leastSquaresStitch(x1, x2)
  assertClose(weight, M.mT, { atol: 1e-9 })
  assertClose(bias, c, { atol: 1e-9 })
  const s = new StitchingLayer(5, 7, { generator: g })
  s.setWeights(weight, bias)
  assertClose(s.forward(x1.to('float32')), x2, { atol: 1e-4 })
  assertThrows(() => s.setWeights(weight.mT, bias), /StitchingLayer.setWeights: need W \(7, 5\)/)
})

test('initLeastSquares: each layer = mean of the per-position solutions on (block j output, block l input)', () => {
  const A = anchor(6), B = anchor(8)
  const sn = new SNNet({ anchors: [A, B], generator: g })
  const x = randn([5, 1, 8, 8], { generator: g, dtype: 'float64' })
  initLeastSquares(sn, x)
  noGrad(() => {
    // Layer 1 serves positions (1,2), (2,1), (2,2): X1 = A tokens after block j, X2 = B tokens entering block l.
    const after = (m: ViT, n: number) => m.forwardBlocks(m.embed.forward(x), 0, n)
    const sols = [[1, 2], [2, 1], [2, 2]].map(([j, l]) => leastSquaresStitch(after(A, j + 1), after(B, l)))
    const layer = sn.stitchLayer(0, 1, 1)
    assertClose(layer.transform.weight, sols[0].weight.add(sols[1].weight).add(sols[2].weight).div(3), { atol: 1e-9 })
    assertClose(layer.transform.bias!, sols[0].bias.add(sols[1].bias).add(sols[2].bias).div(3), { atol: 1e-9 })
    // Layer 0 includes (0, 0), whose end activation is B's embedding (the input of block 0).
    const s00 = leastSquaresStitch(after(A, 1), B.embed.forward(x))
    const s01 = leastSquaresStitch(after(A, 1), after(B, 1))
    const s10 = leastSquaresStitch(after(A, 2), B.embed.forward(x))
    const s11 = leastSquaresStitch(after(A, 2), after(B, 1))
    assertClose(sn.stitchLayer(0, 1, 0).transform.bias!, s00.bias.add(s01.bias).add(s10.bias).add(s11.bias).div(4), { atol: 1e-9 })
  })
})

test('anchor configs reproduce the anchors bit-for-bit; stitched forward = manual composition; eval switching', () => {
  const A = anchor(6, 4, 'float32'), B = anchor(8, 4, 'float32')
  const sn = new SNNet({ anchors: [A, B], generator: g }).eval()
  const x = randn([3, 1, 8, 8], { generator: g })
  assert.equal(sn.setConfig(0).forward(x).data(), A.forward(x).data())
  assert.equal(sn.setConfig(1).forward(x).data(), B.forward(x).data())
  const id = sn.configs.findIndex((c) => c.anchors.length === 2 && c.stitches[0][0] === 2 && c.stitches[0][1] === 1)
  assert.equal(sn.configs[id].layers, [1])
  let h = A.embed.forward(x)
  for (const i of [0, 1, 2]) h = A.block(i).forward(h)
  h = sn.stitchLayer(0, 1, 1).forward(h)
  for (const i of [1, 2, 3]) h = B.block(i).forward(h)
  assert.equal(sn.setStitch(id).forward(x).data(), B.classifier.forward(h).data())
  assert.is(sn.lastConfigId, id)
  // params(id): embed_A + A blocks 0..2 + stitch (6·8 + 8) + B blocks 1..3 + B norm/head
  const blk = (m: ViT, i: number) => m.block(i).numParameters()
  assert.is(sn.params(id), A.embed.numParameters() + blk(A, 0) + blk(A, 1) + blk(A, 2) + 56 + blk(B, 1) + blk(B, 2) + blk(B, 3) + B.classifier.numParameters())
  assert.is(sn.params(0), A.numParameters())
  // Eval runs the chosen config every time; training samples configs uniformly.
  for (let t = 0; t < 5; t++) { sn.forward(x); assert.is(sn.lastConfigId, id) }
  sn.train()
  const seen = new Set<number>()
  for (let t = 0; t < 30; t++) { sn.forward(x); seen.add(sn.lastConfigId) }
  assert.ok(seen.size >= 6, `configs seen in training: ${seen.size}`)
  assertThrows(() => sn.setConfig(sn.numConfigs), /SNNet.setConfig: config id must be an integer in \[0, 12\)/)
  assertThrows(() => new SNNet({ anchors: [anchor(4, 3), anchor(8, 4)] }), /anchors must have equal depth/)
})

test('FLOPs: closed form per config; anchors bound the (j, j+1) stitches, which get cheaper as j grows', () => {
  const A = anchor(8, 4, 'float32'), B = anchor(16, 4, 'float32')
  const sn = new SNNet({ anchors: [A, B], generator: g })
  const T = 17, N = 16
  const block = (D: number) => T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * 4 * D
  const embed = (D: number) => N * 4 * D, head = (D: number) => D * 10
  assert.is(sn.flops(0), profile.countMacs(() => noGrad(() => A.forward(randn([1, 1, 8, 8], { generator: g })))).macs)
  assert.is(sn.flops(0), embed(8) + 4 * block(8) + head(8))
  assert.is(sn.flops(1), embed(16) + 4 * block(16) + head(16))
  const forward = sn.configs.map((c, id) => ({ c, id })).filter(({ c }) => c.anchors.length === 2 && c.stitches[0][1] === c.stitches[0][0] + 1)
  assert.is(forward.length, 3)
  const f = forward.map(({ c, id }) => {
    const [j] = c.stitches[0]
    assert.is(sn.flops(id), embed(8) + (j + 1) * block(8) + T * 8 * 16 + (3 - j) * block(16) + head(16))
    return sn.flops(id)
  })
  assert.ok(sn.flops(0) < f[2] && f[2] < f[1] && f[1] < f[0] && f[0] < sn.flops(1), `${sn.flops(0)} < ${f.reverse().join(' < ')} < ${sn.flops(1)}`)
  assert.is(sn.flops(0, [4, 1, 8, 8]), 4 * sn.flops(0))
})

test.run()

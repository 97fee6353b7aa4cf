/**
 * @file Paper 21, Greenformers (https://arxiv.org/abs/2108.10808): the rank rule (r_lim, skip, ρ),
 * LED parameter count, svd solver at full rank reproduces Linear / model outputs, rank-r Frobenius
 * error = Eckart–Young tail √Σ_{i>r} σ_i², CED at full rank equals the conv (groups 1 and 2),
 * Linformer with k = n and E = F = I equals standard attention, FLOPs linear in n, gradchecks.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, eye, gradcheck, noGrad, randn } from '../../../src/index.ts'
import { Linear } from '../../../src/nn/linear.ts'
import { Conv2d } from '../../../src/nn/conv.ts'
import { Sequential } from '../../../src/nn/containers.ts'
import { GELU } from '../../../src/nn/activation.ts'
import {
  CED, FullAttention, LED, LinformerAttention, LowRankTransformer, attentionFlops, autoFactorize, factorRank, projectionParams,
} from '../../../src/nn/arch/21-greenformers.ts'
import { svd } from '../../../src/linalg/svd.ts'
import { assertClose } from '../../helpers.ts'

const dtype = 'float64' as const
const g = (s: number): Generator => new Generator(s)
const rnd = (shape: number[], s: number) => randn(shape, { dtype, generator: g(s) })

test('rank rule: in = out = 64 gives r_lim 32; rank 32 is skipped, ρ = 0.5 gives 16; LED params r(in+out)+out', () => {
  assert.is(factorRank(64, 64, 32), null)
  assert.is(factorRank(64, 64, 31), 31)
  assert.is(factorRank(64, 64, 0.5), 16)
  assert.is(factorRank(64, 64, 0.01), null) // r = 0: leave the layer
  assert.is(new LED({ in: 64, out: 64, rank: 16 }).numParameters(), 16 * 128 + 64)
  const m = new Sequential(new Linear(64, 64, { generator: g(1) }), new Linear(64, 10, { generator: g(2) }))
  const done = autoFactorize(m, { rank: 0.5, solver: 'random', generator: g(3) })
  assert.equal(done, [{ name: '0', rank: 16 }, { name: '1', rank: 4 }]) // r_lim(64, 10) = 8
  assert.ok(m.at(0) instanceof LED && m.at(1) instanceof LED)
  assert.equal(autoFactorize(m, { rank: 0.5 }), [], 'an LED is not factorized again')
})

test('svd solver: full rank reproduces the model; rank r error = √Σ_{i>r} σ_i² (Eckart–Young)', () => {
  const m = new Sequential(new Linear(12, 9, { dtype, generator: g(4) }), new GELU(), new Linear(9, 5, { dtype, generator: g(5) }))
  const x = rnd([3, 12], 6)
  const ref = m.forward(x)
  const W0 = (m.at(0) as Linear).weight.clone()
  autoFactorize(m, { rank: 9, force: true })
  assertClose(m.forward(x), ref, { atol: 1e-12 })
  for (const r of [1, 3, 6]) {
    const lin = new Linear(12, 9, { dtype })
    noGrad(() => lin.weight.copy_(W0))
    const wrap = new Sequential(lin)
    autoFactorize(wrap, { rank: r, force: true }) // r_lim(12, 9) = 5: force keeps rank 6 too
    const led = wrap.at(0) as LED
    const approx = led.decoder.weight.matmul(led.encoder.weight) // V U (9, 12)
    const err = approx.sub(W0).square().sum().sqrt().item()
    const s = Array.from(svd(W0).S.data())
    const tail = Math.sqrt(s.slice(r).reduce((a, v) => a + v * v, 0))
    assert.ok(Math.abs(err - tail) < 1e-10 * Math.max(1, tail), `rank ${r}: ${err} vs ${tail}`)
  }
})

test('CED at full rank equals the original conv (groups 1 and 2)', () => {
  for (const groups of [1, 2]) {
    const conv = new Conv2d(4, 6, 3, { padding: 1, stride: 2, groups, dtype, generator: g(7) })
    const x = rnd([2, 4, 7, 7], 8)
    const ref = conv.forward(x)
    const wrap = new Sequential(conv)
    const [{ rank }] = autoFactorize(wrap, { rank: 1e9, force: true })
    assert.ok(wrap.at(0) instanceof CED)
    assert.is(rank % groups, 0)
    assertClose(wrap.at(0).forward(x as never) as never, ref, { atol: 1e-10, msg: `groups ${groups}` })
  }
})

test('Linformer with k = n and E = F = I equals standard attention; FLOPs linear in n at fixed k', () => {
  const full = new FullAttention({ d: 8, heads: 2, dtype, generator: g(9) })
  const lin = new LinformerAttention({ d: 8, heads: 2, seqLen: 5, k: 5, dtype, generator: g(10) })
  lin.loadStateDict({ ...full.stateDict(), E: eye(5, 5, { dtype }), F: eye(5, 5, { dtype }) })
  const x = rnd([2, 5, 8], 11)
  assertClose(lin.forward(x), full.forward(x), { atol: 1e-13 })
  // explicit standard attention from the weights
  const w = full.stateDict()
  const heads = (t: typeof x) => t.reshape([2, 5, 2, 4]).permute([0, 2, 1, 3])
  const [q, k, v] = ['wq', 'wk', 'wv'].map((n) => heads(x.matmul(w[`${n}.weight`].mT).add(w[`${n}.bias`])))
  const a = q.matmul(k.mT).div(2).softmax(-1).matmul(v).permute([0, 2, 1, 3]).reshape([2, 5, 8])
  assertClose(full.forward(x), a.matmul(w['wo.weight'].mT).add(w['wo.bias']), { atol: 1e-13 })
  assert.is(attentionFlops(1024, 64, 32) / attentionFlops(512, 64, 32), 2)
  assert.is(attentionFlops(1024, 64) / attentionFlops(512, 64), 4)
  // share 'kv' ties F to E; 'layer' shares one matrix across the model's layers
  const kv = new LinformerAttention({ d: 8, heads: 2, seqLen: 5, k: 3, share: 'kv' })
  assert.ok(kv.F === kv.E && kv.parameters().length === 4 * 2 + 1)
  const shared = new LowRankTransformer({ inDim: 3, d: 8, heads: 2, layers: 2, classes: 2, seqLen: 6, attention: 'linformer', k: 3, share: 'layer' })
  const [b0, b1] = [...shared.blocks] as unknown as { attn: LinformerAttention }[]
  assert.ok(b0.attn.E === b1.attn.E && b0.attn.F === b0.attn.E)
})

test('LowRankTransformer: projections are LEDs at ρ = 0.5 with fewer parameters; output shape', () => {
  const base = { inDim: 8, d: 32, heads: 4, layers: 2, classes: 10, seqLen: 8, generator: g(12) }
  const dense = new LowRankTransformer(base), lrt = new LowRankTransformer({ ...base, rank: 0.5 })
  const blk = [...lrt.blocks][0] as unknown as { attn: FullAttention; ff1: unknown }
  assert.ok(blk.attn.wq instanceof LED && blk.ff1 instanceof LED)
  // dense: 4·(32·32+32) + 2·32·64 + 64 + 32 per block; LRT ρ = 0.5: r = 8 for 32×32, r = 10 for 32↔64
  assert.is(projectionParams(dense), 2 * (4 * 1056 + 2048 + 64 + 2048 + 32))
  assert.is(projectionParams(lrt), 2 * (4 * (8 * 64 + 32) + (10 * 96 + 64) + (10 * 96 + 32)))
  assert.equal(lrt.forward(randn([3, 8, 8])).shape, [3, 10])
})

test('gradcheck: LED, CED, Linformer (float64)', () => {
  const led = new LED({ in: 4, out: 3, rank: 2, dtype, generator: g(13) })
  gradcheck((x) => led.forward(x), [rnd([2, 4], 14).requiresGrad_()])
  gradcheck(() => led.forward(rnd([2, 4], 15)), [led.encoder.weight, led.decoder.weight, led.decoder.bias!])
  const ced = new CED({ in: 2, out: 3, rank: 2, kernel: 3, padding: 1, dtype, generator: g(16) })
  gradcheck((x) => ced.forward(x), [rnd([1, 2, 4, 4], 17).requiresGrad_(), ced.encoder.weight])
  const lf = new LinformerAttention({ d: 4, heads: 2, seqLen: 4, k: 2, dtype, generator: g(18) })
  gradcheck((x) => lf.forward(x), [rnd([1, 3, 4], 19).requiresGrad_(), lf.E, lf.F])
})

test.run()

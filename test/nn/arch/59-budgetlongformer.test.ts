/**
 * @file Sheet 59 (BudgetLongformer, https://arxiv.org/abs/2211.17135): banded + global attention vs
 * dense attention with the equivalent bool mask (values and gradients, random sizes and global sets),
 * tuned kernels vs the oracles on odd sizes (NaN-prefilled outputs), linear work (pairs counted) and
 * linear storage (memory meter), window >= L reduces to plain attention, LongformerSelfAttention vs a
 * dense composite (shared and separate global projections), gradcheck, and the ELECTRA/MLM pieces:
 * RTD labels, the non-pad average, the shared embedding and no gradient from D into G.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, gradcheck, memory, noGrad, randn, tensor, zeros } from '../../../src/index.ts'
import {
  bandedAttention, bandedMask, LongformerSelfAttention, LongformerEncoder, ElectraGenerator, ElectraDiscriminator, ELECTRA, MLM,
} from '../../../src/nn/arch/59-budgetlongformer.ts'
import { bandedAttentionBackward, bandedAttentionBackwardRef, bandedAttentionForward, bandedAttentionRef, type BandedOperands } from '../../../src/kernels/banded-attention.ts'
import { assertClose } from '../../helpers.ts'

const f64 = (shape: number[], g: Generator) => randn(shape, { dtype: 'float64', generator: g })

test('bandedAttention == SDPA with the band + global bool mask: values and q, k, v gradients (random L, w, globals)', () => {
  const g = new Generator(1)
  for (const [L, w, global] of [[13, 2, []], [17, 3, [0]], [9, 1, [4, 8]], [20, 0, [0, 7, 19]], [6, 5, [2]]] as [number, number, number[]][]) {
    for (const impl of ['tuned', 'ref'] as const) {
      const [q, k, v] = [f64([2, 3, L, 5], g), f64([2, 3, L, 5], g), f64([2, 3, L, 4], g)].map((t) => t.requiresGrad_())
      const dout = f64([2, 3, L, 4], g)
      const y = bandedAttention(q, k, v, { window: w, global, impl })
      y.mul(dout).sum().backward()
      const [gq, gk, gv] = [q.grad!, k.grad!, v.grad!]
      q.grad = k.grad = v.grad = null
      const yd = F.scaledDotProductAttentionRef(q, k, v, { attnMask: bandedMask(L, w, global) })
      yd.mul(dout).sum().backward()
      const msg = `L=${L} w=${w} global=${global} ${impl}`
      assertClose(y, yd, { atol: 1e-12, msg })
      assertClose(gq, q.grad!, { atol: 1e-11, msg: msg + ' dq' })
      assertClose(gk, k.grad!, { atol: 1e-11, msg: msg + ' dk' })
      assertClose(gv, v.grad!, { atol: 1e-11, msg: msg + ' dv' })
    }
  }
})

test('float32 banded matches the fused SDPA with the mask (1e-5) and gradcheck passes in float64', () => {
  const g = new Generator(2)
  const [q, k, v] = [0, 1, 2].map(() => randn([1, 2, 33, 8], { generator: g }))
  assertClose(bandedAttention(q, k, v, { window: 4, global: [0, 31] }), F.scaledDotProductAttention(q, k, v, { attnMask: bandedMask(33, 4, [0, 31]) }), { atol: 1e-5 })
  const [a, b, c] = [f64([1, 2, 7, 3], g), f64([1, 2, 7, 3], g), f64([1, 2, 7, 2], g)].map((t) => t.requiresGrad_())
  gradcheck((x, y, z) => bandedAttention(x, y, z, { window: 1, global: [3] }), [a, b, c])
  gradcheck((x, y, z) => bandedAttention(x, y, z, { window: 2 }), [a, b, c])
})

test('tuned kernels == oracles on odd sizes, every output written (NaN prefill), same pair counts', () => {
  const g = new Generator(3)
  for (const [B, L, E, Ev, w, G] of [[1, 1, 1, 1, 0, 0], [3, 11, 3, 5, 2, 1], [2, 29, 7, 3, 4, 2], [4, 16, 5, 5, 20, 0], [2, 31, 2, 9, 1, 3]]) {
    const arr = (n: number) => Float64Array.from({ length: n }, () => g.nextNormal())
    let glob: Uint8Array | null = null
    if (G > 0) { glob = new Uint8Array(2 * L); for (let t = 0; t < G; t++) { glob[g.nextInt(0, L)] = 1; glob[L + g.nextInt(0, L)] = 1 } }
    const a: BandedOperands = { B, L, E, Ev, w, scale: 0.37, q: arr(B * L * E), k: arr(B * L * E), v: arr(B * L * Ev), glob, gDiv: Math.ceil(B / 2) }
    const nan = (n: number) => new Float64Array(n).fill(NaN)
    const [o1, o2, l1, l2] = [nan(B * L * Ev), nan(B * L * Ev), nan(B * L), nan(B * L)]
    const p1 = bandedAttentionRef(o1, l1, a), p2 = bandedAttentionForward(o2, l2, a)
    assert.ok(p2 >= p1, `tuned scores every allowed pair at least once: ${p2} vs ${p1}`)
    assertClose(o2, Array.from(o1), { atol: 1e-13 }); assertClose(l2, Array.from(l1), { atol: 1e-13 })
    const dout = arr(B * L * Ev)
    const r = [nan(B * L * E), nan(B * L * E), nan(B * L * Ev)], t = [nan(B * L * E), nan(B * L * E), nan(B * L * Ev)]
    assert.is(bandedAttentionBackwardRef(r[0], r[1], r[2], dout, o1, l1, a), p1)
    assert.is(bandedAttentionBackward(t[0], t[1], t[2], dout, o1, l1, a), p2)
    for (let i = 0; i < 3; i++) assertClose(t[i], Array.from(r[i]), { atol: 1e-12, msg: `B${B} L${L} grad ${i}` })
  }
})

test('work is linear in L for fixed w (scores counted) and storage grows x8 from L = 256 to 2048, not x64', () => {
  const w = 16, E = 8, BR = 32
  // the oracle scores exactly the allowed pairs: L(2w+1) - w(w+1), plus global rows and columns
  for (const L of [64, 256]) {
    const g = new Generator(L)
    const [q, k, v] = [0, 1, 2].map(() => randn([1, 1, L, E], { generator: g }))
    let p = 0, gp = 0
    bandedAttention(q, k, v, { window: w, impl: 'ref', onPairs: (n) => { p = n } })
    bandedAttention(q, k, v, { window: w, global: [0, L - 1], impl: 'ref', onPairs: (n) => { gp = n } })
    assert.is(p, L * (2 * w + 1) - w * (w + 1))
    // two global rows of L keys, the other rows' band, and the two global columns outside their band
    assert.is(gp, 2 * L + (L * (2 * w + 1) - w * (w + 1) - 2 * (w + 1)) + 2 * (L - 2 - w))
  }
  const work: number[] = [], gwork: number[] = [], bytes: number[] = [], denseBytes: number[] = []
  const Ls = [256, 512, 1024, 2048]
  for (const L of Ls) {
    const g = new Generator(L)
    const [q, k, v] = [0, 1, 2].map(() => randn([1, 1, L, E], { generator: g }).requiresGrad_())
    let fwd = 0, bwd = 0, gp = 0
    const m = memory.measure(() => {
      bandedAttention(q, k, v, { window: w, onPairs: (p, pass) => { if (pass === 'forward') fwd = p; else bwd = p } }).sum().backward()
    })
    // tuned: (BR, BR + 2w) tiles, the first and last clipped by w: L (BR + 2w) - 2 BR w scores
    assert.is(fwd, L * (BR + 2 * w) - 2 * BR * w)
    assert.is(bwd, fwd)
    noGrad(() => bandedAttention(q, k, v, { window: w, global: [0, 5, L - 1], onPairs: (p) => { gp = p } }))
    work.push(fwd); gwork.push(gp); bytes.push(m.allocatedBytes)
    denseBytes.push(memory.measure(() => noGrad(() => F.scaledDotProductAttention(q, k, v, { attnMask: bandedMask(L, w) }))).allocatedBytes)
  }
  // affine in L (equal increments per added token), with global tokens too
  for (const ws of [work, gwork]) {
    const slope = (ws[1] - ws[0]) / (Ls[1] - Ls[0])
    for (let t = 2; t < Ls.length; t++) assert.is((ws[t] - ws[t - 1]) / (Ls[t] - Ls[t - 1]), slope)
  }
  const byteRatio = bytes[3] / bytes[0], denseRatio = denseBytes[3] / denseBytes[0]
  assert.ok(byteRatio > 7.5 && byteRatio < 8.5, `banded bytes ratio ${byteRatio} (${bytes})`)
  assert.ok(denseRatio > 40, `dense masked bytes ratio ${denseRatio} (${denseBytes})`)
})

test('window >= L - 1 is ordinary bidirectional attention', () => {
  const g = new Generator(4)
  const [q, k, v] = [0, 1, 2].map(() => f64([2, 2, 10, 4], g))
  assertClose(bandedAttention(q, k, v, { window: 9 }), F.scaledDotProductAttentionRef(q, k, v), { atol: 1e-13 })
  assertClose(bandedAttention(q, k, v, { window: 50, global: [3] }), F.scaledDotProductAttentionRef(q, k, v), { atol: 1e-13 })
})

/** Dense composite of LongformerSelfAttention with the bool mask (and dense global rows). */
function denseLongformer(m: LongformerSelfAttention, x: EnvTensor, global: number[]): EnvTensor {
  const [B, L, D] = x.shape, H = m.heads, Dh = D / H
  const heads = (t: EnvTensor) => t.reshape([B, L, H, Dh]).permute([0, 2, 1, 3])
  const [q, k, v] = m.qkv.forward(x).chunk(3, -1).map(heads)
  let o = F.scaledDotProductAttentionRef(q, k, v, { attnMask: bandedMask(L, m.window, global) }) // (B, H, L, Dh)
  if (m.qkvGlobal) {
    const [qg, kg, vg] = m.qkvGlobal.forward(x).chunk(3, -1).map(heads)
    const full = F.scaledDotProductAttentionRef(qg, kg, vg)
    const rows = tensor(Array.from({ length: L }, (_, i) => [global.includes(i)]), { dtype: 'bool' })
    o = F.where(rows, full, o)
  }
  return m.out.forward(o.permute([0, 2, 1, 3]).reshape([B, L, D]))
}
type EnvTensor = ReturnType<typeof randn>

test('LongformerSelfAttention == dense masked composite (shared and separate global projections), gradients too', () => {
  for (const separateGlobal of [false, true]) {
    const g = new Generator(5)
    const m = new LongformerSelfAttention(12, { heads: 3, window: 2, global: [0, 5], separateGlobal, generator: g, dtype: 'float64' })
    const x = f64([2, 11, 12], g)
    const y = m.forward(x), yd = denseLongformer(m, x, [0, 5])
    assertClose(y, yd, { atol: 1e-12 })
    y.square().sum().backward()
    const grads = m.parameters().map((p) => p.grad!.clone())
    m.zeroGrad()
    yd.square().sum().backward()
    m.parameters().forEach((p, i) => assertClose(grads[i], p.grad!, { atol: 1e-10, msg: `param ${i} separate=${separateGlobal}` }))
  }
  const g = new Generator(6)
  const m = new LongformerSelfAttention(8, { heads: 2, window: 1, separateGlobal: true, generator: g, dtype: 'float64' })
  gradcheck((x) => m.forward(x, { global: [2] }), [f64([1, 5, 8], g).requiresGrad_()])
})

function tinyElectra(seed: number) {
  const g = new Generator(seed)
  const disc = new LongformerEncoder({ vocabSize: 12, dModel: 16, heads: 2, layers: 1, window: 2, maxLen: 16, global: [0], generator: g })
  const gen = new LongformerEncoder({ vocabSize: 12, dModel: 8, heads: 2, layers: 1, window: 2, maxLen: 16, global: [0], embedding: disc.embedding, generator: g })
  const mlm = new MLM({ vocabSize: 12, maskId: 1, padId: 0, maskProb: 0.3, rng: new Generator(seed + 100) })
  return { electra: new ELECTRA({ generator: new ElectraGenerator(gen), discriminator: new ElectraDiscriminator(disc), mlm, rng: new Generator(seed + 200) }), mlm, gen, disc }
}

test('MLM: only non-pad positions are selected (~maskProb), labels hold the originals there and -100 elsewhere', () => {
  const mlm = new MLM({ vocabSize: 30, maskId: 1, padId: 0, maskProb: 0.15, rng: new Generator(7) })
  const g = new Generator(8)
  const ids = tensor(Array.from({ length: 40 }, (_, r) => Array.from({ length: 50 }, (_, c) => (c >= 40 + (r % 10) ? 0 : g.nextInt(2, 30)))), { dtype: 'int32' })
  const { input, labels, masked } = mlm.mask(ids)
  const x = ids.data(), inp = input.data(), lab = labels.data(), m = masked.data()
  let sel = 0, real = 0
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 0) { assert.is(m[i], 0); assert.is(inp[i], 0) } else real++
    if (m[i]) { sel++; assert.is(lab[i], x[i]); assert.is(inp[i], 1) } else { assert.is(lab[i], -100); assert.is(inp[i], x[i]) }
  }
  assert.ok(Math.abs(sel / real - 0.15) < 0.03, `selected fraction ${sel / real}`)
})

test('ELECTRA: RTD labels (sample == original -> 0), disc loss = mean BCE over non-pad tokens, total = MLM + 50 * disc', () => {
  const { electra } = tinyElectra(9)
  const ids = tensor([[2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 0], [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]], { dtype: 'int32' })
  const out = electra.forward(ids)
  const x = ids.data(), xt = out.corrupted.data(), rep = out.replaced.data(), m = out.masked.data()
  let anySame = false
  for (let i = 0; i < x.length; i++) {
    assert.is(rep[i], xt[i] !== x[i] ? 1 : 0)
    if (!m[i]) assert.is(xt[i], x[i])
    if (m[i] && xt[i] === x[i]) anySame = true
  }
  assert.ok([...m].some((v) => v === 1), 'something is masked')
  const z = out.discLogits.data(), n = x.filter((t) => t !== 0).length
  let bce = 0
  for (let i = 0; i < x.length; i++) if (x[i] !== 0) bce += Math.max(z[i], 0) - z[i] * rep[i] + Math.log1p(Math.exp(-Math.abs(z[i])))
  assertClose([out.discLoss.item()], [bce / n], { atol: 1e-6 })
  assertClose([out.loss.item()], [out.mlmLoss.item() + 50 * out.discLoss.item()], { atol: 1e-4 })
  void anySame
})

test('ELECTRA: G and D share the embedding buffer; the discriminator loss sends no gradient into G', () => {
  const { electra, gen, disc } = tinyElectra(10)
  assert.ok(gen.embedding.weight === disc.embedding.weight)
  const names = [...electra.namedParameters()].map(([n]) => n)
  assert.is(names.filter((n) => n.endsWith('embedding.weight') && !n.includes('position')).length, 1)
  const ids = tensor([[2, 3, 4, 5, 6, 7, 8, 9], [9, 8, 7, 6, 5, 4, 3, 2]], { dtype: 'int32' })
  const out = electra.forward(ids)
  out.discLoss.backward()
  const genOnly = electra.generator.parameters().filter((p) => p !== disc.embedding.weight)
  assert.ok(genOnly.length > 5)
  for (const p of genOnly) assert.ok(p.grad === null || p.grad.abs().sum().item() === 0, 'generator-only parameter got a gradient from D')
  assert.ok(disc.embedding.weight.grad!.abs().sum().item() > 0)
  electra.zeroGrad()
  out.mlmLoss.backward()
  assert.ok(electra.generator.head.weight.grad!.abs().sum().item() > 0)
  void zeros
})

test.run()

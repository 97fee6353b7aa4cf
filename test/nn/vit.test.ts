/**
 * @file ViT / DeiT (src/nn/vit.ts): DeiT-Ti/S/B built shape-only with timm's exact parameter counts
 * and the closed-form MAC count at 224x224 (≈ the DeiT paper's 1.3 / 4.6 / 17.6 GFLOPs); the forward
 * against a naive float64 computation (patches by reshape, explicit softmax attention, GELU MLP);
 * mean pooling; stochastic depth only in training; gradcheck through a tiny ViT; input validation.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, cat, gradcheck, profile, randn, zeros, type Tensor } from '../../src/index.ts'
import { ViT, type ViTBlock } from '../../src/nn/vit.ts'
import { assertClose, assertThrows } from '../helpers.ts'

/** Closed-form MACs of a ViT forward on one image: patch conv, per block qkv + QKᵀ + PV + proj + MLP, head. */
function vitMacs(img: number, P: number, C: number, D: number, depth: number, classes: number, cls = true): number {
  const N = (img / P) ** 2, T = N + (cls ? 1 : 0)
  const block = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * 4 * D
  return N * C * P * P * D + depth * block + D * classes
}

test('DeiT presets: timm parameter counts (5,717,416 / 22,050,664 / 86,567,656) and MACs at 224² (≈1.3 / 4.6 / 17.6 G)', () => {
  // timm deit_{tiny,small,base}_patch16_224: 5.72M / 22.05M / 86.57M parameters; DeiT Table 1: 1.3 / 4.6 / 17.6 GFLOPs.
  const cases = [['deit-tiny', 5_717_416, 192, 1.3e9], ['deit-small', 22_050_664, 384, 4.6e9], ['deit-base', 86_567_656, 768, 17.6e9]] as const
  for (const [name, params, D, paperMacs] of cases) {
    const m = profile.shapeOnly(() => new ViT(ViT.preset(name)))
    assert.is(profile.countParams(m), params, name)
    const { macs, result } = profile.shapeOnly(() => profile.countMacs(() => m.forward(zeros([1, 3, 224, 224]))))
    assert.equal(result.shape, [1, 1000])
    assert.is(macs, vitMacs(224, 16, 3, D, 12, 1000), `${name} MACs`)
    // The paper rounds fvcore's count, which also skips the softmax and norms: within 4%.
    assert.ok(Math.abs(macs - paperMacs) / paperMacs < 0.04, `${name}: ${macs} vs ${paperMacs}`)
  }
})

/** The naive forward of a ViT in float64: patches by reshape, explicit attention, GELU (tanh-free erf form). */
function naiveViT(m: ViT, x: Tensor): Tensor {
  const { patchSize: P, imgSize: S, inChans: C, embedDim: D, numHeads: H } = m.config
  const B = x.shape[0], G = S / P
  const patches = x.reshape([B, C, G, P, G, P]).permute([0, 2, 4, 1, 3, 5]).reshape([B, G * G, C * P * P]) // (B, N, C·P·P)
  const w = m.embed.patch_embed.proj.weight.reshape([D, C * P * P]) // (D, C·P·P)
  let t = patches.matmul(w.mT).add(m.embed.patch_embed.proj.bias!) // (B, N, D)
  if (m.embed.cls_token) t = cat([zeros([B, 1, D], { dtype: 'float64' }).add(m.embed.cls_token), t], 1)
  t = t.add(m.embed.pos_embed)
  const ln = (v: Tensor, g: Tensor, b: Tensor): Tensor => {
    const mu = v.mean(-1, true), va = v.sub(mu).pow(2).mean(-1, true)
    return v.sub(mu).div(va.add(1e-6).sqrt()).mul(g).add(b)
  }
  const gelu = (v: Tensor): Tensor => v.mul(v.div(Math.SQRT2).erf().add(1)).mul(0.5)
  for (let i = 0; i < m.depth; i++) {
    const blk = m.blocks.at(i) as ViTBlock
    const E = D / H
    const h = ln(t, blk.norm1.weight!, blk.norm1.bias!)
    const qkv = h.matmul(blk.attn.qkv.weight.mT).add(blk.attn.qkv.bias!) // (B, T, 3D)
    const heads: Tensor[] = []
    for (let hd = 0; hd < H; hd++) {
      const q = qkv.narrow(2, hd * E, E), k = qkv.narrow(2, D + hd * E, E), v = qkv.narrow(2, 2 * D + hd * E, E)
      heads.push(q.matmul(k.mT).div(Math.sqrt(E)).softmax(-1).matmul(v)) // (B, T, E)
    }
    t = t.add(cat(heads, 2).matmul(blk.attn.proj.weight.mT).add(blk.attn.proj.bias!))
    const h2 = ln(t, blk.norm2.weight!, blk.norm2.bias!)
    const f = gelu(h2.matmul(blk.mlp.fc1.weight.mT).add(blk.mlp.fc1.bias!)).matmul(blk.mlp.fc2.weight.mT).add(blk.mlp.fc2.bias!)
    t = t.add(f)
  }
  const c = m.classifier
  const hN = ln(t, c.norm.weight!, c.norm.bias!)
  const pooled = m.config.pool === 'cls' ? hN.select(1, 0) : hN.mean(1)
  return pooled.matmul(c.head!.weight.mT).add(c.head!.bias!)
}

test('forward equals a naive float64 computation (class token and mean pooling)', () => {
  const g = new Generator(7)
  for (const pool of ['cls', 'mean'] as const) {
    const m = new ViT({ imgSize: 8, patchSize: 2, inChans: 2, numClasses: 5, embedDim: 12, depth: 2, numHeads: 3, pool, generator: g, dtype: 'float64' }).eval()
    const x = randn([3, 2, 8, 8], { generator: g, dtype: 'float64' })
    const y = m.forward(x)
    assert.equal(y.shape, [3, 5])
    assertClose(y, naiveViT(m, x), { atol: 1e-10 })
    assert.equal(m.embed.pos_embed.shape, [1, 16 + (pool === 'cls' ? 1 : 0), 12])
    // blockFeatures: [embed, block 0, block 1], the last feeding the classifier
    const f = m.blockFeatures(x)
    assert.is(f.length, 3)
    assertClose(m.classifier.forward(f[2]), y, { atol: 1e-12 })
  }
})

test('stochastic depth: identity in eval, per-sample drops in training, linear rule over blocks', () => {
  const g = new Generator(3)
  const m = new ViT({ imgSize: 4, patchSize: 2, inChans: 1, numClasses: 3, embedDim: 8, depth: 3, numHeads: 2, dropPath: 0.5, generator: g, dtype: 'float64' })
  assert.equal([0, 1, 2].map((i) => m.block(i).drop_path.p), [0, 0.25, 0.5])
  const x = randn([64, 1, 4, 4], { generator: g, dtype: 'float64' })
  m.eval()
  const a = m.forward(x), b = m.forward(x)
  assertClose(a, b, { atol: 0 })
  // In training a block with p = 0.5 drops both residual branches of ~1/4 of the samples: those
  // samples come out exactly equal to the input; in eval none does.
  const t = randn([64, 5, 8], { generator: g, dtype: 'float64' })
  const exact = (out: Tensor): number => [...(out.sub(t).abs().sum([1, 2]).data() as Float64Array)].filter((d) => d === 0).length
  assert.is(exact(m.block(2).forward(t)), 0)
  m.train()
  const n = exact(m.block(2).forward(t))
  assert.ok(n > 4 && n < 32, `samples with both branches dropped: ${n}/64`)
  assert.is(exact(m.block(0).forward(t)), 0, 'block 0 has p = 0')
})

test('gradcheck through a tiny float64 ViT (input and parameters)', () => {
  const g = new Generator(11)
  const m = new ViT({ imgSize: 4, patchSize: 2, inChans: 1, numClasses: 3, embedDim: 4, depth: 1, numHeads: 2, generator: g, dtype: 'float64' }).eval()
  const x = randn([2, 1, 4, 4], { generator: g, dtype: 'float64' }).requiresGrad_()
  gradcheck((xx) => m.forward(xx), [x])
  // Parameter gradients: <dL/dθ, v> against a central difference along a random v, for every parameter.
  const r = randn([2, 3], { generator: g, dtype: 'float64' })
  const loss = (): number => m.forward(x.detach()).mul(r).sum().item()
  m.zeroGrad()
  m.forward(x.detach()).mul(r).sum().backward()
  for (const [name, p] of m.namedParameters()) {
    const v = randn(p.shape, { generator: g, dtype: 'float64' })
    const analytic = p.grad!.mul(v).sum().item()
    const eps = 1e-6
    p.detach().add_(v.mul(eps)); const up = loss()
    p.detach().sub_(v.mul(2 * eps)); const down = loss()
    p.detach().add_(v.mul(eps))
    const numeric = (up - down) / (2 * eps)
    assert.ok(Math.abs(analytic - numeric) < 1e-6 * (1 + Math.abs(numeric)), `${name}: ${analytic} vs ${numeric}`)
  }
})

test('validation: image size, heads, unknown preset', () => {
  const m = new ViT({ imgSize: 8, patchSize: 2, inChans: 1, numClasses: 10, embedDim: 8, depth: 1, numHeads: 2 })
  assertThrows(() => m.forward(zeros([1, 1, 6, 6])), /PatchEmbed: x must be \(B, 1, 8, 8\), got \[1,1,6,6\]/)
  assertThrows(() => new ViT({ imgSize: 8, patchSize: 3, embedDim: 8, depth: 1, numHeads: 2 }), /multiple of patchSize/)
  assertThrows(() => new ViT({ imgSize: 8, patchSize: 2, embedDim: 8, depth: 1, numHeads: 3 }), /divisible by numHeads/)
  assertThrows(() => ViT.preset('deit-huge' as 'deit-tiny'), /unknown preset/)
})

test.run()

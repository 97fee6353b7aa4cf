/**
 * @file Paper 03 ResNet-RS (src/nn/arch/03-resnet-rs.ts): stochastic depth (identity in eval, whole
 * samples kept or dropped, Monte-Carlo mean = eval output, per-block rates p·i/N exactly), label-smoothed
 * CE against the smoothed-target formula, the ResNet-D shortcut and SE against naive loops, zero-γ init,
 * parameter counts of the released configs (exact for ResNet-50 / RS-50 / RS-101, verified against the
 * reference code) and FLOPs (= 2 x MACs, as the paper counts) at the paper's resolutions, the scaling rule.
 * (RS-101@192 = 12.0 GFLOPs and the larger presets are checked in the report, not here: building them
 * takes seconds even in shape-only mode.)
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, noGrad, profile, randn, tensor, zeros, type Tensor } from '../../../src/index.ts'
import {
  RSBottleneck, ResNetDShortcut, ResNetRS, dropPathRates, resnetRS, scalingResnetRS,
} from '../../../src/nn/arch/03-resnet-rs.ts'

const g = new Generator(3)
const arr = (t: Tensor): number[] => Array.from(t.contiguous().data() as Float32Array)
const maxDiff = (a: Tensor, b: Tensor): number => a.sub(b).abs().amax().item()

test('dropPathRates: block rule p·i/N exactly, stage rule p·s/(S+1)', () => {
  const r = dropPathRates([3, 4, 6, 3], 0.1, 'block')
  assert.is(r.length, 16)
  r.forEach((v, i) => assert.is(v, (0.1 * (i + 1)) / 16))
  const s = dropPathRates([1, 2, 1, 1], 0.2, 'stage')
  assert.equal(s, [0.2 * 2 / 5, 0.2 * 3 / 5, 0.2 * 3 / 5, 0.2 * 4 / 5, 0.2 * 5 / 5])
  const m = new ResNetRS({ layers: [1, 2], widths: [4, 8], stemWidths: [4, 4, 8], dropPath: 0.3, numClasses: 3, generator: g })
  const ps = [...m.blocks].map((b) => (b as RSBottleneck).dropPath!.p)
  assert.equal(ps, [0.1, 0.2, 0.3].map((_, i) => (0.3 * (i + 1)) / 3))
})

test('stochastic depth: identity in eval; in training whole samples kept (x 1/(1-p)) or dropped; MC mean = eval', () => {
  const blk = new RSBottleneck(16, 4, { dropPath: 0.2, generator: new Generator(9) })
  noGrad(() => blk.conv3.bn.weight!.fill_(1)) // undo zero-γ so the branch is non-trivial
  const x = randn([16, 16, 4, 4], { generator: g }).relu()
  blk.eval()
  const evalOut = noGrad(() => blk.forward(x))
  const branch = noGrad(() => blk.se!.forward(blk.conv3.forward(blk.conv2.forward(blk.conv1.forward(x))))) // (16, 16, 4, 4)
  assert.ok(maxDiff(evalOut, x.add(branch).relu()) < 1e-6, 'eval: no drop')
  blk.dropPath!.train() // only stochastic depth in training mode; BN stays in eval
  const out = noGrad(() => blk.forward(x))
  let dropped = 0, kept = 0
  for (let b = 0; b < 16; b++) {
    const o = out.select(0, b), xb = x.select(0, b), hb = branch.select(0, b)
    if (maxDiff(o, xb.relu()) < 1e-6) dropped++ // p = 1 for this sample: the block returns its shortcut
    else { assert.ok(maxDiff(o, xb.add(hb.div(0.8)).relu()) < 1e-5, `sample ${b} kept and rescaled`); kept++ }
  }
  assert.ok(dropped > 0 && kept > 0, `both outcomes seen: ${dropped} dropped, ${kept} kept`)
  // Monte-Carlo mean of the dropped-path branch equals the branch (expectation preserved).
  // Per-sample relative error of the mean is √(p/((1-p)T)) ≈ 0.011 at p = 0.2, T = 2000.
  const T = 2000, acc = new Float64Array(branch.numel())
  for (let t = 0; t < T; t++) {
    const d = noGrad(() => blk.dropPath!.forward(branch)).data() as Float32Array
    for (let i = 0; i < d.length; i++) acc[i] += d[i] / T
  }
  const rel = tensor(Array.from(acc)).reshape(branch.shape).sub(branch).norm().item() / branch.norm().item()
  assert.ok(rel < 0.02, `MC mean within 2% of eval: ${rel}`)
})

test('label smoothing: F.crossEntropy(labelSmoothing) = CE against (1-ε)·onehot + ε/K', () => {
  const logits = randn([5, 4], { generator: g, dtype: 'float64' })
  const y = tensor([0, 3, 1, 1, 2], { dtype: 'int32' })
  const eps = 0.1, K = 4
  const lp = logits.logSoftmax(1).toArray() as number[][]
  const ys = [0, 3, 1, 1, 2]
  let ref = 0
  for (let n = 0; n < 5; n++) for (let k = 0; k < K; k++) ref -= ((k === ys[n] ? 1 - eps : 0) + eps / K) * lp[n][k]
  ref /= 5
  assert.ok(Math.abs(F.crossEntropy(logits, y, { labelSmoothing: eps }).item() - ref) < 1e-12)
})

test('ResNet-D shortcut = avgpool 2x2 s2 → 1x1 conv → BN (naive loops, eval stats)', () => {
  const sc = new ResNetDShortcut(3, 5, 2, { generator: g })
  noGrad(() => {
    sc.bn.runningMean!.copy_(randn([5], { generator: g }))
    sc.bn.runningVar!.copy_(randn([5], { generator: g }).abs().add(0.5))
    sc.bn.weight!.copy_(randn([5], { generator: g })); sc.bn.bias!.copy_(randn([5], { generator: g }))
  })
  sc.eval()
  const x = randn([2, 3, 6, 6], { generator: g })
  const out = noGrad(() => sc.forward(x))
  assert.equal(out.shape, [2, 5, 3, 3])
  const X = x.toArray() as number[][][][], Wt = sc.conv.weight.toArray() as number[][][][]
  const [mu, vr, ga, be] = [sc.bn.runningMean!, sc.bn.runningVar!, sc.bn.weight!, sc.bn.bias!].map(arr)
  const O = out.toArray() as number[][][][]
  for (let n = 0; n < 2; n++) for (let o = 0; o < 5; o++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    let s = 0
    for (let c = 0; c < 3; c++) {
      const avg = (X[n][c][2 * i][2 * j] + X[n][c][2 * i][2 * j + 1] + X[n][c][2 * i + 1][2 * j] + X[n][c][2 * i + 1][2 * j + 1]) / 4
      s += Wt[o][c][0][0] * avg
    }
    const ref = ((s - mu[o]) / Math.sqrt(vr[o] + 1e-5)) * ga[o] + be[o]
    assert.ok(Math.abs(O[n][o][i][j] - ref) < 1e-5, `(${n},${o},${i},${j})`)
  }
  // Odd sides: ceil mode, padding excluded from the average.
  assert.equal(noGrad(() => sc.forward(randn([1, 3, 5, 5], { generator: g }))).shape, [1, 5, 3, 3])
})

test('SE = x ⊙ σ(W₂ ReLU(W₁ GAP(x) + b₁) + b₂) with width 0.25 x block output; zero-γ block = its shortcut at init', () => {
  const blk = new RSBottleneck(8, 2, { shortcut: 'resnetD', stride: 2, generator: g })
  const se = blk.se!
  assert.is(se.reduced, 2) // 0.25 x 8 output channels
  const h = randn([2, 8, 3, 3], { generator: g })
  const out = noGrad(() => se.forward(h)).toArray() as number[][][][]
  const H = h.toArray() as number[][][][]
  const W1 = se.reduce.weight.toArray() as number[][][][], b1 = arr(se.reduce.bias!)
  const W2 = se.expand.weight.toArray() as number[][][][], b2 = arr(se.expand.bias!)
  for (let n = 0; n < 2; n++) {
    const s = H[n].map((ch) => ch.flat().reduce((a, v) => a + v, 0) / 9)
    const z = b1.map((b, r) => Math.max(0, b + s.reduce((a, v, c) => a + W1[r][c][0][0] * v, 0)))
    for (let c = 0; c < 8; c++) {
      const gate = 1 / (1 + Math.exp(-(b2[c] + z.reduce((a, v, r) => a + W2[c][r][0][0] * v, 0))))
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) assert.ok(Math.abs(out[n][c][i][j] - H[n][c][i][j] * gate) < 1e-5)
    }
  }
  // Zero-γ init: the residual branch is exactly 0, so an identity block returns relu(x) = x for x ≥ 0 ...
  const id = new RSBottleneck(8, 2, { generator: g })
  const x = randn([2, 8, 4, 4], { generator: g }).relu()
  assert.is(noGrad(() => id.forward(x)).sub(x).abs().amax().item(), 0)
  // ... and a downsampling block returns relu(shortcut(x)).
  const y = noGrad(() => blk.forward(randn([2, 8, 4, 4], { generator: g })))
  assert.equal(y.shape, [2, 8, 2, 2])
})

test('ResNet-50 / RS-50 / RS-101: exact parameter counts; FLOPs (2 x MACs) at 224 / 160 / 160', () => {
  // Each net is built once in shape-only mode (no weights allocated) and traced at its resolutions.
  const probe = (name: string, sizes: number[]): { params: number; flops: number[] } => profile.shapeOnly(() => {
    const m = resnetRS(name).eval()
    return { params: profile.countParams(m), flops: sizes.map((r) => 2 * profile.countMacs(() => m.forward(zeros([1, 3, r, r]))).macs) }
  })
  const r50 = probe('resnet-50', [224]), rs50 = probe('resnetrs-50', [160]), rs101 = probe('resnetrs-101', [160])
  assert.is(r50.params, 25_557_032) // torchvision resnet50
  assert.is(rs50.params, 35_691_912) // review-verified against the tensorflow/tpu configs
  assert.is(rs101.params, 63_618_696)
  assert.ok(Math.abs(r50.flops[0] / 2 / 4.09e9 - 1) < 0.005, `ResNet-50 MACs ${r50.flops[0] / 2}`) // torchvision: 4.09 GFLOPS (MACs)
  // The paper prints FLOPs with 2 significant digits: accept the rounding interval.
  assert.ok(Math.abs(rs50.flops[0] - 4.6e9) <= 0.05e9, `RS-50@160 ${rs50.flops[0]}`)
  assert.ok(Math.abs(rs101.flops[0] - 8.4e9) <= 0.05e9, `RS-101@160 ${rs101.flops[0]}`)
})

test('small ResNet-RS: shapes, gradients reach the stem, dropout only in training', () => {
  const m = new ResNetRS({ layers: [1, 1], widths: [4, 8], stemWidths: [4, 4, 8], stemStrides: [1, 2], inChannels: 1, numClasses: 10, dropout: 0.5, generator: g })
  const x = randn([3, 1, 16, 16], { generator: g })
  const y = m.forward(x)
  assert.equal(y.shape, [3, 10])
  F.crossEntropy(y, tensor([1, 2, 3], { dtype: 'int32' })).backward()
  const stemW = (m.stem.layers.at(0) as unknown as { conv: { weight: Tensor } }).conv.weight
  assert.ok(stemW.grad !== null && stemW.grad.abs().amax().item() > 0)
  m.eval()
  assert.is(maxDiff(noGrad(() => m.forward(x)), noGrad(() => m.forward(x))), 0)
  assert.throws(() => new ResNetRS({ layers: [1], widths: [4, 8] }), /one per stage/)
  assert.throws(() => m.forward(randn([2, 16, 16])), /must be \(B, C, H, W\)/)
})

test('scaling.resnetRS: depth when overfitting is possible, width otherwise; slow resolution growth', () => {
  const long = scalingResnetRS({ flopsMult: 4, epochs: 350 })
  assert.is(long.scale, 'depth')
  assert.is(long.widthMult, 1)
  const r = Math.pow(4, 0.2)
  assert.ok(Math.abs(long.depthMult - 4 / (r * r)) < 1e-12)
  assert.is(long.resolution, 224)
  // depth·width²·res² recovers the FLOPs budget (before resolution rounding).
  const short = scalingResnetRS({ flopsMult: 4, epochs: 10 })
  assert.is(short.scale, 'width')
  assert.ok(Math.abs(short.widthMult ** 2 * r * r - 4) < 1e-12)
  // RS-50@160 → ~28x FLOPs: resolution 320, as ResNet-RS-420@320.
  assert.is(scalingResnetRS({ flopsMult: 28, regime: 'overfit' }).resolution, 320)
  assert.throws(() => scalingResnetRS({ flopsMult: 0.5 }), /flopsMult/)
})

test.run()

/**
 * @file The S4D layer and model (sheet 41, https://arxiv.org/abs/2206.11893): the layer equals its
 * explicit composition (SSM conv, GELU, 1x1 conv, GLU), the model is causal per position (an output
 * never reads later inputs) unless bidirectional, pooling shapes, param groups, gradcheck of the
 * whole model in float64, and the delay-task data.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, optim } from '../../../src/index.ts'
import { S4DLayer, S4DModel, delayTask } from '../../../src/nn/arch/41-s4d.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const f64 = { dtype: 'float64' as const }

test('S4DLayer = GLU(Conv1x1(GELU(K * u + D u))) by hand', () => {
  const layer = new S4DLayer(3, { dState: 4, generator: new Generator(1), ...f64 })
  const u = randn([2, 3, 7], { ...f64, generator: new Generator(2) })
  const y = layer.ssm.forward(u).gelu() // (B, H, L)
  const W = layer.outputLinear.weight.squeeze(2), b = layer.outputLinear.bias! // (2H, H), (2H,)
  const ab = W.matmul(y).add(b.unsqueeze(1)) // (B, 2H, L)
  const want = ab.narrow(1, 0, 3).mul(ab.narrow(1, 3, 3).sigmoid())
  assertClose(layer.forward(u), want, { atol: 1e-12 })
})

test('S4DModel is causal per position (pool none); a bidirectional model is not', () => {
  for (const bidirectional of [false, true]) {
    const m = new S4DModel(2, 3, { dModel: 8, nLayers: 2, dState: 8, pool: 'none', bidirectional, generator: new Generator(3), ...f64 })
    const u = randn([1, 12, 2], { ...f64, generator: new Generator(4) })
    const u2 = u.clone()
    u2.narrow(1, 7, 5).fill_(0) // change inputs t >= 7
    const a = m.forward(u), b = m.forward(u2)
    assert.equal(a.shape, [1, 12, 3])
    const early = a.narrow(1, 0, 7).sub(b.narrow(1, 0, 7)).abs().amax().item()
    if (bidirectional) assert.ok(early > 1e-6, 'bidirectional outputs read the future')
    else assert.ok(early < 1e-12, `causal: ${early}`)
    assert.ok(a.narrow(1, 7, 5).sub(b.narrow(1, 7, 5)).abs().amax().item() > 1e-6)
  }
})

test('pooling: mean, last; prenorm; shapes and errors', () => {
  const u = randn([3, 10, 1], { generator: new Generator(5) })
  const mean = new S4DModel(1, 4, { dModel: 8, nLayers: 1, dState: 4, generator: new Generator(6) })
  const last = new S4DModel(1, 4, { dModel: 8, nLayers: 1, dState: 4, pool: 'last', generator: new Generator(6) })
  const none = new S4DModel(1, 4, { dModel: 8, nLayers: 1, dState: 4, pool: 'none', generator: new Generator(6) })
  assert.equal(mean.forward(u).shape, [3, 4])
  // Same seed, same weights: 'last' is the final step of 'none'; 'mean' decodes the mean feature (decoder is affine).
  assertClose(last.forward(u), none.forward(u).select(1, 9), { atol: 1e-6 })
  assertClose(mean.forward(u), none.forward(u).mean(1), { atol: 1e-5 })
  assert.equal(new S4DModel(1, 4, { dModel: 8, nLayers: 2, dState: 4, prenorm: true }).forward(u).shape, [3, 4])
  assertThrows(() => mean.forward(randn([3, 10, 2])), /S4DModel: u must be \(B, L, dIn=1\)/)
  assertThrows(() => new S4DModel(1, 4, { nLayers: 0 }), /nLayers must be a positive integer/)
})

test('param groups: every S4D core A and dt at lr min(1e-3, lr) without decay, the rest default; all params covered once', () => {
  const m = new S4DModel(1, 10, { dModel: 8, nLayers: 2, dState: 4 })
  const groups = m.paramGroups(0.01)
  assert.is(groups[1].params.length, 6)
  assert.is(groups[0].params.length + groups[1].params.length, m.parameters().length)
  const opt = new optim.AdamW(groups, { lr: 0.01, weightDecay: 0.1 })
  const g = opt.paramGroups as unknown as { lr: number; weightDecay: number }[]
  assert.equal([g[0].lr, g[0].weightDecay, g[1].lr, g[1].weightDecay], [0.01, 0.1, 0.001, 0])
})

test('gradcheck: the whole model (encoder, 2 S4D layers, norms, decoder) in float64', () => {
  const m = new S4DModel(1, 2, { dModel: 3, nLayers: 2, dState: 4, dtMin: 0.05, dtMax: 0.5, generator: new Generator(7), ...f64 })
  const u = randn([2, 5, 1], { ...f64, generator: new Generator(8) }).requiresGrad_()
  const c = m.cores()[1]
  gradcheck((x) => m.forward(x), [u, m.encoder.weight, c.logDt, c.AImag, c.C, m.decoder.weight])
})

test('delayTask: y_t = u_{t-k}, zero before k; seeded', () => {
  const { u, y } = delayTask(3, 20, 6, new Generator(9))
  assert.equal(u.shape, [3, 20, 1])
  assertClose(y.narrow(1, 6, 14), u.narrow(1, 0, 14), { atol: 0, rtol: 0 })
  assert.is(y.narrow(1, 0, 6).abs().sum().item(), 0)
  assertClose(delayTask(3, 20, 6, new Generator(9)).u, u, { atol: 0, rtol: 0 })
  assertThrows(() => delayTask(1, 5, 5, new Generator(0)), /delay k must be an integer in \[0, L=5\)/)
})

test.run()

/**
 * @file Paper 18 (Continual Inference Networks): step-by-step outputs equal the offline modules'
 * outputs (conv1d over kernel/dilation/padding/stride/groups, conv2d, conv3d with a time kernel of 3,
 * stacked convs with end padding, the delay-aligned residual, single-output attention and the
 * continual encoder layer against nn.TransformerEncoderLayer on every window), delay/receptive-field
 * values, state reset, frame-shape errors, and the analytic multiply counts against the multiplies
 * the modules actually run through matmul.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, Tensor, nn, randn, tensor } from '../../../src/index.ts'
import * as co from '../../../src/nn/arch/18-continual-inference.ts'
import * as cot from '../../../src/nn/arch/18-continual-transformer.ts'
import { SPLoRA } from '../../../src/nn/arch/18-structured-pruning-adapters.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const maxDiff = (a: Tensor, b: Tensor): number => {
  assert.equal(a.shape, b.shape)
  const x = a.contiguous().data(), y = b.contiguous().data()
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])))
  return m
}

/** Counts multiplies run through Tensor.matmul: prod(batch) · M · K · N per call. */
function countMatmulMults(fn: () => unknown): number {
  const orig = Tensor.prototype.matmul
  let total = 0
  Tensor.prototype.matmul = function (this: Tensor, other: Tensor): Tensor {
    const out = orig.call(this, other)
    const K = this.shape[this.ndim - 1]
    total += out.numel() * K
    return out
  }
  try { fn() } finally { Tensor.prototype.matmul = orig }
  return total
}

test('co.Conv1d: stepwise == offline over kernel, dilation, padding, temporal stride and groups (float64 1e-12)', () => {
  const g = new Generator(18)
  const cases = [
    { k: 1, d: 1, p: 0 }, { k: 2, d: 1, p: 0 }, { k: 3, d: 1, p: 0 }, { k: 3, d: 1, p: 1 }, { k: 3, d: 1, p: 2 },
    { k: 4, d: 1, p: 2 }, { k: 5, d: 2, p: 3 }, { k: 3, d: 3, p: 6 }, { k: 3, d: 1, p: 1, s: 2 }, { k: 3, d: 2, p: 2, groups: 2 },
  ]
  for (const { k, d, p, s, groups } of cases) {
    const conv = new nn.Conv1d(4, 6, k, { dilation: d, padding: p, stride: s, groups, generator: g, dtype: 'float64' })
    const c = co.Conv1d.fromOffline(conv)
    assert.is(c.receptiveField, (k - 1) * d + 1)
    assert.is(c.delay, (k - 1) * d - p)
    const x = randn([2, 4, 13], { generator: g, dtype: 'float64' })
    const off = conv.forward(x) // (2, 6, T')
    const diff = maxDiff(c.forwardSteps(x, { padEnd: true })!, off)
    assert.ok(diff < 1e-12, `k=${k} d=${d} p=${p} s=${s ?? 1}: ${diff}`)
    // Without end padding: exactly the outputs not touching the trailing zero frames.
    const noPad = c.forwardSteps(x)!
    const emitted = Math.floor((13 + p - (k - 1) * d - 1) / (s ?? 1)) + 1
    assert.is(noPad.shape[2], emitted)
    assert.ok(maxDiff(noPad, off.narrow(2, 0, emitted)) < 1e-12)
    c.reset()
  }
})

test('co.Conv1d: first output arrives after exactly `delay` frames; one output per frame after', () => {
  const g = new Generator(3)
  const c = new co.Conv1d(2, 3, 3, { padding: 1, generator: g, dtype: 'float64' }) // delay 1
  const x = randn([1, 2, 6], { generator: g, dtype: 'float64' })
  const emitted = Array.from({ length: 6 }, (_, t) => c.forwardStep(x.select(2, t)) !== null)
  assert.equal(emitted, [false, true, true, true, true, true])
  assert.is(c.flush().length, 1)
})

test('co.Conv2d and co.Conv3d (time kernel 3) with spatial padding/stride == offline (float64); float32 within 1e-5', () => {
  const g = new Generator(7)
  const c2 = new nn.Conv2d(3, 4, [3, 2], { padding: [1, 1], stride: [1, 2], generator: g, dtype: 'float64' })
  const x2 = randn([2, 3, 7, 5], { generator: g, dtype: 'float64' })
  assert.ok(maxDiff(co.Conv2d.fromOffline(c2).forwardSteps(x2, { padEnd: true })!, c2.forward(x2)) < 1e-12)
  for (const [dtype, tol] of [['float64', 1e-12], ['float32', 1e-5]] as const) {
    const c3 = new nn.Conv3d(4, 6, [3, 3, 3], { padding: [1, 1, 0], stride: [1, 2, 1], groups: 2, generator: g, dtype })
    const x3 = randn([2, 4, 6, 5, 4], { generator: g, dtype })
    const cc = co.Conv3d.fromOffline(c3)
    assert.is(cc.delay, 1)
    const d = maxDiff(cc.forwardSteps(x3, { padEnd: true })!, c3.forward(x3))
    assert.ok(d < tol, `${dtype}: ${d}`) // measured: float64 <= 1e-15, float32 max 2.4e-7 over 5 seeds
  }
})

test('stacking: two k=3 convs have rf 5 and delay 4; co.Sequential with ReLU and padding flushes to the offline output', () => {
  const g = new Generator(11)
  const a = new co.Conv1d(2, 3, 3, { generator: g }), b = new co.Conv1d(3, 2, 3, { generator: g })
  const seq = new co.Sequential(a, b)
  assert.is(seq.receptiveField, 5)
  assert.is(seq.delay, 4)
  const c1 = new nn.Conv1d(3, 8, 3, { padding: 1, generator: g, dtype: 'float64' })
  const c2 = new nn.Conv1d(8, 5, 5, { padding: 2, dilation: 2, generator: g, dtype: 'float64' })
  const off = new nn.Sequential(c1, new nn.ReLU(), c2)
  const net = new co.Sequential(co.Conv1d.fromOffline(c1), new nn.ReLU(), co.Conv1d.fromOffline(c2))
  assert.is(net.delay, 1 + (8 - 2)) // c2: R = (5 − 1)·2 = 8, padding 2
  const x = randn([2, 3, 12], { generator: g, dtype: 'float64' })
  const y = off.forward(x)
  assert.ok(maxDiff(net.forwardSteps(x, { padEnd: true })!, y) < 1e-12)
  assert.ok(maxDiff(net.forward(x), y) === 0)
  assert.equal(Object.keys(net.stateDict()), Object.keys(off.stateDict()))
})

test('co.Residual: y_t = F(x)_t + x_{t-delay} equals the offline residual network', () => {
  const g = new Generator(5)
  const c1 = new nn.Conv1d(4, 4, 3, { padding: 1, generator: g, dtype: 'float64' })
  const c2 = new nn.Conv1d(4, 4, 5, { padding: 2, generator: g, dtype: 'float64' })
  const branch = new co.Sequential(co.Conv1d.fromOffline(c1), new nn.ReLU(), co.Conv1d.fromOffline(c2))
  const res = new co.Residual(branch)
  assert.is(res.delay, 3)
  const x = randn([2, 4, 10], { generator: g, dtype: 'float64' })
  const offline = c2.forward(c1.forward(x).relu()).add(x)
  assert.ok(maxDiff(res.forwardSteps(x, { padEnd: true })!, offline) < 1e-12)
  assert.ok(maxDiff(res.forward(x), offline) === 0)
  // Without padding at the end: the first T - delay outputs.
  assert.ok(maxDiff(res.forwardSteps(x)!, offline.narrow(2, 0, 7)) < 1e-12)
  res.reset()
  // A branch that shortens the sequence cannot be a residual.
  const bad = new co.Residual(new co.Conv1d(4, 4, 3, { generator: g, dtype: 'float64' }))
  assertThrows(() => bad.forward(x), /co\.Residual\.forward: branch output \[2,4,8\] must match the input \[2,4,10\]/)
})

test('reset: after a reset the stream restarts; state does not leak from a previous stream', () => {
  const g = new Generator(9)
  const conv = new nn.Conv1d(2, 2, 3, { padding: 1, generator: g, dtype: 'float64' })
  const c = co.Conv1d.fromOffline(conv)
  const x1 = randn([1, 2, 5], { generator: g, dtype: 'float64' }), x2 = randn([1, 2, 5], { generator: g, dtype: 'float64' })
  c.forwardSteps(x1)
  const dirty = c.forwardSteps(x2)!
  c.clean()
  const clean = c.forwardSteps(x2, { padEnd: true })!
  assert.ok(maxDiff(clean, conv.forward(x2)) < 1e-12)
  assert.ok(maxDiff(dirty, conv.forward(x2).narrow(2, 0, 5)) > 1e-3) // the previous stream was still in the partial sums
  const att = new cot.SingleOutputMHA(4, 2, { window: 3, generator: g, dtype: 'float64' })
  const f = randn([1, 4], { generator: g, dtype: 'float64' })
  const first = att.step(f)
  att.step(randn([1, 4], { generator: g, dtype: 'float64' }))
  att.reset()
  assert.ok(maxDiff(att.forwardStep(f), first!) === 0)
})

test('errors: wrong frame shapes, batch changes mid-stream, bad options', () => {
  const g = new Generator(2)
  const c = new co.Conv1d(3, 4, 3, { generator: g })
  assertThrows(() => c.forwardStep(randn([2, 5], { generator: g })), /co\.Conv1d\.forwardStep: frame must be \(B, 3\), got \[2,5\]/)
  c.forwardStep(randn([2, 3], { generator: g }))
  assertThrows(() => c.forwardStep(randn([1, 3], { generator: g })), /co\.Conv1d\.forwardStep: frame must be \[2,3\], got \[1,3\]/)
  const c3 = new co.Conv3d(2, 2, 3, { generator: g })
  assertThrows(() => c3.forwardStep(randn([1, 2, 5], { generator: g })), /co\.Conv3d\.forwardStep: frame must be \(B, 2, H, W\), got \[1,2,5\]/)
  assertThrows(() => new co.Conv1d(2, 2, 3, { padding: 3 }), /co\.Conv1d: temporal padding 3 exceeds/)
  const att = new cot.SingleOutputMHA(8, 2, { window: 4, generator: g })
  assertThrows(() => att.forwardStep(randn([1, 6], { generator: g })), /co\.SingleOutputMHA\.forwardStep: frame must be \(B, 8\)/)
  assertThrows(() => new cot.SingleOutputMHA(8, 2, { window: 0 }), /window must be an integer >= 1/)
  const layer = new cot.TransformerEncoderLayer(8, 2, { window: 4, dimFeedforward: 8, generator: g })
  assertThrows(() => layer.forward(randn([1, 4, 8], { generator: g })), /co\.TransformerEncoderLayer\.forward: clip must be \(B, 8, T\), got \[1,4,8\]/)
})

test('SingleOutputMHA: each step == last row of nn.MultiheadAttention over the window (float64 1e-12)', () => {
  const g = new Generator(4)
  const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true, generator: g, dtype: 'float64' })
  const n = 5
  const att = cot.SingleOutputMHA.fromOffline(mha, { window: n })
  const x = randn([2, 8, 12], { generator: g, dtype: 'float64' })
  const clip = att.forward(x)
  for (let t = 0; t < 12; t++) {
    const y = att.forwardStep(x.select(2, t))
    const s = Math.max(0, t - n + 1)
    const w = x.narrow(2, s, t - s + 1).transpose(1, 2) // (B, m, D)
    const ref = mha.forward(w, w, w).output.select(1, t - s) // (B, D)
    assert.ok(maxDiff(y, ref) < 1e-12, `t=${t}`)
    assert.ok(maxDiff(clip.select(2, t), ref) < 1e-12)
  }
})

test('TransformerEncoderLayer (post- and pre-norm, relu/gelu): every step == offline layer last token on its window', () => {
  const g = new Generator(6)
  for (const [normFirst, activation, dtype, tol] of [
    [false, 'relu', 'float64', 1e-12], [true, 'gelu', 'float64', 1e-12], [false, 'gelu', 'float32', 2e-6], [true, 'relu', 'float32', 2e-6],
  ] as const) {
    const off = new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true, normFirst, activation, generator: g, dtype }).eval()
    const n = 4
    const layer = cot.TransformerEncoderLayer.fromOffline(off, { window: n })
    const x = randn([2, 8, 11], { generator: g, dtype })
    const steps = layer.forwardSteps(x)!
    for (let t = n - 1; t < 11; t++) {
      const w = x.narrow(2, t - n + 1, n).transpose(1, 2) // (B, n, D): every full window
      const ref = off.forward(w).select(1, n - 1)
      const d = maxDiff(steps.select(2, t), ref)
      assert.ok(d < tol, `${normFirst} ${activation} ${dtype} t=${t}: ${d}`) // measured float32 max ~1.2e-7
    }
    assert.ok(maxDiff(layer.forward(x), steps) < tol)
  }
})

test('multiply counts: analytic formulas == multiplies run through matmul; per-step cost independent of stream length', () => {
  const g = new Generator(8)
  const D = 16, n = 8
  const mha = new nn.MultiheadAttention(D, 4, { batchFirst: true, generator: g })
  const att = cot.SingleOutputMHA.fromOffline(mha, { window: n })
  const xs = randn([30, 1, D], { generator: g })
  const perStep: number[] = []
  for (let t = 0; t < 30; t++) perStep.push(countMatmulMults(() => att.forwardStep(xs.select(0, t))))
  for (let t = n - 1; t < 30; t++) assert.is(perStep[t], cot.singleOutputMhaStepFlops(D, n)) // 4·256 + 2·8·16 = 1280
  assert.is(perStep[2], cot.singleOutputMhaStepFlops(D, 3)) // warm-up: only 3 tokens cached
  const w = randn([1, n, D], { generator: g })
  const window = countMatmulMults(() => mha.forward(w, w, w))
  assert.is(window, cot.mhaWindowFlops(D, n)) // 4·8·256 + 2·64·16 = 10240
  assert.is(window / perStep[29], n) // exactly n times fewer: (4nd² + 2n²d) / (4d² + 2nd) = n

  const layer = new cot.TransformerEncoderLayer(D, 4, { window: n, dimFeedforward: 32, generator: g })
  layer.forwardSteps(randn([1, D, n], { generator: g }))
  assert.is(countMatmulMults(() => layer.forwardStep(xs.select(0, 0))), layer.flopsPerStep())
  assert.is(layer.windowFlops() / layer.flopsPerStep(), n)

  const conv = new co.Conv3d(2, 4, 3, { padding: [1, 1, 1], generator: g })
  const frame = randn([1, 2, 5, 5], { generator: g })
  const counts = Array.from({ length: 6 }, () => countMatmulMults(() => conv.forwardStep(frame)))
  assert.equal(new Set(counts).size, 1)
  assert.is(counts[0], conv.flopsPerStep()) // k·Cout·Cin·kh·kw·H·W = 3·4·2·9·25
  assert.is(counts[0], 3 * 4 * 2 * 9 * 25)
  const nnConv = new nn.Conv3d(2, 4, 3, { padding: [0, 1, 1], generator: g })
  const L = 10
  const clip = countMatmulMults(() => nnConv.forward(randn([1, 2, L, 5, 5], { generator: g })))
  assert.is(clip, (L - 2) * conv.flopsPerStep()) // recomputing a window of L frames: L − 2 output frames
})

test('co.Linear per step == offline; state dicts load from nn modules', () => {
  const g = new Generator(12)
  const lin = new nn.Linear(3, 5, { generator: g, dtype: 'float64' })
  const cl = co.Linear.fromOffline(lin)
  const x = randn([2, 3, 4], { generator: g, dtype: 'float64' })
  assertClose(cl.forwardSteps(x)!, cl.forward(x), { atol: 1e-14 })
  assertClose(cl.forward(x), lin.forward(x.transpose(1, 2)).transpose(1, 2), { atol: 1e-14 })
})

test('SPLoRA: init in ±1e-4, only the adapter trains, fused pruned layer == unfused masked forward on kept channels', () => {
  const g = new Generator(13)
  const base = new nn.Linear(10, 6, { generator: g, dtype: 'float64' })
  const a = new SPLoRA(base, { rank: 3, generator: g })
  const init = [...Array.from(a.adapterA.data()), ...Array.from(a.adapterB.data())].map(Number)
  assert.ok(init.every((v) => Math.abs(v) <= 1e-4) && init.some((v) => v !== 0))
  assert.equal(a.parameters().filter((p) => p.requiresGrad).map((p) => p.shape), [[3, 10], [6, 3]])
  a.adapterB.detach().copy_(randn([6, 3], { generator: g, dtype: 'float64' })) // a "trained" adapter
  const x = randn([4, 10], { generator: g, dtype: 'float64' })
  // Without pruning the adapter adds x Aᵀ Bᵀ to the base output.
  assertClose(a.forward(x), base.forward(x).add(x.matmul(a.adapterA.T).matmul(a.adapterB.T)), { atol: 1e-12 })
  const keepOut = [0, 2, 5], keepIn = [1, 3, 4, 8]
  a.pruneChannels({ out: keepOut, in: keepIn })
  const small = a.fuse()
  assert.equal(small.weight.shape, [3, 4])
  const cols = (t: Tensor, ids: number[]): Tensor => t.indexSelect(1, tensor(ids, { dtype: 'int32' }))
  const full = a.forward(x) // (4, 6), zero outside keepOut
  assertClose(small.forward(cols(x, keepIn)), cols(full, keepOut), { atol: 1e-12 })
  assertClose(cols(full, [1, 3, 4]), new Array<number>(12).fill(0))
  assert.is(a.learnedParameters(), 3 * (3 + 4))
  assertThrows(() => a.pruneChannels({ out: [7] }), /SPLoRA\.pruneChannels: out must be distinct indices in \[0, 6\)/)
})

test.run()

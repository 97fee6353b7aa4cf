/**
 * @file `QConv2d` (INT8 per-output-channel conv): im2colRows against `F.unfold`, float and dynamic
 * activations against the float `F.conv2d` within the INT8 error budget over stride / padding /
 * dilation / groups, exactness on integer data, buffers in the state dict, and the TesseraErrors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, nn, randn, tensor, type Tensor } from '../../src/index.ts'
import { QConv2d } from '../../src/quant/index.ts'
import { im2colRows } from '../../src/kernels/quant-conv.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const normal = (shape: number[], seed: number): Tensor => randn(shape, { generator: new Generator(seed) })

/** max |a - b| / max |b|. */
function relErr(a: Tensor, b: Tensor): number {
  const x = a.data(), y = b.data()
  let e = 0, m = 0
  for (let i = 0; i < y.length; i++) { e = Math.max(e, Math.abs(x[i] - y[i])); m = Math.max(m, Math.abs(y[i])) }
  return e / m
}

test('im2colRows equals F.unfold transposed (stride, padding, dilation); NaN-prefilled', () => {
  const x = normal([1, 3, 7, 6], 1)
  for (const [k, s, p, d] of [[3, 1, 1, 1], [2, 2, 0, 1], [3, 2, 2, 2], [1, 1, 0, 1]]) {
    const cols = F.unfold(x, { kernelSize: k, stride: s, padding: p, dilation: d }) // (1, 3 k k, L)
    const [, K, L] = cols.shape
    const Ho = Math.floor((7 + 2 * p - d * (k - 1) - 1) / s) + 1, Wo = Math.floor((6 + 2 * p - d * (k - 1) - 1) / s) + 1
    assert.is(Ho * Wo, L)
    const rows = new Float32Array(L * K).fill(NaN)
    im2colRows(rows, x.data(), 0, 0, 3, { H: 7, W: 6, kH: k, kW: k, sH: s, sW: s, pH: p, pW: p, dH: d, dW: d, Ho, Wo })
    assertClose(Array.from(rows), cols.squeeze(0).T.contiguous(), { atol: 0, rtol: 0, msg: `k${k} s${s} p${p} d${d}` })
  }
})

test('QConv2d tracks F.conv2d within the INT8 budget: float and dynamic, stride/padding/dilation/groups, unbatched', () => {
  const configs: [number, number, number, nn.ConvModuleOptions][] = [
    [3, 8, 3, { padding: 1 }], [4, 6, 3, { stride: 2, padding: 2, dilation: 2 }], [4, 8, [3, 2] as unknown as number, { stride: [2, 1], padding: [1, 0] }],
    [6, 4, 3, { groups: 2, padding: 'same' }], [4, 4, 3, { groups: 4, padding: 1 }], [5, 7, 1, {}], [3, 5, 4, { padding: 'same', bias: false }],
  ]
  configs.forEach(([cin, cout, k, o], i) => {
    const conv = new nn.Conv2d(cin, cout, k, { ...o, generator: new Generator(10 + i) })
    const x = normal([2, cin, 9, 8], 20 + i)
    const ref = conv.forward(x)
    const qf = QConv2d.fromConv2d(conv), qd = QConv2d.fromConv2d(conv, { activations: 'dynamic' })
    const yf = qf.forward(x), yd = qd.forward(x)
    assert.equal(yf.shape, ref.shape); assert.equal(yd.shape, ref.shape)
    // weight error <= s_W / 2 per tap: about 0.5 / 127 of max|W| relative; activations add as much again
    const ef = relErr(yf, ref), ed = relErr(yd, ref)
    assert.ok(ef < 0.02 && ed < 0.05, `config ${i}: error ${ef} / ${ed}`)
    // the float path equals a conv with the dequantized weight (float32 rounding only)
    const wDeq = qf.weightCodes.to('float32').mul(qf.weightScales.reshape([cout, 1, 1, 1]))
    assertClose(yf, F.conv2d(x, wDeq, conv.bias, conv.options), { atol: 1e-4, rtol: 1e-4, msg: `config ${i}` })
    assertClose(qd.forward(x.select(0, 1)), yd.select(0, 1), { atol: 1e-6, rtol: 1e-6 })
  })
})

test('QConv2d dynamic is exact on integer data with max|x| = max|W| = 127 (scales 1)', () => {
  const g = new Generator(3)
  const wv = Array.from({ length: 4 * 18 }, (_, i) => (i % 18 === 0 ? 127 : g.nextInt(-20, 21))) // every output channel reaches 127
  const xv = Array.from({ length: 50 }, (_, i) => (i === 0 ? -127 : g.nextInt(-30, 31)))
  const w = tensor(wv).reshape([4, 2, 3, 3]), x = tensor(xv).reshape([1, 2, 5, 5])
  const q = new QConv2d(w, null, { padding: 1, stride: 2 }, { activations: 'dynamic' })
  assertClose(q.forward(x), F.conv2d(x, w, null, { padding: 1, stride: 2 }), { atol: 0, rtol: 0 })
})

test('QConv2d state dict holds int8 codes and scales as buffers; loads back', () => {
  const conv = new nn.Conv2d(3, 4, 3, { generator: new Generator(1) })
  const q = QConv2d.fromConv2d(conv)
  const sd = q.stateDict()
  assert.equal(Object.keys(sd), ['weightCodes', 'weightScales', 'bias'])
  assert.is(sd.weightCodes.dtype, 'int8'); assert.equal(sd.weightCodes.shape, [4, 3, 3, 3])
  assert.is(sd.weightScales.dtype, 'float32'); assert.equal(sd.weightScales.shape, [4])
  assert.equal(q.parameters().length, 0)
  const q2 = QConv2d.fromConv2d(new nn.Conv2d(3, 4, 3, { generator: new Generator(2) }))
  q2.loadStateDict(sd)
  const x = normal([1, 3, 6, 6], 4)
  assertClose(q2.forward(x), q.forward(x), { atol: 0, rtol: 0 })
  assert.equal(Object.keys(QConv2d.fromConv2d(new nn.Conv2d(3, 4, 3, { bias: false })).stateDict()), ['weightCodes', 'weightScales'])
})

test('QConv2d errors', () => {
  const q = QConv2d.fromConv2d(new nn.Conv2d(3, 4, 3))
  assertThrows(() => q.forward(normal([1, 2, 5, 5], 1)), /QConv2d: input has 2 channels/)
  assertThrows(() => q.forward(normal([5, 5], 1)), /QConv2d: expected input/)
  assertThrows(() => q.forward(normal([1, 3, 2, 5], 1)), /does not fit/)
  assertThrows(() => QConv2d.fromConv2d(new nn.Conv2d(3, 4, 3), { activations: 'int4' as 'float' }), /activations must be/)
  assertThrows(() => new QConv2d(normal([4, 3, 3], 1), null), /weight must be 4-D/)
  assertThrows(() => new QConv2d(normal([4, 3, 3, 3], 1), null, { padding: 'same', stride: 2 }), /'same' is not supported for strided/)
})

test.run()

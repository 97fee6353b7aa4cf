import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, nn, randn } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

test('Conv2d holds (Cout, Cin/groups, kH, kW) weights with PyTorch init bounds and calls F.conv2d', () => {
  const conv = new nn.Conv2d(4, 6, 3, { padding: 1, groups: 2, generator: new Generator(1) })
  assert.equal(conv.weight.shape, [6, 2, 3, 3])
  assert.equal(conv.bias!.shape, [6])
  const bound = 1 / Math.sqrt(2 * 9)
  assert.ok(Array.from(conv.weight.data()).every((v) => Math.abs(v) <= bound))
  const x = randn([2, 4, 5, 5], { generator: new Generator(2) })
  const y = conv.forward(x)
  assert.equal(y.shape, [2, 6, 5, 5])
  assertClose(y, F.conv2d(x, conv.weight, conv.bias, { padding: 1, groups: 2 }), { atol: 0, rtol: 0 })
  assert.equal([...conv.namedParameters()].map(([n]) => n), ['weight', 'bias'])
})

test('Conv1d, Conv3d and transposed convs have PyTorch weight layouts', () => {
  assert.equal(new nn.Conv1d(3, 5, 4).weight.shape, [5, 3, 4])
  assert.equal(new nn.Conv3d(2, 4, [1, 2, 3], { bias: false }).weight.shape, [4, 2, 1, 2, 3])
  assert.is(new nn.Conv3d(2, 4, 1, { bias: false }).bias, null)
  const up = new nn.ConvTranspose2d(8, 4, 2, { stride: 2, generator: new Generator(3) })
  assert.equal(up.weight.shape, [8, 4, 2, 2])
  assert.equal(up.forward(randn([1, 8, 3, 3])).shape, [1, 4, 6, 6])
  assert.equal(new nn.ConvTranspose1d(4, 6, 3, { groups: 2 }).weight.shape, [4, 3, 3])
  assertThrows(() => new nn.Conv2d(4, 6, 3, { groups: 4 }), /Conv2d: groups 4 must divide in_channels 4 and out_channels 6/)
  assertThrows(() => new nn.Conv2d(4, 6, [3, 0]), /Conv2d: kernelSize must be a positive integer or 2 of them/)
})

test('pooling modules forward their options', () => {
  const x = randn([1, 2, 6, 6], { generator: new Generator(4) })
  assertClose(new nn.MaxPool2d({ kernelSize: 2 }).forward(x), F.maxPool2d(x, { kernelSize: 2 }), { atol: 0, rtol: 0 })
  assertClose(new nn.AvgPool2d({ kernelSize: 3, stride: 2, padding: 1 }).forward(x), F.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }), { atol: 0, rtol: 0 })
  assert.equal(new nn.AdaptiveAvgPool2d(1).forward(x).shape, [1, 2, 1, 1])
  assert.equal(new nn.AdaptiveMaxPool1d(3).forward(randn([2, 3, 7])).shape, [2, 3, 3])
  assert.equal(new nn.MaxPool1d({ kernelSize: 2 }).forward(randn([2, 3, 8])).shape, [2, 3, 4])
  assert.equal(new nn.AvgPool1d({ kernelSize: 2 }).forward(randn([2, 3, 8])).shape, [2, 3, 4])
  assert.equal(new nn.AdaptiveAvgPool1d(2).forward(randn([2, 3, 8])).shape, [2, 3, 2])
  assert.equal(new nn.AdaptiveMaxPool2d([2, 3]).forward(x).shape, [1, 2, 2, 3])
})

test('a small CNN trains a step end to end', () => {
  const g = new Generator(5)
  const net = new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.MaxPool2d({ kernelSize: 2 }),
    new nn.Flatten(), new nn.Linear(4 * 4 * 4, 3, { generator: g }),
  )
  const x = randn([5, 1, 8, 8], { generator: g })
  const loss = F.crossEntropy(net.forward(x), randn([5]).abs().mul(1).int().clamp(0, 2))
  loss.backward()
  assert.ok(net.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() > 0))
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, ones, tensor, zeros, type Tensor } from '../../src/index.ts'
import { assertThrows } from '../helpers.ts'

class Block extends nn.Module {
  fc = new nn.Linear(4, 3, { generator: new Generator(1) })
  norm: nn.Parameter
  constructor() {
    super()
    this.norm = new nn.Parameter(ones([3]))
    this.registerBuffer('runningMean', zeros([3]))
  }
  forward(x: Tensor): Tensor { return this.fc.forward(x).mul(this.norm) }
}

class Net extends nn.Module {
  layers = new nn.ModuleList([new Block(), new Block()])
  head = new nn.Sequential(new nn.Linear(3, 2, { generator: new Generator(2) }))
  forward(x: Tensor): Tensor {
    let h = x
    for (const b of this.layers) h = (b as Block).forward(h.narrow(-1, 0, 3).contiguous().reshape([-1, 3]).matmul(ones([3, 4])))
    return this.head.forward(h)
  }
}

test('parameters, buffers and children use PyTorch dotted names in declaration order', () => {
  const net = new Net()
  // PyTorch's order: modules in pre-order, each module's own parameters before its children's.
  assert.equal([...net.namedParameters()].map(([n]) => n), [
    'layers.0.norm', 'layers.0.fc.weight', 'layers.0.fc.bias', 'layers.1.norm', 'layers.1.fc.weight', 'layers.1.fc.bias', 'head.0.weight', 'head.0.bias',
  ])
  assert.equal([...net.namedBuffers()].map(([n]) => n), ['layers.0.runningMean', 'layers.1.runningMean'])
  assert.equal([...net.namedModules()].map(([n]) => n), ['', 'layers', 'layers.0', 'layers.0.fc', 'layers.1', 'layers.1.fc', 'head', 'head.0'])
  assert.is(net.numParameters(), 2 * (12 + 3 + 3) + 6 + 2)
})

test('state dict round trip copies values in place; strict mode reports keys', () => {
  const a = new Net(), b = new Net()
  ;(a.layers.at(1) as Block).norm.detach().fill_(2)
  const before = b.parameters()
  b.loadStateDict(a.stateDict())
  assert.ok(b.parameters().every((p, i) => p === before[i]), 'same Parameter objects afterwards')
  for (const [name, t] of Object.entries(a.stateDict())) assert.equal(b.stateDict()[name].toArray(), t.toArray(), name)
  const sd = a.stateDict()
  delete sd['head.0.bias']
  sd['extra'] = zeros([1])
  assertThrows(() => b.loadStateDict(sd), /loadStateDict: missing keys \[head\.0\.bias\], unexpected keys \[extra\]/)
  assert.equal(b.loadStateDict(sd, { strict: false }), { missingKeys: ['head.0.bias'], unexpectedKeys: ['extra'] })
  const bad = a.stateDict()
  bad['head.0.weight'] = zeros([5, 5])
  assertThrows(() => b.loadStateDict(bad), /loadStateDict: head\.0\.weight has shape \[5,5\] in the state dict but \[2,3\] in the module/)
})

test('train/eval, zeroGrad, apply, shared parameters listed once', () => {
  const net = new Net()
  net.eval()
  assert.ok([...net.modules()].every((m) => !m.training))
  net.train()
  assert.ok([...net.modules()].every((m) => m.training))
  const out = net.forward(tensor([[1, 2, 3, 4]]))
  out.sum().backward()
  assert.ok(net.parameters().every((p) => p.grad !== null))
  net.zeroGrad()
  assert.ok(net.parameters().every((p) => p.grad === null))
  const visited: string[] = []
  net.apply((m) => visited.push(m.constructor.name))
  assert.is(visited[visited.length - 1], 'Net')
  const shared = new nn.Linear(2, 2)
  const seq = new nn.Sequential(shared, shared)
  assert.is(seq.parameters().length, 2)
})

test('forward hooks see inputs and outputs and may replace the output', () => {
  const lin = new nn.Linear(2, 2, { generator: new Generator(0) })
  const seen: number[][] = []
  const h = lin.registerForwardHook((_m, inputs, output) => { seen.push((inputs[0] as Tensor).shape); return (output as Tensor).mul(0) })
  assert.equal(lin.forward(ones([5, 2])).toArray(), Array(5).fill([0, 0]))
  assert.equal(seen, [[5, 2]])
  h.remove()
  assert.not.equal(lin.forward(ones([1, 2])).toArray(), [[0, 0]])
})

test('Linear matches x W^T + b and checks its input', () => {
  const lin = new nn.Linear(3, 2, { generator: new Generator(4) })
  const x = tensor([[1, 2, 3]])
  const expected = x.matmul(lin.weight.T).add(lin.bias!)
  assert.equal(lin.forward(x).toArray(), expected.toArray())
  const bound = 1 / Math.sqrt(3)
  assert.ok(Array.from(lin.weight.data()).every((v) => Math.abs(v) <= bound))
  assertThrows(() => lin.forward(ones([2, 4])), /Linear: input has 4 features in its last dim \(shape \[2,4\]\), expected 3/)
})

test.run()

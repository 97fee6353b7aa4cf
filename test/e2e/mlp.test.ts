import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, randn, tensor, zeros, type Tensor } from '../../src/index.ts'
import { trainDigits } from '../../examples/digits-mlp.ts'

/** Two interleaved spirals, 100 points each (a problem a linear model cannot solve). */
function spirals(): { x: Tensor; y: Tensor } {
  const pts: number[][] = [], labels: number[] = []
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < 100; i++) {
      const r = 0.1 + i / 100, t = 1.25 * Math.PI * i / 100 + c * Math.PI
      pts.push([r * Math.sin(t), r * Math.cos(t)])
      labels.push(c)
    }
  }
  return { x: tensor(pts), y: tensor(labels, { dtype: 'int32' }) }
}

test('a 2-layer MLP trained with hand-written SGD separates two spirals', () => {
  const { x, y } = spirals()
  const g = new Generator(0)
  const W1 = randn([2, 64], { generator: g }).mul(2.0).requiresGrad_()
  const b1 = zeros([64]).requiresGrad_()
  const W2 = randn([64, 2], { generator: g }).mul(0.125).requiresGrad_()
  const b2 = zeros([2]).requiresGrad_()
  const params = [W1, b1, W2, b2]
  const losses: number[] = []
  for (let step = 0; step < 500; step++) {
    const logits = x.matmul(W1).add(b1).tanh().matmul(W2).add(b2)
    const loss = logits.logSoftmax(1).gather(1, y.unsqueeze(1)).mean().neg()
    for (const p of params) p.grad = null
    loss.backward()
    noGrad(() => { for (const p of params) p.sub_(p.grad!, 0.5) })
    losses.push(loss.item())
  }
  const accuracy = noGrad(() => x.matmul(W1).add(b1).tanh().matmul(W2).add(b2).argmax(1).eq(y).float().mean().item())
  assert.ok(losses[0] > 0.6, `starts near log 2: ${losses[0]}`)
  assert.ok(losses[499] < 0.1, `final loss ${losses[499]}`)
  assert.ok(accuracy >= 0.99, `accuracy ${accuracy}`)
})

test('the same seed reproduces the same training run bit for bit', () => {
  const a = trainDigits({ epochs: 1, seed: 3 })
  const b = trainDigits({ epochs: 1, seed: 3 })
  assert.equal(a.trainLoss, b.trainLoss)
  assert.is(a.testAccuracy, b.testAccuracy)
})

test('the digits example learns in two epochs (quick mode of the main job)', () => {
  const r = trainDigits({ epochs: 2, seed: 0 })
  assert.ok(r.trainLoss[1] < r.trainLoss[0], `loss falls: ${r.trainLoss}`)
  assert.ok(r.testAccuracy > 0.85, `test accuracy ${r.testAccuracy}`)
})

test.run()

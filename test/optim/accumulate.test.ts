/** @file Gradient accumulation: N micro-batches and one step equal one step on the whole batch. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, nn, optim, randn, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const g = new Generator(7)
const X = randn([8, 3], { generator: g, dtype: 'float64' }) // (B, D)
const Y = randn([8, 1], { generator: g, dtype: 'float64' }) // (B, 1)

const model = (): nn.Linear => new nn.Linear(3, 1, { generator: new Generator(1), dtype: 'float64' })
const mse = (m: nn.Linear, x: Tensor, y: Tensor): Tensor => m.forward(x).sub(y).square().mean()

test('accumulate(opt, 4) over 4 micro-batches of 2 equals one Adam step on the batch of 8, for 3 steps', () => {
  const big = model(), small = model()
  const bigOpt = new optim.Adam(big.parameters(), { lr: 0.1 })
  const acc = optim.accumulate(new optim.Adam(small.parameters(), { lr: 0.1 }), 4)
  for (let step = 0; step < 3; step++) {
    bigOpt.zeroGrad()
    mse(big, X, Y).backward()
    bigOpt.step()
    const stepped = [0, 2, 4, 6].map((i) => acc.step(mse(small, X.narrow(0, i, 2), Y.narrow(0, i, 2))))
    assert.equal(stepped, [false, false, false, true])
    assertClose(small.weight, big.weight, { atol: 1e-12, rtol: 1e-12 })
    assertClose(small.bias!, big.bias!, { atol: 1e-12, rtol: 1e-12 })
  }
  assert.is(small.weight.grad, null, 'grads are cleared after each step')
})

test('flush() steps on a partial window, averaging over the micro-batches it has', () => {
  const big = model(), small = model()
  const bigOpt = new optim.SGD(big.parameters(), { lr: 0.5 })
  mse(big, X.narrow(0, 0, 4), Y.narrow(0, 0, 4)).backward()
  bigOpt.step()
  const acc = optim.accumulate(new optim.SGD(small.parameters(), { lr: 0.5 }), 4)
  acc.step(mse(small, X.narrow(0, 0, 2), Y.narrow(0, 0, 2)))
  // the caller may run backward itself and just count the micro-batch
  mse(small, X.narrow(0, 2, 2), Y.narrow(0, 2, 2)).backward()
  assert.is(acc.step(), false)
  assert.is(acc.flush(), true)
  assert.is(acc.flush(), false)
  assertClose(small.weight, big.weight, { atol: 1e-12, rtol: 1e-12 })
  assertThrows(() => optim.accumulate(acc.optimizer, 0), /everyN must be a positive integer/)
})

test.run()

/** @file The TesseraErrors optimizers throw for bad hyperparameters and bad parameter lists. */
import { test } from 'uvu'
import { nn, optim, tensor, zeros, Generator } from '../../src/index.ts'
import { assertThrows } from '../helpers.ts'

const p = () => zeros([2]).requiresGrad_()

test('bad hyperparameters', () => {
  assertThrows(() => new optim.SGD([p()], { lr: -0.1 }), /SGD: invalid lr -0.1; it must be a finite number >= 0/)
  assertThrows(() => new optim.Adam([p()], { lr: NaN }), /Adam: invalid lr NaN/)
  assertThrows(() => new optim.Adam([p()], { betas: [0.9, 1] }), /Adam: invalid betas \[0.9,1\]; each must be in \[0, 1\)/)
  assertThrows(() => new optim.AdamW([p()], { betas: [-0.1, 0.9] }), /AdamW: invalid betas/)
  assertThrows(() => new optim.AdamW([p()], { eps: -1 }), /invalid eps -1/)
  assertThrows(() => new optim.SGD([p()], { lr: 0.1, momentum: -0.5 }), /invalid momentum -0.5/)
  assertThrows(() => new optim.SGD([p()], { lr: 0.1, weightDecay: -1 }), /invalid weightDecay -1/)
  assertThrows(() => new optim.SGD([p()], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum and zero dampening/)
  assertThrows(() => new optim.RMSprop([p()], { alpha: 1.5 }), /invalid alpha 1.5/)
  assertThrows(() => new optim.Adagrad([p()], { lrDecay: -1 }), /invalid lrDecay -1/)
  assertThrows(() => new optim.LARS([p()], { lr: 1, trustCoef: -1 }), /invalid trustCoef -1/)
  assertThrows(() => new optim.LAMB([p()], { trustClip: [2, 1] }), /trustClip must be \[lo, hi\]/)
  assertThrows(() => new optim.SGD([{ params: [p()], lr: -1 }], { lr: 0.1 }), /invalid lr -1/)
})

test('bad parameter lists', () => {
  const a = p()
  assertThrows(() => new optim.SGD([a, a], { lr: 0.1 }), /appear in more than one parameter group/)
  assertThrows(() => new optim.SGD([{ params: [a] }, { params: [a] }], { lr: 0.1 }), /appear in more than one parameter group/)
  const opt = new optim.SGD([a], { lr: 0.1 })
  assertThrows(() => opt.addParamGroup({ params: [a] }), /appear in more than one parameter group/)
  assertThrows(() => new optim.SGD([tensor([1, 2], { dtype: 'int32' })], { lr: 0.1 }), /can only optimize floating point tensors, but parameter 0 is int32/)
  assertThrows(() => new optim.SGD([['w', tensor([true])]], { lr: 0.1 }), /parameter w is bool/)
  assertThrows(() => new optim.SGD([], { lr: 0.1 }), /empty parameter list/)
  assertThrows(() => new optim.SGD(a as never, { lr: 0.1 }), /params must be an iterable/)
  assertThrows(() => new optim.SGD([a.mul(2)], { lr: 0.1 }), /can't optimize a non-leaf tensor/)
  assertThrows(() => new optim.SGD([{ params: [p()] }, p()] as never, { lr: 0.1 }), /mixes parameter groups with bare parameters/)
  assertThrows(() => new optim.SGD([3] as never, { lr: 0.1 }), /expected a Tensor or a \[name, Tensor\] pair in params, got number/)
})

test('a gradient of the wrong shape', () => {
  const a = p()
  const opt = new optim.Adam([a])
  a.grad = zeros([3])
  assertThrows(() => opt.step(), /Adam.step: gradient of shape \[3\] for a parameter of shape \[2\]/)
})

test('addParamGroup adds a group with its own options', () => {
  const m = new nn.Linear(2, 2, { generator: new Generator(0) })
  const opt = new optim.SGD([m.weight], { lr: 0.1 })
  opt.addParamGroup({ params: [['bias', m.bias!]], lr: 0.01 })
  if (opt.paramGroups[1].lr !== 0.01 || opt.paramGroups[1].paramNames[0] !== 'bias') throw new Error('group not added')
})

test.run()

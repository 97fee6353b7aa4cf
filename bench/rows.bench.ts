/** @file Row-wise and elementwise kernels: softmax, GELU, and the autograd tape with tiny ops. */
import { Generator, randn, tensor } from '../src/index.ts'
import type { Workload } from './harness.ts'

export function rowWorkloads({ quick }: { quick: boolean }): Workload[] {
  const g = new Generator(3)
  const rows = quick ? 256 : 1024
  const s = randn([rows, 1024], { generator: g })
  const n = quick ? 1 << 18 : 1 << 20
  const v = randn([n], { generator: g })
  return [
    { key: 'softmax', title: `softmax over [${rows},1024]`, bytes: 8 * rows * 1024, impls: [{ label: 'tessera', fn: () => s.softmax(1) }] },
    { key: 'gelu', title: `GELU (erf) on ${n} floats`, bytes: 8 * n, impls: [
      { label: 'tessera', fn: () => v.gelu() },
      { label: 'tessera tanh approx', fn: () => v.gelu('tanh') },
    ] },
  ]
}

/** 10,000 elementwise ops on 4-element tensors, recorded on the tape, then one backward pass. */
export function tapeWorkloads({ quick }: { quick: boolean }): Workload[] {
  const steps = quick ? 2000 : 10000
  const w = tensor([0.5, -0.25, 1, 2], { requiresGrad: true })
  return [{
    key: 'tape', title: `${steps} tiny ops with a gradient tape (+ backward)`, impls: [{
      label: 'tessera',
      fn: () => {
        let y = w
        for (let i = 0; i < steps / 2; i++) y = y.mul(0.999).add(w)
        w.grad = null
        y.sum().backward()
      },
    }],
  }]
}

/**
 * @file Papers 14 and 16 on a batch of 64 digits-shaped inputs (random, seeded), float32:
 *   mip-step-64      one MIP hypernetwork training step: HyperNet (hidden [16, 32]) predicts a
 *                    64-16-10 MLP, functionalCall on (64, 64), cross-entropy, backward, Adam
 *   cascade-fwd-64   a window cascade of two 64-32-2 MLPs, window passing ~20% (real per-sample routing)
 */
import { Generator, nn, optim, randn, tensor, type Tensor } from '../src/index.ts'
import { HyperNet, functionalCall } from '../src/nn/arch/14-mip.ts'
import { Cascade, quantile } from '../src/nn/arch/16-window-cascade.ts'
import { uncertaintyScore } from '../src/nn/arch/16-risk-coverage.ts'
import type { Workload } from './harness.ts'

export function hypernetCascadeWorkloads(): Workload[] {
  const g = new Generator(14)
  const x = randn([64, 64], { generator: g }) // (B, 64)
  const y = tensor(Array.from({ length: 64 }, (_, i) => i % 10), { dtype: 'int32' })
  const primary = new nn.Sequential(new nn.Linear(64, 16, { generator: g }), new nn.ReLU(), new nn.Linear(16, 10, { generator: g }))
  const hyper = HyperNet.fromModule(primary, { inputShapes: { gamma: [1] }, hidden: [16, 32], generator: g })
  const opt = new optim.Adam(hyper.parameters(), { lr: 1e-3 })
  const mipStep = (): void => {
    hyper.zeroGrad()
    const theta = hyper.forward({ gamma: tensor([0.3]) })
    nn.losses.crossEntropy(functionalCall<Tensor>(primary, theta, x), y).backward()
    opt.step()
  }
  const member = (seed: number): nn.Sequential => {
    const gm = new Generator(seed)
    return new nn.Sequential(new nn.Linear(64, 32, { generator: gm }), new nn.ReLU(), new nn.Linear(32, 2, { generator: gm }))
  }
  const A = member(1), B = member(2)
  const s1 = uncertaintyScore(A.forward<Tensor>(x).softmax(-1), 'msp')
  const cascade = new Cascade({ members: [A, B], window: [quantile(s1, 0.4), quantile(s1, 0.6)] })
  return [
    { key: 'mip-step-64', title: 'MIP hypernet step: HyperNet[16,32] -> 64-16-10 MLP, batch 64', impls: [{ label: 'tessera', fn: mipStep }] },
    { key: 'cascade-fwd-64', title: 'window cascade 2x 64-32-2 MLP, ~20% passed, batch 64', impls: [{ label: 'tessera', fn: () => cascade.forward(x) }] },
  ]
}

/**
 * @file SimpleNet (sheet 06): eval-mode forward of the demo's small SimpleNet (the cifar310k layer list
 * at width 0.5 without its last pool, 78,810 parameters, 3.48M MACs per 16x16 image) on a batch of 64
 * seeded 16x16 one-channel images, the default kernels against the wasm backend (`wasmImpl`).
 */
import { Generator, noGrad, randn } from '../src/index.ts'
import { SimpleNet } from '../src/nn/arch/06-simplenet.ts'
import { DIGITS_CFG } from '../examples/simplenet-digits.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function simpleNetWorkloads(): Workload[] {
  const g = new Generator(6)
  const net = new SimpleNet({ cfg: DIGITS_CFG, scale: 0.5, inChans: 1, numClasses: 10, generator: g }).eval()
  const x = randn([64, 1, 16, 16], { generator: g }) // (64, 1, 16, 16)
  const fwd = () => noGrad(() => net.forward(x))
  return [
    { key: 'simplenet-digits-fwd', title: 'SimpleNet cifar310k x0.5 forward, batch 64 of 16x16 (eval)', flops: 2 * 64 * 3_483_136, impls: [{ label: 'tessera', fn: fwd }, wasmImpl(fwd)] },
  ]
}

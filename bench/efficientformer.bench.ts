/**
 * @file EfficientFormer (sheet 30): eval-mode forward of the demo's tiny EfficientFormer (dims
 * [16, 32, 48, 64], layers [1, 1, 2, 2], one Meta3D; 186,210 parameters, 2.98M MACs per 64x64 image) on
 * a batch of 64 seeded 64x64 one-channel images, and one Meta3D block alone on (64, 4, 64) tokens, the
 * default kernels against the wasm backend (`wasmImpl`).
 */
import { Generator, noGrad, randn } from '../src/index.ts'
import { EfficientFormer, Meta3D } from '../src/nn/arch/30-efficientformer.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function efficientFormerWorkloads(): Workload[] {
  const g = new Generator(30)
  const net = new EfficientFormer({
    layers: [1, 1, 2, 2], embedDims: [16, 32, 48, 64], vitNum: 1, resolution: 2, inChans: 1, numClasses: 10, distillation: false, numHeads: 2, keyDim: 16, generator: g,
  }).eval()
  const x = randn([64, 1, 64, 64], { generator: g }) // (64, 1, 64, 64)
  const block = new Meta3D(64, 2, { numHeads: 2, keyDim: 16, generator: g }).eval()
  const t = randn([64, 4, 64], { generator: g }) // (64, 4, 64)
  const fwd = () => noGrad(() => net.forward(x))
  const m3 = () => noGrad(() => block.forward(t))
  return [
    { key: 'efficientformer-tiny-fwd', title: 'EfficientFormer tiny forward, batch 64 of 64x64 (eval)', flops: 2 * 64 * 2_980_992, impls: [{ label: 'tessera', fn: fwd }, wasmImpl(fwd)] },
    { key: 'efficientformer-meta3d', title: 'Meta3D dim 64, 2 heads, batch 64 of 2x2 tokens (eval)', impls: [{ label: 'tessera', fn: m3 }, wasmImpl(m3)] },
  ]
}

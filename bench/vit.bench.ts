/**
 * @file ViT (src/nn/vit.ts; sheets 04 SN-Net and 52 Model Assembling): eval-mode forward of the small
 * digits ViT (width 32, depth 4, 2 heads, patch 4 on 8x8 → 4 tokens + class token) on a batch of 64
 * seeded 8x8 images, and the same with patch 2 (16 tokens + class token), the default kernels
 * against the wasm backend (`wasmImpl`). MACs per call are counted once with profile.countMacs.
 */
import { Generator, noGrad, profile, randn } from '../src/index.ts'
import { ViT } from '../src/nn/vit.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function vitWorkloads(): Workload[] {
  const g = new Generator(4)
  const x = randn([64, 1, 8, 8], { generator: g }) // (64, 1, 8, 8)
  return ([4, 2] as const).map((P) => {
    const net = new ViT({ imgSize: 8, patchSize: P, inChans: 1, numClasses: 10, embedDim: 32, depth: 4, numHeads: 2, generator: g }).eval()
    const fwd = () => noGrad(() => net.forward(x))
    const macs = profile.countMacs(fwd).macs
    return {
      key: `vit-d32-p${P}-fwd`, title: `ViT D=32 depth 4 patch ${P}, forward, batch 64 of 8x8 (eval)`, flops: 2 * macs,
      impls: [{ label: 'tessera', fn: fwd }, wasmImpl(fwd)],
    }
  })
}

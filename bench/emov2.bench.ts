/**
 * @file EMOv2 (sheet 02): eval-mode forward of the tiny8x8 preset (29,686 parameters, 507,360 MACs per
 * image) on a batch of 64 seeded 8x8 digits-shaped images, and the hybrid window attention alone on the
 * 4x4 stage-2 map, the default kernels against the wasm backend (`wasmImpl`).
 */
import { Generator, noGrad, randn } from '../src/index.ts'
import { EMOv2 } from '../src/nn/arch/02-emov2.ts'
import { WindowMHSA } from '../src/nn/window-attention.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function emov2Workloads(): Workload[] {
  const g = new Generator(2)
  const net = EMOv2.preset('tiny8x8', { generator: g }).eval()
  const x = randn([64, 1, 8, 8], { generator: g }) // (64, 1, 8, 8)
  const attn = new WindowMHSA({ dim: 48, dimV: 96, dimHead: 12, window: 2, mode: 'hybrid', vAct: 'gelu', generator: g })
  const h = randn([64, 48, 4, 4], { generator: g }) // (64, 48, 4, 4)
  const fwd = () => noGrad(() => net.forward(x))
  const att = () => noGrad(() => attn.forward(h))
  return [
    { key: 'emov2-tiny-fwd', title: 'EMOv2 tiny8x8 forward, batch 64 of 8x8 (eval)', flops: 2 * 64 * 507_360, impls: [{ label: 'tessera', fn: fwd }, wasmImpl(fwd)] },
    { key: 'emov2-hybrid-attn', title: 'WindowMHSA hybrid 48->96, window 2, batch 64 of 4x4', impls: [{ label: 'tessera', fn: att }, wasmImpl(att)] },
  ]
}

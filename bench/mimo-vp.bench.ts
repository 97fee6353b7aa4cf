/**
 * @file MIMO-VP (sheet 39): forward of the demo's `digits` preset (d 16, 2 heads, 1 encoder + 2 decoder
 * layers, p 2; 92,864 parameters) predicting 5 frames from 5 on a batch of 64 seeded 16x16
 * moving-digit clips, the default kernels against the wasm backend (`wasmImpl`).
 */
import { Generator, noGrad, profile, rand } from '../src/index.ts'
import { MIMOVP, MIMO_VP_PRESETS, patchReshape } from '../src/nn/arch/39-mimo-vp.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function mimoVPWorkloads(): Workload[] {
  const g = new Generator(39)
  const net = new MIMOVP({ ...MIMO_VP_PRESETS.digits, generator: g }).eval()
  const src = patchReshape(rand([64, 5, 1, 16, 16], { generator: g }), 2) // (64, 5, 4, 8, 8)
  const fwd = () => noGrad(() => net.forward(src))
  const macs = profile.countMacs(fwd).macs
  return [
    { key: 'mimo-vp-digits-fwd', title: 'MIMO-VP digits preset forward, batch 64 of 5 -> 5 frames 16x16 (eval)', flops: 2 * macs, impls: [{ label: 'tessera', fn: fwd }, wasmImpl(fwd)] },
  ]
}

/**
 * @file Papers 35 (TinyNet / EfficientNet) and 47 (EfficientNet on imbalanced data): forward pass of
 * the small EfficientNets on a batch of 64 digits in eval mode — the demo's 4-stage micro net on
 * (64, 1, 8, 8), and the full B0 block table at width 0.25 / depth 0.34 (one block per stage) on
 * (64, 1, 16, 16). Throughput counts 2 x the MACs of the convs and linears.
 */
import { Generator, noGrad, profile, randn } from '../src/index.ts'
import { EfficientNet } from '../src/nn/arch/35-tinynet.ts'
import { microEfficientNet } from '../examples/efficientnet-imbalanced-digits.ts'
import type { Workload } from './harness.ts'

export function efficientNetWorkloads(): Workload[] {
  const g = new Generator(7)
  const micro = microEfficientNet(10, 1).eval()
  const b0Small = new EfficientNet({ width: 0.25, depth: 0.34, depthTrunc: 'round', stemStride: 1, headSize: 64, inChannels: 1, numClasses: 10, generator: g }).eval()
  const x8 = randn([64, 1, 8, 8], { generator: g }) // (64, 1, 8, 8)
  const x16 = randn([64, 1, 16, 16], { generator: g }) // (64, 1, 16, 16)
  const flops = (f: () => unknown): number => 2 * profile.countMacs(() => noGrad(f)).macs
  const runMicro = (): unknown => noGrad(() => micro.forward(x8))
  const runB0 = (): unknown => noGrad(() => b0Small.forward(x16))
  return [
    { key: 'efficientnet-micro-fwd-64', title: 'micro EfficientNet (digits 8x8, 4 stages) forward, batch 64', flops: flops(runMicro), impls: [{ label: 'tessera', fn: runMicro }] },
    { key: 'efficientnet-b0-w025-fwd-64', title: 'EfficientNet B0 table, w 0.25, d 0.34 (digits 16x16) forward, batch 64', flops: flops(runB0), impls: [{ label: 'tessera', fn: runB0 }] },
  ]
}

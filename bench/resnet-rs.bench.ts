/**
 * @file Papers 03 (ResNet-RS) and 65 (EvoNorm): forward pass of the small digits networks of the demos
 * on a batch of 64 images — ResNet-RS small preset on (64, 1, 16, 16) in eval mode, and the
 * pre-activation digits ResNet with BN-ReLU / EvoNorm-B0 / EvoNorm-S0 on (64, 1, 8, 8) in training mode
 * (B0 and BN use batch statistics there). Throughput counts 2 x the MACs of the convs and linears.
 */
import { Generator, noGrad, profile, randn } from '../src/index.ts'
import { ResNetRS } from '../src/nn/arch/03-resnet-rs.ts'
import { DigitsPreActResNet, type NormAct } from '../examples/evonorm-digits.ts'
import type { Workload } from './harness.ts'

export function resnetRSWorkloads(): Workload[] {
  const g = new Generator(3)
  const rs = new ResNetRS({
    layers: [1, 1, 1], widths: [8, 16, 32], stemWidths: [8, 8, 16], stemStrides: [2, 1], inChannels: 1, numClasses: 10, generator: g,
  }).eval()
  const x16 = randn([64, 1, 16, 16], { generator: g }) // (64, 1, 16, 16)
  const x8 = randn([64, 1, 8, 8], { generator: g }) // (64, 1, 8, 8)
  const flops = (f: () => unknown): number => 2 * profile.countMacs(() => noGrad(f)).macs
  const rsRun = (): unknown => noGrad(() => rs.forward(x16))
  const out: Workload[] = [{ key: 'resnet-rs-small-fwd-64', title: 'ResNet-RS small (digits 16x16) forward, batch 64', flops: flops(rsRun), impls: [{ label: 'tessera', fn: rsRun }] }]
  const kinds: NormAct[] = ['bn-relu', 'evonorm-b0', 'evonorm-s0']
  const nets = kinds.map((k) => new DigitsPreActResNet(k, new Generator(1)))
  out.push({
    key: 'evonorm-preact-fwd-64',
    title: 'pre-act ResNet (digits 8x8) forward, batch 64: BN-ReLU vs EvoNorm-B0 vs EvoNorm-S0',
    flops: flops(() => nets[0].forward(x8)),
    impls: nets.map((m, i) => ({ label: `tessera ${kinds[i]}`, fn: () => noGrad(() => m.forward(x8)) })),
  })
  return out
}

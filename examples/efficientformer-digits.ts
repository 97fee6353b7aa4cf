/**
 * @file Sheet 30's small demo of EfficientFormer (Li et al. 2022, "EfficientFormer: Vision
 * Transformers at MobileNet Speed", https://arxiv.org/abs/2206.01191).
 *
 * Digits upsampled to 64x64 (stem /4 then three stride-2 embeddings: a 2x2 final map, resolution 2).
 * Two arms of about the same parameter count, same optimizer (Adam 2e-3, cosine), batches, steps and
 * ±1-source-pixel shift augmentation:
 *   EfficientFormer  dims [16, 32, 48, 64], layers [1, 1, 2, 2], one Meta3D (2 heads, key dim 16), LayerScale init 1
 *   ConvNet          the same stem and embeddings, each Meta block replaced by a residual pair of 3x3 ConvBNAct
 * NOTE: LayerScale init 1, not the paper's 1e-5: with 1e-5 the Meta blocks start as the identity and
 * 150 Adam steps (lr 2e-3) move γ by at most ~0.3, so the blocks hardly act (measured: 71.3% after
 * 150 steps; 65.7% vs 85.3% with init 1 after 60 steps). 1e-5 is meant for 300-epoch ImageNet training
 * of 20-40-block nets (`layerScaleInit` option).
 * Reported: held-out accuracy (eval mode, BN re-estimated), parameters, MACs per image, training time
 * and eval forward time; then the per-block latency table of the full L1 preset at 224x224, batch 1,
 * measured on tessera's CPU kernels (`profile`, median of a few runs) — the paper's latency LUT.
 * The paper's claims: pooling mixers are cheap, attention only runs on the smallest map, and L1 is a
 * 1.3 GMAC network whose cost concentrates in the early high-resolution stages and the MLPs.
 *
 *   npx tsx examples/efficientformer-digits.ts            # full run
 *   npx tsx examples/efficientformer-digits.ts --quick    # smoke test
 */
import { Generator, nn, randn, type Tensor } from '../src/index.ts'
import { ConvBNAct } from '../src/nn/blocks.ts'
import { EfficientFormer } from '../src/nn/arch/30-efficientformer.ts'
import { profile, type LatencyRow } from '../src/nn/arch/30-efficientformer-latency.ts'
import { countMacs, shapeOnly } from '../src/profile.ts'
import { zeros } from '../src/creation.ts'
import { cost, evaluate, forwardMs, loadDigitImages, trainModel, type ImageModel } from './lib/digits-vision.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }
export interface EFArm { name: string; params: number; macs: number; testAccuracy: number; trainLoss: number; trainSeconds: number; forwardMsPerImage: number }
export interface EFDigitsResult {
  side: number
  steps: number
  arms: EFArm[]
  /** L1 at 224x224, batch 1: per-block medians (ms), their sum, and the MACs of the same forward. */
  l1: { rows: LatencyRow[]; totalMs: number; macs: number; runs: number; byKind: Record<string, number> }
}

/** Residual pair of 3x3 ConvBNAct (GELU, then none) + x: the pure-conv stand-in for a Meta block. */
class ConvBlock extends nn.Module {
  a: ConvBNAct
  b: ConvBNAct
  constructor(c: number, g: Generator) {
    super()
    this.a = new ConvBNAct(c, c, 3, { act: 'gelu', generator: g })
    this.b = new ConvBNAct(c, c, 3, { act: 'none', generator: g })
  }
  forward(x: Tensor): Tensor { return x.add(this.b.forward(this.a.forward(x))) }
}

/** Stem (two 3x3 s2 ConvBNAct) -> per stage `depth` ConvBlocks, 3x3 s2 ConvBNAct between stages -> mean -> Linear. */
export class TinyConvNet extends nn.Module {
  body: nn.Sequential
  fc: nn.Linear
  constructor(dims: number[], depths: number[], g: Generator, numClasses = 10) {
    super()
    const mods: nn.Module[] = [new ConvBNAct(1, dims[0] / 2, 3, { stride: 2, generator: g }), new ConvBNAct(dims[0] / 2, dims[0], 3, { stride: 2, generator: g })]
    dims.forEach((c, s) => {
      for (let i = 0; i < depths[s]; i++) mods.push(new ConvBlock(c, g))
      if (s < dims.length - 1) mods.push(new ConvBNAct(c, dims[s + 1], 3, { stride: 2, act: 'none', generator: g }))
    })
    this.body = new nn.Sequential(...mods)
    this.fc = new nn.Linear(dims[dims.length - 1], numClasses, { generator: g })
  }
  forward(x: Tensor): Tensor { return this.fc.forward(this.body.forward<Tensor>(x).mean([2, 3])) }
}

export function runEfficientFormerDigits(opts: DemoOptions = {}): EFDigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const side = 64, steps = quick ? 3 : 150, batch = quick ? 16 : 32
  const d = loadDigitImages(side, seed)
  const builds: [string, () => ImageModel][] = [
    ['EfficientFormer (tiny)', () => new EfficientFormer({
      layers: [1, 1, 2, 2], embedDims: [16, 32, 48, 64], vitNum: 1, resolution: 2, inChans: 1, numClasses: 10,
      distillation: false, numHeads: 2, keyDim: 16, layerScaleInit: 1, generator: new Generator(seed + 1),
    })],
    ['ConvNet (same stem/embeds)', () => new TinyConvNet([16, 32, 48, 64], [1, 1, 1, 1], new Generator(seed + 1))],
  ]
  const arms: EFArm[] = []
  for (const [name, build] of builds) {
    const { params, macs } = cost(build, side)
    const model = build()
    const r = trainModel(model, d, steps, batch, seed + 2)
    const testAccuracy = evaluate(model, d, quick ? { maxBnBatches: 1, maxTest: 128 } : {})
    const nFwd = quick ? 16 : 128, ms = forwardMs(model, d.xTe.narrow(0, 0, nFwd), quick ? 1 : 3)
    arms.push({ name, params, macs, testAccuracy, trainLoss: r.trainLoss, trainSeconds: r.seconds, forwardMsPerImage: ms / nFwd })
    log(`${name.padEnd(27)} params ${String(params).padStart(6)}  MACs/img ${(macs / 1e6).toFixed(2)}M  test acc ${(100 * testAccuracy).toFixed(1)}%  ` +
      `loss ${r.trainLoss.toFixed(3)}  train ${r.seconds.toFixed(1)} s  eval fwd ${(ms / nFwd).toFixed(2)} ms/img`)
  }
  // Latency LUT of the full L1 preset at 224x224, batch 1 (weights random: latency does not depend on them).
  const runs = quick ? 1 : 3
  const l1Model = EfficientFormer.preset('l1', { generator: new Generator(seed + 3) })
  const lut = profile(l1Model, randn([1, 3, 224, 224], { generator: new Generator(seed + 4) }), { runs, warmup: quick ? 0 : 1 })
  const macs = shapeOnly(() => countMacs(() => EfficientFormer.preset('l1').eval().forward(zeros([1, 3, 224, 224]))).macs)
  const byKind: Record<string, number> = {}
  for (const r of lut.rows) byKind[r.kind] = (byKind[r.kind] ?? 0) + r.medianMs
  log(`L1 @224, batch 1, median of ${runs} run(s) per block on tessera's CPU kernels (${(macs / 1e9).toFixed(2)} GMACs):`)
  for (const r of lut.rows) log(`  ${r.name.padEnd(12)} ${r.kind.padEnd(9)} in [${r.inShape.join('x')}]`.padEnd(44) + `${r.medianMs.toFixed(1).padStart(7)} ms`)
  log(`  total ${lut.totalMs.toFixed(0)} ms; by kind: ${Object.entries(byKind).map(([k, v]) => `${k} ${(100 * v / lut.totalMs).toFixed(0)}%`).join(', ')}`)
  return { side, steps, arms, l1: { rows: lut.rows, totalMs: lut.totalMs, macs, runs, byKind } }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const t0 = performance.now()
  console.log(`EfficientFormer demo (${quick ? 'quick' : 'full'}): 64x64 digits, tiny EfficientFormer vs a same-size pure-conv net; L1 latency table`)
  const r = runEfficientFormerDigits({ quick, log: (l) => console.log(l) })
  const [ef, cn] = r.arms
  console.log(`${r.steps} steps: accuracy EfficientFormer − ConvNet ${(100 * (ef.testAccuracy - cn.testAccuracy)).toFixed(1)} points; params ratio ${(ef.params / cn.params).toFixed(2)}, ` +
    `MACs ratio ${(ef.macs / cn.macs).toFixed(2)}, eval-time ratio ${(ef.forwardMsPerImage / cn.forwardMsPerImage).toFixed(2)}; L1 ${r.l1.totalMs.toFixed(0)} ms at ${(r.l1.macs / 1e9).toFixed(2)} GMACs`)
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

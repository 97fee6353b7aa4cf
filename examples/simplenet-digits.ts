/**
 * @file Sheet 06's small demo of SimpleNet (Hasanpour et al. 2016, "Lets keep it simple, Using simple
 * architectures to outperform deeper and more complex architectures", https://arxiv.org/abs/1608.06037).
 *
 * Digits upsampled to 16x16. Two arms of about the same parameter count, trained with the same
 * optimizer (Adam 2e-3, cosine), batches, steps and ±1-pixel shift augmentation:
 *   SimpleNet  the cifar310k layer list at width 0.5 without its last pool (16 -> 8 -> 4 -> 2, 13 convs, global max pool)
 *   ResNet-20  a ResNet-20-style net (3 stages x 3 basic blocks, widths 8/16/32, 1x1 projection shortcuts): 19 convs + FC
 * Reported: held-out accuracy (eval mode, BN re-estimated), parameters, MACs per image, training
 * time and eval forward time on 256 images. The paper's claim: the plain 13-layer net matches or
 * beats deeper residual nets at equal parameters, at lower cost.
 *
 *   npx tsx examples/simplenet-digits.ts            # full run
 *   npx tsx examples/simplenet-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, nn, type Tensor } from '../src/index.ts'
import { ConvBNAct } from '../src/nn/blocks.ts'
import { SIMPLENET_CFGS, SimpleNet, type SimpleNetLayer } from '../src/nn/arch/06-simplenet.ts'
import { cost, evaluate, forwardMs, loadDigitImages, trainModel, type ImageModel } from './lib/digits-vision.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }
export interface SimpleNetArm { name: string; convLayers: number; params: number; macs: number; testAccuracy: number; trainLoss: number; trainSeconds: number; /** Eval forward milliseconds per image (median batch time / batch size). */ forwardMsPerImage: number }
export interface SimpleNetDigitsResult { side: number; steps: number; batch: number; arms: SimpleNetArm[] }

/** ResNet basic block: ConvBNAct(3x3, stride) -> ConvBNAct(3x3, no act) + shortcut (1x1 ConvBNAct when the shape changes) -> ReLU. */
class BasicBlock extends nn.Module {
  a: ConvBNAct
  b: ConvBNAct
  short: ConvBNAct | null
  constructor(inC: number, outC: number, stride: number, g: Generator) {
    super()
    this.a = new ConvBNAct(inC, outC, 3, { stride, generator: g })
    this.b = new ConvBNAct(outC, outC, 3, { act: 'none', generator: g })
    this.short = stride !== 1 || inC !== outC ? new ConvBNAct(inC, outC, 1, { stride, act: 'none', generator: g }) : null
  }
  forward(x: Tensor): Tensor {
    return this.b.forward(this.a.forward(x)).add(this.short ? this.short.forward(x) : x).relu() // (B, C, H, W)
  }
}

/** ResNet-20 layout (He et al. 2016, CIFAR): stem 3x3 -> 3 stages x 3 basic blocks (stride 2 at stages 2, 3) -> mean -> Linear. */
export class ResNet20 extends nn.Module {
  stem: ConvBNAct
  blocks: nn.Sequential
  fc: nn.Linear
  constructor(widths: [number, number, number], g: Generator, numClasses = 10) {
    super()
    this.stem = new ConvBNAct(1, widths[0], 3, { generator: g })
    const bs: nn.Module[] = []
    let inC = widths[0]
    widths.forEach((w, s) => { for (let i = 0; i < 3; i++) { bs.push(new BasicBlock(inC, w, s > 0 && i === 0 ? 2 : 1, g)); inC = w } })
    this.blocks = new nn.Sequential(...bs)
    this.fc = new nn.Linear(inC, numClasses, { generator: g })
  }
  forward(x: Tensor): Tensor { return this.fc.forward(this.blocks.forward<Tensor>(this.stem.forward(x)).mean([2, 3])) }
}

/** cifar310k without its last pool: 16x16 input reaches 2x2 at the three final convs. */
export const DIGITS_CFG: SimpleNetLayer[] = (() => {
  const c = SIMPLENET_CFGS.cifar310k.slice()
  c.splice(c.lastIndexOf('p'), 1)
  return c
})()

export function runSimpleNetDigits(opts: DemoOptions = {}): SimpleNetDigitsResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const side = 16, steps = quick ? 4 : 150, batch = quick ? 16 : 32
  const d = loadDigitImages(side, seed)
  const builds: [string, number, () => ImageModel][] = [
    ['SimpleNet (cifar310k x0.5)', 13, () => new SimpleNet({ cfg: DIGITS_CFG, scale: 0.5, inChans: 1, numClasses: 10, generator: new Generator(seed + 1) })],
    ['ResNet-20 (8/16/32)', 19, () => new ResNet20([8, 16, 32], new Generator(seed + 1))],
  ]
  const arms: SimpleNetArm[] = []
  for (const [name, convLayers, build] of builds) {
    const { params, macs } = cost(build, side)
    const model = build()
    const r = trainModel(model, d, steps, batch, seed + 2)
    const testAccuracy = evaluate(model, d, quick ? { maxBnBatches: 1, maxTest: 128 } : {})
    const nFwd = quick ? 64 : 256, ms = forwardMs(model, d.xTe.narrow(0, 0, nFwd), quick ? 1 : 3)
    arms.push({ name, convLayers, params, macs, testAccuracy, trainLoss: r.trainLoss, trainSeconds: r.seconds, forwardMsPerImage: ms / nFwd })
    log(`${name.padEnd(27)} ${convLayers} convs  params ${String(params).padStart(6)}  MACs/img ${(macs / 1e6).toFixed(2)}M  ` +
      `test acc ${(100 * testAccuracy).toFixed(1)}%  loss ${r.trainLoss.toFixed(3)}  train ${r.seconds.toFixed(1)} s  eval fwd ${(ms / nFwd).toFixed(2)} ms/img`)
  }
  return { side, steps, batch, arms }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const t0 = performance.now()
  console.log(`SimpleNet demo (${quick ? 'quick' : 'full'}): 16x16 digits, plain 13-layer SimpleNet vs ResNet-20-style at about equal parameters`)
  const r = runSimpleNetDigits({ quick, log: (l) => console.log(l) })
  const [s, res] = r.arms
  console.log(`${r.steps} steps of batch ${r.batch}: accuracy SimpleNet − ResNet ${(100 * (s.testAccuracy - res.testAccuracy)).toFixed(1)} points; ` +
    `params ratio ${(s.params / res.params).toFixed(2)}, MACs ratio ${(s.macs / res.macs).toFixed(2)}, train-time ratio ${(s.trainSeconds / res.trainSeconds).toFixed(2)}, eval-time ratio ${(s.forwardMsPerImage / res.forwardMsPerImage).toFixed(2)}`)
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`)
}

/**
 * @file Sheet 35 demo (TinyNet, "Model Rubik's Cube: Twisting Resolution, Depth and Width for
 * TinyNets", https://arxiv.org/abs/2010.14819): shrink a micro EfficientNet to a MAC budget with
 * EfficientNet's inverse giant formula and with TinyNet's tiny formula, train both the same way and
 * compare held-out accuracy at equal (counted) MACs.
 *
 * Data: the bundled 8x8 digits scaled to [0, 1], NCHW (N, 1, 8, 8), split 75/25 with a seeded shuffle;
 * a model at resolution multiplier r sees them bilinearly resized to side = int(32 r) (32 is the base
 * resolution, as 224 is B0's).
 * Base: EfficientNet (src/nn/arch/35-tinynet.ts) on the first four B0 stages
 *   ds k3 c16 | ir e6 k3 s2 c24 x2 | ir e6 k5 s2 c40 x3   (SE 0.25, SiLU)
 * at width 0.5 (channels 8 / 12 / 20, rounded to multiples of 2 since the net is ~10x narrower than
 * B0), stem 3x3 s2 with 16 channels, head 1x1 to 128, so 32x32 → 16 → 16 → 8 → 4 → pool. (A fourth,
 * stride-2 stage would run at 2x2 for every side from 17 to 32, freezing a third of the MACs against r.)
 * Scaling (r, w, d relative to the base) follows the TinyNet generator: channels round_filters(c·0.5·w, 2),
 * repeats max(1, round(d n)), stem fixed, head max(128, round_filters(128 w)).
 * Rules for a budget c (fraction of the base's MACs):
 *   inverse giant  EfficientNet's compound rule backwards: r = 1.15^φ, w = 1.1^φ, d = 1.2^φ, r² w² d = c
 *   tiny formula   the paper's GP fits r(c), d(c) (TinyNet-A … E winners), w = √(c / (r² d)): keeps r and
 *                  d high, shrinks w most
 *   keep width     (full mode, a control) w = 1, r = d = c^(1/3)
 * Because the stem and head stay fixed and r, w, d are rounded (integer side, channel multiples,
 * integer repeats), r² w² d misses the counted cost. Each rule's c is therefore calibrated: we scan the
 * rule's own one-parameter family (its c′ on a log grid) and keep the member whose profile.countMacs
 * count is closest to c x (base MACs). Every variant trains with AdamW (cosine lr) on the same batches
 * and shifts (same seed), gets its BN statistics re-estimated with updateBn, and is evaluated on the
 * held-out digits.
 *
 *   npx tsx examples/tinynet-digits.ts           # full: base + budgets 1/4 and 1/8 x 3 rules x 2 seeds (~2 min)
 *   npx tsx examples/tinynet-digits.ts --quick   # budget 1/4, 1 seed, giant vs tiny (a few seconds)
 */
import { Generator, noGrad, optim, tensor, zeros, F, type Tensor } from '../src/index.ts'
import { loadDataset } from '../src/node/datasets.ts'
import { trainTestSplit } from '../src/data/sampling.ts'
import { EfficientNet, inverseGiant, roundFilters, roundRepeats, tinyFormula, type EfficientNetOptions, type RWD } from '../src/nn/arch/35-tinynet.ts'
import { updateBn } from '../src/nn/update-bn.ts'
import { countMacs, countParams, shapeOnly } from '../src/profile.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export type Rule = 'inverse-giant' | 'tiny' | 'keep-width'

/** The base resolution, width, divisor, stem and head of the micro EfficientNet. */
export const BASE = { side: 32, width: 0.5, divisor: 2, stem: 16, head: 128 } as const
export const MICRO_ARCH = ['ds_r1_k3_s1_e1_c16_se0.25', 'ir_r2_k3_s2_e6_c24_se0.25', 'ir_r3_k5_s2_e6_c40_se0.25']
const MICRO_REPEATS = [1, 2, 3]
const MICRO_CHANNELS = [16, 24, 40]

/** Each rule's (r, w, d) for a FLOPs ratio c relative to the base. */
export const RULES: Record<Rule, (c: number) => RWD> = {
  'inverse-giant': (c) => inverseGiant(c),
  'tiny': (c) => tinyFormula(c),
  'keep-width': (c) => ({ r: Math.cbrt(c), w: 1, d: Math.cbrt(c) }),
}

/** Input side of resolution multiplier r: int(32 r), as TinyNet's int(224 r). */
export const sideOf = (r: number): number => Math.max(8, Math.floor(BASE.side * r + 1e-9))

/** EfficientNet options of the micro net scaled by (w, d) relative to the base (TinyNet generator rules). */
export function microOptions({ w, d }: RWD, generator?: Generator): EfficientNetOptions {
  return {
    arch: MICRO_ARCH, width: BASE.width * w, depth: d, depthTrunc: 'round', divisor: BASE.divisor, fixStem: true, stemSize: BASE.stem,
    headSize: Math.max(BASE.head, roundFilters(BASE.head, w, BASE.divisor)), inChannels: 1, numClasses: 10, dropRate: 0.1, generator,
  }
}

/** The realised architecture of a scaling point: side, stage channels and repeats, head. */
export function realised(p: RWD): { side: number; channels: number[]; repeats: number[]; head: number } {
  return {
    side: sideOf(p.r), channels: MICRO_CHANNELS.map((c) => roundFilters(c, BASE.width * p.w, BASE.divisor)),
    repeats: MICRO_REPEATS.map((n) => roundRepeats(n, p.d, 'round')), head: Math.max(BASE.head, roundFilters(BASE.head, p.w, BASE.divisor)),
  }
}

/** Parameters and counted MACs of one (1, 1, side, side) image through the scaled micro net (shape-only, no weights allocated). */
export function cost(p: RWD): { params: number; macs: number } {
  return shapeOnly(() => {
    const m = new EfficientNet(microOptions(p)).eval()
    const side = sideOf(p.r)
    return { params: countParams(m), macs: countMacs(() => m.forward(zeros([1, 1, side, side]))).macs }
  })
}

/**
 * Calibrates `rule` to a MAC budget: scans c′ = c · 2^(k/32), k = -48 … 32 (c/2.8 … 2c,
 * which keeps the tiny formula near the range of its GP fit), and returns the member whose
 * counted MACs are closest (in log ratio) to c · baseMacs; ties go to the c′ nearest c.
 */
export function calibrate(rule: Rule, c: number, baseMacs: number): { cPrime: number; rwd: RWD; macs: number; params: number } {
  const seen = new Map<string, { macs: number; params: number }>()
  let best: { cPrime: number; rwd: RWD; macs: number; params: number; err: number; k: number } | null = null
  for (let k = -48; k <= 32; k++) {
    const cPrime = c * 2 ** (k / 32), rwd = RULES[rule](cPrime)
    const key = JSON.stringify(realised(rwd))
    if (!seen.has(key)) seen.set(key, cost(rwd))
    const { macs, params } = seen.get(key)!
    const err = Math.abs(Math.log(macs / (c * baseMacs)))
    if (!best || err < best.err - 1e-12 || (Math.abs(err - best.err) <= 1e-12 && Math.abs(k) < Math.abs(best.k))) best = { cPrime, rwd, macs, params, err, k }
  }
  const { cPrime, rwd, macs, params } = best!
  return { cPrime, rwd, macs, params }
}

/** Bilinear interpolation matrix (to, from) with PyTorch's align_corners = false: src = (i + 0.5) from/to − 0.5, clamped. */
export function resizeMatrix(from: number, to: number): Tensor {
  const m = Array.from({ length: to }, () => new Array<number>(from).fill(0))
  for (let i = 0; i < to; i++) {
    const src = Math.min(Math.max((i + 0.5) * (from / to) - 0.5, 0), from - 1)
    const i0 = Math.floor(src), i1 = Math.min(i0 + 1, from - 1), f = src - i0
    m[i][i0] += 1 - f
    m[i][i1] += f
  }
  return tensor(m)
}

/** Bilinear resize (B, C, h, w) → (B, C, side, side) as R x Rᵀ with R = resizeMatrix. */
export function resize(x: Tensor, side: number): Tensor {
  const [, , h, w] = x.shape
  if (h === side && w === side) return x
  return resizeMatrix(h, side).matmul(x.matmul(resizeMatrix(w, side).transpose(0, 1))) // (B, C, side, side)
}

export interface Variant {
  rule: Rule | 'base'
  /** Target MAC fraction (1 for the base) and the calibrated c′ fed to the rule. */
  target: number
  cPrime: number
  rwd: RWD
  side: number
  channels: number[]
  repeats: number[]
  macs: number
  /** Counted MACs / (target · base MACs). */
  macRatio: number
  params: number
  seed: number
  accuracy: number
  trainLoss: number
  seconds: number
}

export interface TinyNetDigitsResult {
  baseMacs: number
  baseParams: number
  variants: Variant[]
  /** Mean held-out accuracy per (budget, rule) over the seeds. */
  summary: { target: number; rule: Rule; accuracy: number; macs: number }[]
  steps: number
  batch: number
  seeds: number[]
  trainSize: number
  testSize: number
}

interface Digits { xTr: Tensor; yTr: Tensor; xTe: Tensor; yTe: Tensor }

function loadDigits(seed: number): Digits {
  const { x: raw, y } = loadDataset('digits')
  const x = raw.div(16).reshape([raw.shape[0], 1, 8, 8]) // (1797, 1, 8, 8)
  const { train, test } = trainTestSplit(x.shape[0], 0.25, new Generator(seed))
  return { xTr: x.indexSelect(0, train), yTr: y.indexSelect(0, train), xTe: x.indexSelect(0, test), yTe: y.indexSelect(0, test) }
}

/**
 * Trains `model` at input side `side`: AdamW (lr 1e-2, weight decay 0.02, cosine to 0), batches of
 * `batch` 8x8 digits rolled by a random (dy, dx) ∈ {-1, 0, 1}² source pixels and then resized; the
 * batches and shifts depend only on `seed`, so every variant sees the same data. Returns the mean loss
 * of the last 20 steps.
 */
function train(model: EfficientNet, d: Digits, side: number, steps: number, batch: number, seed: number): number {
  const g = new Generator(seed)
  const opt = new optim.AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0.02 })
  const sched = new optim.CosineAnnealingLR(opt, { tMax: steps })
  const last: number[] = []
  model.train()
  for (let s = 0; s < steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => g.nextInt(0, d.xTr.shape[0])), { dtype: 'int32' })
    const shift = [g.nextInt(0, 3) - 1, g.nextInt(0, 3) - 1]
    const xb = resize(d.xTr.indexSelect(0, ids).roll(shift, [2, 3]), side) // (batch, 1, side, side)
    opt.zeroGrad()
    const loss = F.crossEntropy(model.forward(xb), d.yTr.indexSelect(0, ids))
    loss.backward(); opt.step(); sched.step()
    last.push(loss.item()); if (last.length > 20) last.shift()
  }
  return last.reduce((a, b) => a + b, 0) / last.length
}

/** Held-out accuracy in eval mode after updateBn over the training set (batches of 128) at the model's side. */
function evaluate(model: EfficientNet, d: Digits, side: number): number {
  const n = Math.floor(d.xTr.shape[0] / 128)
  updateBn(Array.from({ length: n }, (_, i) => resize(d.xTr.narrow(0, 128 * i, 128), side)), model)
  model.eval()
  return noGrad(() => model.forward(resize(d.xTe, side)).argmax(1).eq(d.yTe).float().mean().item())
}

export function runTinyNetDigits({ quick = false, seed = 0, log = () => {} }: DemoOptions = {}): TinyNetDigitsResult {
  const targets = quick ? [1 / 4] : [1 / 4, 1 / 8]
  const rules: Rule[] = quick ? ['inverse-giant', 'tiny'] : ['inverse-giant', 'tiny', 'keep-width']
  const seeds = quick ? [seed] : [seed, seed + 1]
  const steps = quick ? 40 : 150, batch = 16
  const d = loadDigits(seed)
  const unit: RWD = { r: 1, w: 1, d: 1 }
  const base = cost(unit)
  const arch = (p: RWD): string => { const a = realised(p); return `side ${a.side}, channels [${a.channels}], repeats [${a.repeats}], head ${a.head}` }
  log(`base: ${arch(unit)}; ${base.params} parameters, ${(base.macs / 1e6).toFixed(3)} M MACs per image; ${steps} AdamW steps of ${batch}`)

  const plan: Omit<Variant, 'seed' | 'accuracy' | 'trainLoss' | 'seconds'>[] = []
  if (!quick) plan.push({ rule: 'base', target: 1, cPrime: 1, rwd: unit, ...realised(unit), macs: base.macs, macRatio: 1, params: base.params })
  for (const c of targets) {
    for (const rule of rules) {
      const cal = calibrate(rule, c, base.macs)
      plan.push({ rule, target: c, cPrime: cal.cPrime, rwd: cal.rwd, ...realised(cal.rwd), macs: cal.macs, macRatio: cal.macs / (c * base.macs), params: cal.params })
      const n = RULES[rule](c)
      log(`c = 1/${1 / c} ${rule.padEnd(13)} nominal r ${n.r.toFixed(3)} w ${n.w.toFixed(3)} d ${n.d.toFixed(3)} → calibrated c′ ${cal.cPrime.toFixed(4)}: ` +
        `r ${cal.rwd.r.toFixed(3)} w ${cal.rwd.w.toFixed(3)} d ${cal.rwd.d.toFixed(3)} = ${arch(cal.rwd)}; MACs ${(cal.macs / 1e3).toFixed(1)} k (${(100 * cal.macs / base.macs).toFixed(1)}% of base)`)
    }
  }

  const variants: Variant[] = []
  for (const s of seeds) {
    for (const p of plan) {
      if (p.rule === 'base' && s !== seeds[0]) continue // the base (reference only) trains on the first seed
      const model = new EfficientNet(microOptions(p.rwd, new Generator(1000 + s)))
      const t0 = performance.now()
      const trainLoss = train(model, d, p.side, steps, batch, 2000 + s)
      const accuracy = evaluate(model, d, p.side)
      const seconds = (performance.now() - t0) / 1000
      variants.push({ ...p, seed: s, accuracy, trainLoss, seconds })
      log(`seed ${s}  ${p.target === 1 ? 'base     ' : `c = 1/${1 / p.target}`}  ${p.rule.padEnd(13)} side ${String(p.side).padStart(2)}  MACs ${(p.macs / 1e3).toFixed(1).padStart(6)} k  ` +
        `params ${String(p.params).padStart(6)}  acc ${(100 * accuracy).toFixed(1)}%  loss ${trainLoss.toFixed(3)}  ${seconds.toFixed(1)} s`)
    }
  }
  const summary = targets.flatMap((target) => rules.map((rule) => {
    const vs = variants.filter((v) => v.rule === rule && v.target === target)
    return { target, rule, accuracy: vs.reduce((a, v) => a + v.accuracy, 0) / vs.length, macs: vs[0].macs }
  }))
  return { baseMacs: base.macs, baseParams: base.params, variants, summary, steps, batch, seeds, trainSize: d.xTr.shape[0], testSize: d.xTe.shape[0] }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runTinyNetDigits({ quick, log: (l) => console.log(l) })
  console.log(`\n${r.trainSize} training / ${r.testSize} held-out digits; seeds [${r.seeds}]; base ${(r.baseMacs / 1e3).toFixed(1)} k MACs, ${r.baseParams} parameters`)
  const base = r.variants.filter((v) => v.rule === 'base')
  if (base.length) console.log(`base (c = 1): mean accuracy ${(100 * base.reduce((a, v) => a + v.accuracy, 0) / base.length).toFixed(1)}%`)
  for (const t of [...new Set(r.summary.map((s) => s.target))]) {
    const row = r.summary.filter((s) => s.target === t)
    console.log(`c = 1/${1 / t}: ` + row.map((s) => `${s.rule} ${(100 * s.accuracy).toFixed(1)}% @ ${(s.macs / 1e3).toFixed(1)} k MACs`).join(' | '))
    const g = row.find((s) => s.rule === 'inverse-giant')!, tf = row.find((s) => s.rule === 'tiny')!
    const perSeed = r.seeds.map((s) => {
      const acc = (rule: Rule): number => r.variants.find((v) => v.seed === s && v.target === t && v.rule === rule)!.accuracy
      return (100 * (acc('tiny') - acc('inverse-giant'))).toFixed(1)
    })
    console.log(`  tiny − inverse giant: ${(100 * (tf.accuracy - g.accuracy)).toFixed(1)} pts (per seed ${perSeed.join(', ')}; paper: tiny formula more accurate at equal FLOPs) → ${tf.accuracy > g.accuracy ? 'holds' : 'does not hold'} on the mean`)
  }
}

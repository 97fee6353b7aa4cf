/**
 * @file Sheet 70's small demo of URPE (Luo et al. 2022, "Your Transformer May Not be as Powerful as
 * You Expect", https://arxiv.org/abs/2205.13401): a tiny RPE Transformer and a tiny URPE Transformer
 * (same width, depth, optimizer, data and seed; no absolute positions) trained on the paper's
 * synthetic tasks, Position Identification (PI: label each position with its index) and Even Token
 * Prediction (ETP: position i < L/2 outputs the token at 2i + 1). Reported: held-out per-token
 * accuracy of each. The paper's claim: RPE in the softmax cannot realise these position-dependent
 * maps (its attention rows are stochastic), URPE can; RPE stays near chance on PI, URPE reaches ~100%.
 *
 *   npx tsx examples/urpe-synthetic.ts            # full run: PI and ETP (about a minute)
 *   npx tsx examples/urpe-synthetic.ts --quick    # PI only, a few seconds
 */
import { Generator, nn, noGrad, optim } from '../src/index.ts'
import { RelativeTransformer } from '../src/nn/arch/70-urpe.ts'
import { evenTokenPrediction, positionIdentification, type SyntheticTask } from '../src/data/synthetic.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

/** Sizes of one task's runs. */
export interface TaskConfig { L: number; steps: number; batch: number; lr: number }

export interface ArmResult {
  task: 'PI' | 'ETP'
  model: 'RPE' | 'URPE'
  /** Held-out per-token accuracy (ETP: over the first L/2 positions, the non-filler targets). */
  accuracy: number
  /** Chance level of that accuracy. */
  chance: number
  finalLoss: number
  params: number
  seconds: number
}

export interface URPESyntheticResult { vocab: number; arms: ArmResult[] }

type TaskFn = (o: { n: number; length: number; vocab: number; generator: Generator }) => SyntheticTask

/** Per-token accuracy of the argmax over positions [0, upto). */
function accuracy(model: RelativeTransformer, t: SyntheticTask, upto: number): number {
  return noGrad(() => {
    const pred = model.forward(t.x).argmax(-1).data() as Int32Array // (N, L)
    const y = t.y.data() as Int32Array
    const [N, L] = t.x.shape
    let ok = 0
    for (let r = 0; r < N; r++) for (let i = 0; i < upto; i++) ok += pred[r * L + i] === y[r * L + i] ? 1 : 0
    return ok / (N * upto)
  })
}

function trainArm(task: 'PI' | 'ETP', universal: boolean, cfg: TaskConfig & { V: number; seed: number }, log: (s: string) => void): ArmResult {
  const make: TaskFn = task === 'PI' ? positionIdentification : evenTokenPrediction
  const dataG = new Generator(cfg.seed + (task === 'PI' ? 0 : 1000))
  const test = make({ n: 128, length: cfg.L, vocab: cfg.V, generator: new Generator(cfg.seed + 777) })
  const model = new RelativeTransformer({
    vocab: cfg.V, numClasses: test.numClasses, dModel: 32, heads: 4, layers: 2, maxLen: cfg.L, universal, generator: new Generator(cfg.seed),
  })
  const opt = new optim.Adam(model.parameters(), { lr: cfg.lr })
  const t0 = performance.now()
  let loss = NaN
  for (let s = 0; s < cfg.steps; s++) {
    const lr = cfg.lr * Math.min(1, (s + 1) / 10) * (1 - s / cfg.steps) // warm-up, linear decay (the paper's schedule, shortened)
    for (const gr of opt.paramGroups) gr.lr = lr
    const { x, y } = make({ n: cfg.batch, length: cfg.L, vocab: cfg.V, generator: dataG })
    const l = nn.losses.crossEntropy(model.forward(x).reshape([-1, test.numClasses]), y.reshape([-1]))
    opt.zeroGrad(); l.backward(); opt.step()
    loss = l.item()
  }
  const upto = task === 'PI' ? cfg.L : Math.floor(cfg.L / 2)
  const name = universal ? 'URPE' : 'RPE'
  const r: ArmResult = {
    task, model: name, accuracy: accuracy(model, test, upto), chance: task === 'PI' ? 1 / cfg.L : 1 / (cfg.V - 1),
    finalLoss: loss, params: model.numParameters(), seconds: (performance.now() - t0) / 1000,
  }
  log(`${task} ${name.padEnd(4)} (L = ${cfg.L}, ${cfg.steps} steps of ${cfg.batch}): accuracy ${(100 * r.accuracy).toFixed(1)}% (chance ${(100 * r.chance).toFixed(1)}%), final loss ${loss.toFixed(3)}, ${r.params} params, ${r.seconds.toFixed(1)} s`)
  return r
}

/** Default sizes: PI in both modes, ETP (harder: position and content) only in full mode. */
export function defaultConfigs(quick: boolean): { PI: TaskConfig; ETP?: TaskConfig } {
  return quick
    ? { PI: { L: 12, steps: 80, batch: 16, lr: 1e-2 } }
    : { PI: { L: 24, steps: 300, batch: 32, lr: 1e-2 }, ETP: { L: 12, steps: 400, batch: 32, lr: 1e-2 } }
}

/** Trains RPE and URPE on each task and returns held-out accuracies. */
export function runURPESynthetic(opts: DemoOptions & { configs?: { PI?: TaskConfig; ETP?: TaskConfig } } = {}): URPESyntheticResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const configs = opts.configs ?? defaultConfigs(quick), V = 20
  log(`vocab ${V}, d = 32, 4 heads, 2 layers, post-norm, no absolute positions; Adam with warm-up and linear decay`)
  const arms: ArmResult[] = []
  for (const task of ['PI', 'ETP'] as const) {
    const c = configs[task]
    if (c) for (const universal of [false, true]) arms.push(trainArm(task, universal, { ...c, V, seed }, log))
  }
  return { vocab: V, arms }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runURPESynthetic({ quick, log: (l) => console.log(l) })
  console.log('\n| task | model | held-out accuracy | chance |\n|---|---|---|---|')
  for (const a of r.arms) console.log(`| ${a.task} | ${a.model} | ${(100 * a.accuracy).toFixed(1)}% | ${(100 * a.chance).toFixed(1)}% |`)
}

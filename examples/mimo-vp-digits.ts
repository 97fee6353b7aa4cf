/**
 * @file Sheet 39's small demo of MIMO-VP (Ning et al. 2023, "MIMO Is All You Need: A Strong
 * Multi-In-Multi-Out Baseline for Video Prediction", https://arxiv.org/abs/2212.04655): moving digits.
 *
 * Bundled 8×8 digit glyphs bounce in a 16×16 canvas (`movingDigits`); T_in observed frames → T_out
 * future frames (T_out = T_in, as in the paper). Two arms with the same backbone (same width, heads and
 * layers), trained with Adam for the same number of steps on the same videos:
 *   MIMO   all T_out frames from ONE forward (decoder queries = stems of all observed frames),
 *          deep-supervision loss 10·MSE + L1 over every decoder layer's output;
 *   SISO   the same network with a single query (tOut = 1), trained on teacher-forced next-frame
 *          windows and rolled out recursively (`recursiveRollout`, T_out model calls).
 * Reported: per-frame MSE over the horizon on held-out glyphs (with "copy the last observed frame" as
 * a floor reference), parameters, wall time. The paper's claim: the recursive model's error grows
 * quickly with the horizon (errors accumulate), MIMO's grows much less and wins on the later frames.
 * The sheet's setup (32×32 canvas, 10 → 10, d = 32, 2 + 2 layers) is scaled down to fit a shared CPU.
 *
 *   npx tsx examples/mimo-vp-digits.ts            # full run (about 2.5 minutes of CPU)
 *   npx tsx examples/mimo-vp-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, noGrad, optim, profile, type Tensor } from '../src/index.ts'
import { cat } from '../src/ops/indexing.ts'
import { loadDataset } from '../src/node/datasets.ts'
import {
  MIMOVP, MIMO_VP_PRESETS, deepSupervisionLoss, movingDigits, patchReshape, patchReshapeBack, recursiveRollout, type MIMOVPOptions,
} from '../src/nn/arch/39-mimo-vp.ts'

export interface DemoOptions {
  quick?: boolean
  seed?: number
  log?: (line: string) => void
  /** Adam steps per arm (default 12 quick, 200 full). */
  steps?: number
  /** Adam learning rate (default 2e-3). */
  lr?: number
}

export interface ArmResult {
  name: string
  params: number
  steps: number
  /** Model calls to predict the T_out frames of one batch. */
  callsPerPrediction: number
  /** Test MSE per predicted frame (pixels in [0, 1]), frame 1 … T_out. */
  perFrameMSE: number[]
  meanMSE: number
  firstLoss: number
  finalLoss: number
  /** Wall-clock training time (shared machines inflate it; see cpuSeconds). */
  trainSeconds: number
  /** Process CPU time of training (user + system). */
  cpuSeconds: number
}

export interface MIMOVPDemoResult {
  size: number
  tIn: number
  tOut: number
  trainVideos: number
  testVideos: number
  mimo: ArmResult
  siso: ArmResult
  /** Per-frame MSE of repeating the last observed frame. */
  copyLastMSE: number[]
  seconds: number
}

/** Per-frame MSE between (B, T, C, H, W) predictions and targets. */
function perFrameMSE(pred: Tensor, target: Tensor): number[] {
  const err = pred.sub(target).square().mean([0, 2, 3, 4]).data() // (T,)
  return Array.from(err)
}

export function runMIMOVPDigits(opts: DemoOptions = {}): MIMOVPDemoResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const start = performance.now()
  const size = 16, tIn = 5, tOut = 5, patch = MIMO_VP_PRESETS.digits.patch
  const steps = opts.steps ?? (quick ? 12 : 200), batch = quick ? 8 : 16, lr = opts.lr ?? 2e-3
  const nTrain = quick ? 64 : 512, nTest = quick ? 32 : 128
  const cfg: MIMOVPOptions = MIMO_VP_PRESETS.digits // d 16, 2 heads, 1 encoder + 2 decoder layers, p 2

  // Glyphs: digits 0-1499 for training videos, 1500-1796 for test videos (unseen glyphs).
  const { x } = loadDataset('digits')
  const glyphs = x.div(16).reshape([-1, 8, 8]) // (1797, 8, 8) in [0, 1]
  const g = new Generator(seed)
  const train = movingDigits({ n: nTrain, frames: tIn + tOut, size, digits: glyphs.narrow(0, 0, 1500), generator: g }).videos
  const test = movingDigits({ n: nTest, frames: tIn + tOut, size, digits: glyphs.narrow(0, 1500, 297), generator: g }).videos
  const testIn = test.narrow(1, 0, tIn), testOut = test.narrow(1, tIn, tOut) // (N, T, 1, S, S)
  const copyLastMSE = perFrameMSE(cat(Array.from({ length: tOut }, () => testIn.narrow(1, tIn - 1, 1)), 1), testOut)
  log(`moving digits ${size}x${size}, ${tIn} -> ${tOut} frames, ${nTrain} train / ${nTest} test videos, ${steps} Adam steps of ${batch}`)

  const pick = (videos: Tensor, k: number): Tensor => {
    const ids: number[] = Array.from({ length: batch }, () => g.nextInt(0, videos.shape[0]))
    return cat(ids.map((i) => videos.narrow(0, i, 1)), 0).narrow(1, 0, k) // (batch, k, 1, S, S), contiguous copy
  }

  const arm = (name: string, model: MIMOVP, batchLoss: () => Tensor, predict: (v: Tensor) => Tensor, calls: number): ArmResult => {
    const opt = new optim.Adam(model.parameters(), { lr })
    const t0 = performance.now(), c0 = process.cpuUsage()
    let finalLoss = NaN, firstLoss = NaN
    for (let s = 0; s < steps; s++) {
      const loss = batchLoss()
      opt.zeroGrad(); loss.backward(); opt.step()
      finalLoss = loss.item()
      if (s === 0) firstLoss = finalLoss
      if ((s + 1) % Math.max(1, Math.floor(steps / 5)) === 0) log(`  ${name} step ${s + 1}: loss ${finalLoss.toFixed(4)}`)
    }
    const trainSeconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(c0), cpuSeconds = (cpu.user + cpu.system) / 1e6
    model.eval()
    const pred = noGrad(() => predict(testIn)) // (N, T_out, 1, S, S)
    const perFrame = perFrameMSE(pred, testOut)
    const meanMSE = perFrame.reduce((a, b) => a + b, 0) / perFrame.length
    log(`${name}: per-frame test MSE ${perFrame.map((e) => e.toFixed(4)).join(' ')}  (${trainSeconds.toFixed(1)} s, ${cpuSeconds.toFixed(1)} s CPU)`)
    return { name, params: profile.countParams(model), steps, callsPerPrediction: calls, perFrameMSE: perFrame, meanMSE, firstLoss, finalLoss, trainSeconds, cpuSeconds }
  }

  // MIMO: observed frames → all future frames in one call; deep supervision over both decoder layers.
  const mimo = new MIMOVP({ ...cfg, generator: new Generator(seed + 1) })
  const mimoResult = arm('MIMO', mimo, () => {
    const v = pick(train, tIn + tOut)
    return deepSupervisionLoss(mimo.forward(patchReshape(v.narrow(1, 0, tIn), patch)), patchReshape(v.narrow(1, tIn, tOut), patch))
  }, (v) => mimo.predict(v), 1)

  // SISO: next frame from a random teacher-forced window of T_in frames, then recursive rollout.
  const siso = new MIMOVP({ ...cfg, tOut: 1, generator: new Generator(seed + 1) })
  const sisoResult = arm('SISO', siso, () => {
    const v = pick(train, tIn + tOut)
    const s0 = g.nextInt(0, tOut) // window [s0, s0 + T_in) → frame s0 + T_in
    return deepSupervisionLoss(siso.forward(patchReshape(v.narrow(1, s0, tIn), patch)), patchReshape(v.narrow(1, s0 + tIn, 1), patch))
  }, (v) => patchReshapeBack(recursiveRollout(siso, patchReshape(v, patch), tOut), patch), tOut)

  return {
    size, tIn, tOut, trainVideos: nTrain, testVideos: nTest, mimo: mimoResult, siso: sisoResult, copyLastMSE,
    seconds: (performance.now() - start) / 1000,
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runMIMOVPDigits({ quick: process.argv.includes('--quick'), seed: 0, log: console.log })
  const row = (name: string, e: number[], extra = ''): string =>
    `${name.padEnd(10)}${e.map((v) => v.toFixed(4).padStart(8)).join('')}   mean ${(e.reduce((a, b) => a + b, 0) / e.length).toFixed(4)}${extra}`
  console.log(`\nper-frame test MSE, frames 1..${r.tOut} after ${r.tIn} observed (${r.testVideos} videos, unseen glyphs)`)
  for (const a of [r.mimo, r.siso]) {
    console.log(row(a.name, a.perFrameMSE, `   params ${a.params}  calls/prediction ${a.callsPerPrediction}  train ${a.trainSeconds.toFixed(1)} s wall / ${a.cpuSeconds.toFixed(1)} s CPU (${a.steps} steps)`))
  }
  console.log(row('copy-last', r.copyLastMSE))
  const growth = (e: number[]): number => e[e.length - 1] - e[0]
  console.log(`error growth frame 1 -> ${r.tOut}: MIMO ${growth(r.mimo.perFrameMSE).toFixed(4)}, SISO ${growth(r.siso.perFrameMSE).toFixed(4)}; total ${r.seconds.toFixed(1)} s`)
}

/**
 * @file Sheet 52's small demo of Deep Model Assembling (Ni et al. 2022, https://arxiv.org/abs/2212.04129)
 * on the bundled 8x8 digits.
 *
 * Target: a ViT of depth 8 in K = 4 stages of 2 blocks (width 32, 2 heads, patch 4 → 4 tokens + class
 * token). Two ways to train it at the same total compute, counted as Σ steps × measured multiply-adds
 * of one training step (forward + backward, `profile.countMacs`):
 *   assembled   PT: meta model (1 block per stage) end to end; MT: each of the 4 target stages
 *               incubated in the frozen meta model; FT: assemble and fine-tune (grad clip 1);
 *   end-to-end  the same target ViT from scratch, with as many steps as that compute buys.
 * Reported: held-out accuracy of each (and of the meta model, of each incubation hybrid, of the
 * assembled model before FT, and of the end-to-end model after as many steps as FT took), MACs per
 * step of each phase, wall time. The paper's claim: assembling reaches equal or better accuracy at
 * equal cost and the assembled model fine-tunes fast.
 * The K = 4 MT jobs are independent (Sec. 3.2): they run on 2 worker threads (`train.runParallel`
 * with tessera/node's `nodeSpawn`, job i seeded on its own), then once more one after another in this
 * thread; the demo reports both wall times and checks the assembled weights are bitwise the same.
 *
 *   npx tsx examples/model-assembling-digits.ts            # full run (about two minutes of CPU)
 *   npx tsx examples/model-assembling-digits.ts --quick    # a few seconds, for smoke tests
 */
import { Generator } from '../src/index.ts'
import { digitsImages } from './sn-net-digits.ts'
import { StagedViT, assembleStages, evalAccuracy, trainPhase, type StagedViTOptions, type ViTStage } from '../src/nn/arch/52-deep-model-assembling.ts'
import { incubateStages, modelAssemblingParallel } from '../src/train/incubation-jobs.ts'
import { packState } from '../src/train/parallel.ts'
import { nodeSpawn } from '../src/node/parallel.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export interface AssemblingDigitsResult {
  dividedDepths: number[]
  steps: { pt: number; mt: number; ft: number; e2e: number }
  macsPerStep: { pt: number; mt: number[]; ft: number; e2e: number }
  totalMacs: { assembled: number; e2e: number }
  accuracy: {
    meta: number
    /** Hybrid i (meta model with incubated stage i) after MT. */
    hybrids: number[]
    assembledBeforeFT: number
    assembled: number
    /** End-to-end model after as many steps as FT ran. */
    e2eAtFTSteps: number
    e2e: number
  }
  seconds: { assembled: number; e2e: number }
  /** The K incubation jobs: wall time on `threads` worker threads vs one after another in this thread. */
  incubation: { threads: number; seeds: number[]; parallelSeconds: number; sequentialSeconds: number; identical: boolean; jobSeconds: number }
}

/** The assembled model (before FT) of `stages`, and whether two such models hold bitwise equal weights. */
function assembledOf(target: StagedViTOptions, stages: ViTStage[]): StagedViT {
  return assembleStages(new StagedViT({ ...target, generator: new Generator(0) }), stages)
}
function sameWeights(a: StagedViT, b: StagedViT): boolean {
  const pa = packState(a.stateDict()), pb = packState(b.stateDict())
  return Object.keys(pa).length === Object.keys(pb).length && Object.keys(pa).every((k) => pb[k] && pa[k].data.every((v, i) => Object.is(v, pb[k].data[i])))
}

export async function runModelAssemblingDigits(opts: DemoOptions = {}): Promise<AssemblingDigitsResult> {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0
  const log = opts.log ?? (() => {})
  const d = digitsImages(seed)
  const train = { x: d.trainX, y: d.trainY }
  const evalN = quick ? 100 : d.testX.shape[0]
  const test = { x: d.testX.narrow(0, 0, evalN), y: d.testY.narrow(0, 0, evalN) }
  const D = 32
  const target: StagedViTOptions = {
    imgSize: 8, patchSize: 4, inChans: 1, numClasses: 10, embedDim: D, numHeads: 2, initStd: 1 / Math.sqrt(D),
    dividedDepths: [2, 2, 2, 2], dropPath: 0.1,
  }
  const steps = quick ? { pt: 4, mt: 2, ft: 2 } : { pt: 150, mt: 60, ft: 90 }
  const lr = { pt: 3e-3, mt: 3e-3, ft: 1e-3 }
  const batch = quick ? 16 : 32
  const threads = 2

  const tA = performance.now()
  const hybrids: number[] = []
  let metaAcc = 0
  const r = await modelAssemblingParallel({
    target, data: train, steps, lr, batch, generator: new Generator(seed + 1), threads, spawn: nodeSpawn,
    onPhase: (name, stats, model) => {
      if (name === 'FT') return
      const acc = evalAccuracy(model, test)
      if (name === 'PT') metaAcc = acc
      else hybrids.push(acc)
      log(`${name}: ${stats.steps} steps × ${(stats.macsPerStep / 1e6).toFixed(2)} M MACs, loss ${stats.loss.toFixed(3)}, test acc ${(100 * acc).toFixed(1)}%, ${stats.seconds.toFixed(1)} s`)
    },
  })
  // Accuracy of the assembled model before fine-tuning: re-assemble the incubated stages into a copy.
  const check = assembledOf(target, r.incubated)
  const assembledBeforeFT = evalAccuracy(check, test)
  const assembled = evalAccuracy(r.target, test)
  const secondsA = (performance.now() - tA) / 1000
  // The same K incubation jobs (same meta model, same seeds) one after another in this thread.
  const { generator: _g, ...config } = target
  const seq = await incubateStages(r.meta, { target: config, data: train, seeds: r.seeds, steps: steps.mt, lr: lr.mt, batch, spawn: null })
  const identical = sameWeights(check, assembledOf(target, seq.stages))
  // Σ of the jobs' own training times on the workers: > the parallel wall time when they overlapped.
  const jobSeconds = r.stats.mt.reduce((t, s) => t + s.seconds, 0)
  log(`MT wall time: ${threads} worker threads ${r.mtSeconds.toFixed(2)} s (worker start-up included; the jobs' own times sum to ${jobSeconds.toFixed(2)} s) vs one after another ${seq.seconds.toFixed(2)} s; assembled weights ${identical ? 'bitwise identical' : 'DIFFER'}`)
  log(`FT: ${steps.ft} steps × ${(r.stats.ft.macsPerStep / 1e6).toFixed(2)} M MACs, loss ${r.stats.ft.loss.toFixed(3)}; assembled acc before FT ${(100 * assembledBeforeFT).toFixed(1)}%, after ${(100 * assembled).toFixed(1)}%`)

  // End-to-end baseline at equal compute.
  const tE = performance.now()
  // A step of end-to-end training costs what an FT step costs (same network, every parameter trained).
  const e2eSteps = Math.max(1, Math.round(r.totalMacs / r.stats.ft.macsPerStep))
  let e2eAtFTSteps = 0
  const fresh = new StagedViT({ ...target, generator: new Generator(seed + 1) })
  const e2e = trainPhase(fresh, fresh.parameters(), train, {
    steps: e2eSteps, lr: lr.pt, batch, generator: new Generator(seed + 4), clip: 1,
    onStep: (done) => { if (done === steps.ft) { e2eAtFTSteps = evalAccuracy(fresh, test); fresh.train() } },
  })
  const e2eAcc = evalAccuracy(fresh, test)
  const secondsE = (performance.now() - tE) / 1000
  log(`end-to-end: ${e2eSteps} steps × ${(e2e.macsPerStep / 1e6).toFixed(2)} M MACs, loss ${e2e.loss.toFixed(3)}, test acc ${(100 * e2eAcc).toFixed(1)}% (after ${steps.ft} steps: ${(100 * e2eAtFTSteps).toFixed(1)}%)`)
  return {
    dividedDepths: target.dividedDepths,
    steps: { ...steps, e2e: e2eSteps },
    macsPerStep: { pt: r.stats.pt.macsPerStep, mt: r.stats.mt.map((s) => s.macsPerStep), ft: r.stats.ft.macsPerStep, e2e: e2e.macsPerStep },
    totalMacs: { assembled: r.totalMacs, e2e: e2eSteps * e2e.macsPerStep },
    accuracy: { meta: metaAcc, hybrids, assembledBeforeFT, assembled, e2eAtFTSteps, e2e: e2eAcc },
    seconds: { assembled: secondsA, e2e: secondsE },
    incubation: { threads, seeds: r.seeds, parallelSeconds: r.mtSeconds, sequentialSeconds: seq.seconds, identical, jobSeconds },
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = await runModelAssemblingDigits({ quick, log: (l) => console.log(l) })
  const a = r.accuracy
  console.log(`compute: assembled ${(r.totalMacs.assembled / 1e9).toFixed(2)} G MACs, end-to-end ${(r.totalMacs.e2e / 1e9).toFixed(2)} G MACs (${r.steps.e2e} steps)`)
  console.log(`accuracy: assembled ${(100 * a.assembled).toFixed(1)}% vs end-to-end ${(100 * a.e2e).toFixed(1)}%; after ${r.steps.ft} steps: FT ${(100 * a.assembled).toFixed(1)}% (from ${(100 * a.assembledBeforeFT).toFixed(1)}%) vs from scratch ${(100 * a.e2eAtFTSteps).toFixed(1)}%`)
  console.log(`time: assembled ${r.seconds.assembled.toFixed(1)} s, end-to-end ${r.seconds.e2e.toFixed(1)} s`)
  const m = r.incubation
  console.log(`incubation (${r.dividedDepths.length} jobs): ${m.threads} threads ${m.parallelSeconds.toFixed(2)} s vs sequential ${m.sequentialSeconds.toFixed(2)} s (x${(m.sequentialSeconds / m.parallelSeconds).toFixed(2)}); assembled weights identical: ${m.identical}`)
}

/**
 * @file Paper 52 — "Deep Model Assembling" (Ni et al. 2022, https://arxiv.org/abs/2212.04129): the
 * module-incubation phase (MT) as independent jobs for `runParallel`, and an async three-phase
 * driver that runs them on worker threads.
 *
 * Eqn (4): θ_i* = argmin over θ_i of L(M̃_i), M̃_i = the frozen meta model with stage i replaced by a
 * fresh target stage. Job i only reads the meta model, so the K jobs need no communication: each one
 * gets the meta state dict, the training data, the target config and its own seed, rebuilds the
 * meta model, incubates stage i and returns stage i's state dict. With every random draw of job i
 * (stage init, minibatches, drop path) taken from Generator(seed_i), the result does not depend on
 * where or in which order the jobs run: threads or in-process give the same weights bit for bit.
 *
 * Shapes: images x (N, C, H, W) float32, labels y (N,) int32; stage i maps (B, C, H, W) or (B, T, D)
 * to (B, T, D) or (B, classes) as in 52-deep-model-assembling.ts.
 */
import { Generator } from '../rng.ts'
import { check } from '../errors.ts'
import {
  StagedViT, ViTStage, assembleStages, incubateModule, trainPhase, unfreeze,
  type AssembleOptions, type AssembleResult, type LabelledImages, type PhaseStats, type StagedViTOptions,
} from '../nn/arch/52-deep-model-assembling.ts'
import { now } from '../clock.ts'
import { packState, packTensor, runParallel, unpackState, unpackTensor, type PackedState, type PackedTensor, type RunParallelOptions } from './parallel.ts'

/** URL of this module: the `module` of incubation jobs. */
export const INCUBATION_JOBS_URL: string = (import.meta as { url?: string }).url ?? ''

/** Target config without the generator (a Generator does not survive structured cloning). */
export type StagedViTConfig = Omit<StagedViTOptions, 'generator'>

/** Arguments of one incubation job (all structured-cloneable). */
export interface IncubationJobArgs {
  target: StagedViTConfig
  /** Blocks per stage of the meta model. */
  metaDepths: number[]
  /** `meta.stateDict()` packed. */
  metaState: PackedState
  data: { x: PackedTensor; y: PackedTensor }
  /** Which stage to incubate. */
  stage: number
  /** Seeds the Generator of the stage's init, minibatches and drop path. */
  seed: number
  steps: number
  lr: number
  batch?: number
  weightDecay?: number
}

export interface IncubationJobResult { state: PackedState; stats: PhaseStats }

/** Drop-path rate of each block of stage i: the target's linear rule over the whole depth (as StagedViT). */
function stageDropPaths(depths: number[], p: number, i: number): number[] {
  const depth = depths.reduce((a, b) => a + b, 0), start = depths.slice(0, i).reduce((a, b) => a + b, 0)
  return Array.from({ length: depths[i] }, (_, b) => (depth > 1 ? (p * (start + b)) / (depth - 1) : p))
}

/** A fresh target stage i, initialised from `generator` (the M̃_i module of Eqn (4) before training). */
export function freshStage(target: StagedViTConfig, i: number, generator: Generator): ViTStage {
  const K = target.dividedDepths.length
  check(Number.isInteger(i) && i >= 0 && i < K, 'train.freshStage', () => `stage must be in [0, ${K}), got ${i}`)
  const { dividedDepths, dropPath, ...rest } = target
  return new ViTStage({ ...rest, generator, numBlocks: dividedDepths[i], first: i === 0, last: i === K - 1, dropPaths: stageDropPaths(dividedDepths, dropPath ?? 0, i) })
}

/** The meta model (same width, `metaDepths` blocks per stage, no drop path) holding `state`. */
export function metaFromState(target: StagedViTConfig, metaDepths: number[], state: PackedState): StagedViT {
  const { dividedDepths: _d, dropPath: _p, ...shared } = target
  const meta = new StagedViT({ ...shared, generator: new Generator(0), dividedDepths: metaDepths })
  meta.loadStateDict(unpackState(state))
  return meta
}

/**
 * One incubation job (run by `runParallel` in a worker, or directly): rebuilds the meta model,
 * incubates a fresh stage `args.stage` seeded by `args.seed` (Eqn (4)) and returns its state dict.
 * Reference: https://arxiv.org/abs/2212.04129 (Sec. 3.2, Eqn (4))
 * @example
 *   const { state, stats } = incubateStageJob({ target, metaDepths: [1, 1, 1, 1], metaState: packState(meta.stateDict()), data, stage: 2, seed: 7, steps: 60, lr: 3e-3 })
 */
export function incubateStageJob(args: IncubationJobArgs): IncubationJobResult {
  const meta = metaFromState(args.target, args.metaDepths, args.metaState)
  const g = new Generator(args.seed)
  const stage = freshStage(args.target, args.stage, g)
  const data: LabelledImages = { x: unpackTensor(args.data.x), y: unpackTensor(args.data.y) }
  const { stats } = incubateModule(meta, args.stage, stage, data, { steps: args.steps, lr: args.lr, batch: args.batch, weightDecay: args.weightDecay, generator: g })
  return { state: packState(stage.stateDict()), stats }
}

export interface IncubateStagesOptions extends RunParallelOptions {
  target: StagedViTConfig
  data: LabelledImages
  /** Seed of stage i's job (length K). */
  seeds: number[]
  steps: number
  lr: number
  batch?: number
  weightDecay?: number
}

/**
 * MT on worker threads: the K incubation jobs of `meta` through `runParallel` (threads / spawn as
 * there). Returns the incubated stages (loaded from the jobs' state dicts), their stats and the wall time.
 */
export async function incubateStages(meta: StagedViT, opts: IncubateStagesOptions): Promise<{ stages: ViTStage[]; stats: PhaseStats[]; seconds: number }> {
  const K = opts.target.dividedDepths.length
  check(meta.numStages === K && opts.seeds.length === K, 'train.incubateStages', () => `need a meta model of ${K} stages and ${K} seeds, got ${meta.numStages} stages and ${opts.seeds.length} seeds`)
  const t0 = now()
  const shared = {
    target: opts.target, metaDepths: meta.dividedDepths, metaState: packState(meta.stateDict()),
    data: { x: packTensor(opts.data.x), y: packTensor(opts.data.y) },
    steps: opts.steps, lr: opts.lr, batch: opts.batch, weightDecay: opts.weightDecay,
  }
  const jobs = opts.seeds.map((seed, stage) => ({ module: INCUBATION_JOBS_URL, export: 'incubateStageJob', args: { ...shared, stage, seed } satisfies IncubationJobArgs }))
  const out = await runParallel<IncubationJobResult>(jobs, { threads: opts.threads, spawn: opts.spawn })
  const stages = out.map((r, i) => {
    const s = freshStage(opts.target, i, new Generator(0))
    s.loadStateDict(unpackState(r.state))
    return s
  })
  return { stages, stats: out.map((r) => r.stats), seconds: (now() - t0) / 1000 }
}

/**
 * `train.assemble` with MT on worker threads (`train.assembleParallel`): PT trains the meta model,
 * the K incubations run through `runParallel` (job i seeded by the i-th draw of `opts.generator`
 * after PT), FT assembles and fine-tunes with gradient clipping 1. Same options as `assemble`, plus
 * `threads` and `spawn`.
 */
export async function modelAssemblingParallel(opts: AssembleOptions & RunParallelOptions): Promise<AssembleResult & { seeds: number[]; mtSeconds: number }> {
  const K = opts.target.dividedDepths.length
  const { dividedDepths: _d, dropPath: _p, generator: _g, ...shared } = opts.target
  const meta = new StagedViT({ ...shared, generator: opts.generator, dividedDepths: opts.metaDepths ?? Array<number>(K).fill(1) })
  const common = { batch: opts.batch, generator: opts.generator }
  const pt = trainPhase(meta, meta.parameters(), opts.data, { ...common, steps: opts.steps.pt, lr: opts.lr.pt })
  opts.onPhase?.('PT', pt, meta)
  const seeds = Array.from({ length: K }, () => opts.generator.nextUint32())
  const { generator: _tg, ...target } = opts.target
  const mt = await incubateStages(meta, { target, data: opts.data, seeds, steps: opts.steps.mt, lr: opts.lr.mt, batch: opts.batch, threads: opts.threads, spawn: opts.spawn })
  mt.stages.forEach((s, i) => opts.onPhase?.(`MT${i}`, mt.stats[i], meta.withStage(i, s)))
  unfreeze(meta)
  const assembled = assembleStages(new StagedViT({ ...opts.target, generator: opts.generator }), mt.stages)
  const ft = trainPhase(assembled, assembled.parameters(), opts.data, { ...common, steps: opts.steps.ft, lr: opts.lr.ft, clip: 1 })
  opts.onPhase?.('FT', ft, assembled)
  const totalMacs = [pt, ...mt.stats, ft].reduce((s, p) => s + p.steps * p.macsPerStep, 0)
  return { meta, incubated: mt.stages, target: assembled, stats: { pt, mt: mt.stats, ft }, totalMacs, seeds, mtSeconds: mt.seconds }
}

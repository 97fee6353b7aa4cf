/**
 * @file Paper 52 — "Deep Model Assembling" (Ni, Wang, Zhou, Song, Huang 2022),
 * https://arxiv.org/abs/2212.04129. Official code: LeapLabTHU/Model-Assembling (main.py
 * `module_incubation`, `model_assemb`; timm/models/vision_transformer.py `_register_modules`).
 *
 * Divide-and-conquer training of a large ViT. The target ViT of depth D is cut into K stages
 * (`dividedDepths`, e.g. 2 2 2 2); stage 0 also owns the patch embedding, class token and position
 * embedding, stage K−1 the final LayerNorm and head.
 *   PT  a small meta model (same width, one block per stage) is trained end to end;
 *   MT  module incubation: for each i, hybrid_i = meta model with stage i replaced by a fresh target
 *       stage; only that stage is optimised, the meta stages before it are frozen and those after it
 *       are frozen too but pass gradients back to it (Eqn (4): min over θ_i of L(M̃_i)). The K jobs are
 *       independent;
 *   FT  the incubated stages are assembled into the target model, which is fine-tuned end to end.
 *
 * Shapes: images (B, C, H, W) -> stage 0 -> tokens (B, T, D) -> ... -> stage K−1 -> logits (B, classes).
 */
import { TesseraError, check } from '../../errors.ts'
import { tensor } from '../../creation.ts'
import { noGrad } from '../../autograd.ts'
import type { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { countMacs } from '../../profile.ts'
import { AdamW } from '../../optim/adamw.ts'
import { CosineAnnealingLR } from '../../optim/schedules.ts'
import { clipGradNorm } from '../../optim/clip.ts'
import { crossEntropy } from '../losses.ts'
import { Module, type StateDict } from '../module.ts'
import { ModuleList } from '../containers.ts'
import type { Parameter } from '../parameter.ts'
import { ViTBlock, ViTClassifier, ViTEmbed, resolveViTOptions, type ViTOptions } from '../vit.ts'
import { now } from '../../clock.ts'

/** Options of one stage: the ViT options plus its block count, its place, and its drop-path rates. */
export interface ViTStageOptions extends Omit<ViTOptions, 'depth' | 'dropPath'> {
  numBlocks: number
  /** Stage 0: owns the patch embedding, class token and position embedding. */
  first: boolean
  /** Stage K−1: owns the final norm and the head. */
  last: boolean
  /** Drop-path rate of each block (default 0). */
  dropPaths?: number[]
}

/** One stage of a staged ViT: [embed] → blocks → [classifier]. (B, C, H, W) or (B, T, D) in; (B, T, D) or (B, classes) out. */
export class ViTStage extends Module {
  embed: ViTEmbed | null
  blocks: ModuleList
  classifier: ViTClassifier | null
  readonly first: boolean
  readonly last: boolean
  readonly embedDim: number

  constructor(opts: ViTStageOptions) {
    super()
    const c = resolveViTOptions({ ...opts, depth: opts.numBlocks })
    const o = { generator: c.generator, dtype: c.dtype, initStd: c.initStd }
    this.first = opts.first
    this.last = opts.last
    this.embedDim = c.embedDim
    this.embed = opts.first ? new ViTEmbed(c.imgSize, c.patchSize, c.inChans, c.embedDim, c.pool, o) : null
    this.blocks = new ModuleList(Array.from({ length: opts.numBlocks }, (_, b) => new ViTBlock(c.embedDim, c.numHeads, {
      ...o, mlpRatio: c.mlpRatio, qkvBias: c.qkvBias, dropPath: opts.dropPaths?.[b] ?? 0,
    })))
    this.classifier = opts.last ? new ViTClassifier(c.embedDim, c.numClasses, c.pool, o) : null
  }

  get numBlocks(): number { return this.blocks.length }

  forward(x: Tensor): Tensor {
    let h = this.embed ? this.embed.forward(x) : x // (B, T, D)
    for (const b of this.blocks) h = (b as ViTBlock).forward(h)
    return this.classifier ? this.classifier.forward(h) : h
  }
}

/** A staged ViT: ViT options with `dividedDepths` (blocks per stage) instead of `depth`. */
export interface StagedViTOptions extends Omit<ViTOptions, 'depth'> {
  dividedDepths: number[]
}

/**
 * A ViT whose blocks are grouped in K stages (official `divided_depths`); as a function it is the
 * plain ViT of depth Σ dividedDepths. Drop-path rates rise linearly over the whole depth.
 * Reference: https://arxiv.org/abs/2212.04129 (Sec. 3.1)
 * @example
 *   const target = new StagedViT({ ...small, dividedDepths: [2, 2, 2, 2] })
 *   const meta = new StagedViT({ ...small, dividedDepths: [1, 1, 1, 1] })
 */
export class StagedViT extends Module {
  stages: ModuleList

  constructor(opts: StagedViTOptions | { stages: ViTStage[] }) {
    super()
    if ('stages' in opts) {
      this.stages = new ModuleList(opts.stages)
    } else {
      const K = opts.dividedDepths.length
      check(K >= 1 && opts.dividedDepths.every((n) => Number.isInteger(n) && n >= 0), 'StagedViT', () => `dividedDepths must be non-negative integers, got [${opts.dividedDepths}]`)
      const depth = opts.dividedDepths.reduce((a, b) => a + b, 0), p = opts.dropPath ?? 0
      let start = 0
      this.stages = new ModuleList(opts.dividedDepths.map((n, i) => {
        const dropPaths = Array.from({ length: n }, (_, b) => (depth > 1 ? (p * (start + b)) / (depth - 1) : p))
        start += n
        return new ViTStage({ ...opts, numBlocks: n, first: i === 0, last: i === K - 1, dropPaths })
      }))
    }
    const K = this.stages.length
    for (let i = 0; i < K; i++) {
      const s = this.stage(i)
      check(s.first === (i === 0) && s.last === (i === K - 1), 'StagedViT', () => `stage ${i} of ${K} must have first = ${i === 0} and last = ${i === K - 1}`)
    }
  }

  get numStages(): number { return this.stages.length }

  stage(i: number): ViTStage { return this.stages.at(i) as ViTStage }

  /** Blocks per stage. */
  get dividedDepths(): number[] { return Array.from({ length: this.numStages }, (_, i) => this.stage(i).numBlocks) }

  /** Puts `stage` in place of stage i (same position flags and width). */
  replaceStage(i: number, stage: ViTStage): this {
    const old = this.stage(i)
    if (stage.first !== old.first || stage.last !== old.last || stage.embedDim !== old.embedDim) {
      throw new TesseraError(`StagedViT.replaceStage: stage ${i} needs first = ${old.first}, last = ${old.last}, width ${old.embedDim}; got ${stage.first}, ${stage.last}, ${stage.embedDim}`)
    }
    this.stages[i] = stage
    return this
  }

  /** A new model sharing every stage of this one except stage i, which is `stage` (the hybrid of Eqn (4)). */
  withStage(i: number, stage: ViTStage): StagedViT {
    return new StagedViT({ stages: Array.from({ length: this.numStages }, (_, k) => this.stage(k)) }).replaceStage(i, stage)
  }

  /** Copies a stage's weights (a `ViTStage.stateDict()`) into stage i. */
  loadStage(i: number, state: StateDict): this {
    this.stage(i).loadStateDict(state)
    return this
  }

  forward(x: Tensor): Tensor {
    let h = x
    for (const s of this.stages) h = (s as ViTStage).forward(h)
    return h
  }
}

/** Sets requiresGrad = false on every parameter of `m` (PyTorch's `requires_grad_(False)`). */
export function freeze(m: Module): Module {
  for (const p of m.parameters()) p.requiresGrad = false
  return m
}

/** Sets requiresGrad = true on every parameter of `m`. */
export function unfreeze(m: Module): Module {
  for (const p of m.parameters()) p.requiresGrad = true
  return m
}

/** The parameters of a sub-module, to build an optimizer restricted to it. */
export function paramsOf(m: Module): Parameter[] { return m.parameters() }

/**
 * The incubation hybrid for module i (Eqn (4)): the meta model with stage i replaced by `stage`;
 * every meta stage is frozen (requiresGrad = false) and `stage` is trainable, so gradients flow
 * back through the later meta stages into stage i but no meta parameter gets a gradient.
 */
export function incubationHybrid(meta: StagedViT, i: number, stage: ViTStage): StagedViT {
  for (let k = 0; k < meta.numStages; k++) if (k !== i) freeze(meta.stage(k))
  unfreeze(stage)
  return meta.withStage(i, stage)
}

/**
 * Assembling (official `model_assemb`): copies each incubated stage's weights into the target model's
 * stage of the same index (embedding with stage 0, norm and head with stage K−1) and makes the
 * target trainable.
 */
export function assembleStages(target: StagedViT, incubated: ViTStage[]): StagedViT {
  check(incubated.length === target.numStages, 'train.assembleStages', () => `need ${target.numStages} incubated stages, got ${incubated.length}`)
  incubated.forEach((s, i) => target.loadStage(i, s.stateDict()))
  unfreeze(target)
  return target
}

/** Labelled images to train on: x (N, C, H, W), y (N,) int32. */
export interface LabelledImages { x: Tensor; y: Tensor }

export interface TrainPhaseOptions {
  steps: number
  lr: number
  batch?: number
  weightDecay?: number
  /** Max global gradient norm (FT uses 1). */
  clip?: number
  generator: Generator
  /** Called after each step with the number of steps done. */
  onStep?: (done: number) => void
}

export interface PhaseStats {
  steps: number
  /** Mean loss of the last 10 steps. */
  loss: number
  /** Multiply-adds of one training step (forward + backward), measured with profile.countMacs. */
  macsPerStep: number
  seconds: number
}

/**
 * Trains `params` of `model` with AdamW and a cosine schedule on random minibatches (the optimiser of
 * the paper's three phases: AdamW, cosine, lr scaled with the batch; FT clips gradients at norm 1).
 */
export function trainPhase(model: Module & { forward(x: Tensor): Tensor }, params: Parameter[], data: LabelledImages, opts: TrainPhaseOptions): PhaseStats {
  const batch = opts.batch ?? 32
  const opt = new AdamW(params, { lr: opts.lr, weightDecay: opts.weightDecay ?? 0.05 })
  const sched = new CosineAnnealingLR(opt, { tMax: Math.max(1, opts.steps) })
  model.train()
  const last: number[] = []
  let macsPerStep = 0
  const t0 = now()
  for (let s = 0; s < opts.steps; s++) {
    const ids = tensor(Array.from({ length: batch }, () => opts.generator.nextInt(0, data.x.shape[0])), { dtype: 'int32' })
    opt.zeroGrad()
    const { macs, result: l } = countMacs(() => {
      const loss = crossEntropy(model.forward(data.x.indexSelect(0, ids)), data.y.indexSelect(0, ids))
      loss.backward()
      return loss
    })
    macsPerStep = macs
    if (opts.clip !== undefined) clipGradNorm(params, opts.clip)
    opt.step(); sched.step()
    last.push(l.item()); if (last.length > 10) last.shift()
    opts.onStep?.(s + 1)
  }
  return { steps: opts.steps, loss: last.reduce((a, b) => a + b, 0) / Math.max(1, last.length), macsPerStep, seconds: (now() - t0) / 1000 }
}

/**
 * Module incubation of stage i: trains a fresh target stage inside the frozen meta model
 * (only `stage`'s parameters are in the optimiser). Returns the trained stage and its stats.
 */
export function incubateModule(meta: StagedViT, i: number, stage: ViTStage, data: LabelledImages, opts: TrainPhaseOptions): { stage: ViTStage; stats: PhaseStats } {
  const hybrid = incubationHybrid(meta, i, stage)
  const stats = trainPhase(hybrid, paramsOf(stage), data, opts)
  return { stage, stats }
}

export interface AssembleOptions {
  /** Target ViT options; `dividedDepths` gives K and the blocks per stage. */
  target: StagedViTOptions
  /** Blocks per stage of the meta model (default all ones). */
  metaDepths?: number[]
  data: LabelledImages
  /** Steps of PT (meta model), MT (per module) and FT (assembled model). */
  steps: { pt: number; mt: number; ft: number }
  lr: { pt: number; mt: number; ft: number }
  batch?: number
  generator: Generator
  /** Called after each phase / module. */
  onPhase?: (name: string, stats: PhaseStats, model: StagedViT) => void
}

export interface AssembleResult {
  meta: StagedViT
  incubated: ViTStage[]
  target: StagedViT
  stats: { pt: PhaseStats; mt: PhaseStats[]; ft: PhaseStats }
  /** Σ steps × MACs per step over PT, all MT jobs and FT. */
  totalMacs: number
}

/**
 * The three-phase driver (`train.assemble`): PT trains the meta model, MT incubates the K target
 * stages independently (run one after another here; each job only reads the frozen meta model),
 * FT assembles them and fine-tunes the whole target with gradient clipping 1.
 */
export function modelAssembling(opts: AssembleOptions): AssembleResult {
  const K = opts.target.dividedDepths.length
  const { dividedDepths: _d, dropPath: _p, ...shared } = opts.target
  const meta = new StagedViT({ ...shared, generator: opts.generator, dividedDepths: opts.metaDepths ?? Array<number>(K).fill(1) })
  const common = { batch: opts.batch, generator: opts.generator }
  const pt = trainPhase(meta, meta.parameters(), opts.data, { ...common, steps: opts.steps.pt, lr: opts.lr.pt })
  opts.onPhase?.('PT', pt, meta)
  const target = new StagedViT({ ...opts.target, generator: opts.generator })
  const mt: PhaseStats[] = []
  const incubated = Array.from({ length: K }, (_, i) => {
    const fresh = new ViTStage({ ...opts.target, numBlocks: target.stage(i).numBlocks, first: i === 0, last: i === K - 1, dropPaths: Array.from(target.stage(i).blocks, (b) => (b as ViTBlock).drop_path.p) })
    const { stage, stats } = incubateModule(meta, i, fresh, opts.data, { ...common, steps: opts.steps.mt, lr: opts.lr.mt })
    mt.push(stats)
    opts.onPhase?.(`MT${i}`, stats, meta.withStage(i, stage))
    return stage
  })
  unfreeze(meta)
  assembleStages(target, incubated)
  const ft = trainPhase(target, target.parameters(), opts.data, { ...common, steps: opts.steps.ft, lr: opts.lr.ft, clip: 1 })
  opts.onPhase?.('FT', ft, target)
  const totalMacs = [pt, ...mt, ft].reduce((s, p) => s + p.steps * p.macsPerStep, 0)
  return { meta, incubated, target, stats: { pt, mt, ft }, totalMacs }
}

/** Held-out accuracy in eval mode (no gradients). */
export function evalAccuracy(model: Module & { forward(x: Tensor): Tensor }, data: LabelledImages): number {
  model.eval()
  return noGrad(() => model.forward(data.x).argmax(1).eq(data.y).float().mean().item())
}

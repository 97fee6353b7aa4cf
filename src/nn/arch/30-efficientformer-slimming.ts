/**
 * @file Paper 30, EfficientFormer (Li et al. 2022, "EfficientFormer: Vision Transformers at MobileNet
 * Speed", https://arxiv.org/abs/2206.01191), Sec. 4 "Latency Driven Slimming": the search space, the
 * latency lookup table, the greedy slimming under a latency budget and the subnet builder. The
 * Gumbel-softmax supernet that supplies the importances is in ./30-efficientformer-supernet.ts. Not in
 * the released code: this follows the paper text (the simplifications are listed on `latencySlimming`).
 *
 * Space: 4 stages; stage s has `depths[s]` MetaPath slots, each Meta4D or identity; the last `maxVit`
 * slots of stage 4 may also be Meta3D (trailing, after the 4D->3D flatten); each stage picks one
 * width from `widths[s]`. Map sides: H_1 = stem(side) (two 3x3 s2 convs), H_{s+1} = conv3x3s2(H_s),
 * r = H_4 (the Meta3D token grid, N = r²).
 * Latency table: a plain `Record<string, number>` (ms) keyed `stem:Cin>C@side`, `meta4d:C@H`,
 * `meta3d:C@r`, `embed:Cin>Cout@H` (H = input side), `head:C@r` (flatten + LN + token mean + Linear).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { randn } from '../../creation.ts'
import { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { EfficientFormer, Meta3D, Meta4D, type EfficientFormerOptions, type LatencyBlock } from './30-efficientformer.ts'
import { profile } from './30-efficientformer-latency.ts'
import { trainSupernet, type SupernetTrainOptions } from './30-efficientformer-supernet.ts'

export type BlockKind = 'identity' | 'meta4d' | 'meta3d'

/** The EfficientFormer design space searched by `latencySlimming`. */
export interface SlimmingSpace {
  /** Input image side (pixels). */
  side: number
  inChans?: number
  numClasses?: number
  /** MetaPath slots per stage (the supernet's depth), 4 entries. */
  depths: number[]
  /** Candidate widths per stage, 4 lists; the supernet and the largest subnet use each list's maximum. */
  widths: number[][]
  /** The last `maxVit` slots of stage 4 may be Meta3D (the largest subnet has them all Meta3D). */
  maxVit: number
  /** Fewest non-identity blocks a stage may keep (default 1 each). */
  minDepths?: number[]
  mlpRatio?: number
  numHeads?: number
  keyDim?: number
  layerScaleInit?: number
}

/** A subnet: one width per stage and one kind per slot (Meta3D only in the trailing slots of stage 4). */
export interface SubnetConfig { widths: number[]; blocks: BlockKind[][] }

/** Latency lookup table, ms per entry (see the file header for the keys). */
export type LatencyTable = Record<string, number>

/**
 * Importance of each slot's choices relative to identity, as log-ratios log(π_k / π_I) (= α_k − α_I for
 * the supernet's architecture logits α; the paper's score is the ratio π_k / π_I itself).
 */
export interface SlimmingImportance { blocks: { meta4d: number; meta3d?: number }[][] }

export type SlimmingAction =
  | { type: 'drop'; stage: number; slot: number; kind: BlockKind }
  | { type: 'shrink'; stage: number; from: number; to: number }
  | { type: 'meta3dToMeta4d'; stage: number; slot: number }

export interface SlimmingStep { action: SlimmingAction; latencyMs: number; latencySavedMs: number; importanceLost: number; ratio: number }

const conv3s2 = (h: number) => Math.floor((h + 2 - 3) / 2) + 1

/** Map sides [H_1, H_2, H_3, H_4] of the four stages for an input side (H_4 = r). */
export function stageSides(side: number): number[] {
  const out = [conv3s2(conv3s2(side))]
  for (let s = 1; s < 4; s++) out.push(conv3s2(out[s - 1]))
  return out
}

function checkSpace(sp: SlimmingSpace): void {
  const bad = (msg: string) => { throw new TesseraError(`latencySlimming: space.${msg}`) }
  if (sp.depths.length !== 4 || sp.widths.length !== 4) bad(`depths and widths need 4 entries, got ${sp.depths.length} and ${sp.widths.length}`)
  sp.widths.forEach((w, s) => { if (!w.length || w.some((c) => !(Number.isInteger(c) && c >= 2))) bad(`widths[${s}] must be a non-empty list of integers >= 2, got [${w.join(',')}]`) })
  const minD = sp.minDepths ?? [1, 1, 1, 1]
  sp.depths.forEach((d, s) => { if (!(Number.isInteger(d) && d >= minD[s] && minD[s] >= 0)) bad(`depths[${s}] = ${d} must be an integer >= minDepths[${s}] = ${minD[s]}`) })
  if (!(Number.isInteger(sp.maxVit) && sp.maxVit >= 0 && sp.maxVit <= sp.depths[3])) bad(`maxVit must be in [0, depths[3] = ${sp.depths[3]}], got ${sp.maxVit}`)
  if (!(stageSides(sp.side)[3] >= 1)) bad(`side = ${sp.side} is too small for the /32 network`)
}

/** The largest subnet: maximal widths, every slot a block, the last `maxVit` slots of stage 4 Meta3D. */
export function largestSubnet(space: SlimmingSpace): SubnetConfig {
  checkSpace(space)
  return {
    widths: space.widths.map((w) => Math.max(...w)),
    blocks: space.depths.map((d, s) => Array.from({ length: d }, (_, j): BlockKind => (s === 3 && j >= d - space.maxVit ? 'meta3d' : 'meta4d'))),
  }
}

/** The table keys one config uses, with multiplicity (stem, each block, each embedding, head). */
export function configKeys(space: SlimmingSpace, c: SubnetConfig): string[] {
  const H = stageSides(space.side), w = c.widths, keys = [`stem:${space.inChans ?? 3}>${w[0]}@${space.side}`]
  for (let s = 0; s < 4; s++) {
    for (const k of c.blocks[s]) if (k !== 'identity') keys.push(`${k}:${w[s]}@${H[s]}`)
    if (s < 3) keys.push(`embed:${w[s]}>${w[s + 1]}@${H[s]}`)
  }
  keys.push(`head:${w[3]}@${H[3]}`)
  return keys
}

/** Every key a space's latency table needs (all candidate widths of every block kind). */
export function latencyTableKeys(space: SlimmingSpace): string[] {
  checkSpace(space)
  const H = stageSides(space.side), W = space.widths, keys = W[0].map((c) => `stem:${space.inChans ?? 3}>${c}@${space.side}`)
  for (let s = 0; s < 4; s++) {
    for (const c of W[s]) keys.push(`meta4d:${c}@${H[s]}`)
    if (s < 3) for (const c of W[s]) for (const c2 of W[s + 1]) keys.push(`embed:${c}>${c2}@${H[s]}`)
  }
  for (const c of W[3]) keys.push(`meta3d:${c}@${H[3]}`, `head:${c}@${H[3]}`)
  return [...new Set(keys)]
}

/** Predicted latency of a config: the sum of its table entries (ms). Throws on a missing entry. */
export function predictLatency(space: SlimmingSpace, table: LatencyTable, c: SubnetConfig): number {
  let t = 0
  for (const k of configKeys(space, c)) {
    const v = table[k]
    if (!(typeof v === 'number' && Number.isFinite(v))) throw new TesseraError(`latencySlimming: latency table has no finite entry '${k}'`)
    t += v
  }
  return t
}

/** EfficientFormer options of a subnet (identity slots removed; Meta3D must trail the kept blocks of stage 4). */
export function subnetOptions(space: SlimmingSpace, c: SubnetConfig): EfficientFormerOptions {
  const kept = c.blocks.map((b) => b.filter((k) => k !== 'identity'))
  kept.forEach((b, s) => {
    const first3 = b.indexOf('meta3d')
    if (first3 >= 0 && (s !== 3 || b.slice(first3).some((k) => k !== 'meta3d'))) throw new TesseraError(`subnetOptions: Meta3D blocks must trail stage 4, got stage ${s + 1} = [${b.join(',')}]`)
  })
  return {
    layers: kept.map((b) => b.length), embedDims: [...c.widths], vitNum: kept[3].filter((k) => k === 'meta3d').length,
    resolution: stageSides(space.side)[3], inChans: space.inChans ?? 3, numClasses: space.numClasses ?? 1000, distillation: false,
    mlpRatio: space.mlpRatio, numHeads: space.numHeads, keyDim: space.keyDim, layerScaleInit: space.layerScaleInit,
  }
}

/** A fresh EfficientFormer for a subnet config. */
export function buildSubnet(space: SlimmingSpace, c: SubnetConfig, opts: { generator?: Generator } = {}): EfficientFormer {
  return new EfficientFormer({ ...subnetOptions(space, c), generator: opts.generator })
}

export interface MeasureOptions { batch?: number; runs?: number; warmup?: number; seed?: number }

/** One block as a `latency.profile` model (the module is a child, so eval() reaches it). */
class OneBlock extends Module {
  constructor(readonly m: Module, private readonly block: LatencyBlock) { super() }
  latencyBlocks(): LatencyBlock[] { return [this.block] }
  forward(x: Tensor): Tensor { return this.block.run(x) }
}

/**
 * Measures every entry of the space's latency table on tessera's own kernels: each candidate block
 * (stem, Meta4D, Meta3D, embedding, head at every candidate width and its stage's input side) is built
 * once and timed alone with `latency.profile` (eval, no grad, median of `runs` after `warmup`), on a
 * random batch of `batch` inputs; the whole table is measured twice and the second pass kept. Reference: https://arxiv.org/abs/2206.01191 (Sec. 4.2, the LUT)
 * @example
 *   const table = measureLatencyTable(space, { batch: 64, runs: 5 })
 *   predictLatency(space, table, largestSubnet(space)) // ms per batch of 64
 */
export function measureLatencyTable(space: SlimmingSpace, opts: MeasureOptions = {}): LatencyTable {
  checkSpace(space)
  const B = opts.batch ?? 1, g = new Generator(opts.seed ?? 0), H = stageSides(space.side), r = H[3], W = space.widths
  const inC = space.inChans ?? 3, table: LatencyTable = {}, jobs: [string, () => void][] = []
  const time = (key: string, m: Module, run: (x: Tensor) => Tensor, shape: number[]) => {
    if (jobs.some(([k]) => k === key)) return
    const block = new OneBlock(m, { name: key, kind: key.split(':')[0], run }), x = randn(shape, { generator: g })
    jobs.push([key, () => { table[key] = profile(block, x, { runs: opts.runs ?? 5, warmup: opts.warmup ?? 1 }).totalMs }])
  }
  const frame = (d: number[]) => new EfficientFormer({ layers: [0, 0, 0, 0], embedDims: d, vitNum: 0, resolution: r, inChans: inC, numClasses: space.numClasses ?? 1000, distillation: false, generator: g })
  const blockOpts = { mlpRatio: space.mlpRatio, layerScaleInit: space.layerScaleInit, generator: g }
  for (let s = 0; s < 4; s++) {
    for (const c of W[s]) {
      const d = [0, 1, 2, 3].map((i) => (i === s ? c : Math.min(...W[i])))
      if (s === 0) {
        const f = frame(d)
        time(`stem:${inC}>${c}@${space.side}`, f, f.latencyBlocks()[0].run, [B, inC, space.side, space.side])
      }
      const m4 = new Meta4D(c, blockOpts)
      time(`meta4d:${c}@${H[s]}`, m4, (x) => m4.forward(x), [B, c, H[s], H[s]])
      if (s === 3) {
        const m3 = new Meta3D(c, r, { ...blockOpts, numHeads: space.numHeads, keyDim: space.keyDim })
        time(`meta3d:${c}@${r}`, m3, (x) => m3.forward(x), [B, r * r, c])
        const hf = frame(d), hb = hf.latencyBlocks()
        const flat = hb.find((b) => b.name === 'flat')!, head = hb.find((b) => b.name === 'head')!
        time(`head:${c}@${r}`, hf, (x) => head.run(flat.run(x)), [B, c, r, r])
      } else {
        for (const c2 of W[s + 1]) {
          const ef = frame(d.map((v, i) => (i === s + 1 ? c2 : v))), eb = ef.latencyBlocks().find((b) => b.name === `embed${s + 1}${s + 2}`)!
          time(`embed:${c}>${c2}@${H[s]}`, ef, eb.run, [B, c, H[s], H[s]])
        }
      }
    }
  }
  // NOTE: one untimed pass over every block first: the JIT tiers kernels up over the first few calls,
  // which otherwise inflates the first entries (measured 2-3x on the first stem / Meta4D).
  for (const [, job] of jobs) job()
  for (const [, job] of jobs) job()
  return table
}

const clone = (c: SubnetConfig): SubnetConfig => ({ widths: [...c.widths], blocks: c.blocks.map((b) => [...b]) })

function applyAction(c: SubnetConfig, a: SlimmingAction): SubnetConfig {
  const n = clone(c)
  if (a.type === 'drop') n.blocks[a.stage][a.slot] = 'identity'
  else if (a.type === 'meta3dToMeta4d') n.blocks[a.stage][a.slot] = 'meta4d'
  else n.widths[a.stage] = a.to
  return n
}

/** Importance a slot's current kind holds over identity, clamped at 0 for the stage score. */
function blockScore(imp: SlimmingImportance, s: number, j: number, k: BlockKind): number {
  const e = imp.blocks[s]?.[j]
  if (!e || (k === 'meta3d' && e.meta3d === undefined)) throw new TesseraError(`latencySlimming: importance.blocks[${s}][${j}] has no '${k}' score`)
  return k === 'identity' ? 0 : k === 'meta4d' ? e.meta4d : e.meta3d!
}

/**
 * Every legal action from config `c` with its importance lost (see `latencySlimming`), in a fixed
 * order: drops (stage, slot), then the first Meta3D -> Meta4D, then width shrinks (stage).
 */
export function candidateActions(space: SlimmingSpace, imp: SlimmingImportance, c: SubnetConfig): { action: SlimmingAction; importanceLost: number }[] {
  const minD = space.minDepths ?? [1, 1, 1, 1], out: { action: SlimmingAction; importanceLost: number }[] = []
  c.blocks.forEach((b, s) => {
    const active = b.filter((k) => k !== 'identity').length
    if (active > minD[s]) b.forEach((k, j) => { if (k !== 'identity') out.push({ action: { type: 'drop', stage: s, slot: j, kind: k }, importanceLost: blockScore(imp, s, j, k) }) })
  })
  const j3 = c.blocks[3].indexOf('meta3d')
  if (j3 >= 0) out.push({ action: { type: 'meta3dToMeta4d', stage: 3, slot: j3 }, importanceLost: blockScore(imp, 3, j3, 'meta3d') - blockScore(imp, 3, j3, 'meta4d') })
  for (let s = 0; s < 4; s++) {
    const smaller = space.widths[s].filter((w) => w < c.widths[s])
    if (!smaller.length) continue
    const to = Math.max(...smaller), stageScore = c.blocks[s].reduce((a, k, j) => a + Math.max(0, blockScore(imp, s, j, k)), 0)
    out.push({ action: { type: 'shrink', stage: s, from: c.widths[s], to }, importanceLost: stageScore * (1 - to / c.widths[s]) })
  }
  return out
}

/**
 * The fastest reachable subnet and its latency: `minDepths[s]` blocks per stage (in stage 4 up to
 * `maxVit` of them Meta3D when that is cheaper) and the widths minimising the chain
 * stem(w_1) + Σ_s blocks(s, w_s) + Σ_s embed(w_s -> w_{s+1}) + head(w_4), by dynamic programming over
 * the stages (a measured table need not be monotone in width).
 */
export function smallestSubnet(space: SlimmingSpace, table: LatencyTable): { config: SubnetConfig; latencyMs: number } {
  checkSpace(space)
  const minD = space.minDepths ?? [1, 1, 1, 1], H = stageSides(space.side), W = space.widths, D = space.depths
  const get = (k: string) => {
    const v = table[k]
    if (!(typeof v === 'number' && Number.isFinite(v))) throw new TesseraError(`latencySlimming: latency table has no finite entry '${k}'`)
    return v
  }
  const n3 = (s: number, w: number) => (s === 3 && get(`meta3d:${w}@${H[3]}`) < get(`meta4d:${w}@${H[3]}`) ? Math.min(space.maxVit, minD[3]) : 0)
  const blocks = (s: number, w: number) => (minD[s] - n3(s, w)) * get(`meta4d:${w}@${H[s]}`) + (n3(s, w) ? n3(s, w) * get(`meta3d:${w}@${H[3]}`) : 0)
  let cost = W[0].map((w) => get(`stem:${space.inChans ?? 3}>${w}@${space.side}`) + blocks(0, w)) // (|W_1|,)
  const back: number[][] = []
  for (let s = 1; s < 4; s++) {
    const prev = cost, arg: number[] = []
    cost = W[s].map((w2, j) => {
      let best = Infinity
      W[s - 1].forEach((w, i) => { const c = prev[i] + get(`embed:${w}>${w2}@${H[s - 1]}`); if (c < best) { best = c; arg[j] = i } })
      return best + blocks(s, w2)
    })
    back.push(arg)
  }
  cost = cost.map((c, i) => c + get(`head:${W[3][i]}@${H[3]}`))
  const idx = [cost.indexOf(Math.min(...cost))]
  for (let s = 2; s >= 0; s--) idx.unshift(back[s][idx[0]])
  const widths = idx.map((i, s) => W[s][i])
  // keep the last minDepths[s] slots of each stage; in stage 4 the last n3 of them Meta3D
  const config: SubnetConfig = {
    widths,
    blocks: D.map((d, s): BlockKind[] => Array.from({ length: d }, (_, j) => (j < d - minD[s] ? 'identity' : j >= d - n3(s, widths[s]) ? 'meta3d' : 'meta4d'))),
  }
  return { config, latencyMs: predictLatency(space, table, config) }
}

/**
 * The greedy slimming path from config `start`: at each step apply the legal action with the smallest
 * max(0, importance lost) / latency saved (only actions saving > 0 ms; ties: larger saving, then the
 * `candidateActions` order), until the latency is <= `stopMs` or no action saves latency. The path does
 * not depend on the budget, so a tighter budget only walks further along it.
 * Reference: https://arxiv.org/abs/2206.01191 (Sec. 4.2)
 */
export function slimmingPath(space: SlimmingSpace, table: LatencyTable, imp: SlimmingImportance, start: SubnetConfig, stopMs = -Infinity): { config: SubnetConfig; latencyMs: number; trace: SlimmingStep[] } {
  let c = clone(start), lat = predictLatency(space, table, c)
  const trace: SlimmingStep[] = []
  while (lat > stopMs) {
    let best: SlimmingStep | null = null, bestC: SubnetConfig | null = null
    for (const { action, importanceLost } of candidateActions(space, imp, c)) {
      const nc = applyAction(c, action), nl = predictLatency(space, table, nc), saved = lat - nl
      if (!(saved > 0)) continue
      const ratio = Math.max(0, importanceLost) / saved
      if (!best || ratio < best.ratio || (ratio === best.ratio && saved > best.latencySavedMs)) {
        best = { action, latencyMs: nl, latencySavedMs: saved, importanceLost, ratio }
        bestC = nc
      }
    }
    if (!best || !bestC) break
    trace.push(best)
    c = bestC
    lat = best.latencyMs
  }
  return { config: c, latencyMs: lat, trace }
}

export interface LatencySlimmingOptions {
  space: SlimmingSpace
  /** A ready latency table (e.g. synthetic in tests); else it is measured with `measure`. */
  latencyTable?: LatencyTable
  measure?: MeasureOptions
  budgetMs: number
  /** Importances; else the Gumbel-softmax supernet is trained on `data` for `steps` steps. */
  importance?: SlimmingImportance
  data?: { x: Tensor; y: Tensor }
  steps?: number
  train?: Omit<SupernetTrainOptions, 'steps' | 'seed'>
  seed?: number
}

export interface LatencySlimmingResult {
  config: SubnetConfig
  /** Σ of the config's table entries (ms). */
  predictedMs: number
  /** The largest subnet's predicted latency (the start of the path). */
  startMs: number
  trace: SlimmingStep[]
  importance: SlimmingImportance
  latencyTable: LatencyTable
  /** EfficientFormer options of the chosen subnet (pass to `new EfficientFormer`, or use `buildSubnet`). */
  options: EfficientFormerOptions
}

/**
 * EfficientFormer's latency-driven slimming (Sec. 4.2). (1) Importance: a supernet with one MetaPath per
 * slot, X_{i+1} = Σ_n softmax((α_i + ε_i)/τ)_n MP_n(X_i) with Gumbel noise ε (identity, Meta4D, and
 * Meta3D in the trailing slots of stage 4), trained jointly (weights and α) on a proxy task; the score
 * of choice k in slot i is log(π_k/π_I) = α_k − α_I. (2) Latency lookup table of every candidate block.
 * (3) Slimming from the largest subnet: repeatedly take the action with the least importance lost per ms
 * saved (`slimmingPath`) until the predicted latency is <= budgetMs.
 * Actions and their importance lost: drop slot (s, j) to identity: score_k(s, j); turn the first Meta3D
 * into Meta4D: score_3D − score_4D; shrink stage s to the next smaller width: S_s (1 − w'/w), with the
 * stage score S_s = Σ over its kept slots of max(0, score). The ratio uses max(0, importance lost): a
 * negative loss (the supernet prefers the cheaper choice) is free, and ties go to the larger saving.
 * The paper's "remove the first MB3D" is read as turning it into Meta4D (removing it is a drop).
 * Simplifications vs the paper: the paper evaluates the accuracy drop of each candidate action on the
 * supernet; here the importance lost comes from the trained α alone (no per-action evaluation), every
 * kept slot is a candidate (the paper proposes only the least important MP), and the supernet has a
 * single (maximal) width, so width importance is the stage score scaled by the removed channel fraction.
 * Throws a TesseraError when budgetMs is below the smallest reachable subnet.
 * Reference: https://arxiv.org/abs/2206.01191 (Sec. 4)
 * @example
 *   const r = latencySlimming({ space, latencyTable, importance, budgetMs: 20 })
 *   const model = buildSubnet(space, r.config) // r.predictedMs <= 20
 */
export function latencySlimming(o: LatencySlimmingOptions): LatencySlimmingResult {
  const { space, budgetMs } = o
  checkSpace(space)
  if (!(Number.isFinite(budgetMs) && budgetMs > 0)) throw new TesseraError(`latencySlimming: budgetMs must be a positive finite number, got ${budgetMs}`)
  const table = o.latencyTable ?? measureLatencyTable(space, { seed: o.seed, ...o.measure })
  const start = largestSubnet(space), startMs = predictLatency(space, table, start), min = smallestSubnet(space, table)
  if (budgetMs < min.latencyMs) throw new TesseraError(`latencySlimming: budgetMs = ${budgetMs.toFixed(3)} ms is below the smallest subnet of the space (${min.latencyMs.toFixed(3)} ms: widths [${min.config.widths.join(',')}], depths [${(space.minDepths ?? [1, 1, 1, 1]).join(',')}]); the largest is ${startMs.toFixed(3)} ms`)
  let importance = o.importance
  if (!importance) {
    if (!o.data) throw new TesseraError('latencySlimming: pass importance or data (x (N, C, side, side), y (N,)) to train the supernet')
    importance = trainSupernet(space, o.data, { ...o.train, steps: o.steps, seed: o.seed }).importance
  }
  const path = slimmingPath(space, table, importance, start, budgetMs)
  if (path.latencyMs > budgetMs) throw new TesseraError(`latencySlimming: no latency-saving action left at ${path.latencyMs.toFixed(3)} ms > budgetMs = ${budgetMs.toFixed(3)} ms (the table is not monotone in width/depth along the greedy path)`)
  return { config: path.config, predictedMs: path.latencyMs, startMs, trace: path.trace, importance, latencyTable: table, options: subnetOptions(space, path.config) }
}

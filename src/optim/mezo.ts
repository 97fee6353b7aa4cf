/**
 * @file MeZO, the memory-efficient zeroth-order optimizer: Malladi et al. 2023, "Fine-Tuning Language
 * Models with Just Forward Passes" (https://arxiv.org/abs/2305.17333; reference code
 * princeton-nlp/MeZO `large_models/trainer.py`, `zo_perturb_parameters` / `zo_step` / `zo_update`).
 * Sheet 46.
 *
 * One step is SPSA (Spall 1992) with n = 1 and a seed instead of a stored direction (Algorithm 1):
 *   s ← fresh seed;  θ ← θ + εz(s);  ℓ₊ = L(θ);  θ ← θ − 2εz(s);  ℓ₋ = L(θ);  θ ← θ + εz(s)
 *   g = (ℓ₊ − ℓ₋)/(2ε)                                          // Eqn (1), the projected gradient
 *   θ ← θ − lr·(g·z(s) + λθ)                                     // λ only for tensors not named bias/LayerNorm
 * z(s) ~ N(0, I) is never stored: each of the four passes re-seeds one Generator with s and walks the
 * parameters in the same order (groups, then tensors, then elements in row-major logical order), so
 * every pass sees the same z. Parameters are written in place through their storage; the optimizer
 * allocates no tensors, no gradient buffers and no per-parameter state.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { Tensor } from '../tensor.ts'
import { Generator, type GeneratorState } from '../rng.ts'
import { Optimizer, type FloatArray, type OptimizerStateDict, type ParamGroup, type ParamsInput } from './optimizer.ts'
import { isExcluded, type ExcludeRule } from './layer-adaptation.ts'

/** Per-group hyperparameters (schedulers change `lr`). */
export interface MeZOOptions {
  lr: number
  /** λ, decoupled from g: θ ← θ − lr·λθ, skipped for names matching `noDecay`. */
  weightDecay: number
}

/** Constructor options: group defaults plus settings shared by all groups. */
export interface MeZOConfig extends Partial<MeZOOptions> {
  lr: number
  /** Perturbation scale ε (shared by all groups: g is one scalar). Default 1e-3. */
  eps?: number
  /** Seed of the stream of per-step seeds. Default 0. Same seed, same trajectory, bit for bit. */
  seed?: number
  /** Tensors excluded from weight decay, by name. Default /bias|layer_?norm/i (the reference code's rule). */
  noDecay?: ExcludeRule
  /** Debug hook: sees every z value each pass uses, with the parameter's index and the element's index. */
  onZ?: ZHook
}

/** The four passes over the parameters in one step. */
export type ZPass = 'plus' | 'minus' | 'restore' | 'update'
export type ZHook = (pass: ZPass, param: number, element: number, z: number) => void

/** What one step reports. */
export interface MeZOStepResult {
  /** g = (ℓ₊ − ℓ₋)/(2ε). */
  projectedGrad: number
  lossPlus: number
  lossMinus: number
  /** The seed z was generated from. */
  seed: number
}

/** A MeZO state dict: the base layout plus the seed stream, so a resumed run replays the same seeds. */
export interface MeZOStateDict extends OptimizerStateDict {
  mezo?: { seeds: GeneratorState; stepCount: number }
}

/** The default `noDecay` rule of sheet 46 / the MeZO reference trainer. */
export const MEZO_NO_DECAY = /bias|layer_?norm/i

/** A deterministic N(0, 1) stream from a seed: what MeZO re-seeds each pass. */
export function normalStream(seed: number): () => number {
  const gen = new Generator(seed)
  return () => gen.nextNormal()
}

/**
 * MeZO (zeroth-order SGD with in-place seeded perturbations). `step(closure)` calls `closure` twice
 * under `noGrad`; the closure returns the loss as a number (or a one-element tensor) and may be any
 * objective, differentiable or not (accuracy, F1). Put modules in eval mode yourself if the
 * objective must be deterministic (the paper runs both forwards without dropout).
 *
 * Reference: https://arxiv.org/abs/2305.17333 (Algorithm 1)
 *
 * @example
 *   const opt = new optim.MeZO(model.namedParameters(), { lr: 1e-4, eps: 1e-3, seed: 1 })
 *   const { projectedGrad } = opt.step(() => lossFn(model.forward(x), y).item())
 */
export class MeZO extends Optimizer<MeZOOptions, Record<string, never>> {
  readonly eps: number
  readonly noDecay: ExcludeRule
  /** Number of steps taken. */
  stepCount = 0
  protected readonly onZ: ZHook | null
  private readonly seeds: Generator
  private readonly z = new Generator(0)

  constructor(params: ParamsInput<MeZOOptions>, config: MeZOConfig) {
    const { eps = 1e-3, seed = 0, noDecay = MEZO_NO_DECAY, onZ, ...hyper } = config ?? ({} as MeZOConfig)
    super(params, { weightDecay: 0, ...hyper } as MeZOOptions)
    const op = this.constructor.name
    if (!(typeof eps === 'number' && eps > 0 && Number.isFinite(eps))) throw new TesseraError(`${op}: eps must be a finite number > 0, got ${String(eps)}`)
    if (!Number.isFinite(seed)) throw new TesseraError(`${op}: seed must be a finite number, got ${String(seed)}`)
    for (const g of this.paramGroups) {
      g.params.forEach((p, i) => {
        if (p.dtype !== 'float32' && p.dtype !== 'float64') {
          throw new TesseraError(`${op}: parameter ${g.paramNames[i] || i} is ${p.dtype}; only float32 and float64 parameters are supported`)
        }
      })
    }
    this.eps = eps
    this.noDecay = noDecay
    this.onZ = onZ ?? null
    this.seeds = new Generator(seed)
  }

  protected initState(): Record<string, never> { return {} }

  /** MeZO has no per-gradient rule; the base class never calls this because `step` is overridden. */
  protected update(): void {
    throw new TesseraError(`${this.constructor.name}: zeroth-order optimizers do not consume gradients`)
  }

  /**
   * One MeZO step: two evaluations of `closure` at θ ± εz, restore, then the update. Returns the
   * projected gradient and both losses. (The second overload only keeps the base class's type.)
   */
  override step(closure: () => number | Tensor): MeZOStepResult
  override step<T>(closure?: () => T): T | undefined
  override step(closure?: () => unknown): unknown {
    const op = `${this.constructor.name}.step`
    if (typeof closure !== 'function') throw new TesseraError(`${op}: needs a closure that returns the loss (a number or a one-element tensor)`)
    const seed = this.seeds.nextUint32()
    const eps = this.eps
    return noGrad(() => {
      this.beginStep()
      let offset = 0 // how many ε·z the parameters are currently away from θ
      try {
        this.pass(seed, 'plus', (x, z) => x + eps * z) // θ + εz
        offset = 1
        const lossPlus = readLoss(op, closure())
        this.pass(seed, 'minus', (x, z) => x - 2 * eps * z) // θ − εz
        offset = -1
        const lossMinus = readLoss(op, closure())
        this.pass(seed, 'restore', (x, z) => x + eps * z) // θ
        offset = 0
        const g = (lossPlus - lossMinus) / (2 * eps) // Eqn (1)
        this.pass(seed, 'update', (x, z, group, decay) => x - group.lr * (g * z + decay * x))
        this.stepCount++
        return { projectedGrad: g, lossPlus, lossMinus, seed }
      } finally {
        if (offset !== 0) this.pass(seed, 'restore', (x, z) => x - offset * eps * z) // the closure threw: put θ back
        this.endStep()
      }
    })
  }

  /** The base state dict (hyperparameters) plus the state of the per-step seed stream. */
  override stateDict(): MeZOStateDict {
    const s = this.seeds.getState()
    return { ...super.stateDict(), mezo: { seeds: { s: [...s.s], spare: s.spare }, stepCount: this.stepCount } }
  }

  /** Restores hyperparameters and, when present, the seed stream and step count. */
  override loadStateDict(sd: MeZOStateDict): void {
    super.loadStateDict(sd)
    if (sd.mezo !== undefined) {
      this.seeds.setState(sd.mezo.seeds)
      this.stepCount = sd.mezo.stepCount
    }
  }

  /** Hook for subclasses: called before the first pass of a step (Sparse MeZO computes its masks here). */
  protected beginStep(): void {}
  /** Hook for subclasses: called after the step, also when it throws. */
  protected endStep(): void {}
  /** Hook for subclasses: whether element `e` of parameter `k` (global index) moves this step. */
  protected moves(_k: number, _e: number): boolean { return true }

  /**
   * One pass: re-seeds z with `seed`, draws z for every element of every parameter in order and, for
   * elements that move, writes `fn(x, z, group, decay)` in place. Bumps each tensor's version.
   */
  private pass(seed: number, kind: ZPass, fn: (x: number, z: number, group: ParamGroup<MeZOOptions>, decay: number) => number): void {
    this.z.manualSeed(seed)
    const z = this.z, hook = this.onZ
    let k = 0
    for (const group of this.paramGroups) {
      group.params.forEach((p, i) => {
        const idx = k++
        const decay = kind === 'update' && group.weightDecay !== 0 && !isExcluded(this.noDecay, group.paramNames[i], p) ? group.weightDecay : 0
        const data = p.storage as FloatArray
        let e = 0
        forEachOffset(p, (o) => {
          const zi = z.nextNormal()
          const el = e++
          if (!this.moves(idx, el)) return
          if (hook !== null) hook(kind, idx, el, zi)
          data[o] = fn(data[o], zi, group, decay)
        })
        p._store.version++
      })
    }
  }
}

function readLoss(op: string, v: unknown): number {
  const x = v instanceof Tensor ? v.item() : v
  if (typeof x !== 'number') throw new TesseraError(`${op}: the closure must return a number or a one-element tensor, got ${typeof x}`)
  if (!Number.isFinite(x)) throw new TesseraError(`${op}: the closure returned a non-finite loss (${x}); parameters were restored`)
  return x
}

/** Calls `fn(storageIndex)` for each element of `t` in row-major logical order (contiguous fast path). */
export function forEachOffset(t: Tensor, fn: (o: number) => void): void {
  const n = t.numel()
  if (n === 0) return
  if (t.isContiguous()) {
    for (let i = 0; i < n; i++) fn(t.offset + i)
    return
  }
  const { shape, strides } = t
  const nd = shape.length
  const idx = new Array<number>(nd).fill(0)
  let o = t.offset
  for (let i = 0; i < n; i++) {
    fn(o)
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++
      o += strides[d]
      if (idx[d] < shape[d]) break
      o -= strides[d] * shape[d]
      idx[d] = 0
    }
  }
}

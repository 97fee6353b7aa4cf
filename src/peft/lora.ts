/**
 * @file LoRA: Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"
 * (https://arxiv.org/abs/2106.09685), with the initialisation and scaling of HuggingFace peft
 * (`peft/tuners/lora/layer.py`, `LoraLayer.update_layer` / `Linear.forward` / `merge`).
 *
 * Eqn (3): h = W₀x + ΔWx = W₀x + (α/r)·B A x, with W₀ (out, in) frozen, A (r, in), B (out, r).
 * A ~ kaiming-uniform(a = √5) (peft's default, PyTorch's Linear init), B = 0, so ΔW = 0 at the start.
 * Dropout applies to the input of the LoRA path only: h = W₀x + b + (α/r)·B A dropout(x).
 * merge(): W₀ ← W₀ + (α/r)·B A (no inference latency, Sec. 4.1); unmerge() subtracts it again.
 *
 * Shapes: x (..., in) → h (..., out).
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import type { Tensor } from '../tensor.ts'
import { zeros, empty } from '../creation.ts'
import { dropout } from '../functional.ts'
import type { Generator } from '../rng.ts'
import { Module } from '../nn/module.ts'
import { Linear } from '../nn/linear.ts'
import { Parameter } from '../nn/parameter.ts'
import { kaimingUniform_ } from '../nn/init.ts'

export interface LoRAOptions {
  /** Rank r ≥ 1. Default 8. */
  r?: number
  /** α; the LoRA path is scaled by α/r. Default equal to r (scaling 1). */
  alpha?: number
  /** Dropout probability on the LoRA path's input. Default 0. */
  dropout?: number
  /** Generator for A's initialisation and for dropout. */
  generator?: Generator
}

/**
 * A Linear layer with a low-rank adapter. The wrapped layer (`base`) is frozen: its parameters get
 * `requiresGrad = false`. Only `loraA` and `loraB` are trainable.
 *
 * Reference: https://arxiv.org/abs/2106.09685 (Eqn 3)
 *
 * @example
 *   const layer = new peft.LoRA(new nn.Linear(64, 32), { r: 4, alpha: 8 })
 *   const y = layer.forward(x) // base(x) + 2 · x Aᵀ Bᵀ
 */
export class LoRA extends Module {
  readonly base: Linear
  /** A (r, in). */
  loraA: Parameter
  /** B (out, r), zero at the start. */
  loraB: Parameter
  readonly r: number
  readonly alpha: number
  readonly scaling: number
  readonly dropoutP: number
  private readonly generator: Generator | undefined
  private isMerged = false

  constructor(base: Linear, opts: LoRAOptions = {}) {
    super()
    if (!(base instanceof Linear)) throw new TesseraError('LoRA: can only wrap an nn.Linear')
    const r = opts.r ?? 8
    if (!Number.isInteger(r) || r < 1) throw new TesseraError(`LoRA: r must be an integer >= 1, got ${r}`)
    const alpha = opts.alpha ?? r
    if (!(typeof alpha === 'number' && Number.isFinite(alpha))) throw new TesseraError(`LoRA: alpha must be a finite number, got ${String(alpha)}`)
    const p = opts.dropout ?? 0
    if (!(p >= 0 && p < 1)) throw new TesseraError(`LoRA: dropout must be in [0, 1), got ${p}`)
    this.base = base
    this.r = r
    this.alpha = alpha
    this.scaling = alpha / r
    this.dropoutP = p
    Object.defineProperty(this, 'generator', { value: opts.generator, enumerable: false })
    for (const w of base.parameters()) w.requiresGrad_(false)
    const dtype = base.weight.dtype as 'float32' | 'float64'
    this.loraA = new Parameter(kaimingUniform_(empty([r, base.inFeatures], { dtype }), { a: Math.sqrt(5), generator: opts.generator }))
    this.loraB = new Parameter(zeros([base.outFeatures, r], { dtype }))
  }

  /** True while ΔW is folded into the base weight. */
  get merged(): boolean { return this.isMerged }

  forward(x: Tensor): Tensor {
    const h = this.base.forward(x) // (..., out)
    if (this.isMerged) return h
    const u = dropout(x, this.dropoutP, { training: this.training, generator: this.generator }) // (..., in)
    return h.add(u.matmul(this.loraA.T).matmul(this.loraB.T).mul(this.scaling)) // Eqn (3)
  }

  /** ΔW = (α/r)·B A, shape (out, in). */
  deltaWeight(): Tensor {
    return noGrad(() => this.loraB.matmul(this.loraA).mul(this.scaling))
  }

  /** Folds ΔW into the base weight in place: W₀ ← W₀ + (α/r)·B A. */
  merge(): this {
    if (this.isMerged) throw new TesseraError('LoRA.merge: already merged')
    noGrad(() => this.base.weight.add_(this.deltaWeight()))
    this.isMerged = true
    return this
  }

  /** Undoes `merge()`: W₀ ← W₀ − (α/r)·B A (exact up to float rounding). */
  unmerge(): this {
    if (!this.isMerged) throw new TesseraError('LoRA.unmerge: not merged')
    noGrad(() => this.base.weight.sub_(this.deltaWeight()))
    this.isMerged = false
    return this
  }
}

/** Which Linear layers to adapt: a name pattern, a list of name suffixes, or a predicate. */
export type LoRATargets = RegExp | readonly string[] | ((name: string, layer: Linear) => boolean)

export interface ApplyLoRAOptions extends LoRAOptions {
  targets: LoRATargets
  /** Freeze every parameter that is not a LoRA parameter (peft's `mark_only_lora_as_trainable`). Default true. */
  freezeOthers?: boolean
}

function matches(targets: LoRATargets, name: string, layer: Linear): boolean {
  if (targets instanceof RegExp) { targets.lastIndex = 0; return targets.test(name) }
  if (typeof targets === 'function') return targets(name, layer)
  return targets.some((t) => name === t || name.endsWith(`.${t}`))
}

/**
 * Replaces every matching `nn.Linear` child of `module` (at any depth) by a `LoRA` wrapping it and,
 * by default, freezes every other parameter. Returns the dotted names of the replaced layers.
 * Throws if nothing matches.
 *
 * @example
 *   peft.applyLoRA(model, { targets: /attn\.(q|v)$/, r: 8, alpha: 16 })
 *   const opt = new optim.MeZO(peft.trainableParameters(model), { lr: 5e-5, eps: 1e-2 })
 */
export function applyLoRA(module: Module, opts: ApplyLoRAOptions): string[] {
  const found: [Module, string, Linear, string][] = []
  const inside = new Set<Module>()
  for (const [name, m] of module.namedModules()) {
    if (m instanceof LoRA) { inside.add(m.base); continue }
    if (inside.has(m)) continue
    for (const [key, child] of m.namedChildren()) {
      const full = name ? `${name}.${key}` : key
      if (child instanceof Linear && !inside.has(child) && matches(opts.targets, full, child)) found.push([m, key, child, full])
    }
  }
  if (found.length === 0) throw new TesseraError('applyLoRA: no nn.Linear layer matches targets')
  for (const [parent, key, child] of found) (parent as unknown as Record<string, Module>)[key] = new LoRA(child, opts)
  if (opts.freezeOthers ?? true) {
    for (const [name, p] of module.namedParameters()) if (!/(^|\.)lora[AB]$/.test(name)) p.requiresGrad_(false)
  }
  return found.map(([, , , full]) => full)
}

/** The parameters that still require grad, with names: what to hand to an optimizer after `applyLoRA`. */
export function trainableParameters(module: Module): [string, Parameter][] {
  return [...module.namedParameters()].filter(([, p]) => p.requiresGrad)
}

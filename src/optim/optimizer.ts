/**
 * @file `Optimizer`, the base of every optimizer in `optim` (like `torch.optim.Optimizer`).
 *
 * Parameters live in groups, as in PyTorch (https://pytorch.org/docs/stable/optim.html#per-parameter-options).
 * Each group holds its own hyperparameters (`lr`, `weightDecay`, ...), which schedulers change in
 * place. State is per parameter tensor and kept in the parameter's dtype, like torch's.
 *
 * `step()` walks every parameter whose `.grad` is set, hands the subclass flat contiguous copies of
 * the parameter (numel) and gradient (numel), lets it update the parameter copy element by element
 * in float64 arithmetic (each store rounds to the parameter's dtype), and writes the result back in
 * place under `noGrad`, so modules and views holding the parameter see the new values.
 *
 * State dicts follow torch's layout in camelCase: `{ state: { index: {...} }, paramGroups: [{ ...hyper,
 * params: [index, ...] }] }`, with parameters numbered across groups in order.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { enableGrad, noGrad } from '../autograd.ts'
import { Tensor } from '../tensor.ts'
import { fromTypedArray } from '../creation.ts'
import type { DType, TypedArray } from '../dtype.ts'
import { checkHyper, toGroupSpecs, splitParams, type ParamsInput, type ParamGroupSpec } from './param-groups.ts'

export type { ParamsInput, ParamGroupSpec, ParamsLike } from './param-groups.ts'

/** A flat, contiguous float buffer: a parameter copy or a state tensor's storage. */
export type FloatArray = Float32Array | Float64Array

/** Hyperparameters every optimizer has. */
export interface HyperBase { lr: number }

/** What every group carries beside its hyperparameters. */
export interface GroupBase {
  /** The parameters of this group, in order. */
  params: Tensor[]
  /** Their names ('' for parameters passed without one), used by name-based rules such as LAMB's exclusions. */
  paramNames: string[]
  /** Set by the first LR scheduler attached to the optimizer: the lr it scales. */
  initialLr?: number
}

export type ParamGroup<H> = H & GroupBase

/** One entry of per-parameter state: a buffer shaped like the parameter, a count, or an unset buffer. */
export type StateValue = Tensor | number | null

export interface OptimizerStateDict {
  state: Record<number, Record<string, StateValue>>
  paramGroups: Array<{ params: number[]; [hyper: string]: unknown }>
}

/** What `update` gets besides the buffers: the parameter itself and its name. */
export interface ParamContext { param: Tensor; name: string }

/**
 * The base optimizer. A subclass supplies default hyperparameters, `initState` and `update`, the
 * per-parameter rule w ← update(w, g, state, group); the base handles groups, skipping parameters
 * whose grad is null, writing back in place, `zeroGrad` and state dicts.
 *
 * Reference: https://pytorch.org/docs/stable/optim.html#torch.optim.Optimizer
 *
 * @example
 *   const opt = new optim.SGD([{ params: model.fc.parameters() }, { params: [model.out.weight], lr: 0.01 }], { lr: 0.1 })
 *   loss.backward(); opt.step(); opt.zeroGrad(); const saved = opt.stateDict()
 */
export abstract class Optimizer<H extends HyperBase = HyperBase, S extends object = Record<string, StateValue>> {
  /** The hyperparameters a group gets when it does not override them. */
  readonly defaults: H
  readonly paramGroups: ParamGroup<H>[] = []
  /** Per-parameter state, created at the parameter's first step. */
  readonly state = new Map<Tensor, S>()

  constructor(params: ParamsInput<H>, defaults: H) {
    this.validate(defaults)
    this.defaults = { ...defaults }
    for (const spec of toGroupSpecs(this.constructor.name, params)) this.addParamGroup(spec)
  }

  /** Adds a group of parameters with its own hyperparameter overrides (`torch.optim.Optimizer.add_param_group`). */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const op = this.constructor.name
    const { tensors, names } = splitParams(op, spec.params)
    const seen = new Set(this.paramGroups.flatMap((g) => g.params))
    for (const p of tensors) {
      if (seen.has(p)) throw new TesseraError(`${op}: some parameters appear in more than one parameter group (or twice in one)`)
      seen.add(p)
    }
    const { params: _ignored, ...overrides } = spec
    const hyper = copyHyper({ ...this.defaults, ...overrides }) as H
    this.validate(hyper)
    this.paramGroups.push({ ...hyper, params: tensors, paramNames: names })
  }

  /** Checks hyperparameters (of the defaults and of every group); subclasses add their own rules. */
  protected validate(h: H): void {
    checkHyper(this.constructor.name, h as unknown as Record<string, unknown>)
  }

  /** Fresh state for a parameter at its first step. */
  protected abstract initState(p: Tensor, group: ParamGroup<H>): S

  /**
   * Updates one parameter: `w` (numel) is a contiguous copy of it to overwrite, `g` (numel) its
   * gradient. Buffers in `state` are contiguous tensors whose storage may be written directly.
   */
  protected abstract update(w: FloatArray, g: TypedArray, state: S, group: ParamGroup<H>, ctx: ParamContext): void

  /**
   * One optimization step over every parameter with a gradient. `closure`, if given, re-evaluates
   * the model (with grad recording on) and its result is returned, as in PyTorch.
   */
  step<T>(closure?: () => T): T | undefined {
    const result = closure ? enableGrad(closure) : undefined
    noGrad(() => {
      for (const group of this.paramGroups) {
        group.params.forEach((p, i) => {
          const grad = p.grad
          if (grad === null) return
          if (!sameShape(grad.shape, p.shape)) {
            throw new TesseraError(`${this.constructor.name}.step: gradient of shape ${fmtShape(grad.shape)} for a parameter of shape ${fmtShape(p.shape)}`)
          }
          let state = this.state.get(p)
          if (state === undefined) {
            state = this.initState(p, group)
            this.state.set(p, state)
          }
          const w = p.data() as FloatArray // (numel) contiguous copy
          this.update(w, grad.data(), state, group, { param: p, name: group.paramNames[i] })
          p.copy_(fromTypedArray(w, p.shape))
        })
      }
    })
    return result
  }

  /** Clears every parameter's gradient: sets it to null (default, as PyTorch 2 does) or zeroes it in place. */
  zeroGrad(setToNone = true): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad === null) continue
        if (setToNone) p.grad = null
        else noGrad(() => p.grad!.zero_())
      }
    }
  }

  /** A snapshot of state and hyperparameters; tensors are copies, so later steps do not change it. */
  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {}
    const paramGroups: OptimizerStateDict['paramGroups'] = []
    let index = 0
    for (const group of this.paramGroups) {
      const { params, paramNames: _names, ...hyper } = group
      const ids: number[] = []
      for (const p of params) {
        const s = this.state.get(p)
        if (s !== undefined) state[index] = mapState(s as Record<string, StateValue>, (t) => copyTensor(t, t.dtype))
        ids.push(index++)
      }
      paramGroups.push({ ...copyHyper(hyper), params: ids })
    }
    return { state, paramGroups }
  }

  /**
   * Restores a `stateDict()` taken from an optimizer of the same kind over parameters of the same
   * shapes, grouped the same way. Hyperparameters come from the dict; buffers are copied and cast
   * to each parameter's dtype.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.constructor.name}.loadStateDict`
    if (!sd || typeof sd.state !== 'object' || !Array.isArray(sd.paramGroups)) throw new TesseraError(`${op}: expected { state, paramGroups }`)
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new TesseraError(`${op}: the state dict has ${sd.paramGroups.length} parameter groups, the optimizer has ${this.paramGroups.length}`)
    }
    const byIndex = new Map<number, [Tensor, number]>() // saved index -> (parameter, group)
    sd.paramGroups.forEach((saved, gi) => {
      const own = this.paramGroups[gi]
      if (!Array.isArray(saved.params) || saved.params.length !== own.params.length) {
        throw new TesseraError(`${op}: parameter group ${gi} has ${saved.params?.length} parameters in the state dict, ${own.params.length} in the optimizer`)
      }
      saved.params.forEach((id, k) => byIndex.set(id, [own.params[k], gi]))
    })
    // Check everything before changing anything.
    const groups = sd.paramGroups.map(({ params: _ids, ...hyper }, gi) => {
      const merged = { ...this.paramGroups[gi], ...copyHyper(hyper) } as ParamGroup<H>
      this.validate(merged)
      return merged
    })
    const loaded = new Map<Tensor, S>()
    for (const [key, entry] of Object.entries(sd.state)) {
      const found = byIndex.get(Number(key))
      if (found === undefined) throw new TesseraError(`${op}: state for parameter ${key}, which no group lists`)
      const [p, gi] = found
      for (const name of Object.keys(this.initState(p, groups[gi]))) {
        if (!(name in entry)) throw new TesseraError(`${op}: the state of parameter ${key} lacks '${name}' (was it saved by another kind of optimizer?)`)
      }
      loaded.set(p, mapState(entry, (t, name) => {
        if (!sameShape(t.shape, p.shape)) {
          throw new TesseraError(`${op}: state '${name}' of parameter ${key} has shape ${fmtShape(t.shape)}, the parameter has ${fmtShape(p.shape)}`)
        }
        return copyTensor(t, p.dtype)
      }) as S)
    }
    groups.forEach((g, gi) => Object.assign(this.paramGroups[gi], g))
    this.state.clear()
    for (const [p, s] of loaded) this.state.set(p, s)
  }
}

/** The storage of a state buffer (always a contiguous tensor at offset 0 owned by the optimizer). */
export function buf(t: Tensor): FloatArray {
  return t.storage as FloatArray
}

function copyTensor(t: Tensor, dtype: DType): Tensor {
  return fromTypedArray(t.to(dtype).data(), t.shape)
}

function mapState(s: Record<string, StateValue>, fn: (t: Tensor, name: string) => Tensor): Record<string, StateValue> {
  const out: Record<string, StateValue> = {}
  for (const [k, v] of Object.entries(s)) out[k] = v instanceof Tensor ? fn(v, k) : v
  return out
}

/** A shallow copy with array values (betas) copied too, so groups never share them. */
function copyHyper<T extends object>(h: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? v.slice() : v
  return out as T
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

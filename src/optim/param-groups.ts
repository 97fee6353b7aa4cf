/**
 * @file Reading the `params` argument of an optimizer into parameter groups, and the hyperparameter
 * checks shared by all optimizers. Accepted forms, as in `torch.optim.Optimizer`
 * (https://pytorch.org/docs/stable/optim.html#per-parameter-options):
 *   - `Iterable<Tensor>`: one group, parameters unnamed;
 *   - `Iterable<[string, Tensor]>` (e.g. `model.namedParameters()`): one group, names kept;
 *   - an array of groups `{ params, ...overrides }`, each `params` in one of the forms above.
 */
import { TesseraError } from '../errors.ts'
import { Tensor } from '../tensor.ts'
import { isFloating } from '../dtype.ts'

export type ParamsLike = Iterable<Tensor> | Iterable<readonly [string, Tensor]>
export type ParamGroupSpec<H> = { params: ParamsLike } & Partial<H>
export type ParamsInput<H> = ParamsLike | readonly ParamGroupSpec<H>[]

function isGroupSpec(x: unknown): x is { params: ParamsLike } {
  return typeof x === 'object' && x !== null && !(x instanceof Tensor) && !Array.isArray(x) && 'params' in x
}

/** The groups described by `params`: a list of group specs, or one group holding everything. */
export function toGroupSpecs<H>(op: string, params: ParamsInput<H>): ParamGroupSpec<H>[] {
  if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
    throw new TesseraError(`${op}: params must be an iterable of Tensors, of [name, Tensor] pairs, or of parameter groups { params, ... }`)
  }
  const items = [...(params as Iterable<unknown>)]
  if (items.length === 0) throw new TesseraError(`${op}: got an empty parameter list`)
  const groups = items.filter(isGroupSpec)
  if (groups.length === items.length) return groups as ParamGroupSpec<H>[]
  if (groups.length > 0) throw new TesseraError(`${op}: params mixes parameter groups with bare parameters`)
  return [{ params: items as Iterable<Tensor> } as ParamGroupSpec<H>]
}

/** The tensors of one group and their names ('' where none was given), checked to be float leaves. */
export function splitParams(op: string, params: ParamsLike): { tensors: Tensor[]; names: string[] } {
  if (params instanceof Tensor || params === null || typeof params !== 'object' || !(Symbol.iterator in params)) {
    throw new TesseraError(`${op}: a group's params must be an iterable of Tensors or of [name, Tensor] pairs`)
  }
  const tensors: Tensor[] = [], names: string[] = []
  for (const item of params as Iterable<unknown>) {
    let name = '', t: unknown = item
    if (Array.isArray(item) && item.length === 2 && typeof item[0] === 'string') [name, t] = item
    if (!(t instanceof Tensor)) throw new TesseraError(`${op}: expected a Tensor or a [name, Tensor] pair in params, got ${describe(item)}`)
    if (!isFloating(t.dtype)) throw new TesseraError(`${op}: can only optimize floating point tensors, but parameter ${name || tensors.length} is ${t.dtype}`)
    if (!t.isLeaf) throw new TesseraError(`${op}: can't optimize a non-leaf tensor (parameter ${name || tensors.length}); use detach() and requiresGrad_()`)
    tensors.push(t)
    names.push(name)
  }
  if (tensors.length === 0) throw new TesseraError(`${op}: a parameter group has an empty parameter list`)
  return { tensors, names }
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return `an array of length ${x.length}`
  return x === null ? 'null' : typeof x
}

/** Range checks for the hyperparameters that several optimizers share, where present. */
export function checkHyper(op: string, h: Record<string, unknown>): void {
  const nonNegative = ['lr', 'eps', 'weightDecay', 'momentum', 'lrDecay', 'initialAccumulatorValue', 'trustCoef']
  for (const key of nonNegative) {
    if (!(key in h)) continue
    const v = h[key]
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
      throw new TesseraError(`${op}: invalid ${key} ${String(v)}; it must be a finite number >= 0`)
    }
  }
  if ('betas' in h) {
    const b = h.betas
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => typeof x === 'number' && x >= 0 && x < 1)) {
      throw new TesseraError(`${op}: invalid betas ${JSON.stringify(b)}; each must be in [0, 1)`)
    }
  }
  if ('alpha' in h && !(typeof h.alpha === 'number' && h.alpha >= 0 && h.alpha <= 1)) {
    throw new TesseraError(`${op}: invalid alpha ${String(h.alpha)}; it must be in [0, 1]`)
  }
}

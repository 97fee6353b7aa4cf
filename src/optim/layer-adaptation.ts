/**
 * @file What LAMB and LARS share: the rules that exclude tensors (biases, normalization weights)
 * from weight decay and from the layer-wise trust ratio, and the float64 L2 norm of a flat buffer.
 * Conventions from sheet 29 and the LAMB reference code (tensorflow/addons `optimizers/lamb.py`):
 * a tensor excluded from weight decay is by default also excluded from layer adaptation.
 */
import type { Tensor } from '../tensor.ts'
import type { TypedArray } from '../dtype.ts'

/** A rule deciding from a parameter's dotted name (and the tensor) whether it is excluded. */
export type ExcludeRule = RegExp | ((name: string, param: Tensor) => boolean)

/** Names ending in 'bias', containing 'norm', or with a dotted part starting with 'bn' or 'ln' (any case). */
const DEFAULT_NAME_PATTERN = /bias$|norm|(^|\.)(bn|ln)/i

/**
 * The default exclusion: tensors with fewer than 2 dims (biases, norm gains and shifts) and names
 * such as `fc.bias`, `layers.0.norm1.weight`, `encoder.LayerNorm.weight`, `bn1.weight`, `ln_f.weight`.
 */
export function defaultExclude(name: string, param: Tensor): boolean {
  return param.ndim <= 1 || DEFAULT_NAME_PATTERN.test(name)
}

/** Applies a rule: a RegExp is searched in the name, a function is called with (name, param). */
export function isExcluded(rule: ExcludeRule, name: string, param: Tensor): boolean {
  if (rule instanceof RegExp) {
    rule.lastIndex = 0 // a /g or /y pattern keeps state between test() calls
    return rule.test(name)
  }
  return rule(name, param)
}

/** ‖x‖₂ accumulated in float64. */
export function l2Norm(x: TypedArray): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i] * x[i]
  return Math.sqrt(s)
}

/**
 * @file Finite-difference gradient checking, like `torch.autograd.gradcheck`.
 *
 * For a fixed random cotangent v (seeded), the scalar L(x) = sum(fn(x) * v) is differentiated two
 * ways: backward gives dL/dx, and central differences (L(x + eps e_i) - L(x - eps e_i)) / 2 eps,
 * summed in float64, give it element by element. Use float64 inputs for tight tolerances.
 */
import { TesseraError } from './errors.ts'
import { noGrad } from './autograd.ts'
import { Generator } from './rng.ts'
import { randn } from './creation.ts'
import type { Tensor } from './tensor.ts'

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6 for float64 inputs, 1e-3 for float32). */
  eps?: number
  /** Absolute tolerance (default 1e-5 for float64, 1e-2 for float32). */
  atol?: number
  /** Relative tolerance (default 1e-3 for float64, 1e-2 for float32). */
  rtol?: number
  /** Seed of the random cotangent. */
  seed?: number
}

export interface GradcheckResult {
  ok: boolean
  /** Largest |analytic - numeric| over all checked elements. */
  maxError: number
  /** Failure description, empty when ok. */
  message: string
}

/** Returns the comparison; `gradcheck` throws on failure instead. */
export function gradcheckReport(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const wide = inputs.every((t) => !t.requiresGrad || t.dtype === 'float64')
  const eps = opts.eps ?? (wide ? 1e-6 : 1e-3)
  const atol = opts.atol ?? (wide ? 1e-5 : 1e-2)
  const rtol = opts.rtol ?? (wide ? 1e-3 : 1e-2)
  const out0 = noGrad(() => fn(...inputs))
  const v = randn(out0.shape, { dtype: 'float64', generator: new Generator(opts.seed ?? 1234) })
  const loss = (): number => {
    const out = fn(...inputs)
    const o = out.data(), w = v.data()
    let s = 0
    for (let i = 0; i < o.length; i++) s += o[i] * w[i]
    return s
  }

  for (const t of inputs) t.grad = null
  const out = fn(...inputs)
  if (!out.requiresGrad) {
    return { ok: false, maxError: Infinity, message: 'gradcheck: the output does not require grad (no input reaches it through differentiable ops)' }
  }
  out.backward(v.to(out.dtype))

  let maxError = 0
  for (let k = 0; k < inputs.length; k++) {
    const t = inputs[k]
    if (!t.requiresGrad) continue
    const analytic = t.grad ? t.grad.data() : new Float64Array(t.numel())
    const store = t.storage
    const positions = storagePositions(t)
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]
      const orig = store[p]
      store[p] = orig + eps
      const plus = noGrad(loss)
      store[p] = orig - eps
      const minus = noGrad(loss)
      store[p] = orig
      const numeric = (plus - minus) / (2 * eps)
      const err = Math.abs(analytic[i] - numeric)
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        return { ok: false, maxError: err, message: `gradcheck: input ${k} element ${i}: analytic ${analytic[i]} vs numeric ${numeric} (|diff| ${err.toExponential(2)} > atol ${atol} + rtol ${rtol} * |numeric|)` }
      }
      maxError = Math.max(maxError, err)
    }
  }
  return { ok: true, maxError, message: '' }
}

/**
 * Checks backward against central differences for every element of every input that requires
 * grad. Throws a TesseraError describing the first mismatch; returns true otherwise.
 * Reference: https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.html
 * @example
 *   const x = randn([3, 4], {dtype: 'float64'}).requiresGrad_()
 *   gradcheck((x) => x.tanh().sum(1), [x])
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): true {
  const r = gradcheckReport(fn, inputs, opts)
  if (!r.ok) throw new TesseraError(r.message)
  return true
}

/** Storage index of each logical element, in row-major order. */
function storagePositions(t: Tensor): number[] {
  if (t.strides.some((s, i) => s === 0 && t.shape[i] > 1)) {
    throw new TesseraError('gradcheck: inputs must not be expanded views (a stride of 0 aliases elements); pass .contiguous() copies')
  }
  const out: number[] = []
  const walk = (d: number, base: number): void => {
    if (d === t.ndim) { out.push(base); return }
    for (let i = 0; i < t.shape[d]; i++) walk(d + 1, base + i * t.strides[d])
  }
  walk(0, t.offset)
  return out
}

/**
 * @file Paper 14: "Magnitude Invariant Parametrizations Improve Hypernetwork Learning" (Ortiz, Guttag,
 * Dalca, ICLR 2024), https://arxiv.org/abs/2304.07645; code JJGO/hyperlight (hyperlight/hypernet/
 * model.py, encoding.py, initialization.py).
 *
 * A hypernetwork h maps hyper-inputs γ ∈ [0,1]^K to the weights θ(γ) of a primary network, which is
 * then run with those weights (`functionalCall`). The default parametrization feeds γ raw and
 * predicts θ = W_out·φ(γ) directly; with LeakyReLU and zero biases φ is positively homogeneous, so
 * θ(sγ) = s·θ(γ) ("magnitude proportionality": θ(0) = 0). MIP fixes it twice:
 *   - input encoding  e(γ) = [cos(πγ/2), sin(πγ/2)]  (‖e‖² = K for every γ), or [γ, 1−γ];
 *   - additive (residual) output  θ(γ) = W_out·φ(e(γ)) + θ₀, θ₀ (the output bias) initialised like a
 *     standalone primary network (Kaiming-normal `.weight`, zero `.bias`), so it is learned directly.
 *
 * Shapes: hyper-inputs (B, *inputShape) or unbatched (*inputShape); flattened and concatenated in
 * sorted name order to (B, K), encoded to (B, 2K) (or (B, K) for 'none'); backbone output (B, P) with
 * P = Σ numel(outputShapes); unflattened to (B, *shape) per name (unbatched in, unbatched out).
 */
import { TesseraError, check, fmtShape } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { cat } from '../../ops/indexing.ts'
import { zeros } from '../../creation.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import type { Parameter } from '../parameter.ts'
import { ModuleList } from '../containers.ts'
import { Linear } from '../linear.ts'
import { kaimingNormal_, zeros_ } from '../init.ts'

/** Hyper-input encodings: 'cos|sin' and 'z|1-z' (MIP), 'none' (the default parametrization). */
export type HyperEncoding = 'cos|sin' | 'z|1-z' | 'none'

const multiplier = (mode: HyperEncoding): number => (mode === 'none' ? 1 : 2)

/**
 * Encodes hyper-inputs along the last dim: 'cos|sin' → [cos(πz/2), sin(πz/2)] (constant L2 norm),
 * 'z|1-z' → [z, 1 − z] (constant L1 norm for z ∈ [0,1]), 'none' → z.
 * Reference: JJGO/hyperlight hyperlight/hypernet/encoding.py, https://arxiv.org/abs/2304.07645 §4.
 * @example
 *   encodeHyperInput(tensor([[0.3]]), 'cos|sin') // [[cos(0.15π), sin(0.15π)]]
 */
export function encodeHyperInput(z: Tensor, mode: HyperEncoding = 'cos|sin'): Tensor {
  if (mode === 'none') return z
  if (mode === 'z|1-z') return cat([z, z.neg().add(1)], -1)
  if (mode === 'cos|sin') {
    const s = z.mul(Math.PI / 2)
    return cat([s.cos(), s.sin()], -1)
  }
  throw new TesseraError(`encodeHyperInput: unknown mode ${JSON.stringify(mode)}; expected 'cos|sin', 'z|1-z' or 'none'`)
}

/** One named tensor's place in a flat parameter vector. */
export interface FlatSlot { name: string; shape: number[]; offset: number; size: number }

/** The flat layout of named shapes, in insertion order (hyperlight's `output_offsets`). */
export function flatLayout(shapes: Record<string, readonly number[]>): FlatSlot[] {
  let offset = 0
  return Object.entries(shapes).map(([name, shape]) => {
    check(shape.every((d) => Number.isInteger(d) && d >= 0), 'flatLayout', () => `${name} has an invalid shape ${fmtShape([...shape])}`)
    const size = shape.reduce((p, d) => p * d, 1)
    const slot = { name, shape: [...shape], offset, size }
    offset += size
    return slot
  })
}

/** Splits flat (..., P) into named (..., *shape) views (the leading dims are kept). */
export function unflattenParams(flat: Tensor, layout: readonly FlatSlot[]): Record<string, Tensor> {
  const P = layout.reduce((s, l) => s + l.size, 0)
  check(flat.shape[flat.ndim - 1] === P, 'unflattenParams', () => `flat must end in P = ${P}, got ${fmtShape(flat.shape)}`)
  const lead = flat.shape.slice(0, -1)
  const out: Record<string, Tensor> = {}
  for (const l of layout) out[l.name] = flat.narrow(-1, l.offset, l.size).reshape([...lead, ...l.shape])
  return out
}

/** Concatenates named tensors (each (*shape)) into one flat (P) vector in layout order. */
export function flattenParams(params: Record<string, Tensor>, layout: readonly FlatSlot[]): Tensor {
  return cat(layout.map((l) => {
    const t = params[l.name]
    check(t !== undefined, 'flattenParams', () => `missing ${l.name}`)
    check(t.numel() === l.size && t.shape.every((d, i) => d === l.shape[i]), 'flattenParams', () => `${l.name} must be ${fmtShape(l.shape)}, got ${fmtShape(t.shape)}`)
    return t.reshape([l.size])
  }), 0)
}

/**
 * Runs `module.forward(...inputs)` with some of its parameters or buffers replaced by the given
 * tensors (dotted names as in `namedParameters`), differentiably: gradients flow into the supplied
 * tensors, e.g. into a hypernetwork that produced them. The module's own tensors are swapped back
 * afterwards, even if forward throws. Names not supplied keep the module's tensors. Works for any
 * module whose forward reads its weights from attributes (Linear, ConvNd, norms, containers, ...).
 * Reference: torch.func.functional_call, https://pytorch.org/docs/stable/generated/torch.func.functional_call.html
 * @example
 *   const y = functionalCall<Tensor>(mlp, hyper.forward({ gamma }), x)
 */
export function functionalCall<T = Tensor>(module: Module, params: Record<string, Tensor>, ...inputs: unknown[]): T {
  const owners = new Map<string, Module>([...module.namedModules()])
  const own = new Map<string, Tensor>([...module.namedParameters(), ...module.namedBuffers()])
  const swaps: { owner: Record<string, unknown>; attr: string; saved: unknown; value: Tensor }[] = []
  for (const [name, t] of Object.entries(params)) {
    const cur = own.get(name)
    if (!cur) throw new TesseraError(`functionalCall: ${module.constructor.name} has no parameter or buffer named ${JSON.stringify(name)}`)
    check(cur.shape.length === t.shape.length && cur.shape.every((d, i) => d === t.shape[i]), 'functionalCall', () =>
      `${name} has shape ${fmtShape(cur.shape)} in the module, got ${fmtShape(t.shape)}`)
    const dot = name.lastIndexOf('.')
    const owner = owners.get(dot < 0 ? '' : name.slice(0, dot)) as unknown as Record<string, unknown>
    const attr = name.slice(dot + 1)
    swaps.push({ owner, attr, saved: owner[attr], value: t })
  }
  try {
    for (const s of swaps) s.owner[s.attr] = s.value
    return (module.forward as (...a: unknown[]) => T)(...inputs)
  } finally {
    for (const s of swaps.reverse()) s.owner[s.attr] = s.saved
  }
}

export interface HyperNetOptions {
  /** Hyper-input shapes, e.g. { gamma: [1] }. */
  inputShapes: Record<string, readonly number[]>
  /** Primary-network tensor shapes by dotted name (see `HyperNet.fromModule`). */
  outputShapes: Record<string, readonly number[]>
  /** Hidden widths of the MLP backbone, e.g. [16, 64]. */
  hidden: readonly number[]
  /** Default 'cos|sin' (MIP); 'none' is the default (baseline) parametrization. */
  encoding?: HyperEncoding
  /** θ(γ) = W_out φ + θ₀ with θ₀ initialised as a standalone primary net (MIP; default true). */
  independentWeights?: boolean
  /** Initialise the output layer per predicted tensor (hyperlight `_init_output_split`; default true). */
  outputSplitInit?: boolean
  /** LeakyReLU slope of the backbone (default 0.01, torch's default). */
  negativeSlope?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/** The two parametrizations the paper compares. */
export const HYPERNET_PARAMETRIZATIONS = {
  default: { encoding: 'none', independentWeights: false },
  mip: { encoding: 'cos|sin', independentWeights: true },
} as const satisfies Record<string, { encoding: HyperEncoding; independentWeights: boolean }>

/**
 * Hypernetwork h(γ) → named primary weights: MLP backbone Linear → LeakyReLU → … → Linear(P).
 *   default: θ(γ) = W_out·φ(γ)                (encoding 'none', output bias 0)
 *   MIP:     θ(γ) = W_out·φ(e(γ)) + θ₀        (e = [cos πγ/2, sin πγ/2], θ₀ = output bias)
 * Init (hyperlight): hidden weights Kaiming-normal fan-out (gain √2), biases 0; output rows of each
 * predicted tensor Kaiming-normal with fan-out = that tensor's size (`.bias` rows 0); θ₀: `.weight`
 * Kaiming-normal fan-in (gain √2), `.bias` 0.
 * Reference: https://arxiv.org/abs/2304.07645, JJGO/hyperlight hyperlight/hypernet/model.py
 * @example
 *   const hyper = HyperNet.fromModule(mlp, { inputShapes: { gamma: [1] }, hidden: [16, 64] })
 *   const logits = functionalCall<Tensor>(mlp, hyper.forward({ gamma: tensor([0.3]) }), x)
 */
export class HyperNet extends Module {
  hidden: ModuleList
  output: Linear
  readonly encoding: HyperEncoding
  readonly inputShapes: Record<string, number[]>
  readonly outputShapes: Record<string, number[]>
  readonly layout: FlatSlot[]
  readonly negativeSlope: number

  constructor(opts: HyperNetOptions) {
    super()
    this.encoding = opts.encoding ?? 'cos|sin'
    check(['cos|sin', 'z|1-z', 'none'].includes(this.encoding), 'HyperNet', () => `unknown encoding ${JSON.stringify(this.encoding)}`)
    this.negativeSlope = opts.negativeSlope ?? 0.01
    this.inputShapes = Object.fromEntries(Object.entries(opts.inputShapes).map(([k, v]) => [k, [...v]]))
    this.outputShapes = Object.fromEntries(Object.entries(opts.outputShapes).map(([k, v]) => [k, [...v]]))
    this.layout = flatLayout(this.outputShapes)
    const K = Object.values(this.inputShapes).reduce((s, sh) => s + sh.reduce((p, d) => p * d, 1), 0) * multiplier(this.encoding)
    const P = this.layout.reduce((s, l) => s + l.size, 0)
    check(K > 0 && P > 0, 'HyperNet', () => `needs at least one input and one output element, got K = ${K}, P = ${P}`)
    const lin = { generator: opts.generator, dtype: opts.dtype }
    this.hidden = new ModuleList()
    let width = K
    for (const h of opts.hidden) {
      const layer = new Linear(width, h, lin)
      kaimingNormal_(layer.weight, { mode: 'fan_out', nonlinearity: 'leaky_relu', generator: opts.generator })
      zeros_(layer.bias as Parameter)
      this.hidden.append(layer)
      width = h
    }
    this.output = new Linear(width, P, lin) // weight (P, H), bias (P) = θ₀
    this.initOutput(opts.outputSplitInit ?? true, opts.generator)
    if (opts.independentWeights ?? true) this.initIndependentWeights(opts.generator)
    else zeros_(this.output.bias as Parameter)
  }

  /** A hypernet predicting every parameter of `module` (names and shapes from `namedParameters`). */
  static fromModule(module: Module, opts: Omit<HyperNetOptions, 'outputShapes'>): HyperNet {
    const outputShapes = Object.fromEntries([...module.namedParameters()].map(([n, p]) => [n, p.shape]))
    return new HyperNet({ ...opts, outputShapes })
  }

  private initOutput(split: boolean, generator?: Generator): void {
    const W = this.output.weight // (P, H)
    if (!split) {
      kaimingNormal_(W, { mode: 'fan_out', nonlinearity: 'linear', generator })
      return
    }
    // NOTE: hyperlight `_init_output_split`: each tensor's rows form their own layer, so fan-out is
    // that tensor's size, not P (P is huge, which would shrink every predicted weight).
    for (const l of this.layout) {
      const rows = zeros([l.size, W.shape[1]], { dtype: W.dtype === 'float64' ? 'float64' : 'float32' }) // (size, H)
      if (!l.name.endsWith('.bias')) kaimingNormal_(rows, { mode: 'fan_out', nonlinearity: 'leaky_relu', generator })
      noGrad(() => W.narrow(0, l.offset, l.size).copy_(rows))
    }
  }

  /** θ₀ ← a standalone primary init: `.weight` Kaiming-normal fan-in (gain √2), everything else 0. */
  initIndependentWeights(generator?: Generator): void {
    const theta: Record<string, Tensor> = {}
    const dtype = this.output.weight.dtype === 'float64' ? 'float64' : 'float32'
    for (const l of this.layout) {
      const t = zeros(l.shape, { dtype })
      if (l.name.endsWith('.weight') && l.shape.length >= 2) kaimingNormal_(t, { mode: 'fan_in', nonlinearity: 'leaky_relu', generator })
      theta[l.name] = t
    }
    this.setIndependentWeights(theta)
  }

  /** θ₀ by name: views of the output bias (the γ-independent part of θ(γ)). */
  independentWeights(): Record<string, Tensor> {
    return unflattenParams((this.output.bias as Parameter).detach(), this.layout)
  }

  /** Copies named tensors into θ₀ (e.g. a pretrained primary network's state dict). */
  setIndependentWeights(weights: Record<string, Tensor>): void {
    const flat = flattenParams(weights, this.layout)
    noGrad(() => (this.output.bias as Parameter).copy_(flat.to(this.output.bias!.dtype)))
  }

  /** Flattens hyper-inputs (sorted by name, as hyperlight) to (B, K); `batched` says if B was given. */
  flattenInputs(inputs: Record<string, Tensor>): { flat: Tensor; batched: boolean } {
    const names = Object.keys(this.inputShapes).sort()
    const extra = Object.keys(inputs).filter((k) => !(k in this.inputShapes))
    check(extra.length === 0, 'HyperNet', () => `unexpected inputs [${extra.join(', ')}]; expected [${names.join(', ')}]`)
    let batched: boolean | undefined
    const sizes = new Set<number>()
    const parts = names.map((name) => {
      const x = inputs[name], want = this.inputShapes[name]
      check(x !== undefined, 'HyperNet', () => `missing input ${name}`)
      const same = (s: readonly number[]): boolean => s.length === want.length && s.every((d, i) => d === want[i])
      const isB = !same(x.shape) && same(x.shape.slice(1))
      check(same(x.shape) || isB, 'HyperNet', () => `input ${name} must be ${fmtShape(want)} or (B, ${want.join(', ')}), got ${fmtShape(x.shape)}`)
      check(batched === undefined || batched === isB, 'HyperNet', () => 'inputs mix batched and unbatched shapes')
      batched = isB
      sizes.add(isB ? x.shape[0] : 1)
      return x.reshape([isB ? x.shape[0] : 1, -1]) // (B, k)
    })
    check(sizes.size === 1, 'HyperNet', () => `inputs disagree on the batch size: [${[...sizes].join(', ')}]`)
    return { flat: cat(parts, -1), batched: batched ?? false }
  }

  /** Backbone on the encoded inputs: (B, K) → (B, P). */
  forwardFlat(flat: Tensor): Tensor {
    let h = encodeHyperInput(flat, this.encoding) // (B, K·m)
    for (const layer of this.hidden) h = (layer as Linear).forward(h).leakyRelu(this.negativeSlope) // (B, H)
    return this.output.forward(h) // (B, P): W_out φ + θ₀
  }

  /** Named primary weights θ(γ): each (B, *shape), or (*shape) for unbatched hyper-inputs. */
  forward(inputs: Record<string, Tensor>): Record<string, Tensor> {
    const { flat, batched } = this.flattenInputs(inputs)
    const out = this.forwardFlat(flat) // (B, P)
    return unflattenParams(batched ? out : out.reshape([out.shape[1]]), this.layout)
  }
}

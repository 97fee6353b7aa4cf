/**
 * @file Paper 18: Continual Inference Networks — Hedegaard, "Efficient Online Processing with Deep
 * Neural Networks" (PhD thesis, https://arxiv.org/abs/2306.13474; continual-inference library
 * https://github.com/LukasHedegaard/continual-inference). Part 1 of 2: continual convolutions,
 * the delay-aligned residual, a continual Sequential and a per-step Linear. Part 2
 * (18-continual-transformer.ts) holds single-output continual attention and the encoder layer.
 *
 * A continual module processes a stream one time step at a time, keeping an internal state, and its
 * emitted outputs equal the offline (clip) module's outputs exactly: the work per step is one output
 * frame's worth instead of recomputing a whole window.
 *
 * Shapes (the first non-batch/channel dim is time T, as in the library):
 *   co.Conv1d: clip (B, C, T)        frame (B, C)
 *   co.Conv2d: clip (B, C, T, W)     frame (B, C, W)
 *   co.Conv3d: clip (B, C, T, H, W)  frame (B, C, H, W)
 * `forward(clip)` is the offline module; `forwardStep(frame)` returns the next output frame or null
 * while the delay is being filled; `forwardSteps(clip, { padEnd })` concatenates the step outputs
 * along time (with padEnd, zero frames flush the trailing outputs, giving exactly `forward(clip)`).
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import { zeros } from '../../creation.ts'
import { stack, linear } from '../../functional.ts'
import { conv1d, conv2d, conv3d, type ConvOptions } from '../../conv.ts'
import type { Tensor } from '../../tensor.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { Conv1d as NnConv1d, Conv2d as NnConv2d, Conv3d as NnConv3d } from '../conv.ts'
import { Linear as NnLinear } from '../linear.ts'

/**
 * The continual-module protocol. `delay`: steps between an input frame and the output frame it is
 * aligned with (receptiveField − 1 − padding for a conv); `receptiveField`: input frames one output sees.
 */
export abstract class CoModule extends Module {
  abstract readonly delay: number
  abstract readonly receptiveField: number
  /** Offline (clip) computation: identical to the ordinary module. */
  abstract override forward(clip: Tensor): Tensor
  /** Consumes one frame; returns the next output frame, or null while the delay is being filled. */
  abstract forwardStep(frame: Tensor): Tensor | null
  /** Ends the stream: the trailing outputs due to end padding (feeding zero frames), then resets. */
  abstract flush(): Tensor[]
  /** Clears the stream state (buffers, step counter). */
  abstract reset(): void
  /** Multiplies (matmul MACs) of one steady-state step per batch element. */
  abstract flopsPerStep(): number

  /** Alias of `forwardStep` (the brief's name). */
  step(frame: Tensor): Tensor | null { return this.forwardStep(frame) }
  /** Alias of `reset` (the library's `clean_state`). */
  clean(): void { this.reset() }

  /**
   * Runs every frame of `clip` (B, C, T, ...) through `forwardStep` and stacks the emitted outputs on
   * dim 2. With `padEnd` the stream is flushed, so the result equals `forward(clip)` (after a reset).
   * Returns null if nothing was emitted.
   */
  forwardSteps(clip: Tensor, opts: { padEnd?: boolean } = {}): Tensor | null {
    if (clip.ndim < 3) throw new TesseraError(`${this.constructor.name}.forwardSteps: clip must be (B, C, T, ...), got ${fmtShape(clip.shape)}`)
    const outs: Tensor[] = []
    for (let t = 0; t < clip.shape[2]; t++) {
      const y = this.forwardStep(clip.select(2, t))
      if (y) outs.push(y)
    }
    if (opts.padEnd) outs.push(...this.flush())
    return outs.length ? stack(outs, 2) : null
  }
}

export interface CoConvOptions {
  /** Stride per dim; the temporal stride emits every s-th output. */
  stride?: number | number[]
  /** Zero padding per dim (symmetric); temporal padding p needs p ≤ (k−1)δ. 'same' only when symmetric. */
  padding?: number | number[] | 'valid' | 'same'
  dilation?: number | number[]
  groups?: number
  bias?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

function perDim(op: string, name: string, v: number | number[] | undefined, S: number, dflt: number, min: number): number[] {
  const a = v === undefined ? new Array<number>(S).fill(dflt) : typeof v === 'number' ? new Array<number>(S).fill(v) : [...v]
  if (a.length !== S || !a.every((d) => Number.isInteger(d) && d >= min)) {
    throw new TesseraError(`${op}: ${name} must be an integer >= ${min} or ${S} of them, got ${JSON.stringify(v)}`)
  }
  return a
}

const SPATIAL_CONV = [null, conv1d, conv1d, conv2d] as const
const OFFLINE_CONV = [null, conv1d, conv2d, conv3d] as const

/**
 * Continual N-d convolution. Temporal kernel k, dilation δ, padding p; R = (k−1)δ.
 * Offline: y_n = b + Σ_{i<k} W_i ∗ x'_{n+iδ}, x' the clip padded with p zero frames (∗ = spatial conv).
 * Streaming (the sheet's partial sums, generalised to δ): the frame at padded time τ yields the k spatial
 * products Z_i = W_i ∗ x_τ in one spatial conv; Z_{k−1} completes output n = τ − R:
 *   out = S[τ mod R] + Z_{k−1} + b;  S[(τ + (k−1−i)δ) mod R] += Z_i  (i < k−1)
 * so the state is R partial-output frames. receptiveField = R + 1, delay = R − p.
 * Reference: https://arxiv.org/abs/2306.13474 (Ch. "Continual 3D CNNs"), co.Conv3d in continual-inference.
 */
abstract class CoConvNd extends CoModule {
  weight: Parameter // (Cout, Cin/G, k, *ks)
  bias: Parameter | null // (Cout,)
  readonly kernelSize: number[]
  readonly stride: number[]
  readonly padding: number[]
  readonly dilation: number[]
  readonly groups: number
  private ring: (Tensor | null)[] = [] // R entries, each (B, Cout, *So) or null (= 0)
  private tau = 0 // padded time index of the next frame
  private frameShape: number[] | null = null // (B, Cin, *Si) of the frames seen
  private stacked: Tensor | null = null // (G k Cout/G, Cin/G, *ks), cached until reset()

  constructor(private readonly op: string, private readonly S: number, readonly inChannels: number, readonly outChannels: number,
    kernelSize: number | number[], opts: CoConvOptions) {
    super()
    const offline = new [NnConv1d, NnConv1d, NnConv2d, NnConv3d][S](inChannels, outChannels, kernelSize, {
      groups: opts.groups, bias: opts.bias, generator: opts.generator, dtype: opts.dtype,
    })
    this.weight = offline.weight
    this.bias = offline.bias
    this.kernelSize = offline.kernelSize
    this.groups = opts.groups ?? 1
    this.stride = perDim(op, 'stride', opts.stride, S, 1, 1)
    this.dilation = perDim(op, 'dilation', opts.dilation, S, 1, 1)
    if (opts.padding === 'same') {
      const R = this.kernelSize.map((k, i) => (k - 1) * this.dilation[i])
      if (R.some((r) => r % 2 !== 0) || this.stride.some((s) => s !== 1)) {
        throw new TesseraError(`${op}: padding 'same' needs stride 1 and even (k-1)·dilation, got kernel ${fmtShape(this.kernelSize)}`)
      }
      this.padding = R.map((r) => r / 2)
    } else {
      this.padding = perDim(op, 'padding', opts.padding === 'valid' ? 0 : opts.padding, S, 0, 0)
    }
    if (this.padding[0] > this.R) {
      throw new TesseraError(`${op}: temporal padding ${this.padding[0]} exceeds (k-1)·dilation = ${this.R}; such outputs precede their inputs`)
    }
    this.reset()
  }

  /** R = (k−1)δ in time. */
  get R(): number { return (this.kernelSize[0] - 1) * this.dilation[0] }
  get receptiveField(): number { return this.R + 1 }
  get delay(): number { return this.R - this.padding[0] }

  reset(): void {
    this.ring = new Array<Tensor | null>(this.R).fill(null)
    this.tau = this.padding[0] // the p leading zero frames add nothing to the partial sums
    this.frameShape = null
    this.stacked = null
  }

  forward(clip: Tensor): Tensor {
    if (clip.ndim !== this.S + 2) throw new TesseraError(`${this.op}: clip must have ${this.S + 2} dims (B, C, T${this.S > 1 ? ', ...' : ''}), got ${fmtShape(clip.shape)}`)
    const fn = OFFLINE_CONV[this.S]!
    return fn(clip, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups })
  }

  /** The weight with the k temporal taps stacked into the output channels, grouped: (G, k, Cout/G) order. */
  private stackedWeight(): Tensor {
    if (this.stacked) return this.stacked
    const G = this.groups, k = this.kernelSize[0], ks = this.kernelSize.slice(1), Cout = this.outChannels
    const CinG = this.inChannels / G
    const perm = [0, 3, 1, 2, ...ks.map((_, i) => 4 + i)]
    const w = this.weight.reshape([G, Cout / G, CinG, k, ...ks]).permute(perm) // (G, k, Cout/G, Cin/G, *ks)
    this.stacked = w.reshape([G * k * (Cout / G), CinG, ...(ks.length ? ks : [1])])
    return this.stacked
  }

  private checkFrame(frame: Tensor): void {
    const want = this.S + 1
    const ok = frame.ndim === want && frame.shape[1] === this.inChannels
      && (!this.frameShape || frame.shape.every((d, i) => d === this.frameShape![i]))
    if (!ok) {
      const expect = this.frameShape ? fmtShape(this.frameShape) : `(B, ${this.inChannels}${this.S > 1 ? ', ' + ['W', 'H, W'][this.S - 2] : ''})`
      throw new TesseraError(`${this.op}.forwardStep: frame must be ${expect}, got ${fmtShape(frame.shape)}`)
    }
    if (!this.frameShape) this.frameShape = frame.shape.slice()
  }

  forwardStep(frame: Tensor): Tensor | null {
    this.checkFrame(frame)
    const G = this.groups, k = this.kernelSize[0], Cout = this.outChannels, B = frame.shape[0], R = this.R, dil = this.dilation[0]
    const x = this.S === 1 ? frame.unsqueeze(2) : frame // (B, Cin, *Si) (a length-1 dim for Conv1d)
    const opts: ConvOptions = { stride: this.stride.slice(1), padding: this.padding.slice(1), dilation: this.dilation.slice(1), groups: G }
    if (this.S === 1) Object.assign(opts, { stride: 1, padding: 0, dilation: 1 })
    const z = SPATIAL_CONV[this.S]!(x, this.stackedWeight(), null, opts) // (B, G k Cout/G, *So)
    const So = this.S === 1 ? [] : z.shape.slice(2)
    const z5 = z.reshape([B, G, k, Cout / G, ...So])
    const tap = (i: number): Tensor => z5.select(2, i).reshape([B, Cout, ...So]) // Z_i = W_i ∗ x_τ: (B, Cout, *So)
    const slot = R > 0 ? this.tau % R : 0
    let out = tap(k - 1)
    if (R > 0) {
      const partial = this.ring[slot]
      if (partial) out = out.add(partial)
      this.ring[slot] = null
      for (let i = 0; i < k - 1; i++) {
        const s = (this.tau + (k - 1 - i) * dil) % R
        const prev = this.ring[s]
        this.ring[s] = prev ? prev.add(tap(i)) : tap(i)
      }
    }
    const n = this.tau - R // the output index this step completes
    this.tau++
    if (n < 0 || n % this.stride[0] !== 0) return null
    return this.bias ? out.add(this.bias.reshape([Cout, ...So.map(() => 1)])) : out
  }

  flush(): Tensor[] {
    const outs: Tensor[] = []
    if (this.frameShape) {
      const z = zeros(this.frameShape, { dtype: this.weight.dtype })
      for (let i = 0; i < this.padding[0]; i++) {
        const y = this.forwardStep(z)
        if (y) outs.push(y)
      }
    }
    this.reset()
    return outs
  }

  /** Per step (per batch element): k · Cout · Cin/G · prod(ks) · prod(So) multiplies; So needs a frame seen. */
  flopsPerStep(spatialOut: number[] = this.frameShape ? this.spatialOut(this.frameShape.slice(2)) : []): number {
    const w = this.outChannels * (this.inChannels / this.groups) * this.kernelSize.reduce((p, d) => p * d, 1)
    return w * spatialOut.reduce((p, d) => p * d, 1)
  }

  /** Spatial output size for a spatial input size (the dims after time). */
  spatialOut(si: number[]): number[] {
    return si.map((d, j) => {
      const i = j + 1
      return Math.floor((d + 2 * this.padding[i] - this.dilation[i] * (this.kernelSize[i] - 1) - 1) / this.stride[i]) + 1
    })
  }

  protected static copyFrom<T extends CoConvNd>(co: T, conv: NnConv1d | NnConv2d | NnConv3d): T {
    co.loadStateDict(conv.stateDict())
    co.reset()
    return co
  }
}

type OfflineConv = NnConv1d | NnConv2d | NnConv3d
function offlineOptions(conv: OfflineConv): CoConvOptions {
  const o = conv.options
  const pad = o.padding
  return {
    stride: o.stride as number | number[] | undefined, dilation: o.dilation as number | number[] | undefined, groups: o.groups,
    padding: pad as CoConvOptions['padding'], bias: conv.bias !== null, dtype: conv.weight.dtype as 'float32' | 'float64',
  }
}

/**
 * Continual 1-D convolution over (B, C, T); each step takes a frame (B, C) and emits (B, Cout).
 * Reference: https://github.com/LukasHedegaard/continual-inference (co.Conv1d)
 * @example
 *   const co1 = co.Conv1d.fromOffline(new nn.Conv1d(4, 8, 3, { padding: 1 }))
 *   const y = co1.forwardSteps(clip, { padEnd: true }) // == conv.forward(clip)
 */
export class Conv1d extends CoConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: CoConvOptions = {}) {
    super('co.Conv1d', 1, inChannels, outChannels, kernelSize, opts)
  }
  /** Copies the weights (and stride/padding/dilation/groups) of an nn.Conv1d. */
  static fromOffline(conv: NnConv1d): Conv1d {
    return CoConvNd.copyFrom(new Conv1d(conv.inChannels, conv.outChannels, conv.kernelSize, offlineOptions(conv)), conv)
  }
}

/** Continual 2-D convolution over (B, C, T, W); frames (B, C, W). */
export class Conv2d extends CoConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: CoConvOptions = {}) {
    super('co.Conv2d', 2, inChannels, outChannels, kernelSize, opts)
  }
  static fromOffline(conv: NnConv2d): Conv2d {
    return CoConvNd.copyFrom(new Conv2d(conv.inChannels, conv.outChannels, conv.kernelSize, offlineOptions(conv)), conv)
  }
}

/** Continual 3-D convolution over (B, C, T, H, W); frames (B, C, H, W) (video). */
export class Conv3d extends CoConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], opts: CoConvOptions = {}) {
    super('co.Conv3d', 3, inChannels, outChannels, kernelSize, opts)
  }
  static fromOffline(conv: NnConv3d): Conv3d {
    return CoConvNd.copyFrom(new Conv3d(conv.inChannels, conv.outChannels, conv.kernelSize, offlineOptions(conv)), conv)
  }
}

/**
 * Per-step Linear on the channel dim: clip (B, Cin, T, ...) → (B, Cout, T, ...), frame (B, Cin, ...).
 * Parameter names match nn.Linear (weight (Cout, Cin), bias (Cout,)).
 */
export class Linear extends CoModule {
  weight: Parameter // (Cout, Cin)
  bias: Parameter | null // (Cout,)
  readonly delay = 0
  readonly receptiveField = 1
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean; generator?: Generator; dtype?: 'float32' | 'float64' } = {}) {
    super()
    const l = new NnLinear(inFeatures, outFeatures, opts)
    this.weight = l.weight
    this.bias = l.bias
  }
  static fromOffline(l: NnLinear): Linear {
    const co = new Linear(l.inFeatures, l.outFeatures, { bias: l.bias !== null, dtype: l.weight.dtype as 'float32' | 'float64' })
    co.loadStateDict(l.stateDict())
    return co
  }
  private project(x: Tensor, what: string): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.inFeatures) throw new TesseraError(`co.Linear.${what}: input must be (B, ${this.inFeatures}, ...), got ${fmtShape(x.shape)}`)
    if (x.ndim === 2) return linear(x, this.weight, this.bias)
    const n = x.ndim
    const last = [0, ...Array.from({ length: n - 2 }, (_, i) => i + 2), 1] // channels to the end
    const back = [0, n - 1, ...Array.from({ length: n - 2 }, (_, i) => i + 1)]
    return linear(x.permute(last), this.weight, this.bias).permute(back)
  }
  forward(clip: Tensor): Tensor { return this.project(clip, 'forward') }
  forwardStep(frame: Tensor): Tensor { return this.project(frame, 'forwardStep') }
  flush(): Tensor[] { return [] }
  reset(): void {}
  flopsPerStep(): number { return this.inFeatures * this.outFeatures }
}

/** A plain module used inside co.Sequential acts per frame (activations): no state, delay 0. */
const isCo = (m: Module): m is CoModule => m instanceof CoModule
const stepOf = (m: Module, x: Tensor): Tensor | null => (isCo(m) ? m.forwardStep(x) : (m.forward as (t: Tensor) => Tensor)(x))

/**
 * Continual Sequential: children '0', '1', ... as nn.Sequential (so state dicts line up). Plain modules
 * (activations) are applied per frame. delay = Σ delays, receptiveField = Σ (rf_i − 1) + 1 (stride 1).
 * `flush()` ends the stream layer by layer: the outputs layer i flushes pass through layers i+1.. and
 * each later layer is then flushed in turn, which reproduces every layer's own end padding.
 * @example
 *   const net = new co.Sequential(co.Conv1d.fromOffline(c1), new nn.ReLU(), co.Conv1d.fromOffline(c2))
 */
export class Sequential extends CoModule {
  [index: number]: Module
  declare readonly length: number
  constructor(...modules: Module[]) {
    super()
    Object.defineProperty(this, 'length', { enumerable: false, value: modules.length })
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new TesseraError(`co.Sequential: argument ${i} is not a Module`)
      this[i] = m
    })
  }
  private get mods(): Module[] { return Array.from({ length: this.length }, (_, i) => this[i]) }
  get delay(): number { return this.mods.reduce((s, m) => s + (isCo(m) ? m.delay : 0), 0) }
  get receptiveField(): number { return this.mods.reduce((s, m) => s + (isCo(m) ? m.receptiveField - 1 : 0), 0) + 1 }
  forward(clip: Tensor): Tensor {
    return this.mods.reduce((x, m) => (m.forward as (t: Tensor) => Tensor)(x), clip)
  }
  forwardStep(frame: Tensor): Tensor | null {
    let x: Tensor | null = frame
    for (const m of this.mods) {
      x = stepOf(m, x)
      if (!x) return null
    }
    return x
  }
  flush(): Tensor[] {
    let pending: Tensor[] = []
    for (const m of this.mods) {
      const next: Tensor[] = []
      for (const y of pending) {
        const r = stepOf(m, y)
        if (r) next.push(r)
      }
      if (isCo(m)) next.push(...m.flush())
      pending = next
    }
    return pending
  }
  reset(): void { for (const m of this.mods) if (isCo(m)) m.reset() }
  flopsPerStep(): number { return this.mods.reduce((s, m) => s + (isCo(m) ? m.flopsPerStep() : 0), 0) }
}

/**
 * Delay-aligned residual: y_t = F(x)_t + x_{t−d}, with the shortcut passed through a FIFO of length
 * d = F.delay so it meets the branch output computed from the same frames. The branch must keep the
 * length (e.g. a conv with padding (k−1)δ/2, whose delay is then that padding).
 * Reference: https://arxiv.org/abs/2306.13474 (continual residuals), co.Residual in continual-inference.
 * @example
 *   const block = new co.Residual(co.Conv1d.fromOffline(new nn.Conv1d(8, 8, 3, { padding: 1 })))
 */
export class Residual extends CoModule {
  private fifo: Tensor[] = [] // up to delay + 1 frames (B, C, ...)
  constructor(readonly branch: CoModule) {
    super()
    if (!(branch instanceof CoModule)) throw new TesseraError('co.Residual: branch must be a continual module (co.*)')
  }
  get delay(): number { return this.branch.delay }
  get receptiveField(): number { return this.branch.receptiveField }
  private add(y: Tensor, x: Tensor, what: string): Tensor {
    if (y.ndim !== x.ndim || y.shape.some((d, i) => d !== x.shape[i])) {
      throw new TesseraError(`co.Residual.${what}: branch output ${fmtShape(y.shape)} must match the input ${fmtShape(x.shape)}`)
    }
    return y.add(x)
  }
  forward(clip: Tensor): Tensor { return this.add(this.branch.forward(clip), clip, 'forward') }
  forwardStep(frame: Tensor): Tensor | null {
    const y = this.branch.forwardStep(frame)
    this.fifo.push(frame)
    return y ? this.add(y, this.fifo.shift()!, 'forwardStep') : null
  }
  flush(): Tensor[] {
    const outs = this.branch.flush().map((y) => {
      const x = this.fifo.shift()
      if (!x) throw new TesseraError('co.Residual.flush: the branch emitted more trailing frames than its delay; it does not keep the length')
      return this.add(y, x, 'flush')
    })
    this.fifo = []
    return outs
  }
  reset(): void {
    this.fifo = []
    this.branch.reset()
  }
  flopsPerStep(): number { return this.branch.flopsPerStep() }
}

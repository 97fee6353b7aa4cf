/**
 * @file Recurrent layers: the cells RNNCell, GRUCell, LSTMCell (one time step) and the multi-layer,
 * optionally bidirectional sequence modules RNN, GRU, LSTM, as `torch.nn`. Parameter names, shapes,
 * gate order and initialisation are PyTorch's, so state dicts load from PyTorch unchanged:
 * `weight_ih_l{k}` (G H, I_k), `weight_hh_l{k}` (G H, H_out), `bias_ih_l{k}`, `bias_hh_l{k}` (G H),
 * `weight_hr_l{k}` (P, H) with projSize, and a `_reverse` suffix for the backward direction;
 * G = 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o). Every weight starts U(-1/sqrt H, 1/sqrt H).
 *
 * Shapes (L sequence, N batch, I input, H hidden, D = 2 if bidirectional else 1, H_out = projSize || H):
 *   input (L, N, I), or (N, L, I) with batchFirst, or unbatched (L, I);
 *   output (L, N, D H_out) (batchFirst: (N, L, D H_out)); h (numLayers D, N, H_out); c (numLayers D, N, H).
 *   Unbatched inputs drop the N dim everywhere. h_n is ordered layer 0 forward, layer 0 reverse, layer 1 ...
 *
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.LSTM.html,
 * https://pytorch.org/docs/stable/generated/torch.nn.GRU.html (Cho et al. 2014, https://arxiv.org/abs/1406.1078;
 * Hochreiter & Schmidhuber 1997; projections: Sak et al. 2014, https://arxiv.org/abs/1402.1128)
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { dropout, linear, stack } from '../functional.ts'
import { cat } from '../ops/indexing.ts'
import { zeros } from '../creation.ts'
import { isFloating } from '../dtype.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { uniformFanIn } from './linear.ts'
import { ownGenerator } from './activation.ts'

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'GRU' | 'LSTM'
const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, GRU: 3, LSTM: 4 }

/** Elman step: h' = act(W_ih x + b_ih + W_hh h + b_hh), with xg and hg the two projections (N, H). */
function rnnStep(xg: Tensor, hg: Tensor, relu: boolean): Tensor {
  const a = xg.add(hg)
  return relu ? a.relu() : a.tanh()
}

/**
 * GRU step, xg and hg (N, 3H) split as (r, z, n):
 *   r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r * h_n), h' = (1 - z) n + z h,
 * where h_n = W_hn h + b_hn sits inside the reset gate, as in PyTorch (and cuDNN).
 */
function gruStep(xg: Tensor, hg: Tensor, h: Tensor): Tensor {
  const [xr, xz, xn] = xg.chunk(3, -1)
  const [hr, hz, hn] = hg.chunk(3, -1)
  const r = xr.add(hr).sigmoid()
  const z = xz.add(hz).sigmoid()
  const n = xn.add(r.mul(hn)).tanh()
  return n.add(z.mul(h.sub(n))) // (1 - z) n + z h
}

/** LSTM step, gates (N, 4H) as (i, f, g, o): c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c'). */
function lstmStep(gates: Tensor, c: Tensor): { h: Tensor; c: Tensor } {
  const [i, f, g, o] = gates.chunk(4, -1)
  const c2 = f.sigmoid().mul(c).add(i.sigmoid().mul(g.tanh()))
  return { h: o.sigmoid().mul(c2.tanh()), c: c2 }
}

export interface CellOptions { bias?: boolean; generator?: Generator; dtype?: 'float32' | 'float64' }

abstract class CellBase extends Module {
  weight_ih: Parameter
  weight_hh: Parameter
  bias_ih: Parameter | null
  bias_hh: Parameter | null

  constructor(readonly inputSize: number, readonly hiddenSize: number, gates: number, opts: CellOptions) {
    super()
    checkSizes(this.constructor.name, inputSize, hiddenSize)
    const G = gates * hiddenSize
    this.weight_ih = new Parameter(uniformFanIn([G, inputSize], hiddenSize, opts))
    this.weight_hh = new Parameter(uniformFanIn([G, hiddenSize], hiddenSize, opts))
    this.bias_ih = opts.bias === false ? null : new Parameter(uniformFanIn([G], hiddenSize, opts))
    this.bias_hh = opts.bias === false ? null : new Parameter(uniformFanIn([G], hiddenSize, opts))
  }

  /** The input as (N, I), the state as (N, H) (zeros if absent), and whether to drop N again. */
  protected batched(x: Tensor, state: Tensor | undefined, name: string): { x: Tensor; s: Tensor; unbatched: boolean } {
    const op = this.constructor.name
    check(isFloating(x.dtype), op, () => `input must be a float tensor, got ${x.dtype}`)
    check((x.ndim === 1 || x.ndim === 2) && x.shape[x.ndim - 1] === this.inputSize, op, () =>
      `input has shape ${fmtShape(x.shape)}, expected (N, ${this.inputSize}) or (${this.inputSize})`)
    const unbatched = x.ndim === 1
    const x2 = unbatched ? x.unsqueeze(0) : x
    const want = [x2.shape[0], this.hiddenSize]
    if (state === undefined) return { x: x2, s: zeros(want, { dtype: x.dtype }), unbatched }
    const s2 = unbatched ? state.unsqueeze(0) : state
    check(s2.ndim === 2 && s2.shape[0] === want[0] && s2.shape[1] === want[1], op, () =>
      `${name} has shape ${fmtShape(state.shape)}, expected ${fmtShape(unbatched ? [this.hiddenSize] : want)} for input ${fmtShape(x.shape)}`)
    return { x: x2, s: s2, unbatched }
  }

  /** W_ih x + b_ih and W_hh h + b_hh, each (N, G H). */
  protected project(x: Tensor, h: Tensor): [Tensor, Tensor] {
    return [linear(x, this.weight_ih, this.bias_ih), linear(h, this.weight_hh, this.bias_hh)]
  }
}

function checkSizes(op: string, inputSize: number, hiddenSize: number): void {
  check(Number.isInteger(inputSize) && Number.isInteger(hiddenSize) && inputSize > 0 && hiddenSize > 0, op, () =>
    `inputSize and hiddenSize must be positive integers, got (${inputSize}, ${hiddenSize})`)
}

/** h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). Reference: https://pytorch.org/docs/stable/generated/torch.nn.RNNCell.html */
export class RNNCell extends CellBase {
  readonly nonlinearity: 'tanh' | 'relu'
  constructor(inputSize: number, hiddenSize: number, opts: CellOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super(inputSize, hiddenSize, 1, opts)
    this.nonlinearity = checkNonlinearity('RNNCell', opts.nonlinearity)
  }
  /** x (N, I) or (I), h (N, H) or (H), zeros if omitted -> h' */
  forward(x: Tensor, h?: Tensor): Tensor {
    const b = this.batched(x, h, 'h')
    const out = rnnStep(...this.project(b.x, b.s), this.nonlinearity === 'relu')
    return b.unbatched ? out.squeeze(0) : out
  }
}

/**
 * One GRU step (see gruStep). Reference: https://pytorch.org/docs/stable/generated/torch.nn.GRUCell.html
 * @example
 *   const cell = new GRUCell(3, 4); let h = cell.forward(x0); h = cell.forward(x1, h)
 */
export class GRUCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, opts: CellOptions = {}) { super(inputSize, hiddenSize, 3, opts) }
  forward(x: Tensor, h?: Tensor): Tensor {
    const b = this.batched(x, h, 'h')
    const out = gruStep(...this.project(b.x, b.s), b.s)
    return b.unbatched ? out.squeeze(0) : out
  }
}

/**
 * One LSTM step (see lstmStep); the state is `{h, c}`. Reference: https://pytorch.org/docs/stable/generated/torch.nn.LSTMCell.html
 * @example
 *   const cell = new LSTMCell(3, 4); let s = cell.forward(x0); s = cell.forward(x1, s)
 */
export class LSTMCell extends CellBase {
  constructor(inputSize: number, hiddenSize: number, opts: CellOptions = {}) { super(inputSize, hiddenSize, 4, opts) }
  forward(x: Tensor, state?: { h: Tensor; c: Tensor }): { h: Tensor; c: Tensor } {
    const b = this.batched(x, state?.h, 'h')
    const c = this.batched(x, state?.c, 'c').s
    const [xg, hg] = this.project(b.x, b.s)
    const out = lstmStep(xg.add(hg), c)
    return b.unbatched ? { h: out.h.squeeze(0), c: out.c.squeeze(0) } : out
  }
}

function checkNonlinearity(op: string, n: string | undefined): 'tanh' | 'relu' {
  const v = n ?? 'tanh'
  if (v !== 'tanh' && v !== 'relu') throw new TesseraError(`${op}: nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(n)}`)
  return v
}

export interface RNNOptions extends CellOptions {
  numLayers?: number
  /** Input and output as (N, L, features) instead of (L, N, features). */
  batchFirst?: boolean
  /** Dropout probability on the outputs of every layer but the last (training mode only). */
  dropout?: number
  bidirectional?: boolean
  /** Seed of the generator for the dropout masks (default: the default generator). */
  seed?: number
}

interface RunResult { output: Tensor; h: Tensor; c: Tensor | null }

abstract class RNNBase extends Module {
  readonly numLayers: number
  readonly batchFirst: boolean
  readonly dropout: number
  readonly bidirectional: boolean
  readonly projSize: number
  readonly generator: Generator

  constructor(readonly mode: Mode, readonly inputSize: number, readonly hiddenSize: number, opts: RNNOptions & { projSize?: number }) {
    super()
    const op = mode.startsWith('RNN') ? 'RNN' : mode
    checkSizes(op, inputSize, hiddenSize)
    this.numLayers = opts.numLayers ?? 1
    this.batchFirst = opts.batchFirst ?? false
    this.dropout = opts.dropout ?? 0
    this.bidirectional = opts.bidirectional ?? false
    this.projSize = opts.projSize ?? 0
    check(Number.isInteger(this.numLayers) && this.numLayers > 0, op, () => `numLayers must be a positive integer, got ${this.numLayers}`)
    check(this.dropout >= 0 && this.dropout <= 1, op, () => `dropout must be in [0, 1], got ${this.dropout}`)
    check(Number.isInteger(this.projSize) && this.projSize >= 0 && this.projSize < hiddenSize, op, () =>
      `projSize must be a non-negative integer smaller than hiddenSize (${hiddenSize}), got ${this.projSize}`)
    this.generator = ownGenerator({ seed: opts.seed })
    const D = this.bidirectional ? 2 : 1
    const G = GATES[mode] * hiddenSize
    const Hout = this.projSize || hiddenSize
    const self = this as unknown as Record<string, Parameter>
    // PyTorch's order (RNNBase._flat_weights_names): per layer, per direction: w_ih, w_hh, b_ih, b_hh, w_hr.
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`
        const I = l === 0 ? inputSize : D * Hout
        self[`weight_ih${sfx}`] = new Parameter(uniformFanIn([G, I], hiddenSize, opts))
        self[`weight_hh${sfx}`] = new Parameter(uniformFanIn([G, Hout], hiddenSize, opts))
        if (opts.bias !== false) {
          self[`bias_ih${sfx}`] = new Parameter(uniformFanIn([G], hiddenSize, opts))
          self[`bias_hh${sfx}`] = new Parameter(uniformFanIn([G], hiddenSize, opts))
        }
        if (this.projSize > 0) self[`weight_hr${sfx}`] = new Parameter(uniformFanIn([this.projSize, hiddenSize], hiddenSize, opts))
      }
    }
  }

  private get op(): string { return this.constructor.name }

  /** A parameter by its PyTorch name (e.g. 'weight_hh_l1_reverse'), or null for an absent bias. */
  param(name: string): Parameter | null {
    const p = (this as unknown as Record<string, unknown>)[name]
    return p instanceof Parameter ? p : null
  }

  /** The initial state as (numLayers D, N, size), zeros when absent, after checking its shape. */
  private initial(name: string, s: Tensor | undefined, like: Tensor, unbatched: boolean, N: number, size: number): Tensor {
    const want = [this.numLayers * (this.bidirectional ? 2 : 1), N, size]
    if (s === undefined) return zeros(want, { dtype: like.dtype })
    const s3 = unbatched && s.ndim === 2 ? s.unsqueeze(1) : s
    check(s3.ndim === 3 && s3.shape.every((d, i) => d === want[i]), this.op, () =>
      `${name} has shape ${fmtShape(s.shape)}, expected ${fmtShape(unbatched ? [want[0], size] : want)} (numLayers * numDirections, ${unbatched ? '' : 'batch, '}size)`)
    return s3
  }

  /** One direction of one layer over the whole sequence: x (L, N, I_l) -> out (L, N, H_out). */
  private direction(x: Tensor, l: number, reverse: boolean, h0: Tensor, c0: Tensor | null): RunResult {
    const sfx = `_l${l}${reverse ? '_reverse' : ''}`
    const whh = this.param(`weight_hh${sfx}`)!, bhh = this.param(`bias_hh${sfx}`), whr = this.param(`weight_hr${sfx}`)
    const xg = linear(x, this.param(`weight_ih${sfx}`)!, this.param(`bias_ih${sfx}`)) // (L, N, G H): all input projections at once
    const L = x.shape[0]
    const outs = new Array<Tensor>(L)
    let h = h0, c = c0
    for (let s = 0; s < L; s++) {
      const t = reverse ? L - 1 - s : s
      const hg = linear(h, whh, bhh) // (N, G H)
      if (this.mode === 'LSTM') {
        const next = lstmStep(xg.select(0, t).add(hg), c!)
        h = whr ? next.h.matmul(whr.T) : next.h // projection: h = W_hr (o * tanh c)
        c = next.c
      } else if (this.mode === 'GRU') {
        h = gruStep(xg.select(0, t), hg, h)
      } else {
        h = rnnStep(xg.select(0, t), hg, this.mode === 'RNN_RELU')
      }
      outs[t] = h
    }
    return { output: stack(outs, 0), h, c }
  }

  protected run(input: Tensor, h0: Tensor | undefined, c0: Tensor | undefined): RunResult {
    const op = this.op
    check(isFloating(input.dtype), op, () => `input must be a float tensor, got ${input.dtype}`)
    check((input.ndim === 2 || input.ndim === 3) && input.shape[input.ndim - 1] === this.inputSize && input.shape[input.ndim === 3 && this.batchFirst ? 1 : 0] > 0, op, () =>
      `input has shape ${fmtShape(input.shape)}, expected ${this.batchFirst ? '(N, L' : '(L, N'}, ${this.inputSize}) or unbatched (L, ${this.inputSize}) with L > 0`)
    const unbatched = input.ndim === 2
    let x = unbatched ? input.unsqueeze(1) : this.batchFirst ? input.transpose(0, 1) : input // (L, N, I)
    const N = x.shape[1], D = this.bidirectional ? 2 : 1
    const h = this.initial('h0', h0, input, unbatched, N, this.projSize || this.hiddenSize)
    const c = this.mode === 'LSTM' ? this.initial('c0', c0, input, unbatched, N, this.hiddenSize) : null
    const hs: Tensor[] = [], cs: Tensor[] = []
    for (let l = 0; l < this.numLayers; l++) {
      const outs: Tensor[] = []
      for (let d = 0; d < D; d++) {
        const k = l * D + d
        const r = this.direction(x, l, d === 1, h.select(0, k), c ? c.select(0, k) : null)
        outs.push(r.output)
        hs.push(r.h)
        if (r.c) cs.push(r.c)
      }
      x = D === 2 ? cat(outs, -1) : outs[0] // (L, N, D H_out)
      if (l < this.numLayers - 1 && this.dropout > 0) x = dropout(x, this.dropout, { training: this.training, generator: this.generator })
    }
    const fix = (t: Tensor): Tensor => (unbatched ? t.squeeze(1) : t)
    const output = unbatched ? x.squeeze(1) : this.batchFirst ? x.transpose(0, 1) : x
    return { output, h: fix(stack(hs, 0)), c: cs.length > 0 ? fix(stack(cs, 0)) : null }
  }
}

/**
 * Multi-layer Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu).
 * Reference: https://pytorch.org/docs/stable/generated/torch.nn.RNN.html
 * @example
 *   const { output, h } = new RNN(3, 8, { numLayers: 2 }).forward(x) // x (L, N, 3)
 */
export class RNN extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    super(checkNonlinearity('RNN', opts.nonlinearity) === 'relu' ? 'RNN_RELU' : 'RNN_TANH', inputSize, hiddenSize, opts)
  }
  /** input (L, N, I) / (N, L, I) / (L, I); h0 (numLayers D, N, H), zeros if omitted. */
  forward(input: Tensor, h0?: Tensor): { output: Tensor; h: Tensor } {
    const r = this.run(input, h0, undefined)
    return { output: r.output, h: r.h }
  }
}

/**
 * Multi-layer GRU (gates r, z, n as in gruStep).
 * @example
 *   const gru = new GRU(3, 8, { numLayers: 2, batchFirst: true, bidirectional: true })
 *   const { output, h } = gru.forward(x) // x (N, L, 3) -> output (N, L, 16), h (4, N, 8)
 */
export class GRU extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) { super('GRU', inputSize, hiddenSize, opts) }
  forward(input: Tensor, h0?: Tensor): { output: Tensor; h: Tensor } {
    const r = this.run(input, h0, undefined)
    return { output: r.output, h: r.h }
  }
}

/**
 * Multi-layer LSTM (gates i, f, g, o as in lstmStep), with optional output projection `projSize`.
 * @example
 *   const { output, h, c } = new LSTM(3, 8).forward(x, { h: h0, c: c0 })
 */
export class LSTM extends RNNBase {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions & { projSize?: number } = {}) { super('LSTM', inputSize, hiddenSize, opts) }
  forward(input: Tensor, state?: { h?: Tensor; c?: Tensor }): { output: Tensor; h: Tensor; c: Tensor } {
    const r = this.run(input, state?.h, state?.c)
    return { output: r.output, h: r.h, c: r.c! }
  }
}

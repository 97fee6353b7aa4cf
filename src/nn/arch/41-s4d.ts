/**
 * @file 41 S4D — On the Parameterization and Initialization of Diagonal State Space Models
 * (Gu, Gupta, Goel, Ré 2022, https://arxiv.org/abs/2206.11893; state-spaces/s4 `models/s4/s4d.py`
 * and `example.py`).
 *
 * The full S4D layer and a small sequence model around the diagonal SSM core `ssm.S4D`
 * (src/ssm/s4d.ts, convolution and recurrent modes):
 * - `S4DLayer`: y = GLU(Conv1x1_{H→2H}(Dropout(GELU(K * u + D u)))), the reference's S4D module.
 * - `S4DModel`: encoder Linear(dIn → H), `nLayers` × [x ← Norm(x + Dropout(S4DLayer(x)))] (post-norm;
 *   pre-norm optional), pooling ('mean', 'last' or none for seq2seq), decoder Linear(H → dOut).
 * - `delayTask`: the long-range delay benchmark's data, y_t = u_{t−k} for white-noise u.
 * Shapes: sequences are (B, L, dIn) at the model boundary; S4D layers work on (B, H, L).
 */
import { TesseraError } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { randn, zeros } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Linear } from '../linear.ts'
import { Conv1d } from '../conv.ts'
import { LayerNorm } from '../norm.ts'
import { Dropout } from '../activation.ts'
import { ModuleList } from '../containers.ts'
import { S4D, type S4DOptions } from '../../ssm/s4d.ts'

export interface S4DLayerOptions extends S4DOptions { dropout?: number }

/**
 * The S4D layer of the reference: the SSM convolution y = K * u + D u (`ssm.S4D`), then GELU,
 * dropout, a 1x1 convolution H → 2H and a GLU over channels: out = a ⊙ σ(b), [a; b] = W y + c.
 * Input and output (B, H, L).
 * Reference: https://arxiv.org/abs/2206.11893 (Sec. 3; state-spaces/s4 `models/s4/s4d.py`)
 * @example
 *   const layer = new S4DLayer(32, { dState: 64, init: 'lin' })
 *   const y = layer.forward(u) // u (B, 32, L) -> (B, 32, L)
 */
export class S4DLayer extends Module {
  ssm: S4D
  drop: Dropout
  outputLinear: Conv1d

  constructor(readonly H: number, opts: S4DLayerOptions = {}) {
    super()
    this.ssm = new S4D(H, opts)
    this.drop = new Dropout(opts.dropout ?? 0, { generator: opts.generator })
    this.outputLinear = new Conv1d(H, 2 * H, 1, { generator: opts.generator, dtype: opts.dtype })
  }

  forward(u: Tensor): Tensor {
    const y = this.drop.forward(this.ssm.forward(u).gelu()) // (B, H, L)
    const ab = this.outputLinear.forward(y) // (B, 2H, L)
    return ab.narrow(1, 0, this.H).mul(ab.narrow(1, this.H, this.H).sigmoid()) // GLU over channels
  }
}

export interface S4DModelOptions extends S4DLayerOptions {
  /** Model width H (default 32). */
  dModel?: number
  nLayers?: number
  /** 'mean' or 'last' pool over time to (B, dOut); 'none' keeps (B, L, dOut). Default 'mean'. */
  pool?: 'mean' | 'last' | 'none'
  /** Normalise before the layer (x + S4D(LN(x))) instead of after (LN(x + S4D(x))). Default false. */
  prenorm?: boolean
}

/**
 * A stack of S4D layers with residuals and LayerNorm between a linear encoder and decoder, as in the
 * reference's `example.py` (sequential CIFAR / MNIST): x = Enc(u); per layer z = S4DLayer(x), x = LN(x + z);
 * then pool and decode. u (B, L, dIn) -> (B, dOut) pooled, or (B, L, dOut) with pool 'none'.
 * Reference: https://arxiv.org/abs/2206.11893 (Sec. 5), state-spaces/s4 `example.py`
 * @example
 *   const m = new S4DModel(1, 10, { dModel: 32, nLayers: 2, dState: 64 })
 *   const logits = m.forward(pixels) // (B, 64, 1) -> (B, 10)
 */
export class S4DModel extends Module {
  encoder: Linear
  layers: ModuleList
  norms: ModuleList
  drops: ModuleList
  decoder: Linear
  readonly H: number
  readonly pool: 'mean' | 'last' | 'none'
  readonly prenorm: boolean

  constructor(readonly dIn: number, readonly dOut: number, opts: S4DModelOptions = {}) {
    super()
    const H = (this.H = opts.dModel ?? 32), n = opts.nLayers ?? 2
    if (!Number.isInteger(n) || n < 1) throw new TesseraError(`S4DModel: nLayers must be a positive integer, got ${n}`)
    this.pool = opts.pool ?? 'mean'
    this.prenorm = opts.prenorm ?? false
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.encoder = new Linear(dIn, H, o)
    this.layers = new ModuleList(Array.from({ length: n }, () => new S4DLayer(H, opts)))
    this.norms = new ModuleList(Array.from({ length: n }, () => new LayerNorm(H, { dtype: opts.dtype })))
    this.drops = new ModuleList(Array.from({ length: n }, () => new Dropout(opts.dropout ?? 0, { generator: opts.generator })))
    this.decoder = new Linear(H, dOut, o)
  }

  /** The S4D cores of every layer (e.g. for `paramGroups`). */
  cores(): S4D[] { return [...this.layers].map((l) => (l as S4DLayer).ssm) }

  /**
   * Optimizer groups: the SSM's A and dt get lr = min(1e-3, lr) and no weight decay (reference
   * `setup_optimizer`); every other parameter uses the optimizer defaults.
   */
  paramGroups(lr: number): { params: Tensor[]; lr?: number; weightDecay?: number }[] {
    const special = new Set<Tensor>(this.cores().flatMap((c) => [c.logDt, c.logAReal, c.AImag]))
    return [{ params: this.parameters().filter((p) => !special.has(p)) }, { params: [...special], lr: Math.min(0.001, lr), weightDecay: 0 }]
  }

  forward(u: Tensor): Tensor {
    if (u.ndim !== 3 || u.shape[2] !== this.dIn) throw new TesseraError(`S4DModel: u must be (B, L, dIn=${this.dIn}), got [${u.shape}]`)
    let x = this.encoder.forward(u) // (B, L, H)
    for (let i = 0; i < this.layers.length; i++) {
      const norm = this.norms.at(i) as LayerNorm, layer = this.layers.at(i) as S4DLayer, drop = this.drops.at(i) as Dropout
      const z = this.prenorm ? norm.forward(x) : x // (B, L, H)
      x = x.add(drop.forward(layer.forward(z.transpose(1, 2)).transpose(1, 2))) // residual
      if (!this.prenorm) x = norm.forward(x)
    }
    if (this.pool === 'mean') x = x.mean(1) // (B, H)
    else if (this.pool === 'last') x = x.select(1, x.shape[1] - 1) // (B, H)
    return this.decoder.forward(x)
  }
}

/**
 * The delay task (S4D paper, Sec. 5 / Fig. 4 ablations): inputs u_t ~ N(0, 1) white noise of length L,
 * targets y_t = u_{t−k} (zero for t < k). Returns u, y both (n, L, 1).
 * Reference: https://arxiv.org/abs/2206.11893
 * @example
 *   const { u, y } = delayTask(64, 256, 100, new Generator(0))
 */
export function delayTask(n: number, L: number, k: number, generator: Generator): { u: Tensor; y: Tensor } {
  if (!(Number.isInteger(k) && k >= 0 && k < L)) throw new TesseraError(`delayTask: delay k must be an integer in [0, L=${L}), got ${k}`)
  const u = randn([n, L, 1], { generator }) // (n, L, 1)
  const y = k === 0 ? u.clone() : cat([zeros([n, k, 1]), u.narrow(1, 0, L - k)], 1) // (n, L, 1)
  return { u, y }
}

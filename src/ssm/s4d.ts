/**
 * @file 41 S4D — On the Parameterization and Initialization of Diagonal State Space Models
 * (Gu, Gupta, Goel, Ré 2022, https://arxiv.org/abs/2206.11893; state-spaces/s4 `models/s4/s4d.py`).
 *
 * The diagonal SSM layer core: per channel h, N2 = N/2 complex modes (conjugates implied).
 * Parameters: logDt (H,), logAReal (H, N2) with A = -exp(logAReal) + i AImag, AImag (H, N2),
 * C (H, N2, 2) as (re, im) pairs, D (H,); B is fixed to 1 (folded into C').
 * Convolution mode: K = 2 Re Σ_n C'_n dA_n^l (Vandermonde, Eqn (5)); y = K * u + D u by FFT conv.
 * Recurrent mode: x_t = dA x_{t-1} + dB u_t, y_t = 2 Re(C x_t) + D u_t (one step per call).
 * Kernel generation is written with tensor ops (complex numbers as tensor pairs), so gradients
 * reach logDt, logAReal, AImag and C; `src/kernels/s4d.ts` is its raw-loop oracle.
 * Bidirectional (reference `s4d.py` with channels = 2): a second C (Cb, same A and dt) gives an
 * anti-causal kernel Kb, y_t += Σ_{m=1}^{L-1} Kb_{m-1} u_{t+m} (the reference's
 * pad(k0, (0, L)) + pad(k1.flip(-1), (L, 0)) circular convolution of length 2L).
 * Input/output (B, H, L). The layer's GELU / GLU output head is in src/nn/arch/41-s4d.ts.
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { arange, ones, rand, randn, tensor, zeros } from '../creation.ts'
import { cat, pad } from '../ops/indexing.ts'
import { causalConv1dLong } from '../ops/fft.ts'
import { defaultGenerator, type Generator } from '../rng.ts'
import { Module } from '../nn/module.ts'
import { Parameter } from '../nn/parameter.ts'

const S4D_INITS: readonly S4DInit[] = ['lin', 'inv', 'real', 'legs', 'rand']
import { s4dInitA, type Discretization, type S4DInit } from '../kernels/s4d.ts'

/** A complex tensor as a pair of real tensors of the same shape. */
export interface Complex { re: Tensor; im: Tensor }

const cmul = (a: Complex, b: Complex): Complex => ({ re: a.re.mul(b.re).sub(a.im.mul(b.im)), im: a.re.mul(b.im).add(a.im.mul(b.re)) })
function cdiv(a: Complex, b: Complex): Complex {
  const den = b.re.square().add(b.im.square())
  return { re: a.re.mul(b.re).add(a.im.mul(b.im)).div(den), im: a.im.mul(b.re).sub(a.re.mul(b.im)).div(den) }
}
/** exp(z) = e^{re} (cos im + i sin im). */
function cexp(z: Complex): Complex {
  const m = z.re.exp()
  return { re: m.mul(z.im.cos()), im: m.mul(z.im.sin()) }
}

export interface S4DOptions {
  /** State size N (N/2 complex modes), default 64. */
  dState?: number
  dtMin?: number
  dtMax?: number
  /** A init (`s4dInitA`): 'lin' (default), 'inv', 'real', 'legs' or 'rand' (seeded by `generator`). */
  init?: S4DInit
  disc?: Discretization
  generator?: Generator
  dtype?: 'float32' | 'float64'
  /** Add an anti-causal kernel with its own C (Cb); recurrent `step` is then unavailable. Default false. */
  bidirectional?: boolean
}

export class S4D extends Module {
  logDt: Parameter // (H,)
  logAReal: Parameter // (H, N2)
  AImag: Parameter // (H, N2)
  C: Parameter // (H, N2, 2)
  D: Parameter // (H,)
  /** The anti-causal C of a bidirectional layer, (H, N2, 2); null otherwise. */
  Cb: Parameter | null
  readonly N2: number
  readonly disc: Discretization

  constructor(readonly H: number, opts: S4DOptions = {}) {
    super()
    const N = opts.dState ?? 64
    if (!Number.isInteger(H) || H < 1 || !Number.isInteger(N) || N < 2 || N % 2 !== 0) {
      throw new TesseraError(`S4D: dModel must be a positive integer and dState an even integer >= 2, got (${H}, ${N})`)
    }
    this.N2 = N / 2
    this.disc = opts.disc ?? 'zoh'
    const dtype = opts.dtype ?? 'float32', generator = opts.generator
    const lo = Math.log(opts.dtMin ?? 1e-3), hi = Math.log(opts.dtMax ?? 1e-1)
    this.logDt = new Parameter(rand([H], { dtype, generator }).mul(hi - lo).add(lo))
    const init = opts.init ?? 'lin'
    if (!S4D_INITS.includes(init)) throw new TesseraError(`S4D: init must be one of ${S4D_INITS.join(', ')}, got '${String(init)}'`)
    // Rand draws a fresh row per channel (as the reference's (H, N/2) draw); the others share one row.
    const shared = init === 'rand' ? null : s4dInitA(init, this.N2)
    const rows = Array.from({ length: H }, () => shared ?? s4dInitA('rand', this.N2, generator ?? defaultGenerator)) // H x (N2,)
    this.logAReal = new Parameter(tensor(rows.map((A) => Array.from(A.re, (r) => Math.log(-r))), { dtype }))
    this.AImag = new Parameter(tensor(rows.map((A) => Array.from(A.im)), { dtype }))
    this.C = new Parameter(randn([H, this.N2, 2], { dtype, generator }).mul(Math.SQRT1_2)) // complex N(0, 1)
    this.D = new Parameter(randn([H], { dtype, generator }))
    this.Cb = opts.bidirectional ? new Parameter(randn([H, this.N2, 2], { dtype, generator }).mul(Math.SQRT1_2)) : null
  }
  get bidirectional(): boolean { return this.Cb !== null }

  /** dt A as a complex (H, N2) pair, and A itself. */
  private dtA(): { A: Complex; z: Complex; dt: Tensor } {
    const dt = this.logDt.exp().unsqueeze(1) // (H, 1)
    const A = { re: this.logAReal.exp().neg(), im: this.AImag } // (H, N2)
    return { A, z: { re: A.re.mul(dt), im: A.im.mul(dt) }, dt }
  }

  /** Discrete dA and dB (B = 1), each (H, N2): ZOH or bilinear. */
  discretize(): { dA: Complex; dB: Complex } {
    const { A, z, dt } = this.dtA()
    if (this.disc === 'zoh') {
      const dA = cexp(z) // exp(dt A)
      return { dA, dB: cdiv({ re: dA.re.sub(1), im: dA.im }, A) } // (exp(dt A) - 1) / A
    }
    const den = { re: z.re.mul(-0.5).add(1), im: z.im.mul(-0.5) } // 1 - dt A / 2
    const dA = cdiv({ re: z.re.mul(0.5).add(1), im: z.im.mul(0.5) }, den)
    return { dA, dB: cdiv({ re: dt.expand(den.re.shape), im: zeros(den.im.shape, { dtype: den.im.dtype }) }, den) }
  }

  /**
   * The convolution kernel K (H, L) = 2 Re Σ_n C_n dB_n dA_n^l (differentiable); with
   * `which = 'backward'` the anti-causal kernel of a bidirectional layer (C replaced by Cb).
   */
  kernel(L: number, which: 'forward' | 'backward' = 'forward'): Tensor {
    const Cw = which === 'forward' ? this.C : this.Cb
    if (!Cw) throw new TesseraError('S4D.kernel: the backward kernel needs a bidirectional layer')
    const Cc = { re: Cw.select(2, 0), im: Cw.select(2, 1) } // (H, N2)
    let powers: Complex // (H, N2, L)
    if (this.disc === 'zoh') {
      // Vandermonde by exp(dt A l): exact, no accumulated rounding.
      const { z } = this.dtA()
      const l = arange(0, L, 1, { dtype: this.C.dtype }) // (L,)
      powers = cexp({ re: z.re.unsqueeze(2).mul(l), im: z.im.unsqueeze(2).mul(l) })
    } else {
      // dA^l by doubling: [P, P dA^m] for m = 1, 2, 4, ...: log2(L) complex products.
      const { dA } = this.discretize()
      let cur: Complex = { re: dA.re.unsqueeze(2), im: dA.im.unsqueeze(2) } // (H, N2, 1)
      powers = { re: ones([this.H, this.N2, 1], { dtype: this.C.dtype }), im: zeros([this.H, this.N2, 1], { dtype: this.C.dtype }) }
      while (powers.re.shape[2] < L) {
        const next = cmul(powers, cur)
        powers = { re: cat([powers.re, next.re], 2), im: cat([powers.im, next.im], 2) }
        cur = cmul(cur, cur)
      }
      powers = { re: powers.re.narrow(2, 0, L), im: powers.im.narrow(2, 0, L) }
    }
    const Cp = cmul(Cc, this.discretize().dB) // C' (H, N2)
    const Cp3 = { re: Cp.re.unsqueeze(2), im: Cp.im.unsqueeze(2) } // (H, N2, 1)
    return Cp3.re.mul(powers.re).sub(Cp3.im.mul(powers.im)).sum(1).mul(2) // (H, L)
  }

  /** Convolution mode: u (B, H, L) -> y (B, H, L) = K * u + D u, via FFT conv for long L. */
  forward(u: Tensor): Tensor {
    if (u.ndim !== 3 || u.shape[1] !== this.H) throw new TesseraError(`S4D: input must be (B, H=${this.H}, L), got [${u.shape}]`)
    const L = u.shape[2]
    const y = causalConv1dLong(u, this.kernel(L)).add(u.mul(this.D.unsqueeze(1))) // (B, H, L)
    if (!this.Cb) return y
    // Anti-causal part: y_t += Σ_{m>=1} Kb_{m-1} u_{t+m} = rev(causal conv of rev(u) with [0, Kb_0, Kb_1, ...]).
    const kb = pad(this.kernel(L, 'backward'), [1, 0]).narrow(1, 0, L) // (H, L), kb[0] = 0
    return y.add(causalConv1dLong(u.flip(2), kb).flip(2))
  }

  /** A zero state for batch B: complex (B, H, N2). */
  initialState(B: number): Complex {
    const z = zeros([B, this.H, this.N2], { dtype: this.C.dtype })
    return { re: z, im: z }
  }

  /**
   * Recurrent mode, one step: x_t = dA x_{t-1} + dB u_t; y_t = 2 Re(C x_t) + D u_t.
   * u_t (B, H) -> [y_t (B, H), next state (B, H, N2)].
   */
  step(state: Complex, ut: Tensor): [Tensor, Complex] {
    if (this.Cb) throw new TesseraError('S4D.step: a bidirectional layer has no recurrent mode (it reads future inputs)')
    const { dA, dB } = this.discretize()
    const u3 = ut.unsqueeze(2) // (B, H, 1)
    const ax = cmul(dA, state)
    const x = { re: ax.re.add(dB.re.mul(u3)), im: ax.im.add(dB.im.mul(u3)) }
    const Cre = this.C.select(2, 0), Cim = this.C.select(2, 1)
    const y = x.re.mul(Cre).sub(x.im.mul(Cim)).sum(2).mul(2).add(ut.mul(this.D))
    return [y, x]
  }

  /**
   * Optimizer groups after the reference: A and dt get lr = min(0.001, lr) and no weight decay.
   * @example new optim.AdamW(s4d.paramGroups(0.01), {lr: 0.01, weightDecay: 0.05})
   */
  paramGroups(lr: number): { params: Tensor[]; lr?: number; weightDecay?: number }[] {
    return [{ params: this.Cb ? [this.C, this.Cb, this.D] : [this.C, this.D] }, { params: [this.logDt, this.logAReal, this.AImag], lr: Math.min(0.001, lr), weightDecay: 0 }]
  }
}

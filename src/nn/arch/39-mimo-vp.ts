/**
 * @file 39 MIMO-VP — MIMO Is All You Need: A Strong Multi-In-Multi-Out Baseline for Video Prediction
 * (Ning, Lan, Li, Chen, Chen, Chen, Han, Cui; AAAI 2023, https://arxiv.org/abs/2212.04655;
 * reference code ningshuliang/MIMO-VP `Models.py`, `Layers.py`, `Sublayers.py`, `preprocess.py`, `main.py`).
 *
 * A convolutional Transformer whose tokens are whole frames. The observed frames (space-to-depth
 * `patchReshape`, p = 2) go through a stride-2 conv stem and an encoder; a second stem applied to the
 * same observed frames gives one decoder query per output frame; every decoder layer is followed by a
 * shared upsampling head, and the outputs of all layers are concatenated on channels (deep
 * supervision, `deepSupervisionLoss`). All T_out frames come out of ONE forward pass (multi-in
 * multi-out); `recursiveRollout` is the single-output baseline that feeds each prediction back.
 *
 * Shapes: videos (B, T, C, H, W); patched frames (B, T, p²C, H/p, W/p); features (B, T, d, h, w) with
 * h = H/(2p); model output (B, T_out, p²C·nDec, H/p, W/p) after the sigmoid, the last p²C channels
 * being the final layer's prediction. `movingDigits` is the synthetic bouncing-digits video set.
 */
import { TesseraError, fmtShape } from '../../errors.ts'
import type { Tensor } from '../../tensor.ts'
import { fromTypedArray } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { mseLoss, l1Loss } from '../losses.ts'
import type { Generator } from '../../rng.ts'
import { Module } from '../module.ts'
import { Conv2d, Conv3d, ConvTranspose2d } from '../conv.ts'
import { GroupNorm } from '../norm.ts'
import { ModuleList } from '../containers.ts'
import { xavierUniform_ } from '../init.ts'
import { isShapeOnly } from '../../profile.ts'

type DT = 'float32' | 'float64'
interface Common { generator?: Generator; dtype?: DT }

/**
 * Space-to-depth of a video (`reshape_patch` of the reference): (B, T, C, H, W) → (B, T, p²C, H/p, W/p),
 * channel index (i·p + j)·C + c holding pixel (y·p + i, x·p + j) of channel c.
 * @example
 *   patchReshape(zeros([2, 10, 1, 64, 64]), 2).shape // [2, 10, 4, 32, 32]
 */
export function patchReshape(x: Tensor, p: number): Tensor {
  const [B, T, C, H, W] = x.shape
  if (x.ndim !== 5 || !Number.isInteger(p) || p < 1 || H % p !== 0 || W % p !== 0) {
    throw new TesseraError(`patchReshape: x must be (B, T, C, H, W) with H, W divisible by p = ${p}, got ${fmtShape(x.shape)}`)
  }
  return x.reshape([B, T, C, H / p, p, W / p, p]).permute([0, 1, 4, 6, 2, 3, 5]).reshape([B, T, p * p * C, H / p, W / p])
}

/** Depth-to-space, the inverse of `patchReshape`: (B, T, p²C, h, w) → (B, T, C, h·p, w·p). */
export function patchReshapeBack(x: Tensor, p: number): Tensor {
  const [B, T, PC, h, w] = x.shape
  if (x.ndim !== 5 || !Number.isInteger(p) || p < 1 || PC % (p * p) !== 0) {
    throw new TesseraError(`patchReshapeBack: x must be (B, T, p²C, h, w) with p = ${p}, got ${fmtShape(x.shape)}`)
  }
  const C = PC / (p * p)
  return x.reshape([B, T, p, p, C, h, w]).permute([0, 1, 4, 5, 2, 6, 3]).reshape([B, T, C, h * p, w * p])
}

/** Applies a 2-D module to every frame: (B, T, C, H, W) → (B, T, C', H', W'). */
function perFrame(m: Module, x: Tensor): Tensor {
  const [B, T] = x.shape
  const y = (m.forward as (t: Tensor) => Tensor)(x.reshape([B * T, ...x.shape.slice(2)])) // (B T, C', H', W')
  return y.reshape([B, T, ...y.shape.slice(1)])
}

/** Conv1x1 (no bias) + GroupNorm(1, d) [+ SiLU]: the projections of `MultiHeadAttention_S`. */
class Proj extends Module {
  conv: Conv2d
  norm: GroupNorm
  constructor(d: number, readonly act: boolean, o: Common) {
    super()
    this.conv = new Conv2d(d, d, 1, { bias: false, ...o })
    this.norm = new GroupNorm(1, d, { dtype: o.dtype })
  }
  forward(x: Tensor): Tensor {
    const y = this.norm.forward(this.conv.forward(x)) // (N, d, h, w)
    return this.act ? y.silu() : y
  }
}

/**
 * Attention between frames (`MultiHeadAttention_S`): per frame Q, K, V = GN(Conv1x1(x)); the d channels
 * split into H heads of dh; with vec the flattened (dh, h, w) map,
 *   a_ts = softmax_s(⟨vec Q_t, vec K_s⟩ / √(dh·h·w)),   out_t = Σ_s a_ts V_s,
 * then Conv1x1 + GN + SiLU. No mask and no positional encoding (the order enters through Conv3dFFN).
 * Reference: https://arxiv.org/abs/2212.04655 (Sec. 3.2), MIMO-VP `Sublayers.py`
 * @example
 *   const attn = new FrameAttention(32, 4)
 *   attn.forward(x, x, x) // x (B, T, 32, h, w) → (B, T, 32, h, w)
 */
export class FrameAttention extends Module {
  q: Proj
  k: Proj
  v: Proj
  out: Proj
  constructor(readonly d: number, readonly heads: number, o: Common = {}) {
    super()
    if (!Number.isInteger(heads) || heads < 1 || d % heads !== 0) {
      throw new TesseraError(`FrameAttention: heads ${heads} must divide d ${d}`)
    }
    this.q = new Proj(d, false, o); this.k = new Proj(d, false, o); this.v = new Proj(d, false, o)
    this.out = new Proj(d, true, o)
  }

  /** Projects and splits heads: (B, T, d, h, w) → (B, H, T, dh·h·w). */
  private split(p: Proj, x: Tensor): Tensor {
    const [B, T, , h, w] = x.shape
    return perFrame(p, x).reshape([B, T, this.heads, (this.d / this.heads) * h * w]).permute([0, 2, 1, 3])
  }

  /** Output (B, Tq, d, h, w) and the attention weights (B, H, Tq, Tk) (each row sums to 1). */
  attend(q: Tensor, k: Tensor, v: Tensor): { out: Tensor; weights: Tensor } {
    const [B, Tq, d, h, w] = q.shape
    for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) {
      if (t.ndim !== 5 || t.shape[0] !== B || t.shape[2] !== this.d || t.shape[3] !== h || t.shape[4] !== w || t.shape[1] !== (name === 'q' ? Tq : k.shape[1])) {
        throw new TesseraError(`FrameAttention: ${name} must be (B, T, ${this.d}, h, w) matching q ${fmtShape(q.shape)} (k and v sharing T), got ${fmtShape(t.shape)}`)
      }
    }
    const Q = this.split(this.q, q), K = this.split(this.k, k), V = this.split(this.v, v) // (B, H, T, F)
    const F = Q.shape[3] // dh·h·w
    const weights = Q.matmul(K.transpose(2, 3)).div(Math.sqrt(F)).softmax(-1) // (B, H, Tq, Tk)
    const o = weights.matmul(V).permute([0, 2, 1, 3]).reshape([B, Tq, d, h, w]) // heads back on channels
    return { out: perFrame(this.out, o), weights }
  }

  forward(q: Tensor, k: Tensor, v: Tensor): Tensor { return this.attend(q, k, v).out }
}

/**
 * The local spatio-temporal feed-forward (`FeedForward`): over (T, h, w),
 *   FFN(x) = SiLU(GN(Conv3d₂(SiLU(GN(Conv3d₁(x)))))),  Conv3d₁: d → 2d, Conv3d₂: 2d → d, 3×3×3, pad 1, no bias,
 * GroupNorm(1, ·) normalising each clip over all of (C, T, h, w). (B, T, d, h, w) → (B, T, d, h, w).
 */
export class Conv3dFFN extends Module {
  conv1: Conv3d
  norm1: GroupNorm
  conv2: Conv3d
  norm2: GroupNorm
  constructor(readonly d: number, o: Common = {}) {
    super()
    this.conv1 = new Conv3d(d, 2 * d, 3, { padding: 1, bias: false, ...o })
    this.norm1 = new GroupNorm(1, 2 * d, { dtype: o.dtype })
    this.conv2 = new Conv3d(2 * d, d, 3, { padding: 1, bias: false, ...o })
    this.norm2 = new GroupNorm(1, d, { dtype: o.dtype })
  }
  forward(x: Tensor): Tensor {
    const y = this.norm1.forward(this.conv1.forward(x.permute([0, 2, 1, 3, 4]))).silu() // (B, 2d, T, h, w)
    return this.norm2.forward(this.conv2.forward(y)).silu().permute([0, 2, 1, 3, 4]) // (B, T, d, h, w)
  }
}

/** Encoder layer (post-norm): x = GN(x + Attn(x, x, x)); x = GN(x + FFN(x)), GN per frame. */
export class MIMOEncoderLayer extends Module {
  attn: FrameAttention
  norm1: GroupNorm
  ff: Conv3dFFN
  norm2: GroupNorm
  constructor(d: number, heads: number, o: Common = {}) {
    super()
    this.attn = new FrameAttention(d, heads, o); this.norm1 = new GroupNorm(1, d, { dtype: o.dtype })
    this.ff = new Conv3dFFN(d, o); this.norm2 = new GroupNorm(1, d, { dtype: o.dtype })
  }
  forward(x: Tensor): Tensor {
    x = perFrame(this.norm1, x.add(this.attn.forward(x, x, x))) // (B, T, d, h, w)
    return perFrame(this.norm2, x.add(this.ff.forward(x)))
  }
}

/** Decoder layer: self-attention, cross-attention to the encoder output, FFN; each + residual + GN. */
export class MIMODecoderLayer extends Module {
  selfAttn: FrameAttention
  norm1: GroupNorm
  crossAttn: FrameAttention
  norm2: GroupNorm
  ff: Conv3dFFN
  norm3: GroupNorm
  constructor(d: number, heads: number, o: Common = {}) {
    super()
    this.selfAttn = new FrameAttention(d, heads, o); this.norm1 = new GroupNorm(1, d, { dtype: o.dtype })
    this.crossAttn = new FrameAttention(d, heads, o); this.norm2 = new GroupNorm(1, d, { dtype: o.dtype })
    this.ff = new Conv3dFFN(d, o); this.norm3 = new GroupNorm(1, d, { dtype: o.dtype })
  }
  /** x (B, Tq, d, h, w) queries, mem (B, Tk, d, h, w) encoder output → (B, Tq, d, h, w). */
  forward(x: Tensor, mem: Tensor): Tensor {
    x = perFrame(this.norm1, x.add(this.selfAttn.forward(x, x, x)))
    x = perFrame(this.norm2, x.add(this.crossAttn.forward(x, mem, mem)))
    return perFrame(this.norm3, x.add(this.ff.forward(x)))
  }
}

/** Stem: Conv3x3 stride 2 (no bias) + GN + SiLU, (N, p²C, H/p, W/p) → (N, d, H/2p, W/2p). */
class Stem extends Module {
  conv: Conv2d
  norm: GroupNorm
  constructor(inC: number, d: number, o: Common) {
    super()
    this.conv = new Conv2d(inC, d, 3, { stride: 2, padding: 1, bias: false, ...o })
    this.norm = new GroupNorm(1, d, { dtype: o.dtype })
  }
  forward(x: Tensor): Tensor { return this.norm.forward(this.conv.forward(x)).silu() }
}

/** Head shared by all decoder layers: ConvT3x3 s2 (d → d) + GN + SiLU + ConvT1x1 (d → p²C), no bias. */
class Head extends Module {
  up: ConvTranspose2d
  norm: GroupNorm
  proj: ConvTranspose2d
  constructor(d: number, outC: number, o: Common) {
    super()
    this.up = new ConvTranspose2d(d, d, 3, { stride: 2, padding: 1, outputPadding: 1, bias: false, ...o })
    this.norm = new GroupNorm(1, d, { dtype: o.dtype })
    this.proj = new ConvTranspose2d(d, outC, 1, { bias: false, ...o })
  }
  forward(x: Tensor): Tensor { return this.proj.forward(this.norm.forward(this.up.forward(x)).silu()) }
}

export interface MIMOVPOptions extends Common {
  /** Model width d (default 128). */
  dModel?: number
  /** Attention heads (default 8). */
  heads?: number
  /** Encoder layers (default 6). */
  nEnc?: number
  /** Decoder layers = deep-supervision outputs (default 6). */
  nDec?: number
  /** Space-to-depth patch p (default 2). */
  patch?: number
  /** Image channels C (default 1). */
  channels?: number
  /**
   * Decoder queries: the stem of the last `tOut` observed frames, one per output frame. Default: all
   * observed frames (T_out = T_in, the paper). `tOut = 1` is the single-output (SISO) baseline.
   */
  tOut?: number
}

/** The configurations used here: the paper's Moving MNIST model and the tiny demo model. */
export const MIMO_VP_PRESETS = {
  /**
   * The paper / reference code (`main.py` defaults): Moving MNIST 64×64, 10 → 10. 22,606,592 parameters
   * and 59.8 GMACs per clip by the closed forms of the reference layers (the sheet quotes no published count).
   */
  'moving-mnist': { dModel: 128, heads: 8, nEnc: 6, nDec: 6, patch: 2, channels: 1 },
  /** The sheet's small demo backbone (d 32, 2 + 2 layers). */
  tiny: { dModel: 32, heads: 4, nEnc: 2, nDec: 2, patch: 2, channels: 1 },
  /** The backbone examples/mimo-vp-digits.ts trains on a shared CPU (d 16, 1 + 2 layers). */
  digits: { dModel: 16, heads: 2, nEnc: 1, nDec: 2, patch: 2, channels: 1 },
} as const satisfies Record<string, MIMOVPOptions>

/**
 * MIMO-VP: (B, T_in, p²C, H/p, W/p) patched frames → (B, T_out, p²C·nDec, H/p, W/p) in (0, 1), the
 * sigmoid of every decoder layer's head output concatenated on channels (last p²C = final prediction).
 * All weight matrices Xavier-uniform, as `get_model` does.
 * Reference: https://arxiv.org/abs/2212.04655, MIMO-VP `Models.py`
 * @example
 *   const m = new MIMOVP({ dModel: 32, heads: 4, nEnc: 2, nDec: 2, generator: new Generator(0) })
 *   m.predict(video) // (B, 10, 1, 32, 32) → (B, 10, 1, 32, 32)
 */
export class MIMOVP extends Module {
  readonly d: number
  readonly patch: number
  readonly channels: number
  readonly nDec: number
  readonly tOut: number | undefined
  encStem: Stem
  decStem: Stem
  encoder: ModuleList // of MIMOEncoderLayer
  decoder: ModuleList // of MIMODecoderLayer
  head: Head

  constructor(opts: MIMOVPOptions | keyof typeof MIMO_VP_PRESETS = {}) {
    super()
    if (typeof opts === 'string' && !Object.prototype.hasOwnProperty.call(MIMO_VP_PRESETS, opts)) {
      throw new TesseraError(`MIMOVP: unknown preset '${opts}', expected one of ${Object.keys(MIMO_VP_PRESETS).join(', ')}`)
    }
    const o: MIMOVPOptions = typeof opts === 'string' ? MIMO_VP_PRESETS[opts] : opts
    this.d = o.dModel ?? 128; this.patch = o.patch ?? 2; this.channels = o.channels ?? 1
    const heads = o.heads ?? 8, nEnc = o.nEnc ?? 6; this.nDec = o.nDec ?? 6; this.tOut = o.tOut
    if (nEnc < 1 || this.nDec < 1) throw new TesseraError(`MIMOVP: nEnc and nDec must be >= 1, got ${nEnc}, ${this.nDec}`)
    const c: Common = { generator: o.generator, dtype: o.dtype }
    const pc = this.patch * this.patch * this.channels
    this.encStem = new Stem(pc, this.d, c)
    this.decStem = new Stem(pc, this.d, c)
    this.encoder = new ModuleList(Array.from({ length: nEnc }, () => new MIMOEncoderLayer(this.d, heads, c)))
    this.decoder = new ModuleList(Array.from({ length: this.nDec }, () => new MIMODecoderLayer(this.d, heads, c)))
    this.head = new Head(this.d, pc, c)
    // NOTE: skipped in shape-only mode, where there are no values to draw (saves 22.6M draws at full size).
    if (!isShapeOnly()) for (const p of this.parameters()) if (p.ndim > 1) xavierUniform_(p, { generator: o.generator })
  }

  forward(src: Tensor): Tensor {
    const pc = this.patch * this.patch * this.channels
    const [, T, C, h, w] = src.shape
    if (src.ndim !== 5 || C !== pc || h % 2 !== 0 || w % 2 !== 0) {
      throw new TesseraError(`MIMOVP: src must be (B, T, ${pc}, h, w) patched frames with even h, w, got ${fmtShape(src.shape)}`)
    }
    const tOut = this.tOut ?? T
    if (tOut > T) throw new TesseraError(`MIMOVP: tOut ${tOut} exceeds the ${T} observed frames the queries come from`)
    let mem = perFrame(this.encStem, src) // (B, T_in, d, h/2, w/2)
    for (const layer of this.encoder) mem = (layer as MIMOEncoderLayer).forward(mem)
    let x = perFrame(this.decStem, src.narrow(1, T - tOut, tOut)) // (B, T_out, d, h/2, w/2) queries
    const outs: Tensor[] = []
    for (const layer of this.decoder) {
      x = (layer as MIMODecoderLayer).forward(x, mem)
      outs.push(perFrame(this.head, x)) // (B, T_out, p²C, h, w), one per layer (deep supervision)
    }
    return cat(outs, 2).sigmoid() // (B, T_out, p²C·nDec, h, w)
  }

  /** The final layer's frames: (B, T_out, p²C·nDec, h, w) → (B, T_out, p²C, h, w). */
  lastLayer(out: Tensor): Tensor {
    const pc = this.patch * this.patch * this.channels
    return out.narrow(2, out.shape[2] - pc, pc)
  }

  /** Full-resolution prediction in one forward: video (B, T_in, C, H, W) → (B, T_out, C, H, W). */
  predict(video: Tensor): Tensor {
    return patchReshapeBack(this.lastLayer(this.forward(patchReshape(video, this.patch))), this.patch)
  }
}

/**
 * Deep-supervision loss of `main.py`: the target repeated once per decoder layer,
 *   L = mseWeight · MSE(out, [y; …; y]) + l1Weight · L1(out, [y; …; y])   (defaults 10 and 1),
 * both mean-reduced, so L = (1/nDec) Σ_l L_l (mean of the per-layer losses) = (1/T) Σ_t L_t.
 * out (B, T, p²C·nDec, h, w), target (B, T, p²C, h, w).
 */
export function deepSupervisionLoss(out: Tensor, target: Tensor, opts: { mseWeight?: number; l1Weight?: number } = {}): Tensor {
  const L = out.shape[2] / target.shape[2]
  if (out.ndim !== 5 || target.ndim !== 5 || !Number.isInteger(L) || out.shape[0] !== target.shape[0] || out.shape[1] !== target.shape[1] ||
      out.shape[3] !== target.shape[3] || out.shape[4] !== target.shape[4]) {
    throw new TesseraError(`deepSupervisionLoss: out ${fmtShape(out.shape)} must be target ${fmtShape(target.shape)} with channels × nDec`)
  }
  const rep = cat(Array.from({ length: L }, () => target), 2) // (B, T, p²C·nDec, h, w)
  return mseLoss(out, rep).mul(opts.mseWeight ?? 10).add(l1Loss(out, rep).mul(opts.l1Weight ?? 1))
}

/**
 * The recursive single-output (SISO) baseline: a `tOut = 1` model predicts the next frame from the last
 * T_in frames, the prediction is appended to the window (oldest frame dropped) and fed back, `steps`
 * times (one model call per output frame). src (B, T_in, p²C, h, w) → (B, steps, p²C, h, w).
 */
export function recursiveRollout(model: MIMOVP, src: Tensor, steps: number): Tensor {
  const T = src.shape[1]
  let window = src // (B, T_in, p²C, h, w)
  const preds: Tensor[] = []
  for (let s = 0; s < steps; s++) {
    const out = model.lastLayer(model.forward(window)) // (B, tOut, p²C, h, w)
    const next = out.narrow(1, out.shape[1] - 1, 1) // (B, 1, p²C, h, w)
    preds.push(next)
    window = cat([window.narrow(1, 1, T - 1), next], 1)
  }
  return cat(preds, 1)
}

export interface MovingDigitsOptions {
  /** Number of videos N. */
  n: number
  /** Frames per video T. */
  frames: number
  /** Canvas side S. */
  size: number
  /** Glyphs (M, G, G) or (M, G·G) with values in [0, 1] (bundled digits: x / 16). */
  digits: Tensor
  /** Digits per video (default 1). */
  perVideo?: number
  /** Each velocity component is a uniform integer in ±[1, maxSpeed] pixels/frame (default 2). */
  maxSpeed?: number
  generator: Generator
}

export interface MovingDigits {
  /** (N, T, 1, S, S) float32 in [0, 1], overlapping digits combined with max. */
  videos: Tensor
  /** (N, K, T, 2) top-left (row, col) of each digit in each frame. */
  positions: Int32Array
  /** (N, K, 2) initial velocity (row, col). */
  velocities: Int32Array
  /** (N, K) glyph index of each digit. */
  glyphs: Int32Array
}

/**
 * Moving digits (a Moving-MNIST-style set from 8×8 glyphs): each of K digits starts at a uniform
 * integer position in [0, L]², L = S − G, with integer velocity v, and moves p ← p + v each frame,
 * bouncing elastically: p < 0 → (−p, −v); p > L → (2L − p, −v). Equivalently p_t = tri(p_0 + v t) with
 * the triangle wave tri(x) = L − |L − (x mod 2L)|.
 */
export function movingDigits(o: MovingDigitsOptions): MovingDigits {
  const { n, frames: T, size: S, generator: g } = o
  const K = o.perVideo ?? 1, vmax = o.maxSpeed ?? 2
  const M = o.digits.shape[0], G = Math.round(Math.sqrt(o.digits.numel() / M))
  if (G * G * M !== o.digits.numel()) throw new TesseraError(`movingDigits: digits must be (M, G, G) or (M, G·G), got ${fmtShape(o.digits.shape)}`)
  const L = S - G
  for (const [k, v] of [['n', n], ['frames', T], ['perVideo', K], ['maxSpeed', vmax]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new TesseraError(`movingDigits: ${k} must be a positive integer, got ${v}`)
  }
  if (!Number.isInteger(S) || L < vmax) throw new TesseraError(`movingDigits: size ${S} must exceed the glyph side ${G} by at least maxSpeed ${vmax}`)
  const glyph = Float32Array.from(o.digits.contiguous().data()) // (M, G, G)
  if (glyph.some((v) => !(v >= 0 && v <= 1))) throw new TesseraError('movingDigits: digits must hold values in [0, 1] (divide the bundled 0..16 digits by 16)')
  const videos = new Float32Array(n * T * S * S) // (N, T, 1, S, S)
  const positions = new Int32Array(n * K * T * 2), velocities = new Int32Array(n * K * 2), glyphs = new Int32Array(n * K)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      const id = g.nextInt(0, M)
      glyphs[i * K + k] = id
      const p = [g.nextInt(0, L + 1), g.nextInt(0, L + 1)]
      const v = [0, 1].map(() => (g.nextFloat64() < 0.5 ? -1 : 1) * g.nextInt(1, vmax + 1))
      velocities.set(v, (i * K + k) * 2)
      for (let t = 0; t < T; t++) {
        if (t > 0) {
          for (let a = 0; a < 2; a++) {
            p[a] += v[a]
            if (p[a] < 0) { p[a] = -p[a]; v[a] = -v[a] }
            if (p[a] > L) { p[a] = 2 * L - p[a]; v[a] = -v[a] }
          }
        }
        positions.set(p, ((i * K + k) * T + t) * 2)
        const base = (i * T + t) * S * S
        for (let r = 0; r < G; r++) {
          for (let c = 0; c < G; c++) {
            const val = glyph[(id * G + r) * G + c], at = base + (p[0] + r) * S + p[1] + c
            if (val > videos[at]) videos[at] = val
          }
        }
      }
    }
  }
  return { videos: fromTypedArray(videos, [n, T, 1, S, S]), positions, velocities, glyphs }
}

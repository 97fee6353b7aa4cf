/**
 * @file Window multi-head self-attention on NCHW feature maps, shared by the vision papers (EMOv2's
 * spanning EW-MHSA, Swin-style shifted windows, global MHSA as the window-covers-the-map case).
 *
 * Two ways to cut an (H, W) map (H, W multiples of the window wH x wW; n1 = H / wH, n2 = W / wW) into
 * n1 n2 windows of L = wH wW pixels:
 *  - 'close'  (Swin, EMOv2 EW-MHSA_Close): window (a, b) holds pixels (a wH + i, b wW + j), a compact patch;
 *  - 'remote' (EMOv2 EW-MHSA_Remote): window (a, b) holds pixels (i n1 + a, j n2 + b), a strided grid
 *    spanning the whole image;
 *  - 'hybrid' (EMOv2 i²RMB): the sum of the close and the remote outputs, with the same q, k, v.
 * Sizes that are not window multiples are zero-padded at the bottom / right and cropped afterwards
 * (as the references do: padded pixels take part as keys unless `maskPadding`). A window larger than
 * the map is clamped to the map, so a window >= H, W (or <= 0) is global MHSA.
 * Shapes: q, k (B, C, H, W) with C = heads · dh; v (B, Cv, H, W) with Cv = heads · dv; out (B, Cv, H, W).
 * Inside, windows are (B, n, C, wH, wW) and tokens (B, n, heads, L, d).
 * References: EMOv2 https://arxiv.org/abs/2412.06674 (Sec. 3.3, zhangzjn/EMOv2 model/lib_emo/emo2.py);
 * Swin https://arxiv.org/abs/2103.14030 (Sec. 3.2, shifted windows and relative position bias).
 */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { fromTypedArray, zeros } from '../creation.ts'
import { pad } from '../ops/indexing.ts'
import { roll } from '../functional.ts'
import { scaledDotProductAttention } from '../ops/attention.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'
import { Conv2d } from './conv.ts'
import { truncNormal_ } from './init.ts'
import { activate, type Activation } from './blocks.ts'

export type WindowMode = 'close' | 'remote'
type Size2 = readonly [number, number]

function checkMap(op: string, name: string, x: Tensor): void {
  if (x.ndim !== 4) throw new TesseraError(`${op}: ${name} must be (B, C, H, W), got [${x.shape}]`)
}

/**
 * Cuts x (B, C, H, W) into windows (B, n1 n2, C, wH, wW), window index a n2 + b.
 * close: pixel (a wH + i, b wW + j) → window (a, b), slot (i, j); remote: pixel (i n1 + a, j n2 + b).
 */
export function windowPartition(x: Tensor, window: Size2, mode: WindowMode = 'close'): Tensor {
  checkMap('windowPartition', 'x', x)
  const [B, C, H, W] = x.shape, [wH, wW] = window
  if (H % wH || W % wW) throw new TesseraError(`windowPartition: map ${H}x${W} is not a multiple of the window ${wH}x${wW} (pad first)`)
  const n1 = H / wH, n2 = W / wW
  const t = mode === 'close'
    ? x.reshape([B, C, n1, wH, n2, wW]).permute([0, 2, 4, 1, 3, 5]) // (B, n1, n2, C, wH, wW)
    : x.reshape([B, C, wH, n1, wW, n2]).permute([0, 3, 5, 1, 2, 4]) // (B, n1, n2, C, wH, wW)
  return t.reshape([B, n1 * n2, C, wH, wW])
}

/** Inverse of `windowPartition`: windows (B, n1 n2, C, wH, wW) → (B, C, H, W). */
export function windowReverse(windows: Tensor, window: Size2, H: number, W: number, mode: WindowMode = 'close'): Tensor {
  const [B, n, C, wH, wW] = windows.shape
  if (windows.ndim !== 5 || wH !== window[0] || wW !== window[1] || n * wH * wW !== H * W || H % wH || W % wW) {
    throw new TesseraError(`windowReverse: windows [${windows.shape}] do not tile a ${H}x${W} map with ${window[0]}x${window[1]} windows`)
  }
  const n1 = H / wH, n2 = W / wW
  const t = windows.reshape([B, n1, n2, C, wH, wW])
  return (mode === 'close' ? t.permute([0, 3, 1, 4, 2, 5]) : t.permute([0, 3, 4, 1, 5, 2])).reshape([B, C, H, W])
}

/** The effective window (clamped to the map; <= 0 means the whole map) and the padded size. */
export function windowGeometry(window: number | Size2, H: number, W: number): { win: [number, number]; Hp: number; Wp: number } {
  const [a, b] = typeof window === 'number' ? [window, window] : window
  const wH = a <= 0 ? H : Math.min(a, H), wW = b <= 0 ? W : Math.min(b, W)
  return { win: [wH, wW], Hp: Math.ceil(H / wH) * wH, Wp: Math.ceil(W / wW) * wW }
}

/** Zero-pads x (B, C, H, W) at the bottom / right to (B, C, Hp, Wp). */
export function padTo(x: Tensor, Hp: number, Wp: number): Tensor {
  const [, , H, W] = x.shape
  return Hp === H && Wp === W ? x : pad(x, [0, Wp - W, 0, Hp - H])
}

/**
 * Swin's relative-position index for a wH x wW window: idx[p, p'] = (i − i' + wH − 1)(2 wW − 1) + (j − j' + wW − 1)
 * into a ((2 wH − 1)(2 wW − 1), heads) table; `table` (tH, tW) sizes the table (>= the window).
 */
export function relativePositionIndex(window: Size2, table: Size2 = window): Int32Array {
  const [wH, wW] = window, L = wH * wW
  const idx = new Int32Array(L * L) // (L, L)
  for (let p = 0; p < L; p++) {
    for (let q = 0; q < L; q++) {
      const di = Math.floor(p / wW) - Math.floor(q / wW), dj = (p % wW) - (q % wW)
      idx[p * L + q] = (di + table[0] - 1) * (2 * table[1] - 1) + (dj + table[1] - 1)
    }
  }
  return idx
}

/**
 * Additive mask (n, L, L) (0 keep, −1e9 drop) for the windows of a padded Hp x Wp map rolled by −shift:
 * Swin's shifted-window regions (keys in another region dropped) and, with `validH/W`, padded keys
 * dropped. null when nothing is masked. NOTE: −1e9 rather than −∞ so that a window row with no valid
 * key (only possible for padded queries, which are cropped) stays finite and its gradient is zero.
 */
function windowMask(mode: WindowMode, win: Size2, Hp: number, Wp: number, shift: number, valid: Size2 | null, dtype: 'float32' | 'float64'): Tensor | null {
  if (shift === 0 && valid === null) return null
  const [wH, wW] = win, n1 = Hp / wH, n2 = Wp / wW, L = wH * wW, n = n1 * n2
  const region = (r: number, size: number, w: number) => (shift === 0 ? 0 : r < size - w ? 0 : r < size - shift ? 1 : 2)
  const m = dtype === 'float64' ? new Float64Array(n * L * L) : new Float32Array(n * L * L) // (n, L, L)
  const id = new Int32Array(L), ok = new Uint8Array(L)
  for (let a = 0; a < n1; a++) {
    for (let b = 0; b < n2; b++) {
      for (let i = 0; i < wH; i++) {
        for (let j = 0; j < wW; j++) {
          const r = mode === 'close' ? a * wH + i : i * n1 + a, c = mode === 'close' ? b * wW + j : j * n2 + b // rolled position
          id[i * wW + j] = 3 * region(r, Hp, wH) + region(c, Wp, wW)
          ok[i * wW + j] = valid === null || (((r + shift) % Hp) < valid[0] && ((c + shift) % Wp) < valid[1]) ? 1 : 0
        }
      }
      const base = (a * n2 + b) * L * L
      for (let p = 0; p < L; p++) for (let q = 0; q < L; q++) if (id[p] !== id[q] || !ok[q]) m[base + p * L + q] = -1e9
    }
  }
  return fromTypedArray(m, [n, L, L])
}

export interface WindowAttentionOptions {
  heads: number
  /** Window side (or [wH, wW]); clamped to the map; <= 0: the whole map (global attention). */
  window: number | Size2
  mode?: WindowMode
  /** Swin cyclic shift (close mode only); 0 (default) for none. Dropped when one window covers the map. */
  shift?: number
  /** Additive bias (heads, L, L) on every window's scores (e.g. a relative position bias). */
  bias?: Tensor | null
  /** The real map size when q, k, v are already padded (default their own size); the output has this size. */
  validSize?: Size2
  /** Drop padded pixels as keys (default false: they take part, as in EMOv2 and Swin). */
  maskPadding?: boolean
  /** Score scale (default 1 / sqrt(dh)). */
  scale?: number
}

/**
 * Window attention: per window w, head h: out = softmax(scale q kᵀ + bias + mask) v over the L pixels of w,
 * scattered back to their pixels (Swin Eqn (4) without the MLP; EMOv2 EW-MHSA).
 * q, k (B, C, H, W), v (B, Cv, H, W) → (B, Cv, H', W'), (H', W') = validSize ?? (H, W).
 * Reference: https://arxiv.org/abs/2412.06674 (Sec. 3.3), https://arxiv.org/abs/2103.14030 (Sec. 3.2)
 * @example
 *   const out = windowAttention(q, k, v, { heads: 2, window: 7, mode: 'remote' }) // (B, Cv, H, W)
 */
export function windowAttention(q: Tensor, k: Tensor, v: Tensor, opts: WindowAttentionOptions): Tensor {
  const op = 'windowAttention'
  for (const [name, t] of [['q', q], ['k', k], ['v', v]] as const) checkMap(op, name, t)
  const [B, C, H, W] = q.shape, h = opts.heads, Cv = v.shape[1]
  if (k.shape.some((d, i) => d !== q.shape[i]) || v.shape[0] !== B || v.shape[2] !== H || v.shape[3] !== W) {
    throw new TesseraError(`${op}: q [${q.shape}], k [${k.shape}], v [${v.shape}] must share B, H, W (and q, k their C)`)
  }
  if (!(Number.isInteger(h) && h > 0 && C % h === 0 && Cv % h === 0)) throw new TesseraError(`${op}: heads ${h} must divide C = ${C} and Cv = ${Cv}`)
  const mode = opts.mode ?? 'close'
  const [vh, vw] = opts.validSize ?? [H, W]
  if (vh > H || vw > W) throw new TesseraError(`${op}: validSize [${vh},${vw}] exceeds the map ${H}x${W}`)
  const { win, Hp, Wp } = windowGeometry(opts.window, vh, vw)
  const Hq = Math.max(Hp, Math.ceil(H / win[0]) * win[0]), Wq = Math.max(Wp, Math.ceil(W / win[1]) * win[1])
  let shift = opts.shift ?? 0
  if (shift !== 0 && mode !== 'close') throw new TesseraError(`${op}: shift needs mode 'close', got '${mode}'`)
  if (Hq === win[0] && Wq === win[1]) shift = 0 // one window: nothing to shift (Swin)
  if (!(Number.isInteger(shift) && shift >= 0 && shift < Math.min(win[0], win[1]))) throw new TesseraError(`${op}: shift ${shift} must be an integer in [0, window ${Math.min(...win)})`)
  const L = win[0] * win[1], dh = C / h, dv = Cv / h
  const prep = (t: Tensor) => {
    const p = padTo(t, Hq, Wq) // (B, c, Hq, Wq)
    return shift ? roll(p, [-shift, -shift], [2, 3]) : p
  }
  const tokens = (t: Tensor, d: number) => {
    const w = windowPartition(prep(t), win, mode) // (B, n, h d, wH, wW)
    return w.reshape([B, w.shape[1], h, d, L]).transpose(3, 4) // (B, n, h, L, d)
  }
  const qt = tokens(q, dh), kt = tokens(k, dh), vt = tokens(v, dv)
  const masked = opts.maskPadding && (vh < Hq || vw < Wq)
  const m = windowMask(mode, win, Hq, Wq, shift, masked ? [vh, vw] : null, q.dtype === 'float64' ? 'float64' : 'float32') // (n, L, L)
  let attnMask: Tensor | null = m ? m.unsqueeze(1) : null // (n, 1, L, L)
  if (opts.bias) {
    if (opts.bias.ndim !== 3 || opts.bias.shape[0] !== h || opts.bias.shape[1] !== L || opts.bias.shape[2] !== L) {
      throw new TesseraError(`${op}: bias must be (heads=${h}, L=${L}, L), got [${opts.bias.shape}]`)
    }
    attnMask = attnMask ? attnMask.add(opts.bias) : opts.bias // (n | 1, h, L, L)
  }
  const o = scaledDotProductAttention(qt, kt, vt, { attnMask, scale: opts.scale ?? dh ** -0.5 }) // (B, n, h, L, dv)
  let out = windowReverse(o.transpose(3, 4).reshape([B, o.shape[1], Cv, win[0], win[1]]), win, Hq, Wq, mode) // (B, Cv, Hq, Wq)
  if (shift) out = roll(out, [shift, shift], [2, 3])
  return vh === Hq && vw === Wq ? out : out.narrow(2, 0, vh).narrow(3, 0, vw)
}

export interface WindowMHSAOptions {
  /** Input channels C (q and k have C channels, heads = C / dimHead). */
  dim: number
  /** Value / output channels Cv (default C; EMOv2 uses the expanded width C · expRatio). */
  dimV?: number
  /** Channels per head of q and k (default 32; heads = dim / dimHead). */
  dimHead?: number
  /** Window side; <= 0 or >= the map: global attention. Default 7. */
  window?: number
  mode?: WindowMode | 'hybrid'
  /** Swin cyclic shift (close mode). */
  shift?: number
  /** 'relative': a learnable Swin table per window layout; 'none' (default, EMOv2). */
  positionBias?: 'none' | 'relative'
  maskPadding?: boolean
  /** Bias of the q, k, v projections (default true). */
  qkvBias?: boolean
  /** Activation on v (EMOv2: the stage activation). Default 'none'. */
  vAct?: Activation
  /** A final 1x1 projection Cv → Cv (Swin's proj); default false (EMOv2 has none). */
  outProj?: boolean
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/**
 * Window MHSA on NCHW maps: x is padded to window multiples, then qk = Conv1x1(C → 2C)(x),
 * v = act(Conv1x1(C → Cv)(x)), out = Σ_{mode} windowAttention(q, k, v) [→ Conv1x1], cropped to (H, W).
 * x (B, C, H, W) → (B, Cv, H, W).
 * Reference: https://arxiv.org/abs/2412.06674 (Sec. 3.3, EW-MHSA / spanning SEW-MHSA), https://arxiv.org/abs/2103.14030
 * @example
 *   const attn = new WindowMHSA({ dim: 32, dimV: 96, dimHead: 16, window: 7, mode: 'hybrid' })
 *   const y = attn.forward(x) // (B, 32, 14, 14) -> (B, 96, 14, 14)
 */
export class WindowMHSA extends Module {
  qk: Conv2d
  v: Conv2d
  proj: Conv2d | null
  relBiasClose: Parameter | null // ((2w−1)², heads)
  relBiasRemote: Parameter | null // ((2w−1)², heads)
  readonly heads: number
  readonly dimHead: number
  readonly dimV: number
  readonly window: number
  readonly mode: WindowMode | 'hybrid'
  readonly shift: number
  readonly vAct: Activation
  readonly maskPadding: boolean

  constructor(opts: WindowMHSAOptions) {
    super()
    const { dim } = opts
    this.dimHead = opts.dimHead ?? 32
    this.dimV = opts.dimV ?? dim
    this.heads = dim / this.dimHead
    if (!(Number.isInteger(this.heads) && this.heads > 0 && this.dimV % this.heads === 0)) {
      throw new TesseraError(`WindowMHSA: dimHead ${this.dimHead} must divide dim ${dim}, and the heads (${this.heads}) dimV ${this.dimV}`)
    }
    this.window = opts.window ?? 7
    this.mode = opts.mode ?? 'close'
    this.shift = opts.shift ?? 0
    this.vAct = opts.vAct ?? 'none'
    this.maskPadding = opts.maskPadding ?? false
    const o = { generator: opts.generator, dtype: opts.dtype, bias: opts.qkvBias ?? true }
    this.qk = new Conv2d(dim, 2 * dim, 1, o)
    this.v = new Conv2d(dim, this.dimV, 1, o)
    this.proj = opts.outProj ? new Conv2d(this.dimV, this.dimV, 1, { ...o, bias: true }) : null
    const rel = opts.positionBias === 'relative'
    if (rel && this.window <= 0) throw new TesseraError('WindowMHSA: a relative position bias needs a window > 0')
    const table = () => new Parameter(truncNormal_(zeros([(2 * this.window - 1) ** 2, this.heads], { dtype: opts.dtype }), { std: 0.02, generator: opts.generator }))
    this.relBiasClose = rel && this.mode !== 'remote' ? table() : null
    this.relBiasRemote = rel && this.mode !== 'close' ? table() : null
  }

  /** The bias (heads, L, L) of a table for a wH x wW window. */
  private bias(table: Parameter | null, win: Size2): Tensor | null {
    if (!table) return null
    const L = win[0] * win[1], idx = relativePositionIndex(win, [this.window, this.window])
    return table.indexSelect(0, fromTypedArray(idx, [L * L])).reshape([L, L, this.heads]).permute([2, 0, 1])
  }

  forward(x: Tensor): Tensor {
    checkMap('WindowMHSA', 'x', x)
    const [, C, H, W] = x.shape
    if (C !== this.qk.inChannels) throw new TesseraError(`WindowMHSA: x must have ${this.qk.inChannels} channels, got [${x.shape}]`)
    const { win, Hp, Wp } = windowGeometry(this.window, H, W)
    const xp = padTo(x, Hp, Wp) // (B, C, Hp, Wp): padded before the projections, as the reference
    const qk = this.qk.forward(xp) // (B, 2C, Hp, Wp)
    const q = qk.narrow(1, 0, C), k = qk.narrow(1, C, C)
    const v = activate(this.v.forward(xp), this.vAct) // (B, Cv, Hp, Wp)
    const common = { heads: this.heads, window: win, validSize: [H, W] as const, maskPadding: this.maskPadding }
    let out: Tensor | null = null
    if (this.mode !== 'remote') out = windowAttention(q, k, v, { ...common, mode: 'close', shift: this.shift, bias: this.bias(this.relBiasClose, win) })
    if (this.mode !== 'close') {
      const r = windowAttention(q, k, v, { ...common, mode: 'remote', bias: this.bias(this.relBiasRemote, win) })
      out = out ? out.add(r) : r
    }
    return this.proj ? this.proj.forward(out!) : out! // (B, Cv, H, W)
  }
}

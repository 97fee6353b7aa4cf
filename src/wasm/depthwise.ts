/**
 * @file The WebAssembly SIMD depthwise 2-D convolution: drop-ins for `kernels.depthwiseConv2dForward`,
 * `kernels.depthwiseConv2dBackwardInput` and `kernels.depthwiseConv2dBackwardWeight` (same
 * arguments as src/kernels/depthwise.ts), running the tap-list kernels of src/wasm/depthwise-module.ts.
 * Reference: Howard et al. 2017, "MobileNets" (arXiv:1704.04861), section 3.1.
 *
 * Layout in the kernel memory. Each input plane is copied once, zero-padded and column-polyphase:
 *   xp (N C, Hn, sW, Lp) f32: xp[p, i, q, j] = x[n, c, i − pH, j sW + q − pW] (0 outside the image and
 *   past the used window Hn = (Ho−1)sH + (kH−1)dH + 1 rows, Wn = (Wo−1)sW + (kW−1)dW + 1 columns),
 * so output columns ow..ow+3 of tap (kh, kw) read xp[p, oh sH + kh dH, kw dW mod sW, ow + ⌊kw dW / sW⌋ ..]:
 * one v128.load for any stride, and the borders need no test (the copy into the kernel memory is
 * needed anyway; padding it is one fill). Output rows are Wo rounded up to 4 (the tail lanes are
 * computed on zeros and dropped when copying out).
 *
 * Grad-input is a forward pass per output phase: dx[.., v − pH, u − pW] with v = I sH + b and
 * u = J sW + a sums the taps (m, kh, kw) with kh dH ≡ b (mod sH), kw dW ≡ a (mod sW), reading
 * dy[cM + m, I − (kh dH − b)/sH, J − (kw dW − a)/sW] from a dy copy shifted by (EH, EW) zero rows and
 * columns; the channel multiplier is more taps (one per m).
 *
 * Precision: forward and grad-input sum T = kH kW (times M for grad-input) products in float32
 * lanes, not float64 as the typed-array kernels do (as the WASM GEMM: short sums, within
 * (T + 1) 2^-24 Σ|w x| of the float64 reference, bounded in the test). Grad-weight, a reduction over
 * N Ho Wo terms, multiplies and sums in float64 as the typed-array kernel does (the repo's rule), so
 * it equals the Ref up to float64 summation order, then one float32 rounding.
 *
 * Fallbacks to the typed-array kernel: non-float32 operands; less work than WASM_DEPTHWISE_MIN_MACS;
 * non-finite weights in forward / grad-input (the Ref skips taps in the padding, where 0 · Inf would
 * be NaN here); any non-finite grad-weight sum (recomputed by the typed-array kernel, which skips
 * padded taps likewise); operands that would need more than 1 GiB of kernel memory.
 */
import {
  depthwiseConv2dBackwardInput as bwdInputJs, depthwiseConv2dBackwardWeight as bwdWeightJs,
  depthwiseConv2dForward as forwardJs, type Depthwise2d,
} from '../kernels/depthwise.ts'
import type { TypedArray } from '../dtype.ts'
import { depthwiseModuleBytes, MAX_CONV_TAPS, MAX_WGRAD_TAPS } from './depthwise-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

type Arr = TypedArray
type ConvFn = (inB: number, inPS: number, wB: number, wPS: number, wPer: number, outB: number, outPS: number, planes: number, rows: number, vecs: number, inRS: number, outRS: number, offs: number, accum: number) => void
type WgradFn = (xB: number, xPS: number, dyB: number, dyPS: number, outB: number, planes: number, rows: number, vecs: number, tail: number, inRS: number, dyRS: number, offs: number, mask: number) => void

/** The module name (also the `.wasm` file the build writes). */
export const WASM_DEPTHWISE_MODULE = 'depthwise'

/**
 * Below this many multiply-adds per sample (C M Ho Wo kH kW) the typed-array kernels win (measured
 * under load: at 9216 WASM won 1.4-3x in all three, at 4608 grad-input lost). Per sample, not per
 * call, so splitting a batch never changes which kernel computes a sample's output.
 */
export const WASM_DEPTHWISE_MIN_MACS = 8192

/** Run-time knobs (tests set `minMacs` to 0 to run every size through WASM). */
export const wasmDepthwiseConfig = { minMacs: WASM_DEPTHWISE_MIN_MACS }

const MAX_BYTES = 1 << 30

let fns: { conv: ConvFn[]; wgrad: WgradFn[] } | null = null
function kernelFns(): { conv: ConvFn[]; wgrad: WgradFn[] } {
  if (!fns) {
    const ex = instantiate(compileModule(WASM_DEPTHWISE_MODULE, () => depthwiseModuleBytes({ min: 16 })))
    fns = { conv: [], wgrad: [] }
    for (let T = 1; T <= MAX_CONV_TAPS; T++) fns.conv[T] = ex[`conv${T}`] as ConvFn
    for (let T = 1; T <= MAX_WGRAD_TAPS; T++) fns.wgrad[T] = ex[`wgrad${T}`] as WgradFn
  }
  return fns
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m
const f32 = (...a: Arr[]): boolean => a.every((v) => v instanceof Float32Array)
const macs = (g: Depthwise2d): number => g.C * g.M * g.Ho * g.Wo * g.kH * g.kW // per sample

/** The polyphase input layout shared by forward and grad-weight (sizes in floats). */
interface InLayout { Hn: number; Wn: number; Lp: number; rowF: number; planeF: number; Wo4: number }
function inLayout(g: Depthwise2d): InLayout {
  const Wo4 = roundUp(g.Wo, 4)
  const Hn = (g.Ho - 1) * g.sH + (g.kH - 1) * g.dH + 1, Wn = (g.Wo - 1) * g.sW + (g.kW - 1) * g.dW + 1
  const Lp = Wo4 + Math.floor((g.kW - 1) * g.dW / g.sW)
  return { Hn, Wn, Lp, rowF: g.sW * Lp, planeF: Hn * g.sW * Lp, Wo4 }
}

/** Copies x (N, C, H, W) into f at `at` as the zero-padded polyphase planes (N C, Hn, sW, Lp). */
function packInput(f: Float32Array, at: number, x: Float32Array, xOff: number, xs: readonly number[], g: Depthwise2d, L: InLayout): void {
  const { sW, pH, pW } = g
  f.fill(0, at, at + g.N * g.C * L.planeF)
  const u0 = Math.max(0, pW), u1 = Math.min(L.Wn, pW + g.W) // padded columns inside the image
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    const base = at + (n * g.C + c) * L.planeF, xc = xOff + n * xs[0] + c * xs[1]
    for (let i = Math.max(0, pH); i < Math.min(L.Hn, pH + g.H); i++) {
      const src = xc + (i - pH) * xs[2], row = base + i * L.rowF
      if (sW === 1 && xs[3] === 1) { if (u1 > u0) f.set(x.subarray(src + u0 - pW, src + u1 - pW), row + u0); continue }
      for (let q = 0; q < sW; q++) {
        let u = u0 + ((q - u0 % sW) + sW) % sW // first padded column >= u0 in phase q
        let d = row + q * L.Lp + (u - q) / sW, s = src + (u - pW) * xs[3]
        for (; u < u1; u += sW) { f[d++] = x[s]; s += sW * xs[3] }
      }
    }
  }
}

const finite = (w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): boolean => {
  for (let co = 0; co < g.C * g.M; co++) for (let kh = 0; kh < g.kH; kh++) for (let kw = 0; kw < g.kW; kw++) {
    if (!Number.isFinite(w[wOff + co * ws[0] + kh * ws[2] + kw * ws[3]])) return false
  }
  return true
}

/** Runs `conv` over a tap list of any length in chunks of MAX_CONV_TAPS (the first stores, the rest add). */
function convTaps(i32: Int32Array, offsAt: number, offs: number[], run: (fn: ConvFn, t0: number, accum: number, offsB: number) => void): void {
  const { conv } = kernelFns()
  i32.set(offs, offsAt / 4)
  for (let t0 = 0; t0 < offs.length; t0 += MAX_CONV_TAPS) {
    const T = Math.min(MAX_CONV_TAPS, offs.length - t0)
    run(conv[T], t0, t0 === 0 ? 0 : 1, offsAt + 4 * t0)
  }
}

/** Forward drop-in: y (N, C M, Ho, Wo) contiguous. */
export function depthwiseConv2dForwardWasm(y: Arr, x: Arr, xOff: number, xs: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  const { N, C, M, Ho, Wo, kH, kW } = g
  const T = kH * kW, L = inLayout(g)
  const outF = N * C * M * Ho * L.Wo4
  const bytes = 4 * (N * C * L.planeF + C * M * T + T + outF) + 64
  if (!f32(y, x, w) || macs(g) < wasmDepthwiseConfig.minMacs || bytes > MAX_BYTES || !finite(w, wOff, ws, g)) { forwardJs(y, x, xOff, xs, w, wOff, ws, g); return }
  // Kernel memory (floats): xp (N C, Hn, sW, Lp) | wp (C M, T) | offs (T,) i32 | out (N, C M, Ho, Wo4)
  const xAt = 0, wAt = N * C * L.planeF, oAt = wAt + C * M * T, yAt = oAt + T + 4
  const mem = kernelMemory(4 * (yAt + outF))
  const f = new Float32Array(mem.buffer), i32 = new Int32Array(mem.buffer)
  packInput(f, xAt, x as Float32Array, xOff, xs, g, L)
  const offs: number[] = []
  for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
    const e = kw * g.dW
    offs.push(4 * (kh * g.dH * L.rowF + (e % g.sW) * L.Lp + Math.floor(e / g.sW)))
  }
  let o = wAt
  for (let co = 0; co < C * M; co++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) f[o++] = w[wOff + co * ws[0] + kh * ws[2] + kw * ws[3]]
  const outPlane = Ho * L.Wo4
  convTaps(i32, 4 * oAt, offs, (fn, t0, accum, offsB) => {
    for (let m = 0; m < M; m++) {
      fn(4 * xAt, 4 * L.planeF, 4 * (wAt + m * T + t0), 4 * M * T, C, 4 * (yAt + m * outPlane), 4 * M * outPlane,
        N * C, Ho, L.Wo4 / 4, 4 * g.sH * L.rowF, 4 * L.Wo4, offsB, accum)
    }
  })
  copyRows(y, 0, f, yAt, N * C * M * Ho, Wo, L.Wo4)
}

/** y[yAt + r Wo + j] = f[fAt + r stride + j] for r < rows, j < Wo. */
function copyRows(y: Arr, yAt: number, f: Float32Array, fAt: number, rows: number, Wo: number, stride: number): void {
  if (stride === Wo) { y.set(f.subarray(fAt, fAt + rows * Wo), yAt); return }
  for (let r = 0; r < rows; r++) {
    let s = fAt + r * stride, d = yAt + r * Wo
    for (let j = 0; j < Wo; j++) y[d++] = f[s++]
  }
}

/** Grad-input drop-in: dx (N, C, H, W) contiguous. */
export function depthwiseConv2dBackwardInputWasm(dx: Arr, dy: Arr, dyOff: number, dys: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  const { N, C, M, H, W, Ho, Wo, kH, kW, sH, sW, dH, dW, pH, pW } = g
  const EH = Math.floor((kH - 1) * dH / sH), EW = Math.floor((kW - 1) * dW / sW)
  const Imax = Math.ceil((pH + H) / sH), Jp = roundUp(Math.ceil((pW + W) / sW), 4)
  const DR = Imax + EH, DC = Jp + EW // dy copy (N C M, DR, DC), dy at [EH + oh, EW + ow]
  const phaseF = N * C * Imax * Jp, dyF = N * C * M * DR * DC
  const bytes = 4 * (dyF + sH * sW * (phaseF + (C + 1) * M * kH * kW + 4)) + 64
  if (!f32(dx, dy, w) || macs(g) < wasmDepthwiseConfig.minMacs || bytes > MAX_BYTES || !finite(w, wOff, ws, g)) { bwdInputJs(dx, dy, dyOff, dys, w, wOff, ws, g); return }
  // Kernel memory (floats): dyp (N C M, DR, DC) | per phase: out (N C, Imax, Jp) | wp (C, T) | offs (T,)
  const mem = kernelMemory(bytes)
  const f = new Float32Array(mem.buffer), i32 = new Int32Array(mem.buffer)
  f.fill(0, 0, dyF)
  const oh1 = Math.min(Ho, DR - EH), ow1 = Math.min(Wo, DC - EW)
  for (let p = 0; p < N * C * M; p++) {
    const n = Math.floor(p / (C * M)), co = p % (C * M)
    for (let oh = 0; oh < oh1; oh++) {
      let s = dyOff + n * dys[0] + co * dys[1] + oh * dys[2], d = p * DR * DC + (EH + oh) * DC + EW
      for (let ow = 0; ow < ow1; ow++) { f[d++] = dy[s]; s += dys[3] }
    }
  }
  let at = dyF
  const phaseAt: number[] = [] // (sH sW,) start of each phase's output, or -1 when no tap lands there
  for (let b = 0; b < sH; b++) for (let a = 0; a < sW; a++) {
    const taps: [number, number, number][] = [] // (m, kh, kw)
    for (let m = 0; m < M; m++) for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
      if ((kh * dH) % sH === b && (kw * dW) % sW === a) taps.push([m, kh, kw])
    }
    if (taps.length === 0) { phaseAt.push(-1); continue }
    const T = taps.length, outAt = at, wAt = outAt + phaseF, oAt = wAt + C * T
    at = oAt + T + 4
    phaseAt.push(outAt)
    let o = wAt
    for (let c = 0; c < C; c++) for (const [m, kh, kw] of taps) f[o++] = w[wOff + (c * M + m) * ws[0] + kh * ws[2] + kw * ws[3]]
    const offs = taps.map(([m, kh, kw]) => 4 * (m * DR * DC + (EH - (kh * dH - b) / sH) * DC + (EW - (kw * dW - a) / sW)))
    convTaps(i32, 4 * oAt, offs, (fn, t0, accum, offsB) =>
      fn(0, 4 * M * DR * DC, 4 * (wAt + t0), 4 * T, C, 4 * outAt, 4 * Imax * Jp, N * C, Imax, Jp / 4, 4 * DC, 4 * Jp, offsB, accum))
  }
  // dx[p, ih, iw] = phase ((ih + pH) mod sH, (iw + pW) mod sW) at (⌊(ih + pH)/sH⌋, ⌊(iw + pW)/sW⌋)
  if (sH === 1 && sW === 1) {
    for (let p = 0; p < N * C; p++) copyRows(dx, p * H * W, f, phaseAt[0] + p * Imax * Jp + pH * Jp + pW, H, W, Jp)
    return
  }
  let d = 0
  for (let p = 0; p < N * C; p++) for (let ih = 0; ih < H; ih++) {
    const v = ih + pH, rowOff = p * Imax * Jp + Math.floor(v / sH) * Jp, pb = (v % sH) * sW
    for (let iw = 0; iw < W; iw++) {
      const u = iw + pW, ph = phaseAt[pb + u % sW]
      dx[d++] = ph < 0 ? 0 : f[ph + rowOff + Math.floor(u / sW)]
    }
  }
}

/** Grad-weight drop-in: dw (C M, 1, kH, kW) contiguous, float64 sums. */
export function depthwiseConv2dBackwardWeightWasm(dw: Arr, x: Arr, xOff: number, xs: readonly number[], dy: Arr, dyOff: number, dys: readonly number[], g: Depthwise2d): void {
  const { N, C, M, Ho, Wo, kH, kW } = g
  const T = kH * kW, L = inLayout(g)
  const dyF = N * C * M * Ho * L.Wo4
  const bytes = 4 * (N * C * L.planeF + dyF + T + 8) + 8 * N * C * MAX_WGRAD_TAPS + 64
  if (!f32(dw, x, dy) || macs(g) < wasmDepthwiseConfig.minMacs || bytes > MAX_BYTES) { bwdWeightJs(dw, x, xOff, xs, dy, dyOff, dys, g); return }
  // Kernel memory (floats): xp (N C, Hn, sW, Lp) | dyp (N C M, Ho, Wo4) | offs (T,) | mask (4,) | sums (N C, ≤9) f64
  const dyAt = N * C * L.planeF, oAt = dyAt + dyF, mAt = oAt + T, sAt = roundUp(mAt + 4, 2)
  const mem = kernelMemory(bytes)
  const f = new Float32Array(mem.buffer), i32 = new Int32Array(mem.buffer), f64 = new Float64Array(mem.buffer)
  packInput(f, 0, x as Float32Array, xOff, xs, g, L)
  f.fill(0, dyAt, oAt)
  for (let p = 0; p < N * C * M; p++) {
    const n = Math.floor(p / (C * M)), co = p % (C * M)
    for (let oh = 0; oh < Ho; oh++) {
      let s = dyOff + n * dys[0] + co * dys[1] + oh * dys[2], d = dyAt + (p * Ho + oh) * L.Wo4
      for (let ow = 0; ow < Wo; ow++) { f[d++] = dy[s]; s += dys[3] }
    }
  }
  const rem = Wo % 4
  for (let l = 0; l < 4; l++) i32[mAt + l] = l < rem ? -1 : 0
  const offs: number[] = []
  for (let kh = 0; kh < kH; kh++) for (let kw = 0; kw < kW; kw++) {
    const e = kw * g.dW
    offs.push(4 * (kh * g.dH * L.rowF + (e % g.sW) * L.Lp + Math.floor(e / g.sW)))
  }
  i32.set(offs, oAt)
  const { wgrad } = kernelFns()
  const sums = new Float64Array(C * M * T) // (C M, T)
  for (let t0 = 0; t0 < T; t0 += MAX_WGRAD_TAPS) {
    const Tc = Math.min(MAX_WGRAD_TAPS, T - t0)
    for (let m = 0; m < M; m++) {
      wgrad[Tc](0, 4 * L.planeF, 4 * (dyAt + m * Ho * L.Wo4), 4 * M * Ho * L.Wo4, 4 * sAt, N * C, Ho, Math.floor(Wo / 4), rem ? 1 : 0,
        4 * g.sH * L.rowF, 4 * L.Wo4, 4 * (oAt + t0), 4 * mAt)
      // sums over n (float64): plane p = n C + c holds (Tc,) sums at f64[sAt/2 + p Tc]
      for (let p = 0; p < N * C; p++) {
        const s = sAt / 2 + p * Tc, d = ((p % C) * M + m) * T + t0
        for (let t = 0; t < Tc; t++) sums[d + t] += f64[s + t]
      }
    }
  }
  for (let i = 0; i < sums.length; i++) if (!Number.isFinite(sums[i])) { bwdWeightJs(dw, x, xOff, xs, dy, dyOff, dys, g); return }
  for (let i = 0; i < sums.length; i++) dw[i] = sums[i]
}

/**
 * @file im2col (`unfold`) and col2im (`fold`): the sliding-window gather behind convolution as a
 * GEMM, and its adjoint scatter-add. Reference: Chellapilla, Puri & Simard 2006, "High Performance
 * Convolutional Neural Networks for Document Processing"; layout as PyTorch's `F.unfold`
 * (https://pytorch.org/docs/stable/generated/torch.nn.Unfold.html).
 *
 * One kernel pair serves 1-D, 2-D and 3-D: every geometry is lifted to 3-D (D, H, W), missing
 * leading dims having size 1, kernel 1, stride 1, dilation 1 and padding 0.
 *
 * Shapes (K = kD kH kW, L = Do Ho Wo):
 *   image x  (N, C, D, H, W), any strides
 *   cols     (N, C K, L), row index c K + (kd kH + kh) kW + kw, column (od Ho + oh) Wo + ow
 * Block (od, oh, ow) with kernel tap (kd, kh, kw) reads image position
 *   (od sD - pD + kd dD, oh sH - pH + kh dH, ow sW - pW + kw dW), zero when outside the image.
 *
 * The tuned kernels hoist every bound out of the inner loop (after tfjs-backend-cpu's Conv2D
 * offset hoisting): for each kw the range of ow whose tap lands inside the image is computed once,
 * so the innermost loop is a branch-free strided copy (unfold) or add (fold). col2im sums in float64
 * (one (D, H, W) plane per (n, c)) and rounds once on store, in the same order as `col2imRef`, so
 * tuned and Ref agree bitwise; im2col only copies, so they agree bitwise too.
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

/** A 3-D sliding window. Each array holds 3 entries, in order (D, H, W). */
export interface Window3 {
  N: number
  C: number
  /** (D, H, W): the image (input of unfold, output of fold). */
  size: readonly number[]
  /** (Do, Ho, Wo): block positions per dim. */
  out: readonly number[]
  kernel: readonly number[]
  stride: readonly number[]
  dilation: readonly number[]
  /** Padding before each dim (padding after only limits `out`). */
  pad: readonly number[]
}

/**
 * The block positions o in [0, count) whose tap o*stride + shift lands in [0, size), as [lo, hi).
 * Positions form one contiguous run because the tap grows with o.
 */
export function validRange(count: number, stride: number, shift: number, size: number): [number, number] {
  const lo = shift >= 0 ? 0 : Math.ceil(-shift / stride)
  const hi = size - 1 - shift < 0 ? 0 : Math.min(count, Math.floor((size - 1 - shift) / stride) + 1)
  return lo < hi ? [lo, hi] : [0, 0]
}

/** cols[n, c K + k, l] = x at the tap of (k, l), or 0 in the padding: the obvious loop. */
export function im2colRef(cols: Arr, x: Arr, xOff: number, xStrides: readonly number[], g: Window3): void {
  const [D, H, W] = g.size, [Do, Ho, Wo] = g.out, [KD, KH, KW] = g.kernel
  const [sN, sC, sD, sH, sW] = xStrides
  let o = 0
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      for (let od = 0; od < Do; od++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++) {
        const id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0]
        const ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1]
        const iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2]
        const inside = id >= 0 && id < D && ih >= 0 && ih < H && iw >= 0 && iw < W
        cols[o++] = inside ? x[xOff + n * sN + c * sC + id * sD + ih * sH + iw * sW] : 0
      }
    }
  }
}

/** Tuned im2col: same result as `im2colRef`, bounds hoisted out of the row loop. */
export function im2col(cols: Arr, x: Arr, xOff: number, xStrides: readonly number[], g: Window3): void {
  const [D, H, W] = g.size, [Do, Ho, Wo] = g.out, [KD, KH, KW] = g.kernel
  const [sd, sh, sw] = g.stride, [dd, dh, dw] = g.dilation, [pd, ph, pw] = g.pad
  const [sN, sC, sD, sH, sW] = xStrides
  const HoWo = Ho * Wo
  const lo = new Int32Array(KW) // (kW,) first ow whose tap is inside the image
  const hi = new Int32Array(KW) // (kW,) one past the last
  for (let kw = 0; kw < KW; kw++) [lo[kw], hi[kw]] = validRange(Wo, sw, kw * dw - pw, W)
  const step = sw * sW // storage step of x between neighbouring ow
  let o = 0 // cols is written in order
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    const xc = xOff + n * sN + c * sC // start of image (n, c)
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
      const a = lo[kw], b = hi[kw], shiftW = (kw * dw - pw) * sW
      for (let od = 0; od < Do; od++) {
        const id = od * sd - pd + kd * dd
        if (id < 0 || id >= D) { cols.fill(0, o, o + HoWo); o += HoWo; continue }
        for (let oh = 0; oh < Ho; oh++) {
          const ih = oh * sh - ph + kh * dh
          if (ih < 0 || ih >= H || a === b) { cols.fill(0, o, o + Wo); o += Wo; continue }
          let xi = xc + id * sD + ih * sH + shiftW + a * step
          let ow = 0
          for (; ow < a; ow++) cols[o + ow] = 0
          for (; ow < b; ow++) { cols[o + ow] = x[xi]; xi += step }
          for (; ow < Wo; ow++) cols[o + ow] = 0
          o += Wo
        }
      }
    }
  }
}

/**
 * out[n, c, tap(k, l)] += cols[n, c K + k, l] over all (k, l), summed in float64: the obvious loop.
 * cols has strides (sN, sRow, sL); out is contiguous (N, C, D, H, W) and fully overwritten.
 */
export function col2imRef(out: Arr, cols: Arr, cOff: number, cStrides: readonly number[], g: Window3): void {
  const [D, H, W] = g.size, [Do, Ho, Wo] = g.out, [KD, KH, KW] = g.kernel
  const [sN, sR, sL] = cStrides
  const acc = new Float64Array(g.N * g.C * D * H * W) // (N, C, D, H, W)
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    let r = c * KD * KH * KW
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++, r++) {
      let l = 0
      for (let od = 0; od < Do; od++) for (let oh = 0; oh < Ho; oh++) for (let ow = 0; ow < Wo; ow++, l++) {
        const id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0]
        const ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1]
        const iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2]
        if (id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W) continue
        acc[(((n * g.C + c) * D + id) * H + ih) * W + iw] += cols[cOff + n * sN + r * sR + l * sL]
      }
    }
  }
  for (let i = 0; i < acc.length; i++) out[i] = acc[i]
}

/** Tuned col2im: same result as `col2imRef` (bitwise), bounds hoisted, one float64 plane per (n, c). */
export function col2im(out: Arr, cols: Arr, cOff: number, cStrides: readonly number[], g: Window3): void {
  const [D, H, W] = g.size, [Do, Ho, Wo] = g.out, [KD, KH, KW] = g.kernel
  const [sd, sh, sw] = g.stride, [dd, dh, dw] = g.dilation, [pd, ph, pw] = g.pad
  const [sN, sR, sL] = cStrides
  const K = KD * KH * KW, DHW = D * H * W
  const plane = new Float64Array(DHW) // (D, H, W) sums of one (n, c)
  const lo = new Int32Array(KW) // (kW,) valid ow range per kw, as in im2col
  const hi = new Int32Array(KW)
  for (let kw = 0; kw < KW; kw++) [lo[kw], hi[kw]] = validRange(Wo, sw, kw * dw - pw, W)
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    plane.fill(0)
    let r = c * K
    for (let kd = 0; kd < KD; kd++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++, r++) {
      const a = lo[kw], b = hi[kw]
      if (a === b) continue
      const row = cOff + n * sN + r * sR // start of cols row (n, r)
      for (let od = 0; od < Do; od++) {
        const id = od * sd - pd + kd * dd
        if (id < 0 || id >= D) continue
        for (let oh = 0; oh < Ho; oh++) {
          const ih = oh * sh - ph + kh * dh
          if (ih < 0 || ih >= H) continue
          let ci = row + ((od * Ho + oh) * Wo + a) * sL
          let p = (id * H + ih) * W + a * sw + kw * dw - pw
          for (let ow = a; ow < b; ow++) { plane[p] += cols[ci]; ci += sL; p += sw }
        }
      }
    }
    const base = (n * g.C + c) * DHW
    for (let i = 0; i < DHW; i++) out[base + i] = plane[i]
  }
}

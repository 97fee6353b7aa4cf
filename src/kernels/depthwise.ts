/**
 * @file Direct depthwise 2-D convolution (groups = C input channels, channel multiplier M): forward,
 * gradient with respect to the input, and gradient with respect to the weight, each beside its
 * `...Ref` oracle. Reference: Howard et al. 2017, "MobileNets" (arXiv:1704.04861), section 3.1;
 * semantics as `torch.nn.functional.conv2d(x, w, groups=C)`.
 *
 * Shapes:
 *   x   (N, C, H, W)          any strides
 *   w   (C M, 1, kH, kW)      any strides; output channel c M + m reads input channel c
 *   y   (N, C M, Ho, Wo)      y[n, c M + m, oh, ow] = sum_{kh, kw} w[c M + m, 0, kh, kw] x[n, c, ih, iw]
 *   with ih = oh sH - pH + kh dH, iw = ow sW - pW + kw dW (terms outside the image are zero).
 *
 * The tuned kernels loop tap by tap over whole output rows, with the valid ow range of each kw
 * computed once (no bounds test in the inner loop), and sum in float64 scratch rounded once on
 * store. Forward and grad-weight sum in the same order as their Refs (bitwise equal); grad-input
 * scatters in another order than its Ref (equal to float64 rounding, then rounded to the dtype).
 */
import type { TypedArray } from '../dtype.ts'
import { validRange } from './conv.ts'

type Arr = TypedArray

export interface Depthwise2d {
  N: number
  /** Input channels (= groups). */
  C: number
  /** Channel multiplier: output channels per input channel. */
  M: number
  H: number; W: number
  Ho: number; Wo: number
  kH: number; kW: number
  sH: number; sW: number
  dH: number; dW: number
  /** Padding before each dim. */
  pH: number; pW: number
}

/** Per-kw range [lo, hi) of output columns whose tap lands inside the image. */
function columnRanges(g: Depthwise2d): [Int32Array, Int32Array] {
  const lo = new Int32Array(g.kW) // (kW,)
  const hi = new Int32Array(g.kW) // (kW,)
  for (let kw = 0; kw < g.kW; kw++) [lo[kw], hi[kw]] = validRange(g.Wo, g.sW, kw * g.dW - g.pW, g.W)
  return [lo, hi]
}

/** y (N, C M, Ho, Wo) contiguous = depthwise conv of x and w: the obvious loop. */
export function depthwiseConv2dForwardRef(y: Arr, x: Arr, xOff: number, xs: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  let o = 0
  for (let n = 0; n < g.N; n++) for (let co = 0; co < g.C * g.M; co++) {
    const c = Math.floor(co / g.M)
    for (let oh = 0; oh < g.Ho; oh++) for (let ow = 0; ow < g.Wo; ow++) {
      let s = 0
      for (let kh = 0; kh < g.kH; kh++) for (let kw = 0; kw < g.kW; kw++) {
        const ih = oh * g.sH - g.pH + kh * g.dH, iw = ow * g.sW - g.pW + kw * g.dW
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue
        s += w[wOff + co * ws[0] + kh * ws[2] + kw * ws[3]] * x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
      }
      y[o++] = s
    }
  }
}

/** Tuned forward; bitwise equal to `depthwiseConv2dForwardRef`. */
export function depthwiseConv2dForward(y: Arr, x: Arr, xOff: number, xs: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  const { Ho, Wo, H, sH, sW, dH, dW, pW } = g
  const [lo, hi] = columnRanges(g)
  const acc = new Float64Array(Ho * Wo) // (Ho, Wo) sums of one output channel
  const step = sW * xs[3] // storage step of x between neighbouring ow
  let o = 0
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    const xc = xOff + n * xs[0] + c * xs[1] // start of image (n, c)
    for (let m = 0; m < g.M; m++) {
      const wb = wOff + (c * g.M + m) * ws[0] // start of filter c M + m
      acc.fill(0)
      for (let oh = 0; oh < Ho; oh++) {
        const row = oh * Wo
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * sH - g.pH + kh * dH
          if (ih < 0 || ih >= H) continue
          const xr = xc + ih * xs[2]
          for (let kw = 0; kw < g.kW; kw++) {
            const a = lo[kw], b = hi[kw]
            const wv = w[wb + kh * ws[2] + kw * ws[3]]
            let xi = xr + (a * sW + kw * dW - pW) * xs[3]
            for (let ow = a; ow < b; ow++) { acc[row + ow] += wv * x[xi]; xi += step }
          }
        }
      }
      for (let i = 0; i < acc.length; i++) y[o + i] = acc[i]
      o += acc.length
    }
  }
}

/** dx (N, C, H, W) contiguous = sum over taps of dy times w, scattered back to the input: the obvious loop. */
export function depthwiseConv2dBackwardInputRef(dx: Arr, dy: Arr, dyOff: number, dys: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  const acc = new Float64Array(g.N * g.C * g.H * g.W) // (N, C, H, W)
  for (let n = 0; n < g.N; n++) for (let co = 0; co < g.C * g.M; co++) {
    const c = Math.floor(co / g.M)
    for (let oh = 0; oh < g.Ho; oh++) for (let ow = 0; ow < g.Wo; ow++) {
      const d = dy[dyOff + n * dys[0] + co * dys[1] + oh * dys[2] + ow * dys[3]]
      for (let kh = 0; kh < g.kH; kh++) for (let kw = 0; kw < g.kW; kw++) {
        const ih = oh * g.sH - g.pH + kh * g.dH, iw = ow * g.sW - g.pW + kw * g.dW
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue
        acc[((n * g.C + c) * g.H + ih) * g.W + iw] += d * w[wOff + co * ws[0] + kh * ws[2] + kw * ws[3]]
      }
    }
  }
  for (let i = 0; i < acc.length; i++) dx[i] = acc[i]
}

/** Tuned grad-input: equal to `depthwiseConv2dBackwardInputRef` up to float64 summation order. */
export function depthwiseConv2dBackwardInput(dx: Arr, dy: Arr, dyOff: number, dys: readonly number[], w: Arr, wOff: number, ws: readonly number[], g: Depthwise2d): void {
  const { H, W, Ho, sH, sW, dH, dW, pW } = g
  const [lo, hi] = columnRanges(g)
  const plane = new Float64Array(H * W) // (H, W) sums of one input channel
  let o = 0
  for (let n = 0; n < g.N; n++) for (let c = 0; c < g.C; c++) {
    plane.fill(0)
    for (let m = 0; m < g.M; m++) {
      const co = c * g.M + m
      const wb = wOff + co * ws[0] // start of filter co
      const dyc = dyOff + n * dys[0] + co * dys[1] // start of output plane (n, co)
      for (let oh = 0; oh < Ho; oh++) {
        const dyr = dyc + oh * dys[2]
        for (let kh = 0; kh < g.kH; kh++) {
          const ih = oh * sH - g.pH + kh * dH
          if (ih < 0 || ih >= H) continue
          for (let kw = 0; kw < g.kW; kw++) {
            const a = lo[kw], b = hi[kw]
            const wv = w[wb + kh * ws[2] + kw * ws[3]]
            let p = ih * W + a * sW + kw * dW - pW
            let di = dyr + a * dys[3]
            for (let ow = a; ow < b; ow++) { plane[p] += wv * dy[di]; p += sW; di += dys[3] }
          }
        }
      }
    }
    for (let i = 0; i < plane.length; i++) dx[o + i] = plane[i]
    o += plane.length
  }
}

/** dw (C M, 1, kH, kW) contiguous = sum over (n, oh, ow) of dy times the tapped x: the obvious loop. */
export function depthwiseConv2dBackwardWeightRef(dw: Arr, x: Arr, xOff: number, xs: readonly number[], dy: Arr, dyOff: number, dys: readonly number[], g: Depthwise2d): void {
  let o = 0
  for (let co = 0; co < g.C * g.M; co++) {
    const c = Math.floor(co / g.M)
    for (let kh = 0; kh < g.kH; kh++) for (let kw = 0; kw < g.kW; kw++) {
      let s = 0
      for (let n = 0; n < g.N; n++) for (let oh = 0; oh < g.Ho; oh++) for (let ow = 0; ow < g.Wo; ow++) {
        const ih = oh * g.sH - g.pH + kh * g.dH, iw = ow * g.sW - g.pW + kw * g.dW
        if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue
        s += dy[dyOff + n * dys[0] + co * dys[1] + oh * dys[2] + ow * dys[3]] * x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
      }
      dw[o++] = s
    }
  }
}

/** Tuned grad-weight; bitwise equal to `depthwiseConv2dBackwardWeightRef`. */
export function depthwiseConv2dBackwardWeight(dw: Arr, x: Arr, xOff: number, xs: readonly number[], dy: Arr, dyOff: number, dys: readonly number[], g: Depthwise2d): void {
  const { H, Ho, sH, sW, dH, dW, pW } = g
  const [lo, hi] = columnRanges(g)
  const step = sW * xs[3] // storage step of x between neighbouring ow
  let o = 0
  for (let co = 0; co < g.C * g.M; co++) {
    const c = Math.floor(co / g.M)
    for (let kh = 0; kh < g.kH; kh++) for (let kw = 0; kw < g.kW; kw++) {
      const a = lo[kw], b = hi[kw]
      let s = 0
      for (let n = 0; n < g.N; n++) {
        const xc = xOff + n * xs[0] + c * xs[1] // start of image (n, c)
        const dyc = dyOff + n * dys[0] + co * dys[1] // start of output plane (n, co)
        for (let oh = 0; oh < Ho; oh++) {
          const ih = oh * sH - g.pH + kh * dH
          if (ih < 0 || ih >= H) continue
          let xi = xc + ih * xs[2] + (a * sW + kw * dW - pW) * xs[3]
          let di = dyc + oh * dys[2] + a * dys[3]
          for (let ow = a; ow < b; ow++) { s += dy[di] * x[xi]; xi += step; di += dys[3] }
        }
      }
      dw[o++] = s
    }
  }
}

/**
 * @file 2-D max and average pooling (1-D pooling is 2-D with H = 1), forward with argmax indices
 * for max, forward and backward for average, each beside a `...Ref` oracle that follows PyTorch's
 * CPU kernels line by line (aten/src/ATen/native/cpu/MaxPoolKernel.cpp, AvgPoolKernel.cpp,
 * AdaptiveAvgPoolKernel.cpp; https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html).
 *
 * Shapes: x (N, C, H, W) any strides; outputs (N, C, Ho, Wo) contiguous; max-pool indices index
 * the flattened (H W) input plane, as PyTorch's `return_indices`.
 *
 * The tuned kernels read per-axis window tables (`PoolAxis`), built once per call: the first
 * in-bounds tap, the number of in-bounds taps, the tap step, and the axis' factor of the average's
 * divisor. Windows, ceil mode, padding, dilation and adaptive pooling are all just tables, so the
 * inner loops carry no bounds tests. (The divisor factorises: PyTorch divides by the window's
 * height times its width, clipped or not, or by a `divisor_override` = override x 1.)
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

/** The windows along one axis: output o covers taps start[o] + i step, i < count[o]. */
export interface PoolAxis {
  /** Input length. */
  size: number
  /** Output length. */
  out: number
  start: Int32Array // (out,) first in-bounds tap
  count: Int32Array // (out,) number of in-bounds taps
  step: number
  div: Float64Array // (out,) this axis' factor of the average divisor
}

/** One axis of a regular pooling window, in PyTorch's parameters. */
export interface WindowSpec { kernel: number; stride: number; pad: number; dilation: number }

/** Batch, channels and the input and output plane sizes. */
export interface PoolDims { N: number; C: number; H: number; W: number; Ho: number; Wo: number }

/**
 * PyTorch's `pooling_output_shape`: floor (or ceil) of (L + 2p - d(k-1) - 1) / s, plus one; in
 * ceil mode the last window must start inside the input or its left padding.
 */
export function poolOutputSize(size: number, w: WindowSpec, ceilMode: boolean): number {
  const span = size + 2 * w.pad - w.dilation * (w.kernel - 1) - 1
  let out = Math.floor((span + (ceilMode ? w.stride - 1 : 0)) / w.stride) + 1
  if (ceilMode && (out - 1) * w.stride >= size + w.pad) out--
  return out
}

/** The table of a regular window axis; `includePad` selects count_include_pad divisors. */
export function windowAxis(size: number, out: number, w: WindowSpec, includePad: boolean): PoolAxis {
  const axis: PoolAxis = { size, out, start: new Int32Array(out), count: new Int32Array(out), step: w.dilation, div: new Float64Array(out) }
  for (let o = 0; o < out; o++) {
    const first = o * w.stride - w.pad // tap 0, possibly in the padding
    const jLo = first < 0 ? Math.ceil(-first / w.dilation) : 0
    const jHi = Math.min(w.kernel, Math.ceil((size - first) / w.dilation))
    axis.start[o] = first + jLo * w.dilation
    axis.count[o] = Math.max(0, jHi - jLo)
    // avg_pool (no dilation): the window [first, first + k) clipped to the padded input, or to the input.
    axis.div[o] = includePad ? Math.min(first + w.kernel, size + w.pad) - first : axis.count[o]
  }
  return axis
}

/** The table of adaptive pooling: window o is [floor(o L / out), ceil((o + 1) L / out)). */
export function adaptiveAxis(size: number, out: number): PoolAxis {
  const axis: PoolAxis = { size, out, start: new Int32Array(out), count: new Int32Array(out), step: 1, div: new Float64Array(out) }
  for (let o = 0; o < out; o++) {
    const s = Math.floor((o * size) / out), e = Math.ceil(((o + 1) * size) / out)
    axis.start[o] = s
    axis.count[o] = e - s
    axis.div[o] = e - s
  }
  return axis
}

// ---------------------------------------------------------------- max pooling

/** PyTorch's max_pool2d CPU loop: NaN wins (the last one), ties keep the first index. */
export function maxPool2dRef(values: Arr, indices: Int32Array, x: Arr, xOff: number, xs: readonly number[], d: PoolDims, h: WindowSpec, w: WindowSpec): void {
  let o = 0
  for (let n = 0; n < d.N; n++) for (let c = 0; c < d.C; c++) {
    for (let oh = 0; oh < d.Ho; oh++) for (let ow = 0; ow < d.Wo; ow++) {
      let ih0 = oh * h.stride - h.pad, iw0 = ow * w.stride - w.pad
      const ih1 = Math.min(ih0 + (h.kernel - 1) * h.dilation + 1, d.H)
      const iw1 = Math.min(iw0 + (w.kernel - 1) * w.dilation + 1, d.W)
      while (ih0 < 0) ih0 += h.dilation
      while (iw0 < 0) iw0 += w.dilation
      let best = -Infinity, arg = ih0 * d.W + iw0
      for (let ih = ih0; ih < ih1; ih += h.dilation) for (let iw = iw0; iw < iw1; iw += w.dilation) {
        const v = x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
        if (v > best || v !== v) { best = v; arg = ih * d.W + iw }
      }
      values[o] = best
      indices[o++] = arg
    }
  }
}

/** PyTorch's adaptive_max_pool2d CPU loop. */
export function adaptiveMaxPool2dRef(values: Arr, indices: Int32Array, x: Arr, xOff: number, xs: readonly number[], d: PoolDims): void {
  let o = 0
  for (let n = 0; n < d.N; n++) for (let c = 0; c < d.C; c++) {
    for (let oh = 0; oh < d.Ho; oh++) for (let ow = 0; ow < d.Wo; ow++) {
      const ih0 = Math.floor((oh * d.H) / d.Ho), ih1 = Math.ceil(((oh + 1) * d.H) / d.Ho)
      const iw0 = Math.floor((ow * d.W) / d.Wo), iw1 = Math.ceil(((ow + 1) * d.W) / d.Wo)
      let best = -Infinity, arg = ih0 * d.W + iw0
      for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) {
        const v = x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
        if (v > best || v !== v) { best = v; arg = ih * d.W + iw }
      }
      values[o] = best
      indices[o++] = arg
    }
  }
}

/** Tuned max pooling over window tables; equal to the Refs (same visiting order). */
export function maxPool2dForward(values: Arr, indices: Int32Array, x: Arr, xOff: number, xs: readonly number[], N: number, C: number, h: PoolAxis, w: PoolAxis): void {
  const W = w.size, hStep = h.step * xs[2], wStep = w.step * xs[3]
  let o = 0
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const xc = xOff + n * xs[0] + c * xs[1] // start of plane (n, c)
    for (let oh = 0; oh < h.out; oh++) {
      const hs = h.start[oh], hc = h.count[oh]
      for (let ow = 0; ow < w.out; ow++) {
        const ws = w.start[ow], wc = w.count[ow]
        let best = -Infinity, arg = hs * W + ws
        let xr = xc + hs * xs[2] + ws * xs[3]
        for (let i = 0; i < hc; i++, xr += hStep) {
          let xi = xr
          for (let j = 0; j < wc; j++, xi += wStep) {
            const v = x[xi]
            if (v > best || v !== v) { best = v; arg = (hs + i * h.step) * W + ws + j * w.step }
          }
        }
        values[o] = best
        indices[o++] = arg
      }
    }
  }
}

// ---------------------------------------------------------------- average pooling

/** PyTorch's avg_pool2d CPU loop (no dilation); `divisor` overrides the window size when given. */
export function avgPool2dRef(out: Arr, x: Arr, xOff: number, xs: readonly number[], d: PoolDims, h: WindowSpec, w: WindowSpec, includePad: boolean, divisor?: number): void {
  let o = 0
  for (let n = 0; n < d.N; n++) for (let c = 0; c < d.C; c++) {
    for (let oh = 0; oh < d.Ho; oh++) for (let ow = 0; ow < d.Wo; ow++) {
      let ih0 = oh * h.stride - h.pad, iw0 = ow * w.stride - w.pad
      let ih1 = Math.min(ih0 + h.kernel, d.H + h.pad), iw1 = Math.min(iw0 + w.kernel, d.W + w.pad)
      const poolSize = (ih1 - ih0) * (iw1 - iw0)
      ih0 = Math.max(ih0, 0); iw0 = Math.max(iw0, 0)
      ih1 = Math.min(ih1, d.H); iw1 = Math.min(iw1, d.W)
      let s = 0
      for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) s += x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
      const empty = ih0 >= ih1 || iw0 >= iw1
      out[o++] = empty ? 0 : s / (divisor ?? (includePad ? poolSize : (ih1 - ih0) * (iw1 - iw0)))
    }
  }
}

/** PyTorch's adaptive_avg_pool2d CPU loop. */
export function adaptiveAvgPool2dRef(out: Arr, x: Arr, xOff: number, xs: readonly number[], d: PoolDims): void {
  let o = 0
  for (let n = 0; n < d.N; n++) for (let c = 0; c < d.C; c++) {
    for (let oh = 0; oh < d.Ho; oh++) for (let ow = 0; ow < d.Wo; ow++) {
      const ih0 = Math.floor((oh * d.H) / d.Ho), ih1 = Math.ceil(((oh + 1) * d.H) / d.Ho)
      const iw0 = Math.floor((ow * d.W) / d.Wo), iw1 = Math.ceil(((ow + 1) * d.W) / d.Wo)
      let s = 0
      for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) s += x[xOff + n * xs[0] + c * xs[1] + ih * xs[2] + iw * xs[3]]
      out[o++] = s / ((ih1 - ih0) * (iw1 - iw0))
    }
  }
}

/** Tuned average pooling over window tables; equal to the Refs (same summation order). */
export function avgPool2dForward(out: Arr, x: Arr, xOff: number, xs: readonly number[], N: number, C: number, h: PoolAxis, w: PoolAxis): void {
  const hStep = h.step * xs[2], wStep = w.step * xs[3]
  let o = 0
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const xc = xOff + n * xs[0] + c * xs[1] // start of plane (n, c)
    for (let oh = 0; oh < h.out; oh++) {
      const hc = h.count[oh], hd = h.div[oh], xh = xc + h.start[oh] * xs[2]
      for (let ow = 0; ow < w.out; ow++) {
        const wc = w.count[ow]
        let s = 0
        let xr = xh + w.start[ow] * xs[3]
        for (let i = 0; i < hc; i++, xr += hStep) {
          let xi = xr
          for (let j = 0; j < wc; j++, xi += wStep) s += x[xi]
        }
        out[o++] = hc === 0 || wc === 0 ? 0 : s / (hd * w.div[ow])
      }
    }
  }
}

/** dx (N, C, H, W) contiguous: each dy spread evenly over its window, as PyTorch's avg_pool2d_backward. */
export function avgPool2dBackwardRef(dx: Arr, dy: Arr, dyOff: number, dys: readonly number[], d: PoolDims, h: WindowSpec, w: WindowSpec, includePad: boolean, divisor?: number): void {
  const acc = new Float64Array(d.N * d.C * d.H * d.W) // (N, C, H, W)
  for (let n = 0; n < d.N; n++) for (let c = 0; c < d.C; c++) {
    for (let oh = 0; oh < d.Ho; oh++) for (let ow = 0; ow < d.Wo; ow++) {
      let ih0 = oh * h.stride - h.pad, iw0 = ow * w.stride - w.pad
      let ih1 = Math.min(ih0 + h.kernel, d.H + h.pad), iw1 = Math.min(iw0 + w.kernel, d.W + w.pad)
      const poolSize = (ih1 - ih0) * (iw1 - iw0)
      ih0 = Math.max(ih0, 0); iw0 = Math.max(iw0, 0)
      ih1 = Math.min(ih1, d.H); iw1 = Math.min(iw1, d.W)
      const delta = dy[dyOff + n * dys[0] + c * dys[1] + oh * dys[2] + ow * dys[3]] /
        (divisor ?? (includePad ? poolSize : (ih1 - ih0) * (iw1 - iw0)))
      for (let ih = ih0; ih < ih1; ih++) for (let iw = iw0; iw < iw1; iw++) acc[((n * d.C + c) * d.H + ih) * d.W + iw] += delta
    }
  }
  for (let i = 0; i < acc.length; i++) dx[i] = acc[i]
}

/** Tuned average-pool backward over window tables (the adjoint of `avgPool2dForward`). */
export function avgPool2dBackward(dx: Arr, dy: Arr, dyOff: number, dys: readonly number[], N: number, C: number, h: PoolAxis, w: PoolAxis): void {
  const W = w.size, HW = h.size * W
  const plane = new Float64Array(HW) // (H, W) sums of one (n, c)
  let o = 0
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    plane.fill(0)
    const dyc = dyOff + n * dys[0] + c * dys[1] // start of plane (n, c) of dy
    for (let oh = 0; oh < h.out; oh++) {
      const hc = h.count[oh], hd = h.div[oh], ph = h.start[oh] * W
      for (let ow = 0; ow < w.out; ow++) {
        const wc = w.count[ow]
        if (hc === 0 || wc === 0) continue
        const delta = dy[dyc + oh * dys[2] + ow * dys[3]] / (hd * w.div[ow])
        let pr = ph + w.start[ow]
        for (let i = 0; i < hc; i++, pr += h.step * W) {
          for (let j = 0, p = pr; j < wc; j++, p += w.step) plane[p] += delta
        }
      }
    }
    for (let i = 0; i < HW; i++) dx[o + i] = plane[i]
    o += HW
  }
}

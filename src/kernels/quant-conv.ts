/**
 * @file im2col for the quantized convolution (`QConv2d`): the sliding blocks of one sample and one
 * channel group written as GEMM rows, so the int8 GEMM (`gemmI8`) and the float x int8 product
 * (`matmulFloatI8`) of src/kernels/quant.ts run a conv unchanged (Jacob et al. 2018,
 * https://arxiv.org/abs/1712.05877, Sec. 2.3: a conv is a GEMM over im2col patches).
 *
 * Shapes: x one sample (C, H, W) contiguous starting at `xOff`; the group's channels are
 * [c0, c0 + Cg). Output rows (Ho Wo, Cg kH kW): row oh Wo + ow, column (c kH + kh) kW + kw, i.e. the
 * flattened layout of a conv weight (Cout, Cg, kH, kW), matching `F.unfold` transposed.
 * Padding is implicit zeros (exact for symmetric int8 codes, zero point 0).
 * Pure typed-array functions: no tensor or autograd imports.
 */

/** Geometry of a 2-D sliding window: input (H, W), kernel, stride, leading padding, dilation, output (Ho, Wo). */
export interface Window2d {
  H: number; W: number; kH: number; kW: number
  sH: number; sW: number; pH: number; pW: number; dH: number; dW: number
  Ho: number; Wo: number
}

/** rows (Ho Wo, Cg kH kW) = the patches of channels [c0, c0 + Cg) of x (C, H, W) at offset xOff; out-of-image taps are 0. */
export function im2colRows(rows: Int8Array | Float32Array | Float64Array, x: ArrayLike<number>, xOff: number, c0: number, Cg: number, g: Window2d): void {
  const { H, W, kH, kW, sH, sW, pH, pW, dH, dW, Ho, Wo } = g
  const K = Cg * kH * kW // row length
  for (let oh = 0; oh < Ho; oh++) {
    for (let ow = 0; ow < Wo; ow++) {
      const r = (oh * Wo + ow) * K // start of this output position's row
      for (let c = 0; c < Cg; c++) {
        const plane = xOff + (c0 + c) * H * W // (H, W) plane of channel c0 + c
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * sH - pH + kh * dH
          const col = r + (c * kH + kh) * kW
          if (ih < 0 || ih >= H) { for (let kw = 0; kw < kW; kw++) rows[col + kw] = 0; continue }
          for (let kw = 0; kw < kW; kw++) {
            const iw = ow * sW - pW + kw * dW
            rows[col + kw] = iw < 0 || iw >= W ? 0 : x[plane + ih * W + iw]
          }
        }
      }
    }
  }
}

/**
 * @file `QConv2d`: an inference-only INT8 Conv2d. The weight (Cout, Cin/G, kH, kW) is quantized
 * symmetrically per output channel (Jacob et al. 2018, https://arxiv.org/abs/1712.05877, zero
 * points 0; scale_o = max|W_o| / 127). The conv runs as im2col + GEMM per sample and group:
 *   float activations:   y[n, o, l] = s_W[o] Σ_p cols[l, p] q_W[o, p] + b[o]
 *   dynamic activations: x[n] quantized per sample (one scale s_x[n] = max|x[n]| / 127), then
 *                        y[n, o, l] = s_x[n] s_W[o] Σ_p q_cols[l, p] q_W[o, p] + b[o]   (exact int32 sum, Eqn (4))
 * Shapes: x (N, Cin, H, W) or unbatched (Cin, H, W); y (N, Cout, Ho, Wo); p runs over Cin/G kH kW.
 * Supports stride, dilation, integer / tuple / 'same' / 'valid' padding and any groups. No gradients flow.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from '../nn/module.ts'
import type { Conv2d } from '../nn/conv.ts'
import type { ConvOptions } from '../conv.ts'
import { I8_MAX_K, matmulFloatI8, quantizeI8, requantize } from '../kernels/quant.ts'
import { kernels } from '../kernels/registry.ts'
import { im2colRows, type Window2d } from '../kernels/quant-conv.ts'

export interface QConv2dOptions {
  /** 'float' keeps activations in float; 'dynamic' quantizes each input sample to int8 on the fly. */
  activations?: 'float' | 'dynamic'
}

function pair(name: string, v: number | readonly number[] | undefined, dflt: number, min: number): [number, number] {
  const t = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v.length === 1 ? [v[0], v[0]] : [...v]
  if (t.length !== 2 || !t.every((d) => Number.isInteger(d) && d >= min)) {
    throw new TesseraError(`QConv2d: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`)
  }
  return [t[0], t[1]]
}

export class QConv2d extends Module {
  readonly inChannels: number
  readonly outChannels: number
  readonly kernelSize: [number, number]
  readonly stride: [number, number]
  readonly dilation: [number, number]
  /** Leading (top, left) and trailing (bottom, right) zero padding. */
  readonly padBefore: [number, number]
  readonly padAfter: [number, number]
  readonly groups: number
  readonly activations: 'float' | 'dynamic'
  declare weightCodes: Tensor // (Cout, Cin/G, kH, kW) int8
  declare weightScales: Tensor // (Cout,) float32
  declare bias: Tensor | null // (Cout,) float32

  /**
   * Quantizes a float Conv2d's weight per output channel and copies its geometry.
   * @example
   *   const q = QConv2d.fromConv2d(new nn.Conv2d(3, 16, 3, { padding: 1 }), { activations: 'dynamic' })
   *   const y = q.forward(x) // (N, 16, H, W)
   */
  static fromConv2d(conv: Conv2d, opts: QConv2dOptions = {}): QConv2d {
    return new QConv2d(conv.weight, conv.bias, conv.options, opts)
  }

  constructor(weight: Tensor, bias: Tensor | null, conv: ConvOptions = {}, opts: QConv2dOptions = {}) {
    super()
    if (weight.ndim !== 4) throw new TesseraError(`QConv2d: weight must be 4-D (Cout, Cin/groups, kH, kW), got [${weight.shape}]`)
    const [Cout, CinG, kH, kW] = weight.shape
    const G = conv.groups ?? 1
    if (!Number.isInteger(G) || G < 1 || Cout % G !== 0) throw new TesseraError(`QConv2d: groups ${G} must be a positive integer dividing out_channels ${Cout}`)
    if (bias && (bias.ndim !== 1 || bias.shape[0] !== Cout)) throw new TesseraError(`QConv2d: bias must have shape [${Cout}], got [${bias.shape}]`)
    const act = opts.activations ?? 'float'
    if (act !== 'float' && act !== 'dynamic') throw new TesseraError(`QConv2d: activations must be 'float' or 'dynamic', got ${String(act)}`)
    const K = CinG * kH * kW
    if (act === 'dynamic' && K > I8_MAX_K) throw new TesseraError(`QConv2d: Cin/groups kH kW = ${K} could overflow the int32 accumulator (max ${I8_MAX_K})`)
    this.inChannels = CinG * G; this.outChannels = Cout; this.groups = G; this.activations = act
    this.kernelSize = [kH, kW]
    this.stride = pair('stride', conv.stride, 1, 1)
    this.dilation = pair('dilation', conv.dilation, 1, 1)
    if (conv.padding === 'same') {
      if (this.stride[0] !== 1 || this.stride[1] !== 1) throw new TesseraError(`QConv2d: padding='same' is not supported for strided convolutions (stride [${this.stride}])`)
      // As PyTorch: total d (k - 1), the odd unit after.
      const tot = [this.dilation[0] * (kH - 1), this.dilation[1] * (kW - 1)]
      this.padBefore = [Math.floor(tot[0] / 2), Math.floor(tot[1] / 2)]
      this.padAfter = [tot[0] - this.padBefore[0], tot[1] - this.padBefore[1]]
    } else if (typeof conv.padding === 'string' && conv.padding !== 'valid') {
      throw new TesseraError(`QConv2d: padding must be 'same', 'valid', an integer or a pair, got '${conv.padding}'`)
    } else {
      this.padBefore = pair('padding', conv.padding === 'valid' ? 0 : conv.padding, 0, 0)
      this.padAfter = [...this.padBefore]
    }
    const codes = new Int8Array(Cout * K) // (Cout, K)
    const scales = new Float32Array(Cout) // (Cout,)
    if (K > 0) quantizeI8(codes, scales, weight.data() as ArrayLike<number>, Cout, K, K)
    this.registerBuffer('weightCodes', fromTypedArray(codes, [Cout, CinG, kH, kW]))
    this.registerBuffer('weightScales', fromTypedArray(scales, [Cout]))
    this.registerBuffer('bias', bias ? fromTypedArray(Float32Array.from(bias.data() as ArrayLike<number>), [Cout]) : null)
  }

  forward(input: Tensor): Tensor {
    const unbatched = input.ndim === 3
    if (input.ndim !== 3 && input.ndim !== 4) throw new TesseraError(`QConv2d: expected input (N, C, H, W) or (C, H, W), got [${input.shape}]`)
    const x = unbatched ? input.unsqueeze(0) : input
    const [N, Cin, H, W] = x.shape
    if (Cin !== this.inChannels) throw new TesseraError(`QConv2d: input has ${Cin} channels (shape [${input.shape}]), expected ${this.inChannels}`)
    const [kH, kW] = this.kernelSize, [sH, sW] = this.stride, [dH, dW] = this.dilation
    const Ho = Math.floor((H + this.padBefore[0] + this.padAfter[0] - dH * (kH - 1) - 1) / sH) + 1
    const Wo = Math.floor((W + this.padBefore[1] + this.padAfter[1] - dW * (kW - 1) - 1) / sW) + 1
    if (Ho < 1 || Wo < 1) throw new TesseraError(`QConv2d: kernel [${this.kernelSize}] with dilation [${this.dilation}] does not fit the padded input [${H}, ${W}]`)
    const g: Window2d = { H, W, kH, kW, sH, sW, pH: this.padBefore[0], pW: this.padBefore[1], dH, dW, Ho, Wo }
    const G = this.groups, Cg = Cin / G, CoutG = this.outChannels / G, K = Cg * kH * kW, L = Ho * Wo
    const xs = x.contiguous().data() as ArrayLike<number> // (N, Cin, H, W)
    const w = this.weightCodes.storage as Int8Array // (Cout, K)
    const sWAll = this.weightScales.storage as Float32Array // (Cout,)
    const bAll = this.bias ? (this.bias.storage as Float32Array) : null // (Cout,)
    const y = new Float32Array(N * this.outChannels * L) // (N, Cout, L)
    const yg = new Float32Array(L * CoutG) // (L, Cout/G) one group's GEMM output
    const dynamic = this.activations === 'dynamic'
    const CHW = Cin * H * W
    let src: ArrayLike<number> = xs, sX: Float32Array | null = null
    if (dynamic) {
      const q = new Int8Array(N * CHW) // (N, Cin H W) codes, one scale per sample
      sX = new Float32Array(N) // (N,)
      if (CHW > 0) quantizeI8(q, sX, xs, N, CHW, CHW)
      src = q
    }
    const rows = dynamic ? new Int8Array(L * K) : new Float32Array(L * K) // (L, K)
    const acc = new Int32Array(L * CoutG) // (L, Cout/G)
    const sRow = new Float32Array(L) // (L,) the sample's activation scale on every row
    for (let n = 0; n < N; n++) {
      if (sX) sRow.fill(sX[n])
      for (let gi = 0; gi < G; gi++) {
        im2colRows(rows, src, n * CHW, gi * Cg, Cg, g)
        const wg = w.subarray(gi * CoutG * K, (gi + 1) * CoutG * K) // (Cout/G, K)
        const sg = sWAll.subarray(gi * CoutG, (gi + 1) * CoutG) // (Cout/G,)
        const bg = bAll ? bAll.subarray(gi * CoutG, (gi + 1) * CoutG) : null
        if (dynamic) {
          kernels.gemmI8(acc, rows as Int8Array, wg, L, CoutG, K)
          requantize(yg, acc, sRow, sg, bg, L, CoutG)
        } else {
          matmulFloatI8(yg, rows, wg, sg, bg, L, CoutG, K)
        }
        // (L, Cout/G) -> y[n, gi Cout/G + j, l]
        const base = (n * this.outChannels + gi * CoutG) * L
        for (let l = 0; l < L; l++) for (let j = 0; j < CoutG; j++) y[base + j * L + l] = yg[l * CoutG + j]
      }
    }
    const out = fromTypedArray(y, [N, this.outChannels, Ho, Wo])
    return unbatched ? out.squeeze(0) : out
  }
}

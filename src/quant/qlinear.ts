/**
 * @file `QLinear`: an inference-only INT8 Linear layer, y = x W^T + b with W quantized
 * symmetrically per output channel (Jacob et al. 2018, https://arxiv.org/abs/1712.05877, with zero
 * points 0). Activations are either kept in float (weight-only quantization: y = (x q_W^T) s_W + b)
 * or quantized dynamically per row, giving an exact int32 GEMM rescaled by s_x s_W (Eqn (4)).
 * Shapes: x (..., in), W codes (out, in) int8, scales (out,), y (..., out). No gradients flow.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from '../nn/module.ts'
import type { Linear } from '../nn/linear.ts'
import { I8_MAX_K, matmulFloatI8, quantizeI8, requantize } from '../kernels/quant.ts'
import { kernels } from '../kernels/registry.ts'

export interface QLinearOptions {
  /** 'float' keeps activations in float; 'dynamic' quantizes each input row to int8 on the fly. */
  activations?: 'float' | 'dynamic'
}

export class QLinear extends Module {
  readonly inFeatures: number
  readonly outFeatures: number
  readonly activations: 'float' | 'dynamic'
  declare weightCodes: Tensor // (out, in) int8
  declare weightScales: Tensor // (out,) float32
  declare bias: Tensor | null // (out,) float32

  /**
   * Quantizes a float Linear's weight per output channel (scale = max|W_j| / 127).
   * @example
   *   const q = QLinear.fromLinear(new nn.Linear(64, 32), { activations: 'dynamic' })
   *   const y = q.forward(x) // (B, 32)
   */
  static fromLinear(linear: Linear, opts: QLinearOptions = {}): QLinear {
    return new QLinear(linear.weight, linear.bias, opts)
  }

  constructor(weight: Tensor, bias: Tensor | null, opts: QLinearOptions = {}) {
    super()
    if (weight.ndim !== 2) throw new TesseraError(`QLinear: weight must be 2-D (out, in), got [${weight.shape}]`)
    const [N, K] = weight.shape
    if (bias && (bias.ndim !== 1 || bias.shape[0] !== N)) throw new TesseraError(`QLinear: bias must have shape [${N}], got [${bias.shape}]`)
    const act = opts.activations ?? 'float'
    if (act !== 'float' && act !== 'dynamic') throw new TesseraError(`QLinear: activations must be 'float' or 'dynamic', got ${String(act)}`)
    if (act === 'dynamic' && K > I8_MAX_K) throw new TesseraError(`QLinear: in = ${K} could overflow the int32 accumulator (max ${I8_MAX_K})`)
    this.inFeatures = K
    this.outFeatures = N
    this.activations = act
    const codes = new Int8Array(N * K) // (N, K)
    const scales = new Float32Array(N) // (N,)
    if (K > 0) quantizeI8(codes, scales, weight.data() as ArrayLike<number>, N, K, K)
    this.registerBuffer('weightCodes', fromTypedArray(codes, [N, K]))
    this.registerBuffer('weightScales', fromTypedArray(scales, [N]))
    this.registerBuffer('bias', bias ? fromTypedArray(Float32Array.from(bias.data() as ArrayLike<number>), [N]) : null)
  }

  forward(x: Tensor): Tensor {
    const K = this.inFeatures, N = this.outFeatures
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== K) throw new TesseraError(`QLinear: input has ${x.shape[x.ndim - 1]} features in its last dim (shape [${x.shape}]), expected ${K}`)
    const M = x.numel() / Math.max(K, 1)
    const xs = x.data() as ArrayLike<number> // (M, K)
    const w = this.weightCodes.storage as Int8Array // (N, K)
    const sW = this.weightScales.storage as Float32Array // (N,)
    const b = this.bias ? (this.bias.storage as Float32Array) : null // (N,)
    const y = new Float32Array(M * N) // (M, N)
    if (this.activations === 'float') {
      matmulFloatI8(y, xs, w, sW, b, M, N, K)
    } else {
      const xq = new Int8Array(M * K) // (M, K)
      const sX = new Float32Array(M) // (M,)
      if (K > 0) quantizeI8(xq, sX, xs, M, K, K)
      const acc = new Int32Array(M * N) // (M, N)
      kernels.gemmI8(acc, xq, w, M, N, K)
      requantize(y, acc, sX, sW, b, M, N)
    }
    return fromTypedArray(y, [...x.shape.slice(0, -1), N])
  }
}

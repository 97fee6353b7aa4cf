/**
 * @file The one dispatch point for swappable kernels. Ops call `kernels.gemm(...)`,
 * `kernels.im2col(...)`, ... never these kernel modules directly, so another implementation (the
 * Node worker pool, a WebAssembly SIMD path) can replace an entry at run time without touching
 * the ops. Every entry must give the same results as the `...Ref` oracle beside its default.
 */
import { gemm } from './gemm.ts'
import { binaryInto, unaryInto } from './elementwise.ts'
import { geluBackward } from './gelu.ts'
import { gemmI8 } from './quant.ts'
import { matmulQ4, matvecQ4, matvecQ8 } from './quant-matvec.ts'
import { col2im, im2col } from './conv.ts'
import { depthwiseConv2dBackwardInput, depthwiseConv2dBackwardWeight, depthwiseConv2dForward } from './depthwise.ts'
import { softmaxInto } from './softmax.ts'
import { rowNormBackward, rowNormForward } from './norm.ts'
import { attentionBackward, attentionForward } from './attention.ts'
import { avgPool2dBackward, avgPool2dForward, maxPool2dForward } from './pool.ts'
import { selectiveScan, selectiveScanBackward } from './scan.ts'
import { causalConvDirect, fftConvInto } from './fft.ts'
import { sddmm, spmm, spmmTransposed } from './sparse-spmm.ts'

const defaults = {
  gemm, im2col, col2im, unary: unaryInto, binary: binaryInto, geluBackward,
  depthwiseConv2dForward, depthwiseConv2dBackwardInput, depthwiseConv2dBackwardWeight,
  softmax: softmaxInto, rowNormForward, rowNormBackward, attentionForward, attentionBackward,
  maxPool2dForward, avgPool2dForward, avgPool2dBackward,
  selectiveScan, selectiveScanBackward, fftConv: fftConvInto, causalConvDirect,
  spmm, spmmTransposed, sddmm, gemmI8, matvecQ8, matvecQ4, matmulQ4,
}

export type KernelTable = { [K in keyof typeof defaults]: (typeof defaults)[K] }

/** The kernels in use; assign an entry to swap an implementation. */
export const kernels: KernelTable = { ...defaults }

/** The built-in single-thread implementations (to restore after a swap). */
export const defaultKernels: Readonly<KernelTable> = Object.freeze({ ...defaults })

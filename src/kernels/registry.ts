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
import { chooseBackend } from '../backend.ts'

const defaults = {
  gemm, im2col, col2im, unary: unaryInto, binary: binaryInto, geluBackward,
  depthwiseConv2dForward, depthwiseConv2dBackwardInput, depthwiseConv2dBackwardWeight,
  softmax: softmaxInto, rowNormForward, rowNormBackward, attentionForward, attentionBackward,
  maxPool2dForward, avgPool2dForward, avgPool2dBackward,
  selectiveScan, selectiveScanBackward, fftConv: fftConvInto, causalConvDirect,
  spmm, spmmTransposed, sddmm, gemmI8, matvecQ8, matvecQ4, matmulQ4,
}

export type KernelTable = { [K in keyof typeof defaults]: (typeof defaults)[K] }

/** The entries a faster backend may replace (src/backend.ts chooses one on the first call of any). */
export const BACKEND_KERNELS = [
  'gemm', 'softmax', 'rowNormForward', 'unary', 'binary', 'geluBackward',
  'depthwiseConv2dForward', 'depthwiseConv2dBackwardInput', 'depthwiseConv2dBackwardWeight',
  'gemmI8', 'matvecQ8', 'matvecQ4', 'matmulQ4', 'selectiveScan',
] as const satisfies readonly (keyof KernelTable)[]

export type BackendKernel = (typeof BACKEND_KERNELS)[number]

const resolvers = new Set<unknown>()

/**
 * Until a backend is chosen (setBackend, or automatically), each BACKEND_KERNELS entry is a stand-in
 * that asks src/backend.ts to choose (it installs the chosen kernels) and then runs the entry that
 * replaced it. The import is circular on purpose and only used inside calls.
 */
/** Whether `fn` is one of the stand-ins that choose the backend on first use. */
export function isBackendStandIn(fn: unknown): boolean {
  return resolvers.has(fn)
}

function standIn<K extends (typeof BACKEND_KERNELS)[number]>(name: K): KernelTable[K] {
  const fn = ((...args: unknown[]) => {
    chooseBackend()
    const next = kernels[name] as unknown as (...a: unknown[]) => unknown
    if (next === fn) throw new Error(`kernels.${name}: no backend installed a kernel`)
    return next(...args)
  }) as unknown as KernelTable[K]
  resolvers.add(fn)
  return fn
}

/** The kernels in use; assign an entry to swap an implementation. */
export const kernels: KernelTable = { ...defaults }
for (const name of BACKEND_KERNELS) (kernels as Record<string, unknown>)[name] = standIn(name)

/** The built-in single-thread implementations (to restore after a swap). */
export const defaultKernels: Readonly<KernelTable> = Object.freeze({ ...defaults })

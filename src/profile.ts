/**
 * @file The `profile` namespace: parameter counts, multiply-add (MAC) counts, and a shape-only mode
 * for building and tracing full-size networks without allocating their weights.
 *
 *   const m = profile.shapeOnly(() => new models.EfficientNet('b0'))   // no weight is allocated
 *   profile.countParams(m)                                              // 5,288,548
 *   profile.shapeOnly(() => profile.countMacs(() => m.forward(zeros([1, 3, 224, 224])))).macs  // ≈ 0.39e9
 *
 * MACs are what papers usually call "FLOPs": one multiply-add of a matmul (and so linear layers and
 * the im2col convolutions), a depthwise convolution or fused attention (QKᵀ and PV, the full L x S
 * even under a causal mask) counts one. Elementwise ops, norms and pools are not counted (as in
 * fvcore and thop). Counting covers every op that runs inside `fn`, backward passes included.
 *
 * In shape-only mode every new tensor has shape, strides and dtype but a zero-length buffer, and the
 * heavy kernels of the dispatch table (GEMM, im2col, depthwise, attention, scans, sparse) are parked,
 * so a forward pass computes only shapes (and MACs). Values read inside are meaningless (NaN or
 * undefined); do not let tensors created inside escape into real computation.
 */
import { TesseraError } from './errors.ts'
import { profileState } from './profile-state.ts'
import { defaultKernels, kernels, type KernelTable } from './kernels/registry.ts'
import { chooseBackend } from './backend.ts'
import type { Module } from './nn/module.ts'

/** Number of scalar parameters of `module` (shared parameters once); `trainableOnly` skips frozen ones. */
export function countParams(module: Module, opts: { trainableOnly?: boolean } = {}): number {
  let n = 0
  for (const p of new Set(module.parameters())) if (!opts.trainableOnly || p.requiresGrad) n += p.numel()
  return n
}

/** Runs `fn` and returns the multiply-adds its matmul, depthwise-conv and attention ops performed. */
export function countMacs<T>(fn: () => T): { macs: number; result: T } {
  const before = profileState.macs
  profileState.counting++
  try {
    const result = fn()
    return { macs: profileState.macs - before, result }
  } finally {
    profileState.counting--
    if (profileState.counting === 0) profileState.macs = 0
  }
}

const noop = (): void => {}
// The kernels a shape-only pass parks: everything whose cost grows with the data (elementwise loops
// over zero-length buffers cost nothing per element).
const PARKED: readonly (keyof KernelTable)[] = [
  'gemm', 'im2col', 'col2im', 'depthwiseConv2dForward', 'depthwiseConv2dBackwardInput', 'depthwiseConv2dBackwardWeight',
  'attentionForward', 'attentionBackward', 'selectiveScan', 'selectiveScanBackward', 'fftConv', 'causalConvDirect',
  'spmm', 'spmmTransposed', 'sddmm', 'softmax', 'rowNormForward', 'rowNormBackward', 'maxPool2dForward', 'avgPool2dForward', 'avgPool2dBackward',
  'gemmI8', 'matvecQ8', 'matvecQ4', 'matmulQ4',
]

/**
 * Runs `fn` in shape-only mode: tensors created inside carry no data and the heavy kernels do
 * nothing, so full-size networks can be built, counted and traced in milliseconds. Nested calls are
 * fine; the kernels in use before the outermost call are restored after it.
 */
export function shapeOnly<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TesseraError('profile.shapeOnly: expected a function')
  const outer = profileState.shapeOnly === 0
  const saved: Partial<Record<keyof KernelTable, unknown>> = {}
  if (outer) {
    chooseBackend() // install the backend's kernels first, so no stand-in swaps them back mid-pass
    for (const k of PARKED) {
      saved[k] = kernels[k]
      ;(kernels as Record<string, unknown>)[k] = noop
    }
  }
  profileState.shapeOnly++
  try {
    return fn()
  } finally {
    profileState.shapeOnly--
    if (outer) for (const k of PARKED) (kernels as Record<string, unknown>)[k] = saved[k] ?? defaultKernels[k]
  }
}

/** Whether a shape-only pass is running. */
export function isShapeOnly(): boolean {
  return profileState.shapeOnly > 0
}

/**
 * @file The WebAssembly SIMD softmax: a drop-in for `kernels.softmax` (same arguments as
 * `softmaxInto`). The generated kernel (src/wasm/softmax-module.ts) handles float32 softmax over the
 * last, contiguous axis (inner = 1); log-softmax, other axes and float64 go to the typed-array
 * kernel. Rows are copied into the kernel memory, normalised there and copied out.
 */
import { softmaxInto } from '../kernels/softmax.ts'
import type { TypedArray } from '../dtype.ts'
import { softmaxModuleBytes } from './softmax-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

type SoftmaxFn = (x: number, out: number, rows: number, n: number) => void
let fn: SoftmaxFn | null = null

/** The module name (also the `.wasm` file the build writes). */
export const WASM_SOFTMAX_MODULE = 'softmax'

/**
 * Rows shorter than this stay on the typed-array kernel. The choice depends on the row length only,
 * never on the number of rows, so splitting a batch gives the same bits.
 */
export const WASM_SOFTMAX_MIN_ROW = 4

export function softmaxWasm(out: TypedArray, x: TypedArray, outer: number, n: number, inner: number, log: boolean): void {
  if (log || inner !== 1 || !(x instanceof Float32Array) || !(out instanceof Float32Array) || n < WASM_SOFTMAX_MIN_ROW) {
    softmaxInto(out, x, outer, n, inner, log)
    return
  }
  fn ??= instantiate(compileModule(WASM_SOFTMAX_MODULE, () => softmaxModuleBytes({ min: 16 }))).softmax as SoftmaxFn
  const total = outer * n
  const mem = kernelMemory(total * 4)
  const f = new Float32Array(mem.buffer, 0, total) // (outer, n), normalised in place
  f.set(x.length === total ? x : x.subarray(0, total))
  fn(0, 0, outer, n)
  out.set(f)
}

/**
 * @file The WebAssembly SIMD layer norm / RMS norm forward: a drop-in for `kernels.rowNormForward`
 * (same arguments). The generated kernel (src/wasm/layernorm-module.ts) handles float32 rows
 * normalised over the last axis (G = 1, S = 1: layerNorm and rmsNorm); group and batch norm shapes,
 * float64 and small inputs go to the typed-array kernel. Operands are copied into the kernel memory.
 */
import { rowNormForward, type RowNormDims } from '../kernels/norm.ts'
import type { TypedArray } from '../dtype.ts'
import { layerNormModuleBytes } from './layernorm-module.ts'
import { compileModule, instantiate, kernelMemory } from './runtime.ts'

type LayerNormFn = (x: number, y: number, w: number, b: number, stats: number, R: number, M: number, eps: number, center: number) => void
let fn: LayerNormFn | null = null

/** The module name (also the `.wasm` file the build writes). */
export const WASM_LAYERNORM_MODULE = 'layernorm'

/**
 * Rows shorter than this stay on the typed-array kernel. The choice depends on the row length only,
 * never on the number of rows, so splitting a batch gives the same bits.
 */
export const WASM_LAYERNORM_MIN_ROW = 8

export function rowNormForwardWasm(y: TypedArray, mean: Float64Array, rstd: Float64Array, x: TypedArray, w: TypedArray, b: TypedArray, d: RowNormDims, eps: number, center: boolean): void {
  const { R, G, Cg, S } = d
  const M = Cg * S
  if (G !== 1 || S !== 1 || !(x instanceof Float32Array && y instanceof Float32Array && w instanceof Float32Array && b instanceof Float32Array) || M < WASM_LAYERNORM_MIN_ROW) {
    rowNormForward(y, mean, rstd, x, w, b, d, eps, center)
    return
  }
  fn ??= instantiate(compileModule(WASM_LAYERNORM_MODULE, () => layerNormModuleBytes({ min: 16 }))).layerNorm as LayerNormFn
  // Kernel memory (bytes): x (R, M) f32 | y (R, M) f32 | w (M,) | b (M,) | stats (R, 2) f64, 8-aligned.
  const xAt = 0, yAt = xAt + R * M * 4, wAt = yAt + R * M * 4, bAt = wAt + M * 4
  const stAt = Math.ceil((bAt + M * 4) / 8) * 8
  const mem = kernelMemory(stAt + R * 16)
  const buf = mem.buffer
  new Float32Array(buf, xAt, R * M).set(x.length === R * M ? x : x.subarray(0, R * M))
  new Float32Array(buf, wAt, M).set(w.subarray(0, M))
  new Float32Array(buf, bAt, M).set(b.subarray(0, M))
  fn(xAt, yAt, wAt, bAt, stAt, R, M, eps, center ? 1 : 0)
  y.set(new Float32Array(buf, yAt, R * M))
  const st = new Float64Array(buf, stAt, 2 * R) // (R, 2): mean, rstd
  for (let r = 0; r < R; r++) { mean[r] = st[2 * r]; rstd[r] = st[2 * r + 1] }
}

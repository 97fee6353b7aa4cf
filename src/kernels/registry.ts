/**
 * @file The one dispatch point for swappable kernels. Ops call `kernels.gemm(...)`, never a kernel
 * module directly, so another implementation (a worker pool, WebAssembly SIMD) can replace an entry
 * at run time without touching the ops. Every entry must give the same results as its `...Ref`.
 */
import { gemm, type GemmOperands } from './gemm.ts'

export interface KernelTable {
  gemm: (g: GemmOperands) => void
}

export const kernels: KernelTable = { gemm }

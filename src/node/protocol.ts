/** @file The control block shared by the GEMM pool's main thread and each worker (Int32 words). */
export const CTRL = {
  /** Job number posted by the main thread; -1 asks the worker to exit. */
  seq: 0,
  /** Job number the worker finished last. */
  done: 1,
  M: 2, N: 3, K: 4, rowStart: 5, rowEnd: 6,
  /** 1 when a new shared buffer was posted for this job. */
  newBuffer: 7,
  /** First row held in the shared A and C regions (rows below it stay on the main thread). */
  base: 8,
  /** Which single-thread kernel to run (KERNEL), and so how the shared buffer is typed. */
  kernel: 9,
  /** Set by the worker when its kernel threw (the job is still marked done, so nobody waits forever). */
  failed: 10,
  /** The worker's time on its rows, in microseconds (the pool balances rows by measured speed). */
  micros: 11,
} as const

export const CTRL_WORDS = 12

/** Kernel codes: the typed-array GEMM over float64 operands, the WASM SIMD GEMM over float32. */
export const KERNEL = { js: 0, wasm: 1 } as const

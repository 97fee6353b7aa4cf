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
} as const

export const CTRL_WORDS = 9

/**
 * @file A worker pool for GEMM on Node (node:worker_threads). Node-only: the core never imports it.
 *
 *   import { startThreads, stopThreads } from 'tessera/node'
 *   await startThreads(2)   // the main thread plus one worker; replaces kernels.gemm
 *
 * Rows of C are split between the main thread and the workers; every thread runs the same
 * single-thread kernel on whole rows, so results are bitwise identical to one thread. Operands are
 * copied into a SharedArrayBuffer (as float64, exact for every tessera dtype); workers spin about
 * 0.2 ms before sleeping in Atomics.wait, so back-to-back calls do not pay a wake-up each time.
 */
import { Worker } from 'node:worker_threads'
import { TesseraError } from '../errors.ts'
import { defaultKernels, kernels } from '../kernels/registry.ts'
import { gemm, type GemmOperands } from '../kernels/gemm.ts'
import { CTRL, CTRL_WORDS } from './protocol.ts'

interface PoolWorker { worker: Worker; ctrl: Int32Array; seq: number }

/** Below this many multiply-adds a call stays on one thread (hand-off costs ~20 us). */
const PARALLEL_LIMIT = 48 * 48 * 48

let pool: PoolWorker[] = []
let shared = new Float64Array(new SharedArrayBuffer(8))

/** Starts `n - 1` workers (the main thread is the n-th) and routes kernels.gemm through them. */
export async function startThreads(n = 2): Promise<void> {
  if (!Number.isInteger(n) || n < 1) throw new TesseraError(`startThreads: n must be a positive integer, got ${n}`)
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    throw new TesseraError('startThreads: this runtime has no SharedArrayBuffer/Atomics')
  }
  await stopThreads()
  // Run from TypeScript source (tests, tsx), the worker first registers tsx's loader; built JavaScript needs nothing.
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(fromSource ? './gemm-worker.ts' : './gemm-worker.js', import.meta.url)
  const entry: URL | string = fromSource
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}) })`
    : url
  pool = await Promise.all(Array.from({ length: n - 1 }, async () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4))
    const worker = new Worker(entry, { workerData: { ctrl }, eval: fromSource })
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve())
      worker.once('error', reject)
    })
    worker.unref()
    return { worker, ctrl, seq: 0 }
  }))
  if (pool.length > 0) kernels.gemm = pooledGemm
}

/** Stops the workers and restores the single-thread kernel. */
export async function stopThreads(): Promise<void> {
  const old = pool
  pool = []
  kernels.gemm = defaultKernels.gemm
  for (const w of old) {
    Atomics.store(w.ctrl, CTRL.seq, -1)
    Atomics.notify(w.ctrl, CTRL.seq)
  }
  await Promise.all(old.map((w) => w.worker.terminate()))
}

/** Number of threads GEMM currently uses (1 when the pool is off). */
export function numThreads(): number {
  return pool.length + 1
}

function pooledGemm(g: GemmOperands): void {
  const { M, N, K } = g
  const threads = pool.length + 1
  if (M * N * K < PARALLEL_LIMIT || M < 2 * threads) return gemm(g)
  // Even row blocks (multiples of 2, the micro-kernel height); the main thread takes the first
  // block straight from the caller's arrays, so only the workers' rows are shared.
  const rows = Math.ceil(M / threads / 2) * 2
  const base = Math.min(M, rows), R = M - base
  // Shared layout (float64): A rows [base, M) (R, K) | B (K, N) | C rows [base, M) (R, N).
  const need = R * K + K * N + R * N
  let grown = false
  if (shared.length < need) {
    shared = new Float64Array(new SharedArrayBuffer(need * 8))
    grown = true
  }
  copyIn(shared, 0, g.a, g.aOff + base * g.aRs, g.aRs, g.aCs, R, K)
  copyIn(shared, R * K, g.b, g.bOff, g.bRs, g.bCs, K, N)
  pool.forEach((w, k) => {
    const start = Math.min(M, rows * (k + 1)), end = Math.min(M, rows * (k + 2))
    if (grown) w.worker.postMessage(shared.buffer)
    w.ctrl[CTRL.M] = M; w.ctrl[CTRL.N] = N; w.ctrl[CTRL.K] = K
    w.ctrl[CTRL.rowStart] = start; w.ctrl[CTRL.rowEnd] = end
    w.ctrl[CTRL.newBuffer] = grown ? 1 : 0
    w.ctrl[CTRL.base] = base
    w.seq++
    Atomics.store(w.ctrl, CTRL.seq, w.seq)
    Atomics.notify(w.ctrl, CTRL.seq)
  })
  gemm(g, 0, base)
  for (const w of pool) {
    for (;;) {
      const done = Atomics.load(w.ctrl, CTRL.done)
      if (done === w.seq) break
      Atomics.wait(w.ctrl, CTRL.done, done, 1000)
    }
  }
  const cBase = R * K + K * N
  for (let i = 0; i < R * N; i++) g.c[g.cOff + base * N + i] = shared[cBase + i]
}

/** Copies a strided (R, C) matrix into dst at `at`, row-major. */
function copyIn(dst: Float64Array, at: number, src: GemmOperands['a'], off: number, rs: number, cs: number, R: number, C: number): void {
  for (let i = 0; i < R; i++) {
    const s = off + i * rs, d = at + i * C
    for (let j = 0; j < C; j++) dst[d + j] = src[s + j * cs]
  }
}

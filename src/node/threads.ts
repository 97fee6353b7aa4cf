/**
 * @file A worker pool for GEMM on Node (node:worker_threads). Node-only: the core never imports it.
 *
 *   import { startThreads, stopThreads } from 'tessera/node'
 *   await startThreads(2)   // the main thread plus one worker; replaces kernels.gemm
 *
 * Rows of C are split between the main thread and the workers; every thread runs the same
 * single-thread kernel on whole rows, so results are bitwise identical to one thread. Which kernel
 * is asked per call: with `setBackend('wasm')` and float32 operands every thread runs the
 * WebAssembly SIMD GEMM (src/wasm/gemm.ts; each worker compiles its own instance over its own
 * kernel memory), otherwise the typed-array GEMM. Operands are copied into one SharedArrayBuffer,
 * as float32 for the WASM kernel and as float64 (exact for every tessera dtype) for the typed-array
 * one; workers spin about 0.2 ms before sleeping in Atomics.wait, so back-to-back calls do not pay
 * a wake-up each time.
 */
import { Worker } from 'node:worker_threads'
import { TesseraError } from '../errors.ts'
import { defaultKernels, kernels } from '../kernels/registry.ts'
import { gemm, type GemmOperands } from '../kernels/gemm.ts'
import { getBackend } from '../backend.ts'
import { gemmWasm, wasmGemmConfig } from '../wasm/gemm.ts'
import { CTRL, CTRL_WORDS, KERNEL } from './protocol.ts'

/** A worker, its control block, its last job number and the shared buffer it holds. */
interface PoolWorker { worker: Worker; ctrl: Int32Array; seq: number; holds: SharedArrayBuffer | null }

/**
 * Below this many multiply-adds a call stays on one thread. Typed-array kernel: the hand-off costs
 * ~20 us, the time of about 48^3 multiply-adds. WASM kernel: measured, 2 threads lost at 256^3
 * (2.6-3.0 ms vs 1.8-2.1 ms: copies through shared memory and the worker's colder caches) and won
 * from 512^3 (9 vs 13-14 ms).
 */
const PARALLEL_LIMIT = { js: 48 * 48 * 48, wasm: 320 * 320 * 320 }

let pool: PoolWorker[] = []
let shared = new SharedArrayBuffer(8)

/**
 * Measured speed of each thread (index 0 = main), in multiply-adds per millisecond, per kernel: rows
 * are split in proportion, so a thread that runs slower (a worker packs from shared memory another
 * core wrote; the main thread also copies operands) gets fewer rows. Any split gives the same bits.
 */
const speed: Record<'js' | 'wasm', number[]> = { js: [], wasm: [] }
const EMA = 0.3

/** Row counts per thread (multiples of mr, at least mr each, summing to M) in proportion to the measured speeds. */
function splitRows(M: number, mr: number, rates: number[]): number[] {
  const total = rates.reduce((a, b) => a + b, 0)
  const counts = rates.map((r) => Math.max(mr, Math.floor((M * r) / total / mr) * mr))
  for (let k = counts.length - 1; k > 0 && counts.reduce((a, b) => a + b, 0) > M; k--) counts[k] = Math.max(mr, counts[k] - mr)
  counts[0] += M - counts.reduce((a, b) => a + b, 0) // the remainder stays on the main thread
  return counts
}

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
    return { worker, ctrl, seq: 0, holds: null }
  }))
  if (pool.length > 0) kernels.gemm = pooledGemm
}

/** Stops the workers and restores the single-thread kernel of the current backend. */
export async function stopThreads(): Promise<void> {
  const old = pool
  pool = []
  if (kernels.gemm === pooledGemm) kernels.gemm = getBackend() === 'wasm' ? gemmWasm : defaultKernels.gemm
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
  const wasm = getBackend() === 'wasm' && g.a instanceof Float32Array && g.b instanceof Float32Array && g.c instanceof Float32Array
  const single = wasm ? gemmWasm : gemm
  const threads = pool.length + 1
  // Row blocks in multiples of the micro-kernel height (2 rows in JS, MR in WASM); the main thread
  // takes the first block straight from the caller's arrays, so only the workers' rows are shared.
  const mr = wasm ? wasmGemmConfig().MR : 2
  const kind = wasm ? 'wasm' : 'js'
  if (M * N * K < PARALLEL_LIMIT[kind] || M < mr * threads) return single(g)
  const rates = speed[kind]
  while (rates.length < threads) rates.push(1)
  const counts = splitRows(M, mr, rates.slice(0, threads))
  const starts = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0))
  const base = counts[0], R = M - base
  // Shared layout (float32 for WASM, float64 for JS): A rows [base, M) (R, K) | B (K, N) | C rows [base, M) (R, N).
  const need = (R * K + K * N + R * N) * (wasm ? 4 : 8)
  if (shared.byteLength < need) shared = new SharedArrayBuffer(need)
  const data = wasm ? new Float32Array(shared) : new Float64Array(shared)
  copyIn(data, 0, g.a, g.aOff + base * g.aRs, g.aRs, g.aCs, R, K)
  copyIn(data, R * K, g.b, g.bOff, g.bRs, g.bCs, K, N)
  pool.forEach((w, k) => {
    const start = starts[k + 1], end = start + counts[k + 1]
    const post = w.holds !== shared // a new buffer, or a worker started after the last one was made
    if (post) { w.worker.postMessage(shared); w.holds = shared }
    w.ctrl[CTRL.M] = M; w.ctrl[CTRL.N] = N; w.ctrl[CTRL.K] = K
    w.ctrl[CTRL.rowStart] = start; w.ctrl[CTRL.rowEnd] = end
    w.ctrl[CTRL.newBuffer] = post ? 1 : 0
    w.ctrl[CTRL.base] = base
    w.ctrl[CTRL.kernel] = wasm ? KERNEL.wasm : KERNEL.js
    w.seq++
    Atomics.store(w.ctrl, CTRL.seq, w.seq)
    Atomics.notify(w.ctrl, CTRL.seq)
  })
  const t0 = performance.now()
  single(g, 0, base)
  const mainMs = performance.now() - t0
  pool.forEach((w, k) => {
    for (;;) {
      const done = Atomics.load(w.ctrl, CTRL.done)
      if (done === w.seq) break
      Atomics.wait(w.ctrl, CTRL.done, done, 1000)
    }
    if (w.ctrl[CTRL.failed]) throw new TesseraError(`gemm pool: worker ${k + 1} failed on rows [${w.ctrl[CTRL.rowStart]}, ${w.ctrl[CTRL.rowEnd]}) of a (${M}, ${K}) x (${K}, ${N}) product (its error is on stderr)`)
  })
  const cBase = R * K + K * N
  g.c.set(data.subarray(cBase, cBase + R * N), g.cOff + base * N)
  // Update the speeds (multiply-adds per ms) from this call: the main thread's own time, each worker's reported time.
  const update = (t: number, macs: number, ms: number): void => { if (ms > 0 && macs > 0) rates[t] = rates[t] === 1 ? macs / ms : (1 - EMA) * rates[t] + EMA * (macs / ms) }
  update(0, base * N * K, mainMs)
  pool.forEach((w, k) => update(k + 1, counts[k + 1] * N * K, w.ctrl[CTRL.micros] / 1000))
}

/** Copies a strided (R, C) matrix into dst at `at`, row-major (whole rows with `set` when they are contiguous). */
function copyIn(dst: Float32Array | Float64Array, at: number, src: GemmOperands['a'], off: number, rs: number, cs: number, R: number, C: number): void {
  if (cs === 1) {
    if (rs === C) dst.set(src.subarray(off, off + R * C), at)
    else for (let i = 0; i < R; i++) dst.set(src.subarray(off + i * rs, off + i * rs + C), at + i * C)
    return
  }
  for (let i = 0; i < R; i++) {
    const s = off + i * rs, d = at + i * C
    for (let j = 0; j < C; j++) dst[d + j] = src[s + j * cs]
  }
}

/**
 * @file `train.runParallel`: independent jobs (e.g. the K module incubations of Deep Model Assembling,
 * paper 52, https://arxiv.org/abs/2212.04129, Sec. 3.2 "the K modules are trained independently")
 * run on worker threads, one job per worker at a time, results back in job order.
 *
 * A job is a structured-cloneable descriptor `{ module, export, args }`: the worker imports the ES
 * module at URL `module` and returns `await module[export](args)`. Tensors do not survive structured
 * cloning (they are class instances), so jobs take and return plain data; `packState`/`unpackState`
 * turn a state dict into `{ shape, dtype, data: TypedArray }` records and back.
 *
 * Where the workers come from (`spawn`):
 *   - given: any runtime plugs in a factory of objects with postMessage / onmessage / onerror /
 *     terminate (tessera/node exports `nodeSpawn`, on node:worker_threads);
 *   - default: the web-standard global `Worker` with `{ type: 'module' }` (Deno, Bun, browsers),
 *     running ./parallel-worker.ts (./parallel-worker.js in the built package);
 *   - none (no global `Worker`, e.g. Node without `spawn`, workerd; or `spawn: null`): the jobs run
 *     in this thread one after another, with args and results structured-cloned exactly as they
 *     would be on the way to and from a worker, so the results are the same.
 * Workers run the caller's kernel backend (`getBackend()`, src/backend.ts) and are terminated before
 * the promise settles, on success and on error alike.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import { getBackend, setBackend, type Backend } from '../backend.ts'
import type { DType, TypedArray } from '../dtype.ts'
import type { Tensor } from '../tensor.ts'
import type { StateDict } from '../nn/module.ts'

/** One job: `await (await import(module))[export](args)`; `args` and the result must be structured-cloneable. */
export interface ParallelJob {
  /** URL of an ES module (absolute; e.g. `new URL('./jobs.ts', import.meta.url).href`). */
  module: string
  /** Name of the exported function to call. */
  export: string
  args: unknown
}

/** What runParallel needs of a worker; a web `Worker` has this shape. */
export interface JobWorker {
  postMessage(message: unknown): void
  onmessage: ((event: { data: unknown }) => void) | null
  onerror: ((event: unknown) => void) | null
  terminate(): unknown
}

/** A factory of workers running the job loop of ./parallel-worker.ts (or an equivalent entry). */
export interface SpawnWorker {
  (): JobWorker
  /** Cores available to this spawner: the default thread count. */
  concurrency?: number
}

export interface RunParallelOptions {
  /** Workers to start (default: `spawn.concurrency`, else `navigator.hardwareConcurrency`, else 2); capped at the job count. */
  threads?: number
  /** Worker factory; default the global `Worker` when there is one; `null` runs the jobs in this thread. */
  spawn?: SpawnWorker | null
}

/** Main thread → worker. */
export interface JobRequest { index: number; module: string; export: string; args: unknown; backend: Backend }
/** Worker → main thread. */
export type JobReply = { index: number; ok: true; result: unknown } | { index: number; ok: false; message: string }

/**
 * Runs independent jobs on worker threads and resolves with their results in job order.
 *
 *   results[j] = await (await import(jobs[j].module))[jobs[j].export](structuredClone(jobs[j].args))
 *
 * At most `threads` workers run at once; each takes the next job when it finishes one. A job that
 * throws (or a worker that dies) rejects with a TesseraError naming the job's index, and every worker
 * is terminated. Results equal those of running the jobs in order in this thread, bit for bit, as
 * long as each job depends only on its args (seed its Generator from them).
 * Reference: https://arxiv.org/abs/2212.04129 (Sec. 3.2, independent module incubation)
 * @example
 *   const job = (i: number) => ({ module: JOBS_URL, export: 'incubateStageJob', args: { ...cfg, stage: i } })
 *   const states = await runParallel([0, 1, 2, 3].map(job), { threads: 2, spawn: nodeSpawn })
 */
export async function runParallel<T = unknown>(jobs: readonly ParallelJob[], opts: RunParallelOptions = {}): Promise<T[]> {
  jobs.forEach((j, i) => {
    if (!j || typeof j.module !== 'string' || typeof j.export !== 'string') {
      throw new TesseraError(`runParallel: job ${i} must be { module: string, export: string, args }, got ${JSON.stringify(j)}`)
    }
  })
  const spawn = opts.spawn === undefined ? webSpawn() : opts.spawn
  const threads = opts.threads ?? spawn?.concurrency ?? hardwareConcurrency() ?? 2
  if (!Number.isInteger(threads) || threads < 1) throw new TesseraError(`runParallel: threads must be a positive integer, got ${threads}`)
  if (jobs.length === 0) return []
  if (!spawn) return runInProcess<T>(jobs)
  return runOnWorkers<T>(jobs, spawn, Math.min(threads, jobs.length))
}

/** The fallback: each job in this thread, in order, args and result structured-cloned as in a worker. */
async function runInProcess<T>(jobs: readonly ParallelJob[]): Promise<T[]> {
  const out: T[] = []
  for (let index = 0; index < jobs.length; index++) {
    const j = jobs[index]
    let args: unknown
    try { args = clone(j.args) } catch (e) { throw jobError(index, j, `its args could not be sent: ${messageOf(e)}`) }
    const reply = await serveJob({ index, module: j.module, export: j.export, args, backend: getBackend() })
    if (!reply.ok) throw jobError(index, j, reply.message)
    try { out.push(clone(reply.result) as T) } catch (e) { throw jobError(index, j, `its result could not be sent back: ${messageOf(e)}`) }
  }
  return out
}

function runOnWorkers<T>(jobs: readonly ParallelJob[], spawn: SpawnWorker, n: number): Promise<T[]> {
  return new Promise<T[]>((resolve, reject) => {
    const results = new Array<T>(jobs.length)
    const workers: JobWorker[] = []
    const slots: { index: number }[] = [] // the job each worker runs
    let next = 0, done = 0, settled = false
    const finish = (err: TesseraError | null): void => {
      if (settled) return
      settled = true
      for (const w of workers) { w.onmessage = null; w.onerror = null }
      // terminate() may return a promise (node:worker_threads); settle once every worker is gone.
      Promise.all(workers.map((w) => Promise.resolve().then(() => w.terminate()).catch(() => {})))
        .then(() => (err ? reject(err) : resolve(results)))
    }
    const feed = (w: JobWorker, slot: { index: number }): void => {
      if (next >= jobs.length) return
      const index = next++, j = jobs[index]
      slot.index = index
      const req: JobRequest = { index, module: j.module, export: j.export, args: j.args, backend: getBackend() }
      try { w.postMessage(req) } catch (e) { finish(jobError(index, j, `its args could not be sent: ${messageOf(e)}`)) }
    }
    try {
      for (let k = 0; k < n; k++) {
        const w = spawn(), slot = { index: -1 }
        workers.push(w); slots.push(slot)
        w.onmessage = (ev) => {
          const reply = ev.data as JobReply
          if (!reply.ok) return finish(jobError(reply.index, jobs[reply.index], reply.message))
          results[reply.index] = reply.result as T
          if (++done === jobs.length) return finish(null)
          feed(w, slot)
        }
        w.onerror = (ev) => finish(jobError(slot.index, jobs[slot.index], `its worker failed: ${messageOf(ev)}`))
      }
    } catch (e) {
      return finish(new TesseraError(`runParallel: could not start a worker: ${messageOf(e)}`))
    }
    workers.forEach((w, k) => feed(w, slots[k]))
  })
}

/**
 * The worker side of one job (used by ./parallel-worker.ts and tessera/node's worker entry): imports
 * the module, calls the export and wraps the outcome; never throws.
 */
export async function serveJob(req: JobRequest): Promise<JobReply> {
  try {
    if (req.backend !== getBackend()) setBackend(req.backend)
    const mod = (await import(req.module)) as Record<string, unknown>
    const fn = mod[req.export]
    if (typeof fn !== 'function') throw new TesseraError(`${req.module} has no exported function ${JSON.stringify(req.export)}`)
    return { index: req.index, ok: true, result: await (fn as (args: unknown) => unknown)(req.args) }
  } catch (e) {
    return { index: req.index, ok: false, message: messageOf(e) }
  }
}

function jobError(index: number, job: ParallelJob | undefined, message: string): TesseraError {
  const name = job ? ` (${job.export} of ${job.module.slice(job.module.lastIndexOf('/') + 1)})` : ''
  return new TesseraError(`runParallel: job ${index}${name} failed: ${message}`)
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`
  const m = (e as { message?: unknown } | null)?.message
  return typeof m === 'string' ? m : String(e)
}

const clone = <V>(v: V): V => (globalThis as unknown as { structuredClone<U>(x: U): U }).structuredClone(v)

function hardwareConcurrency(): number | undefined {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency
  return typeof n === 'number' && n >= 1 ? n : undefined
}

type WebWorkerCtor = new (url: string, opts: { type: 'module' }) => JobWorker

/** The default spawner: the global `Worker` (Deno, Bun, browsers) on ./parallel-worker, or null. */
function webSpawn(): SpawnWorker | null {
  const W = (globalThis as { Worker?: WebWorkerCtor }).Worker
  if (typeof W !== 'function') return null
  const here = (import.meta as { url?: string }).url ?? ''
  // The sibling file (the core's lib has no URL type): .ts when running from source, .js when built.
  const entry = here.slice(0, here.lastIndexOf('/') + 1) + (here.endsWith('.ts') ? 'parallel-worker.ts' : 'parallel-worker.js')
  return () => new W(entry, { type: 'module' })
}

// ---------------------------------------------------------------- plain-data tensors

/** A tensor as structured-cloneable data: a contiguous copy of its elements. */
export interface PackedTensor { shape: number[]; dtype: DType; data: TypedArray }
export type PackedState = Record<string, PackedTensor>

/** A contiguous copy of `t` as plain data (to send to or from a worker). */
export function packTensor(t: Tensor): PackedTensor {
  return { shape: [...t.shape], dtype: t.dtype, data: t.data() }
}

/** The tensor of a PackedTensor (wraps its array, no copy). */
export function unpackTensor(p: PackedTensor): Tensor {
  return fromTypedArray(p.data, p.shape, p.dtype)
}

/** `module.stateDict()` as plain data. */
export function packState(state: StateDict): PackedState {
  return Object.fromEntries(Object.entries(state).map(([k, t]) => [k, packTensor(t)]))
}

/** A state dict (for `loadStateDict`) from packed data. */
export function unpackState(state: PackedState): StateDict {
  return Object.fromEntries(Object.entries(state).map(([k, p]) => [k, unpackTensor(p)]))
}

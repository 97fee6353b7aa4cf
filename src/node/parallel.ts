/**
 * @file `nodeSpawn`: node:worker_threads workers for `train.runParallel` (Node has no global
 * `Worker`, so without it runParallel would run the jobs in the calling thread).
 *
 *   import { train } from 'tessera'
 *   import { nodeSpawn } from 'tessera/node'
 *   const results = await train.runParallel(jobs, { threads: 2, spawn: nodeSpawn })
 *
 * Run from TypeScript source (tests, tsx), each worker first registers tsx's loader so it can import
 * .ts job modules (the trick of threads.ts); built JavaScript needs nothing.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import type { JobWorker, SpawnWorker } from '../train/parallel.ts'

function spawnNodeWorker(): JobWorker {
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(fromSource ? './parallel-worker.ts' : './parallel-worker.js', import.meta.url)
  const entry: URL | string = fromSource
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}) })`
    : url
  const worker = new Worker(entry, { eval: fromSource })
  const w: JobWorker = {
    onmessage: null,
    onerror: null,
    postMessage: (message) => worker.postMessage(message),
    terminate: () => worker.terminate(),
  }
  worker.on('message', (data: unknown) => w.onmessage?.({ data }))
  worker.on('error', (err) => w.onerror?.(err))
  worker.on('exit', (code) => { if (code !== 0) w.onerror?.(new Error(`worker exited with code ${code}`)) })
  return w
}

/** A SpawnWorker on node:worker_threads; `nodeSpawn.concurrency` is os.availableParallelism(). */
export const nodeSpawn: SpawnWorker = Object.assign(spawnNodeWorker, { concurrency: availableParallelism() })

/**
 * @file The worker entry of `train.runParallel` for runtimes with web workers (Deno, Bun, browsers):
 * started as `new Worker(url, { type: 'module' })`, it answers each JobRequest with a JobReply.
 * Runtime-neutral (only the worker global's onmessage/postMessage); Node's entry is
 * src/node/parallel-worker.ts, which calls the same `serveJob`.
 */
import { serveJob, type JobRequest } from './parallel.ts'

interface WorkerScope {
  onmessage: ((event: { data: JobRequest }) => void) | null
  postMessage(message: unknown): void
}

const scope = globalThis as unknown as WorkerScope
scope.onmessage = (event) => {
  void serveJob(event.data).then((reply) => {
    try {
      scope.postMessage(reply)
    } catch (e) {
      // The result could not be cloned (e.g. it holds a Tensor or a function): report that instead.
      scope.postMessage({ index: reply.index, ok: false, message: `its result could not be sent back: ${e instanceof Error ? e.message : String(e)}` })
    }
  })
}

/**
 * @file Node's worker entry of `train.runParallel` (node:worker_threads has no worker global with
 * onmessage/postMessage): answers each JobRequest on parentPort with the core's `serveJob`.
 */
import { parentPort } from 'node:worker_threads'
import { serveJob, type JobRequest } from '../train/parallel.ts'

const port = parentPort!
port.on('message', (req: JobRequest) => {
  void serveJob(req).then((reply) => {
    try {
      port.postMessage(reply)
    } catch (e) {
      // The result could not be cloned (e.g. it holds a Tensor or a function): report that instead.
      port.postMessage({ index: reply.index, ok: false, message: `its result could not be sent back: ${e instanceof Error ? e.message : String(e)}` })
    }
  })
})

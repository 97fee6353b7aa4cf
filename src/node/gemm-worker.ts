/**
 * @file The GEMM pool's worker: waits on its control block, multiplies its rows of the shared
 * operands with the single-thread kernel, and reports back. See threads.ts for the layout.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { gemm } from '../kernels/gemm.ts'
import { CTRL } from './protocol.ts'

const ctrl = workerData.ctrl as Int32Array
const port = parentPort!
let data: Float64Array<ArrayBufferLike> = new Float64Array(0)
let seen = 0
port.postMessage('ready')

const SPIN_MS = 0.2

for (;;) {
  const t0 = performance.now()
  while (Atomics.load(ctrl, CTRL.seq) === seen && performance.now() - t0 < SPIN_MS) { /* spin briefly */ }
  if (Atomics.load(ctrl, CTRL.seq) === seen) Atomics.wait(ctrl, CTRL.seq, seen)
  seen = Atomics.load(ctrl, CTRL.seq)
  if (seen === -1) break
  if (ctrl[CTRL.newBuffer]) {
    const msg = receiveMessageOnPort(port)
    if (msg) data = new Float64Array(msg.message as SharedArrayBuffer)
  }
  const M = ctrl[CTRL.M], N = ctrl[CTRL.N], K = ctrl[CTRL.K], base = ctrl[CTRL.base], R = M - base
  // The shared A and C regions start at row `base`: shift the offsets so absolute row numbers work.
  gemm({ M, N, K, a: data, aOff: -base * K, aRs: K, aCs: 1, b: data, bOff: R * K, bRs: N, bCs: 1, c: data, cOff: R * K + K * N - base * N },
    ctrl[CTRL.rowStart], ctrl[CTRL.rowEnd])
  Atomics.store(ctrl, CTRL.done, seen)
  Atomics.notify(ctrl, CTRL.done)
}

/**
 * @file The GEMM pool's worker: waits on its control block, multiplies its rows of the shared
 * operands with the single-thread kernel, and reports back. See threads.ts for the layout.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads'
import { gemm } from '../kernels/gemm.ts'
import { gemmWasm } from '../wasm/gemm.ts'
import { CTRL, KERNEL } from './protocol.ts'

const ctrl = workerData.ctrl as Int32Array
const port = parentPort!
let buffer: SharedArrayBuffer = new SharedArrayBuffer(8)
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
    if (msg) buffer = msg.message as SharedArrayBuffer
  }
  const wasm = ctrl[CTRL.kernel] === KERNEL.wasm
  const data = wasm ? new Float32Array(buffer) : new Float64Array(buffer)
  const M = ctrl[CTRL.M], N = ctrl[CTRL.N], K = ctrl[CTRL.K], base = ctrl[CTRL.base], R = M - base
  // The shared A and C regions start at row `base`: shift the offsets so absolute row numbers work.
  const kernel = wasm ? gemmWasm : gemm
  const started = performance.now()
  try {
    kernel({ M, N, K, a: data, aOff: -base * K, aRs: K, aCs: 1, b: data, bOff: R * K, bRs: N, bCs: 1, c: data, cOff: R * K + K * N - base * N },
      ctrl[CTRL.rowStart], ctrl[CTRL.rowEnd])
    ctrl[CTRL.failed] = 0
    ctrl[CTRL.micros] = Math.round((performance.now() - started) * 1000)
  } catch (e) {
    console.error('gemm worker:', e)
    ctrl[CTRL.failed] = 1
  }
  Atomics.store(ctrl, CTRL.done, seen)
  Atomics.notify(ctrl, CTRL.done)
}

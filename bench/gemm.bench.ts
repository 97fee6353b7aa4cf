/** @file Dense GEMM and matvec: tuned kernel vs its Ref oracle over a size ladder, and with two threads. */
import { Generator, kernels, randn, type Tensor } from '../src/index.ts'
import { gemmRef } from '../src/kernels/gemm.ts'
import { startThreads, stopThreads } from '../src/node/index.ts'
import { wasmImpl, type Workload } from './harness.ts'
import { setBackend } from '../src/backend.ts'

const square = (n: number, seed: number): [Tensor, Tensor] => {
  const g = new Generator(seed)
  return [randn([n, n], { generator: g }), randn([n, n], { generator: g })]
}

/** Runs a matmul with kernels.gemm temporarily set to the Ref oracle. */
function withRef(fn: () => unknown): () => unknown {
  return () => {
    const tuned = kernels.gemm
    kernels.gemm = gemmRef
    try { return fn() } finally { kernels.gemm = tuned }
  }
}

/**
 * Starts the pool and runs the workload a few times, so that the worker's JIT has compiled the
 * kernel for the shared float64 operands before timing (tinybench's warm-up is time-boxed and
 * takes only one or two calls of a 400 ms workload).
 */
export async function warmThreads(fn: () => unknown): Promise<void> {
  await startThreads(2)
  for (let i = 0; i < 4; i++) fn()
}

export function gemmWorkloads({ quick }: { quick: boolean }): Workload[] {
  const ladder = quick ? [64, 256] : [64, 128, 256, 512, 1024]
  const out: Workload[] = ladder.map((n) => {
    const [a, b] = square(n, n)
    const impls: Workload['impls'] = []
    if (n <= 512) impls.push({ label: 'tessera (ref)', fn: withRef(() => a.matmul(b)) })
    impls.push({ label: 'tessera', fn: () => a.matmul(b) })
    impls.push(wasmImpl(() => a.matmul(b)))
    if (n >= 128) impls.push({ label: 'tessera 2 threads', setup: () => warmThreads(() => a.matmul(b)), teardown: () => stopThreads(), fn: () => a.matmul(b) })
    if (n >= 128) {
      impls.push({
        label: 'tessera wasm 2 threads',
        setup: () => { setBackend('wasm'); return warmThreads(() => a.matmul(b)) },
        teardown: async () => { await stopThreads(); setBackend('js') },
        fn: () => a.matmul(b),
      })
    }
    return { key: `sgemm-${n}`, title: `sgemm ${n}x${n}`, flops: 2 * n ** 3, impls }
  })
  const n = quick ? 1024 : 4096
  const g = new Generator(7)
  const A = randn([n, n], { generator: g }), x = randn([n], { generator: g })
  out.push({ key: `matvec-${n}`, title: `matvec ${n}x${n}`, flops: 2 * n * n, impls: [{ label: 'tessera', fn: () => A.matmul(x) }] })
  return out
}

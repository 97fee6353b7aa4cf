/** @file Dense GEMM and matvec: tuned kernel vs its Ref oracle over a size ladder, and with two threads. */
import { Generator, kernels, randn, type Tensor } from '../src/index.ts'
import { gemmRef } from '../src/kernels/gemm.ts'
import { startThreads, stopThreads } from '../src/node/index.ts'
import type { Workload } from './harness.ts'

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

export function gemmWorkloads({ quick }: { quick: boolean }): Workload[] {
  const ladder = quick ? [64, 256] : [64, 128, 256, 512, 1024]
  const out: Workload[] = ladder.map((n) => {
    const [a, b] = square(n, n)
    const impls: Workload['impls'] = []
    if (n <= 512) impls.push({ label: 'tessera (ref)', fn: withRef(() => a.matmul(b)) })
    impls.push({ label: 'tessera', fn: () => a.matmul(b) })
    if (n >= 128) impls.push({ label: 'tessera 2 threads', setup: () => startThreads(2), teardown: () => stopThreads(), fn: () => a.matmul(b) })
    return { key: `sgemm-${n}`, title: `sgemm ${n}x${n}`, flops: 2 * n ** 3, impls }
  })
  const n = quick ? 1024 : 4096
  const g = new Generator(7)
  const A = randn([n, n], { generator: g }), x = randn([n], { generator: g })
  out.push({ key: `matvec-${n}`, title: `matvec ${n}x${n}`, flops: 2 * n * n, impls: [{ label: 'tessera', fn: () => A.matmul(x) }] })
  return out
}

/**
 * @file Sparse 1x1 convolution (Elsen et al. 2020 "Fast Sparse ConvNets", sheet 27; SparseByteNN
 * 1xN groups, sheet 53) against tessera's own dense path on the same shape: the raw dense kernel
 * (kernels.gemm, W (Cout, Cin) x X (Cin, HW)) as the baseline, F.conv2d 1x1, the raw `spmm` kernel
 * with unstructured (nr = 1) and 4-row block (nr = 4) patterns, and the differentiable
 * `sparseConv1x1` (tensor overhead included). Cin = Cout = 128, batch 1, NCHW, float32, sparsity
 * 50/70/80/90/95 % (and 20/30/40 % in full runs; magnitude pruning of random normal weights), 16x16 and 56x56 pixels.
 * FLOPs are the dense count 2 Cout Cin HW, so GFLOPS of a sparse row are "effective".
 */
import { F, Generator, randn, type Tensor } from '../src/index.ts'
import { gemm } from '../src/kernels/gemm.ts'
import { blockMagnitudeMask } from '../src/kernels/sparse.ts'
import { spmm } from '../src/kernels/sparse-spmm.ts'
import { packDeltaCSR, sparseConv1x1, type PackedSparse } from '../src/ops/sparse.ts'
import { fromTypedArray } from '../src/creation.ts'
import type { Workload } from './harness.ts'

export const SPARSITIES = [0.5, 0.7, 0.8, 0.9, 0.95]

interface SparseCase { C: number; H: number; sparsity: number; x: Tensor; w: Tensor; packed1: PackedSparse; packed4: PackedSparse }

/** Deterministic inputs of workload `sparse1x1-{C}-{H}-{percent}`. */
export function sparseCase(C: number, H: number, sparsity: number): SparseCase {
  const g = new Generator(127 * C + H)
  const x = randn([1, C, H, H], { generator: g }) // (1, Cin, H, W)
  const w = randn([C, C, 1, 1], { generator: g }).mul(1 / Math.sqrt(C)) // (Cout, Cin, 1, 1)
  const wd = w.data()
  const mask = (rows: number): Tensor => fromTypedArray(blockMagnitudeMask(wd, C, C, sparsity, { rows, score: 'l2' }), [C, C, 1, 1], 'bool')
  const m1 = mask(1), m4 = mask(4)
  return { C, H, sparsity, x, w: w.mul(m1.to('float32')), packed1: packDeltaCSR(w, { nr: 1, mask: m1 }), packed4: packDeltaCSR(w, { nr: 4, mask: m4 }) }
}

function workload(C: number, H: number, sparsity: number): Workload {
  const c = sparseCase(C, H, sparsity)
  const P = H * H
  const xs = c.x.storage, ws = c.w.storage
  const yDense = new Float32Array(C * P) // (Cout, HW)
  const ySparse = new Float32Array(C * P) // (Cout, HW)
  const args = { N: 1, P, min: -Infinity, max: Infinity }
  const v1 = c.packed1.values.storage, v4 = c.packed4.values.storage
  return {
    key: `sparse1x1-${C}-${H}-${Math.round(sparsity * 100)}`,
    title: `1x1 conv ${C}->${C} on ${H}x${H}, ${Math.round(sparsity * 100)}% sparse`,
    flops: 2 * C * C * P,
    impls: [
      { label: 'dense gemm', fn: () => { gemm({ M: C, N: P, K: C, a: ws, aOff: 0, aRs: C, aCs: 1, b: xs, bOff: 0, bRs: P, bCs: 1, c: yDense, cOff: 0 }); return yDense } },
      { label: 'dense F.conv2d', fn: () => F.conv2d(c.x, c.w) },
      { label: 'sparse spmm nr=1', fn: () => { spmm(ySparse, xs, 0, c.packed1.pattern, v1, null, args); return ySparse } },
      { label: 'sparse spmm nr=4', fn: () => { spmm(ySparse, xs, 0, c.packed4.pattern, v4, null, args); return ySparse } },
      { label: 'sparseConv1x1 nr=1', fn: () => sparseConv1x1(c.x, c.packed1) },
    ],
  }
}

/** Full runs add 20-40 % to locate the crossover with the dense kernel (below 50 % on this host). */
export const CROSSOVER_SPARSITIES = [0.2, 0.3, 0.4]

export function sparseWorkloads({ quick }: { quick: boolean }): Workload[] {
  const out: Workload[] = []
  const levels = quick ? SPARSITIES : [...CROSSOVER_SPARSITIES, ...SPARSITIES]
  for (const H of [16, 56]) for (const s of levels) out.push(workload(128, H, s))
  return out
}

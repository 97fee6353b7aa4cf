/**
 * @file Scan kernels: Mamba's selective scan (https://arxiv.org/abs/2312.00752), fused kernel vs
 * the Ref loop, forward and forward + backward, over L = 256..4096 (quick: 256, 1024); and causal
 * long convolution (S4D convolution mode), FFT vs direct, over L = 32..4096 to locate the
 * crossover used by `causalConv1dLong` (src/ops/fft.ts, FFT_CONV_MIN_KERNEL).
 * Deterministic inputs (seeded), float32 tensors; B = 1, D = 16, N = 16; conv B = 1, D = 16, Lk = L.
 * NOTE: both forward + backward rows run the same fused backward (the Ref op only swaps the forward
 * loop); the composite-autograd oracle is far slower (O(L) graph nodes) and is not benchmarked.
 */
import { Generator, randn, type Tensor } from '../src/index.ts'
import { selectiveScan, selectiveScanRef } from '../src/ops/scan.ts'
import { causalConv1dLong } from '../src/ops/fft.ts'
import type { Workload } from './harness.ts'

interface ScanCase { u: Tensor; delta: Tensor; A: Tensor; B: Tensor; C: Tensor; D: Tensor }

function scanCase(L: number, requiresGrad = false): ScanCase {
  const g = new Generator(L)
  const [Bt, D, N] = [1, 16, 16]
  const c = {
    u: randn([Bt, D, L], { generator: g }), // (B, D, L)
    delta: randn([Bt, D, L], { generator: g }).mul(0.5).sub(2), // (B, D, L)
    A: randn([D, N], { generator: g }).abs().add(0.1).neg(), // (D, N)
    B: randn([Bt, N, L], { generator: g }), C: randn([Bt, N, L], { generator: g }), // (B, N, L)
    D: randn([D], { generator: g }), // (D,)
  }
  if (requiresGrad) for (const t of Object.values(c)) t.requiresGrad_()
  return c
}

const scanFlops = (L: number): number => 1 * 16 * L * 16 * 6 // ~6 flops per (b, d, t, n) plus an exp

function scanWorkload(L: number, train: boolean): Workload {
  const c = scanCase(L, train)
  const run = (fn: typeof selectiveScan) => () => {
    const y = fn(c.u, c.delta, c.A, c.B, c.C, { D: c.D, deltaSoftplus: true })
    if (train) { y.sum().backward(); for (const t of Object.values(c)) t.grad = null }
    return y
  }
  return {
    key: `selective-scan-${L}${train ? '-train' : ''}`,
    title: `selective scan B=1 D=16 N=16 L=${L}${train ? ', forward + backward' : ''}`,
    flops: (train ? 4 : 1) * scanFlops(L),
    impls: [{ label: 'tessera (ref)', fn: run(selectiveScanRef) }, { label: 'tessera', fn: run(selectiveScan) }],
  }
}

function convWorkload(L: number): Workload {
  const g = new Generator(7 + L)
  const u = randn([1, 16, L], { generator: g }), k = randn([16, L], { generator: g }) // (B, D, L), (D, L)
  return {
    key: `causal-conv-${L}`,
    title: `causal long conv B=1 D=16 L=Lk=${L}`,
    flops: 16 * L * L,
    impls: [{ label: 'direct', fn: () => causalConv1dLong(u, k, 'direct') }, { label: 'fft', fn: () => causalConv1dLong(u, k, 'fft') }],
  }
}

export function scanWorkloads({ quick }: { quick: boolean }): Workload[] {
  const Ls = quick ? [256, 1024] : [256, 512, 1024, 2048, 4096]
  const convLs = quick ? [32, 64, 128, 1024] : [16, 32, 64, 128, 256, 1024, 4096]
  return [...Ls.map((L) => scanWorkload(L, false)), ...Ls.map((L) => scanWorkload(L, true)), ...convLs.map(convWorkload)]
}

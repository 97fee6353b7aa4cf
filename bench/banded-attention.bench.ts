/**
 * @file Banded (sliding-window) attention, forward, paper 59 (Longformer attention,
 * https://arxiv.org/abs/2004.05150): the O(L w E) banded kernel against dense attention with the
 * equivalent bool mask (the fused FlashAttention-2 SDPA, which still scores every (i, j) pair), over
 * L = 256 ... 4096 with a fixed window w = 64 each side. Shapes (B, H, L, E) = (1, 2, L, 32)
 * (quick: L = 256, 1024). Throughput counts the useful (banded) flops for both implementations.
 */
import { F, Generator, randn } from '../src/index.ts'
import { bandedAttention, bandedMask } from '../src/nn/arch/59-budgetlongformer.ts'
import type { Workload } from './harness.ts'

export function bandedAttentionWorkloads({ quick }: { quick: boolean }): Workload[] {
  const H = 2, E = 32, w = 64
  return (quick ? [256, 1024] : [256, 512, 1024, 2048, 4096]).map((L) => {
    const g = new Generator(59 + L)
    const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, E], { generator: g })) // (1, H, L, E) each
    const mask = bandedMask(L, w) // (L, L) bool
    const pairs = L * (2 * w + 1) - w * (w + 1)
    return {
      key: `banded-attention-${L}`,
      title: `banded attention (1,${H},${L},${E}) w=${w}`,
      flops: 2 * 2 * H * pairs * E, // q.k and p.v multiply-adds over the band
      impls: [
        { label: 'tessera dense masked (fused SDPA)', fn: () => F.scaledDotProductAttention(q, k, v, { attnMask: mask }) },
        { label: 'tessera banded', fn: () => bandedAttention(q, k, v, { window: w }) },
      ],
    }
  })
}

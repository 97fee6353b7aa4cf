/**
 * @file Scaled dot-product attention, forward: the fused FlashAttention-2 kernel against the
 * composite (matmul + softmax + matmul) Ref it replaces, with and without the causal mask.
 * Shapes (B, H, L, E) = (1, 8, 512, 64) with L = S (quick: L = S = 256).
 */
import { F, Generator, randn } from '../src/index.ts'
import type { Workload } from './harness.ts'

export function attentionWorkloads({ quick }: { quick: boolean }): Workload[] {
  const g = new Generator(11)
  const H = 8, L = quick ? 256 : 512, E = 64
  const [q, k, v] = [0, 1, 2].map(() => randn([1, H, L, E], { generator: g })) // (1, H, L, E) each
  // multiply-adds of q k^T and P v (halved by the causal mask), 2 flops each
  const flops = 2 * 2 * H * L * L * E
  return [false, true].map((isCausal) => ({
    key: isCausal ? 'attention-causal' : 'attention',
    title: `attention (1,${H},${L},${E})${isCausal ? ' causal' : ''}`,
    flops: isCausal ? flops / 2 : flops,
    impls: [
      { label: 'tessera composite ref', fn: () => F.scaledDotProductAttentionRef(q, k, v, { isCausal }) },
      { label: 'tessera fused', fn: () => F.scaledDotProductAttention(q, k, v, { isCausal }) },
    ],
  }))
}

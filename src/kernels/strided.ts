/**
 * @file The strided-loop driver every elementwise kernel shares (after candle's `strided_blocks`).
 *
 * A call describes K operands over one logical shape: operand k lives at `offsets[k]` with
 * `strides[k]`. The driver coalesces dims, then calls `row(pos, n)` once per innermost row, where
 * `pos[k]` is operand k's start and the row's element stride is `innerStrides[k]`. Contiguous
 * operands become a single row, so the per-element loops inside `row` carry no index arithmetic.
 */
import { coalesce, type Shape } from '../shape.ts'

export function forEachRow(
  shape: Shape,
  strides: readonly Shape[],
  offsets: readonly number[],
  row: (pos: Int32Array | number[], n: number, inner: number[]) => void,
): void {
  for (const d of shape) if (d === 0) return
  const c = coalesce(shape, strides)
  const rank = c.shape.length
  const K = strides.length
  const inner = c.strides.map((s) => s[rank - 1])
  const n = c.shape[rank - 1]
  const pos = offsets.slice()
  if (rank === 1) {
    row(pos, n, inner)
    return
  }
  // Odometer over the outer dims (all but the last), moving each operand's position incrementally.
  const outer = c.shape.slice(0, rank - 1)
  const idx = new Array<number>(rank - 1).fill(0)
  for (;;) {
    row(pos, n, inner)
    let d = rank - 2
    for (; d >= 0; d--) {
      idx[d]++
      for (let k = 0; k < K; k++) pos[k] += c.strides[k][d]
      if (idx[d] < outer[d]) break
      for (let k = 0; k < K; k++) pos[k] -= c.strides[k][d] * outer[d]
      idx[d] = 0
    }
    if (d < 0) return
  }
}

/**
 * @file The strided-loop driver every elementwise kernel shares (after candle's `strided_blocks`).
 *
 * A call describes K operands over one logical shape: operand k lives at `offsets[k]` with
 * `strides[k]`. The driver coalesces dims, then calls `row(pos, n)` once per innermost row, where
 * `pos[k]` is operand k's start and the row's element stride is `innerStrides[k]`. Contiguous
 * operands become a single row, so the per-element loops inside `row` carry no index arithmetic.
 */
import { coalesce, type Shape } from '../shape.ts'

/**
 * The single stride that walks a layout in row-major order, if there is one: 1 for a contiguous
 * layout, 0 when every element is the same storage slot (a broadcast scalar), otherwise -1.
 * Lets kernels run one flat loop with no driver and no allocation (the tiny-op fast path).
 */
export function flatStride(shape: Shape, strides: Shape): number {
  let allZero = true
  let expected = 1
  let contiguous = true
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]
    if (d === 1) continue
    if (strides[i] !== 0) allZero = false
    if (strides[i] !== expected) contiguous = false
    expected *= d
  }
  return contiguous ? 1 : allZero ? 0 : -1
}

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

/**
 * @file Matrix product with NumPy semantics: 1-D operands are promoted to a row or column and the
 * added dim removed again, batch dims broadcast, transposed operands are read through their strides
 * without a copy.
 */
import { TesseraError, check, fmtShape } from '../errors.ts'
import { broadcastShapes, broadcastStrides, numel } from '../shape.ts'
import { isFloating, promoteTypes, type DType } from '../dtype.ts'
import { gemmInt } from '../kernels/gemm.ts'
import { kernels } from '../kernels/registry.ts'
import { forEachRow } from '../kernels/strided.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, type OpDef } from './op.ts'
import { profileState } from '../profile-state.ts'

/** (..., M, K) @ (..., K, N) -> (..., M, N) over broadcast batch dims; both operands rank >= 2. */
export const matmulOp: OpDef<{ dtype: DType }> = {
  name: 'matmul',
  forward(ctx, [a, b], { dtype }) {
    const M = a.shape[a.ndim - 2], K = a.shape[a.ndim - 1], N = b.shape[b.ndim - 1]
    const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2))
    const out = emptyTensor([...batch, M, N], dtype)
    if (profileState.counting > 0) profileState.macs += numel(batch) * M * N * K
    const aBatch = broadcastStrides(a.shape.slice(0, -2), a.strides.slice(0, -2), batch)
    const bBatch = broadcastStrides(b.shape.slice(0, -2), b.strides.slice(0, -2), batch)
    const base = { M, N, K, a: a.storage, aRs: a.strides[a.ndim - 2], aCs: a.strides[a.ndim - 1],
      b: b.storage, bRs: b.strides[b.ndim - 2], bCs: b.strides[b.ndim - 1], c: out.storage }
    // Integer products wrap modulo 2^32 (float64 accumulation would lose low bits past 2^53).
    const gemmFor = isFloating(dtype) ? kernels.gemm : gemmInt
    const batchShape = batch.length > 0 ? batch : [1]
    const cBatch = batch.length > 0 ? batch.map((_, i) => numel(batch.slice(i + 1)) * M * N) : [0]
    forEachRow(batchShape, [aBatch.length ? aBatch : [0], bBatch.length ? bBatch : [0], cBatch], [a.offset, b.offset, 0], (pos, n, inner) => {
      for (let i = 0; i < n; i++) {
        gemmFor({ ...base, aOff: pos[0] + i * inner[0], bOff: pos[1] + i * inner[1], cOff: pos[2] + i * inner[2] })
      }
    })
    ctx.save(a, b)
    return out
  },
  backward({ saved: [a, b], needsGrad }, g) {
    return [needsGrad[0] ? g.matmul(b.mT) : null, needsGrad[1] ? a.mT.matmul(g) : null]
  },
}

export function matmul(a: Tensor, b: Tensor): Tensor {
  check(a instanceof Tensor && b instanceof Tensor, 'matmul', () => 'both operands must be tensors')
  if (a.ndim === 0 || b.ndim === 0) {
    throw new TesseraError(`matmul: both arguments need at least 1 dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`)
  }
  const dtype = promoteTypes(a.dtype, b.dtype)
  check(dtype !== 'bool', 'matmul', () => 'not defined for bool tensors')
  const k1 = a.shape[a.ndim - 1]
  const k2 = b.shape[b.ndim === 1 ? 0 : b.ndim - 2]
  if (k1 !== k2) throw new TesseraError(`matmul: inner dimensions differ: a is ${fmtShape(a.shape)}, b is ${fmtShape(b.shape)}`)
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b
  let out = apply(matmulOp, [a2, b2], { dtype })
  if (a.ndim === 1) out = out.squeeze(-2)
  if (b.ndim === 1) out = out.squeeze(-1)
  return out
}

/**
 * @file The table of every differentiable primitive. Its type lists each op name once, so `tsc`
 * reports an op that is declared but missing here; the gradcheck suite iterates this table and
 * fails for an op without a gradcheck case.
 */
import type { OpDef } from './op.ts'
import { binaryOps, unaryOps, whereOp } from './elementwise.ts'
import { cumsumOp, reduceOps } from './reduce.ts'
import { castOp, copyOp, expandOp, permuteOp, reshapeOp, sliceOp, sliceScatterOp } from './view.ts'
import { matmulOp } from './matmul.ts'
import { softmaxOps } from './softmax.ts'
import { catOp, flipOp, gatherOp, indexOps, padOp, scatterOps } from './indexing.ts'
import { convOps } from './conv.ts'
import { poolOps } from './pool.ts'
import { normOps } from './norm.ts'
import { attentionOp } from './attention.ts'
import { selectiveScanOp } from './scan.ts'
import { causalConvOp } from './fft.ts'
import { fakeQuantOp, lsqOp, lsqPlusOp } from './quant.ts'
import { sparseOps } from './sparse.ts'

export type OpName =
  | keyof typeof unaryOps | keyof typeof binaryOps | 'where'
  | keyof typeof reduceOps | 'cumsum'
  | 'reshape' | 'permute' | 'expand' | 'slice' | 'sliceScatter' | 'copy' | 'cast'
  | 'matmul' | keyof typeof softmaxOps
  | 'gather' | keyof typeof scatterOps | keyof typeof indexOps | 'cat' | 'pad' | 'flip'
  | keyof typeof convOps | keyof typeof poolOps
  | keyof typeof normOps | 'scaledDotProductAttention'
  | 'selectiveScan' | 'causalConv1dLong' | 'fakeQuant' | 'lsq' | 'lsqPlus'
  | keyof typeof sparseOps

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const OPS: { readonly [K in OpName]: OpDef<any> } = {
  ...unaryOps, ...binaryOps, where: whereOp,
  ...reduceOps, cumsum: cumsumOp,
  reshape: reshapeOp, permute: permuteOp, expand: expandOp, slice: sliceOp, sliceScatter: sliceScatterOp, copy: copyOp, cast: castOp,
  matmul: matmulOp, ...softmaxOps,
  gather: gatherOp, ...scatterOps, ...indexOps, cat: catOp, pad: padOp, flip: flipOp,
  ...convOps, ...poolOps,
  ...normOps, scaledDotProductAttention: attentionOp,
  selectiveScan: selectiveScanOp, causalConv1dLong: causalConvOp, fakeQuant: fakeQuantOp, lsq: lsqOp, lsqPlus: lsqPlusOp,
  ...sparseOps,
}

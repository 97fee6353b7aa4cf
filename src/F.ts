/**
 * @file The `F` namespace: functional forms, named as in `torch.nn.functional` (camelCase).
 * Losses (`F.crossEntropy`, `F.mseLoss`, ...) live in src/nn/losses.ts and are re-exported here.
 */
import type { Tensor } from './tensor.ts'
import { floatUnary } from './ops/elementwise.ts'

export { gelu, leakyRelu, elu, softplus, clamp, where } from './ops/elementwise.ts'
export { softmax, logSoftmax } from './ops/softmax.ts'
export { logsumexp } from './ops/reduce.ts'
export { matmul } from './ops/matmul.ts'
export { pad, cat, gather, scatter, scatterAdd, indexSelect, indexAdd, flip } from './ops/indexing.ts'
export { linear, dropout, maskedFill, stack, split, chunk, tril, triu, roll, repeat, norm, narrow, select } from './functional.ts'
export { conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, unfold, fold } from './conv.ts'
export {
  maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveMaxPool1d, adaptiveMaxPool2d,
} from './ops/pool.ts'
export {
  crossEntropy, nllLoss, mseLoss, l1Loss, huberLoss, smoothL1Loss, binaryCrossEntropy, binaryCrossEntropyWithLogits, bceWithLogits,
  klDiv, cosineSimilarity, cosineEmbeddingLoss,
} from './nn/losses.ts'
export { embedding, bilinear } from './nn/embedding.ts'
export { layerNorm, rmsNorm, groupNorm, batchNorm } from './ops/norm.ts'
export { scaledDotProductAttention, scaledDotProductAttentionRef } from './ops/attention.ts'

export { selectiveScan, selectiveScanRef } from './ops/scan.ts'
export { causalConv1dLong, fftConv } from './ops/fft.ts'
export { fakeQuant, lsq, lsqPlus } from './ops/quant.ts'
export { sparseConv1x1, sparseConv3x3, sparseMatmulCHW } from './ops/sparse.ts'
export const relu = (x: Tensor): Tensor => x.relu()
export const sigmoid = (x: Tensor): Tensor => floatUnary('sigmoid', x)
export const tanh = (x: Tensor): Tensor => floatUnary('tanh', x)
export const silu = (x: Tensor): Tensor => floatUnary('silu', x)
export { urpeAttention } from './nn/arch/70-urpe.ts'
export { bandedAttention, type BandedAttentionOptions } from './nn/arch/59-budgetlongformer.ts'
export { windowAttention } from './nn/window-attention.ts'
export { weightedCrossEntropy } from './nn/arch/47-efficientnet-breast-tumor.ts'
export { instanceStd, groupStd } from './nn/arch/65-evonorm.ts'

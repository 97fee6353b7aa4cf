/**
 * @file tessera's public API. A PyTorch user should feel at home:
 *   import { tensor, randn, F, noGrad } from 'tessera'
 *   const w = randn([3, 2]).requiresGrad_()
 *   tensor([[1, 2, 3]]).matmul(w).relu().sum().backward()
 */
export { Tensor, Storage } from './tensor.ts'
export { TesseraError } from './errors.ts'
export type { DType, TypedArray } from './dtype.ts'
export { promoteTypes, resultType, isFloating } from './dtype.ts'
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from './rng.ts'
export {
  tensor, fromTypedArray, zeros, ones, full, empty, arange, linspace, eye, rand, randn, randint,
  zerosLike, onesLike, fullLike, randLike, randnLike, type TensorOptions, type RandomOptions, type NestedArray,
} from './creation.ts'
export { noGrad, enableGrad, isGradEnabled, setGradEnabled, type BackwardOptions, type TensorHook } from './autograd.ts'
export { gradcheck, gradcheckReport, type GradcheckOptions, type GradcheckResult } from './gradcheck.ts'
export { customOp, type CustomFunction } from './custom.ts'
export {
  add, sub, mul, div, pow, maximum, minimum, where, neg, clamp, gelu, leakyRelu, elu, softplus,
  logicalAnd, logicalOr, logicalXor, logicalNot,
} from './ops/elementwise.ts'
export { sum, mean, prod, amax, amin, logsumexp, cumsum } from './ops/reduce.ts'
export { matmul } from './ops/matmul.ts'
export { softmax, logSoftmax } from './ops/softmax.ts'
export { cat, gather, scatter, scatterAdd, indexSelect, indexAdd, pad, flip } from './ops/indexing.ts'
export { stack, split, chunk, tril, triu, roll, repeat, linear, dropout, narrow, select, squeeze, unsqueeze, flatten } from './functional.ts'
export {
  conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d,
  type ConvOptions, type ConvTransposeOptions, type UnfoldOptions, type FoldOptions,
} from './conv.ts'
export {
  maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool1d, adaptiveAvgPool2d, adaptiveMaxPool1d, adaptiveMaxPool2d,
  type MaxPoolOptions, type AvgPoolOptions,
} from './ops/pool.ts'
export { layerNorm, rmsNorm, groupNorm, batchNorm, type BatchNormOptions } from './ops/norm.ts'
export { scaledDotProductAttention, scaledDotProductAttentionRef, type AttentionOptions } from './ops/attention.ts'
export { kernels, defaultKernels, type KernelTable } from './kernels/registry.ts'
export { setBackend, getBackend, type Backend } from './backend.ts'
export { wasmFeatures, provideModules, type WasmFeatures } from './wasm/runtime.ts'
export { WASM_MODULES } from './wasm/modules.ts'
export * as F from './F.ts'
export * as nn from './nn/index.ts'
export * as io from './io/index.ts'
export * as data from './data/index.ts'
export * as optim from './optim/index.ts'
export * as linalg from './linalg/index.ts'
export * as ssm from './ssm/index.ts'
export { selectiveScan, selectiveScanRef, type SelectiveScanOptions } from './ops/scan.ts'
export { causalConv1dLong, fftConv } from './ops/fft.ts'
export * as quant from './quant/index.ts'
export { packDeltaCSR, unpackDeltaCSR, sparseMatmulCHW, sparseConv1x1, sparseConv3x3, type PackedSparse, type SparseOptions } from './ops/sparse.ts'
export { blockMagnitudeMask, type SparsePattern, type BlockMaskOptions } from './kernels/sparse.ts'
export * as memory from './memory.ts'
export * as peft from './peft/index.ts'
export * as generate from './generate/index.ts'
export * as rl from './rl/index.ts'
export * as dataflow from './dataflow/index.ts'
export * as co from './co/index.ts'
export * as adapters from './adapters/index.ts'
export * as models from './models/index.ts'
export * as dsf from './dsf/index.ts'
export * as dist from './distributed/index.ts'
export * as compress from './compress/index.ts'
export * as pretrain from './pretrain/index.ts'
export * as metrics from './metrics/index.ts'
export * as profile from './profile.ts'
export * as ensemble from './ensemble/index.ts'
export * as uncertainty from './uncertainty/index.ts'
export * as stitch from './stitch/index.ts'
export * as train from './train/index.ts'
export * as scale from './scale/index.ts'
export * as stats from './stats/index.ts'
export * as scaling from './scaling/index.ts'
export * as latency from './latency/index.ts'
export * as nas from './nas/index.ts'

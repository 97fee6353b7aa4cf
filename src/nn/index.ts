/** @file The `nn` namespace: modules and layers. */
export { Module, type ForwardHook, type StateDict, type LoadResult } from './module.ts'
export { Parameter } from './parameter.ts'
export { Sequential, ModuleList, ModuleDict } from './containers.ts'
export { Linear, type LinearOptions } from './linear.ts'
export * as init from './init.ts'
export {
  ReLU, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softplus, Softmax, LogSoftmax, Identity, Dropout, Flatten, Unflatten,
  type DropoutOptions,
} from './activation.ts'
export { Embedding, Bilinear, embedding, bilinear, type EmbeddingOptions, type BilinearOptions } from './embedding.ts'
export { RNNCell, GRUCell, LSTMCell, RNN, GRU, LSTM, type CellOptions, type RNNOptions } from './rnn.ts'
export {
  SinusoidalPositionalEncoding, LearnedPositionalEmbedding, RotaryEmbedding, applyRotaryEmbedding, sinusoidalTable,
  type RotaryOptions, type LearnedPositionalOptions,
} from './positional.ts'
export * as losses from './losses.ts'
export {
  CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, MSELoss, L1Loss, HuberLoss, SmoothL1Loss, KLDivLoss, CosineEmbeddingLoss,
  CosineSimilarity,
} from './loss-modules.ts'
export {
  Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, type ConvModuleOptions, type ConvTransposeModuleOptions,
} from './conv.ts'
export { MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d } from './pool.ts'
export {
  BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm, RMSNorm, GroupNorm,
  type BatchNormModuleOptions, type LayerNormOptions, type RMSNormOptions, type GroupNormOptions,
} from './norm.ts'
export {
  MultiheadAttention, TransformerEncoderLayer, type MultiheadAttentionOptions, type AttentionCall, type TransformerEncoderLayerOptions,
} from './attention.ts'
export { SparseConv1x1, SparseLinear, type SparseFromDenseOptions } from './sparse.ts'

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
export {
  DropPath, LayerScale, SqueezeExcite, ConvBNAct, MBConv, makeDivisible, activate, hardswish, hardsigmoid,
  type Activation, type LayerScaleOptions, type SqueezeExciteOptions, type ConvBNActOptions, type MBConvOptions,
} from './blocks.ts'
// Layers and blocks of the papers (src/nn/arch/, one paper per file).
export { S4DLayer, S4DModel, type S4DLayerOptions, type S4DModelOptions } from './arch/41-s4d.ts'
export { ES2D, EVSSBlock, BiAttn, InvertedResidual, PatchMerging2D, type ES2DOptions, type EVSSOptions } from './arch/71-efficientvmamba.ts'
export { DSF, SoftmaxAttention, type SoftmaxAttentionOptions } from './arch/33-dsf.ts'
export {
  LinearAttention, NormalizedAttention, S6, SSD, QLSTM, RGLRU, type AttentionDSFOptions, type S6Options, type SSDOptions, type RGLRUOptions,
} from './arch/33-dsf-layers.ts'
export { UnifiedNorm, foldNorm, unifiedNormBatchRef, type UnifiedNormOptions } from './arch/43-unified-normalization.ts'
export { LadderTransformer, LadderAttention, LadderMLP, LadderLayer, type LadderTransformerOptions, type SubLayer } from './arch/76-ladder-residual.ts'
export {
  LED, CED, FullAttention, LinformerAttention, lowRankLinear, attentionFlops,
  type CEDOptions, type LinformerOptions, type AttentionOptions as LowRankAttentionOptions,
} from './arch/21-greenformers.ts'
export {
  Adapter, ReversibleCoupling, ReversibleStack, AdaptedEncoderLayer, AttentionSubBlock, FeedForwardSubBlock, type AdapterOptions, type CouplingOptions,
} from './arch/55-meft.ts'
export {
  DynamicConv1d, TDNNUnit, Res2Conv1d, SEModule, SERes2DilatedTDNNBlock, AttentiveStatsPool, StatsPool, AAMSoftmax, weightedStats,
  type DynamicConvConfig, type SERes2BlockOptions,
} from './arch/74-efficienttdnn.ts'
export { RPEBias, RPEAttention, URPEAttention, toeplitz, relativeIndex, t5Bucket, type RelativeOptions, type RPEAttentionOptions } from './arch/70-urpe.ts'
export { LongformerSelfAttention, LongformerBlock, bandedMask, type LongformerAttentionOptions } from './arch/59-budgetlongformer.ts'
export { PolyReLU, PolyNorm, type PolyOptions } from './arch/38-polycom.ts'
export {
  Pattention, TokenFormerAttention, TokenFormerBlock, pattentionNormalize, type PattentionNorm, type PattentionOptions, type GrowInit, type TokenCounts,
} from './arch/63-tokenformer.ts'
export {
  TransformerMLP, SwiGLUMLP, CausalSelfAttention, TransformerBlock, causalSelfAttention, type MLPActivation, type SequenceMap, type LayerOptions,
} from './transformer-lm.ts'
export { updateBn } from './update-bn.ts'
export {
  WindowMHSA, windowAttention, windowPartition, windowReverse, windowGeometry, relativePositionIndex,
  type WindowMHSAOptions, type WindowAttentionOptions, type WindowMode,
} from './window-attention.ts'
export { I2RMB, LayerNorm2d, type I2RMBOptions, type EOp, type EMONorm } from './arch/02-emov2.ts'
export {
  HyperNet, HYPERNET_PARAMETRIZATIONS, functionalCall, encodeHyperInput, flatLayout, flattenParams, unflattenParams,
  type HyperNetOptions, type HyperEncoding, type FlatSlot,
} from './arch/14-mip.ts'
export {
  ViT, ViTBlock, ViTAttention, ViTMlp, ViTEmbed, ViTClassifier, PatchEmbed, VIT_PRESETS, resolveViTOptions, type ViTOptions, type ViTPreset,
} from './vit.ts'
export { StitchingLayer } from './arch/04-sn-net.ts'
export { ViTStage, type ViTStageOptions } from './arch/52-deep-model-assembling.ts'
export {
  ResNetDShortcut, ResNetStem, RSBottleneck, dropPathRates, type DropPathRule, type ResNetStemOptions, type RSBottleneckOptions,
} from './arch/03-resnet-rs.ts'
export { EvoNormB0, EvoNormS0, type EvoNormB0Options, type EvoNormS0Options } from './arch/65-evonorm.ts'
export { Dropout2d, GlobalMaxPool2d, SimpleConv, SimplePool, type SimpleNetLayer } from './arch/06-simplenet.ts'
export {
  PoolMixer, Meta4D, Meta3D, AttentionBias, EfficientAttention, type MetaBlockOptions, type AttentionOptions as EfficientAttentionOptions,
} from './arch/30-efficientformer.ts'
export {
  FrameAttention, Conv3dFFN, MIMOEncoderLayer, MIMODecoderLayer, patchReshape, patchReshapeBack, deepSupervisionLoss, recursiveRollout,
} from './arch/39-mimo-vp.ts'

/**
 * @file The `models` namespace: whole networks from the papers, each defined in its paper's file
 * under src/nn/arch/ (layers and blocks of the same papers are in `nn`).
 */
export { S4DModel, type S4DModelOptions } from '../nn/arch/41-s4d.ts'
export { EfficientVMamba, EFFICIENT_VMAMBA_PRESETS, type EfficientVMambaOptions } from '../nn/arch/71-efficientvmamba.ts'
export { convertToLadder } from '../nn/arch/76-ladder-residual.ts'
export { LowRankTransformer, projectionParams, type LowRankTransformerOptions } from '../nn/arch/21-greenformers.ts'
export { TDNNSpeakerNet, type TDNNSpeakerNetOptions } from '../nn/arch/74-efficienttdnn.ts'
export { RelativeTransformer, type RelativeTransformerOptions } from '../nn/arch/70-urpe.ts'
export { LongformerEncoder, type LongformerEncoderOptions } from '../nn/arch/59-budgetlongformer.ts'
export { TransformerLM, type TransformerLMOptions } from '../nn/transformer-lm.ts'
export { TokenFormerLM, loadIncremental, type TokenFormerOptions } from '../nn/arch/63-tokenformer.ts'
export { EMOv2, EMOV2_PRESETS, type EMOv2Options, type EMOv2Preset } from '../nn/arch/02-emov2.ts'
export { ViT, VIT_PRESETS, type ViTOptions } from '../nn/vit.ts'
export { SNNet, type SNNetOptions } from '../nn/arch/04-sn-net.ts'
export { StagedViT, type StagedViTOptions } from '../nn/arch/52-deep-model-assembling.ts'
export {
  EfficientNet, efficientNet, tinyNet, tinyNetOptions, EFFICIENTNET_PRESETS, TINYNET_PRESETS, B0_ARCH, decodeBlockString,
  type EfficientNetOptions, type StageDef,
} from '../nn/arch/35-tinynet.ts'
export { ResNetRS, RESNET_RS_PRESETS, resnetRS, type ResNetRSOptions, type ResNetRSPreset } from '../nn/arch/03-resnet-rs.ts'
export { SimpleNet, SIMPLENET_CFGS, SIMPLENET_STRIDE_MODES, simpleNetParamCount, type SimpleNetOptions } from '../nn/arch/06-simplenet.ts'
export {
  EfficientFormer, EFFICIENTFORMER_PRESETS, efficientFormerParamCount, type EfficientFormerOptions, type LatencyBlock,
} from '../nn/arch/30-efficientformer.ts'
export { MIMOVP, MIMO_VP_PRESETS, type MIMOVPOptions } from '../nn/arch/39-mimo-vp.ts'

/**
 * @file The `train` namespace: training procedures that orchestrate several models or phases.
 * Deep Model Assembling (paper 52, https://arxiv.org/abs/2212.04129): a meta model, independent
 * incubation of each stage, assembling and fine-tuning.
 */
export {
  modelAssembling as assemble, trainPhase, incubateModule, incubationHybrid, assembleStages, freeze, unfreeze, paramsOf, evalAccuracy,
  type AssembleOptions, type AssembleResult, type PhaseStats, type TrainPhaseOptions, type LabelledImages,
} from '../nn/arch/52-deep-model-assembling.ts'
export { transferHead, fitTransfer, type TransferHandle, type FitTransferOptions } from '../nn/arch/47-efficientnet-breast-tumor.ts'

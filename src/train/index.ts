/**
 * @file The `train` namespace: training procedures that orchestrate several models or phases.
 * Deep Model Assembling (paper 52, https://arxiv.org/abs/2212.04129): a meta model, independent
 * incubation of each stage, assembling and fine-tuning; `runParallel` runs independent jobs (such as
 * the K stage incubations) on worker threads.
 */
export {
  modelAssembling as assemble, trainPhase, incubateModule, incubationHybrid, assembleStages, freeze, unfreeze, paramsOf, evalAccuracy,
  type AssembleOptions, type AssembleResult, type PhaseStats, type TrainPhaseOptions, type LabelledImages,
} from '../nn/arch/52-deep-model-assembling.ts'
export { transferHead, fitTransfer, type TransferHandle, type FitTransferOptions } from '../nn/arch/47-efficientnet-breast-tumor.ts'
export { runParallel, serveJob, packTensor, unpackTensor, packState, unpackState, type ParallelJob, type JobWorker, type SpawnWorker, type RunParallelOptions, type JobRequest, type JobReply, type PackedTensor, type PackedState } from './parallel.ts'
export { modelAssemblingParallel as assembleParallel, incubateStages, incubateStageJob, freshStage, metaFromState, INCUBATION_JOBS_URL, type IncubationJobArgs, type IncubationJobResult, type IncubateStagesOptions, type StagedViTConfig } from './incubation-jobs.ts'

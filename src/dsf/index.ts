/**
 * @file The `dsf` namespace: paper 33's Dynamical Systems Framework ("Understanding the differences
 * in Foundation Models: Attention, State Space Models, and Recurrent Neural Networks",
 * https://arxiv.org/abs/2405.15731): the common recurrence h_i = Λ_i h_{i-1} + B_i u_i,
 * y_i = C_i h_i + D_i u_i, its materialized mixing matrix Φ, and tools to compare layers in it.
 * The layers themselves (LinearAttention, S6, SSD, ...) are in `nn`.
 */
export {
  materialize, materializeParams, applyPhi, dsfScan, dsfScanRef, linearRecurrence, hankelRanks, randomFeatureSoftmax,
  headsToChannels, checkParams, type DSFParams, type DSFLayer, type MixingLayer, type FeatureFn, type DSFLayerOptions,
} from '../nn/arch/33-dsf.ts'
export { makeDSFMixer, type DSFMixerName, type FeatureMap } from '../nn/arch/33-dsf-layers.ts'
export { numericalRank, linearRecurrenceRef } from '../kernels/dsf.ts'

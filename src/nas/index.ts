/**
 * @file The `nas` namespace: architecture searches. EfficientFormer's latency-driven slimming (paper
 * 30, https://arxiv.org/abs/2206.01191, Sec. 4) and EvoNorm's evolution over normalization-activation
 * graphs (paper 65, https://arxiv.org/abs/2004.02967).
 */
export {
  latencySlimming, slimmingPath, candidateActions, measureLatencyTable, latencyTableKeys, predictLatency, configKeys,
  largestSubnet, smallestSubnet, subnetOptions, buildSubnet, stageSides,
} from '../nn/arch/30-efficientformer-slimming.ts'
export type {
  SlimmingSpace, SubnetConfig, LatencyTable, SlimmingImportance, SlimmingAction, SlimmingStep, BlockKind,
  MeasureOptions, LatencySlimmingOptions, LatencySlimmingResult,
} from '../nn/arch/30-efficientformer-slimming.ts'
export { SlimmingSupernet, MetaPath, gumbelSoftmax, sampleGumbel, trainSupernet, type SupernetTrainOptions } from '../nn/arch/30-efficientformer-supernet.ts'
export { evoLayer, stabilityCheck, proxyTrain, ProxyResNet, tournamentSelect, paretoFront } from '../nn/arch/65-evonorm-search.ts'
export type { EvoSearchOptions, EvoSearchResult, TraceEntry, CandidateStatus, ProxyData, ProxyOptions, ProxyResult, StabilityOptions, StabilityResult } from '../nn/arch/65-evonorm-search.ts'
export { EvoLayer, parseLayer, formula, mutate, randomGraph, validateGraph, dependsOnX, liveNodes, arity, KNOWN_LAYERS, PRIMITIVES, LEAVES } from '../nn/arch/65-evonorm-graph.ts'
export type { LayerGraph, GraphNode, PrimitiveName, Mutation, MutationKind, EvoLayerOptions } from '../nn/arch/65-evonorm-graph.ts'

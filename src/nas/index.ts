/**
 * @file The `nas` namespace: architecture searches. EvoNorm's evolution over normalization-activation
 * graphs (paper 65, https://arxiv.org/abs/2004.02967).
 */
export { evoLayer, stabilityCheck, proxyTrain, ProxyResNet, tournamentSelect, paretoFront } from '../nn/arch/65-evonorm-search.ts'
export type { EvoSearchOptions, EvoSearchResult, TraceEntry, CandidateStatus, ProxyData, ProxyOptions, ProxyResult, StabilityOptions, StabilityResult } from '../nn/arch/65-evonorm-search.ts'
export { EvoLayer, parseLayer, formula, mutate, randomGraph, validateGraph, dependsOnX, liveNodes, arity, KNOWN_LAYERS, PRIMITIVES, LEAVES } from '../nn/arch/65-evonorm-graph.ts'
export type { LayerGraph, GraphNode, PrimitiveName, Mutation, MutationKind, EvoLayerOptions } from '../nn/arch/65-evonorm-graph.ts'

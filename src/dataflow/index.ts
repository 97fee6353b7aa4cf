/** @file The `dataflow` namespace: HybridFlow-style single-controller RLHF (Sheng et al. 2024) at in-process scale. */
export { DataProto, type Meta } from './proto.ts'
export { Dispatch, register, ResourcePool, WorkerGroup, type DispatchMode } from './worker.ts'
export { ActorWorker, RefWorker, RewardWorker, CriticWorker, protoBatch } from './roles.ts'
export { remaxFlow, ppoFlow, type Flow, type FlowOptions } from './algorithms.ts'

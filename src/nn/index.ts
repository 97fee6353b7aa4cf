/** @file The `nn` namespace: modules and layers. */
export { Module, type ForwardHook, type StateDict, type LoadResult } from './module.ts'
export { Parameter } from './parameter.ts'
export { Sequential, ModuleList, ModuleDict } from './containers.ts'
export { Linear, type LinearOptions } from './linear.ts'

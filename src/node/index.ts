/** @file Node-only extras (`tessera/node`): the GEMM worker pool. Never imported by the core. */
export { startThreads, stopThreads, numThreads } from './threads.ts'

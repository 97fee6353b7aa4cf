/** @file Node-only extras (`tessera/node`): the GEMM worker pool, file io and bundled-dataset loading. Never imported by the core. */
export { startThreads, stopThreads, numThreads } from './threads.ts'
export { readSafetensors, writeSafetensors } from './io.ts'
export { loadDataset, datasetUrl, datasetNames, type DatasetName } from './datasets.ts'

/** @file Node-only extras (`tessera/node`): the GEMM worker pool, worker threads for `train.runParallel`, file io and bundled-dataset loading. Never imported by the core. */
export { startThreads, stopThreads, numThreads } from './threads.ts'
export { nodeSpawn } from './parallel.ts'
export { readSafetensors, writeSafetensors } from './io.ts'
export { loadDataset, datasetUrl, datasetNames, type DatasetName } from './datasets.ts'

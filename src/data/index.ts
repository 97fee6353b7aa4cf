/**
 * @file The `data` namespace: parsers for the bundled datasets (text in, tensors out), a character
 * vocabulary, seeded splits and the minibatch `DataLoader`. Runtime-neutral; reading the bundled
 * files from disk is `loadDataset` in `tessera/node`.
 */
export {
  parseDigits, parseIris, parseBreastCancer, parseNames, parseSpamSubjects, parseCo2, parseSeattleWeather,
  type ClassificationData, type TextClassificationData, type WeatherData,
} from './datasets.ts'
export { parseCsv, parseLines, type CsvRecord } from './csv.ts'
export { CharVocab } from './vocab.ts'
export { shuffledIndices, trainTestSplit } from './sampling.ts'
export { DataLoader, type DataLoaderOptions, type Batch } from './loader.ts'
export * as synthetic from './synthetic.ts'
export {
  classCounts, classWeights, augmentPipeline, verticalFlip, rotate90, gaussianNoise, randomResizedCrop, type AugmentPipelineOptions,
} from '../nn/arch/47-efficientnet-breast-tumor.ts'
export * as augment from './augment.ts'

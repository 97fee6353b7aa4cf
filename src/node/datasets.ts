/**
 * @file Loading the datasets bundled in the package's `data/` directory (sources and licenses in
 * data/README.md). Reads the file next to this package (found from import.meta.url) and hands its
 * text to the runtime-neutral parser in src/data/datasets.ts.
 *
 *   import { loadDataset } from 'tessera/node'
 *   const { x, y } = loadDataset('digits')     // x (1797, 64) float32, y (1797,) int32
 */
import { readFileSync } from 'node:fs'
import { TesseraError } from '../errors.ts'
import {
  parseBreastCancer, parseCo2, parseDigits, parseIris, parseNames, parseSeattleWeather, parseSpamSubjects,
} from '../data/datasets.ts'

/** Each dataset's file in data/ and its parser. */
const DATASETS = {
  'digits': { file: 'digits.csv', parse: parseDigits },
  'iris': { file: 'iris.csv', parse: parseIris },
  'breast-cancer': { file: 'breast_cancer.csv', parse: parseBreastCancer },
  'names-female': { file: 'names-female.txt', parse: parseNames },
  'names-male': { file: 'names-male.txt', parse: parseNames },
  'spam-subjects': { file: 'spam-subjects.csv', parse: parseSpamSubjects },
  'co2-concentration': { file: 'co2-concentration.csv', parse: parseCo2 },
  'seattle-weather': { file: 'seattle-weather.csv', parse: parseSeattleWeather },
} as const

export type DatasetName = keyof typeof DATASETS

/** The names `loadDataset` accepts. */
export const datasetNames = Object.keys(DATASETS) as DatasetName[]

/** The URL of a bundled dataset file. */
export function datasetUrl(name: DatasetName): URL {
  if (!Object.prototype.hasOwnProperty.call(DATASETS, name)) {
    throw new TesseraError(`loadDataset: unknown dataset ${JSON.stringify(name)}; expected one of ${datasetNames.join(', ')}`)
  }
  return new URL(`../../data/${DATASETS[name].file}`, import.meta.url)
}

/**
 * Reads and parses a bundled dataset: 'digits', 'iris', 'breast-cancer' (classification tensors),
 * 'names-female', 'names-male' (string[]), 'spam-subjects' (texts and labels), 'co2-concentration'
 * (a monthly series), 'seattle-weather' (daily features and labels).
 * @example
 *   const { texts, labels } = loadDataset('spam-subjects')
 */
export function loadDataset<K extends DatasetName>(name: K): ReturnType<(typeof DATASETS)[K]['parse']> {
  const text = readFileSync(datasetUrl(name), 'utf8')
  return DATASETS[name].parse(text) as ReturnType<(typeof DATASETS)[K]['parse']>
}

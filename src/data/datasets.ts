/**
 * @file Parsers for the small real datasets bundled in `data/` (sources and licenses in
 * data/README.md). Each takes the file's TEXT and returns tensors, so they run in any JavaScript
 * runtime; `loadDataset(name)` in `tessera/node` reads the bundled file and calls the right one.
 * Validation is strict: a wrong field count, a non-number, an unknown label or a row-count
 * mismatch throws a TesseraError naming the parser and the line.
 *
 * Shapes (N rows):
 *   parseDigits          x (N, 64) float32 pixel values 0..16, y (N,) int32 0..9
 *   parseIris            x (N, 4) float32, y (N,) int32 0..2
 *   parseBreastCancer    x (N, 30) float32, y (N,) int32 (0 malignant, 1 benign)
 *   parseSeattleWeather  x (N, 4) float32 [precipitation, temp_max, temp_min, wind], y (N,) int32 weather label
 *   parseCo2             co2 (N,) and adjusted (N,) float32, monthly
 *   parseNames           string[];   parseSpamSubjects   texts string[], labels (N,) int32 (0 ham, 1 spam)
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { expectFields, expectHeader, failAt, parseCsv, parseDate, parseInteger, parseLines, parseNumber, type CsvRecord } from './csv.ts'

/** Features, integer labels and the names of both. */
export interface ClassificationData {
  /** (N, D) float32 */
  x: Tensor
  /** (N,) int32 class indices into `classNames` */
  y: Tensor
  featureNames: string[]
  classNames: string[]
}

/** Fills x (N, D) and y (N,) from records whose first D fields are numbers and last is a class index. */
function numericRows(records: CsvRecord[], D: number, nClasses: number, source: string): { x: Tensor; y: Tensor } {
  const N = records.length
  const x = new Float32Array(N * D) // (N, D)
  const y = new Int32Array(N) // (N,)
  records.forEach((rec, r) => {
    expectFields(rec, D + 1, source)
    for (let d = 0; d < D; d++) x[r * D + d] = parseNumber(rec.fields[d], source, rec.line, d + 1)
    y[r] = parseInteger(rec.fields[D], source, rec.line, D + 1, 0, nClasses - 1)
  })
  return { x: fromTypedArray(x, [N, D]), y: fromTypedArray(y, [N]) }
}

/**
 * scikit-learn's CSV layout (iris, breast cancer): a header `N,D,class0,class1,...`, then N rows
 * of D features and a class index.
 */
function parseSklearnCsv(text: string, source: string, D: number, classNames: readonly string[], featureNames: string[]): ClassificationData {
  const records = parseCsv(text, source)
  const head = records[0]
  expectFields(head, 2 + classNames.length, source)
  const n = parseInteger(head.fields[0], source, head.line, 1, 0, Number.MAX_SAFE_INTEGER)
  const d = parseInteger(head.fields[1], source, head.line, 2, 0, Number.MAX_SAFE_INTEGER)
  if (d !== D) failAt(source, head.line, `the header says ${d} features, expected ${D}`, 2)
  head.fields.slice(2).forEach((name, k) => {
    if (name !== classNames[k]) failAt(source, head.line, `class ${k} is ${JSON.stringify(name)}, expected ${JSON.stringify(classNames[k])}`, k + 3)
  })
  const rows = records.slice(1)
  if (rows.length !== n) throw new TesseraError(`${source}: the header (line ${head.line}) promises ${n} rows, the text has ${rows.length}`)
  return { ...numericRows(rows, D, classNames.length, source), featureNames, classNames: classNames.slice() }
}

/**
 * The 8x8 handwritten digits: each line is 64 pixel values (integers 0..16, row-major) and the
 * label 0..9; no header. Pixels are returned unscaled (divide by 16 for [0, 1]).
 * @example
 *   const { x, y } = parseDigits(text)   // x (1797, 64) float32, y (1797,) int32
 */
export function parseDigits(text: string): ClassificationData {
  const source = 'parseDigits'
  const records = parseCsv(text, source)
  const N = records.length
  const x = new Float32Array(N * 64) // (N, 64)
  const y = new Int32Array(N) // (N,)
  records.forEach((rec, r) => {
    expectFields(rec, 65, source)
    for (let p = 0; p < 64; p++) x[r * 64 + p] = parseInteger(rec.fields[p], source, rec.line, p + 1, 0, 16)
    y[r] = parseInteger(rec.fields[64], source, rec.line, 65, 0, 9)
  })
  const featureNames = Array.from({ length: 64 }, (_, p) => `pixel_${Math.floor(p / 8)}_${p % 8}`)
  return { x: fromTypedArray(x, [N, 64]), y: fromTypedArray(y, [N]), featureNames, classNames: Array.from({ length: 10 }, (_, k) => String(k)) }
}

/**
 * Fisher's iris: header `150,4,setosa,versicolor,virginica`, then 4 measurements (cm) and the class.
 * @example
 *   const { x, y, classNames } = parseIris(text)   // x (150, 4), y (150,), classNames[y[i]]
 */
export function parseIris(text: string): ClassificationData {
  const features = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)']
  return parseSklearnCsv(text, 'parseIris', 4, ['setosa', 'versicolor', 'virginica'], features)
}

/**
 * Wisconsin diagnostic breast cancer: header `569,30,malignant,benign`, then 30 features (mean,
 * standard error and worst value of 10 cell-nucleus measurements) and the class (0 malignant, 1 benign).
 * @example
 *   const { x, y } = parseBreastCancer(text)   // x (569, 30), y (569,)
 */
export function parseBreastCancer(text: string): ClassificationData {
  const base = ['radius', 'texture', 'perimeter', 'area', 'smoothness', 'compactness', 'concavity', 'concave points', 'symmetry', 'fractal dimension']
  const features = [...base.map((b) => `mean ${b}`), ...base.map((b) => `${b} error`), ...base.map((b) => `worst ${b}`)]
  return parseSklearnCsv(text, 'parseBreastCancer', 30, ['malignant', 'benign'], features)
}

/**
 * One name a line (names-female.txt, names-male.txt). Names must be non-empty and contain no
 * whitespace. Returned in file order, repeats kept (names-female.txt lists a few twice).
 * @example
 *   const vocab = CharVocab.fromTexts(parseNames(text), { specials: ['.'] })
 */
export function parseNames(text: string): string[] {
  return parseLines(text, 'parseNames').map(({ line, text: name }) => {
    if (/\s/.test(name)) failAt('parseNames', line, `${JSON.stringify(name)} contains whitespace`)
    return name
  })
}

/** Texts with binary labels. */
export interface TextClassificationData {
  texts: string[]
  /** (N,) int32 indices into `classNames` */
  labels: Tensor
  /** the SpamAssassin folder each text came from (easy-ham-1, spam-2, ...) */
  groups: string[]
  classNames: string[]
}

/**
 * SpamAssassin subject lines: header `label,group,subject`, then `ham` or `spam`, the corpus
 * folder and the subject (CSV-quoted where it holds commas or quotes).
 * @example
 *   const { texts, labels } = parseSpamSubjects(text)   // labels (4191,) int32, 1 = spam
 */
export function parseSpamSubjects(text: string): TextClassificationData {
  const source = 'parseSpamSubjects'
  const classNames = ['ham', 'spam']
  const records = parseCsv(text, source)
  expectHeader(records, ['label', 'group', 'subject'], source)
  const rows = records.slice(1)
  const labels = new Int32Array(rows.length) // (N,)
  const texts: string[] = [], groups: string[] = []
  rows.forEach((rec, r) => {
    expectFields(rec, 3, source)
    const [label, group, subject] = rec.fields
    const k = classNames.indexOf(label)
    if (k < 0) failAt(source, rec.line, `label ${JSON.stringify(label)} is not "ham" or "spam"`, 1)
    if (group === '') failAt(source, rec.line, 'empty group', 2)
    labels[r] = k
    groups.push(group)
    texts.push(subject)
  })
  return { texts, labels: fromTypedArray(labels, [rows.length]), groups, classNames }
}

/**
 * Monthly Mauna Loa CO2: header `Date,CO2,adjusted CO2`, then an ISO date (strictly increasing),
 * the CO2 concentration in ppm and its seasonally adjusted value.
 * @example
 *   const { dates, co2 } = parseCo2(text)   // co2 (741,) float32, dates[0] = '1958-03-01'
 */
export function parseCo2(text: string): { dates: string[]; co2: Tensor; adjusted: Tensor } {
  const source = 'parseCo2'
  const records = parseCsv(text, source)
  expectHeader(records, ['Date', 'CO2', 'adjusted CO2'], source)
  const rows = records.slice(1)
  const co2 = new Float32Array(rows.length), adjusted = new Float32Array(rows.length) // (N,) each
  const dates = increasingDates(rows, 3, source)
  rows.forEach((rec, r) => {
    co2[r] = parseNumber(rec.fields[1], source, rec.line, 2)
    adjusted[r] = parseNumber(rec.fields[2], source, rec.line, 3)
  })
  return { dates, co2: fromTypedArray(co2, [rows.length]), adjusted: fromTypedArray(adjusted, [rows.length]) }
}

/** Checks field counts and that column 1 holds strictly increasing ISO dates; returns them. */
function increasingDates(rows: CsvRecord[], fields: number, source: string): string[] {
  return rows.map((rec, r) => {
    expectFields(rec, fields, source)
    const date = parseDate(rec.fields[0], source, rec.line, 1)
    if (r > 0 && date <= rows[r - 1].fields[0]) failAt(source, rec.line, `date ${date} does not come after ${rows[r - 1].fields[0]}`, 1)
    return date
  })
}

/** Daily weather: dates, numeric features and a label. */
export interface WeatherData extends ClassificationData {
  dates: string[]
}

/**
 * Daily Seattle weather 2012-2015: header `date,precipitation,temp_max,temp_min,wind,weather`,
 * then an ISO date (strictly increasing), precipitation (mm), max and min temperature (C), wind
 * (m/s) and one of drizzle, fog, rain, snow, sun.
 * @example
 *   const { x, y, classNames } = parseSeattleWeather(text)   // x (1461, 4), y (1461,) into classNames
 */
export function parseSeattleWeather(text: string): WeatherData {
  const source = 'parseSeattleWeather'
  const featureNames = ['precipitation', 'temp_max', 'temp_min', 'wind']
  const classNames = ['drizzle', 'fog', 'rain', 'snow', 'sun']
  const records = parseCsv(text, source)
  expectHeader(records, ['date', ...featureNames, 'weather'], source)
  const rows = records.slice(1)
  const dates = increasingDates(rows, 6, source)
  const x = new Float32Array(rows.length * 4) // (N, 4)
  const y = new Int32Array(rows.length) // (N,)
  rows.forEach((rec, r) => {
    for (let d = 0; d < 4; d++) x[r * 4 + d] = parseNumber(rec.fields[d + 1], source, rec.line, d + 2)
    const k = classNames.indexOf(rec.fields[5])
    if (k < 0) failAt(source, rec.line, `weather ${JSON.stringify(rec.fields[5])} is not one of ${classNames.join(', ')}`, 6)
    y[r] = k
  })
  return { dates, x: fromTypedArray(x, [rows.length, 4]), y: fromTypedArray(y, [rows.length]), featureNames, classNames }
}

/**
 * @file Dataset parsers on the bundled files (row counts, value ranges, label sets, known rows) and
 * on malformed text (each error names the parser and the line), plus the Node loader and CharVocab.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { data, type Tensor } from '../../src/index.ts'
import { datasetNames, datasetUrl, loadDataset } from '../../src/node/index.ts'
import { assertThrows } from '../helpers.ts'

const { parseDigits, parseIris, parseBreastCancer, parseNames, parseSpamSubjects, parseCo2, parseSeattleWeather, CharVocab } = data

/** Count of each value in an int tensor. */
function counts(y: Tensor): number[] {
  const out: number[] = []
  for (const v of y.data()) out[v] = (out[v] ?? 0) + 1
  return out
}

const range = (t: Tensor): [number, number] => [t.amin().item(), t.amax().item()]

test('digits: 1797 rows of 64 pixels in 0..16, labels 0..9 all present', () => {
  const { x, y, classNames, featureNames } = loadDataset('digits')
  assert.equal([x.shape, x.dtype, y.shape, y.dtype], [[1797, 64], 'float32', [1797], 'int32'])
  assert.equal(range(x), [0, 16])
  assert.equal(counts(y), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
  assert.equal(classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
  assert.is(featureNames[9], 'pixel_1_1')
  assert.equal((x.select(0, 0).toArray() as number[]).slice(0, 8), [0, 0, 5, 13, 9, 1, 0, 0])
})

test('iris: 150 rows, 4 features, 50 of each of 3 classes', () => {
  const { x, y, classNames } = loadDataset('iris')
  assert.equal([x.shape, y.shape], [[150, 4], [150]])
  assert.equal(counts(y), [50, 50, 50])
  assert.equal(classNames, ['setosa', 'versicolor', 'virginica'])
  const first = x.select(0, 0).toArray() as number[]
  assert.equal(first.map((v) => Math.round(v * 10) / 10), [5.1, 3.5, 1.4, 0.2])
  assert.equal(range(x.select(1, 2)).map((v) => Math.round(v * 10) / 10), [1, 6.9]) // petal length
})

test('breast cancer: 569 rows, 30 features, 212 malignant / 357 benign', () => {
  const { x, y, classNames, featureNames } = loadDataset('breast-cancer')
  assert.equal([x.shape, y.shape], [[569, 30], [569]])
  assert.equal(counts(y), [212, 357])
  assert.equal(classNames, ['malignant', 'benign'])
  assert.equal([featureNames[0], featureNames[10], featureNames[29]], ['mean radius', 'radius error', 'worst fractal dimension'])
  assert.ok(x.amin().item() >= 0 && x.amax().item() === 4254, 'worst area tops the value range')
})

test('names: 4951 female and 3898 male, letters and hyphens only; a 54-token vocabulary with "."', () => {
  const female = loadDataset('names-female'), male = loadDataset('names-male')
  assert.is(female.length, 4951)
  assert.is(male.length, 3898)
  assert.equal([female[0], female.at(-1), male[0], male.at(-1)], ['Aaren', 'Zuzana', 'Aaron', 'Zolly'])
  assert.ok([...female, ...male].every((n) => /^[A-Za-z-]+$/.test(n)))
  const vocab = CharVocab.fromTexts([...female, ...male], { specials: ['.'] })
  assert.is(vocab.size, 54)
  assert.equal(vocab.tokens.slice(0, 4), ['.', '-', 'A', 'B'])
  assert.is(vocab.decode(vocab.encode('.Anne-Marie.')), '.Anne-Marie.')
})

test('spam subjects: 4191 rows, 2509 ham / 1682 spam, quoted fields and CRLF handled', () => {
  const { texts, labels, groups, classNames } = loadDataset('spam-subjects')
  assert.is(texts.length, 4191)
  assert.equal([labels.shape, labels.dtype], [[4191], 'int32'])
  assert.equal(counts(labels), [2509, 1682])
  assert.equal(classNames, ['ham', 'spam'])
  assert.equal([...new Set(groups)].sort(), ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'])
  assert.is(texts[0], 'Re: New Sequences Window')
  assert.is(texts[91], `[Razor-users] Razor2 error: can't find "new"`)
  assert.ok(texts.every((t) => !t.includes('\r') && !t.includes('\n')))
  assert.is(texts.at(-1), '[ILUG] WILSON KAMELA')
})

test('CO2: 741 months from 1958-03 to 2020-04, rising from ~313 to ~416 ppm', () => {
  const { dates, co2, adjusted } = loadDataset('co2-concentration')
  assert.equal([dates.length, co2.shape, adjusted.shape], [741, [741], [741]])
  assert.equal([dates[0], dates.at(-1)], ['1958-03-01', '2020-04-01'])
  assert.equal(co2.data()[0], Math.fround(315.7))
  assert.equal(range(co2).map(Math.round), [313, 416])
  assert.ok(adjusted.data()[740] > adjusted.data()[0] + 95)
})

test('Seattle weather: 1461 days of 2012-2015, 4 features, 5 weather labels', () => {
  const { dates, x, y, classNames, featureNames } = loadDataset('seattle-weather')
  assert.equal([dates.length, x.shape, y.shape], [1461, [1461, 4], [1461]])
  assert.equal([dates[0], dates.at(-1)], ['2012-01-01', '2015-12-31'])
  assert.equal(featureNames, ['precipitation', 'temp_max', 'temp_min', 'wind'])
  assert.equal(classNames, ['drizzle', 'fog', 'rain', 'snow', 'sun'])
  assert.equal(counts(y), [53, 101, 641, 26, 640])
  assert.equal(x.select(0, 0).toArray(), [0, 12.8, 5, 4.7].map(Math.fround))
  assert.ok(x.select(1, 0).amin().item() === 0, 'precipitation is never negative')
})

test('loadDataset: every bundled name loads; unknown names are rejected', () => {
  assert.equal(datasetNames.length, 8)
  for (const name of datasetNames) assert.ok(readFileSync(datasetUrl(name)).length > 0, name)
  assertThrows(() => loadDataset('mnist' as 'digits'), /loadDataset: unknown dataset "mnist"; expected one of digits, iris, breast-cancer/)
})

// ------------------------------------------------------------------ malformed text

const digitRow = (label = 3, pixel = '0') => [...Array(63).fill('0'), pixel, String(label)].join(',')

test('parseDigits: field count, pixel range, label range, number syntax, blank lines', () => {
  assert.equal(parseDigits(`${digitRow()}\n${digitRow(9, '16')}\n`).y.toArray(), [3, 9])
  assertThrows(() => parseDigits(`${digitRow()}\n1,2,3\n`), /^parseDigits: line 2: expected 65 fields, got 3$/)
  assertThrows(() => parseDigits(`${digitRow(3, '17')}`), /^parseDigits: line 1, column 64: 17 is outside \[0, 16\]$/)
  assertThrows(() => parseDigits(`${digitRow()}\n${digitRow(10)}`), /^parseDigits: line 2, column 65: 10 is outside \[0, 9\]$/)
  assertThrows(() => parseDigits(digitRow(3, '1.5')), /^parseDigits: line 1, column 64: "1.5" is not an integer$/)
  assertThrows(() => parseDigits(digitRow(3, '')), /^parseDigits: line 1, column 64: "" is not an integer$/)
  assertThrows(() => parseDigits(`${digitRow()}\n\n${digitRow()}\n`), /^parseDigits: line 2: blank line$/)
  assertThrows(() => parseDigits(`${digitRow()}\n\n`), /^parseDigits: line 2: blank line$/)
  assertThrows(() => parseDigits(''), /^parseDigits: the text is empty$/)
  assertThrows(() => parseDigits(undefined as unknown as string), /^parseDigits: expected the file's text as a string, got undefined$/)
})

test('parseIris / parseBreastCancer: header, row count, numbers, class index', () => {
  const ok = parseIris('2,4,setosa,versicolor,virginica\n1,2,3,4,0\r\n5,6,7,8e-1,2\r\n')
  assert.equal(ok.x.toArray(), [[1, 2, 3, 4], [5, 6, 7, Math.fround(0.8)]])
  assertThrows(() => parseIris('3,4,setosa,versicolor,virginica\n1,2,3,4,0\n'), /^parseIris: the header \(line 1\) promises 3 rows, the text has 1$/)
  assertThrows(() => parseIris('1,5,setosa,versicolor,virginica\n1,2,3,4,5,0\n'), /^parseIris: line 1, column 2: the header says 5 features, expected 4$/)
  assertThrows(() => parseIris('1,4,setosa,versicolour,virginica\n1,2,3,4,0\n'), /^parseIris: line 1, column 4: class 1 is "versicolour", expected "versicolor"$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor\n'), /^parseIris: line 1: expected 5 fields, got 4$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2,x,4,0\n'), /^parseIris: line 2, column 3: "x" is not a number$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2, 3,4,0\n'), /^parseIris: line 2, column 3: " 3" is not a number$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2,Infinity,4,0\n'), /^parseIris: line 2, column 3: "Infinity" is not a number$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2,1e999,4,0\n'), /^parseIris: line 2, column 3: "1e999" is out of range$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2,3,4,3\n'), /^parseIris: line 2, column 5: 3 is outside \[0, 2\]$/)
  assertThrows(() => parseIris('1,4,setosa,versicolor,virginica\n1,2,3,4\n'), /^parseIris: line 2: expected 5 fields, got 4$/)
  const iris = readFileSync(datasetUrl('iris'), 'utf8')
  assertThrows(() => parseBreastCancer(iris), /^parseBreastCancer: line 1: expected 4 fields, got 5$/)
  assertThrows(() => parseBreastCancer(`1,30,malignant,benign\n${'1,'.repeat(30)}2\n`), /^parseBreastCancer: line 2, column 31: 2 is outside \[0, 1\]$/)
})

test('parseNames: blank lines and whitespace are rejected with line numbers; CRLF accepted', () => {
  assert.equal(parseNames('Ann\r\nBo\r\n'), ['Ann', 'Bo'])
  assert.equal(parseNames('Ann\nAnn'), ['Ann', 'Ann'])
  assertThrows(() => parseNames('Ann\n\nBo\n'), /^parseNames: line 2: blank line$/)
  assertThrows(() => parseNames('Ann\nMary Jo\n'), /^parseNames: line 2: "Mary Jo" contains whitespace$/)
  assertThrows(() => parseNames('Ann\n Bo'), /^parseNames: line 2: " Bo" contains whitespace$/)
})

test('parseSpamSubjects: header, labels, quoting errors', () => {
  const ok = parseSpamSubjects('label,group,subject\nspam,s1,"Free, ""cheap"" stuff"\nham,h1,\n')
  assert.equal(ok.texts, ['Free, "cheap" stuff', ''])
  assert.equal(ok.labels.toArray(), [1, 0])
  assertThrows(() => parseSpamSubjects('label,subject\nham,x\n'), /^parseSpamSubjects: line 1: expected the header "label,group,subject", got "label,subject"$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\neggs,g,x\n'), /^parseSpamSubjects: line 2, column 1: label "eggs" is not "ham" or "spam"$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\nham,g,Re: a, b\n'), /^parseSpamSubjects: line 2: expected 3 fields, got 4$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\nham,g,say "hi"\n'), /^parseSpamSubjects: line 2, column 3: a quote inside an unquoted field/)
  assertThrows(() => parseSpamSubjects('label,group,subject\nham,g,"hi" there\n'), /^parseSpamSubjects: line 2, column 3: unexpected text after a closing quote$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\nham,g,ok\nham,g,"never closed\nham,g,x\n'), /^parseSpamSubjects: line 3: quoted field in column 3 is never closed$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\rham,g,x\n'), /^parseSpamSubjects: line 1: a carriage return not followed by a line feed$/)
  assertThrows(() => parseSpamSubjects('label,group,subject\nham,,x\n'), /^parseSpamSubjects: line 2, column 2: empty group$/)
})

test('parseCsv: quoted line breaks keep later line numbers right', () => {
  const recs = data.parseCsv('a,"two\nlines"\nb,c\n', 'test')
  assert.equal(recs, [{ line: 1, fields: ['a', 'two\nlines'] }, { line: 3, fields: ['b', 'c'] }])
  assertThrows(() => data.parseCsv('a,"x\ny"\nb,"z', 'test'), /^test: line 3: quoted field in column 2 is never closed$/)
})

test('parseCo2 / parseSeattleWeather: headers, dates, order, labels', () => {
  const co2 = parseCo2('Date,CO2,adjusted CO2\n2000-01-01,1.5,2\n2000-02-01,3,4\n')
  assert.equal([co2.dates, co2.co2.toArray(), co2.adjusted.toArray()], [['2000-01-01', '2000-02-01'], [1.5, 3], [2, 4]])
  assertThrows(() => parseCo2('date,co2\n'), /^parseCo2: line 1: expected the header "Date,CO2,adjusted CO2", got "date,co2"$/)
  assertThrows(() => parseCo2('Date,CO2,adjusted CO2\n2000-13-01,1,2\n'), /^parseCo2: line 2, column 1: "2000-13-01" is not a date YYYY-MM-DD$/)
  assertThrows(() => parseCo2('Date,CO2,adjusted CO2\n2001-02-29,1,2\n'), /^parseCo2: line 2, column 1: "2001-02-29" is not a date/)
  assert.equal(parseCo2('Date,CO2,adjusted CO2\n2000-02-29,1,2\n').dates, ['2000-02-29'])
  assertThrows(() => parseCo2('Date,CO2,adjusted CO2\n2000-02-01,1,2\n2000-01-01,1,2\n'), /^parseCo2: line 3, column 1: date 2000-01-01 does not come after 2000-02-01$/)
  assertThrows(() => parseCo2('Date,CO2,adjusted CO2\n2000-02-01,1,\n'), /^parseCo2: line 2, column 3: "" is not a number$/)
  const head = 'date,precipitation,temp_max,temp_min,wind,weather\n'
  assert.equal(parseSeattleWeather(`${head}2012-01-01,0.0,12.8,-5.0,4.7,fog\n`).y.toArray(), [1])
  assertThrows(() => parseSeattleWeather(`${head}2012-01-01,0.0,12.8,5.0,4.7,hail\n`), /^parseSeattleWeather: line 2, column 6: weather "hail" is not one of drizzle, fog, rain, snow, sun$/)
  assertThrows(() => parseSeattleWeather(`${head}2012-01-01,0.0,12.8,5.0,fog\n`), /^parseSeattleWeather: line 2: expected 6 fields, got 5$/)
  assertThrows(() => parseSeattleWeather(`${head}2012-01-01,0.0,12.8,5.0,4.7,sun\n2012-01-01,0.0,12.8,5.0,4.7,sun\n`), /^parseSeattleWeather: line 3, column 1: date 2012-01-01 does not come after 2012-01-01$/)
})

test('CharVocab: specials first, code point order, clear errors', () => {
  const v = CharVocab.fromTexts(['emma', 'ava'], { specials: ['.'] })
  assert.equal(v.tokens, ['.', 'a', 'e', 'm', 'v'])
  assert.equal(v.encode('.ava.'), [0, 1, 4, 1, 0])
  assert.is(v.decode([2, 3, 3, 1]), 'emma')
  assert.equal(CharVocab.fromTexts(['😀a']).tokens, ['a', '😀'])
  assertThrows(() => v.encode('bob'), /^CharVocab: "b" is not in the vocabulary$/)
  assertThrows(() => v.decode([5]), /^CharVocab.decode: id 5 is outside \[0, 5\)$/)
  assertThrows(() => CharVocab.fromTexts(['a.b'], { specials: ['.'] }), /^CharVocab.fromTexts: special token "." also occurs in the texts$/)
  assertThrows(() => new CharVocab(['a', 'a']), /^CharVocab: token "a" appears twice$/)
  assertThrows(() => new CharVocab(['ab']), /^CharVocab: each token must be one character, got "ab"$/)
})

test.run()

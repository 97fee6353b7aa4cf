/**
 * @file Strict, runtime-neutral text parsing for the bundled datasets: CSV records (RFC 4180:
 * https://www.rfc-editor.org/rfc/rfc4180, quoted fields with "" escapes, LF or CRLF line ends),
 * plain lines, numbers and ISO dates. Every error is a TesseraError that names the parser and the
 * 1-based line (and column, where there is one), e.g. `parseIris: line 3, column 2: "x" is not a number`.
 *
 * One line terminator at the end of the text is allowed; blank lines anywhere else are errors.
 */
import { TesseraError } from '../errors.ts'

/** A parsed CSV record and the 1-based line it starts on. */
export interface CsvRecord {
  line: number
  fields: string[]
}

/** Throws `TesseraError('<source>: line <line>[, column <column>]: <message>')`. */
export function failAt(source: string, line: number, message: string, column?: number): never {
  throw new TesseraError(`${source}: line ${line}${column === undefined ? '' : `, column ${column}`}: ${message}`)
}

function checkText(text: unknown, source: string): asserts text is string {
  if (typeof text !== 'string') throw new TesseraError(`${source}: expected the file's text as a string, got ${typeof text}`)
  if (text.length === 0) throw new TesseraError(`${source}: the text is empty`)
}

/**
 * Splits text into CSV records. Fields may be quoted (`"a, b"`, with `""` for a quote, and line
 * breaks inside quotes); a quote inside an unquoted field, text after a closing quote, an unclosed
 * quote, a lone carriage return or a blank line is an error.
 */
export function parseCsv(text: string, source: string): CsvRecord[] {
  checkText(text, source)
  const records: CsvRecord[] = []
  let line = 1
  let i = 0
  const n = text.length
  while (i < n) {
    const start = line
    if (text[i] === '\n' || text[i] === '\r') failAt(source, start, 'blank line')
    const fields: string[] = []
    for (;;) {
      let field = ''
      if (text[i] === '"') {
        const opened = line
        i++
        for (;;) {
          if (i >= n) failAt(source, opened, `quoted field in column ${fields.length + 1} is never closed`)
          const c = text[i]
          if (c === '"') {
            if (text[i + 1] === '"') { field += '"'; i += 2; continue }
            i++
            break
          }
          if (c === '\n') line++
          field += c
          i++
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') failAt(source, line, 'unexpected text after a closing quote', fields.length + 1)
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') failAt(source, line, 'a quote inside an unquoted field (quote the whole field and double the quote)', fields.length + 1)
          field += text[i++]
        }
      }
      fields.push(field)
      if (i < n && text[i] === ',') { i++; continue }
      break
    }
    if (i < n && text[i] === '\r') {
      if (text[i + 1] !== '\n') failAt(source, line, 'a carriage return not followed by a line feed')
      i++
    }
    if (i < n) i++ // the '\n'
    records.push({ line: start, fields })
    line++
  }
  return records
}

/** The lines of a text with their 1-based numbers (LF or CRLF; blank lines are errors). */
export function parseLines(text: string, source: string): { line: number; text: string }[] {
  checkText(text, source)
  const body = text.endsWith('\n') ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text
  return body.split('\n').map((raw, k) => {
    const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (t === '') failAt(source, k + 1, 'blank line')
    return { line: k + 1, text: t }
  })
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A decimal number (no blanks, no hex, no "Infinity"), or an error naming line and column. */
export function parseNumber(s: string, source: string, line: number, column: number): number {
  if (!NUMBER.test(s)) failAt(source, line, `${JSON.stringify(s)} is not a number`, column)
  const x = Number(s)
  if (!Number.isFinite(x)) failAt(source, line, `${JSON.stringify(s)} is out of range`, column)
  return x
}

/** An integer in [min, max], or an error naming line and column. */
export function parseInteger(s: string, source: string, line: number, column: number, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(s)) failAt(source, line, `${JSON.stringify(s)} is not an integer`, column)
  const x = Number(s)
  if (x < min || x > max) failAt(source, line, `${x} is outside [${min}, ${max}]`, column)
  return x
}

/** Checks that a record has exactly `count` fields. */
export function expectFields(rec: CsvRecord, count: number, source: string): void {
  if (rec.fields.length !== count) failAt(source, rec.line, `expected ${count} fields, got ${rec.fields.length}`)
}

/** Checks that the first record is exactly the expected header. */
export function expectHeader(records: CsvRecord[], header: readonly string[], source: string): void {
  const got = records[0].fields
  if (got.length !== header.length || got.some((f, k) => f !== header[k])) {
    failAt(source, records[0].line, `expected the header ${JSON.stringify(header.join(','))}, got ${JSON.stringify(got.join(','))}`)
  }
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Checks an ISO date `YYYY-MM-DD` (a real calendar day) and returns it unchanged. */
export function parseDate(s: string, source: string, line: number, column: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s)
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0]
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
  if (!m || mo < 1 || mo > 12 || d < 1 || d > DAYS[mo - 1] || (mo === 2 && d === 29 && !leap)) {
    failAt(source, line, `${JSON.stringify(s)} is not a date YYYY-MM-DD`, column)
  }
  return s
}

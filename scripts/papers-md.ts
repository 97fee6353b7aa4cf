/**
 * @file Generates PAPERS.md (the paper registry table with derived statuses) from src/papers.ts.
 *
 *   npx tsx scripts/papers-md.ts           # (re)writes PAPERS.md
 *   npx tsx scripts/papers-md.ts --check   # exits 1 when the committed PAPERS.md is out of date
 *
 * `npm run papers:check` runs the check.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as tessera from '../src/index.ts'
import { papersMarkdown } from '../src/papers.ts'

const target = fileURLToPath(new URL('../PAPERS.md', import.meta.url))
const text = papersMarkdown(tessera)

if (process.argv.includes('--check')) {
  const current = existsSync(target) ? readFileSync(target, 'utf8') : ''
  if (current !== text) {
    console.error('PAPERS.md is out of date: run `npx tsx scripts/papers-md.ts` and commit the result')
    process.exitCode = 1
  } else {
    console.log('PAPERS.md is up to date')
  }
} else {
  writeFileSync(target, text)
  console.log(`wrote ${target}`)
}

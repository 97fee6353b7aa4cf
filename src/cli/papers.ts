/**
 * @file `tessera papers [NN]` and `tessera demo NN [--quick]`: the paper registry (src/papers.ts) on
 * the command line. `papers` prints one row per paper (number, short name, derived status, pieces
 * found / listed, demo); `papers NN` prints that paper's card with ✓/✗ per piece; `demo NN` runs the
 * paper's demo script from a source checkout (node --import tsx, like `tessera bench`), forwarding
 * `--quick` and any other arguments.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as tessera from '../index.ts'
import { PAPERS, findPaper, paperCard, papersTable, statusCounts, type PaperEntry } from '../papers.ts'
import { TesseraError } from '../errors.ts'

/** The repository root of a source checkout (where examples/ lives). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function paperArg(arg: string | undefined, command: string): PaperEntry {
  const n = arg === undefined ? NaN : Number(arg)
  if (!/^\d{1,2}$/.test(arg ?? '') || !Number.isInteger(n)) throw new TesseraError(`tessera ${command}: the paper number must be 1-${PAPERS.length}, got ${JSON.stringify(arg)}`)
  const entry = findPaper(n)
  if (!entry) throw new TesseraError(`tessera ${command}: the paper number must be 1-${PAPERS.length}, got ${arg}`)
  return entry
}

/** `tessera papers [NN]`: writes the table (or one card) through `write`; returns the exit code. */
export function papers(args: readonly string[], write: (line: string) => void = console.log): number {
  if (args.length > 1) throw new TesseraError(`tessera papers: unexpected argument ${JSON.stringify(args[1])}`)
  if (args.length === 1) {
    for (const line of paperCard(paperArg(args[0], 'papers'), tessera)) write(line)
    return 0
  }
  for (const line of papersTable(tessera)) write(line)
  const c = statusCounts(tessera)
  write(`${PAPERS.length} papers: ${c.implemented} implemented, ${c.partial} partial, ${c.planned} planned`)
  return 0
}

/** The script path of a demo command like `npx tsx examples/mezo-digits.ts`. */
export function demoScript(demo: string): string {
  const words = demo.trim().split(/\s+/)
  const i = words.indexOf('tsx')
  const script = i >= 0 ? words[i + 1] : words[words.length - 1]
  if (!script) throw new TesseraError(`tessera demo: cannot find a script in ${JSON.stringify(demo)}`)
  return script
}

/** `tessera demo NN [--quick]`: runs the paper's demo; returns its exit code (0 with a note when it has none). */
export function demo(args: readonly string[], write: (line: string) => void = console.log): number {
  const [num, ...rest] = args
  const entry = paperArg(num, 'demo')
  if (entry.demo === null) {
    write(`paper ${String(entry.number).padStart(2, '0')} (${entry.short}) has no demo yet`)
    return 0
  }
  const script = fileURLToPath(new URL(demoScript(entry.demo), new URL('../../', import.meta.url)))
  if (!existsSync(script)) {
    console.error(`tessera demo: ${entry.demo} needs the source checkout (examples/ is not part of the installed package)`)
    return 1
  }
  write(`$ ${entry.demo}${rest.length ? ' ' + rest.join(' ') : ''}`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...rest], { stdio: 'inherit', cwd: REPO_ROOT })
  return r.status ?? 1
}

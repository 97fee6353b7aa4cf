/**
 * @file Runs the demo of every implemented paper in the registry (src/papers.ts), one child process
 * each, and ends with a one-line summary CI reads.
 *
 *   npm run demos -- --quick          # every implemented paper's quick mode (CI runs this)
 *   npm run demos -- --quick 41 70    # only these papers
 *   npm run demos                     # full demos (minutes)
 *
 * Each demo runs as `node --import tsx <script> [--quick]` from the repository root with its output
 * passed through, under a time limit (60 s per quick demo, 15 min per full one). The last line is
 * `demos: N passed, M failed (T s)`; the exit code is 1 when any demo failed or none ran.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import * as tessera from '../src/index.ts'
import { PAPERS, paperStatus } from '../src/papers.ts'
import { demoScript } from '../src/cli/papers.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const args = process.argv.slice(2)
const quick = args.includes('--quick')
const only = new Set(args.filter((a) => /^\d{1,2}$/.test(a)).map(Number))
const unknown = args.filter((a) => a !== '--quick' && !/^\d{1,2}$/.test(a))
if (unknown.length) {
  console.error(`demos: unexpected argument ${JSON.stringify(unknown[0])} (use --quick and paper numbers)`)
  process.exit(2)
}

const chosen = PAPERS.filter((p) => p.demo !== null && paperStatus(p, tessera) === 'implemented' && (only.size === 0 || only.has(p.number)))
const limitMs = quick ? 60_000 : 15 * 60_000
const results: { number: number; ok: boolean; seconds: number }[] = []
const start = performance.now()

for (const p of chosen) {
  const script = demoScript(p.demo!)
  const tag = `${String(p.number).padStart(2, '0')} ${p.short}`
  console.log(`\n=== ${tag}: ${script}${quick ? ' --quick' : ''}`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...(quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit', timeout: limitMs })
  const seconds = (performance.now() - t0) / 1000
  const ok = r.status === 0 && r.error === undefined
  if (!ok) console.log(`=== ${tag}: FAILED (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`)
  results.push({ number: p.number, ok, seconds })
}

console.log('\npaper  result  seconds')
for (const r of results) console.log(`${String(r.number).padStart(5)}  ${r.ok ? 'ok    ' : 'FAILED'}  ${r.seconds.toFixed(1).padStart(7)}`)
const failed = results.filter((r) => !r.ok).length
console.log(`demos: ${results.length - failed} passed, ${failed} failed (${((performance.now() - start) / 1000).toFixed(1)} s)`)
if (failed > 0 || results.length === 0) process.exitCode = 1

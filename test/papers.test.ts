/**
 * @file The paper registry (src/papers.ts, issue 8): all 77 papers present once with titles; every
 * 'implemented' paper has existing test files, an existing demo script and every piece exported; a
 * missing piece keeps a paper from 'implemented' (fake entries); `tessera papers` prints 77 rows and a
 * card with ✓/✗; `tessera demo` on a paper without a demo says so; PAPERS.md is up to date.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as tessera from '../src/index.ts'
import {
  PAPERS, findPaper, paperCard, paperStatus, papersMarkdown, papersTable, pieceExists, resolvePiece, statusCounts, type PaperEntry,
} from '../src/papers.ts'
import { demo, demoScript, papers } from '../src/cli/papers.ts'
import { main } from '../src/cli/main.ts'

const root = fileURLToPath(new URL('../', import.meta.url))
const abs = (p: string): string => root + p

test('all 77 numbers are present exactly once, in order, each with a title, short name and kind', () => {
  assert.is(PAPERS.length, 77)
  assert.equal(PAPERS.map((p) => p.number), Array.from({ length: 77 }, (_, i) => i + 1))
  for (const p of PAPERS) {
    assert.ok(p.title.length > 5 && p.short.length > 0 && p.kind.length > 0, `paper ${p.number}`)
    assert.ok(p.pieces.length > 0, `paper ${p.number} lists its pieces`)
    assert.is(new Set(p.pieces).size, p.pieces.length, `paper ${p.number} has no duplicate pieces`)
    for (const piece of p.pieces) assert.match(piece, /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/, `paper ${p.number}: ${piece}`)
  }
  assert.is(findPaper(46)?.title, 'Fine-Tuning Language Models with Just Forward Passes')
  assert.is(findPaper(41)?.short, 'S4D')
  assert.is(findPaper(78), undefined)
})

test('every listed test file exists; every demo names an existing script', () => {
  for (const p of PAPERS) {
    for (const t of p.tests) assert.ok(existsSync(abs(t)), `paper ${p.number}: ${t}`)
    if (p.demo !== null) assert.ok(existsSync(abs(demoScript(p.demo))), `paper ${p.number}: ${p.demo}`)
  }
})

test('implemented papers: every piece resolves, tests exist, demo script exists; the known ones are implemented', () => {
  const implemented = PAPERS.filter((p) => paperStatus(p, tessera) === 'implemented')
  assert.ok(implemented.length >= 3)
  for (const p of implemented) {
    for (const piece of p.pieces) assert.ok(resolvePiece(tessera, piece) !== undefined, `paper ${p.number}: ${piece}`)
    assert.ok(p.tests.length > 0 && p.tests.every((t) => existsSync(abs(t))), `paper ${p.number} tests`)
    assert.ok(p.demo !== null && existsSync(abs(demoScript(p.demo))), `paper ${p.number} demo`)
  }
  // Issue 7's three, and the sequence family of issue 8.
  for (const n of [12, 24, 46, 18, 21, 33, 38, 41, 43, 55, 59, 63, 70, 71, 76]) assert.is(paperStatus(findPaper(n)!, tessera), 'implemented', `paper ${n}`)
  // The vision family of issue 9.
  for (const n of [2, 3, 4, 6, 14, 16, 30, 35, 39, 47, 52, 65]) assert.is(paperStatus(findPaper(n)!, tessera), 'implemented', `paper ${n}`)
  // Built but without a demo, or with pieces still planned: partial, not implemented.
  // 74's NAS pieces come with the search family, so it stays partial.
  for (const n of [29, 42, 27, 74]) assert.is(paperStatus(findPaper(n)!, tessera), 'partial', `paper ${n}`)
  assert.is(paperStatus(findPaper(1)!, tessera), 'planned')
  const c = statusCounts(tessera)
  assert.is(c.implemented + c.partial + c.planned, 77)
})

test('status is derived: a missing piece, no tests or no demo keeps a paper from implemented', () => {
  const base: PaperEntry = { number: 99, short: 'fake', title: 'A fake paper', kind: 'test', pieces: ['optim.MeZO', 'ssm.S4D.prototype.step'], tests: ['test/optim/mezo.test.ts'], demo: 'npx tsx examples/mezo-digits.ts' }
  assert.is(paperStatus(base, tessera), 'implemented')
  assert.is(paperStatus({ ...base, pieces: [...base.pieces, 'optim.DoesNotExist'] }, tessera), 'partial')
  assert.is(paperStatus({ ...base, pieces: ['nope.nothing', 'optim.MeZO.nope'] }, tessera), 'planned')
  assert.is(paperStatus({ ...base, tests: [] }, tessera), 'partial')
  assert.is(paperStatus({ ...base, demo: null }, tessera), 'partial')
  assert.is(paperStatus({ ...base, pieces: [] }, tessera), 'planned')
  assert.ok(pieceExists(tessera, 'optim.LAMB'))
  assert.not.ok(pieceExists(tessera, 'optim.'))
  assert.not.ok(pieceExists(tessera, 'optim.LAMB.x.y'))
  assert.not.ok(pieceExists({ a: null }, 'a.b'))
})

test('tessera papers prints 77 rows and a summary; papers NN prints the card with ✓/✗', () => {
  const lines: string[] = []
  assert.is(papers([], (l) => lines.push(l)), 0)
  const rows = lines.filter((l) => /^\d\d {2}/.test(l))
  assert.is(rows.length, 77)
  assert.equal(rows, papersTable(tessera))
  assert.match(rows[45], /^46 {2}MeZO\s+implemented\s+4\/4 {2}npx tsx examples\/mezo-digits\.ts$/)
  const c = statusCounts(tessera)
  assert.is(lines[lines.length - 1], `77 papers: ${c.implemented} implemented, ${c.partial} partial, ${c.planned} planned`)
  const card: string[] = []
  assert.is(papers(['41'], (l) => card.push(l)), 0)
  assert.equal(card, paperCard(findPaper(41)!, tessera))
  assert.match(card[0], /^41 S4D: On the Parameterization/)
  assert.ok(card.includes('  ✓ ssm.S4D'), card.join('\n'))
  const card42: string[] = []
  papers(['42'], (l) => card42.push(l))
  assert.ok(card42.includes('  ✗ rl.grpo'), card42.join('\n'))
})

test('tessera demo: a paper without a demo says so; bad numbers are usage errors', () => {
  const out: string[] = []
  assert.is(demo(['29'], (l) => out.push(l)), 0)
  assert.equal(out, ['paper 29 (LAMB) has no demo yet'])
  const err = console.error
  console.error = () => {}
  try {
    assert.is(main(['demo', '0']), 2)
    assert.is(main(['papers', '78']), 2)
    assert.is(main(['papers', 'x']), 2)
  } finally { console.error = err }
  assert.is(demoScript('npx tsx examples/mezo-digits.ts'), 'examples/mezo-digits.ts')
})

test('PAPERS.md matches the registry (npm run papers:check)', () => {
  assert.is(readFileSync(abs('PAPERS.md'), 'utf8'), papersMarkdown(tessera))
})

test.run()

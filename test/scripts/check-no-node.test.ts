/**
 * @file scripts/check-no-node.ts: the real tree passes, and a planted violation in a temporary copy
 * of src/ (never src/ itself) is caught with its file and line; prose and strings never trip it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkSource, checkTree } from '../../scripts/check-no-node.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))

test('the repository core uses no Node API', () => {
  assert.equal(checkTree(root), [])
})

test('a planted violation in a temporary copy is caught', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-no-node-'))
  try {
    cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true })
    writeFileSync(join(dir, 'src', 'ops', 'planted.ts'), "export const x = 1\nimport { readFileSync } from 'node:fs'\nexport const y = process.env.HOME\n")
    writeFileSync(join(dir, 'src', 'node', 'allowed.ts'), "import { readFileSync } from 'fs'\nexport const y = process.env.HOME\n")
    const found = checkTree(dir)
    assert.equal(found.map((v) => `${v.file}:${v.line}`), ['src/ops/planted.ts:2', 'src/ops/planted.ts:3'])
    assert.match(found[0].what, /node:fs/)
    assert.match(found[1].what, /process/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('each kind of Node use is caught; comments, strings and properties are not', () => {
  const hits = (code: string) => checkSource('x.ts', code).length
  assert.is(hits("import * as p from 'path'"), 1)
  assert.is(hits("import { Worker } from 'worker_threads'"), 1)
  assert.is(hits("const m = await import('node:child_process')"), 1)
  assert.is(hits("export { x } from 'fs/promises'"), 1)
  assert.is(hits('const b = Buffer.from([1])'), 1)
  assert.is(hits('const d = __dirname'), 1)
  assert.is(hits("const fs = require('fs')"), 2) // require( and the built-in
  assert.is(hits('globalThis.process'), 1)
  assert.is(hits("// import fs from 'node:fs'; process.exit()\n/* Buffer */ const s = 'process Buffer require(x)'"), 0)
  assert.is(hits('const r = /process/g; obj.process(1); const t = `Buffer ${1}`'), 0)
  assert.is(hits("import { tensor } from '../tensor.ts'"), 0)
})

test.run()

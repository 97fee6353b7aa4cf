import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { train } from '../../src/cli/train.ts'
import { evaluate } from '../../src/cli/evaluate.ts'
import { parseArgs } from '../../src/cli/args.ts'
import { Progress } from '../../src/cli/progress.ts'
import { readSafetensors } from '../../src/node/index.ts'
import { assertThrows } from '../helpers.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'))

test('train --quick writes weights, curves and metrics; eval reloads them and gets the same accuracy', () => {
  const lines: string[] = []
  const sink = { isTTY: false, write: (s: string) => { lines.push(s) } }
  const r = train(['--quick', '--out', dir, '--seed', '3'], sink)
  assert.ok(r.testAccuracy > 0.8, `one epoch of the CNN reaches ${r.testAccuracy}`)
  for (const f of r.files) assert.ok(existsSync(f), f)
  const { metadata, tensors } = readSafetensors(join(dir, 'model.safetensors'))
  assert.equal(metadata, { format: 'tessera-train', model: 'cnn', data: 'digits', seed: '3' })
  assert.ok('1.weight' in tensors && '1.bias' in tensors, Object.keys(tensors).join(','))
  assert.match(readFileSync(join(dir, 'curves.svg'), 'utf8'), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  assert.is(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).testAccuracy, r.testAccuracy)
  assert.ok(lines.some((l) => /^epoch 1\/1 {2}step 45\/45 {2}loss \d\.\d{4} {2}acc \d+\.\d% {2}\d+ ex\/s {2}ETA 0s\n$/.test(l)), lines.join(''))
  assert.ok(lines.some((l) => /^test accuracy \d+\.\d\d% on 359 held-out examples/.test(l)))
  const out: string[] = []
  const e = evaluate(['--weights', join(dir, 'model.safetensors')], (s) => out.push(s))
  assert.is(e.accuracy, r.testAccuracy)
  assert.is(e.perClass.length, 10)
})

test('the mlp trains on tabular data too', () => {
  const r = train(['--model', 'mlp', '--data', 'iris', '--epochs', '30', '--out', join(dir, 'iris')], { isTTY: false, write: () => {} })
  assert.ok(r.testAccuracy >= 0.9, `iris accuracy ${r.testAccuracy}`)
})

test('options are strict: unknown, malformed and missing values are errors', () => {
  const specs = { lr: { type: 'number', default: 0.1, description: '' }, name: { type: 'string', choices: ['a', 'b'], description: '' }, quick: { type: 'boolean', description: '' } } as const
  assert.equal(parseArgs('t', ['--lr=0.5', '--name', 'b', '--quick'], specs), { lr: 0.5, name: 'b', quick: true })
  assertThrows(() => parseArgs('t', ['--name', 'a', '--nope'], specs), /t: unknown option --nope/)
  assertThrows(() => parseArgs('t', ['--name', 'c'], specs), /t: --name must be one of a, b, got "c"/)
  assertThrows(() => parseArgs('t', ['--name', 'a', '--lr', 'x'], specs), /t: --lr must be a number, got "x"/)
  assertThrows(() => parseArgs('t', ['--name'], specs), /t: --name needs a value/)
  assertThrows(() => parseArgs('t', [], specs), /t: --name is required/)
  assertThrows(() => parseArgs('t', ['--name', 'a', 'stray'], specs), /t: unexpected argument "stray"/)
  assertThrows(() => train(['--model', 'cnn', '--data', 'iris', '--quick', '--out', dir], { isTTY: false, write: () => {} }), /the cnn model needs image data/)
})

test('the progress bar redraws in place on a terminal', () => {
  let text = ''
  const p = new Progress({ isTTY: true, columns: 120, write: (s) => { text += s } }, 4, 0)
  p.update({ epoch: 1, epochs: 2, step: 1, steps: 2, loss: 1, accuracy: 0.5, examples: 10, elapsedMs: 1000 }, 1000)
  assert.match(text, /^\r\[#+\.+\] epoch 1\/2 {2}step 1\/2 {2}loss 1\.0000 {2}acc 50\.0% {2}10 ex\/s {2}ETA 3s\x1b\[K$/)
})

test('the bin script runs: --help exits 0, an unknown command exits 2', () => {
  const bin = new URL('../../bin/tessera.mjs', import.meta.url).pathname
  const help = spawnSync(process.execPath, [bin, 'train', '--help'], { encoding: 'utf8' })
  assert.is(help.status, 0)
  assert.match(help.stdout, /usage: tessera train \[options\]/)
  const bad = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' })
  assert.is(bad.status, 2)
  assert.match(bad.stderr, /tessera: unknown command "frobnicate"/)
})

test.after(() => rmSync(dir, { recursive: true, force: true }))
test.run()

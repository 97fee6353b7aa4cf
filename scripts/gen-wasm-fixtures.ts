/**
 * @file Writes test/fixtures/wasm-opcodes.json: for every instruction src/wasm/body.ts can emit,
 * the bytes wabt's `wat2wasm` (Debian package `wabt`, 1.0.32) produces for it, as an independent
 * oracle for the hand-written encoder. Run offline once; the tests only read the JSON.
 *
 *   apt-get install -y wabt && npx tsx scripts/gen-wasm-fixtures.ts
 *
 * Each instruction is assembled alone in a function body with `--no-check` (so operands need not be
 * on the stack) and the body's bytes between the locals header and the final `end` are extracted.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LANES, OP, SIMD } from '../src/wasm/body.ts'

const dir = mkdtempSync(join(tmpdir(), 'wasm-fx-'))

function readU32(b: Uint8Array, pos: { i: number }): number {
  let result = 0, shift = 0, byte: number
  do { byte = b[pos.i++]; result += (byte & 0x7f) * 2 ** shift; shift += 7 } while (byte & 0x80)
  return result
}

/** The instruction bytes of the single function in `wat`'s module. */
function bodyBytes(instr: string): number[] {
  const src = join(dir, 'm.wat'), out = join(dir, 'm.wasm')
  writeFileSync(src, `(module (memory 1) (func ${instr}))`)
  execFileSync('wat2wasm', ['--no-check', '--enable-relaxed-simd', src, '-o', out])
  const b = new Uint8Array(readFileSync(out))
  const pos = { i: 8 }
  while (pos.i < b.length) {
    const id = b[pos.i++], size = readU32(b, pos), end = pos.i + size
    if (id === 10) {
      readU32(b, pos) // function count (1)
      const bodySize = readU32(b, pos), bodyEnd = pos.i + bodySize
      const groups = readU32(b, pos)
      for (let g = 0; g < groups; g++) { readU32(b, pos); pos.i++ }
      return [...b.subarray(pos.i, bodyEnd - 1)] // drop the function's final `end`
    }
    pos.i = end
  }
  throw new Error(`no code section for ${instr}`)
}

// Immediates to give each instruction in text form, matching what the tests pass to Body.
const IMMEDIATE: Record<string, string> = {
  block: '', loop: '', if: '', br: '1', br_if: '0',
  'local.get': '3', 'local.set': '130', 'local.tee': '0',
  'i32.const': '-12345', 'f32.const': '1.5', 'f64.const': '-2.25', call: '0',
}
const cases: { name: string; wat: string; bytes: number[] }[] = []
for (const name of Object.keys(OP)) {
  if (name === 'else' || name === 'end') continue // only valid inside a block: covered below
  const wat = name in IMMEDIATE ? `${name} ${IMMEDIATE[name]}`.trim() : name
  const text = name === 'block' || name === 'loop' || name === 'if' ? `${name} end` : wat
  cases.push({ name, wat: text, bytes: bodyBytes(text) })
}
cases.push({ name: 'if-else', wat: 'if (result f32) f32.const 1 else f32.const 2 end', bytes: bodyBytes('if (result f32) f32.const 1 else f32.const 2 end') })
// wabt 1.0.32 still spells the relaxed dot products without the `relaxed_` of the final proposal.
const WABT_NAME: Record<string, string> = {
  'i16x8.relaxed_dot_i8x16_i7x16_s': 'i16x8.dot_i8x16_i7x16_s',
  'i32x4.relaxed_dot_i8x16_i7x16_add_s': 'i32x4.dot_i8x16_i7x16_add_s',
}
for (const name of Object.keys(SIMD)) {
  let wat = WABT_NAME[name] ?? name
  if (name === 'v128.const') wat = 'v128.const f32x4 1 -2 0.5 3'
  else if (name in LANES) wat = `${name} ${LANES[name as keyof typeof LANES] === 2 ? 1 : 3}`
  else if (name === 'i8x16.shuffle') wat = `${name} 8 9 10 11 12 13 14 15 0 1 2 3 20 21 22 31`
  cases.push({ name, wat, bytes: bodyBytes(wat) })
}
// Memory arguments: a non-default offset and alignment.
for (const wat of ['f32.load offset=20', 'i32.store offset=4 align=1', 'i32.load8_u offset=300', 'v128.load offset=16 align=4', 'v128.store offset=48', 'v128.load32_splat offset=12']) {
  cases.push({ name: `memarg ${wat}`, wat, bytes: bodyBytes(wat) })
}
const version = execFileSync('wat2wasm', ['--version']).toString().trim()
const target = new URL('../test/fixtures/wasm-opcodes.json', import.meta.url)
writeFileSync(target, JSON.stringify({ generator: `scripts/gen-wasm-fixtures.ts with wabt wat2wasm ${version}`, cases }, null, 0) + '\n')
console.log(`wrote ${cases.length} cases to ${target.pathname}`)

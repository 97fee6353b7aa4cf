/**
 * @file Runs every `*.test.ts` under test/ in one process with uvu, then prints the closing line
 * CI reads: `N passed, M failed`. `npm test -- pattern` runs only files whose path matches;
 * `TESSERA_BACKEND=wasm npm test` runs it with the WebAssembly kernels selected (src/backend.ts).
 */
import { readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from 'uvu/run'
import { getBackend, setBackend, type Backend } from '../src/backend.ts'

const root = resolve(fileURLToPath(new URL('.', import.meta.url)))
const pattern = process.argv[2] ? new RegExp(process.argv[2]) : null

function find(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : find(path)
    return name.endsWith('.test.ts') ? [path] : []
  })
}

// The backend is chosen automatically (WebAssembly SIMD in Node 20); TESSERA_BACKEND=js or wasm forces one.
const backend = process.env.TESSERA_BACKEND
if (backend) setBackend(backend as Backend)
console.log(`backend: ${getBackend()}${backend ? ' (TESSERA_BACKEND)' : ' (automatic)'}`)

const files = find(root).filter((f) => !pattern || pattern.test(relative(root, f)))
let captured = ''
const write = process.stdout.write.bind(process.stdout)
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured += typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk)
  return (write as (...a: unknown[]) => boolean)(chunk, ...rest)
}) as typeof process.stdout.write

await run(files.map((file) => ({ name: relative(root, file), file })))
process.stdout.write = write
const plain = captured.replace(/\x1b\[[0-9;]*m/g, '')
const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0)
const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0)
const skipped = Number(/Skipped:\s+(\d+)/.exec(plain)?.[1] ?? 0)
const failed = total - passed - skipped
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
if (failed > 0 || total === 0) process.exitCode = 1

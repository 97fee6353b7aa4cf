/**
 * @file Writes every generated WebAssembly kernel module (src/wasm/modules.ts) to
 * `<outDir>/<name>.wasm` (default dist/wasm), for runtimes that cannot compile WebAssembly from bytes
 * at run time (workerd imports them as modules). `npm run build` runs it after tsc.
 *
 *   npx tsx scripts/build-wasm.ts [outDir]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WASM_MODULES } from '../src/wasm/modules.ts'
import { validates } from '../src/wasm/runtime.ts'

export function writeWasmModules(dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  return Object.entries(WASM_MODULES).map(([name, bytes]) => {
    const path = join(dir, `${name}.wasm`)
    const b = bytes()
    if (!validates(b)) throw new Error(`build-wasm: ${name} does not validate`)
    writeFileSync(path, b)
    return path
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../dist/wasm', import.meta.url))
  for (const p of writeWasmModules(dir)) console.log(`wrote ${p}`)
}

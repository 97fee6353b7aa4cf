/**
 * @file Writes every generated WebAssembly kernel module (src/wasm/modules.ts) to
 * `<outDir>/<name>.wasm` (default dist/wasm), for runtimes that cannot compile WebAssembly from bytes
 * at run time (workerd imports them as modules). `npm run build` runs it after tsc.
 *
 *   npx tsx scripts/build-wasm.ts [outDir]
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { WASM_MODULES } from '../src/wasm/modules.ts'
import { validates } from '../src/wasm/runtime.ts'

/**
 * Whether `bytes` validate with relaxed SIMD switched on: Node 20 ships it behind a flag, so the
 * fused kernels (for runtimes where it is on, e.g. Deno, Chromium, workerd) are checked in a child.
 */
function validatesRelaxed(bytes: Uint8Array): boolean {
  const code = 'let b=[];process.stdin.on("data",(d)=>b.push(d)).on("end",()=>process.exit(WebAssembly.validate(Buffer.concat(b))?0:1))'
  return spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '-e', code], { input: bytes }).status === 0
}

export function writeWasmModules(dir: string): string[] {
  mkdirSync(dir, { recursive: true })
  return Object.entries(WASM_MODULES).map(([name, bytes]) => {
    const path = join(dir, `${name}.wasm`)
    const b = bytes()
    if (!validates(b) && !validatesRelaxed(b)) throw new Error(`build-wasm: ${name} does not validate`)
    writeFileSync(path, b)
    return path
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('../dist/wasm', import.meta.url))
  for (const p of writeWasmModules(dir)) console.log(`wrote ${p}`)
}

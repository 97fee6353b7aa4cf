/**
 * @file The end of the portable bundle: `runAll()` runs the queued tests and the determinism probe.
 * Hosts (Node, Bun, Deno, workerd, Chromium) import the bundle and call it.
 */
import { runQueued } from './uvu-shim.ts'
import { determinism } from './determinism.ts'
// Hosts that cannot compile WebAssembly at run time (workerd) hand in the build-time modules first.
export { provideModules } from '../../src/wasm/runtime.ts'

export async function runAll() {
  const started = Date.now()
  const result = await runQueued()
  return { ...result, ms: Date.now() - started, determinism: determinism() }
}

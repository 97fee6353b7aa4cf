/**
 * @file A monotonic millisecond clock for the core. The core compiles against plain ES2022, whose
 * lib has no `performance` typing; every runtime tessera targets (Node, Deno, Bun, workerd,
 * browsers) provides `performance.now()`, and `Date.now()` is the fallback.
 */
export const now = (): number => (globalThis as { performance?: { now(): number } }).performance?.now() ?? Date.now()

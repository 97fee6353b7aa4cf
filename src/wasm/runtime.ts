/**
 * @file Where WebAssembly runs: feature detection (SIMD, relaxed SIMD, shared memory), one
 * `WebAssembly.Memory` for every kernel module, and compilation from bytes with the result cached
 * per module. Runtimes that forbid compiling at run time (workerd: "Wasm code generation disallowed
 * by embedder") can hand in precompiled `WebAssembly.Module`s with `provideModules` instead.
 *
 * The memory is the kernels' scratch space: operands are packed into it per call and results copied
 * out, so tensors stay ordinary typed arrays and need no `dispose()`.
 */
import { Body } from './body.ts'
import { encodeModule, ValType } from './encode.ts'

// The core compiles against plain ES2022 (no DOM or Node types), which has no WebAssembly typings:
// these are the few members used here, read from globalThis so a runtime without WebAssembly loads.
/** A compiled module (opaque). */
export type WasmModule = object
/** A linear memory. */
export interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
export interface WasmApi {
  validate(bytes: Uint8Array): boolean
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> }
  Memory: new (desc: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
}
const api = (): WasmApi | undefined => (globalThis as { WebAssembly?: WasmApi }).WebAssembly

/** Whether `bytes` is a valid module in this runtime (false when WebAssembly is missing). */
export function validates(bytes: Uint8Array): boolean {
  try {
    return api()?.validate(bytes) ?? false
  } catch {
    return false
  }
}

/** A one-function module returning `v128.const 0`, or (relaxed) `relaxed_madd(0, 0, 0)`. */
function probe(relaxed: boolean): Uint8Array {
  const f = new Body(0)
  f.f32x4(0)
  if (relaxed) f.f32x4(0).f32x4(0).simd('f32x4.relaxed_madd')
  return encodeModule({ memory: { min: 1 }, functions: [{ name: 'probe', type: { params: [], results: [ValType.V128] }, locals: [], body: f.finish() }] })
}

export interface WasmFeatures { simd: boolean; relaxedSimd: boolean; compileFromBytes: boolean }

let features: WasmFeatures | null = null

/** What this runtime supports (probed once). */
export function wasmFeatures(): WasmFeatures {
  if (features) return features
  const simdProbe = probe(false)
  const simd = validates(simdProbe)
  let compileFromBytes = false
  if (simd) {
    try {
      new (api()!.Module)(simdProbe)
      compileFromBytes = true
    } catch {
      compileFromBytes = false
    }
  }
  features = { simd, relaxedSimd: simd && validates(probe(true)), compileFromBytes }
  return features
}

/** The runtime's WebAssembly object (throws when there is none). */
export function wasmApi(): WasmApi {
  const w = api()
  if (!w) throw new Error('wasm: this runtime has no WebAssembly')
  return w
}

const PAGE = 65536
let memory: WasmMemory | null = null

/** The shared kernel memory, grown to at least `bytes`. */
export function kernelMemory(bytes = 0): WasmMemory {
  if (!memory) memory = new (wasmApi().Memory)({ initial: Math.max(16, Math.ceil(bytes / PAGE)) })
  const need = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE
  if (need > 0) memory.grow(need)
  return memory
}

const compiled = new Map<string, WasmModule>()

/** Registers precompiled modules by name (e.g. loaded from the `.wasm` files `npm run build` writes). */
export function provideModules(modules: Readonly<Record<string, WasmModule>>): void {
  for (const [name, m] of Object.entries(modules)) compiled.set(name, m)
}

/** Whether a module called `name` was provided or compiled already. */
export function hasModule(name: string): boolean {
  return compiled.has(name)
}

/** The module `name`: a provided one, else compiled from `bytes()` (cached). */
export function compileModule(name: string, bytes: () => Uint8Array): WasmModule {
  let m = compiled.get(name)
  if (!m) {
    m = new (wasmApi().Module)(bytes())
    compiled.set(name, m)
  }
  return m
}

/** Instantiates `module` against the kernel memory; returns its exports. */
export function instantiate(module: WasmModule): Record<string, unknown> {
  return new (wasmApi().Instance)(module, { env: { memory: kernelMemory() } }).exports
}

/**
 * @file Every WebAssembly module tessera generates, by name, for the build step that writes them as
 * `.wasm` files (scripts/build-wasm.ts -> dist/wasm/<name>.wasm). Runtimes that forbid compiling at
 * run time (workerd) import those files as modules and pass them to `provideModules`:
 *
 *   import gemm from 'tessera/dist/wasm/gemm-4x8.wasm'   // a WebAssembly.Module in workerd
 *   provideModules({ 'gemm-4x8': gemm }); setBackend('wasm')
 */
import { gemmModuleBytes } from './gemm-module.ts'
import { WASM_GEMM_DEFAULT, wasmGemmModuleName } from './gemm.ts'
import { softmaxModuleBytes } from './softmax-module.ts'
import { WASM_SOFTMAX_MODULE } from './softmax.ts'
import { layerNormModuleBytes } from './layernorm-module.ts'
import { WASM_LAYERNORM_MODULE } from './layernorm.ts'

/** Name -> bytes of each prebuilt module: the kernels `setBackend('wasm')` uses. */
export const WASM_MODULES: Readonly<Record<string, () => Uint8Array>> = {
  [wasmGemmModuleName(WASM_GEMM_DEFAULT)]: () => gemmModuleBytes(WASM_GEMM_DEFAULT, { min: 16 }),
  [WASM_SOFTMAX_MODULE]: () => softmaxModuleBytes({ min: 16 }),
  [WASM_LAYERNORM_MODULE]: () => layerNormModuleBytes({ min: 16 }),
}

/**
 * @file Every WebAssembly module tessera generates, by name, for the build step that writes them as
 * `.wasm` files (scripts/build-wasm.ts -> dist/wasm/<name>.wasm). Runtimes that forbid compiling at
 * run time (workerd) import those files as modules and pass them to `provideModules`:
 *
 *   import gemm from 'tessera/dist/wasm/gemm-4x8.wasm'   // a WebAssembly.Module in workerd
 *   provideModules({ 'gemm-4x8': gemm, ... }); setBackend('wasm')
 */
import { gemmModuleBytes } from './gemm-module.ts'
import { WASM_GEMM_SHAPES, wasmGemmModuleName } from './gemm.ts'
import { softmaxModuleBytes } from './softmax-module.ts'
import { WASM_SOFTMAX_MODULE } from './softmax.ts'
import { layerNormModuleBytes } from './layernorm-module.ts'
import { WASM_LAYERNORM_MODULE } from './layernorm.ts'
import { elementwiseModuleBytes } from './elementwise-module.ts'
import { WASM_ELEMENTWISE_MODULE } from './elementwise.ts'
import { depthwiseModuleBytes } from './depthwise-module.ts'
import { WASM_DEPTHWISE_MODULE } from './depthwise.ts'
import { quantModuleBytes } from './quant-module.ts'
import { WASM_QUANT_MODULE } from './quant.ts'
import { scanModuleBytes } from './scan-module.ts'
import { WASM_SCAN_MODULE } from './scan.ts'

/** Name -> bytes of each prebuilt module: the kernels `setBackend('wasm')` uses. */
export const WASM_MODULES: Readonly<Record<string, () => Uint8Array>> = {
  // Every engine's GEMM shape (wasmGemmConfig picks one at run time).
  ...Object.fromEntries(Object.values(WASM_GEMM_SHAPES).map((cfg) => [wasmGemmModuleName(cfg), () => gemmModuleBytes(cfg, { min: 16 })])),
  [WASM_SOFTMAX_MODULE]: () => softmaxModuleBytes({ min: 16 }),
  [WASM_LAYERNORM_MODULE]: () => layerNormModuleBytes({ min: 16 }),
  [WASM_ELEMENTWISE_MODULE]: () => elementwiseModuleBytes({ min: 16 }),
  [WASM_DEPTHWISE_MODULE]: () => depthwiseModuleBytes({ min: 16 }),
  [WASM_QUANT_MODULE]: () => quantModuleBytes({ min: 16 }),
  [WASM_SCAN_MODULE]: () => scanModuleBytes({ min: 16 }),
}

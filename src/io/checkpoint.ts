/**
 * @file Module checkpoints as safetensors (https://github.com/huggingface/safetensors): a module's
 * state dict (parameters and buffers under PyTorch's dotted names) to bytes and back. Names match
 * PyTorch's `state_dict()` for the same architecture, so a file written by
 * `safetensors.torch.save_file(model.state_dict(), path)` loads into the matching tessera model.
 */
import type { LoadResult, Module } from '../nn/module.ts'
import { loadSafetensors, saveSafetensors, type SaveSafetensorsOptions } from './safetensors.ts'

/**
 * The bytes of a safetensors file holding `module.stateDict()`.
 * @example
 *   const bytes = saveStateDict(model, { metadata: { epoch: '3' } })
 *   loadStateDictFromSafetensors(fresh, bytes)
 */
export function saveStateDict(module: Module, options: SaveSafetensorsOptions = {}): Uint8Array {
  return saveSafetensors(module.stateDict(), options)
}

/**
 * Loads a safetensors file into `module` in place (values are cast to each parameter's dtype).
 * With `strict` (the default) missing or unexpected names throw, as in `module.loadStateDict`.
 * Returns the missing and unexpected names and the file's metadata.
 * @example
 *   const { metadata } = loadStateDictFromSafetensors(model, bytes, { strict: false })
 */
export function loadStateDictFromSafetensors(module: Module, bytes: Uint8Array, opts: { strict?: boolean } = {}): LoadResult & { metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(bytes)
  return { ...module.loadStateDict(tensors, opts), metadata }
}

/**
 * @file Node file helpers for safetensors (https://github.com/huggingface/safetensors): read a
 * file into tensors, write tensors to a file. The format work is in src/io/safetensors.ts.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { loadSafetensors, saveSafetensors, type SafetensorsEntry, type SaveSafetensorsOptions } from '../io/safetensors.ts'

/**
 * Reads a safetensors file (synchronously) and returns its tensors and metadata. Format errors are
 * TesseraErrors that end with the path.
 * @example
 *   const { tensors } = readSafetensors('model.safetensors')
 *   model.loadStateDict(tensors)
 */
export function readSafetensors(path: string | URL): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const buf = readFileSync(path)
  try {
    return loadSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength))
  } catch (err) {
    if (err instanceof TesseraError) throw new TesseraError(`${err.message} (in ${String(path)})`)
    throw err
  }
}

/**
 * Writes tensors to a safetensors file (synchronously, replacing it). Options as in `saveSafetensors`.
 * @example
 *   writeSafetensors('model.safetensors', model.stateDict(), { metadata: { epoch: '10' } })
 */
export function writeSafetensors(path: string | URL, tensors: Record<string, Tensor | SafetensorsEntry>, options: SaveSafetensorsOptions = {}): void {
  writeFileSync(path, saveSafetensors(tensors, options))
}

/** @file The `io` namespace: safetensors (https://github.com/huggingface/safetensors) reading and writing, bytes in and out. */
export {
  loadSafetensors, saveSafetensors, inspectSafetensors, MAX_HEADER_BYTES,
  type SafetensorsDType, type SafetensorsEntry, type SafetensorsEntryInfo, type SafetensorsHeader, type SaveSafetensorsOptions,
} from './safetensors.ts'
export { saveStateDict, loadStateDictFromSafetensors } from './checkpoint.ts'
export { encodeF16, decodeF16, encodeBF16, decodeBF16 } from './float16.ts'

/**
 * @file Reading and writing safetensors (https://github.com/huggingface/safetensors), bytes in and
 * bytes out, with no runtime APIs beyond ES2022, DataView and TextEncoder/TextDecoder.
 *
 * Layout of a file:
 *   [0, 8)           N, the header length, a little-endian u64
 *   [8, 8 + N)       a UTF-8 JSON object: {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}
 *   [8 + N, EOF)     the data buffer; each tensor's bytes, row-major and little-endian, sit at
 *                    [begin, end) relative to the start of this buffer
 *
 * The reader checks the whole header the way the reference implementation does
 * (`safetensors/src/tensor.rs`, `read_metadata` and `Metadata::validate`) before it decodes a
 * single tensor byte: header length within the file and at most 100 MB, valid UTF-8, a JSON object,
 * a known dtype, an integer shape and integer offsets for every entry, no size overflow, a byte
 * range that matches shape and dtype, ranges that tile the data buffer with no gap, overlap or
 * trailing byte. Any problem throws a TesseraError that names the tensor and says what is wrong;
 * nothing is returned from a file that fails.
 *
 * dtypes: F32 -> float32, F64 -> float64, F16 and BF16 -> float32 (decoded by hand, see
 * float16.ts), I8 -> int8, BOOL -> bool, U8, I16, U16, I32 -> int32, and U32, I64, U64 -> int32
 * with a range check (tessera's widest integer type is int32). F8 and smaller float formats are
 * recognised but rejected.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { allocate, isFloating, type DType, type TypedArray } from '../dtype.ts'
import { fromTypedArray } from '../creation.ts'
import { Tensor } from '../tensor.ts'
import { decodeBF16, decodeF16, encodeBF16, encodeF16 } from './float16.ts'

/** The dtypes tessera reads and writes, by their safetensors names. */
export type SafetensorsDType = 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64'

/** Valid safetensors dtypes that tessera cannot represent. */
const UNSUPPORTED = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'])

/** The reference implementation's limit on the header length (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

interface DiskType {
  /** bytes per element */
  size: number
  /** the tessera dtype it loads as */
  loadsAs: DType
  /** 'float' takes floating tensors, 'int' integer and bool tensors, 'bool' only bool tensors */
  kind: 'float' | 'int' | 'bool'
  /** for integer types: the values the disk type holds */
  min?: number
  max?: number
  /** true when the bytes are exactly tessera's storage of `loadsAs` on a little-endian host */
  sameBytes: boolean
  read(v: DataView, at: number): number
  write(v: DataView, at: number, x: number): void
}

const INT32_MIN = -2147483648
const INT32_MAX = 2147483647

/** Reads a 64-bit integer as a number when it fits in int32; otherwise returns NaN (the caller reports it). */
function readI64(v: DataView, at: number): number {
  const lo = v.getInt32(at, true), hi = v.getInt32(at + 4, true)
  return hi === (lo < 0 ? -1 : 0) ? lo : NaN
}

const DISK: Record<SafetensorsDType, DiskType> = {
  BOOL: { size: 1, loadsAs: 'bool', kind: 'bool', min: 0, max: 1, sameBytes: false, read: (v, at) => (v.getUint8(at) ? 1 : 0), write: (v, at, x) => v.setUint8(at, x ? 1 : 0) },
  U8: { size: 1, loadsAs: 'int32', kind: 'int', min: 0, max: 255, sameBytes: false, read: (v, at) => v.getUint8(at), write: (v, at, x) => v.setUint8(at, x) },
  I8: { size: 1, loadsAs: 'int8', kind: 'int', min: -128, max: 127, sameBytes: true, read: (v, at) => v.getInt8(at), write: (v, at, x) => v.setInt8(at, x) },
  I16: { size: 2, loadsAs: 'int32', kind: 'int', min: -32768, max: 32767, sameBytes: false, read: (v, at) => v.getInt16(at, true), write: (v, at, x) => v.setInt16(at, x, true) },
  U16: { size: 2, loadsAs: 'int32', kind: 'int', min: 0, max: 65535, sameBytes: false, read: (v, at) => v.getUint16(at, true), write: (v, at, x) => v.setUint16(at, x, true) },
  I32: { size: 4, loadsAs: 'int32', kind: 'int', min: INT32_MIN, max: INT32_MAX, sameBytes: true, read: (v, at) => v.getInt32(at, true), write: (v, at, x) => v.setInt32(at, x, true) },
  U32: {
    size: 4, loadsAs: 'int32', kind: 'int', min: 0, max: 4294967295, sameBytes: false,
    read: (v, at) => { const x = v.getUint32(at, true); return x <= INT32_MAX ? x : NaN },
    write: (v, at, x) => v.setUint32(at, x, true),
  },
  I64: {
    size: 8, loadsAs: 'int32', kind: 'int', min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, sameBytes: false,
    read: readI64,
    write: (v, at, x) => { v.setInt32(at, x | 0, true); v.setInt32(at + 4, x < 0 ? -1 : 0, true) },
  },
  U64: {
    size: 8, loadsAs: 'int32', kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, sameBytes: false,
    read: (v, at) => { const lo = v.getUint32(at, true); return v.getUint32(at + 4, true) === 0 && lo <= INT32_MAX ? lo : NaN },
    write: (v, at, x) => { v.setUint32(at, x >>> 0, true); v.setUint32(at + 4, 0, true) },
  },
  F16: { size: 2, loadsAs: 'float32', kind: 'float', sameBytes: false, read: (v, at) => decodeF16(v.getUint16(at, true)), write: (v, at, x) => v.setUint16(at, encodeF16(x), true) },
  BF16: { size: 2, loadsAs: 'float32', kind: 'float', sameBytes: false, read: (v, at) => decodeBF16(v.getUint16(at, true)), write: (v, at, x) => v.setUint16(at, encodeBF16(x), true) },
  F32: { size: 4, loadsAs: 'float32', kind: 'float', sameBytes: true, read: (v, at) => v.getFloat32(at, true), write: (v, at, x) => v.setFloat32(at, x, true) },
  F64: { size: 8, loadsAs: 'float64', kind: 'float', sameBytes: true, read: (v, at) => v.getFloat64(at, true), write: (v, at, x) => v.setFloat64(at, x, true) },
}

/** The on-disk dtype each tessera dtype is saved as by default. */
const DEFAULT_DISK: Record<DType, SafetensorsDType> = { float32: 'F32', float64: 'F64', int32: 'I32', int8: 'I8', bool: 'BOOL' }

const isDiskType = (d: unknown): d is SafetensorsDType => typeof d === 'string' && Object.prototype.hasOwnProperty.call(DISK, d)

// ------------------------------------------------------------------ UTF-8 (no DOM or Node typings in the core)

interface Utf8Runtime {
  TextDecoder: new (label: string, opts: { fatal: boolean; ignoreBOM: boolean }) => { decode(bytes: Uint8Array): string }
  TextEncoder: new () => { encode(text: string): Uint8Array }
}
const { TextDecoder: Utf8Decoder, TextEncoder: Utf8Encoder } = globalThis as unknown as Utf8Runtime

// ------------------------------------------------------------------ reading

/** One validated header entry. `dataOffsets` are relative to the start of the data buffer. */
export interface SafetensorsEntryInfo {
  dtype: SafetensorsDType
  shape: number[]
  dataOffsets: [number, number]
}

/** A validated header: what `inspectSafetensors` returns. */
export interface SafetensorsHeader {
  /** header length N in bytes (the data buffer starts at 8 + N) */
  headerLength: number
  tensors: Record<string, SafetensorsEntryInfo>
  metadata: Record<string, string>
}

function fail(message: string): never {
  throw new TesseraError(`safetensors: ${message}`)
}

/** A short description of a JSON value for error messages: `null`, `an array`, `number 5`. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v)
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Sets an own, enumerable property. NOTE: plain assignment would let a tensor named "__proto__"
 * replace the object's prototype instead of becoming a key.
 */
function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/**
 * The keys of the top-level object of a JSON text already accepted by JSON.parse, in order and with
 * repeats (JSON.parse silently keeps the last of two equal keys, which would hide a tensor).
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = []
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const c = json[i]
    if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') depth--
    else if (c === '"') {
      let j = i + 1
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1
      let k = j + 1
      while (k < json.length && (json[k] === ' ' || json[k] === '\t' || json[k] === '\n' || json[k] === '\r')) k++
      if (depth === 1 && json[k] === ':') keys.push(JSON.parse(json.slice(i, j + 1)) as string)
      i = j
    }
  }
  return keys
}

/** Checks one header entry (everything except how it sits among the others). */
function checkEntry(name: string, raw: unknown, dataLength: number): SafetensorsEntryInfo {
  const t = `tensor ${JSON.stringify(name)}`
  if (!isPlainObject(raw)) fail(`${t} must be an object with dtype, shape and data_offsets, got ${describe(raw)}`)
  const { dtype, shape, data_offsets: offsets } = raw
  if (dtype === undefined) fail(`${t} has no dtype`)
  if (typeof dtype !== 'string') fail(`${t} dtype must be a string, got ${describe(dtype)}`)
  if (UNSUPPORTED.has(dtype)) fail(`${t} has dtype ${dtype}, which tessera cannot load`)
  if (!isDiskType(dtype)) fail(`${t} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DISK).join(', ')})`)
  if (shape === undefined) fail(`${t} has no shape`)
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${t} shape ${JSON.stringify(shape)} must be a list of non-negative integers`)
  if (offsets === undefined) fail(`${t} has no data_offsets`)
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`${t} data_offsets ${JSON.stringify(offsets)} must be two non-negative integers [begin, end]`)
  }
  const [begin, end] = offsets as [number, number]
  const where = `data_offsets [${begin}, ${end}]`
  if (begin > end) fail(`${t} ${where} begin after they end`)
  // NOTE: exact arithmetic: a product of safe integers can exceed 2^53 and round to a wrong match.
  const elements = shape.reduce((p: bigint, d: number) => p * BigInt(d), 1n)
  const needed = elements * BigInt(DISK[dtype].size)
  if (needed > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${t} shape ${fmtShape(shape)} of ${dtype} has ${elements} elements, too many to address (size overflow)`)
  if (BigInt(end - begin) !== needed) fail(`${t} ${where} cover ${end - begin} bytes but shape ${fmtShape(shape)} of ${dtype} needs ${needed}`)
  if (end > dataLength) fail(`${t} ${where} run past the end of the ${dataLength}-byte data buffer`)
  return { dtype, shape: shape.slice(), dataOffsets: [begin, end] }
}

/** Checks that the entries' byte ranges tile [0, dataLength) exactly. */
function checkLayout(entries: [string, SafetensorsEntryInfo][], dataLength: number): void {
  const sorted = entries.slice().sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1])
  let covered = 0
  let previous: [string, SafetensorsEntryInfo] | null = null
  for (const entry of sorted) {
    const [name, { dataOffsets: [begin, end] }] = entry
    if (begin < covered) {
      const [pname, pinfo] = previous!
      fail(`tensors ${JSON.stringify(pname)} [${pinfo.dataOffsets.join(', ')}] and ${JSON.stringify(name)} [${begin}, ${end}] overlap`)
    }
    if (begin > covered) {
      const after = previous ? `between ${JSON.stringify(previous[0])} and ${JSON.stringify(name)}` : `before ${JSON.stringify(name)}`
      fail(`bytes [${covered}, ${begin}) of the data buffer belong to no tensor (a gap ${after})`)
    }
    covered = end
    previous = entry
  }
  if (covered !== dataLength) fail(`${dataLength - covered} trailing bytes after the last tensor (tensors cover ${covered} of the ${dataLength}-byte data buffer)`)
}

/**
 * Parses and validates the header of a safetensors file without decoding any tensor.
 * Throws a TesseraError naming the first problem found.
 *
 * Reference: https://github.com/huggingface/safetensors (`safetensors/src/tensor.rs`)
 * @example
 *   const { tensors } = inspectSafetensors(bytes)
 *   for (const [name, { dtype, shape }] of Object.entries(tensors)) console.log(name, dtype, shape)
 */
export function inspectSafetensors(bytes: Uint8Array): SafetensorsHeader {
  if (!(bytes instanceof Uint8Array)) fail(`expected the file as a Uint8Array, got ${describe(bytes)}`)
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true)
  if (hi !== 0 || lo > MAX_HEADER_BYTES) fail(`header length ${(BigInt(hi) << 32n) | BigInt(lo)} exceeds the ${MAX_HEADER_BYTES}-byte limit`)
  const n = lo
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`)

  let text: string
  try {
    text = new Utf8Decoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n))
  } catch {
    fail('header is not valid UTF-8')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    fail(`header is not valid JSON (${(err as Error).message})`)
  }
  if (!isPlainObject(json)) fail(`header must be a JSON object, got ${describe(json)}`)
  const seen = new Set<string>()
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(`header has the key ${JSON.stringify(key)} twice`)
    seen.add(key)
  }

  const metadata: Record<string, string> = {}
  const rawMeta = json.__metadata__
  if (rawMeta !== undefined && rawMeta !== null) {
    if (!isPlainObject(rawMeta)) fail(`__metadata__ must be an object of strings, got ${describe(rawMeta)}`)
    for (const [k, v] of Object.entries(rawMeta)) {
      if (typeof v !== 'string') fail(`__metadata__ value for ${JSON.stringify(k)} must be a string, got ${describe(v)}`)
      setOwn(metadata, k, v)
    }
  }

  const dataLength = bytes.length - 8 - n
  const entries: [string, SafetensorsEntryInfo][] = []
  for (const [name, raw] of Object.entries(json)) {
    if (name !== '__metadata__') entries.push([name, checkEntry(name, raw, dataLength)])
  }
  checkLayout(entries, dataLength)
  const tensors: Record<string, SafetensorsEntryInfo> = {}
  for (const [name, info] of entries) setOwn(tensors, name, info)
  return { headerLength: n, tensors, metadata }
}

/** Decodes one validated entry into a fresh tensor (never sharing memory with `bytes`). */
function decodeEntry(name: string, info: SafetensorsEntryInfo, bytes: Uint8Array, dataStart: number): Tensor {
  const disk = DISK[info.dtype]
  const count = (info.dataOffsets[1] - info.dataOffsets[0]) / disk.size
  const start = dataStart + info.dataOffsets[0]
  const out: TypedArray = allocate(disk.loadsAs, count)
  if (disk.sameBytes && LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + count * disk.size))
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * disk.size)
    for (let i = 0; i < count; i++) {
      const x = disk.read(view, i * disk.size)
      if (Number.isNaN(x) && disk.kind === 'int') {
        const exact = info.dtype === 'U32' ? view.getUint32(i * disk.size, true) : info.dtype === 'I64' ? view.getBigInt64(i * disk.size, true) : view.getBigUint64(i * disk.size, true)
        fail(`tensor ${JSON.stringify(name)} (${info.dtype}) element ${i} is ${exact}, outside the int32 range tessera loads integers into`)
      }
      out[i] = x
    }
  }
  return fromTypedArray(out, info.shape, disk.loadsAs)
}

/**
 * Loads every tensor and the `__metadata__` map from the bytes of a safetensors file. The header is
 * validated in full first; a file with any problem throws a TesseraError and loads nothing.
 * F16/BF16 load as float32; U8, I16, U16 as int32; U32, I64, U64 as int32 when every value fits.
 *
 * Reference: https://github.com/huggingface/safetensors
 * @example
 *   const { tensors, metadata } = loadSafetensors(bytes)
 *   model.loadStateDict(tensors)
 */
export function loadSafetensors(bytes: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const header = inspectSafetensors(bytes)
  const dataStart = 8 + header.headerLength
  const tensors: Record<string, Tensor> = {}
  for (const [name, info] of Object.entries(header.tensors)) setOwn(tensors, name, decodeEntry(name, info, bytes, dataStart))
  return { tensors, metadata: header.metadata }
}

// ------------------------------------------------------------------ writing

/** A tensor with the dtype to store it as, e.g. `{ tensor: w, dtype: 'F16' }`. */
export interface SafetensorsEntry {
  tensor: Tensor
  dtype: SafetensorsDType
}

export interface SaveSafetensorsOptions {
  /** free-form string map, stored under `__metadata__` */
  metadata?: Record<string, string>
  /** store every floating tensor without its own override as this dtype (default: F32 for float32, F64 for float64) */
  floatDtype?: 'F16' | 'BF16' | 'F32' | 'F64'
}

function failSave(message: string): never {
  throw new TesseraError(`saveSafetensors: ${message}`)
}

/** Checks that tensor `t` can be stored as `dtype` and returns its elements, contiguous. */
function elementsFor(name: string, t: Tensor, dtype: SafetensorsDType): TypedArray {
  const disk = DISK[dtype]
  const what = `tensor ${JSON.stringify(name)}`
  if (disk.kind === 'float' && !isFloating(t.dtype)) failSave(`${what} is ${t.dtype} and cannot be stored as ${dtype}; cast it with .float() first`)
  if (disk.kind === 'int' && isFloating(t.dtype)) failSave(`${what} is ${t.dtype} and cannot be stored as ${dtype}; cast it with .int() first`)
  if (disk.kind === 'bool' && t.dtype !== 'bool') failSave(`${what} is ${t.dtype}; only bool tensors can be stored as BOOL`)
  const data = t.data()
  if (disk.kind === 'int') {
    for (let i = 0; i < data.length; i++) {
      if (data[i] < disk.min! || data[i] > disk.max!) failSave(`${what} element ${i} is ${data[i]}, outside the ${dtype} range [${disk.min}, ${disk.max}]`)
    }
  }
  return data
}

/**
 * Serializes named tensors to the bytes of a safetensors file. Tensors are written in sorted-name
 * order, contiguous; the JSON header is padded with spaces to a multiple of 8 bytes so that the
 * data buffer starts 8-byte aligned. NOTE: the reference writer orders tensors by dtype size first
 * so that each is aligned for zero-copy reads; in sorted-name order a tensor that follows an
 * odd-sized one can start unaligned. The reader here copies, so it does not care. Each tensor is stored in its own dtype (float32 as F32, int32 as
 * I32, int8 as I8, bool as BOOL) unless `options.floatDtype` or a `{ tensor, dtype }` entry says
 * otherwise; F16/BF16 round to nearest even, integer dtypes check that every value fits.
 *
 * Reference: https://github.com/huggingface/safetensors
 * @example
 *   const bytes = saveSafetensors({ w: randn([2, 3]), half: { tensor: x, dtype: 'F16' } }, { metadata: { format: 'pt' } })
 *   loadSafetensors(bytes).tensors.w
 */
export function saveSafetensors(tensors: Record<string, Tensor | SafetensorsEntry>, options: SaveSafetensorsOptions = {}): Uint8Array {
  const { metadata, floatDtype } = options
  if (floatDtype !== undefined && (!isDiskType(floatDtype) || DISK[floatDtype].kind !== 'float')) failSave(`floatDtype must be F16, BF16, F32 or F64, got ${JSON.stringify(floatDtype)}`)
  const parts: string[] = []
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) failSave(`metadata must be an object of strings, got ${describe(metadata)}`)
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') failSave(`metadata value for ${JSON.stringify(k)} must be a string, got ${describe(v)}`)
    parts.push(`"__metadata__":${JSON.stringify(metadata)}`)
  }

  const names = Object.keys(tensors).sort()
  const planned: { dtype: SafetensorsDType; from: DType; data: TypedArray; begin: number }[] = []
  let offset = 0
  for (const name of names) {
    if (name === '__metadata__') failSave('"__metadata__" is reserved for the metadata map and cannot name a tensor')
    const value: unknown = tensors[name]
    let t: Tensor, dtype: SafetensorsDType
    if (value instanceof Tensor) {
      t = value
      dtype = isFloating(t.dtype) && floatDtype ? floatDtype : DEFAULT_DISK[t.dtype]
    } else if (isPlainObject(value) && value.tensor instanceof Tensor) {
      if (!isDiskType(value.dtype)) failSave(`tensor ${JSON.stringify(name)} has unknown dtype ${JSON.stringify(value.dtype)} (known: ${Object.keys(DISK).join(', ')})`)
      t = value.tensor
      dtype = value.dtype
    } else {
      failSave(`${JSON.stringify(name)} must be a Tensor or { tensor, dtype }, got ${describe(value)}`)
    }
    const data = elementsFor(name, t, dtype)
    const size = data.length * DISK[dtype].size
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype, shape: t.shape, data_offsets: [offset, offset + size] })}`)
    planned.push({ dtype, from: t.dtype, data, begin: offset })
    offset += size
  }

  const json = new Utf8Encoder().encode(`{${parts.join(',')}}`)
  const headerLength = Math.ceil(json.length / 8) * 8
  if (headerLength > MAX_HEADER_BYTES) failSave(`the header would be ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit readers enforce`)
  const out = new Uint8Array(8 + headerLength + offset)
  const view = new DataView(out.buffer)
  view.setUint32(0, headerLength, true) // the high 32 bits of the u64 stay zero
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + headerLength) // pad with spaces
  const dataStart = 8 + headerLength
  for (const { dtype, from, data, begin } of planned) {
    const disk = DISK[dtype]
    const at = dataStart + begin
    if (disk.sameBytes && LITTLE_ENDIAN_HOST && from === disk.loadsAs) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at)
    } else {
      for (let i = 0; i < data.length; i++) disk.write(view, at + i * disk.size, data[i])
    }
  }
  return out
}

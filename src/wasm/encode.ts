/**
 * @file The WebAssembly binary format, written by hand: LEB128 integers, the module preamble and
 * the sections a kernel module needs (type, import, function, export, code). No dependency and no
 * compiler: a kernel generator builds function bodies with `Body` (src/wasm/body.ts) and
 * `encodeModule` lays them out as the specification's binary module.
 *
 * Reference: https://webassembly.github.io/spec/core/binary/modules.html
 */

/** Value types (spec 5.3.1). */
export const ValType = { I32: 0x7f, I64: 0x7e, F32: 0x7d, F64: 0x7c, V128: 0x7b } as const
export type ValType = (typeof ValType)[keyof typeof ValType]

/** A growable byte buffer with the format's primitive encodings. */
export class ByteWriter {
  private buf = new Uint8Array(256)
  length = 0

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = b & 0xff
    return this
  }

  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i])
    return this
  }

  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`wasm encode: u32 out of range: ${v}`)
    do {
      let b = v % 128
      v = Math.floor(v / 128)
      if (v !== 0) b |= 0x80
      this.byte(b)
    } while (v !== 0)
    return this
  }

  /** Signed LEB128 of an integer in [-2^31, 2^31). */
  s32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`wasm encode: s32 out of range: ${v}`)
    for (;;) {
      const b = v & 0x7f
      v >>= 7
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)
      this.byte(done ? b : b | 0x80)
      if (done) return this
    }
  }

  /** IEEE 754 binary32, little endian. */
  f32(v: number): this {
    const view = new DataView(new ArrayBuffer(4))
    view.setFloat32(0, v, true)
    return this.bytes(new Uint8Array(view.buffer))
  }

  /** IEEE 754 binary64, little endian. */
  f64(v: number): this {
    const view = new DataView(new ArrayBuffer(8))
    view.setFloat64(0, v, true)
    return this.bytes(new Uint8Array(view.buffer))
  }

  /** A name: byte length then its bytes (ASCII only: the names here are identifiers). */
  name(s: string): this {
    if (!/^[\x20-\x7e]*$/.test(s)) throw new RangeError(`wasm encode: names must be printable ASCII, got ${JSON.stringify(s)}`)
    this.u32(s.length)
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i))
    return this
  }

  /** A vector of byte strings already encoded: count, then each. */
  vec(items: readonly Uint8Array[]): this {
    this.u32(items.length)
    for (const it of items) this.bytes(it)
    return this
  }

  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

/** A function signature. */
export interface FuncType { params: readonly ValType[]; results: readonly ValType[] }

/** One function of a module: its signature, extra locals (beyond the params) and its body bytes (ending with `end`). */
export interface FuncDef {
  name: string
  type: FuncType
  locals: readonly ValType[]
  body: Uint8Array
  exported?: boolean
}

/** A memory imported as `env.memory`: initial and maximum size in 64 KiB pages; shared for threads. */
export interface MemoryImport { min: number; max?: number; shared?: boolean }

export interface ModuleDef {
  memory: MemoryImport
  functions: readonly FuncDef[]
}

const typeKey = (t: FuncType): string => `${t.params.join(',')}->${t.results.join(',')}`

function section(out: ByteWriter, id: number, content: ByteWriter): void {
  out.byte(id).u32(content.length).bytes(content.toBytes())
}

/** Encodes a module that imports `env.memory` and defines `functions` (exported ones by name). */
export function encodeModule(def: ModuleDef): Uint8Array {
  const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) // "\0asm", version 1

  // Type section (1): one entry per distinct signature.
  const types: FuncType[] = []
  const typeIndex = new Map<string, number>()
  for (const f of def.functions) {
    if (!typeIndex.has(typeKey(f.type))) { typeIndex.set(typeKey(f.type), types.length); types.push(f.type) }
  }
  const ts = new ByteWriter().u32(types.length)
  for (const t of types) ts.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results)
  section(out, 1, ts)

  // Import section (2): env.memory with limits flags 0 (min), 1 (min, max) or 3 (shared, min, max).
  const { min, max, shared } = def.memory
  if (shared && max === undefined) throw new RangeError('wasm encode: a shared memory needs a maximum size')
  const im = new ByteWriter().u32(1).name('env').name('memory').byte(0x02)
  im.byte(shared ? 0x03 : max === undefined ? 0x00 : 0x01).u32(min)
  if (max !== undefined) im.u32(max)
  section(out, 2, im)

  // Function section (3): each function's type index.
  const fs = new ByteWriter().u32(def.functions.length)
  for (const f of def.functions) fs.u32(typeIndex.get(typeKey(f.type))!)
  section(out, 3, fs)

  // Export section (7): exported functions by name (function index = position; no imported functions).
  const exported = def.functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported !== false)
  const ex = new ByteWriter().u32(exported.length)
  for (const [f, i] of exported) ex.name(f.name).byte(0x00).u32(i)
  section(out, 7, ex)

  // Code section (10): per function, its size, locals run-length encoded, then the body.
  const code = new ByteWriter().u32(def.functions.length)
  for (const f of def.functions) {
    const runs: [number, ValType][] = []
    for (const t of f.locals) {
      if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++
      else runs.push([1, t])
    }
    const fn = new ByteWriter().u32(runs.length)
    for (const [n, t] of runs) fn.u32(n).byte(t)
    fn.bytes(f.body)
    code.u32(fn.length).bytes(fn.toBytes())
  }
  section(out, 10, code)
  return out.toBytes()
}

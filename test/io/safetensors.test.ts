/**
 * @file safetensors reader and writer (https://github.com/huggingface/safetensors): round trips of
 * every dtype, F16/BF16 rounding against NumPy/PyTorch values, the reference implementation's
 * byte-exact serializations, a corpus of malformed files each rejected with its own message, a
 * seeded mutation fuzz, and a file written by PyTorch (scripts/gen_safetensors_fixture.py).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { Generator, TesseraError, arange, io, nn, randn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const { loadSafetensors, saveSafetensors, inspectSafetensors, encodeF16, decodeF16, encodeBF16, decodeBF16 } = io
const utf8 = new TextEncoder()

/** Builds a file: an 8-byte length (the header's, unless overridden), the header, then `data` bytes. */
function file(header: unknown, data: number | number[] = 0, length?: bigint): Uint8Array {
  const h = header instanceof Uint8Array ? header : utf8.encode(typeof header === 'string' ? header : JSON.stringify(header))
  const d = typeof data === 'number' ? new Uint8Array(data) : Uint8Array.from(data)
  const out = new Uint8Array(8 + h.length + d.length)
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true)
  out.set(h, 8)
  out.set(d, 8 + h.length)
  return out
}

const roundTrip = (tensors: Parameters<typeof saveSafetensors>[0], opts?: Parameters<typeof saveSafetensors>[1]) => loadSafetensors(saveSafetensors(tensors, opts))

function assertSameTensor(actual: Tensor, expected: Tensor, msg: string): void {
  assert.is(actual.dtype, expected.dtype, `${msg} dtype`)
  assert.equal(actual.shape, expected.shape, `${msg} shape`)
  const a = actual.data(), e = expected.data()
  for (let i = 0; i < e.length; i++) assert.ok(Object.is(a[i], e[i]), `${msg} [${i}]: ${a[i]} vs ${e[i]}`)
}

// ------------------------------------------------------------------ round trips

test('every tessera dtype round-trips exactly in its default on-disk dtype', () => {
  const g = new Generator(0)
  const tensors = {
    f32: randn([2, 3], { generator: g }),
    f64: randn([3], { generator: g, dtype: 'float64' }),
    i32: tensor([[-2147483648, -1, 0], [1, 7, 2147483647]], { dtype: 'int32' }),
    i8: tensor([-128, -1, 0, 127], { dtype: 'int8' }),
    b: tensor([[true, false], [false, true]]),
  }
  const bytes = saveSafetensors(tensors)
  const header = inspectSafetensors(bytes)
  assert.equal(Object.fromEntries(Object.entries(header.tensors).map(([k, v]) => [k, v.dtype])), { b: 'BOOL', f32: 'F32', f64: 'F64', i32: 'I32', i8: 'I8' })
  const { tensors: back, metadata } = loadSafetensors(bytes)
  assert.equal(metadata, {})
  for (const [name, t] of Object.entries(tensors)) assertSameTensor(back[name], t, name)
})

test('dtype overrides: floats as F16/BF16/F64/F32, integers as every integer dtype, bool as U8', () => {
  const ints = tensor([0, 1, 2, 100, 127], { dtype: 'int32' })
  const signed = tensor([-2147483648, -5, 0, 5, 2147483647], { dtype: 'int32' })
  const { tensors } = roundTrip({
    f16: { tensor: tensor([1, 0.5, -2, 1024]), dtype: 'F16' },
    bf16: { tensor: tensor([1, 0.5, -2, 1024]), dtype: 'BF16' },
    f64: { tensor: tensor([0.1, 0.2]), dtype: 'F64' },
    f32: { tensor: tensor([0.1, 0.25], { dtype: 'float64' }), dtype: 'F32' },
    u8: { tensor: ints, dtype: 'U8' }, i8: { tensor: ints, dtype: 'I8' }, i16: { tensor: ints, dtype: 'I16' },
    u16: { tensor: ints, dtype: 'U16' }, u32: { tensor: ints, dtype: 'U32' }, u64: { tensor: ints, dtype: 'U64' },
    i64: { tensor: signed, dtype: 'I64' },
    boolU8: { tensor: tensor([true, false, true]), dtype: 'U8' },
    i8as32: { tensor: tensor([-3, 4], { dtype: 'int8' }), dtype: 'I32' },
  })
  assertSameTensor(tensors.f16, tensor([1, 0.5, -2, 1024]), 'F16')
  assertSameTensor(tensors.bf16, tensor([1, 0.5, -2, 1024]), 'BF16')
  assert.is(tensors.f64.dtype, 'float64')
  assert.is(tensors.f64.data()[0], Math.fround(0.1), 'float32 0.1 widened exactly')
  assertSameTensor(tensors.f32, tensor([0.1, 0.25]), 'F64 tensor stored as F32')
  for (const k of ['u8', 'i16', 'u16', 'u32', 'u64']) assertSameTensor(tensors[k], ints, k)
  assertSameTensor(tensors.i8, ints.to('int8'), 'I8')
  assertSameTensor(tensors.i64, signed, 'I64')
  assertSameTensor(tensors.boolU8, tensor([1, 0, 1], { dtype: 'int32' }), 'bool stored as U8 loads as int32')
  assertSameTensor(tensors.i8as32, tensor([-3, 4], { dtype: 'int32' }), 'int8 stored as I32')
})

test('floatDtype stores every floating tensor in one dtype; per-tensor overrides win', () => {
  const bytes = saveSafetensors({ a: tensor([1.5]), b: tensor([2], { dtype: 'float64' }), c: tensor([3], { dtype: 'int32' }), d: { tensor: tensor([4]), dtype: 'F32' } }, { floatDtype: 'BF16' })
  const { tensors } = inspectSafetensors(bytes)
  assert.equal([tensors.a.dtype, tensors.b.dtype, tensors.c.dtype, tensors.d.dtype], ['BF16', 'BF16', 'I32', 'F32'])
  assertThrows(() => saveSafetensors({ a: tensor([1]) }, { floatDtype: 'I32' as 'F16' }), /saveSafetensors: floatDtype must be F16, BF16, F32 or F64, got "I32"/)
})

test('0-d and empty tensors, an empty file, and metadata round-trip', () => {
  const tensors = { scalar: tensor(3.5), empty: tensor([]), wide: arange(0).reshape([3, 0]), i: tensor(7, { dtype: 'int32' }) }
  const { tensors: back, metadata } = roundTrip(tensors, { metadata: { format: 'pt', note: 'ünïcode ✓', empty: '' } })
  assert.equal(back.scalar.shape, [])
  assert.is(back.scalar.item(), 3.5)
  assert.equal(back.empty.shape, [0])
  assert.equal(back.wide.shape, [3, 0])
  assert.is(back.wide.dtype, 'int32')
  assert.is(back.i.item(), 7)
  assert.equal(metadata, { format: 'pt', note: 'ünïcode ✓', empty: '' })
  const none = loadSafetensors(saveSafetensors({}))
  assert.equal(Object.keys(none.tensors), [])
  assert.equal(none.metadata, {})
  // Two empty tensors and one non-empty one may share an offset.
  const shared = loadSafetensors(file({ a: { dtype: 'F32', shape: [0], data_offsets: [0, 0] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, c: { dtype: 'I8', shape: [0, 5], data_offsets: [4, 4] } }, 4))
  assert.equal(Object.keys(shared.tensors).sort(), ['a', 'b', 'c'])
  assert.equal(shared.tensors.c.shape, [0, 5])
})

test('writing: sorted names, contiguous offsets, header padded with spaces to 8 bytes, strided inputs copied', () => {
  const x = arange(6).reshape([2, 3]).float()
  const bytes = saveSafetensors({ zeta: x.T, alpha: tensor([1], { dtype: 'int8' }), mid: tensor([true]) })
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true))
  assert.is(n % 8, 0)
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n))
  assert.ok(/^\{.*\} *$/.test(text), text)
  const header = JSON.parse(text)
  assert.equal(Object.keys(header), ['alpha', 'mid', 'zeta'])
  assert.equal([header.alpha.data_offsets, header.mid.data_offsets, header.zeta.data_offsets], [[0, 1], [1, 2], [2, 26]])
  assert.is(bytes.length, 8 + n + 26)
  assert.equal(loadSafetensors(bytes).tensors.zeta.toArray(), [[0, 3], [1, 4], [2, 5]])
})

test('the writer matches the reference implementation byte for byte (safetensors/src/tensor.rs tests)', () => {
  // test_serialization: {"attn.0": F32 [1,2,3] = 0..5}
  const attn = saveSafetensors({ 'attn.0': arange(6).float().reshape([1, 2, 3]) })
  assert.equal(Array.from(attn), [
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
    0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
  ])
  // test_empty: no tensors, then no tensors with {"framework": "pt"}
  assert.equal(Array.from(saveSafetensors({})), [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32])
  assert.equal(Array.from(saveSafetensors({}, { metadata: { framework: 'pt' } })), [
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32,
  ])
})

test('a tensor named "__proto__" is an ordinary key, in and out', () => {
  const named: Record<string, Tensor> = {}
  Object.defineProperty(named, '__proto__', { value: tensor([1, 2]), enumerable: true })
  const { tensors } = roundTrip(named)
  assert.ok(Object.prototype.hasOwnProperty.call(tensors, '__proto__'))
  assert.is(Object.getPrototypeOf(tensors), Object.prototype)
  assert.equal(Object.getOwnPropertyDescriptor(tensors, '__proto__')!.value.toArray(), [1, 2])
})

// ------------------------------------------------------------------ F16 / BF16

test('F16 encoding: round to nearest even, subnormals, overflow, signed zero, inf and nan (values from NumPy)', () => {
  const cases: [number, number][] = [
    [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65519, 0x7bff],
    [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00], [Infinity, 0x7c00], [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], [2 ** -25, 0x0000], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000], [-(2 ** -24), 0x8001],
    [2 ** -14, 0x0400], [2 ** -14 - 2 ** -24, 0x03ff], [2 ** -14 - 2 ** -25, 0x0400],
    [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    [1 + 2 ** -11 + 2 ** -30, 0x3c01], // rounded straight from the double: no double rounding through float32
  ]
  for (const [x, bits] of cases) assert.is(encodeF16(x), bits, `encodeF16(${x}) = 0x${encodeF16(x).toString(16)}, expected 0x${bits.toString(16)}`)
  assert.is(encodeF16(NaN), 0x7e00)
  assert.ok(Number.isNaN(decodeF16(0x7e01)) && Number.isNaN(decodeF16(0xfe00)))
  assert.is(decodeF16(0x0001), 2 ** -24)
  assert.is(decodeF16(0x7bff), 65504)
  assert.ok(Object.is(decodeF16(0x8000), -0))
})

test('BF16 encoding: round to nearest even, subnormals, overflow (values from PyTorch)', () => {
  const cases: [number, number][] = [
    [1, 0x3f80], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82], [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [3.3895313892515355e38, 0x7f7f], [3.4e38, 0x7f80], [-3.4e38, 0xff80], [2 ** -133, 0x0001], [2 ** -134, 0x0000],
    [3 * 2 ** -134, 0x0002], [2 ** -126, 0x0080], [-0, 0x8000], [0.1, 0x3dcd], [Infinity, 0x7f80],
  ]
  for (const [x, bits] of cases) assert.is(encodeBF16(x), bits, `encodeBF16(${x}) = 0x${encodeBF16(x).toString(16)}, expected 0x${bits.toString(16)}`)
  assert.is(encodeBF16(NaN), 0x7fc0)
  assert.ok(Number.isNaN(decodeBF16(0xffff)))
})

test('every F16 and BF16 word decodes to a value that encodes back to the same word', () => {
  for (const [name, enc, dec, expBits] of [['F16', encodeF16, decodeF16, 0x7c00], ['BF16', encodeBF16, decodeBF16, 0x7f80]] as const) {
    for (let bits = 0; bits < 65536; bits++) {
      const isNaNWord = (bits & expBits) === expBits && (bits & ~expBits & 0x7fff) !== 0
      const x = dec(bits)
      if (isNaNWord) { assert.ok(Number.isNaN(x), `${name} 0x${bits.toString(16)} is NaN`); continue }
      if (enc(x) !== bits) assert.unreachable(`${name} 0x${bits.toString(16)} -> ${x} -> 0x${enc(x).toString(16)}`)
    }
  }
})

test('F16/BF16 files: special values survive, saving rounds, loading gives float32', () => {
  const specials = tensor([0, -0, 1, -1.5, 65504, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -14])
  const { tensors } = roundTrip({ h: { tensor: specials, dtype: 'F16' }, b: { tensor: specials, dtype: 'BF16' } })
  assert.is(tensors.h.dtype, 'float32')
  assertSameTensor(tensors.h, specials, 'F16')
  assertSameTensor(tensors.b, tensor([0, -0, 1, -1.5, 65536, Infinity, -Infinity, NaN, 2 ** -24, 2 ** -14]), 'BF16 (65504 rounds to 65536)')
  const rounded = roundTrip({ h: { tensor: tensor([1 + 2 ** -11 + 2 ** -30, 70000], { dtype: 'float64' }), dtype: 'F16' } }).tensors.h
  assert.equal(Array.from(rounded.data()), [1 + 2 ** -10, Infinity])
})

// ------------------------------------------------------------------ integer range checks

test('I64, U64 and U32 load as int32 only when every value fits', () => {
  const i64 = (lo: number, hi: number): number[] => { const b = new Uint8Array(8); const v = new DataView(b.buffer); v.setInt32(0, lo, true); v.setInt32(4, hi, true); return Array.from(b) }
  const entry = (dtype: string, n: number) => ({ x: { dtype, shape: [n], data_offsets: [0, n * (dtype === 'U32' ? 4 : 8)] } })
  assert.equal(loadSafetensors(file(entry('I64', 2), [...i64(-2147483648, -1), ...i64(2147483647, 0)])).tensors.x.toArray(), [-2147483648, 2147483647])
  assertThrows(() => loadSafetensors(file(entry('I64', 2), [...i64(5, 0), ...i64(-2147483648, 0)])), /safetensors: tensor "x" \(I64\) element 1 is 2147483648, outside the int32 range tessera loads integers into/)
  assertThrows(() => loadSafetensors(file(entry('I64', 1), i64(2147483647, -1))), /tensor "x" \(I64\) element 0 is -2147483649, outside the int32 range/)
  assertThrows(() => loadSafetensors(file(entry('I64', 1), i64(0, 1))), /element 0 is 4294967296, outside/)
  assertThrows(() => loadSafetensors(file(entry('U64', 1), i64(0, 1))), /tensor "x" \(U64\) element 0 is 4294967296, outside/)
  assertThrows(() => loadSafetensors(file(entry('U64', 1), i64(-1, 0))), /tensor "x" \(U64\) element 0 is 4294967295, outside/)
  assertThrows(() => loadSafetensors(file(entry('U32', 1), [0, 0, 0, 128])), /tensor "x" \(U32\) element 0 is 2147483648, outside/)
})

test('saving checks dtype compatibility and integer ranges', () => {
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([300], { dtype: 'int32' }), dtype: 'U8' } }), /saveSafetensors: tensor "w" element 0 is 300, outside the U8 range \[0, 255\]/)
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([0, -1], { dtype: 'int32' }), dtype: 'U32' } }), /tensor "w" element 1 is -1, outside the U32 range/)
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([1.5]), dtype: 'I32' } }), /tensor "w" is float32 and cannot be stored as I32; cast it with .int\(\) first/)
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([1], { dtype: 'int32' }), dtype: 'F16' } }), /tensor "w" is int32 and cannot be stored as F16; cast it with .float\(\) first/)
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([1], { dtype: 'int32' }), dtype: 'BOOL' } }), /only bool tensors can be stored as BOOL/)
  assertThrows(() => saveSafetensors({ w: { tensor: tensor([1]), dtype: 'F8_E4M3' as 'F16' } }), /tensor "w" has unknown dtype "F8_E4M3"/)
  assertThrows(() => saveSafetensors({ w: [1, 2] as unknown as Tensor }), /saveSafetensors: "w" must be a Tensor or \{ tensor, dtype \}, got an array/)
  assertThrows(() => saveSafetensors({ __metadata__: tensor([1]) }), /"__metadata__" is reserved/)
  assertThrows(() => saveSafetensors({}, { metadata: { n: 1 as unknown as string } }), /saveSafetensors: metadata value for "n" must be a string, got number 1/)
})

// ------------------------------------------------------------------ malformed files

const F32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] })

/** [what is wrong, the file, the message it must raise]. Every case has its own message. */
const corpus: [string, Uint8Array, RegExp][] = [
  ['empty file', new Uint8Array(0), /^safetensors: file is 0 bytes, shorter than the 8-byte header length$/],
  ['truncated header length', new Uint8Array([2, 0, 0, 0, 0]), /^safetensors: file is 5 bytes, shorter than the 8-byte header length$/],
  ['header longer than the file', file('{}', 0, 100n), /^safetensors: header length 100 runs past the end of the 10-byte file$/],
  ['header > 100 MB claimed', file('{}', 0, 100_000_001n), /^safetensors: header length 100000001 exceeds the 100000000-byte limit$/],
  ['header length with the high u64 bits set', file('{}', 0, 2n ** 40n + 2n), /^safetensors: header length 1099511627778 exceeds the 100000000-byte limit$/],
  ['invalid UTF-8', file(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), /^safetensors: header is not valid UTF-8$/],
  ['overlong UTF-8 encoding', file(new Uint8Array([0x7b, 0xc0, 0xaf, 0x7d])), /^safetensors: header is not valid UTF-8$/],
  ['not JSON', file('{"w": {'), /^safetensors: header is not valid JSON \(/],
  ['byte-order mark before the JSON', file('\ufeff{}'), /^safetensors: header is not valid JSON \(/],
  ['JSON array, not an object', file('[1, 2]'), /^safetensors: header must be a JSON object, got an array$/],
  ['JSON null', file('null'), /^safetensors: header must be a JSON object, got null$/],
  ['JSON string', file('"weights"'), /^safetensors: header must be a JSON object, got string "weights"$/],
  ['entry is not an object', file({ w: 5 }), /^safetensors: tensor "w" must be an object with dtype, shape and data_offsets, got number 5$/],
  ['missing dtype', file({ w: { shape: [1], data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" has no dtype$/],
  ['dtype not a string', file({ w: { dtype: 4, shape: [1], data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" dtype must be a string, got number 4$/],
  ['unknown dtype', file({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" has unknown dtype "F33" \(known: BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64\)$/],
  ['lower-case dtype', file({ w: { dtype: 'f32', shape: [1], data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" has unknown dtype "f32"/],
  ['valid but unsupported dtype', file({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" has dtype F8_E4M3, which tessera cannot load$/],
  ['missing shape', file({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), /^safetensors: tensor "w" has no shape$/],
  ['negative shape', file({ w: F32([2, -1], 0, 8) }, 8), /^safetensors: tensor "w" shape \[2,-1\] must be a list of non-negative integers$/],
  ['fractional shape', file({ w: F32([1.5], 0, 4) }, 4), /^safetensors: tensor "w" shape \[1.5\] must be a list of non-negative integers$/],
  ['shape not an array', file({ w: { dtype: 'F32', shape: '2x2', data_offsets: [0, 16] } }, 16), /^safetensors: tensor "w" shape "2x2" must be a list/],
  ['shape with a string dim', file({ w: F32(['2' as unknown as number], 0, 8) }, 8), /^safetensors: tensor "w" shape \["2"\] must be a list/],
  ['shape product overflow', file({ w: F32([4294967296, 4294967296, 4294967296], 0, 0) }), /^safetensors: tensor "w" shape \[4294967296,4294967296,4294967296\] of F32 has 79228162514264337593543950336 elements, too many to address \(size overflow\)$/],
  ['missing data_offsets', file({ w: { dtype: 'F32', shape: [1] } }, 4), /^safetensors: tensor "w" has no data_offsets$/],
  ['one data offset', file({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /^safetensors: tensor "w" data_offsets \[0\] must be two non-negative integers \[begin, end\]$/],
  ['negative data offset', file({ w: F32([1], -4, 0) }, 4), /^safetensors: tensor "w" data_offsets \[-4,0\] must be two non-negative integers/],
  ['fractional data offset', file({ w: F32([1], 0, 4.5) }, 4), /^safetensors: tensor "w" data_offsets \[0,4.5\] must be two non-negative integers/],
  ['data offset beyond 2^53', file({ w: F32([1], 0, 2 ** 60) }, 4), /^safetensors: tensor "w" data_offsets \[0,1152921504606847000\] must be two non-negative integers/],
  ['begin > end', file({ w: F32([0], 8, 4) }, 8), /^safetensors: tensor "w" data_offsets \[8, 4\] begin after they end$/],
  ['size mismatch', file({ w: F32([2, 2], 0, 12) }, 12), /^safetensors: tensor "w" data_offsets \[0, 12\] cover 12 bytes but shape \[2,2\] of F32 needs 16$/],
  ['offsets out of range', file({ w: F32([4], 0, 16) }, 8), /^safetensors: tensor "w" data_offsets \[0, 16\] run past the end of the 8-byte data buffer$/],
  ['overlapping tensors', file({ a: F32([2], 0, 8), b: F32([2], 4, 12) }, 12), /^safetensors: tensors "a" \[0, 8\] and "b" \[4, 12\] overlap$/],
  ['two tensors on the same bytes', file({ a: F32([1], 0, 4), b: F32([1], 0, 4) }, 4), /^safetensors: tensors "a" \[0, 4\] and "b" \[0, 4\] overlap$/],
  ['gap between tensors', file({ a: F32([1], 0, 4), b: F32([1], 8, 12) }, 12), /^safetensors: bytes \[4, 8\) of the data buffer belong to no tensor \(a gap between "a" and "b"\)$/],
  ['gap before the first tensor', file({ b: F32([1], 4, 8) }, 8), /^safetensors: bytes \[0, 4\) of the data buffer belong to no tensor \(a gap before "b"\)$/],
  ['trailing bytes', file({ w: F32([1], 0, 4) }, 7), /^safetensors: 3 trailing bytes after the last tensor \(tensors cover 4 of the 7-byte data buffer\)$/],
  ['data but no tensors', file({}, 2), /^safetensors: 2 trailing bytes after the last tensor \(tensors cover 0 of the 2-byte data buffer\)$/],
  ['duplicate tensor name', file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "w" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8), /^safetensors: header has the key "w" twice$/],
  ['duplicate name spelled with an escape', file('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"\\u0077":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /^safetensors: header has the key "w" twice$/],
  ['metadata not an object', file({ __metadata__: ['pt'] }), /^safetensors: __metadata__ must be an object of strings, got an array$/],
  ['metadata with a non-string value', file({ __metadata__: { format: 'pt', epoch: 3 } }), /^safetensors: __metadata__ value for "epoch" must be a string, got number 3$/],
  ['metadata with a nested object', file({ __metadata__: { cfg: { lr: '0.1' } } }), /^safetensors: __metadata__ value for "cfg" must be a string, got an object$/],
]

for (const [what, bytes, pattern] of corpus) {
  test(`malformed: ${what}`, () => assertThrows(() => loadSafetensors(bytes), pattern))
}

test(`the malformed corpus has ${corpus.length} files and no two share a message (apart from deliberate twins)`, () => {
  assert.ok(corpus.length >= 20)
  const messages = corpus.map(([, bytes]) => { try { loadSafetensors(bytes) } catch (e) { return (e as Error).message } return '' })
  const distinct = new Set(messages)
  // Twins: the two UTF-8 cases and the two duplicate-name cases share a message by design.
  assert.is(distinct.size, corpus.length - 2)
})

test('names that only look alike are distinct tensors', () => {
  const { tensors } = loadSafetensors(file({ w: F32([1], 0, 4), 'w ': F32([1], 4, 8), W: F32([1], 8, 12), 'w\u0000': F32([1], 12, 16), 'é': F32([1], 16, 20), 'e\u0301': F32([1], 20, 24) }, 24))
  assert.equal(Object.keys(tensors).sort(), ['W', 'e\u0301', 'w', 'w\u0000', 'w ', 'é'].sort())
})

test('unknown entry fields are ignored, null metadata is no metadata, entries may come in any order', () => {
  const { tensors, metadata } = loadSafetensors(file({ __metadata__: null, b: { ...F32([1], 4, 8), extra: 1 }, a: F32([1], 0, 4) }, [0, 0, 128, 63, 0, 0, 0, 64]))
  assert.equal(metadata, {})
  assert.equal([tensors.a.item(), tensors.b.item()], [1, 2])
})

test('loading accepts a Uint8Array view at an offset into a larger buffer and copies the data', () => {
  const bytes = saveSafetensors({ w: tensor([1, 2, 3]) })
  const big = new Uint8Array(bytes.length + 3)
  big.set(bytes, 3)
  const w = loadSafetensors(big.subarray(3)).tensors.w
  big.fill(0)
  assert.equal(w.toArray(), [1, 2, 3])
  assertThrows(() => loadSafetensors([1, 2, 3] as unknown as Uint8Array), /safetensors: expected the file as a Uint8Array, got an array/)
})

test('fuzz: seeded mutations of a valid file either load or throw a TesseraError', () => {
  const g = new Generator(42)
  const valid = saveSafetensors({ a: randn([3, 2], { generator: g }), b: tensor([1, 2], { dtype: 'int32' }), c: { tensor: tensor([0.5, 2]), dtype: 'F16' }, d: { tensor: tensor([5], { dtype: 'int32' }), dtype: 'I64' } }, { metadata: { k: 'v' } })
  let loaded = 0, rejected = 0
  for (let trial = 0; trial < 2000; trial++) {
    let bytes = valid.slice()
    const kind = g.nextInt(0, 4)
    if (kind === 0) bytes[g.nextInt(0, bytes.length)] = g.nextInt(0, 256)
    else if (kind === 1) bytes = bytes.slice(0, g.nextInt(0, bytes.length))
    else if (kind === 2) bytes[g.nextInt(0, 8)] = g.nextInt(0, 256)
    else for (let k = 0; k < 4; k++) bytes[g.nextInt(8, 8 + 112)] = g.nextInt(32, 127)
    try {
      loadSafetensors(bytes)
      loaded++
    } catch (err) {
      if (!(err instanceof TesseraError)) assert.unreachable(`trial ${trial}: ${(err as Error).name}: ${(err as Error).message}`)
      rejected++
    }
  }
  assert.ok(loaded > 0 && rejected > 0, `loaded ${loaded}, rejected ${rejected}`)
})

// ------------------------------------------------------------------ a file written by PyTorch

const fixtureUrl = new URL('../fixtures/torch-mlp.json', import.meta.url)
const fixture = JSON.parse(readFileSync(fixtureUrl, 'utf8')) as { input: number[][]; output: number[][]; metadata: Record<string, string>; stateDictKeys: string[]; probeKeys: string[] }
const torchFile = new Uint8Array(readFileSync(new URL('../fixtures/torch-mlp.safetensors', import.meta.url)))

class ReLU extends nn.Module {
  forward(x: Tensor): Tensor { return x.relu() }
}

test('PyTorch file: an nn.Sequential(Linear(4,8), ReLU(), Linear(8,3)) state dict gives the same outputs', () => {
  const { tensors, metadata } = loadSafetensors(torchFile)
  assert.equal(metadata, fixture.metadata)
  const model = new nn.Sequential(new nn.Linear(4, 8), new ReLU(), new nn.Linear(8, 3))
  const result = model.loadStateDict(tensors, { strict: false })
  assert.equal(result.missingKeys, [])
  assert.equal(result.unexpectedKeys.sort(), fixture.probeKeys)
  assert.equal(Object.keys(model.stateDict()), fixture.stateDictKeys)
  assertClose(model.forward(tensor(fixture.input)), fixture.output, { atol: 1e-6, rtol: 0, shape: [5, 3] })
  // The same through the checkpoint helpers, strict, after a tessera round trip.
  const fresh = new nn.Sequential(new nn.Linear(4, 8), new ReLU(), new nn.Linear(8, 3))
  const back = io.loadStateDictFromSafetensors(fresh, io.saveStateDict(model, { metadata: { from: 'tessera' } }))
  assert.equal(back.metadata, { from: 'tessera' })
  assertClose(fresh.forward(tensor(fixture.input)), fixture.output, { atol: 1e-6, rtol: 0 })
  assertThrows(() => io.loadStateDictFromSafetensors(fresh, torchFile), /loadStateDict: missing keys \[\], unexpected keys \[probe\./)
})

test('PyTorch file: F16/BF16 decode like torch, and tessera encodes float32 to the same bits as torch', () => {
  const { tensors } = loadSafetensors(torchFile)
  assertSameTensor(tensors['probe.f16'], tensors['probe.f16_as_f32'], 'F16 decode')
  assertSameTensor(tensors['probe.bf16'], tensors['probe.bf16_as_f32'], 'BF16 decode')
  const header = inspectSafetensors(torchFile)
  const start = 8 + header.headerLength
  const words = (name: string): Uint16Array => {
    const [b, e] = header.tensors[name].dataOffsets
    return new Uint16Array(torchFile.slice(start + b, start + e).buffer)
  }
  const probe = tensors['probe.f32'].data()
  for (const [name, enc] of [['probe.f16', encodeF16], ['probe.bf16', encodeBF16]] as const) {
    const torchBits = words(name)
    for (let i = 0; i < probe.length; i++) {
      // NOTE: NaN payloads differ (torch's vectorised BF16 path writes 0xffff); both are NaN.
      if (Number.isNaN(probe[i])) continue
      assert.is(enc(probe[i]), torchBits[i], `${name}[${i}] for ${probe[i]}`)
    }
  }
  assert.equal(tensors['probe.i64'].toArray(), [[0, -1, 2147483647], [-2147483648, 123456789, -42]])
  assert.is(tensors['probe.i64'].dtype, 'int32')
  assertSameTensor(tensors['probe.i8'], tensor([-128, -1, 0, 127], { dtype: 'int8' }), 'I8')
  assertSameTensor(tensors['probe.u8'], tensor([0, 1, 200, 255], { dtype: 'int32' }), 'U8')
  assertSameTensor(tensors['probe.bool'], tensor([[true, false], [false, true]]), 'BOOL')
})

test.run()

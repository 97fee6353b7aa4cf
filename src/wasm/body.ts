/**
 * @file A function-body builder for the WebAssembly instructions tessera's kernels use: control,
 * locals, i32 arithmetic, f32 scalar and f32x4 / i32x4 / i16x8 / i8x16 SIMD (the 0xFD prefix), and
 * the relaxed-SIMD fused multiply-add. Each method appends one instruction's bytes exactly as the
 * specification encodes it; `test/wasm/encode.test.ts` checks every opcode against bytes produced
 * by wabt's wat2wasm.
 *
 * Locals are numbered params first, then the locals declared with `local(type)`. Memory
 * instructions take a static byte `offset` and a log2 alignment hint (`align`, default natural).
 *
 * Reference: https://webassembly.github.io/spec/core/binary/instructions.html and
 * https://github.com/WebAssembly/relaxed-simd/blob/main/proposals/relaxed-simd/Overview.md
 */
import { ByteWriter, ValType } from './encode.ts'

/** Single-byte opcodes (spec 5.4). */
export const OP = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, return: 0x0f, drop: 0x1a, select: 0x1b,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'i32.load': 0x28, 'f32.load': 0x2a, 'f64.load': 0x2b, 'i32.load8_s': 0x2c, 'i32.load8_u': 0x2d,
  'i32.store': 0x36, 'f32.store': 0x38, 'f64.store': 0x39, 'i32.store8': 0x3a,
  'i32.const': 0x41, 'f32.const': 0x43,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b, 'i32.le_s': 0x4c, 'i32.le_u': 0x4d, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f32.eq': 0x5b, 'f32.ne': 0x5c, 'f32.lt': 0x5d, 'f32.gt': 0x5e, 'f32.le': 0x5f, 'f32.ge': 0x60,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.div_u': 0x6e,
  'i32.rem_s': 0x6f, 'i32.rem_u': 0x70, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.xor': 0x73,
  'i32.shl': 0x74, 'i32.shr_s': 0x75, 'i32.shr_u': 0x76,
  'f64.const': 0x44, call: 0x10,
  'i32.load16_s': 0x2e, 'i32.load16_u': 0x2f, 'i32.store16': 0x3b,
  'i32.clz': 0x67, 'i32.ctz': 0x68, 'i32.popcnt': 0x69, 'i32.rotl': 0x77, 'i32.rotr': 0x78,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'f32.ceil': 0x8d, 'f32.trunc': 0x8f, 'f32.nearest': 0x90, 'f32.copysign': 0x98,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.floor': 0x9c, 'f64.min': 0xa4, 'f64.max': 0xa5,
  'f32.reinterpret_i32': 0xbe, 'i32.reinterpret_f32': 0xbc, 'i32.trunc_f64_s': 0xaa, 'f64.convert_i32_u': 0xb8, 'f32.convert_i32_u': 0xb3,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.floor': 0x8e, 'f32.sqrt': 0x91, 'f32.add': 0x92, 'f32.sub': 0x93,
  'f32.mul': 0x94, 'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97,
  'f64.sqrt': 0x9f, 'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3, 'f64.convert_i32_s': 0xb7, 'i32.trunc_f32_s': 0xa8, 'f32.convert_i32_s': 0xb2, 'f32.demote_f64': 0xb6, 'f64.promote_f32': 0xbb,
} as const

/** SIMD opcodes after the 0xFD prefix, as unsigned LEB128 (spec 5.4.8; relaxed SIMD 0x100+). */
export const SIMD = {
  'v128.load': 0x00, 'v128.load32_splat': 0x09, 'v128.store': 0x0b, 'v128.const': 0x0c, 'i8x16.shuffle': 0x0d,
  'i8x16.splat': 0x0f, 'i16x8.splat': 0x10, 'i32x4.splat': 0x11, 'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20, 'f64x2.extract_lane': 0x21,
  'f32x4.eq': 0x41, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'i16x8.extend_low_i8x16_s': 0x87, 'i16x8.extend_high_i8x16_s': 0x88,
  'i32x4.extend_low_i16x8_s': 0xa7, 'i32x4.extend_high_i16x8_s': 0xa8,
  'i32x4.shl': 0xab, 'i32x4.shr_s': 0xac, 'i32x4.add': 0xae, 'i32x4.sub': 0xb1, 'i32x4.mul': 0xb5,
  'i32x4.min_s': 0xb6, 'i32x4.max_s': 0xb8, 'i32x4.dot_i16x8_s': 0xba,
  'f32x4.ceil': 0x67, 'f32x4.floor': 0x68, 'f32x4.nearest': 0x6a,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6, 'f32x4.div': 0xe7, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9, 'f32x4.pmin': 0xea, 'f32x4.pmax': 0xeb,
  'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa, 'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.relaxed_madd': 0x105, 'f32x4.relaxed_nmadd': 0x106,
  // Loads that widen or splat (memarg immediates: use vmem).
  'v128.load8x8_s': 0x01, 'v128.load8x8_u': 0x02, 'v128.load16x4_s': 0x03, 'v128.load16x4_u': 0x04,
  'v128.load8_splat': 0x07, 'v128.load16_splat': 0x08, 'v128.load64_splat': 0x0a, 'v128.load32_zero': 0x5c, 'v128.load64_zero': 0x5d,
  // Lane access (lane immediate: use lane).
  'i8x16.extract_lane_s': 0x15, 'i8x16.extract_lane_u': 0x16, 'i16x8.extract_lane_s': 0x18, 'i32x4.extract_lane': 0x1b,
  'i32x4.replace_lane': 0x1c, 'f64x2.replace_lane': 0x22,
  'i8x16.swizzle': 0x0e, 'v128.not': 0x4d, 'v128.any_true': 0x53,
  'i8x16.eq': 0x23, 'i8x16.abs': 0x60, 'i8x16.neg': 0x61, 'i8x16.popcnt': 0x62, 'i8x16.bitmask': 0x64,
  'i8x16.narrow_i16x8_s': 0x65, 'i8x16.narrow_i16x8_u': 0x66, 'i8x16.shl': 0x6b, 'i8x16.shr_s': 0x6c, 'i8x16.shr_u': 0x6d,
  'i8x16.add': 0x6e, 'i8x16.sub': 0x71, 'i8x16.min_s': 0x76, 'i8x16.max_s': 0x78,
  'i16x8.extadd_pairwise_i8x16_s': 0x7c, 'i16x8.extadd_pairwise_i8x16_u': 0x7d,
  'i32x4.extadd_pairwise_i16x8_s': 0x7e, 'i32x4.extadd_pairwise_i16x8_u': 0x7f,
  'i16x8.narrow_i32x4_s': 0x85, 'i16x8.extend_low_i8x16_u': 0x89, 'i16x8.extend_high_i8x16_u': 0x8a,
  'i16x8.shl': 0x8b, 'i16x8.shr_s': 0x8c, 'i16x8.shr_u': 0x8d, 'i16x8.add': 0x8e, 'i16x8.sub': 0x91, 'i16x8.mul': 0x95,
  'i16x8.extmul_low_i8x16_s': 0x9c, 'i16x8.extmul_high_i8x16_s': 0x9d, 'i16x8.extmul_low_i8x16_u': 0x9e, 'i16x8.extmul_high_i8x16_u': 0x9f,
  'i32x4.eq': 0x37, 'i32x4.ne': 0x38, 'i32x4.lt_s': 0x39, 'i32x4.gt_s': 0x3b, 'i32x4.abs': 0xa0, 'i32x4.neg': 0xa1,
  'i32x4.all_true': 0xa3, 'i32x4.bitmask': 0xa4, 'i32x4.extend_low_i16x8_u': 0xa9, 'i32x4.extend_high_i16x8_u': 0xaa, 'i32x4.shr_u': 0xad,
  'i32x4.extmul_low_i16x8_s': 0xbc, 'i32x4.extmul_high_i16x8_s': 0xbd,
  'f32x4.ne': 0x42, 'f32x4.trunc': 0x69, 'i32x4.trunc_sat_f32x4_u': 0xf9, 'f32x4.convert_i32x4_u': 0xfb,
  'f64x2.abs': 0xec, 'f64x2.neg': 0xed, 'f64x2.sqrt': 0xef, 'f64x2.div': 0xf3, 'f64x2.min': 0xf4, 'f64x2.max': 0xf5,
  'f64x2.convert_low_i32x4_s': 0xfe,
  'i8x16.relaxed_swizzle': 0x100, 'i32x4.relaxed_trunc_f32x4_s': 0x101, 'i8x16.relaxed_laneselect': 0x109,
  'i32x4.relaxed_laneselect': 0x10b, 'f32x4.relaxed_min': 0x10d, 'f32x4.relaxed_max': 0x10e,
  'i16x8.relaxed_dot_i8x16_i7x16_s': 0x112, 'i32x4.relaxed_dot_i8x16_i7x16_add_s': 0x113,
} as const

export type Op = keyof typeof OP
export type SimdOp = keyof typeof SIMD
/** Block types: empty, or one result value. */
export type BlockType = 'void' | ValType

const NATURAL_ALIGN: Partial<Record<Op | SimdOp, number>> = {
  'i32.load': 2, 'f32.load': 2, 'i32.store': 2, 'f32.store': 2, 'f64.load': 3, 'f64.store': 3, 'i32.load8_s': 0, 'i32.load8_u': 0, 'i32.store8': 0,
  'v128.load': 4, 'v128.store': 4, 'v128.load32_splat': 2, 'i32.load16_s': 1, 'i32.load16_u': 1, 'i32.store16': 1,
  'v128.load8x8_s': 3, 'v128.load8x8_u': 3, 'v128.load16x4_s': 3, 'v128.load16x4_u': 3, 'v128.load8_splat': 0,
  'v128.load16_splat': 1, 'v128.load64_splat': 3, 'v128.load32_zero': 2, 'v128.load64_zero': 3,
}

/** Scalar memory instructions (memarg immediates). */
export type MemOp = 'i32.load' | 'f32.load' | 'f64.load' | 'i32.load8_s' | 'i32.load8_u' | 'i32.load16_s' | 'i32.load16_u'
  | 'i32.store' | 'f32.store' | 'f64.store' | 'i32.store8' | 'i32.store16'
/** SIMD memory instructions (memarg immediates). */
export type VMemOp = 'v128.load' | 'v128.store' | 'v128.load32_splat' | 'v128.load8x8_s' | 'v128.load8x8_u' | 'v128.load16x4_s'
  | 'v128.load16x4_u' | 'v128.load8_splat' | 'v128.load16_splat' | 'v128.load64_splat' | 'v128.load32_zero' | 'v128.load64_zero'
/** Lane instructions (a lane immediate) and their lane counts. */
export const LANES = {
  'f32x4.extract_lane': 4, 'f32x4.replace_lane': 4, 'f64x2.extract_lane': 2, 'f64x2.replace_lane': 2,
  'i8x16.extract_lane_s': 16, 'i8x16.extract_lane_u': 16, 'i16x8.extract_lane_s': 8, 'i32x4.extract_lane': 4, 'i32x4.replace_lane': 4,
} as const
export type LaneOp = keyof typeof LANES

/** Builds one function body; `finish()` appends the closing `end` and returns the bytes. */
export class Body {
  readonly w = new ByteWriter()
  readonly locals: ValType[] = []
  private depth = 0

  constructor(readonly nParams: number) {}

  /** Declares a local of `type`; returns its index. */
  local(type: ValType): number {
    this.locals.push(type)
    return this.nParams + this.locals.length - 1
  }

  /** A plain instruction with no immediates. */
  op(name: Op): this {
    this.w.byte(OP[name])
    return this
  }

  /** A SIMD instruction with no immediates. */
  simd(name: SimdOp): this {
    this.w.byte(0xfd).u32(SIMD[name])
    return this
  }

  get(i: number): this { this.w.byte(OP['local.get']).u32(i); return this }
  set(i: number): this { this.w.byte(OP['local.set']).u32(i); return this }
  tee(i: number): this { this.w.byte(OP['local.tee']).u32(i); return this }
  i32(v: number): this { this.w.byte(OP['i32.const']).s32(v | 0); return this }
  f32(v: number): this { this.w.byte(OP['f32.const']).f32(v); return this }
  f64(v: number): this { this.w.byte(OP['f64.const']).f64(v); return this }

  /** A scalar load or store with memarg (alignment exponent, static offset in bytes). */
  mem(name: MemOp, offset = 0, align?: number): this {
    this.w.byte(OP[name]).u32(align ?? NATURAL_ALIGN[name]!).u32(offset)
    return this
  }

  /** A SIMD load or store with memarg. */
  vmem(name: VMemOp, offset = 0, align?: number): this {
    this.w.byte(0xfd).u32(SIMD[name]).u32(align ?? NATURAL_ALIGN[name]!).u32(offset)
    return this
  }

  /** v128.const from four f32 lanes. */
  f32x4(a: number, b = a, c = a, d = a): this {
    this.w.byte(0xfd).u32(SIMD['v128.const'])
    for (const v of [a, b, c, d]) this.w.f32(v)
    return this
  }

  /** A lane instruction (extract_lane / replace_lane) with its lane index. */
  lane(name: LaneOp, lane: number): this {
    const lanes = LANES[name]
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new RangeError(`wasm body: ${name} lane must be 0-${lanes - 1}, got ${lane}`)
    this.w.byte(0xfd).u32(SIMD[name]).byte(lane)
    return this
  }

  /** i8x16.shuffle of the two vectors on the stack: 16 byte indices into their concatenation (0-31). */
  shuffle(bytes: readonly number[]): this {
    if (bytes.length !== 16 || bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 31)) {
      throw new RangeError(`wasm body: i8x16.shuffle needs 16 byte indices in 0-31, got [${bytes.join(',')}]`)
    }
    this.w.byte(0xfd).u32(SIMD['i8x16.shuffle']).bytes(bytes)
    return this
  }

  private open(code: number, type: BlockType): this {
    this.w.byte(code).byte(type === 'void' ? 0x40 : type)
    this.depth++
    return this
  }

  block(type: BlockType = 'void'): this { return this.open(OP.block, type) }
  loop(type: BlockType = 'void'): this { return this.open(OP.loop, type) }
  if(type: BlockType = 'void'): this { return this.open(OP.if, type) }
  else(): this { this.w.byte(OP.else); return this }
  end(): this {
    if (this.depth === 0) throw new Error('wasm body: end without an open block')
    this.depth--
    this.w.byte(OP.end)
    return this
  }
  /** Calls function `index` of this module (functions are numbered in definition order). */
  call(index: number): this { this.w.byte(OP.call).u32(index); return this }
  br(label: number): this { this.w.byte(OP.br).u32(label); return this }
  brIf(label: number): this { this.w.byte(OP.br_if).u32(label); return this }

  /**
   * A counted loop `for (i = start; i < limit; i += step)` around `body`, with `i` and `limit` i32
   * locals; the loop runs zero times when start >= limit. Inside `body`, branch depth 0 is the loop.
   */
  forLoop(i: number, start: () => void, limit: () => void, step: number, body: () => void): this {
    start(); this.set(i)
    this.block()
    this.get(i); limit(); this.op('i32.ge_s').brIf(0)
    this.loop()
    body()
    this.get(i).i32(step).op('i32.add').tee(i)
    limit(); this.op('i32.lt_s').brIf(0)
    this.end()
    this.end()
    return this
  }

  finish(): Uint8Array {
    if (this.depth !== 0) throw new Error(`wasm body: ${this.depth} block(s) left open`)
    this.w.byte(OP.end)
    return this.w.toBytes()
  }
}

/**
 * @file The WebAssembly encoder (src/wasm/encode.ts, src/wasm/body.ts): every instruction's bytes
 * equal those wabt's wat2wasm writes (test/fixtures/wasm-opcodes.json, from
 * scripts/gen-wasm-fixtures.ts); LEB128 edge values; generated modules validate and run.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fixture from '../fixtures/wasm-opcodes.json' with { type: 'json' }
import { Body, LANES, OP, SIMD, type LaneOp, type Op, type SimdOp, type VMemOp } from '../../src/wasm/body.ts'
import { ByteWriter, encodeModule, ValType } from '../../src/wasm/encode.ts'
import { wasmApi, wasmFeatures } from '../../src/wasm/runtime.ts'

const cases = new Map(fixture.cases.map((c) => [c.name, c.bytes]))

/** Body bytes without the function's closing `end`. */
function emit(build: (b: Body) => void): number[] {
  const b = new Body(0)
  build(b)
  const bytes = [...b.finish()]
  return bytes.slice(0, -1)
}

test('every opcode in the table is covered by the wat2wasm fixture', () => {
  for (const name of Object.keys(OP)) if (name !== 'else' && name !== 'end') assert.ok(cases.has(name), name)
  for (const name of Object.keys(SIMD)) assert.ok(cases.has(name), name)
})

test('plain instructions encode as wat2wasm writes them', () => {
  const special: Partial<Record<Op, (b: Body) => void>> = {
    block: (b) => b.block().end(), loop: (b) => b.loop().end(), if: (b) => b.if().end(),
    br: (b) => b.br(1), br_if: (b) => b.brIf(0),
    'local.get': (b) => b.get(3), 'local.set': (b) => b.set(130), 'local.tee': (b) => b.tee(0),
    'i32.const': (b) => b.i32(-12345), 'f32.const': (b) => b.f32(1.5), 'f64.const': (b) => b.f64(-2.25),
    'i32.load': (b) => b.mem('i32.load'), 'f32.load': (b) => b.mem('f32.load'), 'i32.load8_s': (b) => b.mem('i32.load8_s'),
    'i32.load8_u': (b) => b.mem('i32.load8_u'), 'i32.store': (b) => b.mem('i32.store'), 'f32.store': (b) => b.mem('f32.store'),
    'i32.store8': (b) => b.mem('i32.store8'), 'f64.load': (b) => b.mem('f64.load'), 'f64.store': (b) => b.mem('f64.store'),
    'i32.load16_s': (b) => b.mem('i32.load16_s'), 'i32.load16_u': (b) => b.mem('i32.load16_u'), 'i32.store16': (b) => b.mem('i32.store16'),
    call: (b) => b.call(0),
  }
  for (const name of Object.keys(OP) as Op[]) {
    if (name === 'else' || name === 'end') continue
    const build = special[name] ?? ((b: Body) => b.op(name))
    assert.equal(emit(build), cases.get(name), name)
  }
  assert.equal(emit((b) => b.if(ValType.F32).f32(1).else().f32(2).end()), cases.get('if-else'))
})

test('SIMD instructions (0xFD prefix, LEB128 opcodes, relaxed SIMD) encode as wat2wasm writes them', () => {
  for (const name of Object.keys(SIMD) as SimdOp[]) {
    let build: (b: Body) => void = (b) => b.simd(name)
    if (name === 'v128.const') build = (b) => b.f32x4(1, -2, 0.5, 3)
    else if (name in LANES) { const lane = name as LaneOp; build = (b) => b.lane(lane, LANES[lane] === 2 ? 1 : 3) }
    else if (name === 'i8x16.shuffle') build = (b) => b.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 20, 21, 22, 31])
    else if (name.startsWith('v128.load') || name === 'v128.store') { const m = name as VMemOp; build = (b) => b.vmem(m) }
    assert.equal(emit(build), cases.get(name), name)
  }
  assert.equal(cases.get('f32x4.relaxed_madd'), [0xfd, 0x85, 0x02])
})

test('memory arguments: offsets and alignment hints', () => {
  assert.equal(emit((b) => b.mem('f32.load', 20)), cases.get('memarg f32.load offset=20'))
  assert.equal(emit((b) => b.mem('i32.store', 4, 0)), cases.get('memarg i32.store offset=4 align=1'))
  assert.equal(emit((b) => b.mem('i32.load8_u', 300)), cases.get('memarg i32.load8_u offset=300'))
  assert.equal(emit((b) => b.vmem('v128.load', 16, 2)), cases.get('memarg v128.load offset=16 align=4')) // align=4 bytes: exponent 2
  assert.equal(emit((b) => b.vmem('v128.store', 48)), cases.get('memarg v128.store offset=48'))
  assert.equal(emit((b) => b.vmem('v128.load32_splat', 12)), cases.get('memarg v128.load32_splat offset=12'))
})

test('LEB128 at the edges', () => {
  const u = (v: number): number[] => [...new ByteWriter().u32(v).toBytes()]
  const s = (v: number): number[] => [...new ByteWriter().s32(v).toBytes()]
  assert.equal(u(0), [0]); assert.equal(u(127), [127]); assert.equal(u(128), [0x80, 1]); assert.equal(u(624485), [0xe5, 0x8e, 0x26])
  assert.equal(u(0xffffffff), [0xff, 0xff, 0xff, 0xff, 0x0f])
  assert.equal(s(0), [0]); assert.equal(s(-1), [0x7f]); assert.equal(s(63), [63]); assert.equal(s(64), [0xc0, 0]); assert.equal(s(-64), [0x40])
  assert.equal(s(-65), [0xbf, 0x7f]); assert.equal(s(-123456), [0xc0, 0xbb, 0x78])
  assert.equal(s(-0x80000000), [0x80, 0x80, 0x80, 0x80, 0x78]); assert.equal(s(0x7fffffff), [0xff, 0xff, 0xff, 0xff, 0x07])
  assert.throws(() => u(-1), /u32 out of range/)
  assert.throws(() => s(2 ** 31), /s32 out of range/)
})

test('unbalanced blocks are caught when the body is finished', () => {
  assert.throws(() => new Body(0).block().finish(), /1 block\(s\) left open/)
  assert.throws(() => new Body(0).end(), /end without an open block/)
  assert.throws(() => new Body(0).lane('f32x4.extract_lane', 4), /lane must be 0-3/)
  assert.throws(() => new Body(0).lane('f64x2.extract_lane', 2), /lane must be 0-1/)
  assert.throws(() => new Body(0).shuffle([1, 2]), /16 byte indices/)
})

test('a generated module validates, instantiates and computes (i32 loop, f32 and f32x4 arithmetic)', () => {
  // sum(n) = f32 sum of memory[0..n) using a counted loop; and axpy4(x) = x * 2 + 1 lane-wise at address 0.
  const I32 = ValType.I32, F32 = ValType.F32
  const s = new Body(1)
  const i = s.local(I32), acc = s.local(F32)
  s.forLoop(i, () => s.i32(0), () => s.get(0), 1, () => {
    s.get(acc).get(i).i32(2).op('i32.shl').mem('f32.load').op('f32.add').set(acc)
  })
  s.get(acc)
  const v = new Body(0)
  v.i32(0).i32(0).vmem('v128.load').f32x4(2).simd('f32x4.mul').f32x4(1).simd('f32x4.add').vmem('v128.store')
  const bytes = encodeModule({
    memory: { min: 1 },
    functions: [
      { name: 'sum', type: { params: [I32], results: [F32] }, locals: s.locals, body: s.finish() },
      { name: 'axpy4', type: { params: [], results: [] }, locals: v.locals, body: v.finish() },
    ],
  })
  const WA = wasmApi()
  assert.ok(WA.validate(bytes))
  if (!wasmFeatures().compileFromBytes) return // workerd: validating is allowed, compiling is not
  const memory = new WA.Memory({ initial: 1 })
  const ex = new WA.Instance(new WA.Module(bytes), { env: { memory } }).exports as unknown as { sum(n: number): number; axpy4(): void }
  const f = new Float32Array(memory.buffer)
  f.set([1, 2, 3, 4.5, 10])
  assert.is(ex.sum(4), 10.5)
  assert.is(ex.sum(0), 0)
  ex.axpy4()
  assert.equal([...f.subarray(0, 5)], [3, 5, 7, 10, 10])
})

test('feature detection: SIMD is on in this runtime; relaxed SIMD is reported, not assumed', () => {
  const feat = wasmFeatures()
  assert.is(feat.simd, true)
  assert.is(typeof feat.relaxedSimd, 'boolean')
})

test.run()

/**
 * @file Generates a SIMD softmax over contiguous float32 rows, with a vectorised exp.
 *
 * Exported `softmax(x, out, rows, n)` (pointers in bytes): for each row of n floats,
 *   m = max_j x_j;  e_j = exp(x_j − m);  s = Σ_j e_j;  out_j = e_j / s
 * four lanes at a time (the row tail, n mod 4, runs on a one-lane splat through the same code).
 * The sum accumulates in float64 (two f64x2 accumulators fed by promoting the low and high halves
 * of each exp vector), like the typed-array kernel; 1/s is rounded to float32 before the scaling.
 *
 * exp4 is the elementwise module's (src/wasm/elementwise-math.ts `VecMath.exp`: Cody-Waite
 * reduction, degree-7 polynomial, subnormal results kept, 0 below −104 so exp(−∞) = 0 for masked
 * logits; NaN stays NaN).
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'
import { VecMath } from './elementwise-math.ts'

const I32 = ValType.I32, V128 = ValType.V128, F32 = ValType.F32, F64 = ValType.F64
// i8x16.shuffle bytes moving lanes 2, 3 of an f32x4 to lanes 0, 1.
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]
function softmaxFunction(): FuncDef {
  // Params: 0 x, 1 out, 2 rows, 3 n.
  const [X, OUT, ROWS, N] = [0, 1, 2, 3]
  const f = new Body(4)
  const row = f.local(I32), j = f.local(I32), n4 = f.local(I32), xr = f.local(I32), or = f.local(I32), rowBytes = f.local(I32)
  const v = f.local(V128), acc = f.local(V128), mv = f.local(V128), e = f.local(V128)
  const vm = new VecMath(f, 1)
  const m = f.local(F32), s = f.local(F64), es = f.local(F32), acc2 = f.local(V128)

  f.get(N).i32(4).op('i32.mul').set(rowBytes)
  f.get(N).i32(-4).op('i32.and').set(n4) // n rounded down to a multiple of 4
  f.forLoop(row, () => f.i32(0), () => f.get(ROWS), 1, () => {
    f.get(X).get(row).get(rowBytes).op('i32.mul').op('i32.add').set(xr)
    f.get(OUT).get(row).get(rowBytes).op('i32.mul').op('i32.add').set(or)
    // m = max over the row (NaN propagates through f32x4.max and f32.max)
    f.f32x4(-Infinity).set(acc)
    f.forLoop(j, () => f.i32(0), () => f.get(n4), 4, () => {
      f.get(acc).get(xr).get(j).i32(2).op('i32.shl').op('i32.add').vmem('v128.load', 0, 2).simd('f32x4.max').set(acc)
    })
    f.get(acc).lane('f32x4.extract_lane', 0).get(acc).lane('f32x4.extract_lane', 1).op('f32.max')
    f.get(acc).lane('f32x4.extract_lane', 2).op('f32.max').get(acc).lane('f32x4.extract_lane', 3).op('f32.max').set(m)
    f.forLoop(j, () => f.get(n4), () => f.get(N), 1, () => {
      f.get(m).get(xr).get(j).i32(2).op('i32.shl').op('i32.add').mem('f32.load').op('f32.max').set(m)
    })
    f.get(m).simd('f32x4.splat').set(mv)
    // e = exp(x − m), stored into out; acc, acc2 = float64 sums of the low and high halves
    f.f32x4(0).set(acc)
    f.f32x4(0).set(acc2)
    f.forLoop(j, () => f.i32(0), () => f.get(n4), 4, () => {
      f.get(xr).get(j).i32(2).op('i32.shl').op('i32.add').vmem('v128.load', 0, 2).get(mv).simd('f32x4.sub').set(v)
      vm.exp([v], [e])
      f.get(or).get(j).i32(2).op('i32.shl').op('i32.add').get(e).vmem('v128.store', 0, 2)
      f.get(acc).get(e).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(acc)
      f.get(acc2).get(e).get(e).shuffle(HIGH_HALF).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(acc2)
    })
    f.get(acc).lane('f64x2.extract_lane', 0).get(acc).lane('f64x2.extract_lane', 1).op('f64.add')
    f.get(acc2).lane('f64x2.extract_lane', 0).op('f64.add').get(acc2).lane('f64x2.extract_lane', 1).op('f64.add').set(s)
    f.forLoop(j, () => f.get(n4), () => f.get(N), 1, () => {
      f.get(xr).get(j).i32(2).op('i32.shl').op('i32.add').mem('f32.load').get(m).op('f32.sub').simd('f32x4.splat').set(v)
      vm.exp([v], [v])
      f.get(v).lane('f32x4.extract_lane', 0).set(es)
      f.get(or).get(j).i32(2).op('i32.shl').op('i32.add').get(es).mem('f32.store')
      f.get(s).get(es).op('f64.promote_f32').op('f64.add').set(s)
    })
    // out *= 1 / s (vectors, then the tail)
    f.f64(1).get(s).op('f64.div').op('f32.demote_f64').set(es)
    f.get(es).simd('f32x4.splat').set(mv)
    f.forLoop(j, () => f.i32(0), () => f.get(n4), 4, () => {
      f.get(or).get(j).i32(2).op('i32.shl').op('i32.add').tee(xr)
      f.get(xr).vmem('v128.load', 0, 2).get(mv).simd('f32x4.mul').vmem('v128.store', 0, 2)
    })
    f.forLoop(j, () => f.get(n4), () => f.get(N), 1, () => {
      f.get(or).get(j).i32(2).op('i32.shl').op('i32.add').tee(xr)
      f.get(xr).mem('f32.load').get(es).op('f32.mul').mem('f32.store')
    })
  })
  return { name: 'softmax', type: { params: [I32, I32, I32, I32], results: [] }, locals: f.locals, body: f.finish() }
}

export function softmaxModuleBytes(memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  return encodeModule({ memory, functions: [softmaxFunction()] })
}

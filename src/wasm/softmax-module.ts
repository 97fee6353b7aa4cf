/**
 * @file Generates a SIMD softmax over contiguous float32 rows, with a vectorised exp.
 *
 * Exported `softmax(x, out, rows, n)` (pointers in bytes): for each row of n floats,
 *   m = max_j x_j;  e_j = exp(x_j − m);  s = Σ_j e_j;  out_j = e_j / s
 * four lanes at a time (the row tail, n mod 4, runs on a one-lane splat through the same code).
 * The sum accumulates in float64 (two f64x2 accumulators fed by promoting the low and high halves
 * of each exp vector), like the typed-array kernel; 1/s is rounded to float32 before the scaling.
 *
 * exp4 (Cody-Waite range reduction): k = round(x log2 e), r = x − k ln2 (ln2 split in a high part
 * exact in float32 and a low part), exp(r) by its degree-7 Taylor polynomial in Horner form
 * (|r| <= ln2/2: truncation error below 5e-9 relative), times 2^k built in the exponent bits
 * ((k + 127) << 23). Inputs below −87.3 (where 2^k leaves the normal range) give exactly 0, as
 * exp(−∞) = 0 must for masked logits; NaN stays NaN.
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'

const I32 = ValType.I32, V128 = ValType.V128, F32 = ValType.F32, F64 = ValType.F64
// i8x16.shuffle bytes moving lanes 2, 3 of an f32x4 to lanes 0, 1.
export const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15]
const LOG2E = 1.4426950408889634
const LN2_HI = 0.693145751953125 // ln 2 rounded to 16 significant bits: k * LN2_HI is exact for |k| < 2^8
const LN2_LO = 1.4286067653302226e-6 // ln 2 − LN2_HI
const EXP_MIN = -87.3 // below this, 2^k would be subnormal: the result is flushed to 0

/** Emits exp of the f32x4 in local `x`, leaving it on the stack; `r` and `k` are scratch v128 locals. */
export function emitExp4(f: Body, x: number, r: number, k: number): void {
  // k = nearest(x · log2 e), as float lanes
  f.get(x).f32x4(LOG2E).simd('f32x4.mul').simd('f32x4.nearest').set(k)
  // r = (x − k·LN2_HI) − k·LN2_LO
  f.get(x).get(k).f32x4(LN2_HI).simd('f32x4.mul').simd('f32x4.sub')
  f.get(k).f32x4(LN2_LO).simd('f32x4.mul').simd('f32x4.sub').set(r)
  // p(r) = 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r(1/720 + r/5040))))))
  const coeffs = [1 / 5040, 1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]
  f.f32x4(coeffs[0])
  for (let i = 1; i < coeffs.length; i++) f.get(r).simd('f32x4.mul').f32x4(coeffs[i]).simd('f32x4.add')
  // × 2^k: the bit pattern (k + 127) << 23 (k clamped below so the exponent stays normal)
  f.get(k).f32x4(-126).simd('f32x4.max').simd('i32x4.trunc_sat_f32x4_s').i32(127).simd('i32x4.splat').simd('i32x4.add')
  f.i32(23).simd('i32x4.shl').simd('f32x4.mul')
  // lanes with x < EXP_MIN become exactly 0 (the comparison is false for NaN, which stays NaN)
  f.get(x).f32x4(EXP_MIN).simd('f32x4.lt').simd('v128.andnot')
}

function softmaxFunction(): FuncDef {
  // Params: 0 x, 1 out, 2 rows, 3 n.
  const [X, OUT, ROWS, N] = [0, 1, 2, 3]
  const f = new Body(4)
  const row = f.local(I32), j = f.local(I32), n4 = f.local(I32), xr = f.local(I32), or = f.local(I32), rowBytes = f.local(I32)
  const v = f.local(V128), acc = f.local(V128), mv = f.local(V128), r = f.local(V128), k = f.local(V128), e = f.local(V128)
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
      emitExp4(f, v, r, k)
      f.set(e)
      f.get(or).get(j).i32(2).op('i32.shl').op('i32.add').get(e).vmem('v128.store', 0, 2)
      f.get(acc).get(e).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(acc)
      f.get(acc2).get(e).get(e).shuffle(HIGH_HALF).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(acc2)
    })
    f.get(acc).lane('f64x2.extract_lane', 0).get(acc).lane('f64x2.extract_lane', 1).op('f64.add')
    f.get(acc2).lane('f64x2.extract_lane', 0).op('f64.add').get(acc2).lane('f64x2.extract_lane', 1).op('f64.add').set(s)
    f.forLoop(j, () => f.get(n4), () => f.get(N), 1, () => {
      f.get(xr).get(j).i32(2).op('i32.shl').op('i32.add').mem('f32.load').get(m).op('f32.sub').simd('f32x4.splat').set(v)
      emitExp4(f, v, r, k)
      f.lane('f32x4.extract_lane', 0).set(es)
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

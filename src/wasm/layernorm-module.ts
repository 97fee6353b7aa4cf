/**
 * @file Generates a SIMD layer norm / RMS norm over contiguous float32 rows with float64 statistics.
 *
 * Exported `layerNorm(x, y, w, b, stats, R, M, eps, center)` (pointers in bytes; eps f64):
 * for each row r of M floats (x, y: (R, M); w, b: (M,); stats: (R, 2) float64 = mean, rstd)
 *   μ = center ? Σ x / M : 0                    (float64: each f32x4 promoted in two f64x2 halves)
 *   σ⁻¹ = 1 / sqrt(Σ (x − μ)² / M + eps)        (two-pass, float64, never E[x²] − E[x]²)
 *   y = (x − μ) σ⁻¹ w + b                       (float64 lanes, rounded once to float32)
 * as the typed-array kernel does (src/kernels/norm.ts); the tail (M mod 4) runs scalar float64.
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'

const I32 = ValType.I32, V128 = ValType.V128, F64 = ValType.F64
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15] // lanes 2, 3 -> 0, 1
const JOIN_LOW = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23] // low halves of a and b

function layerNormFunction(): FuncDef {
  // Params: 0 x, 1 y, 2 w, 3 b, 4 stats, 5 R, 6 M, 7 eps (f64), 8 center.
  const [X, Y, W, B, ST, R, M, EPS, CENTER] = [0, 1, 2, 3, 4, 5, 6, 7, 8]
  const f = new Body(9)
  const r = f.local(I32), j = f.local(I32), m4 = f.local(I32), xr = f.local(I32), yr = f.local(I32), rowBytes = f.local(I32), p = f.local(I32)
  const v = f.local(V128), lo = f.local(V128), hi = f.local(V128), acc = f.local(V128), mu2 = f.local(V128), rs2 = f.local(V128)
  const mu = f.local(F64), rs = f.local(F64), t = f.local(F64), Mf = f.local(F64)

  /** Pushes the f64x2 of lanes 0,1 (high = false) or 2,3 (high = true) of the f32x4 in `vec`. */
  const half = (vec: number, high: boolean): void => {
    f.get(vec)
    if (high) f.get(vec).shuffle(HIGH_HALF)
    f.simd('f64x2.promote_low_f32x4')
  }
  const lanesSum = (vec: number): void => { f.get(vec).lane('f64x2.extract_lane', 0).get(vec).lane('f64x2.extract_lane', 1).op('f64.add') }
  const at = (base: number): void => { f.get(base).get(j).i32(2).op('i32.shl').op('i32.add') }

  f.get(M).i32(4).op('i32.mul').set(rowBytes)
  f.get(M).i32(-4).op('i32.and').set(m4)
  f.get(M).op('f64.convert_i32_s').set(Mf)
  f.forLoop(r, () => f.i32(0), () => f.get(R), 1, () => {
    f.get(X).get(r).get(rowBytes).op('i32.mul').op('i32.add').set(xr)
    f.get(Y).get(r).get(rowBytes).op('i32.mul').op('i32.add').set(yr)
    // μ
    f.f64(0).set(mu)
    f.get(CENTER).if()
    f.f32x4(0).set(acc)
    f.forLoop(j, () => f.i32(0), () => f.get(m4), 4, () => {
      at(xr); f.vmem('v128.load', 0, 2).set(v)
      f.get(acc); half(v, false); f.simd('f64x2.add'); half(v, true); f.simd('f64x2.add').set(acc)
    })
    lanesSum(acc); f.set(mu)
    f.forLoop(j, () => f.get(m4), () => f.get(M), 1, () => {
      f.get(mu); at(xr); f.mem('f32.load').op('f64.promote_f32').op('f64.add').set(mu)
    })
    f.get(mu).get(Mf).op('f64.div').set(mu)
    f.end()
    // σ⁻¹ from the squared deviations
    f.get(mu).simd('f64x2.splat').set(mu2)
    f.f32x4(0).set(acc)
    f.forLoop(j, () => f.i32(0), () => f.get(m4), 4, () => {
      at(xr); f.vmem('v128.load', 0, 2).set(v)
      half(v, false); f.get(mu2).simd('f64x2.sub').set(lo)
      half(v, true); f.get(mu2).simd('f64x2.sub').set(hi)
      f.get(acc).get(lo).get(lo).simd('f64x2.mul').simd('f64x2.add').get(hi).get(hi).simd('f64x2.mul').simd('f64x2.add').set(acc)
    })
    lanesSum(acc); f.set(rs)
    f.forLoop(j, () => f.get(m4), () => f.get(M), 1, () => {
      at(xr); f.mem('f32.load').op('f64.promote_f32').get(mu).op('f64.sub').set(t)
      f.get(rs).get(t).get(t).op('f64.mul').op('f64.add').set(rs)
    })
    f.f64(1).get(rs).get(Mf).op('f64.div').get(EPS).op('f64.add').op('f64.sqrt').op('f64.div').set(rs)
    // stats[r] = (μ, σ⁻¹)
    f.get(ST).get(r).i32(16).op('i32.mul').op('i32.add').set(p)
    f.get(p).get(mu).mem('f64.store')
    f.get(p).get(rs).mem('f64.store', 8)
    // y = (x − μ) (σ⁻¹ w) + b in float64 lanes, rounded once
    f.get(rs).simd('f64x2.splat').set(rs2)
    f.forLoop(j, () => f.i32(0), () => f.get(m4), 4, () => {
      for (const [high, out] of [[false, lo], [true, hi]] as const) {
        at(xr); f.vmem('v128.load', 0, 2).set(v); half(v, high); f.get(mu2).simd('f64x2.sub')
        at(W); f.vmem('v128.load', 0, 2).set(v); half(v, high); f.get(rs2).simd('f64x2.mul').simd('f64x2.mul')
        at(B); f.vmem('v128.load', 0, 2).set(v); half(v, high); f.simd('f64x2.add')
        f.simd('f32x4.demote_f64x2_zero').set(out)
      }
      at(yr); f.get(lo).get(hi).shuffle(JOIN_LOW).vmem('v128.store', 0, 2)
    })
    f.forLoop(j, () => f.get(m4), () => f.get(M), 1, () => {
      at(yr)
      at(xr); f.mem('f32.load').op('f64.promote_f32').get(mu).op('f64.sub')
      f.get(rs); at(W); f.mem('f32.load').op('f64.promote_f32').op('f64.mul').op('f64.mul')
      at(B); f.mem('f32.load').op('f64.promote_f32').op('f64.add')
      f.op('f32.demote_f64').mem('f32.store')
    })
  })
  return { name: 'layerNorm', type: { params: [I32, I32, I32, I32, I32, I32, I32, F64, I32], results: [] }, locals: f.locals, body: f.finish() }
}

export function layerNormModuleBytes(memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  return encodeModule({ memory, functions: [layerNormFunction()] })
}

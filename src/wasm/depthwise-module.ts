/**
 * @file Generates the WebAssembly SIMD depthwise-convolution module: tap-list convolutions over
 * zero-padded, column-polyphase planes in the kernel memory (laid out by src/wasm/depthwise.ts).
 * Reference: Howard et al. 2017, "MobileNets" (arXiv:1704.04861), section 3.1.
 *
 * A "tap list" is T byte offsets `off[t]` into an input plane and T weights per plane. The wrapper
 * lays each plane out so that every tap reads 4 neighbouring outputs' inputs with one `v128.load`
 * (stride sW is folded into the polyphase column layout), so one function serves every kernel size,
 * stride, dilation and padding; forward and grad-input (per output phase) are both tap lists.
 *
 * Exported, for T = 1..MAX_CONV_TAPS, `conv<T>(inB, inPS, wB, wPS, wPeriod, outB, outPS, planes,
 * rows, vecs, inRS, outRS, offs, accum)` (all i32, pointers and strides in bytes):
 *   for p < planes, r < rows, j < vecs:   in  = inB + p inPS + r inRS + 16 j,  wp = wB + (p mod wPeriod) wPS
 *     out[outB + p outPS + r outRS + 16 j] (+)= Σ_t splat(f32 wp[t]) · v128 in[off[t]]   (+= when accum = 1)
 *   summed in float32 lanes in tap order (short sums: T terms per output).
 *
 * And, for T = 1..MAX_WGRAD_TAPS, `wgrad<T>(xB, xPS, dyB, dyPS, outB, planes, rows, vecs, tail, inRS,
 * dyRS, offs, mask)`:
 *   for p < planes:  out f64[outB + 8 (p T + t)] = Σ_{r, lanes} f64(x[p, r, off[t] + lane]) f64(dy[p, r, lane])
 *   over `vecs` full vectors per row plus, when tail = 1, one more whose x lanes are and-ed with the
 *   16-byte `mask` (lanes past the row end must give 0 even where x holds ±Inf or NaN).
 *   Products and sums are float64 (each f32x4 split into two f64x2 halves): a reduction over N Ho Wo
 *   terms, which the repo's rule keeps in float64, as the typed-array kernel does.
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'

const I32 = ValType.I32, V128 = ValType.V128
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15] // lanes 2, 3 -> 0, 1

/** Largest tap list per `conv` call (longer lists run in chunks with accum = 1). */
export const MAX_CONV_TAPS = 25
/** Largest tap list per `wgrad` call: 2 f64x2 accumulators per tap (more spill registers). */
export const MAX_WGRAD_TAPS = 9

function convFunction(T: number, fma: boolean): FuncDef {
  const [INB, INPS, WB, WPS, WPER, OUTB, OUTPS, PLANES, ROWS, VECS, INRS, OUTRS, OFFS, ACCUM] = Array.from({ length: 14 }, (_, i) => i)
  const f = new Body(14)
  const p = f.local(I32), r = f.local(I32), j = f.local(I32), xi = f.local(I32), o = f.local(I32), wp = f.local(I32)
  const xr = f.local(I32), orow = f.local(I32)
  const off = Array.from({ length: T }, () => f.local(I32))
  const wv = Array.from({ length: T }, () => f.local(V128))
  const acc = f.local(V128)
  for (let t = 0; t < T; t++) f.get(OFFS).mem('i32.load', 4 * t).set(off[t])
  f.forLoop(p, () => f.i32(0), () => f.get(PLANES), 1, () => {
    // wp = wB + (p mod wPeriod) wPS; the T weights of this plane, splatted once
    f.get(WB).get(p).get(WPER).op('i32.rem_u').get(WPS).op('i32.mul').op('i32.add').set(wp)
    for (let t = 0; t < T; t++) f.get(wp).vmem('v128.load32_splat', 4 * t).set(wv[t])
    f.get(INB).get(p).get(INPS).op('i32.mul').op('i32.add').set(xr)
    f.get(OUTB).get(p).get(OUTPS).op('i32.mul').op('i32.add').set(orow)
    f.forLoop(r, () => f.i32(0), () => f.get(ROWS), 1, () => {
      f.get(xr).set(xi)
      f.get(orow).set(o)
      f.forLoop(j, () => f.i32(0), () => f.get(VECS), 1, () => {
        f.get(ACCUM).if(V128).get(o).vmem('v128.load', 0, 2).else().f32x4(0).end()
        f.set(acc)
        for (let t = 0; t < T; t++) {
          f.get(xi).get(off[t]).op('i32.add').vmem('v128.load', 0, 2)
          if (fma) f.get(wv[t]).get(acc).simd('f32x4.relaxed_madd').set(acc)
          else f.get(wv[t]).simd('f32x4.mul').get(acc).simd('f32x4.add').set(acc)
        }
        f.get(o).get(acc).vmem('v128.store', 0, 2)
        f.get(xi).i32(16).op('i32.add').set(xi)
        f.get(o).i32(16).op('i32.add').set(o)
      })
      f.get(xr).get(INRS).op('i32.add').set(xr)
      f.get(orow).get(OUTRS).op('i32.add').set(orow)
    })
  })
  return { name: `conv${T}`, type: { params: new Array<ValType>(14).fill(I32), results: [] }, locals: f.locals, body: f.finish() }
}

function wgradFunction(T: number): FuncDef {
  const [XB, XPS, DYB, DYPS, OUTB, PLANES, ROWS, VECS, TAIL, INRS, DYRS, OFFS, MASK] = Array.from({ length: 13 }, (_, i) => i)
  const f = new Body(13)
  const p = f.local(I32), r = f.local(I32), j = f.local(I32), xi = f.local(I32), di = f.local(I32), xr = f.local(I32), dr = f.local(I32), op = f.local(I32)
  const off = Array.from({ length: T }, () => f.local(I32))
  const lo = Array.from({ length: T }, () => f.local(V128)), hi = Array.from({ length: T }, () => f.local(V128))
  const d0 = f.local(V128), d1 = f.local(V128), xv = f.local(V128), mask = f.local(V128), s = f.local(V128)
  for (let t = 0; t < T; t++) f.get(OFFS).mem('i32.load', 4 * t).set(off[t])
  f.get(MASK).vmem('v128.load').set(mask)
  /** One vector step at (xi, di): lo[t] += x[0:2] dy[0:2], hi[t] += x[2:4] dy[2:4] in float64. */
  const step = (masked: boolean): void => {
    f.get(di).vmem('v128.load', 0, 2).set(xv)
    f.get(xv).simd('f64x2.promote_low_f32x4').set(d0)
    f.get(xv).get(xv).shuffle(HIGH_HALF).simd('f64x2.promote_low_f32x4').set(d1)
    for (let t = 0; t < T; t++) {
      f.get(xi).get(off[t]).op('i32.add').vmem('v128.load', 0, 2)
      if (masked) f.get(mask).simd('v128.and')
      f.set(xv)
      f.get(lo[t]).get(xv).simd('f64x2.promote_low_f32x4').get(d0).simd('f64x2.mul').simd('f64x2.add').set(lo[t])
      f.get(hi[t]).get(xv).get(xv).shuffle(HIGH_HALF).simd('f64x2.promote_low_f32x4').get(d1).simd('f64x2.mul').simd('f64x2.add').set(hi[t])
    }
  }
  f.forLoop(p, () => f.i32(0), () => f.get(PLANES), 1, () => {
    for (let t = 0; t < T; t++) { f.f32x4(0).set(lo[t]); f.f32x4(0).set(hi[t]) }
    f.get(XB).get(p).get(XPS).op('i32.mul').op('i32.add').set(xr)
    f.get(DYB).get(p).get(DYPS).op('i32.mul').op('i32.add').set(dr)
    f.forLoop(r, () => f.i32(0), () => f.get(ROWS), 1, () => {
      f.get(xr).set(xi)
      f.get(dr).set(di)
      f.forLoop(j, () => f.i32(0), () => f.get(VECS), 1, () => {
        step(false)
        f.get(xi).i32(16).op('i32.add').set(xi)
        f.get(di).i32(16).op('i32.add').set(di)
      })
      f.get(TAIL).if()
      step(true)
      f.end()
      f.get(xr).get(INRS).op('i32.add').set(xr)
      f.get(dr).get(DYRS).op('i32.add').set(dr)
    })
    // out[p T + t] = sum of the four float64 partial sums
    f.get(OUTB).get(p).i32(8 * T).op('i32.mul').op('i32.add').set(op)
    for (let t = 0; t < T; t++) {
      f.get(lo[t]).get(hi[t]).simd('f64x2.add').set(s)
      f.get(op).get(s).lane('f64x2.extract_lane', 0).get(s).lane('f64x2.extract_lane', 1).op('f64.add').mem('f64.store', 8 * t)
    }
  })
  return { name: `wgrad${T}`, type: { params: new Array<ValType>(13).fill(I32), results: [] }, locals: f.locals, body: f.finish() }
}

/** The module: `conv1..conv25` and `wgrad1..wgrad9` (with `fma`, conv uses relaxed_madd). */
export function depthwiseModuleBytes(memory: { min: number; max?: number; shared?: boolean }, fma = false): Uint8Array {
  const functions: FuncDef[] = []
  for (let T = 1; T <= MAX_CONV_TAPS; T++) functions.push(convFunction(T, fma))
  for (let T = 1; T <= MAX_WGRAD_TAPS; T++) functions.push(wgradFunction(T))
  return encodeModule({ memory, functions })
}

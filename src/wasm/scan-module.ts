/**
 * @file Generates the inner loop of Mamba's selective scan (Gu & Dao 2023,
 * https://arxiv.org/abs/2312.00752, Algorithm 2, Eqns (2a), (2b)) vectorised over the state
 * dimension N, four states per f32x4 for exp(Δ A) and two per f64x2 for the float64 state.
 *
 * Exported `scan(dt, dtu, A, bT, cT, h, y, nCh, L, Np)` (pointers in bytes) runs nCh channels that
 * share one (batch, group) block of B and C:
 *   dt (nCh, L) f32: Δ_t rounded to float32 (the argument of the exp only)
 *   dtu (nCh, L) f64: Δ_t u_t
 *   A (nCh, Np) f32, bT / cT (L, Np) f64: B and C transposed; h (Np,) f64 scratch; y (nCh, L) f64
 *   per channel: h = 0; for t: e = exp(Δ_t A) (f32x4), h = e h + Δ_t u_t B_t (f64), y_t = Σ_n C_t,n h_n (f64).
 * Np is a multiple of 4 (padding states have A = B = C = 0, so they stay 0 and add nothing).
 * exp4 is src/wasm/elementwise-math.ts `VecMath.exp` (Cody-Waite reduction, degree-7 Taylor
 * polynomial, truncation < 5e-9 relative, a few float32 roundings, subnormals kept);
 * Δ A <= 0 here, so it never overflows.
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'
import { HIGH_HALF } from './softmax-module.ts'
import { VecMath } from './elementwise-math.ts'

const I32 = ValType.I32, V128 = ValType.V128

function scanFunction(): FuncDef {
  const [DT, DTU, A, BT, CT, H, Y, NCH, L, NP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  const f = new Body(10)
  const ch = f.local(I32), t = f.local(I32), n = f.local(I32), pa = f.local(I32), pb = f.local(I32), pc = f.local(I32), ph = f.local(I32)
  const idx = f.local(I32), rowB = f.local(I32)
  const dtv = f.local(V128), dtuv = f.local(V128), x = f.local(V128), e = f.local(V128)
  const vm = new VecMath(f, 1)
  const yv = f.local(V128), hv = f.local(V128), eh = f.local(V128)
  f.get(NP).i32(3).op('i32.shl').set(rowB) // bytes of one (Np,) f64 row
  f.forLoop(ch, () => f.i32(0), () => f.get(NCH), 1, () => {
    f.forLoop(n, () => f.i32(0), () => f.get(NP), 1, () => { f.get(H).get(n).i32(3).op('i32.shl').op('i32.add').f64(0).mem('f64.store') })
    f.get(A).get(ch).get(NP).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(pa) // A[ch, :]
    f.forLoop(t, () => f.i32(0), () => f.get(L), 1, () => {
      f.get(ch).get(L).op('i32.mul').get(t).op('i32.add').set(idx) // (ch, t)
      f.get(DT).get(idx).i32(2).op('i32.shl').op('i32.add').vmem('v128.load32_splat').set(dtv)
      f.get(DTU).get(idx).i32(3).op('i32.shl').op('i32.add').vmem('v128.load64_splat').set(dtuv)
      f.get(BT).get(t).get(rowB).op('i32.mul').op('i32.add').set(pb)
      f.get(CT).get(t).get(rowB).op('i32.mul').op('i32.add').set(pc)
      f.get(H).set(ph)
      f.f32x4(0).set(yv)
      f.forLoop(n, () => f.i32(0), () => f.get(NP), 4, () => {
        // e = exp(Δ_t A[n..n+3])
        f.get(pa).get(n).i32(2).op('i32.shl').op('i32.add').vmem('v128.load').get(dtv).simd('f32x4.mul').set(x)
        vm.exp([x], [e])
        for (const half of [0, 1]) {
          // Eqn (2a): h = e h + Δ u B (two states per f64x2)
          f.get(e)
          if (half) f.get(e).shuffle(HIGH_HALF)
          f.simd('f64x2.promote_low_f32x4').get(ph).vmem('v128.load', 16 * half, 3).simd('f64x2.mul').set(eh)
          f.get(eh).get(pb).vmem('v128.load', 16 * half, 3).get(dtuv).simd('f64x2.mul').simd('f64x2.add').set(hv)
          f.get(ph).get(hv).vmem('v128.store', 16 * half, 3)
          // Eqn (2b): y += C h
          f.get(yv).get(pc).vmem('v128.load', 16 * half, 3).get(hv).simd('f64x2.mul').simd('f64x2.add').set(yv)
        }
        f.get(ph).i32(32).op('i32.add').set(ph)
        f.get(pb).i32(32).op('i32.add').set(pb)
        f.get(pc).i32(32).op('i32.add').set(pc)
      })
      f.get(Y).get(idx).i32(3).op('i32.shl').op('i32.add')
      f.get(yv).lane('f64x2.extract_lane', 0).get(yv).lane('f64x2.extract_lane', 1).op('f64.add').mem('f64.store')
    })
  })
  return { name: 'scan', type: { params: Array<ValType>(10).fill(I32), results: [] }, locals: f.locals, body: f.finish() }
}

/** The selective-scan module: `scan`. */
export function scanModuleBytes(memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  return encodeModule({ memory, functions: [scanFunction()] })
}

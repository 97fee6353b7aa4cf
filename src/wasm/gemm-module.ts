/**
 * @file Generates the SIMD GEMM macro-kernel as a WebAssembly module: the inner two loops of the
 * BLIS layering (Goto & van de Geijn 2008) over packed panels, with an MR x NR register-blocked
 * micro-kernel of f32x4 accumulators.
 *
 * Exported function `macro(ap, bp, c, mTiles, nTiles, kc, ldc, first)` (all i32; pointers in bytes):
 *   ap: A block packed as mTiles micro-panels, each (kc, MR) row-major:  A~[t][p][r] = A[t*MR + r, p]
 *   bp: B block packed as nTiles micro-panels, each (kc, NR) row-major:  B~[t][p][s] = B[p, t*NR + s]
 *   c:  C block, (mTiles*MR, nTiles*NR) with row stride ldc bytes
 *   For every tile (it, jt): C[it, jt] (+)= sum_p A~[it][p][:]^T B~[jt][p][:]  (store when first = 1).
 * Per k step the micro-kernel loads NR/4 vectors of B, splats each of the MR values of A
 * (`v128.load32_splat`) and multiply-adds into MR*NR/4 accumulators; with `fma` it uses relaxed
 * SIMD's `f32x4.relaxed_madd` (one rounding where the hardware fuses). Sums are float32, in order
 * p = 0..kc-1 within a block; blocks add into C in order.
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'

export interface GemmKernelShape {
  /** Rows of the micro-tile. */
  MR: number
  /** Columns of the micro-tile, a multiple of 4. */
  NR: number
  /** Use relaxed-SIMD fused multiply-add. */
  fma: boolean
}

const I32 = ValType.I32, V128 = ValType.V128

/** The `macro` function body for one micro-tile shape. */
export function gemmMacroFunction({ MR, NR, fma }: GemmKernelShape): FuncDef {
  if (!Number.isInteger(MR) || MR < 1 || !Number.isInteger(NR) || NR < 4 || NR % 4 !== 0) {
    throw new RangeError(`gemm kernel: MR must be >= 1 and NR a positive multiple of 4, got ${MR}x${NR}`)
  }
  const NV = NR / 4 // vectors per tile row
  // Params: 0 ap, 1 bp, 2 c, 3 mTiles, 4 nTiles, 5 kc, 6 ldc, 7 first.
  const [AP, BP, C, MT, NT, KC, LDC, FIRST] = [0, 1, 2, 3, 4, 5, 6, 7]
  const f = new Body(8)
  const jt = f.local(I32), it = f.local(I32), pa = f.local(I32), pb = f.local(I32), pend = f.local(I32)
  const cRow = f.local(I32), cTile = f.local(I32), bTile = f.local(I32), aStride = f.local(I32), bStride = f.local(I32)
  const acc: number[] = Array.from({ length: MR * NV }, () => f.local(V128)) // acc[r*NV + v]: C[r, 4v..4v+3]
  const bv: number[] = Array.from({ length: NV }, () => f.local(V128))
  const av = f.local(V128)

  // Panel sizes in bytes: A~ tile kc*MR*4, B~ tile kc*NR*4.
  f.get(KC).i32(MR * 4).op('i32.mul').set(aStride)
  f.get(KC).i32(NR * 4).op('i32.mul').set(bStride)
  f.forLoop(jt, () => f.i32(0), () => f.get(NT), 1, () => {
    // bTile = bp + jt * bStride; cTile = c + jt * NR * 4
    f.get(BP).get(jt).get(bStride).op('i32.mul').op('i32.add').set(bTile)
    f.get(C).get(jt).i32(NR * 4).op('i32.mul').op('i32.add').set(cTile)
    f.forLoop(it, () => f.i32(0), () => f.get(MT), 1, () => {
      // cRow = cTile + it * MR * ldc: the tile's first row.
      f.get(cTile).get(it).i32(MR).op('i32.mul').get(LDC).op('i32.mul').op('i32.add').set(cRow)
      // Accumulators: zero on the first K block, else the partial sums already in C.
      f.get(FIRST).if()
      for (const a of acc) f.f32x4(0).set(a)
      f.else()
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) {
          f.get(cRow)
          if (r > 0) f.get(LDC).i32(r).op('i32.mul').op('i32.add')
          f.vmem('v128.load', 16 * v, 2).set(acc[r * NV + v])
        }
      }
      f.end()
      f.get(AP).get(it).get(aStride).op('i32.mul').op('i32.add').set(pa)
      f.get(bTile).set(pb)
      f.get(pb).get(bStride).op('i32.add').set(pend)
      // k loop (kc >= 1): one rank-1 update of the MR x NR tile per step.
      f.loop()
      for (let v = 0; v < NV; v++) f.get(pb).vmem('v128.load', 16 * v).set(bv[v])
      for (let r = 0; r < MR; r++) {
        f.get(pa).vmem('v128.load32_splat', 4 * r).set(av)
        for (let v = 0; v < NV; v++) {
          const c = acc[r * NV + v]
          if (fma) f.get(av).get(bv[v]).get(c).simd('f32x4.relaxed_madd').set(c)
          else f.get(c).get(av).get(bv[v]).simd('f32x4.mul').simd('f32x4.add').set(c)
        }
      }
      f.get(pa).i32(MR * 4).op('i32.add').set(pa)
      f.get(pb).i32(NR * 4).op('i32.add').tee(pb)
      f.get(pend).op('i32.lt_u').brIf(0)
      f.end()
      for (let r = 0; r < MR; r++) {
        for (let v = 0; v < NV; v++) {
          f.get(cRow)
          if (r > 0) f.get(LDC).i32(r).op('i32.mul').op('i32.add')
          f.get(acc[r * NV + v]).vmem('v128.store', 16 * v, 2)
        }
      }
    })
  })
  return { name: 'macro', type: { params: [I32, I32, I32, I32, I32, I32, I32, I32], results: [] }, locals: f.locals, body: f.finish() }
}

/** The whole module: `env.memory` imported (shared when `shared`), `macro` exported. */
export function gemmModuleBytes(shape: GemmKernelShape, memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  return encodeModule({ memory, functions: [gemmMacroFunction(shape)] })
}

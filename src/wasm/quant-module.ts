/**
 * @file Generates the WebAssembly SIMD kernels for quantized products (after ggml's `vec_dot_q8_0`
 * / `vec_dot_q4_0`, https://github.com/ggerganov/ggml, and the int8 GEMM of Jacob et al. 2018,
 * https://arxiv.org/abs/1712.05877). All pointers are byte offsets into the kernel memory; the
 * wrapper (src/wasm/quant.ts) lays the operands out padded as below, so no kernel has a tail.
 *
 * `gemmI8x1`, `gemmI8x2(a, w, acc, rows, Np, Kp)`: acc (rows, Np) int32 = A (rows, Kp) int8 times
 *   W (Np, Kp) int8 transposed; rows a multiple of MR (1 or 2), Np of 4, Kp of 16 (zero padded).
 *   Per 8 columns: `v128.load8x8_s` sign-extends 8 codes to i16x8, `i32x4.dot_i16x8_s` multiplies
 *   pairs exactly (|a b| <= 2^14, a pair <= 2^15) and sums them into i32 lanes; lanes add with
 *   wrapping i32 arithmetic, so the result is the exact sum modulo 2^32, what `gemmI8Ref` stores
 *   into its Int32Array (and the exact sum whenever it fits, e.g. K <= I8_MAX_K with |codes| <= 127).
 *   An MR x 4 tile keeps MR * 4 i32x4 accumulators; the four of a row fold into one vector with
 *   shuffles (`emitHsum4`) and store as four outputs.
 * `matvecQ8(codes, scales, x, y, Np, nG, Gp)`: y (Np,) = per-group int8 codes (Np, nG, Gp) times
 *   x (nG, Gp) f32 with scales (Np, nG); Np a multiple of 4 and Gp of 16 (codes and x zero padded).
 * `matvecQ4(data, scales, zeros, x, y, Np, nG, Gp)`: the same for packed nibbles (Np, nG, Gp/2)
 *   bytes, Gp a multiple of 32, zeros (Np, nG) bytes (8 for symmetric). Nibbles unpack with a mask
 *   (low = even columns) and `i8x16.shr_u` (high = odd columns), and u - z is taken in int8 before
 *   any rounding; x is stored per 32 columns as [16 even | 16 odd] to match.
 * `matmulQ4(data, scales, zeros, X, Y, wrow, M, N, nG, Gp)`: Y (M, N) = X (M, nG, Gp) (same
 *   permuted order) times decoded W^T: each weight row is decoded once into wrow (nG, Gp) f32 as
 *   exact (u - z) values, then dotted with every row of X.
 * Float accumulation (`emitDot16`): 16 products form one f32x4 (4 per lane, in float32), its two
 * halves add, and the 2-lane result is promoted and summed in float64 per group; the group sum is
 * scaled in float64: y = sum_g s_g t_g. Every product thus passes at most 5 float32 roundings
 * (the product, 3 lane adds, the fold), whatever K and G are: |error| <= 5 * 2^-24 sum |w x|
 * (+ float64 terms), where the typed-array kernels' contract is "float rounding of sum |w x|".
 */
import { encodeModule, ValType, type FuncDef } from './encode.ts'
import { Body } from './body.ts'

const I32 = ValType.I32, V128 = ValType.V128, F64 = ValType.F64
// i8x16.shuffle byte indices: i32 lane l of the first operand is bytes 4l..4l+3, of the second 16+4l..
const lanes = (ls: readonly number[]): number[] => ls.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])
const INTERLEAVE_LO = lanes([0, 4, 1, 5]) // [a0, b0, a1, b1]
const INTERLEAVE_HI = lanes([2, 6, 3, 7]) // [a2, b2, a3, b3]
const PAIR_LO = lanes([0, 1, 4, 5]) // [a0, a1, b0, b1]
const PAIR_HI = lanes([2, 3, 6, 7]) // [a2, a3, b2, b3]
const HIGH_HALF = lanes([2, 3, 2, 3])

/** Leaves [Σ a, Σ b, Σ c, Σ d] (i32 lanes) of the four i32x4 locals on the stack. */
function emitHsum4(f: Body, [a, b, c, d]: readonly number[], ab: number, cd: number): void {
  f.get(a).get(b).shuffle(INTERLEAVE_LO).get(a).get(b).shuffle(INTERLEAVE_HI).simd('i32x4.add').set(ab) // [a0+a2, b0+b2, a1+a3, b1+b3]
  f.get(c).get(d).shuffle(INTERLEAVE_LO).get(c).get(d).shuffle(INTERLEAVE_HI).simd('i32x4.add').set(cd)
  f.get(ab).get(cd).shuffle(PAIR_LO).get(ab).get(cd).shuffle(PAIR_HI).simd('i32x4.add')
}

/** gemmI8 with an MR x 4 register tile. */
function gemmI8Function(MR: 1 | 2): FuncDef {
  const NR = 4
  const [A, W, ACC, ROWS, NP, KP] = [0, 1, 2, 3, 4, 5]
  const f = new Body(6)
  const i = f.local(I32), j = f.local(I32), end = f.local(I32)
  const pa = Array.from({ length: MR }, () => f.local(I32)), pw = Array.from({ length: NR }, () => f.local(I32))
  const acc = Array.from({ length: MR * NR }, () => f.local(V128)) // acc[r*NR + c]: lanes of Σ a[i+r] w[j+c]
  const av = Array.from({ length: MR }, () => f.local(V128)), wv = f.local(V128), ab = f.local(V128), cd = f.local(V128)
  f.forLoop(i, () => f.i32(0), () => f.get(ROWS), MR, () => {
    f.forLoop(j, () => f.i32(0), () => f.get(NP), NR, () => {
      for (let r = 0; r < MR; r++) f.get(A).get(i).i32(r).op('i32.add').get(KP).op('i32.mul').op('i32.add').set(pa[r])
      for (let c = 0; c < NR; c++) f.get(W).get(j).i32(c).op('i32.add').get(KP).op('i32.mul').op('i32.add').set(pw[c])
      f.get(pa[0]).get(KP).op('i32.add').set(end)
      for (const v of acc) f.f32x4(0).set(v)
      // p loop, 16 columns per pass (Kp >= 16): two steps of 8 sign-extended codes.
      f.loop()
      for (const off of [0, 8]) {
        for (let r = 0; r < MR; r++) f.get(pa[r]).vmem('v128.load8x8_s', off, 0).set(av[r])
        for (let c = 0; c < NR; c++) {
          f.get(pw[c]).vmem('v128.load8x8_s', off, 0).set(wv)
          for (let r = 0; r < MR; r++) {
            const s = acc[r * NR + c]
            f.get(s).get(av[r]).get(wv).simd('i32x4.dot_i16x8_s').simd('i32x4.add').set(s)
          }
        }
      }
      for (const p of [...pa, ...pw]) f.get(p).i32(16).op('i32.add').set(p)
      f.get(pa[0]).get(end).op('i32.lt_u').brIf(0)
      f.end()
      for (let r = 0; r < MR; r++) {
        // acc[i + r, j..j+3]
        f.get(ACC).get(i).i32(r).op('i32.add').get(NP).op('i32.mul').get(j).op('i32.add').i32(2).op('i32.shl').op('i32.add')
        emitHsum4(f, acc.slice(r * NR, r * NR + NR), ab, cd)
        f.vmem('v128.store', 0, 0)
      }
    })
  })
  return { name: `gemmI8x${MR}`, type: { params: [I32, I32, I32, I32, I32, I32], results: [] }, locals: f.locals, body: f.finish() }
}

/**
 * Adds Σ of 16 products to the f64x2 local `t`: q holds 16 signed int8 values (i8x16), x(k) pushes
 * the f32x4 of columns 4k..4k+3. Lanes: 4 products each in float32, then the halves fold, promote.
 */
function emitDot16(f: Body, q: number, h: number, p: number, t: number, x: (k: number) => void): void {
  f.get(q).simd('i16x8.extend_low_i8x16_s').tee(h).simd('i32x4.extend_low_i16x8_s').simd('f32x4.convert_i32x4_s')
  x(0); f.simd('f32x4.mul')
  f.get(h).simd('i32x4.extend_high_i16x8_s').simd('f32x4.convert_i32x4_s'); x(1); f.simd('f32x4.mul').simd('f32x4.add')
  f.get(q).simd('i16x8.extend_high_i8x16_s').tee(h).simd('i32x4.extend_low_i16x8_s').simd('f32x4.convert_i32x4_s')
  x(2); f.simd('f32x4.mul').simd('f32x4.add')
  f.get(h).simd('i32x4.extend_high_i16x8_s').simd('f32x4.convert_i32x4_s'); x(3); f.simd('f32x4.mul').simd('f32x4.add')
  f.tee(p).get(p).get(p).shuffle(HIGH_HALF).simd('f32x4.add').simd('f64x2.promote_low_f32x4').get(t).simd('f64x2.add').set(t)
}

/** y[n+r] for r < 4: rows n..n+3 share the loads of x. `q4` selects the nibble layout. */
function matvecFunction(q4: boolean): FuncDef {
  // Params: Q8 (codes, scales, x, y, Np, nG, Gp); Q4 (data, scales, zeros, x, y, Np, nG, Gp).
  const P = q4 ? { D: 0, S: 1, Z: 2, X: 3, Y: 4, NP: 5, NG: 6, GP: 7 } : { D: 0, S: 1, Z: -1, X: 2, Y: 3, NP: 4, NG: 5, GP: 6 }
  const nParams = q4 ? 8 : 7
  const R = 4
  const f = new Body(nParams)
  const n = f.local(I32), g = f.local(I32), c = f.local(I32), rowBytes = f.local(I32), grpBytes = f.local(I32)
  const px = f.local(I32), pc = Array.from({ length: R }, () => f.local(I32)), si = f.local(I32)
  const acc = Array.from({ length: R }, () => f.local(F64)), t = Array.from({ length: R }, () => f.local(V128))
  const zv = Array.from({ length: R }, () => f.local(V128))
  const q = f.local(V128), h = f.local(V128), p = f.local(V128), v = f.local(V128), mask = f.local(V128)
  const step = q4 ? 32 : 16 // columns per pass
  f.i32(15).simd('i8x16.splat').set(mask)
  f.get(P.GP).i32(q4 ? 1 : 0).op('i32.shr_u').set(grpBytes) // bytes of one group of one row
  f.get(P.NG).get(grpBytes).op('i32.mul').set(rowBytes)
  f.forLoop(n, () => f.i32(0), () => f.get(P.NP), R, () => {
    for (let r = 0; r < R; r++) f.f64(0).set(acc[r])
    f.forLoop(g, () => f.i32(0), () => f.get(P.NG), 1, () => {
      f.get(P.X).get(g).get(P.GP).op('i32.mul').i32(2).op('i32.shl').op('i32.add').set(px) // x[g, :]
      f.get(n).get(P.NG).op('i32.mul').get(g).op('i32.add').set(si) // (n, g) in scales / zeros
      for (let r = 0; r < R; r++) {
        f.get(P.D).get(n).i32(r).op('i32.add').get(rowBytes).op('i32.mul').op('i32.add').get(g).get(grpBytes).op('i32.mul').op('i32.add').set(pc[r])
        f.f32x4(0).set(t[r])
        if (q4) f.get(P.Z).get(si).get(P.NG).i32(r).op('i32.mul').op('i32.add').op('i32.add').mem('i32.load8_u').simd('i8x16.splat').set(zv[r])
      }
      f.forLoop(c, () => f.i32(0), () => f.get(P.GP), step, () => {
        for (let r = 0; r < R; r++) {
          f.get(pc[r]).vmem('v128.load', 0, 0)
          if (!q4) {
            f.set(q)
            emitDot16(f, q, h, p, t[r], (k) => f.get(px).vmem('v128.load', 16 * k, 2))
          } else {
            f.tee(v).get(mask).simd('v128.and').get(zv[r]).simd('i8x16.sub').set(q) // even columns: u - z
            emitDot16(f, q, h, p, t[r], (k) => f.get(px).vmem('v128.load', 16 * k, 2))
            f.get(v).i32(4).simd('i8x16.shr_u').get(zv[r]).simd('i8x16.sub').set(q) // odd columns
            emitDot16(f, q, h, p, t[r], (k) => f.get(px).vmem('v128.load', 64 + 16 * k, 2))
          }
          f.get(pc[r]).i32(16).op('i32.add').set(pc[r])
        }
        f.get(px).i32(4 * step).op('i32.add').set(px)
      })
      for (let r = 0; r < R; r++) {
        // acc_r += s[n + r, g] * t_r (float64)
        f.get(acc[r]).get(P.S).get(si).get(P.NG).i32(r).op('i32.mul').op('i32.add').i32(2).op('i32.shl').op('i32.add').mem('f32.load').op('f64.promote_f32')
        f.get(t[r]).lane('f64x2.extract_lane', 0).get(t[r]).lane('f64x2.extract_lane', 1).op('f64.add').op('f64.mul').op('f64.add').set(acc[r])
      }
    })
    for (let r = 0; r < R; r++) f.get(P.Y).get(n).i32(r).op('i32.add').i32(2).op('i32.shl').op('i32.add').get(acc[r]).op('f32.demote_f64').mem('f32.store')
  })
  return { name: q4 ? 'matvecQ4' : 'matvecQ8', type: { params: Array<ValType>(nParams).fill(I32), results: [] }, locals: f.locals, body: f.finish() }
}

/** matmulQ4: decode one weight row to (u - z) f32, then dot it with every row of X. */
function matmulQ4Function(): FuncDef {
  const [D, S, Z, X, Y, WR, M, N, NG, GP] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
  const f = new Body(10)
  const n = f.local(I32), g = f.local(I32), c = f.local(I32), i = f.local(I32), pd = f.local(I32), pw = f.local(I32), px = f.local(I32)
  const si = f.local(I32), acc = f.local(F64), t = f.local(V128), zv = f.local(V128), q = f.local(V128), h = f.local(V128)
  const p = f.local(V128), v = f.local(V128), mask = f.local(V128)
  f.i32(15).simd('i8x16.splat').set(mask)
  /** Stores the 16 int8 values of q as f32 at pw, pw + 16, pw + 32, pw + 48. */
  const store16 = (base: number): void => {
    f.get(q).simd('i16x8.extend_low_i8x16_s').set(h)
    f.get(pw).get(h).simd('i32x4.extend_low_i16x8_s').simd('f32x4.convert_i32x4_s').vmem('v128.store', base, 2)
    f.get(pw).get(h).simd('i32x4.extend_high_i16x8_s').simd('f32x4.convert_i32x4_s').vmem('v128.store', base + 16, 2)
    f.get(q).simd('i16x8.extend_high_i8x16_s').set(h)
    f.get(pw).get(h).simd('i32x4.extend_low_i16x8_s').simd('f32x4.convert_i32x4_s').vmem('v128.store', base + 32, 2)
    f.get(pw).get(h).simd('i32x4.extend_high_i16x8_s').simd('f32x4.convert_i32x4_s').vmem('v128.store', base + 48, 2)
  }
  f.get(D).set(pd) // rows are contiguous: (N, nG, Gp/2) bytes
  f.forLoop(n, () => f.i32(0), () => f.get(N), 1, () => {
    // wrow (nG, Gp) = u - z of row n, as exact f32, in the permuted [even | odd] order.
    f.get(WR).set(pw)
    f.forLoop(g, () => f.i32(0), () => f.get(NG), 1, () => {
      f.get(Z).get(n).get(NG).op('i32.mul').get(g).op('i32.add').op('i32.add').mem('i32.load8_u').simd('i8x16.splat').set(zv)
      f.forLoop(c, () => f.i32(0), () => f.get(GP), 32, () => {
        f.get(pd).vmem('v128.load', 0, 0).tee(v).get(mask).simd('v128.and').get(zv).simd('i8x16.sub').set(q)
        store16(0)
        f.get(v).i32(4).simd('i8x16.shr_u').get(zv).simd('i8x16.sub').set(q)
        store16(64)
        f.get(pd).i32(16).op('i32.add').set(pd)
        f.get(pw).i32(128).op('i32.add').set(pw)
      })
    })
    f.get(X).set(px)
    f.forLoop(i, () => f.i32(0), () => f.get(M), 1, () => {
      f.f64(0).set(acc)
      f.get(WR).set(pw)
      f.forLoop(g, () => f.i32(0), () => f.get(NG), 1, () => {
        f.f32x4(0).set(t)
        f.forLoop(c, () => f.i32(0), () => f.get(GP), 16, () => {
          for (let k = 0; k < 4; k++) {
            f.get(pw).vmem('v128.load', 16 * k, 2).get(px).vmem('v128.load', 16 * k, 2).simd('f32x4.mul')
            if (k > 0) f.simd('f32x4.add')
          }
          f.tee(p).get(p).get(p).shuffle(HIGH_HALF).simd('f32x4.add').simd('f64x2.promote_low_f32x4').get(t).simd('f64x2.add').set(t)
          f.get(pw).i32(64).op('i32.add').set(pw)
          f.get(px).i32(64).op('i32.add').set(px)
        })
        f.get(n).get(NG).op('i32.mul').get(g).op('i32.add').set(si)
        f.get(acc).get(S).get(si).i32(2).op('i32.shl').op('i32.add').mem('f32.load').op('f64.promote_f32')
        f.get(t).lane('f64x2.extract_lane', 0).get(t).lane('f64x2.extract_lane', 1).op('f64.add').op('f64.mul').op('f64.add').set(acc)
      })
      // Y[i, n]
      f.get(Y).get(i).get(N).op('i32.mul').get(n).op('i32.add').i32(2).op('i32.shl').op('i32.add').get(acc).op('f32.demote_f64').mem('f32.store')
    })
  })
  return { name: 'matmulQ4', type: { params: Array<ValType>(10).fill(I32), results: [] }, locals: f.locals, body: f.finish() }
}

/** The quantized-product module: gemmI8x1, gemmI8x2, matvecQ8, matvecQ4, matmulQ4. */
export function quantModuleBytes(memory: { min: number; max?: number; shared?: boolean }): Uint8Array {
  return encodeModule({ memory, functions: [gemmI8Function(1), gemmI8Function(2), matvecFunction(false), matvecFunction(true), matmulQ4Function()] })
}

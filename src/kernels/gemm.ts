/**
 * @file Dense matrix multiply C = A B for float data, with any element strides on A and B.
 *
 * A is (M, K) read as a[aOff + i*aRs + p*aCs]; B is (K, N) read as b[bOff + p*bRs + j*bCs];
 * C is (M, N) contiguous at cOff. Products accumulate in float64 and round once on store.
 *
 * `gemmRef` is the plain triple loop. `gemm` is the tuned path, after the BLIS/GotoBLAS layering
 * (Goto & van de Geijn 2008) with the sizes that won in V8 here: B packed in KC x NR micro-panels,
 * A packed in MR x KC micro-panels, both into one float64 workspace, and a 2 x 5 register-blocked
 * micro-kernel with the k loop innermost (V8 keeps ~15 doubles in registers; bigger tiles spill).
 * Every C element still sums its K products in order p = 0..K-1 in float64, so `gemm` is bitwise
 * equal to `gemmRef`.
 */
import type { TypedArray } from '../dtype.ts'

type Arr = TypedArray

export interface GemmOperands {
  M: number
  N: number
  K: number
  a: Arr; aOff: number; aRs: number; aCs: number
  b: Arr; bOff: number; bRs: number; bCs: number
  c: Arr; cOff: number
}

/** C[i,j] = sum_p A[i,p] B[p,j]: the obvious loop. */
export function gemmRef(g: GemmOperands): void {
  const { M, N, K, a, b, c, aOff, aRs, aCs, bOff, bRs, bCs, cOff } = g
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0
      for (let p = 0; p < K; p++) acc += a[aOff + i * aRs + p * aCs] * b[bOff + p * bRs + j * bCs]
      c[cOff + i * N + j] = acc
    }
  }
}

/** Integer C = A B with wrapping (modulo 2^32) arithmetic, as int32 matmul behaves in PyTorch. */
export function gemmInt(g: GemmOperands): void {
  const { M, N, K, a, b, c, aOff, aRs, aCs, bOff, bRs, bCs, cOff } = g
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0
      for (let p = 0; p < K; p++) acc = (acc + Math.imul(a[aOff + i * aRs + p * aCs], b[bOff + p * bRs + j * bCs])) | 0
      c[cOff + i * N + j] = acc
    }
  }
}

/**
 * Matrix-vector shapes (N = 1 or M = 1) skip packing: the panels would be mostly padding. Each
 * output still sums its products in order p = 0..K-1 in float64, so this equals `gemmRef` bitwise.
 */
function gemmThin(g: GemmOperands, rowStart: number, rowEnd: number): void {
  const { N, K, a, b, c, aOff, aRs, aCs, bOff, bRs, bCs, cOff } = g
  if (N === 1) {
    // Four rows at a time: four independent sums hide the add latency; each is still in order.
    let i = rowStart
    for (; i + 4 <= rowEnd; i += 4) {
      const a0 = aOff + i * aRs, a1 = a0 + aRs, a2 = a1 + aRs, a3 = a2 + aRs
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let p = 0; p < K; p++) {
        const x = b[bOff + p * bRs], q = p * aCs
        s0 += a[a0 + q] * x; s1 += a[a1 + q] * x; s2 += a[a2 + q] * x; s3 += a[a3 + q] * x
      }
      c[cOff + i] = s0; c[cOff + i + 1] = s1; c[cOff + i + 2] = s2; c[cOff + i + 3] = s3
    }
    for (; i < rowEnd; i++) {
      const ai = aOff + i * aRs
      let acc = 0
      for (let p = 0; p < K; p++) acc += a[ai + p * aCs] * b[bOff + p * bRs]
      c[cOff + i] = acc
    }
    return
  }
  // M = 1: accumulate the output row over p, reading B row by row.
  const acc = new Float64Array(N) // (N,)
  const ai = aOff + rowStart * aRs
  for (let p = 0; p < K; p++) {
    const ap = a[ai + p * aCs]
    const bp = bOff + p * bRs
    for (let j = 0; j < N; j++) acc[j] += ap * b[bp + j * bCs]
  }
  for (let j = 0; j < N; j++) c[cOff + rowStart * N + j] = acc[j]
}

const MR = 2
const NR = 5
const KC = 256
const MC = 128
const NC = 3070 // a multiple of NR near 3072
/** Below this many multiply-adds the packing overhead is not worth it. */
const DIRECT_LIMIT = 16 * 16 * 16

// One float64 workspace holds both packed operands, reused across calls:
// [0, B_AT) is A as (MC/MR panels, KC, MR); [B_AT, ...) is B as (NC/NR panels, KC, NR).
// NOTE: a single array (one base pointer and bound in the micro-kernel) with `| 0` index arithmetic
// measured 5.3-5.6 GFLOPS here against 4.2-4.6 for separate A and B arrays (n = 512, one thread).
const B_AT = MC * KC
const work = new Float64Array(B_AT + KC * NC) // allocated once: a constant array lets V8 fold its bounds checks
let accC = new Float64Array(0) // (M, N) float64 partial sums when K > KC

/** Packs rows i0..i0+mc, cols p0..p0+kc of A into MR-row micro-panels, zero-padding the last. */
function packPanelA(g: GemmOperands, i0: number, mc: number, p0: number, kc: number): void {
  const { a, aRs, aCs } = g
  const W = work
  let dst = 0
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = Math.min(MR, mc - ir)
    const r0 = g.aOff + (i0 + ir) * aRs + p0 * aCs
    for (let p = 0; p < kc; p++) {
      const src = r0 + p * aCs
      W[dst] = a[src]
      W[dst + 1] = rows > 1 ? a[src + aRs] : 0
      dst += MR
    }
  }
}

/** Packs rows p0..p0+kc, cols j0..j0+nc of B into NR-column micro-panels, zero-padding the last. */
function packPanelB(g: GemmOperands, p0: number, kc: number, j0: number, nc: number): void {
  const { b, bRs, bCs } = g
  const W = work
  let dst = B_AT
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = Math.min(NR, nc - jr)
    const c0 = g.bOff + p0 * bRs + (j0 + jr) * bCs
    for (let p = 0; p < kc; p++) {
      const src = c0 + p * bRs
      for (let j = 0; j < NR; j++) W[dst + j] = j < cols ? b[src + j * bCs] : 0
      dst += NR
    }
  }
}

const edge = new Float64Array(MR * NR) // (MR, NR) scratch tile for partial edge tiles

/**
 * 2 x 5 micro-kernel on a full tile: out(2,5) at o (row stride ldo) = (first ? 0 : out) + A(2,kc) B(kc,5)
 * over the packed panels starting at aBase and bBase.
 */
function microKernel(kc: number, aBase: number, bBase: number, out: Arr, o: number, ldo: number, first: boolean): void {
  const o1 = o + ldo
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c04 = 0
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0, c14 = 0
  if (!first) {
    c00 = out[o]; c01 = out[o + 1]; c02 = out[o + 2]; c03 = out[o + 3]; c04 = out[o + 4]
    c10 = out[o1]; c11 = out[o1 + 1]; c12 = out[o1 + 2]; c13 = out[o1 + 3]; c14 = out[o1 + 4]
  }
  const W = work
  let ai = aBase | 0, bi = bBase | 0
  for (let p = 0; p < kc; p++) {
    const a0 = W[ai], a1 = W[(ai + 1) | 0]
    const b0 = W[bi], b1 = W[(bi + 1) | 0], b2 = W[(bi + 2) | 0], b3 = W[(bi + 3) | 0], b4 = W[(bi + 4) | 0]
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3; c04 += a0 * b4
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3; c14 += a1 * b4
    ai = (ai + MR) | 0
    bi = (bi + NR) | 0
  }
  out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03; out[o + 4] = c04
  out[o1] = c10; out[o1 + 1] = c11; out[o1 + 2] = c12; out[o1 + 3] = c13; out[o1 + 4] = c14
}

/** A partial tile (rows < MR or cols < NR): run the full kernel on a scratch tile, copy the valid part. */
function edgeKernel(kc: number, aBase: number, bBase: number, out: Arr, o: number, ldo: number, rows: number, cols: number, first: boolean): void {
  for (let r = 0; r < MR; r++) for (let c = 0; c < NR; c++) edge[r * NR + c] = !first && r < rows && c < cols ? out[o + r * ldo + c] : 0
  microKernel(kc, aBase, bBase, edge, 0, NR, first)
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[o + r * ldo + c] = edge[r * NR + c]
}

/** Tuned C = A B; bitwise equal to `gemmRef`. Rows [rowStart, rowEnd) only, for splitting across threads. */
export function gemm(g: GemmOperands, rowStart = 0, rowEnd = g.M): void {
  const { N, K } = g
  const M = rowEnd - rowStart
  if (M <= 0 || N === 0) return
  if (N === 1 || M === 1) return gemmThin(g, rowStart, rowEnd)
  if (M * N * K <= DIRECT_LIMIT || K === 0) {
    gemmRef({ ...g, M, aOff: g.aOff + rowStart * g.aRs, cOff: g.cOff + rowStart * N })
    return
  }
  // With a single K block the micro-kernel rounds straight into C; otherwise partial sums stay float64.
  const split = K > KC
  if (split && accC.length < M * N) accC = new Float64Array(M * N)
  const out = split ? accC : g.c
  const outBase = split ? 0 : g.cOff + rowStart * N
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0)
    for (let p0 = 0; p0 < K; p0 += KC) {
      const kc = Math.min(KC, K - p0)
      packPanelB(g, p0, kc, j0, nc)
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0)
        packPanelA(g, rowStart + i0, mc, p0, kc)
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr)
          const bBase = B_AT + (jr / NR) * kc * NR
          for (let ir = 0; ir < mc; ir += MR) {
            const o = outBase + (i0 + ir) * N + j0 + jr
            const rows = Math.min(MR, mc - ir)
            if (rows === MR && cols === NR) microKernel(kc, (ir / MR) * kc * MR, bBase, out, o, N, p0 === 0)
            else edgeKernel(kc, (ir / MR) * kc * MR, bBase, out, o, N, rows, cols, p0 === 0)
          }
        }
      }
    }
  }
  if (split) {
    const c = g.c, base = g.cOff + rowStart * N
    for (let i = 0; i < M * N; i++) c[base + i] = accC[i]
  }
}

/**
 * @file Public quantization API over tensors: symmetric INT8 (per channel or per group), packed
 * INT2/3/4 (symmetric or asymmetric, per group), GGUF Q4_0 / Q8_0 blocks
 * (https://github.com/ggerganov/ggml/blob/master/docs/gguf.md), the INT8 x INT8 -> INT32 GEMM of
 * Jacob et al. 2018 (https://arxiv.org/abs/1712.05877), and on-the-fly Q4/Q8 products.
 * Weights are 2-D (R, C) = (out, in); groups run along C. Codes and scales are plain typed arrays
 * whose shapes are given on each field.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import { I8_MAX_K, dequantizeI8, quantizeI8, requantize } from '../kernels/quant.ts'
import { kernels } from '../kernels/registry.ts'
import { dequantizePacked, packedRowBytes, quantizePacked, type PackedLayout } from '../kernels/quant-pack.ts'
import { QK, Q4_0_BYTES, Q8_0_BYTES, dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0 } from '../kernels/quant-gguf.ts'

/** Symmetric INT8 matrix: value[r, c] = codes[r, c] * scales[r, floor(c / groupSize)]. */
export interface QInt8 {
  shape: [number, number]
  groupSize: number
  codes: Int8Array // (R, C)
  scales: Float32Array // (R, ceil(C / groupSize))
}

/** Packed b-bit matrix: value = (u - z) * scale; z = 2^(b-1) when symmetric, else `zeros`. */
export interface QPacked extends PackedLayout {
  data: Uint8Array // (R, ceil(C bits / 8))
  scales: Float32Array // (R, ceil(C / G))
  zeros: Uint8Array | null // (R, ceil(C / G)), asymmetric only
}

function floatMatrix(op: string, w: Tensor): [number, number, ArrayLike<number>] {
  if (w.ndim !== 2) throw new TesseraError(`${op}: expected a 2-D (rows, cols) tensor, got shape ${fmtShape(w.shape)}`)
  if (w.dtype !== 'float32' && w.dtype !== 'float64') throw new TesseraError(`${op}: expected a float tensor, got ${w.dtype}`)
  return [w.shape[0], w.shape[1], w.data() as ArrayLike<number>]
}

function checkGroup(op: string, G: number, C: number): void {
  if (!Number.isInteger(G) || G < 1) throw new TesseraError(`${op}: groupSize must be a positive integer, got ${G}`)
  if (C < 1) throw new TesseraError(`${op}: need at least one column, got ${C}`)
}

/**
 * Symmetric INT8 quantization, scale = max|w| / 127 per row (default) or per group of `groupSize`
 * columns, codes = roundHalfEven(w / scale). Reference: Jacob et al. 2018, Sec. 2.1.
 * @example
 *   const q = quantizeInt8(linear.weight)           // per output channel
 *   const g = quantizeInt8(w, { groupSize: 32 })     // per group of 32
 */
export function quantizeInt8(w: Tensor, opts: { groupSize?: number } = {}): QInt8 {
  const [R, C, src] = floatMatrix('quantizeInt8', w)
  const G = opts.groupSize ?? C
  checkGroup('quantizeInt8', G, C)
  const codes = new Int8Array(R * C) // (R, C)
  const scales = new Float32Array(R * Math.ceil(C / G)) // (R, nG)
  quantizeI8(codes, scales, src, R, C, G)
  return { shape: [R, C], groupSize: G, codes, scales }
}

/** The float32 tensor (R, C) that a QInt8 stands for. */
export function dequantizeInt8(q: QInt8): Tensor {
  const [R, C] = q.shape
  const out = new Float32Array(R * C) // (R, C)
  dequantizeI8(out, q.codes, q.scales, R, C, q.groupSize)
  return fromTypedArray(out, [R, C])
}

/**
 * y (M, N) = dequant(a) (M, K) dequant(w)^T (N, K) + bias, computed as an exact int32 GEMM then
 * rescaled per row of `a` and per row of `w` (both must be per-channel, groupSize = K).
 */
export function int8Matmul(a: QInt8, w: QInt8, bias: ArrayLike<number> | null = null): Tensor {
  const [M, K] = a.shape, [N, K2] = w.shape
  if (K !== K2) throw new TesseraError(`int8Matmul: inner dims differ, a is ${fmtShape(a.shape)} and w is ${fmtShape(w.shape)}`)
  if (a.groupSize !== K || w.groupSize !== K) throw new TesseraError(`int8Matmul: both operands must be quantized per row (groupSize ${K}), got ${a.groupSize} and ${w.groupSize}`)
  if (K > I8_MAX_K) throw new TesseraError(`int8Matmul: K = ${K} could overflow the int32 accumulator (max ${I8_MAX_K})`)
  const acc = new Int32Array(M * N) // (M, N)
  kernels.gemmI8(acc, a.codes, w.codes, M, N, K)
  const y = new Float32Array(M * N) // (M, N)
  requantize(y, acc, a.scales, w.scales, bias, M, N)
  return fromTypedArray(y, [M, N])
}

const PACK_BITS = [2, 3, 4, 8]

/**
 * Packed low-bit group quantization (default 4 bits, groups of 32, symmetric [-7, 7]); asymmetric
 * maps [min(w,0), max(w,0)] onto [0, 2^b - 1] with a per-group zero point.
 * @example
 *   const q = quantizePacked(w, { bits: 4, groupSize: 32 })
 *   const y = matvecQ4(q, x)
 */
export function quantizePackedTensor(w: Tensor, opts: { bits?: number; groupSize?: number; symmetric?: boolean } = {}): QPacked {
  const [R, C, src] = floatMatrix('quantizePacked', w)
  const bits = opts.bits ?? 4, G = opts.groupSize ?? 32, symmetric = opts.symmetric ?? true
  if (!PACK_BITS.includes(bits)) throw new TesseraError(`quantizePacked: bits must be one of ${PACK_BITS.join(', ')}, got ${bits}`)
  checkGroup('quantizePacked', G, C)
  const nG = Math.ceil(C / G)
  const L: PackedLayout = { R, C, G, bits, symmetric }
  const q: QPacked = { ...L, data: new Uint8Array(R * packedRowBytes(C, bits)), scales: new Float32Array(R * nG), zeros: symmetric ? null : new Uint8Array(R * nG) }
  quantizePacked(q.data, q.scales, q.zeros, src, L)
  return q
}

/** The float32 tensor (R, C) that a QPacked stands for. */
export function dequantizePackedTensor(q: QPacked): Tensor {
  const out = new Float32Array(q.R * q.C) // (R, C)
  dequantizePacked(out, q.data, q.scales, q.zeros, q)
  return fromTypedArray(out, [q.R, q.C])
}

/** Bytes held by a quantized matrix: codes plus scales (4 bytes each) plus zero points. */
export function quantBytes(q: QPacked | QInt8): number {
  if ('codes' in q) return q.codes.byteLength + q.scales.byteLength
  return q.data.byteLength + q.scales.byteLength + (q.zeros ? q.zeros.byteLength : 0)
}

function vector(op: string, x: Tensor, K: number): ArrayLike<number> {
  if (x.ndim !== 1 || x.shape[0] !== K) throw new TesseraError(`${op}: x must have shape [${K}], got ${fmtShape(x.shape)}`)
  return x.data() as ArrayLike<number>
}

function checkQ4(op: string, q: QPacked): void {
  if (q.bits !== 4) throw new TesseraError(`${op}: needs a 4-bit packed matrix, got ${q.bits} bits`)
  if (q.G % 2 !== 0) throw new TesseraError(`${op}: groupSize must be even for 4-bit products, got ${q.G}`)
}

/** y (N,) = dequant(w) (N, K) x (K,), decoding 4-bit codes on the fly. */
export function matvecQ4(w: QPacked, x: Tensor): Tensor {
  checkQ4('matvecQ4', w)
  const y = new Float32Array(w.R) // (N,)
  kernels.matvecQ4(y, w.data, w.scales, w.zeros, vector('matvecQ4', x, w.C), w)
  return fromTypedArray(y, [w.R])
}

/** Y (M, N) = X (M, K) dequant(w)^T, decoding 4-bit codes group by group. */
export function matmulQ4(x: Tensor, w: QPacked): Tensor {
  checkQ4('matmulQ4', w)
  if (x.ndim !== 2 || x.shape[1] !== w.C) throw new TesseraError(`matmulQ4: x must have shape [M,${w.C}], got ${fmtShape(x.shape)}`)
  const M = x.shape[0]
  const y = new Float32Array(M * w.R) // (M, N)
  kernels.matmulQ4(y, x.data() as ArrayLike<number>, w.data, w.scales, w.zeros, w, M)
  return fromTypedArray(y, [M, w.R])
}

/** y (N,) = dequant(w) (N, K) x (K,) for an INT8 matrix (per channel or per group). */
export function matvecQ8(w: QInt8, x: Tensor): Tensor {
  const [N, K] = w.shape
  const y = new Float32Array(N) // (N,)
  kernels.matvecQ8(y, w.codes, w.scales, vector('matvecQ8', x, K), N, K, w.groupSize)
  return fromTypedArray(y, [N])
}

function ggufLength(op: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n % QK !== 0) throw new TesseraError(`${op}: GGUF blocks hold ${QK} values; the length ${n} is not a multiple of ${QK}`)
}

/** Encodes a float tensor (any shape, numel a multiple of 32) as GGUF Q4_0 or Q8_0 blocks. */
export function writeGGUFBlocks(x: Tensor, type: 'Q4_0' | 'Q8_0'): Uint8Array {
  const n = x.numel()
  ggufLength(`write${type}`, n)
  const src = x.data() as ArrayLike<number>
  const out = new Uint8Array((n / QK) * (type === 'Q4_0' ? Q4_0_BYTES : Q8_0_BYTES)) // (n/32, block bytes)
  if (type === 'Q4_0') quantizeQ4_0(out, src, n)
  else quantizeQ8_0(out, src, n)
  return out
}

/** Decodes GGUF Q4_0 / Q8_0 blocks to a float32 tensor of `shape`. */
export function readGGUFBlocks(bytes: Uint8Array, type: 'Q4_0' | 'Q8_0', shape: number[]): Tensor {
  const n = shape.reduce((p, d) => p * d, 1)
  ggufLength(`read${type}`, n)
  const need = (n / QK) * (type === 'Q4_0' ? Q4_0_BYTES : Q8_0_BYTES)
  if (bytes.length !== need) throw new TesseraError(`read${type}: shape ${fmtShape(shape)} needs ${need} bytes, got ${bytes.length}`)
  const y = new Float32Array(n) // (n,)
  if (type === 'Q4_0') dequantizeQ4_0(y, bytes, n)
  else dequantizeQ8_0(y, bytes, n)
  return fromTypedArray(y, shape)
}

/**
 * @file GGUF / ggml Q4_0 and Q8_0 block codecs, bit-compatible with ggml's reference quantizers
 * `quantize_row_q4_0_ref` and `quantize_row_q8_0_ref` (ggerganov/ggml src/ggml-quants.c; format:
 * https://github.com/ggerganov/ggml/blob/master/docs/gguf.md). A row of n floats (n a multiple of
 * 32) becomes n / 32 blocks:
 *   Q4_0, 18 bytes: fp16 d (little-endian), then qs[16]; weight j in the low nibble of qs[j] and
 *         weight j + 16 in the high nibble; value = (q - 8) d, with d = m / -8 where m is the
 *         signed element of largest magnitude (so m itself encodes as q = 0).
 *   Q8_0, 34 bytes: fp16 d, then 32 int8 qs; value = q d, with d = max|x| / 127.
 * Arithmetic follows ggml's float32 steps (Math.fround): quantization uses the float32 d, while
 * decoding uses the fp16-rounded d stored in the block.
 */
import { decodeF16, encodeF16 } from '../io/float16.ts'

export const QK = 32
export const Q4_0_BYTES = 18
export const Q8_0_BYTES = 34

const f = Math.fround

/** Encodes x (n,) as n/32 Q4_0 blocks into out (n/32 * 18 bytes). */
export function quantizeQ4_0(out: Uint8Array, x: ArrayLike<number>, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x0 = b * QK, o = b * Q4_0_BYTES // block start in x; block start in out
    let amax = 0, max = 0
    for (let j = 0; j < QK; j++) { const v = x[x0 + j]; if (amax < Math.abs(v)) { amax = Math.abs(v); max = v } }
    const d = f(f(max) / -8)
    const id = d !== 0 ? f(1 / d) : 0
    const h = encodeF16(d)
    out[o] = h & 0xff; out[o + 1] = h >> 8
    for (let j = 0; j < QK / 2; j++) {
      // NOTE: (int8_t)(x + 8.5f) truncates towards zero; the argument is >= 0 since x*id >= -8.
      const lo = Math.min(15, Math.trunc(f(f(x[x0 + j] * id) + 8.5)))
      const hi = Math.min(15, Math.trunc(f(f(x[x0 + j + 16] * id) + 8.5)))
      out[o + 2 + j] = lo | (hi << 4)
    }
  }
}

/** Decodes n/32 Q4_0 blocks from `blocks` into y (n,). */
export function dequantizeQ4_0(y: Float32Array | Float64Array, blocks: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q4_0_BYTES, y0 = b * QK
    const d = decodeF16(blocks[o] | (blocks[o + 1] << 8))
    for (let j = 0; j < QK / 2; j++) {
      const q = blocks[o + 2 + j]
      y[y0 + j] = ((q & 15) - 8) * d
      y[y0 + j + 16] = ((q >> 4) - 8) * d
    }
  }
}

/** roundf: half away from zero. */
const roundAway = (v: number): number => (v < 0 ? -Math.round(-v) : Math.round(v))

/** Encodes x (n,) as n/32 Q8_0 blocks into out (n/32 * 34 bytes). */
export function quantizeQ8_0(out: Uint8Array, x: ArrayLike<number>, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const x0 = b * QK, o = b * Q8_0_BYTES
    let amax = 0
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[x0 + j]))
    const d = f(f(amax) / 127)
    const id = d !== 0 ? f(1 / d) : 0
    const h = encodeF16(d)
    out[o] = h & 0xff; out[o + 1] = h >> 8
    for (let j = 0; j < QK; j++) out[o + 2 + j] = roundAway(f(x[x0 + j] * id)) & 0xff // two's complement byte
  }
}

/** Decodes n/32 Q8_0 blocks from `blocks` into y (n,). */
export function dequantizeQ8_0(y: Float32Array | Float64Array, blocks: Uint8Array, n: number): void {
  for (let b = 0; b < n / QK; b++) {
    const o = b * Q8_0_BYTES, y0 = b * QK
    const d = decodeF16(blocks[o] | (blocks[o + 1] << 8))
    for (let j = 0; j < QK; j++) y[y0 + j] = ((blocks[o + 2 + j] << 24) >> 24) * d
  }
}

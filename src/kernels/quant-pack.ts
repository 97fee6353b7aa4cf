/**
 * @file Packed low-bit (INT2, INT3, INT4) group quantization, in the spirit of ggml's packed
 * blocks (https://github.com/ggerganov/ggml/blob/master/docs/gguf.md) and the bit packing of
 * paper 73 (LLM-QFA): codes are unsigned b-bit integers u in [0, 2^b - 1], written LSB-first into a
 * byte stream, so at 4 bits element 2k sits in the low nibble of byte k and element 2k+1 in the
 * high nibble; at 3 bits a code may straddle two bytes.
 *
 * A float matrix W (R, C) becomes `data` Uint8Array (R, rowBytes) with rowBytes = ceil(C b / 8)
 * (every row starts on a byte), `scales` Float32Array (R, nG) and, when asymmetric, `zeros`
 * Uint8Array (R, nG), with nG = ceil(C / G) groups of G columns (the last may be short).
 * value = (u - z) * scale, where
 *   symmetric:  z = 2^(b-1) (fixed), scale = max|w| / (2^(b-1) - 1), u - z in [-(2^(b-1)-1), 2^(b-1)-1]
 *               (so [-7, 7] at 4 bits, as in AQT / paper 26);
 *   asymmetric: the range [min(w, 0), max(w, 0)] maps onto [0, 2^b - 1]: scale = (hi - lo) / (2^b - 1),
 *               z = roundHalfEven(-lo / scale) (Jacob et al. 2018, Eqn (1)).
 * Rounding is half to even, so |value - w| <= scale / 2 up to float32 rounding of the scale.
 */
import { roundHalfEven } from './quant.ts'

/** Bytes of one packed row of C codes of b bits. */
export const packedRowBytes = (C: number, bits: number): number => Math.ceil((C * bits) / 8)

/** Writes n codes u (n,) of `bits` bits LSB-first into out starting at byte `off`; whole bytes are overwritten. */
export function packBits(out: Uint8Array, u: ArrayLike<number>, n: number, bits: number, off = 0): void {
  const nb = packedRowBytes(n, bits)
  out.fill(0, off, off + nb)
  for (let i = 0; i < n; i++) {
    const bit = i * bits, byte = off + (bit >> 3), sh = bit & 7
    const v = u[i] << sh // up to 10 bits wide when a 3-bit code starts at bit 7
    out[byte] |= v & 0xff
    if (sh + bits > 8) out[byte + 1] |= v >> 8
  }
}

/** Reads n codes (n,) of `bits` bits LSB-first from `data` starting at byte `off`. */
export function unpackBits(out: Uint8Array | Int32Array, data: Uint8Array, n: number, bits: number, off = 0): void {
  const mask = (1 << bits) - 1
  for (let i = 0; i < n; i++) {
    const bit = i * bits, byte = off + (bit >> 3), sh = bit & 7
    const word = sh + bits > 8 ? data[byte] | (data[byte + 1] << 8) : data[byte]
    out[i] = (word >> sh) & mask
  }
}

export interface PackedLayout {
  R: number
  C: number
  /** Group size in columns. */
  G: number
  bits: number
  symmetric: boolean
}

/**
 * Quantizes W (R, C) into packed codes `data` (R, rowBytes), `scales` (R, nG) and, for asymmetric
 * layouts, `zeros` (R, nG).
 */
export function quantizePacked(data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, w: ArrayLike<number>, L: PackedLayout): void {
  const { R, C, G, bits, symmetric } = L
  const nG = Math.ceil(C / G), rowBytes = packedRowBytes(C, bits), umax = (1 << bits) - 1
  const u = new Uint8Array(C) // (C,) codes of one row
  for (let r = 0; r < R; r++) {
    const row = r * C // start of row r in w
    for (let g = 0; g < nG; g++) {
      const c0 = g * G, c1 = Math.min(c0 + G, C)
      let lo = 0, hi = 0
      for (let c = c0; c < c1; c++) { const v = w[row + c]; if (v < lo) lo = v; if (v > hi) hi = v }
      let s: number, z: number
      if (symmetric) {
        z = 1 << (bits - 1)
        s = Math.fround(Math.max(hi, -lo) / (z - 1))
      } else {
        s = Math.fround((hi - lo) / umax)
        z = s === 0 ? 0 : Math.min(umax, Math.max(0, roundHalfEven(-lo / s)))
        zeros![r * nG + g] = z
      }
      scales[r * nG + g] = s
      const qlo = symmetric ? 1 : 0 // symmetric codes never use u = 0 (that would be -2^(b-1))
      for (let c = c0; c < c1; c++) {
        const q = s === 0 ? z : roundHalfEven(w[row + c] / s) + z
        u[c] = q > umax ? umax : q < qlo ? qlo : q
      }
    }
    packBits(data, u, C, bits, r * rowBytes)
  }
}

/** out (R, C) = (u - z) * scale, decoding `data` (R, rowBytes) with scales/zeros (R, nG). */
export function dequantizePacked(out: Float32Array | Float64Array, data: Uint8Array, scales: Float32Array, zeros: Uint8Array | null, L: PackedLayout): void {
  const { R, C, G, bits, symmetric } = L
  const nG = Math.ceil(C / G), rowBytes = packedRowBytes(C, bits)
  const u = new Uint8Array(C) // (C,) codes of one row
  for (let r = 0; r < R; r++) {
    unpackBits(u, data, C, bits, r * rowBytes)
    for (let c = 0; c < C; c++) {
      const gi = r * nG + Math.floor(c / G)
      const z = symmetric ? 1 << (bits - 1) : zeros![gi]
      out[r * C + c] = (u[c] - z) * scales[gi]
    }
  }
}

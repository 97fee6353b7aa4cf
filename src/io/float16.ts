/**
 * @file IEEE half precision (F16: 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 (BF16: 1 sign,
 * 8 exponent, 7 mantissa bits), encoded and decoded by hand: JavaScript runtimes before
 * Float16Array (Node 20 included) have no 16-bit float type. Used by the safetensors reader and
 * writer (https://github.com/huggingface/safetensors), which store these dtypes as raw 16-bit words.
 *
 * Both formats are "minifloats" with the usual IEEE layout, so one encoder serves both: it rounds a
 * JavaScript number (a double) straight to the target format, round-to-nearest-even, with
 * subnormals, signed zeros, infinities and NaN. Rounding from the double (not via float32) avoids
 * double rounding when a float64 tensor is saved as F16.
 */

interface Minifloat {
  /** exponent bits */
  E: number
  /** mantissa (fraction) bits */
  M: number
  /** the canonical quiet NaN word */
  nan: number
}

const F16: Minifloat = { E: 5, M: 10, nan: 0x7e00 }
const BF16: Minifloat = { E: 8, M: 7, nan: 0x7fc0 }

/** Rounds a non-negative number to an integer, ties to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v)
  const d = v - f
  if (d > 0.5) return f + 1
  if (d < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}

/** floor(log2(a)) for a finite a > 0, exact (Math.log2 may be off by one near powers of two). */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a))
  if (2 ** e > a) e--
  else if (2 ** (e + 1) <= a) e++
  return e
}

/**
 * Encodes x as a 16-bit word of the format `f`, round-to-nearest-even.
 * NOTE: every intermediate below is exact in float64: scaling by powers of two is exact, and for
 * a in [2^e, 2^(e+1)) the fraction a / 2^e - 1 needs at most 52 bits.
 */
function encodeMinifloat(x: number, f: Minifloat): number {
  if (Number.isNaN(x)) return f.nan
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0
  const a = Math.abs(x)
  const bias = 2 ** (f.E - 1) - 1
  const emin = 1 - bias
  const expAllOnes = 2 ** f.E - 1
  const inf = sign | (expAllOnes << f.M)
  // Halfway between the largest finite value (2 - 2^-M) 2^bias and 2^(bias+1): at or above it, round to inf.
  const overflow = (2 - 2 ** -(f.M + 1)) * 2 ** bias
  if (a >= overflow) return inf
  if (a < 2 ** emin) {
    // Subnormal: a multiple of 2^(emin - M). A mantissa that rounds up to 2^M is the smallest normal, whose bits are the same.
    return sign | roundHalfEven(a * 2 ** (f.M - emin))
  }
  const e = exponentOf(a)
  const m = roundHalfEven((a / 2 ** e - 1) * 2 ** f.M)
  // m may round up to 2^M: adding it carries into the exponent field, which is the right answer.
  return sign | (((e + bias) << f.M) + m)
}

/** The number a 16-bit word of format `f` stands for. */
function decodeMinifloat(bits: number, f: Minifloat): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >> f.M) & (2 ** f.E - 1)
  const mant = bits & (2 ** f.M - 1)
  const bias = 2 ** (f.E - 1) - 1
  if (exp === 2 ** f.E - 1) return mant === 0 ? sign * Infinity : NaN
  if (exp === 0) return sign * mant * 2 ** (1 - bias - f.M)
  return sign * (2 ** f.M + mant) * 2 ** (exp - bias - f.M)
}

let f16Table: Float32Array | null = null
let bf16Table: Float32Array | null = null

/** All 65536 decoded values of a format (256 KB, built on first use; every value is exact in float32). */
function table(f: Minifloat): Float32Array {
  const t = new Float32Array(65536)
  for (let bits = 0; bits < 65536; bits++) t[bits] = decodeMinifloat(bits, f)
  return t
}

/** Rounds a number to the nearest IEEE half-precision value (ties to even); returns its 16-bit word. */
export function encodeF16(x: number): number {
  return encodeMinifloat(x, F16)
}

/** Rounds a number to the nearest bfloat16 value (ties to even); returns its 16-bit word. */
export function encodeBF16(x: number): number {
  return encodeMinifloat(x, BF16)
}

/** The value of a half-precision 16-bit word. */
export function decodeF16(bits: number): number {
  return (f16Table ??= table(F16))[bits & 0xffff]
}

/** The value of a bfloat16 16-bit word. */
export function decodeBF16(bits: number): number {
  return (bf16Table ??= table(BF16))[bits & 0xffff]
}

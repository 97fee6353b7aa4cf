/**
 * @file Seeded random numbers. Every random draw in tessera goes through a `Generator`.
 *
 * Bits: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c), a 128-bit
 * state seeded from one 32-bit seed by the SplitMix32 mixer (constants from Java's SplittableRandom,
 * folded to 32 bits). Uniform floats take the top 24 bits (float32) or 53 bits from two draws
 * (float64). Normals use the Box-Muller transform on two 53-bit uniforms and keep the second value
 * of each pair for the next call. Same seed, same sequence, bit for bit, in any JavaScript runtime
 * (up to the last ulp of Math.log/cos/sin for normals).
 */
import { TesseraError } from './errors.ts'

const TWO_POW_M24 = 1 / 16777216
const TWO_POW_M53 = 1 / 9007199254740992

/** Serializable generator state: the four xoshiro words and the cached normal, if any. */
export interface GeneratorState {
  s: [number, number, number, number]
  spare: number | null
}

export class Generator {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0
  private spare: number | null = null

  constructor(seed = 0) {
    this.manualSeed(seed)
  }

  /** Resets the state from a seed (any integer; only its low 32 bits and sign-free value matter). */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new TesseraError(`Generator.manualSeed: seed must be a finite number, got ${seed}`)
    let z = Math.trunc(seed) >>> 0
    const next = (): number => {
      // SplitMix32: a Weyl sequence passed through a 32-bit finalizer.
      z = (z + 0x9e3779b9) | 0
      let t = z ^ (z >>> 16)
      t = Math.imul(t, 0x21f0aaad)
      t ^= t >>> 15
      t = Math.imul(t, 0x735a2d97)
      return (t ^ (t >>> 15)) >>> 0
    }
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next()
    this.spare = null
    return this
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s1 = this.s1
    const x = Math.imul(s1, 5)
    const result = Math.imul((x << 7) | (x >>> 25), 9)
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21)
    return result >>> 0
  }

  /** Uniform in [0, 1) with 24 random bits (exactly representable in float32). */
  nextFloat32(): number {
    return (this.nextUint32() >>> 8) * TWO_POW_M24
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat64(): number {
    const hi = this.nextUint32() >>> 5
    const lo = this.nextUint32() >>> 6
    return (hi * 67108864 + lo) * TWO_POW_M53
  }

  /** Standard normal by Box-Muller: r = sqrt(-2 ln(1 - u1)), values r cos(2 pi u2) and r sin(2 pi u2). */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare
      this.spare = null
      return v
    }
    const u1 = 1 - this.nextFloat64() // in (0, 1]: the log is finite
    const u2 = this.nextFloat64()
    const r = Math.sqrt(-2 * Math.log(u1))
    const theta = 2 * Math.PI * u2
    this.spare = r * Math.sin(theta)
    return r * Math.cos(theta)
  }

  /** Uniform integer in [low, high) without modulo bias (rejection sampling). */
  nextInt(low: number, high: number): number {
    const range = high - low
    if (!(range > 0) || range > 4294967296 || !Number.isInteger(low) || !Number.isInteger(high)) {
      throw new TesseraError(`Generator.nextInt: need integers low < high with high - low <= 2^32, got [${low}, ${high})`)
    }
    if (range === 4294967296) return low + this.nextUint32()
    const limit = 4294967296 - (4294967296 % range) // accept draws below the largest multiple of range
    let x = this.nextUint32()
    while (x >= limit) x = this.nextUint32()
    return low + (x % range)
  }

  getState(): GeneratorState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spare: this.spare }
  }

  setState(state: GeneratorState): this {
    const [a, b, c, d] = state.s
    if ((a | b | c | d) === 0) throw new TesseraError('Generator.setState: the all-zero state is invalid for xoshiro128**')
    this.s0 = a | 0; this.s1 = b | 0; this.s2 = c | 0; this.s3 = d | 0
    this.spare = state.spare
    return this
  }

  /** An independent copy with the same state. */
  clone(): Generator {
    return new Generator().setState(this.getState())
  }
}

/** The generator used when a function is not given one. */
export const defaultGenerator = new Generator(0)

/** Seeds the default generator, like `torch.manual_seed`. */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed)
}

/**
 * @file Sparse MeZO: Liu et al. 2024, "Sparse MeZO: Less Parameters for Better Performance in
 * Zeroth-Order LLM Fine-Tuning" (https://arxiv.org/abs/2402.15751, v2). Sheet 24.
 *
 * MeZO (./mezo.ts) restricted to a magnitude mask, per layer (= per parameter tensor):
 *   m_ij = 1 if |θ_ij| ≤ h_l else 0, h_l the (1 − s)-quantile of |θ| in layer l   // s = sparsity
 *   ẑ = m ⊙ z(s_t);  θ ← θ + εẑ; ℓ₊;  θ ← θ − 2εẑ; ℓ₋;  θ ← θ + εẑ;  g = (ℓ₊ − ℓ₋)/(2ε)
 *   θ ← θ − η·g·ẑ                                                                  // (plus λθ on masked coords, if weightDecay > 0)
 * z is regenerated from s_t in every pass, exactly as in MeZO; the full z stream is drawn so masked
 * and unmasked coordinates see the same z as in dense MeZO.
 *
 * NOTE: the sheet's "memory-optimised" variant recomputes m from the current θ inside each pass.
 * Once θ has been perturbed that test is ambiguous (a moved coordinate can cross h_l), so restore
 * and "unmasked coordinates never change" could fail. Here the mask is computed once per step from
 * θ before the first perturbation and kept for the step as a bit set: n/8 bytes per tensor (1/32 of
 * a float32 parameter), not a tensor, freed after the step (`lastMaskBytes` reports its size).
 *
 * The thresholds use `kthAbsValue`, an exact radix selection on the IEEE bit patterns of |θ|: four
 * (float32) or eight (float64) counting passes over the tensor with 256 counters, no copy, no sort.
 */
import { TesseraError, fmtShape } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import type { ParamsInput } from './optimizer.ts'
import { MeZO, forEachOffset, type MeZOConfig, type MeZOOptions } from './mezo.ts'

export interface SparseMeZOConfig extends MeZOConfig {
  /** Fraction of each layer's weights that stay fixed; the other 1 − s move. Default 0.75 (sheet 24's assumption). */
  sparsity?: number
  /** 'smallMagnitude' (the paper) moves the smallest |θ|; 'largeMagnitude' is the ablation. */
  maskRule?: 'smallMagnitude' | 'largeMagnitude'
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * The k-th smallest |x| over the elements of a float tensor (k is 1-based, like `torch.kthvalue`),
 * found exactly by radix selection on the bits of |x| (for non-negative IEEE floats, bit order is
 * numeric order). NaNs sort above +Inf; −0 counts as 0.
 *
 * @example
 *   kthAbsValue(tensor([3, -1, 2]), 2) // 2
 */
export function kthAbsValue(t: Tensor, k: number): number {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new TesseraError(`kthAbsValue: needs a float32 or float64 tensor, got ${t.dtype}`)
  const n = t.numel()
  if (!Number.isInteger(k) || k < 1 || k > n) throw new TesseraError(`kthAbsValue: k must be an integer in [1, ${n}] for shape ${fmtShape(t.shape)}, got ${k}`)
  const words = t.dtype === 'float64' ? 2 : 1 // 32-bit words per element, most significant first
  const s = t.storage
  const u32 = new Uint32Array(s.buffer, s.byteOffset, s.length * words) // a view, not a copy
  const word: (o: number, j: number) => number = words === 1
    ? (o) => u32[o] & 0x7fffffff
    : (o: number, j: number): number => {
      const hi = LITTLE_ENDIAN ? 2 * o + 1 : 2 * o
      return j === 0 ? u32[hi] & 0x7fffffff : u32[LITTLE_ENDIAN ? 2 * o : 2 * o + 1]
    }
  const prefix = [0, 0] // the selected key's bits found so far, per word
  const counts = new Float64Array(256)
  let rank = k
  for (let pass = 0; pass < 4 * words; pass++) {
    const j = pass >> 2, shift = 24 - 8 * (pass & 3)
    const high = shift === 24 ? 0 : (0xffffffff << (shift + 8)) >>> 0 // bits of word j already fixed
    counts.fill(0)
    forEachOffset(t, (o) => {
      if (j === 1 && word(o, 0) !== prefix[0]) return
      const w = word(o, j)
      if (((w & high) >>> 0) !== prefix[j]) return
      counts[(w >>> shift) & 255]++
    })
    let d = 0
    while (rank > counts[d]) rank -= counts[d++]
    prefix[j] = (prefix[j] | (d << shift)) >>> 0
  }
  if (words === 1) return new Float32Array(new Uint32Array([prefix[0]]).buffer)[0]
  const pair = LITTLE_ENDIAN ? [prefix[1], prefix[0]] : [prefix[0], prefix[1]]
  return new Float64Array(new Uint32Array(pair).buffer)[0]
}

/**
 * The magnitude mask of one tensor as a bit set (bit e of word e>>5 for element e in row-major
 * order): exactly `keep` elements, those with |x| below the threshold plus ties taken in element
 * order ('smallMagnitude'), or the mirror image ('largeMagnitude'). Returns null when all move.
 */
export function magnitudeMaskBits(t: Tensor, keep: number, rule: 'smallMagnitude' | 'largeMagnitude' = 'smallMagnitude'): Uint32Array | null {
  const n = t.numel()
  if (keep >= n) return null
  const bits = new Uint32Array(Math.ceil(n / 32))
  if (keep <= 0) return bits
  const small = rule === 'smallMagnitude'
  const h = kthAbsValue(t, small ? keep : n - keep + 1)
  const s = t.storage
  let strict = 0
  forEachOffset(t, (o) => { const a = Math.abs(s[o]); if (small ? a < h : a > h) strict++ })
  let ties = keep - strict // elements equal to h that still fit
  let e = 0
  forEachOffset(t, (o) => {
    const a = Math.abs(s[o])
    if ((small ? a < h : a > h) || (a === h && ties-- > 0)) bits[e >> 5] |= 1 << (e & 31)
    e++
  })
  return bits
}

/**
 * Sparse MeZO: MeZO that perturbs and updates only a per-layer magnitude mask recomputed at every
 * step from the current θ. Same step API and result as `MeZO`.
 *
 * Reference: https://arxiv.org/abs/2402.15751
 *
 * @example
 *   const opt = new optim.SparseMeZO(model.namedParameters(), { lr: 1e-3, eps: 1e-3, sparsity: 0.75 })
 *   opt.step(() => loss(model.forward(x), y).item())
 */
export class SparseMeZO extends MeZO {
  readonly sparsity: number
  readonly maskRule: 'smallMagnitude' | 'largeMagnitude'
  /** Bytes of the bit masks held during the last step (freed after it). */
  lastMaskBytes = 0
  private masks: (Uint32Array | null)[] = []

  constructor(params: ParamsInput<MeZOOptions>, config: SparseMeZOConfig) {
    const { sparsity = 0.75, maskRule = 'smallMagnitude', ...rest } = config ?? ({} as SparseMeZOConfig)
    super(params, rest)
    if (!(typeof sparsity === 'number' && sparsity >= 0 && sparsity <= 1)) throw new TesseraError(`SparseMeZO: sparsity must be in [0, 1], got ${String(sparsity)}`)
    if (maskRule !== 'smallMagnitude' && maskRule !== 'largeMagnitude') throw new TesseraError(`SparseMeZO: maskRule must be 'smallMagnitude' or 'largeMagnitude', got ${String(maskRule)}`)
    this.sparsity = sparsity
    this.maskRule = maskRule
  }

  /** How many elements of a layer of n move: round((1 − s)·n). */
  keepCount(n: number): number {
    return Math.round((1 - this.sparsity) * n)
  }

  protected override beginStep(): void {
    this.masks = this.paramGroups.flatMap((g) => g.params).map((p) => magnitudeMaskBits(p, this.keepCount(p.numel()), this.maskRule))
    this.lastMaskBytes = this.masks.reduce((s, m) => s + (m ? m.byteLength : 0), 0)
  }

  protected override endStep(): void {
    this.masks = []
  }

  protected override moves(k: number, e: number): boolean {
    const m = this.masks[k]
    return m === null || (m[e >> 5] & (1 << (e & 31))) !== 0
  }
}

/**
 * @file The packed delta-CSR format for sparse 1x1 convolutions and linear layers in channel-major
 * layout, with the masks that produce it.
 *
 * References: Elsen, Dukhan, Gale, Simonyan, "Fast Sparse ConvNets", CVPR 2020
 * (https://arxiv.org/abs/1911.09723; the XNNPACK f32-spmm format, google/XNNPACK
 * `src/f32-spmm/scalar.c.in`), sheet 27; and SparseByteNN's fine-grained 1xN group sparsity
 * (Xu et al. 2023, https://arxiv.org/abs/2310.19509), sheet 53.
 *
 * A weight W (Cout, K) (K = Cin for 1x1 convs and linear layers, Cin kH kW over unfolded input)
 * is cut into nBlocks = ceil(Cout / nr) blocks of nr in {1, 2, 4} consecutive output rows that share
 * one sparsity pattern (sheet 27 "blocks", sheet 53 "1xN groups"). Per block b:
 *   nnzPerBlock[b]          how many input channels k the block keeps,
 *   inputIndex[j]           those k in increasing order (j runs over all kept columns, block-major),
 *   values[j nr + r]        W[b nr + r, inputIndex[j]], the nr rows of one column side by side,
 *   inputDeltas[j]          inputIndex[j + 1] - inputIndex[j] across block boundaries, the last entry
 *                           rewinding to inputIndex[0], so the deltas sum to 0 (the kernel multiplies
 *                           them by the row stride P = H W; XNNPACK stores them pre-scaled in bytes).
 * NOTE: rows of a block whose masks differ are packed as the *union* pattern; slots outside a row's
 * own mask hold an explicit 0 and `keep[s] = 0`. The op layer multiplies values by `keep`, so those
 * slots neither affect the output nor receive gradient: pruned weights stay zero by construction.
 * The same holds for the padding rows of a last partial block (Cout not a multiple of nr).
 * Unlike XNNPACK the bias is not interleaved into `values`: it stays a separate (Cout,) vector so
 * that it can be its own trainable parameter.
 */
import type { TypedArray } from '../dtype.ts'

export type BlockRows = 1 | 2 | 4

/** The index part of a packed sparse weight (the values live in a separate array). */
export interface SparsePattern {
  /** Output rows and input columns of the dense weight (Cout, K). */
  Cout: number
  K: number
  nr: BlockRows
  nBlocks: number
  nnzPerBlock: Int32Array // (nBlocks,)
  /** Prefix sums of nnzPerBlock: block b owns columns j in [blockStart[b], blockStart[b + 1]). */
  blockStart: Int32Array // (nBlocks + 1,)
  inputIndex: Int32Array // (nnz,) kept input channel of each packed column
  inputDeltas: Int32Array // (nnz,) successive index differences, last one rewinds to inputIndex[0]
  /** Number of packed columns (nnz blocks); values has nnz * nr slots. */
  nnz: number
  /** 1 where a packed slot is inside its row's own mask; null when every slot is. */
  keep: Uint8Array | null // (nnz nr,)
}

const isBlockRows = (nr: number): nr is BlockRows => nr === 1 || nr === 2 || nr === 4

/**
 * Packs a dense row-major W (Cout, K) into delta-CSR with blocks of nr rows. A slot is kept where
 * `mask` is nonzero (or, without a mask, where W is nonzero); a block keeps column k when any of its
 * rows keeps it (union pattern, see the file note). Returns the pattern and values (nnz nr,) of
 * W's dtype. Throws a plain Error on bad sizes; the op layer validates user input first.
 */
export function packDeltaCSR(W: TypedArray, Cout: number, K: number, nr: number, mask: ArrayLike<number> | null, makeValues: (n: number) => TypedArray): { pattern: SparsePattern; values: TypedArray } {
  if (!isBlockRows(nr)) throw new Error(`packDeltaCSR: nr must be 1, 2 or 4, got ${nr}`)
  const nBlocks = Math.ceil(Cout / nr)
  const kept = (i: number): boolean => (mask ? mask[i] !== 0 : W[i] !== 0)
  const nnzPerBlock = new Int32Array(nBlocks) // (nBlocks,)
  const cols: number[] = []
  let padded = false
  for (let b = 0; b < nBlocks; b++) {
    const rows = Math.min(nr, Cout - b * nr)
    if (rows < nr) padded = true
    for (let k = 0; k < K; k++) {
      let any = false, all = true
      for (let r = 0; r < rows; r++) { const on = kept((b * nr + r) * K + k); any ||= on; all &&= on }
      if (any) { cols.push(k); nnzPerBlock[b]++; if (!all) padded = true }
    }
  }
  const nnz = cols.length
  const blockStart = new Int32Array(nBlocks + 1) // (nBlocks + 1,)
  for (let b = 0; b < nBlocks; b++) blockStart[b + 1] = blockStart[b] + nnzPerBlock[b]
  const inputIndex = Int32Array.from(cols) // (nnz,)
  const inputDeltas = new Int32Array(nnz) // (nnz,)
  for (let j = 0; j < nnz; j++) inputDeltas[j] = (j + 1 < nnz ? inputIndex[j + 1] : inputIndex[0]) - inputIndex[j]
  const values = makeValues(nnz * nr) // (nnz, nr)
  const keep = padded ? new Uint8Array(nnz * nr) : null // (nnz, nr)
  for (let b = 0; b < nBlocks; b++) {
    const rows = Math.min(nr, Cout - b * nr)
    for (let j = blockStart[b]; j < blockStart[b + 1]; j++) {
      for (let r = 0; r < rows; r++) {
        const i = (b * nr + r) * K + inputIndex[j]
        const on = kept(i)
        values[j * nr + r] = on ? W[i] : 0
        if (keep) keep[j * nr + r] = on ? 1 : 0
      }
    }
  }
  return { pattern: { Cout, K, nr, nBlocks, nnzPerBlock, blockStart, inputIndex, inputDeltas, nnz, keep }, values }
}

/** Writes the dense W (Cout, K) of a packed weight into `out` (zeros outside the kept slots). */
export function unpackDeltaCSR(out: TypedArray, s: SparsePattern, values: TypedArray): void {
  out.fill(0)
  for (let b = 0; b < s.nBlocks; b++) {
    const rows = Math.min(s.nr, s.Cout - b * s.nr)
    for (let j = s.blockStart[b]; j < s.blockStart[b + 1]; j++) {
      for (let r = 0; r < rows; r++) {
        const q = j * s.nr + r
        if (!s.keep || s.keep[q]) out[(b * s.nr + r) * s.K + s.inputIndex[j]] = values[q]
      }
    }
  }
}

/** `values` with the slots outside the mask set to 0 (values itself when the pattern has no padding). */
export function maskedValues(s: SparsePattern, values: TypedArray): TypedArray {
  const keep = s.keep
  if (!keep) return values
  const out = values.slice() // (nnz nr,)
  for (let q = 0; q < out.length; q++) if (!keep[q]) out[q] = 0
  return out
}

export interface BlockMaskOptions {
  /** Output rows per block (sheet 27 nr, sheet 53 N). */
  rows?: number
  /** Consecutive input columns per block: kH kW for a 3x3 conv's (Cout, Cin 9) weight (sheet 53). */
  cols?: number
  /** Block score: 'l2' (sheet 27) or 'l1' (sheet 53). */
  score?: 'l1' | 'l2'
}

/**
 * Magnitude pruning mask (Cout, K) of 0/1: blocks of `rows` x `cols` weights are scored by their
 * L1 or L2 norm and the floor(sparsity * #blocks) lowest are zeroed (ties broken by position), so
 * every block is all-zero or all-one. rows = cols = 1 is unstructured magnitude pruning; rows = N,
 * cols = kH kW is SparseByteNN's 1xN group pattern, and rows = nr gives the blocks of sheet 27.
 * Partial blocks at the edges are scored over the weights they have.
 */
export function blockMagnitudeMask(W: ArrayLike<number>, Cout: number, K: number, sparsity: number, opts: BlockMaskOptions = {}): Uint8Array {
  const R = opts.rows ?? 1, Cc = opts.cols ?? 1, l1 = opts.score === 'l1'
  const bR = Math.ceil(Cout / R), bC = Math.ceil(K / Cc)
  const score = new Float64Array(bR * bC) // (bR, bC)
  for (let i = 0; i < Cout; i++) {
    for (let k = 0; k < K; k++) {
      const w = W[i * K + k]
      score[Math.floor(i / R) * bC + Math.floor(k / Cc)] += l1 ? Math.abs(w) : w * w
    }
  }
  const order = Array.from({ length: bR * bC }, (_, i) => i).sort((a, b) => score[a] - score[b] || a - b)
  const dropped = new Uint8Array(bR * bC) // (bR, bC)
  const nDrop = Math.floor(sparsity * bR * bC + 1e-9)
  for (let t = 0; t < nDrop; t++) dropped[order[t]] = 1
  const mask = new Uint8Array(Cout * K) // (Cout, K)
  for (let i = 0; i < Cout; i++) {
    for (let k = 0; k < K; k++) mask[i * K + k] = dropped[Math.floor(i / R) * bC + Math.floor(k / Cc)] ? 0 : 1
  }
  return mask
}

/**
 * @file Synthetic sequence tasks of paper 70 (URPE, Luo et al. 2022, https://arxiv.org/abs/2205.13401,
 * Sec. 5.1; lsj2408/URPE fairseq/tasks/synthetic_task.py): each example is L uniformly random
 * tokens and a per-position target. Shapes: x (N, L) int32, y (N, L) int32. Seeded, runtime-neutral.
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'

export interface SyntheticOptions {
  /** Number of sequences N. */
  n: number
  /** Sequence length L. */
  length: number
  /** Vocabulary size V (ETP reserves the last id as the filler). */
  vocab: number
  generator: Generator
}

export interface SyntheticTask {
  /** (N, L) int32 input tokens. */
  x: Tensor
  /** (N, L) int32 targets. */
  y: Tensor
  /** Number of target classes. */
  numClasses: number
}

function check(op: string, o: SyntheticOptions, minVocab: number): void {
  for (const [k, v] of [['n', o.n], ['length', o.length], ['vocab', o.vocab]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new TesseraError(`${op}: ${k} must be a positive integer, got ${v}`)
  }
  if (o.vocab < minVocab) throw new TesseraError(`${op}: vocab must be at least ${minVocab}, got ${o.vocab}`)
}

/**
 * Even Token Prediction: tokens x_i uniform in [0, V - 1); the target at i < floor(L/2) is the token at
 * odd position 2i + 1 (0-based, i.e. the even positions counted from 1), and the filler V - 1 elsewhere:
 *   y_i = x_{2i+1} (i < floor(L/2)),  y_i = V - 1 (otherwise).
 * @example
 *   const { x, y } = evenTokenPrediction({ n: 64, length: 32, vocab: 20, generator: new Generator(0) })
 */
export function evenTokenPrediction(o: SyntheticOptions): SyntheticTask {
  check('evenTokenPrediction', o, 2)
  const { n, length: L, vocab: V } = o
  const x = new Int32Array(n * L), y = new Int32Array(n * L) // (N, L) each
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < L; i++) x[r * L + i] = o.generator.nextInt(0, V - 1)
    for (let i = 0; i < L; i++) y[r * L + i] = i < Math.floor(L / 2) ? x[r * L + 2 * i + 1] : V - 1
  }
  return { x: fromTypedArray(x, [n, L]), y: fromTypedArray(y, [n, L]), numClasses: V }
}

/**
 * Position Identification: tokens uniform in [0, V); the target at position i is its index plus
 * `offset` (default 1, as the reference's 1 + arange(L)): y_i = i + offset, numClasses = L + offset.
 * @example
 *   const { x, y } = positionIdentification({ n: 64, length: 32, vocab: 20, generator: new Generator(0) })
 */
export function positionIdentification(o: SyntheticOptions & { offset?: number }): SyntheticTask {
  check('positionIdentification', o, 1)
  const { n, length: L, vocab: V } = o, off = o.offset ?? 1
  if (!Number.isInteger(off) || off < 0) throw new TesseraError(`positionIdentification: offset must be a non-negative integer, got ${off}`)
  const x = new Int32Array(n * L), y = new Int32Array(n * L) // (N, L) each
  for (let r = 0; r < n; r++) for (let i = 0; i < L; i++) { x[r * L + i] = o.generator.nextInt(0, V); y[r * L + i] = i + off }
  return { x: fromTypedArray(x, [n, L]), y: fromTypedArray(y, [n, L]), numClasses: L + off }
}

// The delay task of S4D (paper 41) lives with its model; it is listed here with the other synthetic tasks.
export { delayTask } from '../nn/arch/41-s4d.ts'
// The moving-digits video of MIMO-VP (paper 39).
export { movingDigits, type MovingDigitsOptions, type MovingDigits } from '../nn/arch/39-mimo-vp.ts'

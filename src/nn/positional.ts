/**
 * @file Position information for sequence models: fixed sinusoidal encodings (Vaswani et al. 2017),
 * learned absolute position embeddings, and rotary position embeddings (RoPE, Su et al. 2021).
 *
 * Shapes: x is (..., L, D), positions along dim -2 (batch-first; e.g. (N, L, D) or (N, heads, L, D)).
 * An `offset` shifts the positions to offset .. offset + L - 1 (decoding with a cache).
 *
 * RoPE uses the half-split convention of GPT-NeoX and Hugging Face LLaMA: feature i is paired with
 * feature i + R/2 (not with its neighbour 2i + 1 as in the paper and Meta's original LLaMA code),
 * so weights converted for HF-style models work unchanged.
 */
import { check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { stack } from '../functional.ts'
import { cat } from '../ops/indexing.ts'
import { arange, randn } from '../creation.ts'
import { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'
import { Module } from './module.ts'
import { Parameter } from './parameter.ts'

/** base^{-2i/D} for i = 0 .. ceil(D/2) - 1, in float64. */
function inverseFrequencies(D: number, base: number): Tensor {
  return arange(0, Math.ceil(D / 2), 1, { dtype: 'float64' }).mul((-2 * Math.log(base)) / D).exp()
}

/**
 * The (L, D) sinusoidal table for positions start .. start + L - 1, in float64:
 *   PE(p, 2i) = sin(p / base^{2i/D}),  PE(p, 2i + 1) = cos(p / base^{2i/D})   (Vaswani et al., Sec. 3.5)
 * Reference: https://arxiv.org/abs/1706.03762
 * @example
 *   sinusoidalTable(4, 8) // (4, 8); row 0 is [0, 1, 0, 1, ...]
 */
export function sinusoidalTable(L: number, D: number, opts: { start?: number; base?: number } = {}): Tensor {
  check(Number.isInteger(L) && L >= 0 && Number.isInteger(D) && D > 0, 'sinusoidalTable', () => `need integer L >= 0 and D > 0, got (${L}, ${D})`)
  const start = opts.start ?? 0
  const angles = arange(start, start + L, 1, { dtype: 'float64' }).unsqueeze(1).mul(inverseFrequencies(D, opts.base ?? 10000)) // (L, ceil(D/2))
  return stack([angles.sin(), angles.cos()], -1).reshape([L, -1]).narrow(1, 0, D) // (L, D): sin, cos interleaved
}

function checkSequence(op: string, x: Tensor, D: number): number {
  check(isFloating(x.dtype), op, () => `input must be a float tensor, got ${x.dtype}`)
  check(x.ndim >= 2 && x.shape[x.ndim - 1] === D, op, () => `input has shape ${fmtShape(x.shape)}, expected (..., L, ${D})`)
  return x.shape[x.ndim - 2]
}

/**
 * Adds the fixed sinusoidal encoding (see `sinusoidalTable`) to x (..., L, D). No parameters; the
 * table is computed in float64 on first use and grown as longer sequences arrive.
 * @example
 *   const pe = new SinusoidalPositionalEncoding(64)
 *   pe.forward(tokens) // (N, L, 64)
 */
export class SinusoidalPositionalEncoding extends Module {
  private table: Tensor | null = null
  constructor(readonly dModel: number, readonly opts: { base?: number } = {}) {
    super()
    check(Number.isInteger(dModel) && dModel > 0, 'SinusoidalPositionalEncoding', () => `dModel must be a positive integer, got ${dModel}`)
  }

  forward(x: Tensor, offset = 0): Tensor {
    const L = checkSequence('SinusoidalPositionalEncoding', x, this.dModel)
    check(Number.isInteger(offset) && offset >= 0, 'SinusoidalPositionalEncoding', () => `offset must be a non-negative integer, got ${offset}`)
    if (!this.table || this.table.shape[0] < offset + L) {
      this.table = sinusoidalTable(Math.max(2 * (offset + L), 64), this.dModel, { base: this.opts.base })
    }
    return x.add(this.table.narrow(0, offset, L).to(x.dtype))
  }
}

export interface LearnedPositionalOptions { generator?: Generator; dtype?: 'float32' | 'float64'; std?: number }

/**
 * Adds a learned vector per position: x (..., L, D) + weight[offset : offset + L], weight
 * (maxLen, D) initialised N(0, std^2) (std 1 by default, as an nn.Embedding; GPT-2 uses 0.01).
 * Reference: Gehring et al. 2017, https://arxiv.org/abs/1705.03122 (Sec. 3.1)
 */
export class LearnedPositionalEmbedding extends Module {
  weight: Parameter
  constructor(readonly maxLen: number, readonly dim: number, opts: LearnedPositionalOptions = {}) {
    super()
    check(Number.isInteger(maxLen) && maxLen > 0 && Number.isInteger(dim) && dim > 0, 'LearnedPositionalEmbedding', () =>
      `maxLen and dim must be positive integers, got (${maxLen}, ${dim})`)
    this.weight = new Parameter(randn([maxLen, dim], { dtype: opts.dtype, generator: opts.generator }).mul(opts.std ?? 1))
  }

  forward(x: Tensor, offset = 0): Tensor {
    const L = checkSequence('LearnedPositionalEmbedding', x, this.dim)
    check(Number.isInteger(offset) && offset >= 0 && offset + L <= this.maxLen, 'LearnedPositionalEmbedding', () =>
      `positions ${offset} .. ${offset + L - 1} exceed maxLen ${this.maxLen} (input ${fmtShape(x.shape)})`)
    return x.add(this.weight.narrow(0, offset, L))
  }
}

export interface RotaryOptions {
  /** Frequency base theta (default 10000). */
  base?: number
  /** Rotate only the first rotaryDim features (even; default all), passing the rest through (GPT-NeoX rotary_pct). */
  rotaryDim?: number
}

/**
 * Rotary position embedding, half-split convention. With R = rotaryDim, x = [x1, x2, rest]
 * (x1, x2 the two halves of the first R features) and angle theta_{p,i} = p base^{-2i/R}:
 *   out = [x1 cos theta - x2 sin theta,  x2 cos theta + x1 sin theta,  rest]
 * i.e. x cos + rotate_half(x) sin as in Hugging Face's LLaMA. `positions` is an offset (positions
 * offset .. offset + L - 1) or a tensor of positions of shape (L) or (..., L) broadcasting
 * against x.shape[:-1]. Angles are computed in float64, then cast to x's dtype.
 * Reference: Su et al. 2021, https://arxiv.org/abs/2104.09864 (eqn 34);
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/llama/modeling_llama.py (rotate_half)
 * @example
 *   q = applyRotaryEmbedding(q, cacheLen) // q (N, heads, L, headDim)
 */
export function applyRotaryEmbedding(x: Tensor, positions: Tensor | number = 0, opts: RotaryOptions = {}): Tensor {
  const op = 'applyRotaryEmbedding'
  check(isFloating(x.dtype) && x.ndim >= 2, op, () => `input must be a float tensor of shape (..., L, D), got ${x.dtype} ${fmtShape(x.shape)}`)
  const D = x.shape[x.ndim - 1], L = x.shape[x.ndim - 2]
  const R = opts.rotaryDim ?? D
  check(Number.isInteger(R) && R > 0 && R % 2 === 0 && R <= D, op, () => `rotaryDim must be a positive even number <= ${D}, got ${R} (input ${fmtShape(x.shape)})`)
  let pos: Tensor // (..., L) float64
  if (typeof positions === 'number') {
    check(Number.isFinite(positions), op, () => `offset must be a finite number, got ${positions}`)
    pos = arange(positions, positions + L, 1, { dtype: 'float64' })
  } else {
    check(positions instanceof Tensor && positions.ndim >= 1 && positions.shape[positions.ndim - 1] === L, op, () =>
      `positions must be a tensor of shape (..., ${L}) for input ${fmtShape(x.shape)}, got ${positions instanceof Tensor ? fmtShape(positions.shape) : typeof positions}`)
    pos = positions.to('float64')
  }
  const angles = pos.unsqueeze(-1).mul(inverseFrequencies(R, opts.base ?? 10000)) // (..., L, R/2)
  const cos = angles.cos().to(x.dtype), sin = angles.sin().to(x.dtype)
  const x1 = x.narrow(-1, 0, R / 2), x2 = x.narrow(-1, R / 2, R / 2) // (..., L, R/2) each
  const rotated = cat([x1.mul(cos).sub(x2.mul(sin)), x2.mul(cos).add(x1.mul(sin))], -1) // (..., L, R)
  return R === D ? rotated : cat([rotated, x.narrow(-1, R, D - R)], -1)
}

/**
 * RoPE as a module (no parameters): forward(x, positions) = applyRotaryEmbedding(x, positions,
 * {base, rotaryDim: dim}). `dim` is the number of rotated features (the head dim, usually).
 * @example
 *   const rope = new RotaryEmbedding(64)
 *   const q2 = rope.forward(q, 0), k2 = rope.forward(k, 0)
 */
export class RotaryEmbedding extends Module {
  readonly base: number
  constructor(readonly dim: number, opts: { base?: number } = {}) {
    super()
    check(Number.isInteger(dim) && dim > 0 && dim % 2 === 0, 'RotaryEmbedding', () => `dim must be a positive even integer, got ${dim}`)
    this.base = opts.base ?? 10000
  }

  forward(x: Tensor, positions: Tensor | number = 0): Tensor {
    return applyRotaryEmbedding(x, positions, { base: this.base, rotaryDim: this.dim })
  }
}

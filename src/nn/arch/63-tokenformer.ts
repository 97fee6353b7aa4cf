/**
 * @file Paper 63, TokenFormer: "TokenFormer: Rethinking Transformer Scaling with Tokenized Model
 * Parameters" (Wang et al. 2024), https://arxiv.org/abs/2410.23168. Reference code:
 * Haiyang-W/TokenFormer `megatron/model/tokenformer.py` (Pattention, nonlinear_normalization) and
 * `megatron/checkpointing.py` (custom_load_fn_incremental).
 *
 * Pattention replaces a linear projection by attention from the input tokens to n learnable
 * key/value parameter tokens K_P (n, d_in), V_P (n, d_out):
 *   A = X K_Pᵀ                                  (no 1/√d; paper Eqn (4)-(5))
 *   'l2_norm_gelu' (default): Â_i = GELU(s · A_i / ‖A_i‖₂)        s = √n, per row i (Eqn (6))
 *   'gelu_l2_norm':           Â_i = s · GELU(A_i) / ‖GELU(A_i)‖₂
 *   'softmax':                Â_i = n · exp(A_i) / ‖exp(A_i)‖₁
 *   O = Â V_P
 * The reference takes s = √(current n). `grow` can keep the old s instead (default), which with
 * zero key tokens makes the grown layer compute exactly the old function (see `Pattention.grow`).
 *
 * TokenFormerBlock (pre-norm, non-parametric LayerNorm): q, k, v = Pattention_{q,k,v}(LN(x));
 * multi-head causal softmax attention with RoPE on 25% of each head; x ← x + Pattention_o(attn);
 * x ← x + Pattention_ffn(LN(x)) (the GELU inside the normalisation is the only nonlinearity).
 * TokenFormerLM: embedding, blocks, parametric final LayerNorm, linear head (src/nn/transformer-lm.ts).
 *
 * Shapes: x (..., d_in) -> (..., d_out); in the LM (B batch, T time, D width): (B, T, D) throughout.
 */
import { check, fmtShape, TesseraError } from '../../errors.ts'
import { randn, zeros } from '../../creation.ts'
import { cat } from '../../ops/indexing.ts'
import { noGrad } from '../../autograd.ts'
import type { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { TransformerBlock, TransformerLM, causalSelfAttention } from '../transformer-lm.ts'

export type PattentionNorm = 'l2_norm_gelu' | 'gelu_l2_norm' | 'softmax'

/** How `grow` fills the new key/value rows. */
export type GrowInit = 'zero' | 'zero-keys' | 'normal'

export interface PattentionOptions {
  norm?: PattentionNorm
  /** Std of the key tokens (init_method, default 0.02) and value tokens (default 0.02; the LM uses wang_init). */
  keyStd?: number
  valueStd?: number
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/** Â from the raw scores A (..., n): the three normalisations of the reference `nonlinear_normalization`. */
export function pattentionNormalize(A: Tensor, norm: PattentionNorm, scale: number): Tensor {
  const n = A.shape[A.ndim - 1]
  const l2 = (t: Tensor): Tensor => t.div(t.square().sum(-1, true).sqrt()) // t_i / ‖t_i‖₂ per row
  if (norm === 'l2_norm_gelu') return l2(A).mul(scale).gelu() // Eqn (6)
  if (norm === 'gelu_l2_norm') return l2(A.gelu()).mul(scale)
  if (norm === 'softmax') return A.softmax(-1).mul(n) // exp(A)/‖exp(A)‖₁ · n, computed stably
  throw new TesseraError(`Pattention: norm must be 'l2_norm_gelu', 'gelu_l2_norm' or 'softmax', got ${JSON.stringify(norm)}`)
}

/**
 * Token-parameter attention: O = Θ(X K_Pᵀ) V_P with Θ one of the normalisations above.
 * Parameters: n·(d_in + d_out). NOTE: as in the reference there is no ε in ‖A_i‖, so an all-zero input
 * row gives NaN (it never happens after a LayerNorm).
 *
 * Reference: https://arxiv.org/abs/2410.23168 (Sec. 3.2, Eqn (5)-(6))
 * @example
 *   const p = new Pattention(32, 32, 64, { generator: new Generator(0) })
 *   p.forward(x) // x (B, T, 32) -> (B, T, 32)
 */
export class Pattention extends Module {
  key_param_tokens: Parameter // (n, d_in)
  value_param_tokens: Parameter // (n, d_out)
  readonly norm: PattentionNorm
  /** s in Â = GELU(s A/‖A‖); √n at construction. */
  scale: number

  constructor(readonly dIn: number, readonly dOut: number, numParamTokens: number, opts: PattentionOptions = {}) {
    super()
    for (const [k, v] of [['dIn', dIn], ['dOut', dOut], ['numParamTokens', numParamTokens]] as const) {
      check(Number.isInteger(v) && v > 0, 'Pattention', () => `${k} must be a positive integer, got ${v}`)
    }
    this.norm = opts.norm ?? 'l2_norm_gelu'
    pattentionNormalize(zeros([1, 1]), this.norm, 1) // validates the name
    const o = { generator: opts.generator, dtype: opts.dtype }
    this.key_param_tokens = new Parameter(randn([numParamTokens, dIn], o).mul(opts.keyStd ?? 0.02))
    this.value_param_tokens = new Parameter(randn([numParamTokens, dOut], o).mul(opts.valueStd ?? 0.02))
    this.scale = Math.sqrt(numParamTokens)
  }

  /** n, the number of key/value parameter tokens. */
  get numParamTokens(): number {
    return this.key_param_tokens.shape[0]
  }

  forward(x: Tensor): Tensor {
    check(x.ndim >= 1 && x.shape[x.ndim - 1] === this.dIn, 'Pattention', () => `x must be (..., ${this.dIn}), got ${fmtShape(x.shape)}`)
    const A = x.matmul(this.key_param_tokens.mT) // (..., n)
    return pattentionNormalize(A, this.norm, this.scale).matmul(this.value_param_tokens) // (..., d_out)
  }

  /**
   * Appends newNum − n key/value tokens (progressive scaling, Sec. 3.5), replacing both Parameters
   * (build a new optimizer afterwards). `init`:
   *   'zero-keys' (default): keys 0, values N(0, valueStd²). A_new = 0 so Â_new = GELU(0) = 0 and ‖A_i‖ is
   *      unchanged: with `keepScale` the output is exactly the old one, and the new keys still get a
   *      gradient GELU'(0)·s/‖A_i‖·(∂L/∂O · V_new) X, so the new tokens learn.
   *   'zero': keys and values 0 (the paper's text). Same function, but every new gradient is 0
   *      (∂L/∂V_new = Â_newᵀ ∂L/∂O = 0, ∂L/∂K_new ∝ V_new = 0), so AdamW never moves them: the tokens stay dead.
   *   'normal': fresh init N(0, keyStd²), N(0, valueStd²) (the released loader); changes the function.
   * `keepScale` (default true) keeps s; false sets s = √newNum as the reference does, which rescales
   * every old score inside the GELU.
   */
  grow(newNum: number, opts: { init?: GrowInit; keepScale?: boolean; keyStd?: number; valueStd?: number; generator?: Generator } = {}): this {
    const n = this.numParamTokens, m = newNum - n
    check(Number.isInteger(newNum) && m >= 0, 'Pattention.grow', () => `newNum must be an integer >= ${n}, got ${newNum}`)
    const init = opts.init ?? 'zero-keys'
    check(init === 'zero' || init === 'zero-keys' || init === 'normal', 'Pattention.grow', () => `init must be 'zero', 'zero-keys' or 'normal', got ${JSON.stringify(init)}`)
    const o = { generator: opts.generator, dtype: this.key_param_tokens.dtype as 'float32' | 'float64' }
    const newKeys = init === 'normal' ? randn([m, this.dIn], o).mul(opts.keyStd ?? 0.02) : zeros([m, this.dIn], o) // (m, d_in)
    const newValues = init === 'zero' ? zeros([m, this.dOut], o) : randn([m, this.dOut], o).mul(opts.valueStd ?? 0.02) // (m, d_out)
    noGrad(() => {
      this.key_param_tokens = new Parameter(cat([this.key_param_tokens.detach(), newKeys], 0)) // (newNum, d_in)
      this.value_param_tokens = new Parameter(cat([this.value_param_tokens.detach(), newValues], 0)) // (newNum, d_out)
    })
    if (opts.keepScale === false) this.scale = Math.sqrt(newNum)
    return this
  }
}

export interface TokenFormerOptions {
  vocabSize: number
  dModel?: number
  numLayers?: number
  numHeads?: number
  /** Parameter tokens of each q, k, v Pattention (qkv_slot_num; default dModel). */
  qkvTokens?: number
  /** Of the attention output Pattention (proj_slot_num; default dModel). */
  projTokens?: number
  /** Of the FFN Pattention (ffn_slot_num; default 4·dModel). */
  ffnTokens?: number
  /** Fraction of each head's dims rotated by RoPE (rotary_pct, default 0.25). */
  rotaryPct?: number
  norm?: PattentionNorm
  generator?: Generator
  dtype?: 'float32' | 'float64'
}

/** q, k, v and output Pattentions around multi-head causal softmax attention (RoPE on rotaryDim features per head). */
export class TokenFormerAttention extends Module {
  query: Pattention
  key: Pattention
  value: Pattention
  proj: Pattention
  constructor(readonly dModel: number, readonly numHeads: number, readonly rotaryDim: number, qkvTokens: number, projTokens: number, po: PattentionOptions) {
    super()
    this.query = new Pattention(dModel, dModel, qkvTokens, po)
    this.key = new Pattention(dModel, dModel, qkvTokens, po)
    this.value = new Pattention(dModel, dModel, qkvTokens, po)
    this.proj = new Pattention(dModel, dModel, projTokens, po)
  }
  forward(x: Tensor): Tensor {
    const o = causalSelfAttention(this.query.forward(x), this.key.forward(x), this.value.forward(x), this.numHeads, { rotaryDim: this.rotaryDim }) // (B, T, D)
    return this.proj.forward(o)
  }
}

/** Pre-norm block with non-parametric LayerNorms: x ← x + attn(LN(x)); x ← x + Pattention_ffn(LN(x)). */
export class TokenFormerBlock extends TransformerBlock {
  constructor(dModel: number, numHeads: number, opts: Omit<TokenFormerOptions, 'vocabSize' | 'dModel' | 'numHeads'> = {}) {
    const L = opts.numLayers ?? 1, E = dModel / numHeads
    check(Number.isInteger(E), 'TokenFormerBlock', () => `dModel ${dModel} must be divisible by numHeads ${numHeads}`)
    // init_method: N(0, 0.02²) keys; wang_init: N(0, (2 / (L √D))²) values (GPT-NeoX).
    const po: PattentionOptions = { norm: opts.norm, keyStd: 0.02, valueStd: 2 / (L * Math.sqrt(dModel)), generator: opts.generator, dtype: opts.dtype }
    const rot = 2 * Math.floor(((opts.rotaryPct ?? 0.25) * E) / 2)
    const attn = new TokenFormerAttention(dModel, numHeads, rot, opts.qkvTokens ?? dModel, opts.projTokens ?? dModel, po)
    super(dModel, attn, new Pattention(dModel, dModel, opts.ffnTokens ?? 4 * dModel, po), { dtype: opts.dtype, elementwiseAffine: false })
  }
}

/** Which Pattentions grow: new token counts by role (omitted roles keep their n). */
export interface TokenCounts { qkvTokens?: number; projTokens?: number; ffnTokens?: number }

/**
 * A causal TokenFormer LM: every projection inside the blocks is a Pattention; embedding, final
 * LayerNorm and head are ordinary. `grow` scales all Pattentions in place.
 *
 * Reference: https://arxiv.org/abs/2410.23168 (Fig. 2); configs/tokenformer/150M_train_pile.yml
 * @example
 *   const lm = new TokenFormerLM({ vocabSize: 28, dModel: 32, numLayers: 2, numHeads: 2, ffnTokens: 64 })
 *   lm.grow({ ffnTokens: 128 }) // same function, more parameters
 */
export class TokenFormerLM extends TransformerLM {
  readonly config: TokenFormerOptions
  constructor(config: TokenFormerOptions) {
    super({ ...config, block: () => new TokenFormerBlock(config.dModel ?? 32, config.numHeads ?? 2, { ...config, numLayers: config.numLayers ?? 2 }) })
    this.config = config
  }

  /** Every Pattention with its role and dotted name. */
  pattentions(): { name: string; role: keyof TokenCounts; layer: Pattention }[] {
    const out: { name: string; role: keyof TokenCounts; layer: Pattention }[] = []
    for (const [name, m] of this.namedModules()) {
      if (!(m instanceof Pattention)) continue
      const role = name.endsWith('.proj') ? 'projTokens' : name.endsWith('.ffn') ? 'ffnTokens' : 'qkvTokens'
      out.push({ name, role, layer: m })
    }
    return out
  }

  /** Grows each Pattention to its role's new count (see `Pattention.grow`); rebuild the optimizer after. */
  grow(counts: TokenCounts, opts: Parameters<Pattention['grow']>[1] = {}): this {
    for (const { role, layer } of this.pattentions()) layer.grow(counts[role] ?? layer.numParamTokens, opts)
    return this
  }
}

/**
 * Incremental loading (checkpointing.py `custom_load_fn_incremental`): copies every parameter of
 * `smaller` into `bigger`; each Pattention's old tokens go bit-exactly into the first n rows. The new
 * rows keep `bigger`'s fresh init (`newTokens: 'fresh'`, the released loader), or are zeroed
 * ('zero': keys and values, the paper's text; 'zero-keys': keys only). `keepScale` (default: true unless
 * 'fresh') copies the smaller model's s, making 'zero'/'zero-keys' loads function-preserving.
 * @example
 *   loadIncremental(big, small, { newTokens: 'zero-keys' })
 */
export function loadIncremental(bigger: TokenFormerLM, smaller: TokenFormerLM, opts: { newTokens?: 'fresh' | 'zero' | 'zero-keys'; keepScale?: boolean } = {}): TokenFormerLM {
  const mode = opts.newTokens ?? 'fresh'
  const keep = opts.keepScale ?? mode !== 'fresh'
  const small = new Map(smaller.namedParameters()), bigP = new Map(bigger.namedParameters())
  const sp = new Map(smaller.pattentions().map((p) => [p.name, p.layer]))
  const names = [...bigP.keys()]
  if (names.length !== small.size || names.some((k) => !small.has(k))) {
    throw new TesseraError(`loadIncremental: the models differ in structure: [${names}] vs [${[...small.keys()]}]`)
  }
  noGrad(() => {
    for (const [name, dst] of bigP) {
      const src = small.get(name)!
      const n = src.shape[0]
      const pre = src.ndim === 2 && dst.ndim === 2 && dst.shape[0] > n && src.shape[1] === dst.shape[1]
      if (!pre && (src.ndim !== dst.ndim || src.shape.some((s, i) => s !== dst.shape[i]))) {
        throw new TesseraError(`loadIncremental: ${name} is ${fmtShape(dst.shape)} in the bigger model, ${fmtShape(src.shape)} in the smaller`)
      }
      if (!pre) { dst.copy_(src); continue }
      dst.narrow(0, 0, n).copy_(src) // old tokens -> first n rows
      const isKey = name.endsWith('key_param_tokens')
      if (mode === 'zero' || (mode === 'zero-keys' && isKey)) dst.narrow(0, n, dst.shape[0] - n).zero_()
    }
  })
  for (const { name, layer } of bigger.pattentions()) {
    const s = sp.get(name)
    if (!s) throw new TesseraError(`loadIncremental: ${name} is not a Pattention in the smaller model`)
    if (keep) layer.scale = s.scale
  }
  return bigger
}

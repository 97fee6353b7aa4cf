/**
 * @file Shared RLHF plumbing for rl.remax / rl.reinforce / rl.ppo: the reward-function slot, turning a
 * generation into a (B, T) token batch with a response mask, per-token log-probabilities, and the
 * losses (policy gradient, PPO clip, clipped value loss), GAE and masked whitening.
 *
 * Token alignment: ids (B, L) = prompt ++ response ++ padding (right-padded, see generate.ts). Every
 * per-token quantity has shape (B, T) with T = L − 1; column j refers to the token ids[:, j + 1] as
 * predicted from ids[:, 0..j]. mask[b, j] = 1 exactly for response tokens (the stop token included,
 * prompt and padding excluded): j ∈ [n_b − 1, n_b − 1 + m_b) for prompt length n_b, response length m_b.
 *
 * References: Li et al. 2023, ReMax (https://arxiv.org/abs/2310.10505); Schulman et al. 2017, PPO
 * (https://arxiv.org/abs/1707.06347); Schulman et al. 2016, GAE (https://arxiv.org/abs/1506.02438);
 * verl `verl/trainer/ppo/core_algos.py` (Sheng et al. 2024, HybridFlow, https://arxiv.org/abs/2409.19256).
 */
import { TesseraError } from '../errors.ts'
import { fromTypedArray } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import type { GenerateResult, SequenceModel } from '../generate/generate.ts'

/** The reward-model slot: any function of (prompt ids, response ids) to a scalar (a learned model or a rule). */
export type RewardFn = (prompt: readonly number[], response: readonly number[]) => number

/** The smallest optimizer surface the RL steps need (every optim.* optimizer has it). */
export interface StepOptimizer { step(): void; zeroGrad(): void }

export interface TokenBatch {
  /** (B, L) int32 prompt ++ response, right-padded. */
  ids: Tensor
  /** (B, T) with T = L − 1, row-major: 1 on response tokens. */
  mask: Float64Array
  B: number
  T: number
  /** Per row: first masked column n_b − 1 and response length m_b. */
  start: number[]
  length: number[]
}

/** The token batch of a generation (see the file comment for the alignment). */
export function tokenBatch(g: GenerateResult): TokenBatch {
  const [B, L] = g.sequences.shape
  if (L < 2) throw new TesseraError('tokenBatch: sequences need at least 2 columns (a prompt token and a response token)')
  const T = L - 1
  const mask = new Float64Array(B * T) // (B, T)
  const start = g.prompts.map((p) => p.length - 1)
  const length = g.responses.map((r) => r.length)
  for (let b = 0; b < B; b++) mask.fill(1, b * T + start[b], b * T + start[b] + length[b])
  return { ids: g.sequences, mask, B, T, start, length }
}

/** log π(ids[:, j+1] | ids[:, ≤j]) for j < L − 1: ids (B, L) -> (B, T). Builds a tape if grad is enabled. */
export function tokenLogProbs(model: SequenceModel, ids: Tensor): Tensor {
  const [B, L] = ids.shape
  const logits = model.forward(ids) // (B, L, V)
  const logp = logits.narrow(1, 0, L - 1).logSoftmax(2) // (B, T, V)
  const targets = ids.narrow(1, 1, L - 1).contiguous().reshape([B, L - 1, 1]) // (B, T, 1)
  return logp.gather(2, targets).reshape([B, L - 1]) // (B, T)
}

/** A float tensor (B, T) from a row-major array, in the dtype of `like`. */
export function asTensor(values: Float64Array, shape: number[], like: Tensor): Tensor {
  const data = like.dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values)
  return fromTypedArray(data, shape, like.dtype)
}

/** Row-major float64 copy of a tensor's values. */
export function toF64(t: Tensor): Float64Array {
  return Float64Array.from(t.contiguous().data() as ArrayLike<number>)
}

/**
 * Masked-mean policy-gradient loss (sheet 12): L = −Σ_t G_t · logp_t · mask_t / Σ_t mask_t, G constant.
 * logp (B, T) with tape; returns and mask (B, T) row-major.
 * @example
 *   policyGradientLoss(logp, G, mask).backward()
 */
export function policyGradientLoss(logp: Tensor, returns: Float64Array, mask: Float64Array): Tensor {
  const n = sumOf(mask)
  if (n === 0) throw new TesseraError('policyGradientLoss: the mask has no response tokens')
  const w = new Float64Array(returns.length)
  for (let i = 0; i < w.length; i++) w[i] = -returns[i] * mask[i] / n
  return logp.mul(asTensor(w, logp.shape, logp)).sum()
}

/**
 * PPO clipped surrogate (Schulman et al. 2017, Eqn (7)), masked mean over tokens:
 *   ρ = exp(logp − logp_old), L = −Σ min(ρ A, clip(ρ, 1−ε, 1+ε) A) mask / Σ mask.
 * NOTE: on the clipped side (A > 0, ρ > 1+ε or A < 0, ρ < 1−ε) the min picks the constant branch and
 * the token contributes exactly zero gradient.
 */
export function ppoClipLoss(logp: Tensor, oldLogp: Float64Array, advantages: Float64Array, mask: Float64Array, eps = 0.2): Tensor {
  const n = sumOf(mask)
  if (n === 0) throw new TesseraError('ppoClipLoss: the mask has no response tokens')
  const ratio = logp.sub(asTensor(oldLogp, logp.shape, logp)).exp() // (B, T)
  const A = asTensor(advantages, logp.shape, logp)
  const surrogate = ratio.mul(A).minimum(ratio.clamp(1 - eps, 1 + eps).mul(A)) // (B, T)
  const w = new Float64Array(mask.length)
  for (let i = 0; i < w.length; i++) w[i] = -mask[i] / n
  return surrogate.mul(asTensor(w, logp.shape, logp)).sum()
}

/**
 * Clipped value loss (PPO2 / verl `compute_value_loss`): with V_c = V_old + clip(V − V_old, −c, c),
 *   L = ½ Σ max((V − R)², (V_c − R)²) mask / Σ mask. values (B, T) with tape.
 */
export function valueLoss(values: Tensor, oldValues: Float64Array, returns: Float64Array, mask: Float64Array, clip = 0.2): Tensor {
  const n = sumOf(mask)
  if (n === 0) throw new TesseraError('valueLoss: the mask has no response tokens')
  const old = asTensor(oldValues, values.shape, values)
  const R = asTensor(returns, values.shape, values)
  const clipped = old.add(values.sub(old).clamp(-clip, clip))
  const err = values.sub(R).square().maximum(clipped.sub(R).square()) // (B, T)
  const w = new Float64Array(mask.length)
  for (let i = 0; i < w.length; i++) w[i] = 0.5 * mask[i] / n
  return err.mul(asTensor(w, values.shape, values)).sum()
}

/**
 * Generalised advantage estimation, right to left per row (verl `compute_gae_advantage_return`):
 *   δ_t = r_t + γ V_{t+1} − V_t,  A_t = δ_t + γλ A_{t+1};
 * where mask_t = 0 the running V_{t+1} and A_{t+1} pass through unchanged. returns = A + V.
 * All arrays (B, T) row-major; advantages are returned un-whitened.
 */
export function gae(rewards: Float64Array, values: Float64Array, mask: Float64Array, B: number, T: number, gamma = 1, lambda = 0.95): { advantages: Float64Array; returns: Float64Array } {
  if (rewards.length !== B * T || values.length !== B * T || mask.length !== B * T) throw new TesseraError(`gae: rewards, values and mask must all have B*T = ${B * T} elements`)
  const adv = new Float64Array(B * T), ret = new Float64Array(B * T)
  for (let b = 0; b < B; b++) {
    let nextV = 0, lastA = 0
    for (let t = T - 1; t >= 0; t--) {
      const i = b * T + t, m = mask[i]
      const delta = rewards[i] + gamma * nextV - values[i]
      const a = delta + gamma * lambda * lastA
      nextV = values[i] * m + (1 - m) * nextV
      lastA = a * m + (1 - m) * lastA
      adv[i] = lastA
      ret[i] = lastA + values[i]
    }
  }
  return { advantages: adv, returns: ret }
}

/** (x − mean) / sqrt(var + 1e-8) over masked entries (unbiased variance); unmasked entries become 0. */
export function maskedWhiten(x: Float64Array, mask: Float64Array): Float64Array {
  const n = sumOf(mask)
  let mean = 0
  for (let i = 0; i < x.length; i++) mean += x[i] * mask[i]
  mean /= n
  let v = 0
  for (let i = 0; i < x.length; i++) v += mask[i] * (x[i] - mean) ** 2
  v = n > 1 ? v / (n - 1) : 0
  const s = 1 / Math.sqrt(v + 1e-8)
  return x.map((xi, i) => (mask[i] ? (xi - mean) * s : 0))
}

/** Per-token KL penalty k_t = −β (logp_t − ref_t) on masked tokens (sheet 12 and verl), (B, T). */
export function klPenalty(logp: Float64Array, refLogp: Float64Array, mask: Float64Array, beta: number): Float64Array {
  return logp.map((l, i) => (mask[i] ? -beta * (l - refLogp[i]) : 0))
}

/** Mean of (logp − ref) over masked tokens: the sample estimate of KL(π || π_ref) per token. */
export function meanKl(logp: Float64Array, refLogp: Float64Array, mask: Float64Array): number {
  let s = 0
  for (let i = 0; i < mask.length; i++) s += mask[i] * (logp[i] - refLogp[i])
  return s / sumOf(mask)
}

export function sumOf(x: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < x.length; i++) s += x[i]
  return s
}

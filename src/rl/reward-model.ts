/**
 * @file A learned reward model for RLHF (sheet 12's "reward-model slot"; Ouyang et al. 2022,
 * https://arxiv.org/abs/2203.02155 section 3.5, at toy scale): a character GRU encoder with a linear
 * head that scores a token sequence, trained as a binary classifier (logistic loss), and exposed
 * as a `RewardFn` so ReMax / REINFORCE / PPO can optimise against it.
 */
import { TesseraError } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import { tensor } from '../creation.ts'
import type { Tensor } from '../tensor.ts'
import type { Generator } from '../rng.ts'
import { Module } from '../nn/module.ts'
import { Embedding } from '../nn/embedding.ts'
import { GRU } from '../nn/rnn.ts'
import { Linear } from '../nn/linear.ts'
import { bceWithLogits } from '../nn/losses.ts'
import { Adam } from '../optim/adam.ts'
import type { RewardFn } from './core.ts'

export interface RewardModelOptions { embedDim?: number; hidden?: number; generator?: Generator }

/** Pads sequences on the right with `pad` into (B, T) int32 ids and their (B,) lengths. */
function padBatch(seqs: readonly (readonly number[])[], pad: number): { ids: Tensor; lengths: Tensor } {
  if (seqs.length === 0 || seqs.some((s) => s.length === 0)) throw new TesseraError('RewardModel: every sequence needs at least one token')
  const T = Math.max(...seqs.map((s) => s.length))
  const rows = seqs.map((s) => [...s, ...new Array<number>(T - s.length).fill(pad)])
  return { ids: tensor(rows, { dtype: 'int32' }), lengths: tensor(seqs.map((s) => s.length), { dtype: 'int32' }) }
}

/** score(x) = w . h_len(x) + b, where h_len is the GRU state after the sequence's last real token. */
export class RewardModel extends Module {
  embed: Embedding
  gru: GRU
  head: Linear

  constructor(readonly vocabSize: number, opts: RewardModelOptions = {}) {
    super()
    const E = opts.embedDim ?? 16, H = opts.hidden ?? 32, g = opts.generator
    this.embed = new Embedding(vocabSize, E, { generator: g })
    this.gru = new GRU(E, H, { batchFirst: true, generator: g })
    this.head = new Linear(H, 1, { generator: g })
  }

  /** Logits (B,) for ids (B, T) int32 with true lengths (B,) int32 (right padding is ignored). */
  forward(ids: Tensor, lengths: Tensor): Tensor {
    const out = this.gru.forward(this.embed.forward(ids)).output // (B, T, H)
    const last = lengths.sub(1).reshape([-1, 1, 1]).expand([ids.shape[0], 1, out.shape[2]]).contiguous() // (B, 1, H) indices
    return this.head.forward(out.gather(1, last).squeeze(1)).squeeze(1) // (B,)
  }

  /** Scores of token sequences (no tape). */
  score(seqs: readonly (readonly number[])[], pad = 0): number[] {
    return noGrad(() => {
      const { ids, lengths } = padBatch(seqs, pad)
      return Array.from(this.forward(ids, lengths).data(), Number)
    })
  }
}

export interface RewardTraining { epochs?: number; lr?: number; batchSize?: number; generator: Generator; pad?: number }

/** Trains `model` to predict `labels` (0/1) from `seqs` with Adam on the logistic loss; returns the mean loss per epoch. */
export function trainRewardModel(model: RewardModel, seqs: readonly (readonly number[])[], labels: readonly number[], opts: RewardTraining): number[] {
  if (seqs.length !== labels.length) throw new TesseraError(`trainRewardModel: ${seqs.length} sequences but ${labels.length} labels`)
  if (labels.some((l) => l !== 0 && l !== 1)) throw new TesseraError('trainRewardModel: labels must be 0 or 1')
  const opt = new Adam(model.parameters(), { lr: opts.lr ?? 3e-3 })
  const B = opts.batchSize ?? 64, g = opts.generator
  const order = seqs.map((_, i) => i)
  const losses: number[] = []
  model.train()
  for (let e = 0; e < (opts.epochs ?? 3); e++) {
    for (let i = order.length - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
    let total = 0
    for (let s = 0; s < order.length; s += B) {
      const idx = order.slice(s, s + B)
      const { ids, lengths } = padBatch(idx.map((i) => seqs[i]), opts.pad ?? 0)
      const loss = bceWithLogits(model.forward(ids, lengths), tensor(idx.map((i) => labels[i])))
      opt.zeroGrad()
      loss.backward()
      opt.step()
      total += loss.item() * idx.length
    }
    losses.push(total / order.length)
  }
  model.eval()
  return losses
}

/** A RewardFn: sigmoid(score(prompt ++ response)), the model's probability of the positive class. */
export function learnedReward(model: RewardModel, pad = 0): RewardFn {
  return (prompt, response) => {
    const seq = [...prompt, ...response]
    return 1 / (1 + Math.exp(-model.score([seq.length > 0 ? seq : [pad]], pad)[0]))
  }
}

/**
 * @file Sheet 33's small demo of the Dynamical Systems Framework (Sieber et al. 2024, "Understanding
 * the differences in Foundation Models: Attention, State Space Models, and Recurrent Neural
 * Networks", https://arxiv.org/abs/2405.15731): multi-query associative recall (MQAR, Arora et al.
 * 2023) solved by 2-layer models whose token mixer is one of the DSF layers at equal state size.
 *
 * Task: a sequence opens with P key–value pairs (k_1 v_1 … k_P v_P; keys distinct, from the lower half
 * of the vocabulary, values from the upper half), followed by filler tokens in which each key is
 * queried once (k v at a random even slot, teacher-forced). At each query key the model must predict
 * its value; accuracy is over query positions of a held-out set.
 * Model: embedding -> 2 × [x + W_O mixer(shift(LN x))] -> LN -> head. `shift` is a learned causal
 * kernel-2 depthwise conv (as the short conv of Mamba / Zoology), the same for every mixer. Mixers:
 * softmax attention (no finite state: the reference), and at state expansion n (state N = n·d per
 * layer): linear attention, normalized attention, S6, SSD; qLSTM and RG-LRU have n = 1.
 * Sizes are cut from the sheet's (vocab 64, 8 pairs, length 64) to vocab 32, 4 pairs, length 16,
 * d = 32, 150 AdamW steps of 16 sequences per arm, so the 14 arms fit a CPU budget of ~40 s.
 * The paper's claim to check (its Figure 1): linear attention approaches softmax attention as the
 * state expansion n grows; softmax attention is best.
 *
 *   npx tsx examples/dsf-recall.ts            # full run (~40 s of CPU; longer on a shared machine)
 *   npx tsx examples/dsf-recall.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, nn, noGrad, optim, tensor, zeros, type Tensor } from '../src/index.ts'
import { cat } from '../src/ops/indexing.ts'
import { SoftmaxAttention } from '../src/nn/arch/33-dsf.ts'
import { makeDSFMixer, type DSFMixerName } from '../src/nn/arch/33-dsf-layers.ts'

export interface DemoOptions {
  quick?: boolean; seed?: number; log?: (line: string) => void
  /** Overrides of the mode's settings (for experiments and tests). */
  override?: Partial<RecallSettings>
}
/** Everything one run uses. */
export interface RecallSettings { task: MQARConfig; d: number; layers: number; heads: number; batch: number; steps: number; lr: number; testSize: number; arms: [MixerName, number][]
  /** Δ init range of S6 / SSD (Mamba's default [1e-3, 1e-1]). */
  dt?: [number, number] }
export type MixerName = DSFMixerName | 'softmax'

export interface MQARConfig { vocab: number; pairs: number; L: number }

/** One MQAR batch: ids (B, L) int32, query positions (flattened b·L + t) and their target values. */
export interface MQARBatch { ids: Tensor; queryRows: Tensor; targets: Tensor }

/** Samples `B` MQAR sequences (seeded): see the file comment for the layout. */
export function mqarBatch(B: number, cfg: MQARConfig, g: Generator): MQARBatch {
  const { vocab, pairs: P, L } = cfg
  const half = vocab / 2, slots = (L - 2 * P) / 2
  if (!Number.isInteger(half) || !Number.isInteger(slots) || slots < P || half - 1 < P) throw new Error(`mqarBatch: bad config ${JSON.stringify(cfg)}`)
  const ids = new Int32Array(B * L) // (B, L); 0 is the filler token
  const rows: number[] = [], targets: number[] = []
  const perm = (n: number): number[] => { // Fisher–Yates with the seeded generator
    const p = Array.from({ length: n }, (_, i) => i)
    for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [p[i], p[j]] = [p[j], p[i]] }
    return p
  }
  for (let b = 0; b < B; b++) {
    const keys = perm(half - 1).slice(0, P).map((k) => k + 1) // distinct keys in [1, half)
    const vals = keys.map(() => g.nextInt(half, vocab)) // values in [half, vocab)
    for (let p = 0; p < P; p++) { ids[b * L + 2 * p] = keys[p]; ids[b * L + 2 * p + 1] = vals[p] }
    const where = perm(slots).slice(0, P), order = perm(P)
    for (let q = 0; q < P; q++) {
      const pos = 2 * P + 2 * where[q], p = order[q]
      ids[b * L + pos] = keys[p]; ids[b * L + pos + 1] = vals[p]
      rows.push(b * L + pos); targets.push(vals[p])
    }
  }
  return { ids: tensor(ids, { dtype: 'int32' }).reshape([B, L]), queryRows: tensor(rows, { dtype: 'int32' }), targets: tensor(targets, { dtype: 'int32' }) }
}

/** x + W_O mixer(shift(LN x)) with shift(z)_i = w0 ⊙ z_i + w1 ⊙ z_{i-1}. */
class Block extends nn.Module {
  norm: nn.LayerNorm
  w0: nn.Parameter // (d,)
  w1: nn.Parameter // (d,)
  mixer: nn.Module & { forward(x: Tensor): Tensor }
  out: nn.Linear
  constructor(d: number, mixer: nn.Module & { forward(x: Tensor): Tensor }, g: Generator) {
    super()
    this.norm = new nn.LayerNorm(d)
    this.w0 = new nn.Parameter(zeros([d]).add(1))
    this.w1 = new nn.Parameter(zeros([d]).add(1))
    this.mixer = mixer
    this.out = new nn.Linear(d, d, { generator: g })
  }
  forward(x: Tensor): Tensor {
    const z = this.norm.forward(x) // (B, L, d)
    const prev = cat([zeros([z.shape[0], 1, z.shape[2]]), z.narrow(1, 0, z.shape[1] - 1)], 1) // z_{i-1} (B, L, d)
    return x.add(this.out.forward(this.mixer.forward(z.mul(this.w0).add(prev.mul(this.w1)))))
  }
}

export class RecallModel extends nn.Module {
  emb: nn.Embedding
  blocks: nn.ModuleList
  norm: nn.LayerNorm
  head: nn.Linear
  constructor(name: MixerName, cfg: { vocab: number; d: number; n: number; layers: number; heads: number; dt?: [number, number] }, g: Generator) {
    super()
    const { vocab, d, n } = cfg
    this.emb = new nn.Embedding(vocab, d, { generator: g })
    const mixer = (): nn.Module & { forward(x: Tensor): Tensor } =>
      name === 'softmax' ? new SoftmaxAttention(d, { heads: cfg.heads, generator: g })
        : makeDSFMixer(name, d, n, { generator: g, dtMin: cfg.dt?.[0], dtMax: cfg.dt?.[1], ...(name === 'linear' || name === 'normalized' || name === 'ssd' ? { heads: cfg.heads } : {}) })
    this.blocks = new nn.ModuleList(Array.from({ length: cfg.layers }, () => new Block(d, mixer(), g)))
    this.norm = new nn.LayerNorm(d)
    this.head = new nn.Linear(d, vocab, { generator: g })
  }
  /** Logits at the flattened positions `rows` (b·L + t) only: ids (B, L) -> (Q, V). */
  forward(ids: Tensor, rows: Tensor): Tensor {
    let x = this.emb.forward(ids) // (B, L, d)
    for (const b of this.blocks) x = (b as Block).forward(x)
    const h = x.reshape([-1, x.shape[2]]).indexSelect(0, rows) // (Q, d)
    return this.head.forward(this.norm.forward(h)) // (Q, V)
  }
}

/** Logits at the query positions: (Q, V). */
const queryLogits = (m: RecallModel, batch: MQARBatch): Tensor => m.forward(batch.ids, batch.queryRows)

export interface ArmResult { mixer: MixerName; n: number; stateSize: number | null; accuracy: number; finalLoss: number; seconds: number }
export interface DSFRecallResult {
  config: MQARConfig & { d: number; layers: number; steps: number; batch: number }
  arms: ArmResult[]
  /** Wall time and process CPU time of the whole run (the machine may be shared: wall ≥ CPU / cores). */
  seconds: number
  cpuSeconds: number
}

/** Trains each (mixer, n) arm from the same seed and reports held-out query accuracy. */
export function runDSFRecall(opts: DemoOptions = {}): DSFRecallResult {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const t0 = performance.now(), cpu0 = process.cpuUsage()
  // Quick: softmax and linear attention at two state sizes. Full: linear attention over the whole
  // n sweep (the paper's Figure 1), the other expandable mixers at n = 2 and 8, qLSTM and RG-LRU (n = 1).
  const defaultArms: [MixerName, number][] = quick
    ? [['softmax', 0], ['linear', 1], ['linear', 8]]
    : [['softmax', 0], ...[1, 2, 4, 8, 16].map((n): [MixerName, number] => ['linear', n]),
      ...[2, 8].flatMap((n) => (['normalized', 's6', 'ssd'] as const).map((m): [MixerName, number] => [m, n])), ['qlstm', 1], ['rglru', 1]]
  const S: RecallSettings = {
    task: quick ? { vocab: 16, pairs: 2, L: 8 } : { vocab: 32, pairs: 4, L: 16 },
    d: quick ? 16 : 32, layers: 2, heads: 1, batch: 16, steps: quick ? 40 : 150, lr: 1e-2, testSize: quick ? 64 : 128,
    arms: defaultArms, ...opts.override,
  }
  const { task: cfg, d, layers, heads, batch, steps, arms } = S
  const test = mqarBatch(S.testSize, cfg, new Generator(seed + 999)) // held-out set
  const results: ArmResult[] = []
  for (const [mixer, n] of arms) {
    const t = performance.now()
    const g = new Generator(seed)
    const model = new RecallModel(mixer, { vocab: cfg.vocab, d, n, layers, heads, dt: S.dt }, g)
    const opt = new optim.AdamW(model.parameters(), { lr: S.lr, weightDecay: 0.01 })
    const data = new Generator(seed + 1)
    let finalLoss = NaN
    for (let s = 0; s < steps; s++) {
      const b = mqarBatch(batch, cfg, data)
      const loss = nn.losses.crossEntropy(queryLogits(model, b), b.targets)
      opt.zeroGrad(); loss.backward(); opt.step()
      finalLoss = loss.item()
    }
    const accuracy = noGrad(() => queryLogits(model, test).argmax(1).eq(test.targets).float().mean().item())
    const stateSize = mixer === 'softmax' ? null : (mixer === 'qlstm' || mixer === 'rglru' ? 1 : n) * d * layers
    const r = { mixer, n: mixer === 'qlstm' || mixer === 'rglru' ? 1 : n, stateSize, accuracy, finalLoss, seconds: (performance.now() - t) / 1000 }
    results.push(r)
    log(`${mixer.padEnd(10)} n=${String(r.n).padStart(2)}  acc ${(100 * accuracy).toFixed(1).padStart(5)}%  loss ${finalLoss.toFixed(3)}  ${r.seconds.toFixed(1)} s`)
  }
  return { config: { ...cfg, d, layers, steps, batch }, arms: results, seconds: (performance.now() - t0) / 1000, cpuSeconds: (process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1e6 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runDSFRecall({ quick: process.argv.includes('--quick'), seed: 0, log: console.log })
  const c = r.config
  console.log(`\nMQAR: vocab ${c.vocab}, ${c.pairs} pairs, length ${c.L}; ${c.layers}-layer models, d = ${c.d}, ${c.steps} steps of batch ${c.batch}`)
  const ns = [...new Set(r.arms.filter((a) => a.mixer !== 'softmax').map((a) => a.n))].sort((a, b) => a - b)
  console.log(`mixer        ${ns.map((n) => `n=${n}`.padStart(8)).join('')}   (held-out query accuracy; state per layer = n·d)`)
  for (const m of [...new Set(r.arms.map((a) => a.mixer))]) {
    const cells = ns.map((n) => { const a = r.arms.find((x) => x.mixer === m && (m === 'softmax' || x.n === n)); return a ? `${(100 * a.accuracy).toFixed(1)}%`.padStart(8) : ''.padStart(8) })
    console.log(`${m.padEnd(12)} ${m === 'softmax' ? `${(100 * r.arms[0].accuracy).toFixed(1)}% (unbounded state: KV cache)`.padStart(8) : cells.join('')}`)
  }
  console.log(`total ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU`)
}

/**
 * @file Sheet 12's small demo of ReMax (Li et al. 2023, "ReMax: A Simple, Effective, and Efficient
 * Reinforcement Learning Method for Aligning Large Language Models", https://arxiv.org/abs/2310.10505):
 * a char-GRU pretrained on the bundled names, then tuned from the same weights by ReMax, REINFORCE (no
 * baseline) and PPO (Schulman et al. 2017, https://arxiv.org/abs/1707.06347, with a GRU critic) toward
 * a fixed rule reward, reporting the reward curve, wall time per step and tensor bytes allocated per step.
 *
 * Reward (the sheet's rule): for the full name (prompt letters + response, stop '.' dropped)
 *   R = 1 if it ends in a vowel (a e i o u y) and has length 5..7, else 0;  minus 0.1 per character beyond 8.
 * Prompts: '.' (BOS) + the first letter of a real name; responses end at '.' or after 10 tokens.
 * The sheet's recipe is 300 steps, batch 32, β = 0.05, Adam 1e-4 on a bigger model; this CPU version
 * takes 200 steps (12 in quick mode) at Adam 1e-3 (1e-2 quick) so the three arms finish in about a minute.
 *
 *   npx tsx examples/remax-names.ts            # full run (about a minute on 2 cores)
 *   npx tsx examples/remax-names.ts --quick    # a few seconds, for smoke tests
 */
import { Generator, memory, noGrad, optim, tensor } from '../src/index.ts'
import { CharLM } from '../src/generate/index.ts'
import { generate } from '../src/generate/generate.ts'
import { ppo, reinforce, remax, type RewardFn } from '../src/rl/index.ts'
import { CharVocab } from '../src/data/vocab.ts'
import { loadDataset } from '../src/node/datasets.ts'

export interface RemaxDemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

export type ArmName = 'remax' | 'reinforce' | 'ppo'

export interface ArmResult {
  arm: ArmName
  /** Mean sampled reward of each training step (B rollouts). */
  curve: number[]
  /** `curve` smoothed by an exponential moving average (α = 0.1). */
  smoothed: number[]
  /** Mean reward of the tuned policy on the fixed evaluation prompts (sampled, temperature 1, top-p 0.9). */
  finalReward: number
  /** Mean of `curve` over all steps: how fast the reward rose (area under the curve / steps). */
  meanTrainReward: number
  /** Mean KL(π || π_ref) per response token over the last quarter of the steps. */
  kl: number
  /** Mean wall time of one unmetered update step, ms. */
  msPerStep: number
  /** Mean and max tensor-storage bytes allocated by one update step (memory.measure on the metered steps). */
  bytesPerStep: number
  maxBytesPerStep: number
  /** A few greedy names after tuning. */
  samples: string[]
}

export interface RemaxDemoResult {
  pretrainLoss: number[]
  /** Mean reward of the pretrained policy on the evaluation prompts. */
  pretrainedReward: number
  pretrainedSamples: string[]
  arms: ArmResult[]
  steps: number
  batch: number
  seconds: number
}

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u', 'y'])

/** The sheet-12 rule on a plain name string. */
export function nameReward(name: string): number {
  const n = name.length
  const hit = n >= 5 && n <= 7 && VOWELS.has(name[n - 1]) ? 1 : 0
  return hit - 0.1 * Math.max(0, n - 8)
}

/** The RewardFn over token ids: the name is the prompt's letters plus the response up to the stop '.'. */
export function makeReward(vocab: CharVocab): RewardFn {
  const stop = vocab.id('.')
  return (prompt, response) => {
    const body = [...prompt, ...response].filter((t) => t !== stop)
    return nameReward(vocab.decode(body))
  }
}

const mean = (x: readonly number[]): number => x.reduce((s, v) => s + v, 0) / x.length

/** Model sizes, budgets and learning rates of the two modes. */
function config(quick: boolean) {
  return quick
    ? { names: 600, hidden: 32, preSteps: 120, preBatch: 32, preLr: 0.01, steps: 12, batch: 16, lr: 0.01, epochs: 2, evalN: 128, meterEvery: 6 }
    : { names: 3000, hidden: 48, preSteps: 400, preBatch: 64, preLr: 0.01, steps: 200, batch: 32, lr: 0.001, epochs: 4, evalN: 512, meterEvery: 20 }
}

/**
 * Supervised pretraining with teacher forcing: each row is '.name.' right-padded with '.', the loss is the
 * mean next-token cross entropy over positions up to and including the closing '.'.
 */
function pretrain(lm: CharLM, rows: number[][], steps: number, batch: number, lr: number, g: Generator): number[] {
  const opt = new optim.Adam(lm.parameters(), { lr })
  const losses: number[] = []
  for (let s = 0; s < steps; s++) {
    const pick = Array.from({ length: batch }, () => rows[g.nextInt(0, rows.length)])
    const L = Math.max(...pick.map((r) => r.length))
    const ids = pick.map((r) => [...r, ...new Array(L - r.length).fill(0)]) // pad with '.' (id 0)
    const x = tensor(ids.map((r) => r.slice(0, L - 1)), { dtype: 'int32' }) // (B, L-1)
    const y = tensor(ids.map((r) => r.slice(1)), { dtype: 'int32' }).reshape([batch, L - 1, 1]) // (B, L-1, 1)
    const m = pick.map((r) => Array.from({ length: L - 1 }, (_, j): number => (j < r.length - 1 ? 1 : 0)))
    const nTok = m.flat().reduce((a, b) => a + b, 0)
    const w = tensor(m.map((r) => r.map((v) => -v / nTok))) // (B, L-1): −mask / Σ mask
    const logp = lm.forward(x).logSoftmax(2).gather(2, y).reshape([batch, L - 1]) // (B, L-1)
    const loss = logp.mul(w).sum()
    opt.zeroGrad()
    loss.backward()
    opt.step()
    losses.push(loss.item())
  }
  return losses
}

/** A fresh CharLM with the same shape whose parameters are copies of `src`'s. */
function copyOf(src: CharLM, make: () => CharLM): CharLM {
  const dst = make()
  const from = src.parameters()
  noGrad(() => dst.parameters().forEach((p, i) => p.copy_(from[i])))
  return dst
}

/**
 * Pretrains, then runs the three arms from the same weights with the same prompts and rollout seeds.
 * @example
 *   const r = runRemaxDemo({ quick: true, seed: 0 })
 *   r.arms.find((a) => a.arm === 'remax')!.finalReward
 */
export function runRemaxDemo({ quick = false, seed = 0, log = () => {} }: RemaxDemoOptions = {}): RemaxDemoResult {
  const t0 = performance.now()
  const c = config(quick)
  const g = new Generator(seed)
  const all = [...loadDataset('names-female'), ...loadDataset('names-male')].map((n) => n.toLowerCase())
  // Seeded subset: a partial Fisher-Yates shuffle.
  for (let i = 0; i < c.names; i++) { const j = g.nextInt(i, all.length); [all[i], all[j]] = [all[j], all[i]] }
  const names = all.slice(0, c.names).filter((n) => /^[a-z]+$/.test(n))
  const vocab = CharVocab.fromTexts(names, { specials: ['.'] })
  const STOP = vocab.id('.')
  const reward = makeReward(vocab)
  const make = (s: number, headSize?: number) => (): CharLM =>
    new CharLM({ vocabSize: vocab.size, embedDim: 16, hiddenSize: c.hidden, headSize, generator: new Generator(s) })

  const base = make(seed + 1)()
  const pretrainLoss = pretrain(base, names.map((n) => vocab.encode(`.${n}.`)), c.preSteps, c.preBatch, c.preLr, g)
  log(`pretrain: ${names.length} names, loss ${pretrainLoss[0].toFixed(3)} -> ${mean(pretrainLoss.slice(-10)).toFixed(3)}`)

  // Prompts are '.' + a real first letter; the evaluation set and every step's batch are fixed by the seed.
  const firstLetters = names.map((n) => vocab.id(n[0]))
  const promptsFrom = (pg: Generator, n: number): number[][] =>
    Array.from({ length: n }, () => [STOP, firstLetters[pg.nextInt(0, firstLetters.length)]])
  const evalPrompts = promptsFrom(new Generator(seed + 100), c.evalN)
  const stepPrompts = ((pg) => Array.from({ length: c.steps }, () => promptsFrom(pg, c.batch)))(new Generator(seed + 200))
  const gen = { maxNewTokens: 10, stopTokens: [STOP], padId: STOP }
  const evaluate = (lm: CharLM): number => {
    const out = generate(lm, evalPrompts, { ...gen, temperature: 1, topP: 0.9, generator: new Generator(seed + 300) })
    return mean(out.prompts.map((p, b) => reward(p, out.responses[b])))
  }
  const show = (lm: CharLM): string[] => {
    const ps = 'abcdejkmrs'.split('').filter((ch) => vocab.tokens.includes(ch)).map((ch) => [STOP, vocab.id(ch)])
    const out = generate(lm, ps, { ...gen, temperature: 0 })
    return out.prompts.map((p, b) => vocab.decode([...p, ...out.responses[b]].filter((t) => t !== STOP)))
  }
  const pretrainedReward = evaluate(base)
  const pretrainedSamples = show(base)
  log(`pretrained policy: eval reward ${pretrainedReward.toFixed(3)}; greedy ${pretrainedSamples.join(' ')}`)

  const common = { reward, ...gen, klCoef: 0.05, sampling: { temperature: 1, topP: 0.9 } }
  const arms: ArmResult[] = []
  for (const arm of ['remax', 'reinforce', 'ppo'] as const) {
    const policy = copyOf(base, make(seed + 1)), ref = copyOf(base, make(seed + 1))
    const optimizer = new optim.Adam(policy.parameters(), { lr: c.lr })
    // PPO's extra state: a value model of the same size (fresh head, GRU body from its own seed) and its optimizer.
    const critic = arm === 'ppo' ? make(seed + 2, 1)() : null
    const criticOptimizer = critic ? new optim.Adam(critic.parameters(), { lr: c.lr * 3 }) : null
    const rollouts = new Generator(seed + 400) // same rollout stream for every arm
    const step = (prompts: number[][]): { rewards: number[]; kl: number } => {
      const o = { ...common, policy, ref, prompts, generator: rollouts }
      if (arm === 'remax') return remax({ ...o, optimizer })
      if (arm === 'reinforce') return reinforce({ ...o, optimizer, baseline: 'none' })
      return ppo({ ...o, critic: critic!, policyOptimizer: optimizer, criticOptimizer: criticOptimizer!, epochs: c.epochs })
    }
    const curve: number[] = [], kls: number[] = [], times: number[] = [], bytes: number[] = []
    for (let s = 0; s < c.steps; s++) {
      let stats: { rewards: number[]; kl: number }
      if (s % c.meterEvery === 0) {
        // Metered steps count every storage array (about 1.5 us each), so they are left out of the timing.
        const m = memory.measure(() => step(stepPrompts[s]))
        stats = m.result
        bytes.push(m.allocatedBytes)
      } else {
        const ts = performance.now()
        stats = step(stepPrompts[s])
        times.push(performance.now() - ts)
      }
      curve.push(mean(stats.rewards))
      kls.push(stats.kl)
    }
    const smoothed: number[] = []
    curve.forEach((r, i) => smoothed.push(i === 0 ? r : 0.9 * smoothed[i - 1] + 0.1 * r))
    const res: ArmResult = {
      arm, curve, smoothed, meanTrainReward: mean(curve), finalReward: evaluate(policy), kl: mean(kls.slice(-Math.max(1, Math.floor(c.steps / 4)))),
      msPerStep: mean(times), bytesPerStep: mean(bytes), maxBytesPerStep: Math.max(...bytes), samples: show(policy),
    }
    arms.push(res)
    log(`${arm}: eval reward ${res.finalReward.toFixed(3)}, ${res.msPerStep.toFixed(0)} ms/step, ${(res.bytesPerStep / 1e6).toFixed(2)} MB/step; greedy ${res.samples.join(' ')}`)
  }
  return { pretrainLoss, pretrainedReward, pretrainedSamples, arms, steps: c.steps, batch: c.batch, seconds: (performance.now() - t0) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = runRemaxDemo({ quick, seed: 0, log: console.log })
  const pad = (s: string, n: number): string => s.padEnd(n)
  console.log(`\n${r.steps} steps x batch ${r.batch} per arm; eval = mean reward of sampled names on fixed prompts (pretrained: ${r.pretrainedReward.toFixed(3)})`)
  console.log(`${pad('arm', 11)}${pad('eval reward', 13)}${pad('train mean', 12)}${pad('last EMA', 10)}${pad('KL/token', 10)}${pad('ms/step', 9)}${pad('MB alloc/step (mean, max)', 26)}`)
  for (const a of r.arms) {
    console.log(`${pad(a.arm, 11)}${pad(a.finalReward.toFixed(3), 13)}${pad(a.meanTrainReward.toFixed(3), 12)}${pad(a.smoothed.at(-1)!.toFixed(3), 10)}${pad(a.kl.toFixed(3), 10)}${pad(a.msPerStep.toFixed(0), 9)}${(a.bytesPerStep / 1e6).toFixed(2)}, ${(a.maxBytesPerStep / 1e6).toFixed(2)}`)
  }
  const best = [...r.arms].sort((a, b) => b.finalReward - a.finalReward)[0]
  const fastest = [...r.arms].sort((a, b) => a.msPerStep - b.msPerStep)[0]
  const leanest = [...r.arms].sort((a, b) => a.bytesPerStep - b.bytesPerStep)[0]
  console.log(`highest eval reward: ${best.arm}; fastest step: ${fastest.arm}; least allocated per step: ${leanest.arm}; total ${r.seconds.toFixed(1)} s`)
}

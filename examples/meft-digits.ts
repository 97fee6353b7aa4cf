/**
 * @file Sheet 55's small demo of MEFT (Liao et al. 2023, "Make Pre-trained Model Reversible",
 * https://arxiv.org/abs/2306.00477): memory-efficient fine-tuning of a tiny pretrained transformer.
 *
 * Each 8x8 digit is 8 tokens (rows) of 8 pixels. A post-norm transformer (d = 32, 2 heads, FFN 64)
 * is pretrained on digits 0-4, then fine-tuned on 5-9 (relabelled 0-4, fresh head) three ways, all
 * from the same weights and with AdamW (β₂ = 0.98, grad-clip 1 as in the MEFT repo):
 *   full FT     every parameter, ordinary backprop
 *   adapters    frozen PLM + adapters parallel to each FFN (r = 8) + head, ordinary backprop
 *   MEFT1       the PLM made reversible (F = PLM layer + adapter, G = adapter, λ = 0.1, β = 1),
 *               adapters + head trained, backward recomputes activations from the stack's output
 * Reported: held-out accuracy on 5-9, and the activation memory of one training step at several
 * depths, measured with tessera's meter: the storage bytes still live after the forward (what the
 * graph holds for backward; GC-settled `memory.stats().liveBytes`), the same number by walking the
 * graph's saved tensors, and `memory.measure(step).allocatedBytes` (all storage a step allocates,
 * including recomputation). The claim: MEFT's activation memory stays ~constant as depth grows,
 * and its accuracy is close to full fine-tuning.
 *
 *   npx tsx examples/meft-digits.ts            # full run
 *   npx tsx examples/meft-digits.ts --quick    # a few seconds
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Generator, memory, nn, noGrad, optim, randn, tensor, type Tensor } from '../src/index.ts'
import { clipGradNorm } from '../src/optim/clip.ts'
import { Adapter, AdaptedEncoderLayer, meft, savedActivationBytes } from '../src/nn/arch/55-meft.ts'
import { makeTransferTask, type TransferTask } from './mezo-digits.ts'

export interface DemoOptions { quick?: boolean; seed?: number; log?: (line: string) => void }

const D = 32, TOKENS = 8

/** Row tokens + learned positions -> post-norm encoder layers -> mean over tokens -> head. */
export class RowTransformer extends nn.Module {
  embed: nn.Linear
  pos: nn.Parameter
  layers: nn.ModuleList
  head: nn.Linear
  /** How the layer stack is run: the plain layers, adapted layers, or a MEFT model. */
  body: nn.Module | null = null
  constructor(depth: number, g: Generator) {
    super()
    this.embed = new nn.Linear(8, D, { generator: g })
    this.pos = new nn.Parameter(randn([TOKENS, D], { generator: g }).mul(0.1))
    this.layers = new nn.ModuleList(Array.from({ length: depth }, () =>
      new nn.TransformerEncoderLayer(D, 2, { dimFeedforward: 2 * D, dropout: 0, batchFirst: true, generator: g })))
    this.head = new nn.Linear(D, 5, { generator: g })
  }
  plm(): nn.TransformerEncoderLayer[] { return [...this.layers.children()] as nn.TransformerEncoderLayer[] }
  forward(x: Tensor): Tensor { // x (B, 64) -> logits (B, 5)
    let h = this.embed.forward(x.reshape([-1, TOKENS, 8])).add(this.pos) // (B, 8, D)
    if (this.body) h = (this.body.forward as (t: Tensor) => Tensor)(h)
    else for (const l of this.plm()) h = l.forward(h)
    return this.head.forward(h.mean(1))
  }
}

/** Frozen PLM with an adapter parallel to each FFN (the non-reversible adapter baseline). */
class AdaptedStack extends nn.Module {
  layers: nn.ModuleList
  constructor(plm: nn.TransformerEncoderLayer[], r: number, g: Generator) {
    super()
    for (const l of plm) for (const p of l.parameters()) p.requiresGrad_(false)
    this.layers = new nn.ModuleList(plm.map((l) => new AdaptedEncoderLayer(l, new Adapter(D, r, { generator: g }))))
  }
  forward(h: Tensor): Tensor { for (const l of this.layers.children()) h = (l as AdaptedEncoderLayer).forward(h); return h }
}

type Arm = 'full FT' | 'adapters' | 'MEFT1'
const ARMS: Arm[] = ['full FT', 'adapters', 'MEFT1']

/** Sets the model up for an arm; returns the parameters to train. */
function prepare(model: RowTransformer, arm: Arm, g: Generator): nn.Parameter[] {
  if (arm === 'full FT') return model.parameters()
  for (const p of [...model.embed.parameters(), model.pos]) p.requiresGrad_(false)
  model.body = arm === 'adapters' ? new AdaptedStack(model.plm(), 8, g) : meft(model.plm(), { variant: 1, r: 8, generator: g })
  return model.parameters().filter((p) => p.requiresGrad)
}

const ce = (m: RowTransformer, x: Tensor, y: Tensor): Tensor => nn.losses.crossEntropy(m.forward(x), y)
const acc = (m: RowTransformer, x: Tensor, y: Tensor): number => noGrad(() => m.forward(x).argmax(1).eq(y).float().mean().item())

function train(m: RowTransformer, params: nn.Parameter[], x: Tensor, y: Tensor, epochs: number, lr: number, g: Generator): void {
  const opt = new optim.AdamW(params, { lr, betas: [0.9, 0.98], weightDecay: 0.1 })
  const n = x.shape[0], batch = 64
  for (let e = 0; e < epochs; e++) {
    const order = [...Array(n).keys()]
    for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
    for (let s = 0; s < n; s += batch) {
      const ids = tensor(order.slice(s, s + batch), { dtype: 'int32' })
      opt.zeroGrad()
      ce(m, x.indexSelect(0, ids), y.indexSelect(0, ids)).backward()
      clipGradNorm(params, 1)
      opt.step()
    }
  }
}

function getGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  try { setFlagsFromString('--expose-gc'); return runInNewContext('gc') as () => void } catch { return null }
}

export interface MemoryRow {
  depth: number; arm: Arm
  /** Storage live after the forward beyond what was live before it (GC-settled meter), bytes; null without a GC. */
  retainedBytes: number | null
  /** Distinct storage saved by the graph's nodes for backward (parameters excluded), bytes. */
  savedBytes: number
  /** All storage one training step (forward + backward) allocates, bytes (`memory.measure`). */
  stepAllocatedBytes: number
}

/** Activation memory of one step of each arm at one depth (weights random: memory does not depend on them). */
async function measureDepth(depth: number, x: Tensor, y: Tensor, seed: number): Promise<MemoryRow[]> {
  const gc = getGc()
  const settle = async (): Promise<void> => { if (gc) for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 0)) } }
  const rows: MemoryRow[] = []
  for (const arm of ARMS) {
    const g = new Generator(seed)
    const m = new RowTransformer(depth, g)
    const params = prepare(m, arm, g)
    ce(m, x, y).backward() // warm up lazily created constants
    m.zeroGrad()
    memory.enable()
    await settle()
    const base = memory.stats().liveBytes
    let loss: Tensor | null = ce(m, x, y)
    await settle()
    const retainedBytes = gc ? memory.stats().liveBytes - base : null
    const savedBytes = savedActivationBytes(loss, m.parameters())
    loss.backward()
    loss = null
    memory.enable(false)
    m.zeroGrad()
    const stepAllocatedBytes = memory.measure(() => ce(m, x, y).backward()).allocatedBytes
    void params
    rows.push({ depth, arm, retainedBytes, savedBytes, stepAllocatedBytes })
  }
  return rows
}

export interface MEFTDigitsResult {
  depth: number
  pretrainAccuracy: number
  /** Held-out accuracy on digits 5-9 per arm, and the zero-shot-with-fresh-head floor is not used. */
  accuracy: Record<Arm, number>
  trainedParams: Record<Arm, number>
  memory: MemoryRow[]
  seconds: number
}

export async function runMEFTDigits(opts: DemoOptions = {}): Promise<MEFTDigitsResult> {
  const quick = opts.quick ?? false, seed = opts.seed ?? 0, log = opts.log ?? (() => {})
  const t0 = performance.now()
  const task: TransferTask = makeTransferTask(seed, quick ? 30 : 1000)
  const depth = 2
  const g = new Generator(seed + 1)
  const plm = new RowTransformer(depth, g)
  const nSrc = quick ? 320 : task.sourceX.shape[0]
  train(plm, plm.parameters(), task.sourceX.slice(0, 0, nSrc), task.sourceY.slice(0, 0, nSrc), quick ? 3 : 12, 3e-3, g)
  const pretrainAccuracy = acc(plm, task.sourceTestX, task.sourceTestY)
  log(`pretrained depth-${depth} row transformer on digits 0-4: test accuracy ${(100 * pretrainAccuracy).toFixed(1)}%`)
  const weights = Object.fromEntries(Object.entries(plm.stateDict()).map(([k, v]) => [k, v.clone()]))
  const accuracy = {} as Record<Arm, number>, trainedParams = {} as Record<Arm, number>
  for (const arm of ARMS) {
    const ga = new Generator(seed + 2)
    const m = new RowTransformer(depth, new Generator(seed + 3))
    m.loadStateDict(Object.fromEntries(Object.entries(weights).filter(([k]) => !k.startsWith('head'))), { strict: false })
    const params = prepare(m, arm, ga)
    train(m, params, task.targetX, task.targetY, quick ? 4 : 30, arm === 'full FT' ? 1e-3 : 1e-2, ga)
    accuracy[arm] = acc(m, task.targetTestX, task.targetTestY)
    trainedParams[arm] = params.reduce((s, p) => s + p.numel(), 0)
    log(`  ${arm.padEnd(9)} digits 5-9 test accuracy ${(100 * accuracy[arm]).toFixed(1)}%  (${trainedParams[arm]} trained params)`)
  }
  const mb = quick ? 16 : 64
  const mx = task.targetX.slice(0, 0, mb).clone(), my = task.targetY.slice(0, 0, mb).clone() // own storage: only the batch is counted
  const mem: MemoryRow[] = []
  for (const d of quick ? [1, 3] : [2, 4, 8]) mem.push(...await measureDepth(d, mx, my, seed))
  log(`activation memory of one training step (batch ${mb}), KiB: retained after forward (meter) / saved by graph / allocated by step`)
  for (const r of mem) {
    const k = (b: number | null): string => (b === null ? 'n/a' : (b / 1024).toFixed(1))
    log(`  depth ${r.depth} ${r.arm.padEnd(9)} ${k(r.retainedBytes).padStart(8)} / ${k(r.savedBytes).padStart(8)} / ${k(r.stepAllocatedBytes).padStart(8)}`)
  }
  return { depth, pretrainAccuracy, accuracy, trainedParams, memory: mem, seconds: (performance.now() - t0) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = await runMEFTDigits({ quick, log: (l) => console.log(l) })
  console.log(`done in ${r.seconds.toFixed(1)} s`)
}

/**
 * @file Job functions for test/train/parallel.test.ts (imported by URL in worker threads): plain
 * values, a seeded training run returning a packed state dict, a delay, a throw, and the worker's
 * thread id (node:worker_threads; 0 on the main thread).
 */
import { threadId } from 'node:worker_threads'
import { Generator } from '../../src/rng.ts'
import { randn } from '../../src/creation.ts'
import { Linear } from '../../src/nn/linear.ts'
import { AdamW } from '../../src/optim/adamw.ts'
import { packState, type PackedState } from '../../src/train/parallel.ts'

export const JOBS_URL = import.meta.url

export function square(args: { x: number }): number { return args.x * args.x }

/** Resolves with `value` after `ms` milliseconds (jobs that finish out of order). */
export async function delayed(args: { ms: number; value: string }): Promise<string> {
  await new Promise((r) => setTimeout(r, args.ms))
  return args.value
}

export function fail(args: { why: string }): never { throw new Error(`boom: ${args.why}`) }

/** The thread this job ran on, after a short busy wait so that two workers both get a job. */
export function whereAmI(): number {
  const t = Date.now()
  while (Date.now() - t < 30) { /* keep this worker busy */ }
  return threadId
}

/** Fits a Linear(4, 3) to a random linear map with AdamW for `steps` steps; every draw from Generator(seed). */
export function trainLinear(args: { seed: number; steps: number }): { state: PackedState; loss: number; first: number } {
  const g = new Generator(args.seed)
  const model = new Linear(4, 3, { generator: g })
  const W = randn([4, 3], { generator: g })
  const opt = new AdamW(model.parameters(), { lr: 5e-2 })
  let loss = 0, first = 0
  for (let s = 0; s < args.steps; s++) {
    const x = randn([16, 4], { generator: g }) // (B, 4)
    opt.zeroGrad()
    const l = model.forward(x).sub(x.matmul(W)).square().mean()
    l.backward()
    opt.step()
    loss = l.item()
    if (s === 0) first = loss
  }
  return { state: packState(model.stateDict()), loss, first }
}

/**
 * @file train.runParallel (src/train/parallel.ts) with node:worker_threads (tessera/node nodeSpawn),
 * a counting in-memory spawner and the in-process fallback: job order, real worker threads, bitwise
 * equality of seeded training jobs across the three paths (and of a paper-52 incubation job with
 * incubating the stage directly), errors naming the job index, thread counts, and that every
 * worker is terminated.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { threadId } from 'node:worker_threads'
import { TesseraError } from '../../src/errors.ts'
import { Generator } from '../../src/rng.ts'
import { randn, tensor } from '../../src/creation.ts'
import { nodeSpawn } from '../../src/node/parallel.ts'
import { runParallel, serveJob, packState, unpackState, type JobRequest, type JobWorker, type PackedState, type SpawnWorker } from '../../src/train/parallel.ts'
import { INCUBATION_JOBS_URL, freshStage, incubateStageJob, type IncubationJobArgs, type IncubationJobResult, type StagedViTConfig } from '../../src/train/incubation-jobs.ts'
import { StagedViT, incubateModule } from '../../src/nn/arch/52-deep-model-assembling.ts'
import { JOBS_URL } from './parallel-jobs.ts'

const job = (name: string, args: unknown = {}) => ({ module: JOBS_URL, export: name, args })

function sameState(a: PackedState, b: PackedState): boolean {
  const ka = Object.keys(a).sort(), kb = Object.keys(b).sort()
  if (ka.join() !== kb.join()) return false
  return ka.every((k) => a[k].dtype === b[k].dtype && a[k].shape.join() === b[k].shape.join() && a[k].data.every((v, i) => Object.is(v, b[k].data[i])))
}

/** A spawner whose "workers" answer on the microtask queue in this thread; counts starts and terminations. */
function countingSpawn(): { spawn: SpawnWorker; started: number; terminated: number } {
  const c = { started: 0, terminated: 0, spawn: null as unknown as SpawnWorker }
  c.spawn = () => {
    c.started++
    let alive = true
    const w: JobWorker = {
      onmessage: null, onerror: null,
      postMessage: (m) => { void serveJob(structuredClone(m) as JobRequest).then((r) => { if (alive) w.onmessage?.({ data: structuredClone(r) }) }) },
      terminate: () => { alive = false; c.terminated++ },
    }
    return w
  }
  return c
}

test('results come back in job order although later jobs finish first', async () => {
  const ms = [120, 10, 60, 5, 30]
  const jobs = ms.map((m, i) => job('delayed', { ms: m, value: `job${i}` }))
  assert.equal(await runParallel<string>(jobs, { threads: 2, spawn: nodeSpawn }), ['job0', 'job1', 'job2', 'job3', 'job4'])
  const c = countingSpawn()
  assert.equal(await runParallel<string>(jobs, { threads: 3, spawn: c.spawn }), ['job0', 'job1', 'job2', 'job3', 'job4'])
  assert.is(c.started, 3)
  assert.is(c.terminated, 3)
})

test('nodeSpawn runs the jobs on two worker threads, never the main one', async () => {
  const ids = await runParallel<number>([0, 1, 2, 3].map(() => job('whereAmI')), { threads: 2, spawn: nodeSpawn })
  assert.ok(ids.every((id) => id !== threadId && id > 0), `${ids}`)
  assert.is(new Set(ids).size, 2, `${ids}`)
  assert.ok(nodeSpawn.concurrency !== undefined && nodeSpawn.concurrency >= 1)
})

test('a seeded training job gives bitwise the same state on workers, in-process and called directly', async () => {
  const jobs = [3, 4, 5].map((seed) => job('trainLinear', { seed, steps: 80 }))
  type R = { state: PackedState; loss: number; first: number }
  const onWorkers = await runParallel<R>(jobs, { threads: 2, spawn: nodeSpawn })
  const inProcess = await runParallel<R>(jobs, { spawn: null })
  const { trainLinear } = await import('./parallel-jobs.ts')
  onWorkers.forEach((r, i) => {
    const direct = trainLinear({ seed: 3 + i, steps: 80 })
    assert.ok(sameState(r.state, inProcess[i].state) && sameState(r.state, direct.state), `job ${i}`)
    assert.ok(Object.is(r.loss, direct.loss))
    assert.ok(r.loss < r.first / 2 && r.state['weight'].data instanceof Float32Array, `loss ${r.first} -> ${r.loss}`)
  })
  // Different seeds, different weights (the equality above is not vacuous).
  assert.not.ok(sameState(onWorkers[0].state, onWorkers[1].state))
})

test('a paper-52 incubation job on a worker equals incubating the stage directly in the meta model', async () => {
  const target: StagedViTConfig = { imgSize: 8, patchSize: 4, inChans: 1, numClasses: 10, embedDim: 16, numHeads: 2, dividedDepths: [2, 1, 2], dropPath: 0.1 }
  const meta = new StagedViT({ ...target, dropPath: 0, dividedDepths: [1, 1, 1], generator: new Generator(1) })
  const g = new Generator(2)
  const data = { x: randn([24, 1, 8, 8], { generator: g }), y: tensor(Array.from({ length: 24 }, (_, i) => i % 10), { dtype: 'int32' }) }
  const args = (stage: number, seed: number): IncubationJobArgs => ({
    target, metaDepths: [1, 1, 1], metaState: packState(meta.stateDict()), data: { x: { shape: [24, 1, 8, 8], dtype: 'float32', data: data.x.data() }, y: { shape: [24], dtype: 'int32', data: data.y.data() } },
    stage, seed, steps: 3, lr: 3e-3, batch: 8,
  })
  const jobs = [0, 1, 2].map((i) => ({ module: INCUBATION_JOBS_URL, export: 'incubateStageJob', args: args(i, 10 + i) }))
  const out = await runParallel<IncubationJobResult>(jobs, { threads: 2, spawn: nodeSpawn })
  for (let i = 0; i < 3; i++) {
    const gi = new Generator(10 + i)
    const { stage, stats } = incubateModule(meta, i, freshStage(target, i, gi), data, { steps: 3, lr: 3e-3, batch: 8, generator: gi })
    assert.ok(sameState(out[i].state, packState(stage.stateDict())), `stage ${i}`)
    assert.ok(Object.is(out[i].stats.loss, stats.loss) && out[i].stats.macsPerStep === stats.macsPerStep)
    // The incubation moved the stage away from its seeded initialisation.
    assert.not.ok(sameState(out[i].state, packState(freshStage(target, i, new Generator(10 + i)).stateDict())))
  }
  // The meta model is only read: its state is unchanged by incubating through it.
  assert.ok(sameState(jobs[0].args.metaState, packState(meta.stateDict())))
  assert.ok(sameState(incubateStageJob(args(1, 11)).state, out[1].state))
  // unpackState round-trips through loadStateDict (strict) into the last stage (norm and head included).
  const last = freshStage(target, 2, new Generator(0))
  last.loadStateDict(unpackState(out[2].state))
  assert.ok(last.classifier !== null && sameState(packState(last.stateDict()), out[2].state))
})

test('a throwing job rejects with a TesseraError naming its index, on every path, and workers are terminated', async () => {
  const jobs = [job('square', { x: 2 }), job('square', { x: 3 }), job('fail', { why: 'third' }), job('square', { x: 4 })]
  for (const spawn of [nodeSpawn, null]) {
    const err = await runParallel(jobs, { threads: 2, spawn }).then(() => null, (e: unknown) => e)
    assert.instance(err, TesseraError)
    assert.match((err as Error).message, /job 2 \(fail of parallel-jobs\.ts\) failed: Error: boom: third/)
  }
  const c = countingSpawn()
  await runParallel(jobs, { threads: 2, spawn: c.spawn }).catch(() => {})
  assert.is(c.terminated, c.started)
  for (const spawn of [nodeSpawn, null]) {
    const msg = await runParallel([job('square', { x: 1 }), job('square', { x: 2, f: () => 2 })], { threads: 1, spawn }).catch((e: Error) => e.message)
    assert.match(String(msg), /job 1 \(square of parallel-jobs\.ts\) failed: its args could not be sent/)
  }
  const missing = await runParallel([job('square', { x: 1 }), job('nope')], { spawn: null }).catch((e: Error) => e.message)
  assert.match(String(missing), /job 1 .*has no exported function "nope"/)
})

test('threads = 1, threads > jobs, and no jobs', async () => {
  const jobs = [5, 6, 7].map((x) => job('square', { x }))
  const c1 = countingSpawn()
  assert.equal(await runParallel<number>(jobs, { threads: 1, spawn: c1.spawn }), [25, 36, 49])
  assert.is(c1.started, 1)
  const c8 = countingSpawn()
  assert.equal(await runParallel<number>(jobs, { threads: 8, spawn: c8.spawn }), [25, 36, 49])
  assert.is(c8.started, 3) // capped at the job count
  assert.equal(await runParallel<number>(jobs, { threads: 8, spawn: nodeSpawn }), [25, 36, 49])
  assert.equal(await runParallel([], { spawn: c1.spawn }), [])
  const bad = await runParallel(jobs, { threads: 0 }).catch((e: Error) => e)
  assert.instance(bad, TesseraError)
  assert.match((bad as Error).message, /threads must be a positive integer, got 0/)
})

test('without a worker facility (Node has no global Worker) the jobs run in this thread with the same results', async () => {
  assert.is(typeof (globalThis as { Worker?: unknown }).Worker, 'undefined')
  const ids = await runParallel<number>([job('whereAmI'), job('whereAmI')])
  assert.equal(ids, [threadId, threadId])
  const r = await runParallel<{ state: PackedState }>([job('trainLinear', { seed: 9, steps: 10 })])
  const w = await runParallel<{ state: PackedState }>([job('trainLinear', { seed: 9, steps: 10 })], { spawn: nodeSpawn })
  assert.ok(sameState(r[0].state, w[0].state))
  // Args are cloned as they would be for a worker: the job cannot see (or change) the caller's object.
  const args = { seed: 9, steps: 10 }
  await runParallel([job('trainLinear', args)])
  assert.equal(args, { seed: 9, steps: 10 })
})

test.run()

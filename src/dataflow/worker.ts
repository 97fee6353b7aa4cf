/**
 * @file Resource pools, worker groups and dispatch modes of the HybridFlow hybrid programming model
 * (Sheng et al. 2024, https://arxiv.org/abs/2409.19256 §4; verl `single_controller/base/decorator.py`).
 * A single controller calls a method on a WorkerGroup; the method's registered dispatch mode decides
 * how the argument is split among the group's workers and how the results are collected:
 *   ONE_TO_ALL       the same argument to every worker; returns the list of results (rank order)
 *   ALL_TO_ALL       argument i (an array of length world size) to worker i; returns the list
 *   DP_COMPUTE_PROTO DataProto split into worldSize chunks in row order, chunk i to worker i, results
 *                    (DataProto) concatenated in rank order
 *   RANK_ZERO        the argument to worker 0 only; returns its result
 * Workers here are in-process objects run one after another in rank order (deterministic); the API is
 * shaped so a thread or cluster backend could run them concurrently.
 */
import { TesseraError } from '../errors.ts'
import { DataProto } from './proto.ts'

export const Dispatch = { ONE_TO_ALL: 'ONE_TO_ALL', ALL_TO_ALL: 'ALL_TO_ALL', DP_COMPUTE_PROTO: 'DP_COMPUTE_PROTO', RANK_ZERO: 'RANK_ZERO' } as const
export type DispatchMode = (typeof Dispatch)[keyof typeof Dispatch]

const registry = new WeakMap<object, Map<string, DispatchMode>>()

/** Registers `method` of worker class `cls` with a dispatch mode (the `@register(dispatch_mode=...)` of verl). */
export function register(cls: abstract new (...a: never[]) => object, method: string, dispatch: DispatchMode): void {
  let m = registry.get(cls)
  if (!m) { m = new Map(); registry.set(cls, m) }
  m.set(method, dispatch)
}

function lookup(worker: object, method: string): DispatchMode {
  for (let p = Object.getPrototypeOf(worker); p; p = Object.getPrototypeOf(p)) {
    const mode = registry.get(p.constructor)?.get(method)
    if (mode) return mode
  }
  throw new TesseraError(`WorkerGroup: ${worker.constructor.name}.${method} is not registered with a dispatch mode`)
}

/** A set of worker slots (ranks). Several groups may share (colocate on) one pool. */
export class ResourcePool {
  constructor(readonly worldSize: number) {
    if (!(Number.isInteger(worldSize) && worldSize > 0)) throw new TesseraError(`ResourcePool: worldSize must be a positive integer, got ${worldSize}`)
  }
}

/** Workers of one role, one per rank of the pool. */
export class WorkerGroup<W extends object> {
  readonly workers: W[]
  constructor(factory: (rank: number, worldSize: number) => W, readonly pool: ResourcePool) {
    this.workers = Array.from({ length: pool.worldSize }, (_, r) => factory(r, pool.worldSize))
  }

  get worldSize(): number { return this.pool.worldSize }

  /** Calls `method` on the workers according to its registered dispatch mode. */
  execute(method: string, arg?: unknown): unknown {
    const n = this.workers.length
    const call = (w: W, a: unknown): unknown => {
      const fn = (w as Record<string, unknown>)[method]
      if (typeof fn !== 'function') throw new TesseraError(`WorkerGroup: ${w.constructor.name} has no method '${method}'`)
      return (fn as (x: unknown) => unknown).call(w, a)
    }
    switch (lookup(this.workers[0], method)) {
      case 'ONE_TO_ALL': return this.workers.map((w) => call(w, arg))
      case 'ALL_TO_ALL': {
        if (!Array.isArray(arg) || arg.length !== n) throw new TesseraError(`WorkerGroup.${method}: ALL_TO_ALL needs an array of ${n} arguments`)
        return this.workers.map((w, i) => call(w, arg[i]))
      }
      case 'RANK_ZERO': return call(this.workers[0], arg)
      case 'DP_COMPUTE_PROTO': {
        if (!(arg instanceof DataProto)) throw new TesseraError(`WorkerGroup.${method}: DP_COMPUTE_PROTO needs a DataProto argument`)
        const parts = arg.chunk(n)
        const outs = this.workers.map((w, i) => call(w, parts[i]))
        if (!outs.every((o) => o instanceof DataProto)) throw new TesseraError(`WorkerGroup.${method}: DP_COMPUTE_PROTO workers must return DataProto`)
        return DataProto.concat(outs as DataProto[])
      }
    }
  }

  /** execute() for DataProto -> DataProto methods. */
  proto(method: string, arg: DataProto): DataProto {
    const out = this.execute(method, arg)
    if (!(out instanceof DataProto)) throw new TesseraError(`WorkerGroup.${method}: expected a DataProto result`)
    return out
  }
}

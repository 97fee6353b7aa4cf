/**
 * @file A meter for tensor storage: how many bytes of typed arrays currently back tessera tensors,
 * the peak since a reset, and a deterministic count of bytes allocated during a call. It exists to
 * check memory claims such as MeZO's "inference-level memory" (Malladi et al. 2023, sheet 46) with
 * tessera's own allocations rather than process-wide numbers.
 *
 * What IS measured: the `byteLength` of every typed array wrapped by a `Storage` (every tensor that
 * is not a view: creation functions, op outputs, `fromTypedArray`, optimizer state). A typed array
 * wrapped by several Storages is counted once.
 *
 * What is NOT measured: typed arrays that never become a Storage (kernel scratch, `Tensor.data()`
 * copies, an optimizer's flat working copies), JS objects (Tensor headers, graph nodes, closures),
 * and anything outside tessera.
 *
 * Frees are honest about garbage collection: live bytes go down only when the garbage collector
 * finalises a storage array and its FinalizationRegistry callback runs, which is never during
 * synchronous code and may be much later (or never before exit). So `liveBytes` is an upper bound
 * on what is really reachable; tests that expect it to return to a baseline must force a GC
 * (`globalThis.gc` under `node --expose-gc`) and yield to the event loop. `measure()` counts
 * allocations, which needs no GC and is deterministic.
 *
 * The meter is off by default: registering every array with a FinalizationRegistry costs about
 * 1.5 us per allocation, which made 10,000 tiny recorded ops 4.5x slower. `enable()` turns it on for
 * `stats()`; `measure(fn)` turns it on for the duration of `fn` by itself.
 */
import type { TypedArray } from './dtype.ts'

/** A snapshot of the meter. */
export interface MemoryStats {
  /** Bytes of storage allocated and not yet seen finalised by the GC (an upper bound on live bytes). */
  liveBytes: number
  /** Largest `liveBytes` since the last `resetPeak()` (or since start). */
  peakBytes: number
  /** Bytes allocated since start (never decreases). */
  allocatedBytes: number
  /** Storage arrays allocated since start. */
  allocations: number
  /** Storage arrays whose finalisation has been observed. */
  frees: number
}

/** @internal read by the Storage constructor: track only while on. */
export const meter = { on: false }

/** Starts (or stops) counting storage for `stats()`; counts cover only the periods it was on. */
export function enable(on = true): void {
  meter.on = on
}

export function isEnabled(): boolean {
  return meter.on
}

let live = 0
let peak = 0
let allocated = 0
let allocations = 0
let frees = 0
const seen = new WeakSet<TypedArray>()
// NOTE: FinalizationRegistry is ES2021 and present in every runtime tessera supports; guard anyway so
// a runtime without it still counts allocations (live bytes then never decrease).
const registry: FinalizationRegistry<number> | null = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry<number>((bytes) => { live -= bytes; frees++ })
  : null

/** @internal called by the `Storage` constructor for the array it wraps. */
export function trackStorage(data: TypedArray): void {
  if (seen.has(data)) return
  seen.add(data)
  const bytes = data.byteLength
  allocated += bytes
  allocations++
  live += bytes
  if (live > peak) peak = live
  registry?.register(data, bytes)
}

/**
 * The meter's counters now.
 *
 * @example
 *   const before = memory.stats().liveBytes
 *   const y = x.matmul(w); memory.stats().liveBytes - before // bytes of y (plus temporaries not yet collected)
 */
export function stats(): MemoryStats {
  return { liveBytes: live, peakBytes: peak, allocatedBytes: allocated, allocations, frees }
}

/** Sets the peak to the current live bytes (like `torch.cuda.reset_peak_memory_stats`). */
export function resetPeak(): void {
  peak = live
}

/** What `measure` reports about one call. */
export interface Measurement<T> {
  result: T
  /** Storage bytes allocated during the call (deterministic; includes arrays already garbage by the end). */
  allocatedBytes: number
  /** Storage arrays allocated during the call. */
  allocations: number
  /**
   * The meter's peak of `liveBytes` during the call. Finalisers cannot run inside a synchronous call,
   * so this equals live bytes before the call plus `allocatedBytes`: an upper bound on the true peak.
   */
  peakLiveBytes: number
}

/**
 * Runs `fn` synchronously and reports the storage it allocated. Needs no GC; the same call on the
 * same inputs gives the same numbers.
 *
 * @example
 *   const { allocatedBytes } = memory.measure(() => opt.step(closure))
 */
export function measure<T>(fn: () => T): Measurement<T> {
  const a0 = allocated, n0 = allocations, l0 = live
  const was = meter.on
  meter.on = true
  let result: T
  try { result = fn() } finally { meter.on = was }
  const allocatedBytes = allocated - a0
  return { result, allocatedBytes, allocations: allocations - n0, peakLiveBytes: l0 + allocatedBytes }
}

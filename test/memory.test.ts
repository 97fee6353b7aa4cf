/**
 * @file The storage meter (src/memory.ts): deterministic allocation counts, peak tracking, views and
 * shared arrays counted once, and frees observed only after the GC finalises storage.
 *
 * GC: tests that expect live bytes to fall back to a baseline need a real collection. Node exposes
 * `gc` with --expose-gc; the test runner does not pass that flag, so we enable it at run time with
 * `v8.setFlagsFromString('--expose-gc')` and fetch `gc` from a fresh VM context. If that fails the
 * GC test is skipped with a message, and only the deterministic allocation deltas are checked.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { zeros, randn, tensor, fromTypedArray, Generator } from '../src/index.ts'
import * as memory from '../src/memory.ts'

// stats() counts only while the meter is on; switched on when this file runs, not when it is imported
// (files are imported before any runs, and an earlier file may switch the meter off when done).
test.before(() => memory.enable())

function getGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc
  if (typeof g === 'function') return g
  try {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  } catch { return null }
}

test('memory.measure counts the bytes of new storage, deterministically; views allocate nothing', () => {
  const m = memory.measure(() => zeros([10, 10])) // float32
  assert.is(m.allocatedBytes, 400)
  assert.is(m.allocations, 1)
  const x = m.result
  const v = memory.measure(() => [x.T, x.slice(0, 2, 5), x.reshape([100]), x.detach()])
  assert.is(v.allocatedBytes, 0)
  const d = memory.measure(() => zeros([3], { dtype: 'float64' }))
  assert.is(d.allocatedBytes, 24)
  const arr = new Float32Array(8)
  const f = memory.measure(() => [fromTypedArray(arr, [8]), fromTypedArray(arr, [2, 4])])
  assert.is(f.allocatedBytes, 32, 'one array wrapped twice is counted once')
  const call = (): unknown => randn([4, 4], { generator: new Generator(1) }).add(1).sum()
  call() // NOTE: the first call may allocate extra once (lazily created constants), so warm up first
  const again = memory.measure(call)
  const twice = memory.measure(call)
  assert.is(again.allocatedBytes, twice.allocatedBytes, 'same call, same count')
  assert.ok(again.allocatedBytes >= 64 + 64 + 4)
})

test('memory.stats: live and peak rise with allocations; resetPeak sets the peak to live', () => {
  memory.resetPeak()
  const s0 = memory.stats()
  assert.is(s0.peakBytes, s0.liveBytes)
  const m = memory.measure(() => zeros([1000]))
  const s1 = memory.stats()
  assert.is(s1.allocatedBytes - s0.allocatedBytes, 4000)
  assert.ok(s1.liveBytes >= s0.liveBytes + 4000 - (s1.frees > s0.frees ? Infinity : 0))
  assert.ok(s1.peakBytes >= s0.liveBytes + 4000)
  assert.is(m.peakLiveBytes, s0.liveBytes + 4000)
  memory.resetPeak()
  assert.is(memory.stats().peakBytes, memory.stats().liveBytes)
})

test('memory: live bytes return to the baseline only after the GC finalises the storage', async () => {
  const gc = getGc()
  if (gc === null) {
    console.log('  (no gc available: skipping the return-to-baseline check; allocation deltas are tested above)')
    return
  }
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 0)) }
  }
  await settle()
  const base = memory.stats().liveBytes
  let big: unknown = (() => { const t = tensor(Array.from({ length: 1 << 16 }, (_, i) => i)); return t })()
  assert.ok(memory.stats().liveBytes >= base + 4 * (1 << 16), 'the new storage is live')
  big = null
  void big
  await settle()
  const after = memory.stats()
  assert.ok(after.liveBytes <= base, `live ${after.liveBytes} back to baseline ${base} after GC`)
  assert.ok(after.frees > 0)
})

test.after(() => memory.enable(false))
test.run()

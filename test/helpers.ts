/** @file Assertions shared by the tests: closeness with NaN/Inf awareness, shapes, thrown messages. */
import * as assert from 'uvu/assert'
import type { Tensor } from '../src/index.ts'

type Nested = number | boolean | Nested[]

function flatten(x: Nested): number[] {
  if (Array.isArray(x)) return x.flatMap(flatten)
  return [typeof x === 'boolean' ? (x ? 1 : 0) : x]
}

/** Asserts |actual - expected| <= atol + rtol |expected| elementwise; NaN matches NaN, Inf matches Inf. */
export function assertClose(actual: Tensor | number[] | Float32Array | Float64Array, expected: Nested | Tensor, opts: { atol?: number; rtol?: number; shape?: number[]; msg?: string } = {}): void {
  const atol = opts.atol ?? 1e-6
  const rtol = opts.rtol ?? 1e-5
  const a = Array.isArray(actual) ? actual : ArrayBuffer.isView(actual) ? Array.from(actual) : Array.from(actual.data(), Number)
  const e = typeof expected === 'object' && !Array.isArray(expected) ? Array.from(expected.data(), Number) : flatten(expected)
  if (opts.shape && !Array.isArray(actual) && !ArrayBuffer.isView(actual)) assert.equal(actual.shape, opts.shape, `${opts.msg ?? ''} shape`)
  assert.is(a.length, e.length, `${opts.msg ?? ''} element count ${a.length} vs ${e.length}`)
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = e[i]
    if (Number.isNaN(y)) { assert.ok(Number.isNaN(x), `${opts.msg ?? ''} [${i}]: expected NaN, got ${x}`); continue }
    if (!Number.isFinite(y)) { assert.is(x, y, `${opts.msg ?? ''} [${i}]: expected ${y}`); continue }
    assert.ok(Math.abs(x - y) <= atol + rtol * Math.abs(y), `${opts.msg ?? ''} [${i}]: got ${x}, expected ${y} (atol ${atol}, rtol ${rtol})`)
  }
}

/** Asserts fn throws a TesseraError whose message matches `pattern`. */
export function assertThrows(fn: () => unknown, pattern: RegExp): void {
  try {
    fn()
  } catch (err) {
    assert.is((err as Error).name, 'TesseraError', `expected a TesseraError, got ${(err as Error).name}: ${(err as Error).message}`)
    assert.match((err as Error).message, pattern)
    return
  }
  assert.unreachable(`expected an error matching ${pattern}`)
}

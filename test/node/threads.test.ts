import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, kernels, randn } from '../../src/index.ts'
import { numThreads, startThreads, stopThreads } from '../../src/node/index.ts'
import { getBackend, setBackend } from '../../src/backend.ts'
import { gemmWasm } from '../../src/wasm/gemm.ts'
import { wasmFeatures } from '../../src/wasm/runtime.ts'

test('the GEMM pool gives bitwise-identical results to one thread and restores the kernel on stop', async () => {
  const g = new Generator(5)
  const cases = [
    [randn([97, 130], { generator: g }), randn([130, 61], { generator: g })], // odd sizes
    [randn([300, 64], { generator: g }).T, randn([300, 80], { generator: g })], // transposed A
    [randn([3, 70, 70], { generator: g }), randn([70, 90], { generator: g })], // batched, broadcast B
  ]
  const single = cases.map(([a, b]) => Array.from(a.matmul(b).data()))
  const before = kernels.gemm
  await startThreads(2)
  try {
    assert.is(numThreads(), 2)
    assert.ok(kernels.gemm !== before)
    cases.forEach(([a, b], i) => assert.equal(Array.from(a.matmul(b).data()), single[i], `case ${i}`))
  } finally {
    await stopThreads()
  }
  assert.is(numThreads(), 1)
  assert.ok(kernels.gemm === before)
})

test('with the wasm backend every thread runs the SIMD GEMM: bitwise equal to one WASM thread', async () => {
  if (!wasmFeatures().compileFromBytes) return
  const g = new Generator(6)
  const cases = [
    [randn([131, 97], { generator: g }), randn([97, 75], { generator: g })], // odd sizes, rows not a multiple of 4
    [randn([200, 120], { generator: g }).T, randn([200, 130], { generator: g })], // transposed A
    [randn([2, 101, 96], { generator: g }), randn([96, 99], { generator: g })], // batched
  ]
  const before = getBackend()
  setBackend('wasm')
  try {
    const single = cases.map(([a, b]) => Array.from(a.matmul(b).data()))
    // The WASM kernel accumulates in float32: a result that differs from the typed-array one shows it ran.
    setBackend('js')
    const js = Array.from(cases[0][0].matmul(cases[0][1]).data())
    assert.ok(js.some((v, i) => v !== single[0][i]), 'the wasm and js kernels round differently')
    setBackend('wasm')
    await startThreads(2)
    try {
      assert.is(numThreads(), 2)
      cases.forEach(([a, b], i) => assert.equal(Array.from(a.matmul(b).data()), single[i], `case ${i}`))
      setBackend('js') // the pool stays installed and switches its threads to the typed-array kernel
      assert.is(numThreads(), 2)
      assert.equal(Array.from(cases[0][0].matmul(cases[0][1]).data()), js)
      setBackend('wasm')
    } finally {
      await stopThreads()
    }
    assert.ok(kernels.gemm === gemmWasm, 'stopping restores the backend\'s single-thread kernel')
  } finally {
    setBackend(before)
  }
})

test.run()

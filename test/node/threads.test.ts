import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, kernels, randn } from '../../src/index.ts'
import { numThreads, startThreads, stopThreads } from '../../src/node/index.ts'

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

test.run()

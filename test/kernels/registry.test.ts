import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, defaultKernels, kernels, packDeltaCSR, randn, type KernelTable } from '../../src/index.ts'

/** Wraps every registry entry with a call counter, runs fn, restores the kernels in use before. */
function counting(fn: () => void): Record<string, number> {
  const calls: Record<string, number> = {}
  const before = { ...kernels }
  const table = kernels as unknown as Record<string, (...a: unknown[]) => unknown>
  for (const name of Object.keys(defaultKernels) as (keyof KernelTable)[]) {
    const inner = defaultKernels[name] as unknown as (...a: unknown[]) => unknown
    table[name] = (...args: unknown[]) => { calls[name] = (calls[name] ?? 0) + 1; return inner(...args) }
  }
  try { fn() } finally { Object.assign(kernels, before) }
  return calls
}

test('ops reach their kernels only through the registry, so a replacement sees every call', () => {
  const gemmBefore = kernels.gemm
  const x = randn([2, 3, 6, 6]).requiresGrad_()
  const calls = counting(() => {
    const y = F.conv2d(x, randn([4, 3, 3, 3]), null, { padding: 1 })
    const d = F.conv2d(y, randn([4, 1, 3, 3]).requiresGrad_(), null, { groups: 4, padding: 1 })
    const p = F.maxPool2d(d, { kernelSize: 2 }).add(F.avgPool2d(d, { kernelSize: 2 }))
    const n = F.layerNorm(p, [3, 3])
    const a = F.scaledDotProductAttention(n, n, n)
    a.softmax(-1).sum().backward()
    const u = randn([1, 2, 200]).requiresGrad_()
    const s = F.selectiveScan(u, randn([1, 2, 200]).abs(), randn([2, 3]).abs().neg(), randn([1, 3, 200]), randn([1, 3, 200]))
    F.causalConv1dLong(s, randn([2, 200]), 'fft').add(F.causalConv1dLong(s, randn([2, 4]), 'direct')).sum().backward()
    const packed = packDeltaCSR(randn([4, 3]), { nr: 2, mask: randn([4, 3]).gt(0) })
    F.sparseConv1x1(randn([1, 3, 2, 2]).requiresGrad_(), { pattern: packed.pattern, values: packed.values.requiresGrad_() }).sum().backward()
  })
  for (const name of ['gemm', 'im2col', 'col2im', 'depthwiseConv2dForward', 'depthwiseConv2dBackwardInput', 'depthwiseConv2dBackwardWeight',
    'softmax', 'rowNormForward', 'rowNormBackward', 'attentionForward', 'attentionBackward', 'maxPool2dForward', 'avgPool2dForward', 'avgPool2dBackward',
    'selectiveScan', 'selectiveScanBackward', 'fftConv', 'causalConvDirect', 'spmm', 'spmmTransposed', 'sddmm']) {
    assert.ok((calls[name] ?? 0) > 0, `${name} was not dispatched through the registry (calls: ${JSON.stringify(calls)})`)
  }
  assert.ok(kernels.gemm === gemmBefore, 'restored')
})

test.run()

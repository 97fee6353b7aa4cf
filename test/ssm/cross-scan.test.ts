/**
 * @file Cross-scan/merge (VMamba SS2D) and EfficientVMamba's atrous scan: round trips for even and
 * odd H, W; hand-checked orders (4x4); scan lengths 4 H W vs 4 ceil(H/2) ceil(W/2); backward of a
 * scan equals the merge of the gradients; gradcheck of an atrous 2-D selective scan end to end.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, arange, gradcheck, randn } from '../../src/index.ts'
import { crossMerge, crossScan, efficientMerge, efficientScan } from '../../src/ssm/cross-scan.ts'
import { selectiveScan } from '../../src/ops/scan.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const test = suite('cross-scan')
const SIZES = [[4, 4], [5, 7], [1, 1], [6, 3], [2, 9]]

test('efficientMerge(efficientScan(x)) == x exactly; crossMerge(crossScan(x)) == 4 x', () => {
  for (const [H, W] of SIZES) {
    const x = randn([2, 3, H, W], { generator: new Generator(H * 10 + W) })
    const ys = efficientScan(x)
    assert.equal(ys.shape, [2, 4, 3, Math.ceil(H / 2) * Math.ceil(W / 2)])
    assert.equal(Array.from(efficientMerge(ys, H, W).data()), Array.from(x.data()), `atrous ${H}x${W}`)
    const cs = crossScan(x)
    assert.equal(cs.shape, [2, 4, 3, H * W])
    assertClose(crossMerge(cs, H, W), x.mul(4), { atol: 0, rtol: 0 })
  }
})

test('4x4 hand case: branch orders of the atrous scan and the cross-scan', () => {
  const x = arange(0, 16, 1, { dtype: 'float64' }).reshape([1, 1, 4, 4])
  const ys = efficientScan(x)
  assert.equal(Array.from(ys.select(1, 0).data()), [0, 2, 8, 10]) // x[0::2, 0::2] row-major
  assert.equal(Array.from(ys.select(1, 1).data()), [4, 12, 6, 14]) // x[1::2, 0::2] column-major
  assert.equal(Array.from(ys.select(1, 2).data()), [1, 3, 9, 11]) // x[0::2, 1::2] row-major
  assert.equal(Array.from(ys.select(1, 3).data()), [5, 13, 7, 15]) // x[1::2, 1::2] column-major
  const cs = crossScan(x)
  assert.equal(Array.from(cs.select(1, 1).data()).slice(0, 5), [0, 4, 8, 12, 1])
  assert.equal(Array.from(cs.select(1, 3).data()).slice(0, 3), [15, 11, 7])
})

test('scan steps: atrous 4 ceil(H/2) ceil(W/2) vs cross-scan 4 H W; each pixel in exactly one branch', () => {
  for (const [H, W] of SIZES) {
    assert.is(efficientScan(randn([1, 1, H, W])).numel(), 4 * Math.ceil(H / 2) * Math.ceil(W / 2))
    assert.is(crossScan(randn([1, 1, H, W])).numel(), 4 * H * W)
    const ones = efficientScan(randn([1, 1, H, W]).mul(0).add(1))
    assert.is(ones.sum().item(), H * W)
  }
})

test('backward of a scan is the merge of the gradients (adjoint layouts)', () => {
  for (const [H, W] of [[4, 4], [5, 3]]) {
    const x = randn([1, 2, H, W], { dtype: 'float64' }).requiresGrad_()
    const g = randn(efficientScan(x).shape, { dtype: 'float64', generator: new Generator(1) })
    efficientScan(x).backward(g)
    assertClose(x.grad!, efficientMerge(g, H, W), { atol: 0 })
    x.grad = null
    const gc = randn([1, 4, 2, H * W], { dtype: 'float64', generator: new Generator(2) })
    crossScan(x).backward(gc)
    assertClose(x.grad!, crossMerge(gc, H, W), { atol: 1e-15 })
  }
})

test('atrous 2-D selective scan (layouts around the same kernel) passes gradcheck', () => {
  const g = new Generator(3), o = { dtype: 'float64' as const, generator: g }
  const [B, C, H, W, N] = [1, 2, 3, 3, 2]
  const L = 4 // ceil(3/2)^2
  const x = randn([B, C, H, W], o).requiresGrad_()
  const delta = randn([B, 4 * C, L], o).mul(0.3).requiresGrad_()
  const A = randn([4 * C, N], o).abs().neg().requiresGrad_()
  const Bm = randn([B, 4, N, L], o).requiresGrad_(), Cm = randn([B, 4, N, L], o).requiresGrad_()
  gradcheck((x, delta, A, Bm, Cm) => {
    const u = efficientScan(x).reshape([B, 4 * C, L]) // branch k owns channels k C .. (k + 1) C - 1 = group k
    const y = selectiveScan(u, delta, A, Bm, Cm, { deltaSoftplus: true })
    return efficientMerge(y.reshape([B, 4, C, L]), H, W)
  }, [x, delta, A, Bm, Cm])
})

test('shape errors', () => {
  assertThrows(() => efficientScan(randn([2, 3, 4])), /x must be .B, C, H, W./)
  assertThrows(() => efficientMerge(randn([1, 4, 2, 5]), 4, 4), /ys must be .B, 4, C, 4./)
  assertThrows(() => crossMerge(randn([1, 4, 2, 5]), 2, 2), /ys must be/)
})

test.run()

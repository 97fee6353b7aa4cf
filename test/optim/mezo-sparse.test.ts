/** @file Sparse MeZO (sheet 24): kthAbsValue, mask fraction, frozen unmasked coordinates, restore, unbiasedness on the mask. */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { tensor, randn, Generator, type Tensor } from '../../src/index.ts'
import * as memory from '../../src/memory.ts'
import { SparseMeZO, kthAbsValue, magnitudeMaskBits } from '../../src/optim/sparse-mezo.ts'
import type { ZPass } from '../../src/optim/mezo.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const sortedAbs = (t: Tensor): number[] => Array.from(t.data(), (v) => Math.abs(v)).sort((a, b) => a - b)

test('kthAbsValue: equals the k-th of the sorted |x| (float32, float64, ties, zeros, -0, strided views)', () => {
  const gen = new Generator(1)
  const cases: Tensor[] = [
    randn([257], { generator: gen }),
    randn([13, 7], { generator: gen, dtype: 'float64' }),
    tensor([0, -0, 3, -3, 3, 1e-30, -1e30, 0.5, -0.5, 2]),
    tensor([[1, -2, 3], [-4, 5, -6]], { dtype: 'float64' }).T, // a non-contiguous view
    randn([6, 8], { generator: gen }).slice(1, 1, 7, 2),
  ]
  for (const t of cases) {
    const ref = sortedAbs(t)
    for (let k = 1; k <= ref.length; k++) assert.is(kthAbsValue(t, k), t.dtype === 'float32' ? Math.fround(ref[k - 1]) : ref[k - 1], `k=${k} shape ${t.shape}`)
  }
  assertThrows(() => kthAbsValue(tensor([1, 2]), 3), /k must be an integer in \[1, 2\]/)
  assertThrows(() => kthAbsValue(tensor([1, 2], { dtype: 'int32' }), 1), /float32 or float64/)
})

test('SparseMeZO: the mask of each layer holds exactly round((1 − s)·n) elements, the smallest |θ|', () => {
  const gen = new Generator(2)
  for (const [n, s] of [[100, 0.75], [37, 0.5], [10, 0.9], [8, 0], [8, 1]] as const) {
    const t = randn([n], { generator: gen })
    const opt = new SparseMeZO([t], { lr: 0, sparsity: s })
    const keep = opt.keepCount(n)
    assert.is(keep, Math.round((1 - s) * n))
    const bits = magnitudeMaskBits(t, keep)
    const chosen = Array.from(t.storage).map((v, e) => (bits === null || (bits[e >> 5] >>> (e & 31)) & 1 ? Math.abs(v) : null)).filter((v) => v !== null) as number[]
    assert.is(chosen.length, keep, `n=${n} s=${s}`)
    if (keep > 0 && keep < n) assert.ok(Math.max(...chosen) <= sortedAbs(t)[keep - 1], 'the moving set is the smallest |θ|')
  }
  const ties = tensor([1, 1, 1, 1]) // all tied: still exactly keep elements, in element order
  assert.equal(Array.from(magnitudeMaskBits(ties, 2)!), [0b0011])
  assert.equal(Array.from(magnitudeMaskBits(tensor([5, -1, 3, 0.5]), 2, 'largeMagnitude')!), [0b0101])
})

test('SparseMeZO: two evaluations per step, the same ẑ in all passes, unmasked coordinates never change', () => {
  const w = randn([8, 8], { generator: new Generator(3) }).requiresGrad_()
  const before = Array.from(w.storage)
  const h = kthAbsValue(w, 16) // s = 0.75 of 64: the 16 smallest move
  const seen: Record<ZPass, string[]> = { plus: [], minus: [], restore: [], update: [] }
  const opt = new SparseMeZO([w], { lr: 0.1, sparsity: 0.75, seed: 4, onZ: (pass, _p, e, z) => seen[pass].push(`${e}:${z}`) })
  let calls = 0
  const m = memory.measure(() => opt.step(() => { calls++; let s = 0; for (const v of w.storage) s += (v - 1) ** 2; return s }))
  assert.is(calls, 2)
  assert.is(seen.plus.length, 16)
  assert.equal(seen.minus, seen.plus); assert.equal(seen.restore, seen.plus); assert.equal(seen.update, seen.plus)
  assert.is(m.allocatedBytes, 0, 'no tensor storage allocated by the optimizer')
  assert.is(opt.lastMaskBytes, 8, 'the only per-step buffer: a 64-bit mask')
  assert.is(w.grad, null)
  let moved = 0
  Array.from(w.storage).forEach((v, i) => {
    if (Math.abs(before[i]) > h) assert.is(v, before[i], `unmasked [${i}] changed`)
    else if (v !== before[i]) moved++
  })
  assert.is(moved, 16)
})

test('SparseMeZO: with η = 0 the parameters come back to 1e-7 (float32) and exactly where unmasked', () => {
  const w = randn([200], { generator: new Generator(5) })
  const before = Array.from(w.storage)
  const opt = new SparseMeZO([w], { lr: 0, eps: 1e-3, seed: 2 })
  for (let i = 0; i < 5; i++) opt.step(() => { let s = 0; for (const v of w.storage) s += v * v; return s })
  Array.from(w.storage).forEach((v, i) => assert.ok(Math.abs(v - before[i]) <= 1e-7 * Math.max(1, Math.abs(before[i])), `[${i}]`))
})

test('SparseMeZO: on L = ½‖θ − θ*‖² the mean of g·ẑ approaches m ⊙ ∇L', () => {
  const theta = [0.1, -3, 0.2, 2, -0.3, 4], target = [1, 1, -1, 1, 1, -1]
  const w = tensor(theta, { dtype: 'float64' })
  const N = 20000, sum = new Array(6).fill(0)
  let zs: [number, number][] = []
  const opt = new SparseMeZO([w], { lr: 0, sparsity: 0.5, seed: 8, onZ: (pass, _p, e, z) => { if (pass === 'update') zs.push([e, z]) } })
  const L = (): number => Array.from(w.storage).reduce((s, v, i) => s + (v - target[i]) ** 2 / 2, 0)
  for (let n = 0; n < N; n++) {
    zs = []
    const { projectedGrad: g } = opt.step(L)
    for (const [e, z] of zs) sum[e] += g * z
  }
  const expected = theta.map((v, i) => (Math.abs(v) <= 0.3 ? v - target[i] : 0)) // the 3 smallest |θ| move
  assertClose(sum.map((s) => s / N), expected, { atol: 0.1, rtol: 0 })
})

test('SparseMeZO: the mask decides what can be fitted: a change among small weights is reached by the small-magnitude mask, not by the large-magnitude ablation', () => {
  const gen = new Generator(6)
  const init = randn([40], { generator: gen })
  const target = Array.from(init.storage, (v) => (Math.abs(v) < 0.5 ? v + 0.5 : v)) // changes only among small weights
  const run = (rule: 'smallMagnitude' | 'largeMagnitude'): number => {
    const w = init.clone()
    const L = (): number => Array.from(w.storage).reduce((s, v, i) => s + (v - target[i]) ** 2, 0)
    const opt = new SparseMeZO([w], { lr: 0.02, eps: 1e-3, sparsity: 0.6, maskRule: rule, seed: 1 })
    for (let i = 0; i < 600; i++) opt.step(L)
    return L()
  }
  const small = run('smallMagnitude'), large = run('largeMagnitude')
  assert.ok(small < large, `small ${small} vs large ${large}`)
})

test('SparseMeZO: clear errors', () => {
  const w = tensor([1, 2])
  assertThrows(() => new SparseMeZO([w], { lr: 0.1, sparsity: 1.5 }), /sparsity must be in \[0, 1\]/)
  assertThrows(() => new SparseMeZO([w], { lr: 0.1, maskRule: 'random' as 'smallMagnitude' }), /maskRule must be/)
})

test.run()

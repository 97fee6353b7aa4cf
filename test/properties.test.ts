/**
 * @file Seeded property tests (fast-check, fixed seed): layout independence of the ops, algebraic
 * identities, the tuned GEMM against its oracle, kernels writing every output element (outputs
 * prefilled with NaN), and broadcasting against explicit expansion.
 *
 * "Same" below means bitwise: every op here visits elements in the same logical order whatever
 * the layout, so a strided view and its contiguous copy must give identical results.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import fc from 'fast-check'
import { Generator, Tensor, cat, rand, randn, randint, where, type DType, type TypedArray } from '../src/index.ts'
import { gemm, gemmRef, type GemmOperands } from '../src/kernels/gemm.ts'
import { BINARY, UNARY, binaryInto, copyStrided, unaryInto, whereInto, type BinaryName, type UnaryName } from '../src/kernels/elementwise.ts'
import { REDUCERS, cumsumInto, prodOthersInto, reduceInto, type ReduceName } from '../src/kernels/reduce.ts'
import { softmaxInto } from '../src/kernels/softmax.ts'
import { gatherInto, indexSelectInto } from '../src/kernels/indexing.ts'
import { broadcastStrides, contiguousStrides, numel } from '../src/shape.ts'
import { assertClose } from './helpers.ts'

const RUNS = { seed: 42, numRuns: 50, includeErrorInReport: true }

// ---------------------------------------------------------------- helpers

const FLOATS: DType[] = ['float32', 'float64']
const normal = (shape: number[], seed: number, dtype: DType = 'float64'): Tensor => randn(shape, { dtype, generator: new Generator(seed) })
/** Uniform on [0.5, 2): finite, positive and nonzero, so every kernel's output is finite. */
const tame = (shape: number[], seed: number, dtype: DType = 'float64'): Tensor => rand(shape, { dtype, generator: new Generator(seed) }).mul(1.5).add(0.5)

/** Bitwise equality of shape, dtype and elements (NaN equals NaN, 0 and -0 differ). */
function assertSame(actual: Tensor, expected: Tensor, msg: string): void {
  assert.equal(actual.shape, expected.shape, `${msg}: shape`)
  assert.is(actual.dtype, expected.dtype, `${msg}: dtype`)
  const a = actual.data(), e = expected.data()
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], e[i])) assert.unreachable(`${msg}: element ${i} is ${a[i]}, expected ${e[i]}`)
  }
}

function shuffled(n: number, seed: number): number[] {
  const g = new Generator(seed)
  const out = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [out[i], out[j]] = [out[j], out[i]] }
  return out
}

const shapeArb = (minRank: number, maxRank: number, maxDim = 4, minDim = 1): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank })
const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 })

/** One layout step applied to a tensor; a, b, c are reduced modulo the sizes they index. */
interface Step { kind: 'permute' | 'transpose' | 'slice' | 'expand'; a: number; b: number; c: number }
const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom('permute', 'transpose', 'slice', 'expand'),
  a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(1000),
})

/** A strided view of x: permutations, transposes, slices with a step, and expanded new dims (stride 0). */
function strided(x: Tensor, steps: readonly Step[]): Tensor {
  let v = x
  for (const s of steps) {
    const r = v.ndim
    if (s.kind === 'expand') {
      const d = s.a % (r + 1)
      const u = v.unsqueeze(d)
      const shape = u.shape.slice()
      shape[d] = 2 + (s.b % 2)
      v = u.expand(shape)
    } else if (r > 0 && s.kind === 'permute') {
      v = v.permute(shuffled(r, s.a))
    } else if (r > 0 && s.kind === 'transpose') {
      v = v.transpose(s.a % r, s.b % r)
    } else if (r > 0 && s.kind === 'slice') {
      const d = s.a % r
      v = v.slice(d, s.b % Math.ceil(v.shape[d] / 2), undefined, 1 + (s.c % 3))
    }
  }
  return v
}

const viewArb = fc.record({
  shape: shapeArb(1, 3, 5, 2),
  steps: fc.array(stepArb, { minLength: 2, maxLength: 4 }),
  seed: seedArb,
  dtype: fc.constantFrom(...FLOATS),
})

// ---------------------------------------------------------------- (a) strided view == contiguous copy

type TensorFn = [string, (t: Tensor) => Tensor]

/** Ops to compare on a view and on its contiguous copy; per-dim ops for every dim. */
function opsFor(rank: number): TensorFn[] {
  const ops: TensorFn[] = [
    ['exp', (t) => t.exp()], ['tanh', (t) => t.tanh()], ['abs', (t) => t.abs()], ['neg', (t) => t.neg()],
    ['sqrt(abs)', (t) => t.abs().sqrt()], ['relu', (t) => t.relu()], ['gelu', (t) => t.gelu()],
    ['sigmoid', (t) => t.sigmoid()], ['clamp', (t) => t.clamp(-0.5, 0.5)], ['pow 3', (t) => t.pow(3)],
    ['add self', (t) => t.add(t)], ['mul self', (t) => t.mul(t)], ['maximum', (t) => t.maximum(t.sin())],
    ['div', (t) => t.div(t.abs().add(1))], ['where', (t) => where(t.gt(0), t, t.mul(2))],
    ['sum', (t) => t.sum()], ['mean', (t) => t.mean()], ['amax', (t) => t.amax()], ['var', (t) => t.var()],
    ['logsumexp', (t) => t.logsumexp()], ['prod', (t) => t.prod()],
    ['matmul', (t) => (rank >= 2 ? t.matmul(t.mT) : t.matmul(t))],
    ['matmul mT first', (t) => (rank >= 2 ? t.mT.matmul(t) : t.unsqueeze(1).matmul(t.unsqueeze(0)))],
    ['clone', (t) => t.clone()], ['flip', (t) => t.flip(0)], ['reshape -1', (t) => t.reshape([-1])],
  ]
  if (rank >= 2) ops.push(['sum first+last keepdim', (t) => t.sum([0, rank - 1], true)], ['amin first+last', (t) => t.amin([0, rank - 1])])
  for (let d = 0; d < rank; d++) {
    ops.push(
      [`sum ${d}`, (t) => t.sum(d)], [`mean ${d} keepdim`, (t) => t.mean(d, true)], [`amax ${d}`, (t) => t.amax(d)],
      [`amin ${d}`, (t) => t.amin(d)], [`logsumexp ${d}`, (t) => t.logsumexp(d)], [`var ${d}`, (t) => t.var(d, { correction: 0 })],
      [`prod ${d}`, (t) => t.prod(d)], [`softmax ${d}`, (t) => t.softmax(d)], [`logSoftmax ${d}`, (t) => t.logSoftmax(d)],
      [`cumsum ${d}`, (t) => t.cumsum(d)], [`add sum ${d} keepdim (broadcast)`, (t) => t.add(t.sum(d, true))],
      [`cat ${d}`, (t) => cat([t, t.exp()], d)],
    )
  }
  return ops
}

test('(a) a strided view gives the same results as its contiguous() copy', () => {
  let nonContiguous = 0
  fc.assert(fc.property(viewArb, ({ shape, steps, seed, dtype }) => {
    const v = strided(normal(shape, seed, dtype), steps)
    // contiguous() returns v itself when v is already contiguous (maybe at an offset): then compare with a fresh copy
    const c = v.isContiguous() ? v.clone() : v.contiguous()
    assert.ok(c.isContiguous() && c.offset === 0 && c.storage !== v.storage)
    if (!v.isContiguous()) nonContiguous++
    for (const [name, f] of opsFor(v.ndim)) assertSame(f(v), f(c), `${name} on ${JSON.stringify(v.shape)} strides ${JSON.stringify(v.strides)}`)
  }), RUNS)
  assert.ok(nonContiguous >= 0.6 * RUNS.numRuns, `only ${nonContiguous} of the generated views were non-contiguous`)
})

test('(a) gradients through a strided view equal those through its contiguous() copy', () => {
  fc.assert(fc.property(viewArb, ({ shape, steps, seed }) => {
    const grads = [false, true].map((copy) => {
      const x = normal(shape, seed).requiresGrad_()
      const v = strided(x, steps)
      const t = copy ? v.contiguous() : v
      t.tanh().mul(t.softmax(-1)).sum().add(t.matmul(t.ndim >= 2 ? t.mT : t).sum()).backward()
      return x.grad!
    })
    assertClose(grads[0], grads[1], { atol: 1e-12, rtol: 1e-12, msg: `grad of view ${JSON.stringify(steps)}` })
  }), RUNS)
})

// ---------------------------------------------------------------- (b) (AB)^T == B^T A^T

test('(b) (A B)^T equals B^T A^T, with broadcast batch dims', () => {
  fc.assert(fc.property(
    fc.record({ m: fc.integer({ min: 1, max: 7 }), k: fc.integer({ min: 0, max: 9 }), n: fc.integer({ min: 1, max: 7 }),
      batchA: shapeArb(0, 2, 3), batchB: shapeArb(0, 2, 3), seed: seedArb, dtype: fc.constantFrom(...FLOATS) }),
    ({ m, k, n, batchA, batchB, seed, dtype }) => {
      // make the batch shapes broadcastable: where they disagree, one side becomes 1
      const bb = batchB.map((d, i) => { const j = batchA.length - batchB.length + i; return j >= 0 && batchA[j] !== d && batchA[j] !== 1 ? 1 : d })
      const a = normal([...batchA, m, k], seed, dtype)
      const b = normal([...bb, k, n], seed + 1, dtype)
      assertSame(a.matmul(b).mT, b.mT.matmul(a.mT), `A ${JSON.stringify(a.shape)} B ${JSON.stringify(b.shape)}`)
    },
  ), RUNS)
})

// ---------------------------------------------------------------- (c) reshape round trips

/** A shape with the same numel: the dims' prime factors shuffled, regrouped, with 1s sprinkled in. */
function regroup(shape: number[], seed: number): number[] {
  const g = new Generator(seed)
  const factors: number[] = []
  for (let d of shape) { for (let p = 2; d > 1; p++) while (d % p === 0) { factors.push(p); d /= p } }
  const order = shuffled(factors.length, seed)
  const out: number[] = []
  for (const i of order) {
    if (out.length > 0 && g.nextInt(0, 2) === 0) out[out.length - 1] *= factors[i]
    else out.push(factors[i])
    if (g.nextInt(0, 4) === 0) out.push(1)
  }
  return out
}

test('(c) reshape round trips, and shares storage when the input is contiguous', () => {
  fc.assert(fc.property(fc.record({ shape: shapeArb(0, 4, 6), seed: seedArb, transposed: fc.boolean() }), ({ shape, seed, transposed }) => {
    const base = normal(shape, seed)
    const x = transposed && base.ndim >= 2 ? base.mT : base
    const target = regroup(x.shape, seed)
    const y = x.reshape(target)
    assert.equal(y.shape, target)
    const back = y.reshape(x.shape)
    assertSame(back, x.contiguous(), `${JSON.stringify(x.shape)} -> ${JSON.stringify(target)} -> back`)
    assertSame(y, x.contiguous().reshape(target), 'reshape of a view equals reshape of its copy')
    if (target.length > 0) assertSame(x.reshape([...target.slice(0, -1), -1]), y, '-1 inferred')
    if (x.isContiguous()) {
      assert.ok(y.storage === x.storage && back.storage === x.storage, 'a contiguous reshape must be a view')
    }
  }), RUNS)
})

// ---------------------------------------------------------------- (d) linearity of sum

test('(d) sum(a x + b y) == a sum(x) + b sum(y), over all dims and per dim; sum(x) is the plain sum of its elements', () => {
  const coef = fc.double({ min: -10, max: 10, noNaN: true })
  fc.assert(fc.property(fc.record({ shape: shapeArb(1, 4, 6), seed: seedArb, a: coef, b: coef }), ({ shape, seed, a, b }) => {
    const x = normal(shape, seed), y = normal(shape, seed + 7)
    // rounding bound: each of the ~numel additions errs by at most ulp of the running magnitude
    const scale = x.abs().sum().item() * Math.abs(a) + y.abs().sum().item() * Math.abs(b)
    const tol = 4 * Number.EPSILON * (x.numel() + 2) * scale + 1e-300
    const d = seed % shape.length
    const lhs = x.mul(a).add(y.mul(b)).sum().item()
    const rhs = a * x.sum().item() + b * y.sum().item()
    assert.ok(Math.abs(lhs - rhs) <= tol, `sum: ${lhs} vs ${rhs} (tol ${tol})`)
    // linearity alone cannot see a reduction that skips elements: anchor sum(x) to the naive loop
    let plain = 0
    for (const v of x.data()) plain += v
    assert.is(x.sum().item(), plain, 'sum(x) vs the elements summed in order')
    let slices = x.select(d, 0).mul(0)
    for (let i = 0; i < shape[d]; i++) slices = slices.add(x.select(d, i))
    assertSame(x.sum(d), slices, `sum(${d}) vs its slices summed in order`)
    assertClose(x.mul(a).add(y.mul(b)).sum(d), x.sum(d).mul(a).add(y.sum(d).mul(b)), { atol: tol, rtol: 0, msg: `sum(${d})` })
  }), RUNS)
})

// ---------------------------------------------------------------- (e) tuned gemm == gemmRef, bitwise

type Layout = 'row' | 'col' | 'padded'

/** Storage for an (r, c) matrix in the given layout, at a random offset; returns [array, off, rs, cs]. */
function matrix(r: number, c: number, layout: Layout, off: number, g: Generator, f32: boolean): [TypedArray, number, number, number] {
  const pad = layout === 'padded' ? 3 : 0
  const [rs, cs] = layout === 'col' ? [1, r + pad] : [c + pad, 1]
  const size = off + (layout === 'col' ? (r + pad) * c : r * (c + pad)) + 1
  const arr = f32 ? new Float32Array(size) : new Float64Array(size)
  for (let i = 0; i < size; i++) arr[i] = g.nextNormal()
  return [arr, off, rs, cs]
}

/**
 * Sizes around every blocking boundary of the tuned path: the direct-loop cutoff (16^3 products),
 * the 2 x 5 register tile (M, N not multiples of 2 and 5), KC = 256 (K around 256 and 512),
 * MC = 128 (tall: M around 128 and 256) and NC = 3070 (wide: N around 3070).
 */
const gemmSizeArb = fc.oneof(
  fc.record({ M: fc.integer({ min: 0, max: 40 }), N: fc.integer({ min: 0, max: 40 }),
    K: fc.oneof(fc.constantFrom(0, 1, 255, 256, 257, 511, 512, 513), fc.integer({ min: 0, max: 700 })) }),
  fc.record({ M: fc.integer({ min: 120, max: 260 }), N: fc.integer({ min: 1, max: 12 }), K: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ M: fc.integer({ min: 1, max: 3 }), N: fc.integer({ min: 3060, max: 3080 }), K: fc.integer({ min: 1, max: 30 }) }),
)

test('(e) gemm equals gemmRef bitwise, for sizes around every block edge and strided operands', () => {
  const layout = fc.constantFrom<Layout>('row', 'col', 'padded')
  fc.assert(fc.property(
    fc.record({ size: gemmSizeArb, la: layout, lb: layout, aOff: fc.nat(5), bOff: fc.nat(5), cOff: fc.nat(5), split: fc.nat(1 << 20), seed: seedArb, f32: fc.boolean() }),
    ({ size: { M, N, K }, la, lb, aOff, bOff, cOff, split, seed, f32 }) => {
      const g = new Generator(seed)
      const [a, , aRs, aCs] = matrix(M, K, la, aOff, g, f32)
      const [b, , bRs, bCs] = matrix(K, N, lb, bOff, g, f32)
      const fresh = (): TypedArray => (f32 ? new Float32Array(cOff + M * N + 2) : new Float64Array(cOff + M * N + 2)).fill(NaN)
      const ops = (c: TypedArray): GemmOperands => ({ M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff })
      const tag = `M ${M} N ${N} K ${K} (A ${la}, B ${lb}, ${f32 ? 'float32' : 'float64'})`
      const ref = fresh()
      gemmRef(ops(ref))
      const whole = fresh()
      gemm(ops(whole))
      // the row-range form, as the thread pool calls it: rows [0, s) and [s, M) in two calls
      const s = split % (M + 1)
      const halves = fresh()
      gemm(ops(halves), 0, s)
      const top = halves.slice()
      gemm(ops(halves), s, M)
      for (let i = 0; i < ref.length; i++) {
        if (!Object.is(whole[i], ref[i])) assert.unreachable(`${tag}: c[${i}] ${whole[i]} vs ref ${ref[i]}`)
        if (!Object.is(halves[i], ref[i])) assert.unreachable(`${tag}, rows split at ${s}: c[${i}] ${halves[i]} vs ref ${ref[i]}`)
        // after the first call only rows [0, s) may have been written
        const row = Math.floor((i - cOff) / Math.max(N, 1))
        const inTop = i >= cOff && i < cOff + M * N && row < s
        if (inTop === Number.isNaN(top[i])) assert.unreachable(`${tag}: rows [0, ${s}) call ${inTop ? 'left unwritten' : 'wrote'} c[${i}]`)
      }
      for (let i = cOff; i < cOff + M * N; i++) assert.ok(!Number.isNaN(whole[i]), `${tag}: c[${i}] not written`)
      assert.ok(Number.isNaN(whole[cOff + M * N]) && (cOff === 0 || Number.isNaN(whole[cOff - 1])), `${tag}: gemm wrote outside C`)
    },
  ), { ...RUNS, numRuns: 100 })
})

// ---------------------------------------------------------------- (f) kernels write every output element

const nanFilled = (n: number, f32: boolean): TypedArray => (f32 ? new Float32Array(n) : new Float64Array(n)).fill(NaN)

function assertNoNaN(out: TypedArray, msg: string): void {
  for (let i = 0; i < out.length; i++) if (Number.isNaN(out[i])) assert.unreachable(`${msg}: element ${i} of ${out.length} was not written`)
}

/** A strided view over values in [0.5, 2), for kernels that need finite outputs. */
const tameView = (shape: number[], steps: readonly Step[], seed: number): Tensor => strided(tame(shape, seed), steps)

test('(f) unaryInto, binaryInto and whereInto write every element (NaN-prefilled outputs)', () => {
  fc.assert(fc.property(viewArb, fc.boolean(), ({ shape, steps, seed }, f32) => {
    const x = tameView(shape, steps, seed)
    for (const name of Object.keys(UNARY) as UnaryName[]) {
      const out = nanFilled(x.numel(), f32)
      unaryInto(name, out, x.storage, x.offset, x.strides, x.shape, 0.7, 20)
      assertNoNaN(out, `unary ${name} on ${JSON.stringify(x.shape)}`)
    }
    // b: a non-contiguous (reversed-dims) operand broadcast against x: a trailing part of x's shape, some dims 1
    const bShape = x.shape.slice(seed % (x.ndim + 1)).map((d, i) => ((seed >> i) & 1 ? 1 : d))
    const b = tame(bShape.slice().reverse(), seed + 1).T
    const bs = broadcastStrides(b.shape, b.strides, x.shape)
    for (const name of Object.keys(BINARY) as BinaryName[]) {
      const out = nanFilled(x.numel(), f32)
      binaryInto(name, out, x.storage, x.offset, x.strides, b.storage, b.offset, bs, x.shape)
      assertNoNaN(out, `binary ${name} on ${JSON.stringify(x.shape)} with ${JSON.stringify(b.shape)}`)
    }
    const cond = x.gt(1)
    const out = nanFilled(x.numel(), f32)
    whereInto(out, cond.storage, cond.offset, cond.strides, x.storage, x.offset, x.strides, b.storage, b.offset, bs, x.shape)
    assertNoNaN(out, 'where')
  }), RUNS)
})

test('(f) reduceInto and prodOthersInto write every element, for every reducer and reduced dim', () => {
  fc.assert(fc.property(viewArb, fc.boolean(), ({ shape, steps, seed }, f32) => {
    const x = tameView(shape, steps, seed)
    for (let d = 0; d < x.ndim; d++) {
      const kept = x.shape.map((_, i) => i).filter((i) => i !== d)
      const keptShape = kept.map((i) => x.shape[i])
      const keptStrides = kept.map((i) => x.strides[i])
      for (const name of Object.keys(REDUCERS) as ReduceName[]) {
        const out = nanFilled(numel(keptShape), f32)
        reduceInto(name, out, x.storage, x.offset, keptShape, keptStrides, x.shape[d], x.strides[d], 0)
        assertNoNaN(out, `reduce ${name} over dim ${d} of ${JSON.stringify(x.shape)}`)
      }
      const out = nanFilled(x.numel(), f32)
      prodOthersInto(out, x.storage, x.offset, keptShape, keptStrides, x.shape[d], x.strides[d])
      assertNoNaN(out, `prodOthers over dim ${d}`)
    }
  }), RUNS)
})

test('(f) softmaxInto, cumsumInto, copyStrided, gatherInto, indexSelectInto and gemm write every element', () => {
  fc.assert(fc.property(viewArb, fc.boolean(), ({ shape, steps, seed }, f32) => {
    const x = tameView(shape, steps, seed)
    const c = x.contiguous()
    const src = c.storage
    for (let d = 0; d < x.ndim; d++) {
      const outer = numel(x.shape.slice(0, d)), n = x.shape[d], inner = numel(x.shape.slice(d + 1))
      for (const log of [false, true]) {
        const out = nanFilled(x.numel(), f32)
        softmaxInto(out, src, outer, n, inner, log)
        assertNoNaN(out, `softmax (log ${log}) dim ${d}`)
      }
      const cs = nanFilled(x.numel(), f32)
      cumsumInto(cs, src, outer, n, inner)
      assertNoNaN(cs, `cumsum dim ${d}`)
      const index = randint(0, n, [1 + (seed % 4)], { generator: new Generator(seed + d) })
      const sel = nanFilled(outer * index.numel() * inner, f32)
      indexSelectInto(sel, src, outer, n, inner, index.storage as Int32Array)
      assertNoNaN(sel, `indexSelect dim ${d}`)
      const idxShape = x.shape.map((s, i) => (i === d ? 1 + (seed % 5) : Math.max(1, s - (seed % 2))))
      const gi = randint(0, n, idxShape, { generator: new Generator(seed + 10 + d) })
      const gat = nanFilled(gi.numel(), f32)
      gatherInto(gat, x.storage, x.offset, x.strides, gi.storage as Int32Array, idxShape, d)
      assertNoNaN(gat, `gather dim ${d}`)
    }
    // copy into a contiguous output, and into a permuted (reversed-dims) layout of a fresh array
    const out = nanFilled(x.numel(), f32)
    copyStrided(out, 0, contiguousStrides(x.shape), x.storage, x.offset, x.strides, x.shape)
    assertNoNaN(out, 'copyStrided')
    const rev = x.shape.slice().reverse()
    const revStrides = contiguousStrides(rev).reverse()
    const out2 = nanFilled(x.numel(), f32)
    copyStrided(out2, 0, revStrides, x.storage, x.offset, x.strides, x.shape)
    assertNoNaN(out2, 'copyStrided into a transposed layout')
    // gemm: x's last two dims (or x as a row) times a tame (K, N) matrix
    const a = x.ndim >= 2 ? x.select(0, 0) : x
    const a2 = a.ndim === 2 ? a : a.unsqueeze(0)
    const [M, K] = a2.shape
    const N = 1 + (seed % 6)
    const b = tame([K, N], seed + 3)
    const cOut = nanFilled(M * N, f32)
    gemm({ M, N, K, a: a2.storage, aOff: a2.offset, aRs: a2.strides[0], aCs: a2.strides[1], b: b.storage, bOff: 0, bRs: N, bCs: 1, c: cOut, cOff: 0 })
    assertNoNaN(cOut, `gemm ${M}x${K}x${N}`)
  }), RUNS)
})

// ---------------------------------------------------------------- (g) broadcasting == explicit expand

/** Shapes that broadcast to `target`: leading dims dropped and some dims set to 1, per the bits of `mask`. */
const squash = (target: number[], drop: number, mask: number): number[] =>
  target.slice(drop % (target.length + 1)).map((d, i) => ((mask >> i) & 1 ? 1 : d))

const BROADCAST_OPS: [string, (a: Tensor, b: Tensor) => Tensor][] = [
  ['add', (a, b) => a.add(b)], ['sub', (a, b) => a.sub(b)], ['mul', (a, b) => a.mul(b)], ['div', (a, b) => a.div(b)],
  ['pow', (a, b) => a.abs().pow(b)], ['maximum', (a, b) => a.maximum(b)], ['minimum', (a, b) => a.minimum(b)],
  ['lt', (a, b) => a.lt(b)], ['eq', (a, b) => a.eq(b.mul(0).add(a.amax()))], ['where', (a, b) => where(a.gt(0), a, b)],
]

test('(g) a broadcasting op equals the op on expanded, contiguous operands (values and gradients)', () => {
  fc.assert(fc.property(
    fc.record({ target: shapeArb(0, 4, 4), dropA: fc.nat(4), dropB: fc.nat(4), maskA: fc.nat(15), maskB: fc.nat(15), seed: seedArb, dtype: fc.constantFrom(...FLOATS) }),
    ({ target, dropA, dropB, maskA, maskB, seed, dtype }) => {
      const sa = squash(target, dropA, maskA), sb = squash(target, dropB, maskB)
      const rank = Math.max(sa.length, sb.length)
      const shape = Array.from({ length: rank }, (_, i) => Math.max(sa[sa.length - rank + i] ?? 1, sb[sb.length - rank + i] ?? 1))
      for (const [name, op] of BROADCAST_OPS) {
        const a = normal(sa, seed, dtype).requiresGrad_(), b = normal(sb, seed + 1, dtype).requiresGrad_()
        const direct = op(a, b)
        const ae = a.expand(shape).contiguous(), be = b.expand(shape).contiguous()
        const expanded = op(ae, be)
        const msg = `${name} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`
        assertSame(direct, expanded, msg)
        if (!direct.requiresGrad) continue
        const w = normal(shape, seed + 2, dtype)
        direct.mul(w).sum().backward()
        const [ga, gb] = [a.grad!, b.grad!]
        a.grad = null; b.grad = null
        expanded.mul(w).sum().backward()
        const tol = dtype === 'float32' ? 1e-5 : 1e-12
        assertClose(ga, a.grad!, { atol: tol, rtol: tol, shape: sa, msg: `${msg}: grad a` })
        assertClose(gb, b.grad!, { atol: tol, rtol: tol, shape: sb, msg: `${msg}: grad b` })
      }
    },
  ), RUNS)
})

test.run()

/**
 * @file layerNorm, rmsNorm, groupNorm and batchNorm: forward values and gradients against PyTorch
 * (test/fixtures/norm.json, written by `/usr/bin/python3 scripts/gen_norm_fixtures.py`; its
 * `generator` field names the torch version), in float64 and float32 and through strided inputs;
 * batchNorm's running statistics over several training steps; the fused backward against the
 * composite one used under createGraph; the tuned kernels against their Refs (NaN-prefilled
 * outputs, sizes that are not multiples of 4); and the error messages.
 */
import normJson from '../fixtures/norm.json' with { type: 'json' }
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, Tensor, enableGrad, fromTypedArray, ones, randn, tensor, zeros, type DType } from '../../src/index.ts'
import {
  batchNormApply, batchNormApplyRef, batchNormBackward, batchNormBackwardRef, batchNormStats, batchNormStatsRef,
  rowNormBackward, rowNormBackwardRef, rowNormForward, rowNormForwardRef, type RowNormDims,
} from '../../src/kernels/norm.ts'
import { assertClose, assertThrows } from '../helpers.ts'

// ---------------------------------------------------------------- fixture

type Num = number | string
interface FixTensor { shape: number[]; data: Num[]; dtype?: 'bool' }
interface NormCase {
  name: string
  op: 'layerNorm' | 'rmsNorm' | 'groupNorm' | 'batchNorm' | 'scaledDotProductAttention'
  args: { normalizedShape?: number[]; eps?: number | null; numGroups?: number; training?: boolean; momentum?: number }
  inputs: Record<string, FixTensor | null>
  cot?: FixTensor
  out?: FixTensor
  grads?: Record<string, FixTensor>
  runningMean?: FixTensor
  runningVar?: FixTensor
  steps?: { x: FixTensor; cot: FixTensor; out: FixTensor; grads: Record<string, FixTensor>; runningMean: FixTensor; runningVar: FixTensor }[]
}

const FIXTURE = (normJson as unknown) as { generator: string; cases: NormCase[] }
const CASES = FIXTURE.cases.filter((c) => c.op !== 'scaledDotProductAttention')

const value = (v: Num): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number))
const values = (t: FixTensor): number[] => t.data.map(value)

/** The fixture tensor in `dtype`; `strided` lays it out transposed-and-back (same values, non-contiguous). */
function make(t: FixTensor | null | undefined, dtype: DType, grad = false, strided = false): Tensor | null {
  if (!t) return null
  let x = fromTypedArray(Float64Array.from(values(t)), t.shape).to(dtype)
  if (strided && x.ndim >= 2) x = x.mT.contiguous().mT
  else if (strided && x.ndim === 1) x = tensor([0, ...values(t)], { dtype }).slice(0, 1)
  if (grad) {
    // a leaf needs no gradFn: cut the layout ops from the graph
    x = x.detach().requiresGrad_()
  }
  return x
}

const TOL = {
  float64: { out: { atol: 1e-12, rtol: 1e-11 }, grad: { atol: 1e-11, rtol: 1e-10 } },
  // float32: float64 arithmetic rounded once on store (out); the gradients go through float32
  // inputs, cotangents and a float32 dx, so a few ulp.
  float32: { out: { atol: 1e-6, rtol: 1e-6 }, grad: { atol: 1e-5, rtol: 1e-5 } },
}

function runOp(c: NormCase, x: Tensor, w: Tensor | null, b: Tensor | null, rm: Tensor | null = null, rv: Tensor | null = null): Tensor {
  const a = c.args
  switch (c.op) {
    case 'layerNorm': return F.layerNorm(x, a.normalizedShape!, w, b, a.eps ?? undefined)
    case 'rmsNorm': return F.rmsNorm(x, a.normalizedShape!, w, a.eps)
    case 'groupNorm': return F.groupNorm(x, a.numGroups!, w, b, a.eps ?? undefined)
    default: return F.batchNorm(x, rm, rv, w, b, { training: a.training, momentum: a.momentum, eps: a.eps ?? undefined })
  }
}

/** Forward, backward with the fixture's cotangent, and comparison of out and every gradient. */
function check(label: string, out: Tensor, cot: FixTensor, want: FixTensor, grads: Record<string, FixTensor>, leaves: Record<string, Tensor | null>, dtype: 'float32' | 'float64'): void {
  const tol = TOL[dtype]
  assert.is(out.dtype, dtype, `${label}: output dtype`)
  assertClose(out, values(want), { ...tol.out, shape: want.shape, msg: `${label}: out` })
  out.backward(make(cot, dtype)!)
  for (const [name, g] of Object.entries(grads)) {
    const t = leaves[name]
    assert.ok(t && t.grad, `${label}: no gradient for ${name}`)
    assertClose(t.grad!, values(g), { ...tol.grad, shape: g.shape, msg: `${label}: grad ${name}` })
  }
}

test(`fixture: ${FIXTURE.generator}`, () => {
  assert.ok(CASES.length >= 15)
})

for (const dtype of ['float64', 'float32'] as const) {
  for (const strided of [false, true]) {
    if (dtype === 'float32' && strided) continue
    test(`fixture: layerNorm, rmsNorm, groupNorm values and gradients (${dtype}${strided ? ', strided inputs' : ''})`, () => {
      for (const c of CASES.filter((c) => c.op !== 'batchNorm')) {
        const x = make(c.inputs.x, dtype, true, strided)!
        const w = make(c.inputs.weight, dtype, true, strided), b = make(c.inputs.bias, dtype, true, strided)
        check(`${c.name} ${dtype}`, runOp(c, x, w, b), c.cot!, c.out!, c.grads!, { x, weight: w, bias: b }, dtype)
      }
    })
  }

  test(`fixture: batchNorm over several steps: outputs, gradients, running statistics and their versions (${dtype})`, () => {
    for (const c of CASES.filter((c) => c.op === 'batchNorm')) {
      const w = make(c.inputs.weight, dtype, true), b = make(c.inputs.bias, dtype, true)
      const rm = make(c.runningMean, dtype)!, rv = make(c.runningVar, dtype)!
      c.steps!.forEach((s, k) => {
        const label = `${c.name} ${dtype} step ${k}`
        const x = make(s.x, dtype, true)!
        if (w) w.grad = null
        if (b) b.grad = null
        const [vm, vv] = [rm.version, rv.version]
        check(label, runOp(c, x, w, b, rm, rv), s.cot, s.out, s.grads, { x, weight: w, bias: b }, dtype)
        const tol = dtype === 'float64' ? { atol: 1e-14, rtol: 1e-13 } : { atol: 1e-7, rtol: 1e-6 }
        assertClose(rm, values(s.runningMean), { ...tol, msg: `${label}: runningMean` })
        assertClose(rv, values(s.runningVar), { ...tol, msg: `${label}: runningVar` })
        const bumps = c.args.training ? 1 : 0
        assert.is(rm.version, vm + bumps, `${label}: runningMean version`)
        assert.is(rv.version, vv + bumps, `${label}: runningVar version`)
      })
    }
  })
}

// ---------------------------------------------------------------- fused vs composite backward

/** Gradients of sum(f(...) * cot) for every input, without and with createGraph (the composite path). */
function bothPaths(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): [Tensor[], Tensor[]] {
  const cot = randn(f(...inputs).shape, { dtype: inputs[0].dtype, generator: new Generator(seed) })
  const run = (createGraph: boolean): Tensor[] => {
    for (const t of inputs) t.grad = null
    enableGrad(() => f(...inputs).backward(cot, { createGraph }))
    const gs = inputs.map((t) => t.grad!)
    // dx depends on x again (dbias = sum(g) depends on no input, so it records nothing)
    if (createGraph) assert.ok(gs[0].requiresGrad, 'createGraph should record the backward of dx')
    return gs.map((g) => g.detach())
  }
  return [run(false), run(true)]
}

test('fused backward kernels equal the composite (createGraph) backward, every op and layout', () => {
  const g = new Generator(77)
  const r = (shape: number[], dtype: DType = 'float64'): Tensor => randn(shape, { dtype, generator: g }).requiresGrad_()
  const rm = zeros([5], { dtype: 'float64' }), rv = ones([5], { dtype: 'float64' })
  const cases: [string, (...xs: Tensor[]) => Tensor, Tensor[]][] = [
    ['layerNorm 2 dims, affine', (x, w, b) => F.layerNorm(x, [3, 5], w, b), [r([4, 3, 5]), r([3, 5]), r([3, 5])]],
    ['layerNorm transposed input', (x) => F.layerNorm(x.mT, [6]), [r([6, 7])]],
    ['rmsNorm weight', (x, w) => F.rmsNorm(x, [9], w), [r([5, 9]), r([9])]],
    ['groupNorm (3, 6, 2, 3), 3 groups', (x, w, b) => F.groupNorm(x, 3, w, b), [r([3, 6, 2, 3]), r([6]), r([6])]],
    ['batchNorm training (7, 5, 3)', (x, w, b) => F.batchNorm(x, null, null, w, b, { training: true }), [r([7, 5, 3]), r([5]), r([5])]],
    ['batchNorm eval (7, 5)', (x, w, b) => F.batchNorm(x, rm, rv, w, b), [r([7, 5]), r([5]), r([5])]],
    ['layerNorm float32', (x, w) => F.layerNorm(x, [33], w), [r([5, 33], 'float32'), r([33], 'float32')]],
  ]
  cases.forEach(([label, f, inputs], i) => {
    const [fused, composite] = bothPaths(f, inputs, 100 + i)
    const tol = inputs[0].dtype === 'float64' ? { atol: 1e-12, rtol: 1e-11 } : { atol: 1e-5, rtol: 1e-5 }
    fused.forEach((gf, k) => assertClose(gf, composite[k], { ...tol, msg: `${label}: input ${k}` }))
  })
})

// ---------------------------------------------------------------- kernels vs Refs

const nanArray = (n: number, f32: boolean): Float32Array | Float64Array => (f32 ? new Float32Array(n) : new Float64Array(n)).fill(NaN)

function randomArray(n: number, g: Generator, shift = 0): Float64Array {
  const a = new Float64Array(n)
  for (let i = 0; i < n; i++) a[i] = g.nextNormal() + shift
  return a
}

function closeArrays(got: ArrayLike<number>, want: ArrayLike<number>, n: number, tol: number, msg: string): void {
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(got[i])) assert.unreachable(`${msg}: element ${i} not written (NaN)`)
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) assert.unreachable(`${msg}: [${i}] ${got[i]} vs ${want[i]}`)
  }
}

test('row-norm kernels equal their Refs (layer, rms and group layouts; odd sizes; NaN-prefilled outputs)', () => {
  const g = new Generator(5)
  const dims: RowNormDims[] = [
    { R: 1, G: 1, Cg: 1, S: 1 }, { R: 3, G: 1, Cg: 7, S: 1 }, { R: 5, G: 1, Cg: 33, S: 1 },
    { R: 6, G: 3, Cg: 2, S: 5 }, { R: 4, G: 2, Cg: 3, S: 1 }, { R: 2, G: 1, Cg: 1, S: 9 }, { R: 8, G: 4, Cg: 1, S: 3 },
  ]
  for (const d of dims) {
    for (const f32 of [false, true]) {
      for (const center of [true, false]) {
        const M = d.Cg * d.S, C = d.G * d.Cg, n = d.R * M
        const x = randomArray(n, g, 0.7), w = randomArray(C, g, 1), b = randomArray(C, g), gy = randomArray(n, g)
        const tag = `${JSON.stringify(d)} ${f32 ? 'f32' : 'f64'} center ${center}`
        const y = nanArray(n, f32), yr = nanArray(n, f32)
        const mean = new Float64Array(d.R).fill(NaN), rstd = new Float64Array(d.R).fill(NaN)
        const meanR = new Float64Array(d.R), rstdR = new Float64Array(d.R)
        rowNormForward(y, mean, rstd, x, w, b, d, 1e-5, center)
        rowNormForwardRef(yr, meanR, rstdR, x, w, b, d, 1e-5, center)
        const tol = f32 ? 3e-7 : 1e-13
        closeArrays(y, yr, n, tol, `${tag} forward`)
        closeArrays(mean, meanR, d.R, 1e-14, `${tag} mean`)
        closeArrays(rstd, rstdR, d.R, 1e-13, `${tag} rstd`)
        const dx = nanArray(n, f32), dxr = nanArray(n, f32)
        const dw = new Float64Array(C).fill(NaN), db = new Float64Array(C).fill(NaN), dwr = new Float64Array(C), dbr = new Float64Array(C)
        rowNormBackward(dx, dw, db, gy, x, mean, rstd, w, d, center)
        rowNormBackwardRef(dxr, dwr, dbr, gy, x, meanR, rstdR, w, d, center)
        closeArrays(dx, dxr, n, f32 ? 1e-6 : 1e-12, `${tag} dx`)
        closeArrays(dw, dwr, C, 1e-12, `${tag} dw`)
        closeArrays(db, dbr, C, 1e-12, `${tag} db`)
      }
    }
  }
})

test('batch-norm kernels equal their Refs ((N, C, S) with S = 1 and S > 1, training and eval, NaN-prefilled)', () => {
  const g = new Generator(6)
  for (const d of [{ N: 2, C: 3, S: 1 }, { N: 7, C: 5, S: 1 }, { N: 3, C: 4, S: 7 }, { N: 1, C: 2, S: 9 }, { N: 5, C: 1, S: 2 }]) {
    for (const f32 of [false, true]) {
      const n = d.N * d.C * d.S
      const x = randomArray(n, g, 0.5), w = randomArray(d.C, g, 1), b = randomArray(d.C, g), gy = randomArray(n, g)
      const tag = `${JSON.stringify(d)} ${f32 ? 'f32' : 'f64'}`
      const mean = new Float64Array(d.C).fill(NaN), v = new Float64Array(d.C).fill(NaN)
      const meanR = new Float64Array(d.C), vR = new Float64Array(d.C)
      batchNormStats(mean, v, x, d)
      batchNormStatsRef(meanR, vR, x, d)
      closeArrays(mean, meanR, d.C, 1e-14, `${tag} mean`)
      closeArrays(v, vR, d.C, 1e-13, `${tag} var`)
      const rstd = Float64Array.from(vR, (s) => 1 / Math.sqrt(s + 1e-5))
      const y = nanArray(n, f32), yr = nanArray(n, f32)
      batchNormApply(y, x, meanR, rstd, w, b, d)
      batchNormApplyRef(yr, x, meanR, rstd, w, b, d)
      closeArrays(y, yr, n, f32 ? 3e-7 : 1e-14, `${tag} apply`)
      for (const training of [true, false]) {
        const dx = nanArray(n, f32), dxr = nanArray(n, f32)
        const dw = new Float64Array(d.C).fill(NaN), db = new Float64Array(d.C).fill(NaN), dwr = new Float64Array(d.C), dbr = new Float64Array(d.C)
        batchNormBackward(dx, dw, db, gy, x, meanR, rstd, w, d, training)
        batchNormBackwardRef(dxr, dwr, dbr, gy, x, meanR, rstd, w, d, training)
        closeArrays(dx, dxr, n, f32 ? 1e-6 : 1e-12, `${tag} training ${training} dx`)
        closeArrays(dw, dwr, d.C, 1e-12, `${tag} dw`)
        closeArrays(db, dbr, d.C, 1e-12, `${tag} db`)
      }
    }
  }
})

// ---------------------------------------------------------------- numerics and edge cases

test('layerNorm statistics are two-pass: float32 rows with mean 1e4 and std 1e-2 match float64', () => {
  const x64 = randn([4, 64], { dtype: 'float64', generator: new Generator(9) }).mul(0.01).add(1e4)
  const x32 = x64.float()
  // the float32 inputs are the data; compare against float64 arithmetic on exactly those values
  assertClose(F.layerNorm(x32, [64]), F.layerNorm(x32.double(), [64]), { atol: 1e-5, rtol: 1e-5 })
})

test('rmsNorm default eps is torch.finfo(dtype).eps: 2^-23 for float32, 2^-52 for float64', () => {
  // mean(x^2) = 1e-8 is comparable to float32's eps and negligible against float64's
  const y32 = F.rmsNorm(tensor([1e-4, -1e-4]), [2]).toArray() as number[]
  const y64 = F.rmsNorm(tensor([1e-4, -1e-4], { dtype: 'float64' }), [2]).toArray() as number[]
  assertClose(y32, [1e-4 / Math.sqrt(1e-8 + 2 ** -23), -1e-4 / Math.sqrt(1e-8 + 2 ** -23)], { atol: 0, rtol: 1e-6 })
  assertClose(y64, [1e-4 / Math.sqrt(1e-8 + 2 ** -52), -1e-4 / Math.sqrt(1e-8 + 2 ** -52)], { atol: 0, rtol: 1e-14 })
})

test('batchNorm: (N, C), (N, C, L), (N, C, H, W) normalise per channel; empty training batch leaves running stats alone', () => {
  for (const shape of [[6, 3], [4, 3, 5], [2, 3, 4, 2]]) {
    const x = randn(shape, { dtype: 'float64', generator: new Generator(shape.length) }).mul(3).add(1)
    const y = F.batchNorm(x, null, null, null, null, { training: true })
    const dims = [0, ...shape.slice(2).map((_, i) => i + 2)]
    assertClose(y.mean(dims), [0, 0, 0], { atol: 1e-12 })
    assertClose(y.var(dims, { correction: 0 }), new Array(3).fill(1), { atol: 1e-4 })
  }
  const rm = tensor([0.5, -0.5]), rv = tensor([2, 3])
  const y = F.batchNorm(zeros([0, 2]), rm, rv, null, null, { training: true })
  assert.equal(y.shape, [0, 2])
  assert.equal(rm.toArray(), [0.5, -0.5])
  assert.is(rm.version, 0)
})

test('saved inputs are version-checked: changing x in place before backward throws', () => {
  const x = randn([3, 4], { dtype: 'float64', generator: new Generator(2) }).requiresGrad_()
  const h = x.mul(2)
  const y = F.layerNorm(h, [4])
  enableGrad(() => h.detach().add_(1))
  assertThrows(() => y.sum().backward(), /modified by an in-place operation/)
})

// ---------------------------------------------------------------- errors

test('errors name the op, the argument and the shapes', () => {
  const x = randn([2, 5])
  assertThrows(() => F.layerNorm(x, [4]), /layerNorm: normalizedShape \[4\] does not match the trailing dims of input of shape \[2,5\]/)
  assertThrows(() => F.layerNorm(x, [2, 5, 1]), /layerNorm: normalizedShape \[2,5,1\] does not match/)
  assertThrows(() => F.layerNorm(x, []), /layerNorm: normalizedShape must have at least one dim/)
  assertThrows(() => F.layerNorm(x, [5], ones([4])), /layerNorm: weight of shape \[4\] does not match normalizedShape \[5\]/)
  assertThrows(() => F.layerNorm(x, [5], null, ones([5], { dtype: 'float64' })), /layerNorm: bias dtype float64 does not match input dtype float32/)
  assertThrows(() => F.layerNorm(tensor([1, 2], { dtype: 'int32' }), [2]), /layerNorm: input dtype int32 is not floating point/)
  assertThrows(() => F.layerNorm(x, [5], null, null, -1), /layerNorm: eps must be a finite number >= 0/)
  assertThrows(() => F.rmsNorm(x, [5], ones([2, 5])), /rmsNorm: weight of shape \[2,5\] does not match normalizedShape \[5\]/)
  assertThrows(() => F.groupNorm(randn([2, 6, 3]), 4), /groupNorm: the number of channels C = 6 \(input of shape \[2,6,3\]\) is not divisible by numGroups = 4/)
  assertThrows(() => F.groupNorm(randn([6]), 2), /groupNorm: expected input of shape \(N, C, \*\) with at least 2 dims, got \[6\]/)
  assertThrows(() => F.groupNorm(randn([2, 6]), 2, ones([3])), /groupNorm: weight of shape \[3\] does not match the channel count \[6\]/)
  assertThrows(() => F.groupNorm(randn([2, 6]), 0), /groupNorm: numGroups must be a positive integer, got 0/)
  assertThrows(() => F.batchNorm(randn([4, 3]), null, null), /batchNorm: runningMean and runningVar are required in evaluation mode/)
  assertThrows(() => F.batchNorm(randn([4, 3]), zeros([4]), ones([4])), /batchNorm: runningMean of shape \[4\] does not match the channel count: expected \[3\] for input of shape \[4,3\]/)
  assertThrows(() => F.batchNorm(randn([4, 3]), zeros([3]), null), /batchNorm: runningMean and runningVar must be given together/)
  assertThrows(() => F.batchNorm(randn([1, 3]), null, null, null, null, { training: true }), /batchNorm: expected more than 1 value per channel when training, got input of shape \[1,3\]/)
  assertThrows(() => F.batchNorm(randn([4, 3]), null, null, ones([3], { dtype: 'float64' }), null, { training: true }), /batchNorm: weight dtype float64 does not match input dtype float32/)
})

test.run()

/**
 * @file Reference values from PyTorch for every op: forward values, shapes and dtypes, and the
 * gradient of sum_k (out_k * v_k).sum() for each float input, from test/fixtures/ops.json
 * (generated offline by `/usr/bin/python3 scripts/gen_fixtures.py`; its `generator` field names the
 * torch version).
 *
 * Each case runs with its inputs in three layouts:
 *   - contiguous: fresh tensors, as the fixture declares them;
 *   - strided: every input rebuilt as a non-contiguous view (storage laid out with the dims
 *     reversed, every dim strided by 2 with an offset, NaN or out-of-range garbage in the gaps), so a
 *     kernel that ignores strides or offsets, or a backward that writes outside the view, fails;
 *   - offset: contiguous, but starting at storage offset 2 of a garbage-padded buffer (catches a
 *     fast path that checks isContiguous() and forgets the offset);
 * first with float32 floats, then (for cases the fixture marks `f64`: promoting the inputs promotes
 * the outputs) with float32 inputs promoted to float64, compared with float64 tolerances.
 *
 * Deliberate differences from PyTorch are tested as tessera documents them: index tensors and
 * integer sums are int32 (torch: int64), and sign(NaN) is NaN (see the fixture's `note`s).
 */
import opsJson from '../fixtures/ops.json' with { type: 'json' }
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  F, Tensor, add, cat, div, fromTypedArray, full, linear, mul, pow, roll, stack, sub, where,
  type DType, type TypedArray,
} from '../../src/index.ts'
import { assertClose } from '../helpers.ts'

// ------------------------------------------------------------------ fixture format

interface FixtureTensor {
  shape: number[]
  dtype: DType
  data: (number | boolean)[]
  grad?: boolean
  index?: boolean
}

interface CaseArgs {
  dims?: number | number[]
  dim?: number
  keepdim?: boolean
  alpha?: number
  scalar?: number
  scalarLeft?: boolean
  roundingMode?: 'trunc' | 'floor'
  slope?: number
  beta?: number
  threshold?: number
  min?: number
  max?: number
  exponent?: number
  approximate?: 'none' | 'tanh'
  correction?: number
  p?: number
  dtype?: DType
  a?: number
  b?: number
  value?: number
  size?: number | number[]
  chunks?: number
  pads?: number[]
  repeats?: number[]
  diagonal?: number
  shifts?: number | number[]
  start?: number
  end?: number
  step?: number
  length?: number
  index?: number
  shape?: number[]
  dim0?: number
  dim1?: number
  startDim?: number
  endDim?: number
  sizes?: number[]
}

interface Case {
  name: string
  family: string
  op: string
  args: CaseArgs
  tol: 'exact' | 'kernel' | 'composite'
  inputs: FixtureTensor[]
  outputs: FixtureTensor[]
  v?: ((number | boolean)[] | null)[]
  /** One list per input (null: no gradient); a null entry is deliberately not compared. */
  grads?: ((number | boolean | null)[] | null)[]
  f64: boolean
  note?: string
}

const SPECIAL: Record<string, number> = { nan: NaN, inf: Infinity, '-inf': -Infinity }
/** Maps the fixture's 'nan'/'inf'/'-inf' strings to numbers (walking the imported JSON keeps -0). */
function revive(value: unknown): unknown {
  if (typeof value === 'string') return value in SPECIAL ? SPECIAL[value] : value
  if (Array.isArray(value)) return value.map(revive)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]))
  return value
}
const fixtures = revive(opsJson) as { generator: string; cases: Case[] }

// ------------------------------------------------------------------ tolerances

interface Tol { atol: number; rtol: number }

/**
 * Forward tolerances by case family (`tol`) and run dtype. `scale` = max(1, largest finite |value|
 * among the case's inputs, outputs, cotangents and gradients); atol is relative to it, so that
 * cancellation in a sum of large terms is judged against the size of the terms.
 *  - exact: data movement, comparisons, integer and bool results; must be bit-identical.
 *  - kernel: a float64 evaluation rounded to the output dtype once (elementwise, reductions, matmul)
 *    or twice (softmax stores e^{x - m}, then scales it by 1/sum). For float32 that is within 1 ulp
 *    of the rounded reference (2 ulps = 2^-22 relative allowed); the absolute floor only covers
 *    float32 subnormals. For float64, JS Math and torch each err by an ulp or two.
 *  - composite: several float32-rounded steps in a row (std = sqrt(var), norm, linear = matmul then
 *    add, scatterAdd/indexAdd with repeated indices): a few ulps, plus cancellation relative to the
 *    terms' size.
 */
const FORWARD: Record<Case['tol'], { float32: Tol; float64: Tol }> = {
  exact: { float32: { atol: 0, rtol: 0 }, float64: { atol: 0, rtol: 0 } },
  kernel: { float32: { atol: 1e-37, rtol: 2.4e-7 }, float64: { atol: 1e-15, rtol: 1e-13 } },
  composite: { float32: { atol: 1e-7, rtol: 1e-6 }, float64: { atol: 1e-15, rtol: 1e-13 } },
}

/**
 * Gradients are chains of tessera ops in the input dtype, each rounding once (softmax backward:
 * y (g - sum(g y)), var backward: 2 (x - mean) / (n - c), ...), so every family gets the same looser
 * bound: float32 ~1e-6 of the scale (about 10 ulps of cancellation), float64 ~1e-12.
 */
const GRAD: { float32: Tol; float64: Tol } = {
  float32: { atol: 1e-6, rtol: 1e-5 },
  float64: { atol: 1e-12, rtol: 1e-10 },
}

// ------------------------------------------------------------------ the op table (names as in gen_fixtures.py)

type Out = Tensor | Tensor[]
type OpFn = (xs: Tensor[], a: CaseArgs) => Out
type Operand = Tensor | number

const one = (f: (x: Tensor, a: CaseArgs) => Out): OpFn => (xs, a) => f(xs[0], a)

/** A binary op on two tensors, or on one tensor and `args.scalar` (on the left with `scalarLeft`). */
const binary = (f: (p: Operand, q: Operand, a: CaseArgs) => Tensor): OpFn => (xs, a) => {
  if (a.scalar === undefined) return f(xs[0], xs[1], a)
  return a.scalarLeft ? f(a.scalar, xs[0], a) : f(xs[0], a.scalar, a)
}

const compare = (name: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'): OpFn => binary((p, q) => (p as Tensor)[name](q))

const OPS: Record<string, OpFn> = {
  neg: one((x) => x.neg()),
  exp: one((x) => x.exp()),
  log: one((x) => x.log()),
  log1p: one((x) => x.log1p()),
  expm1: one((x) => x.expm1()),
  sqrt: one((x) => x.sqrt()),
  rsqrt: one((x) => x.rsqrt()),
  reciprocal: one((x) => x.reciprocal()),
  square: one((x) => x.square()),
  abs: one((x) => x.abs()),
  sign: one((x) => x.sign()),
  sin: one((x) => x.sin()),
  cos: one((x) => x.cos()),
  tanh: one((x) => x.tanh()),
  sigmoid: one((x) => x.sigmoid()),
  erf: one((x) => x.erf()),
  relu: one((x) => x.relu()),
  silu: one((x) => x.silu()),
  leakyRelu: one((x, a) => x.leakyRelu(a.slope)),
  elu: one((x, a) => x.elu(a.alpha)),
  gelu: one((x, a) => x.gelu(a.approximate)),
  softplus: one((x, a) => x.softplus(a.beta, a.threshold)),
  clamp: one((x, a) => x.clamp(a.min, a.max)),
  powScalar: one((x, a) => x.pow(a.exponent!)),
  isnan: one((x) => x.isnan()),
  logicalNot: one((x) => x.logicalNot()),
  cast: one((x, a) => x.to(a.dtype!)),

  add: binary((p, q, a) => add(p, q, a.alpha)),
  sub: binary((p, q, a) => sub(p, q, a.alpha)),
  mul: binary((p, q) => mul(p, q)),
  div: binary((p, q, a) => div(p, q, a.roundingMode ? { roundingMode: a.roundingMode } : {})),
  pow: binary((p, q) => pow(p, q)),
  maximum: ([p, q]) => p.maximum(q),
  minimum: ([p, q]) => p.minimum(q),
  eq: compare('eq'), ne: compare('ne'), lt: compare('lt'), le: compare('le'), gt: compare('gt'), ge: compare('ge'),
  logicalAnd: ([p, q]) => p.logicalAnd(q),
  logicalOr: ([p, q]) => p.logicalOr(q),
  logicalXor: ([p, q]) => p.logicalXor(q),
  where: (xs, a) => where(xs[0], a.a ?? xs[1], a.b ?? xs[xs.length - 1]),
  maskedFill: ([x, mask], a) => x.maskedFill(mask, a.value!),

  sum: one((x, a) => x.sum(a.dims, a.keepdim)),
  mean: one((x, a) => x.mean(a.dims, a.keepdim)),
  prod: one((x, a) => x.prod(a.dims, a.keepdim)),
  amax: one((x, a) => x.amax(a.dims, a.keepdim)),
  amin: one((x, a) => x.amin(a.dims, a.keepdim)),
  logsumexp: one((x, a) => x.logsumexp(a.dims, a.keepdim)),
  var: one((x, a) => x.var(a.dims, { correction: a.correction, keepdim: a.keepdim })),
  std: one((x, a) => x.std(a.dims, { correction: a.correction, keepdim: a.keepdim })),
  norm: one((x, a) => x.norm(a.p, a.dims, a.keepdim)),
  max: one((x) => x.max()),
  min: one((x) => x.min()),
  maxDim: one((x, a) => { const r = x.max(a.dim!, a.keepdim); return [r.values, r.indices] }),
  minDim: one((x, a) => { const r = x.min(a.dim!, a.keepdim); return [r.values, r.indices] }),
  argmax: one((x, a) => x.argmax(a.dim, a.keepdim)),
  argmin: one((x, a) => x.argmin(a.dim, a.keepdim)),
  cumsum: one((x, a) => x.cumsum(a.dim!)),
  all: one((x, a) => x.all(a.dims, a.keepdim)),
  any: one((x, a) => x.any(a.dims, a.keepdim)),

  matmul: ([p, q]) => p.matmul(q),
  linear: ([x, w, b]) => linear(x, w, b),
  softmax: one((x, a) => x.softmax(a.dim!)),
  logSoftmax: one((x, a) => x.logSoftmax(a.dim!)),

  cat: (xs, a) => cat(xs, a.dim),
  stack: (xs, a) => stack(xs, a.dim),
  split: one((x, a) => x.split(a.size!, a.dim)),
  chunk: one((x, a) => x.chunk(a.chunks!, a.dim)),
  gather: ([x, index], a) => x.gather(a.dim!, index),
  scatter: ([x, index, src], a) => x.scatter(a.dim!, index, a.value ?? src),
  scatterAdd: ([x, index, src], a) => x.scatterAdd(a.dim!, index, src),
  indexSelect: ([x, index], a) => x.indexSelect(a.dim!, index),
  indexAdd: ([x, index, src], a) => x.indexAdd(a.dim!, index, src),
  pad: one((x, a) => F.pad(x, a.pads!, a.value)),
  repeat: one((x, a) => x.repeat(a.repeats!)),
  tril: one((x, a) => x.tril(a.diagonal)),
  triu: one((x, a) => x.triu(a.diagonal)),
  flip: one((x, a) => x.flip(a.dims!)),
  roll: one((x, a) => roll(x, a.shifts!, a.dims)),
  narrow: one((x, a) => x.narrow(a.dim!, a.start!, a.length!)),
  slice: one((x, a) => x.slice(a.dim!, a.start, a.end, a.step)),
  select: one((x, a) => x.select(a.dim!, a.index!)),
  permute: one((x, a) => x.permute(a.dims as number[])),
  transpose: one((x, a) => x.transpose(a.dim0!, a.dim1!)),
  T: one((x) => x.T),
  mT: one((x) => x.mT),
  expand: one((x, a) => x.expand(a.shape!)),
  reshape: one((x, a) => x.reshape(a.shape!)),
  squeeze: one((x, a) => x.squeeze(a.dim)),
  unsqueeze: one((x, a) => x.unsqueeze(a.dim!)),
  flatten: one((x, a) => x.flatten(a.startDim, a.endDim)),
  unflatten: one((x, a) => x.unflatten(a.dim!, a.sizes!)),
  clone: one((x) => x.clone()),
  contiguous: one((x) => x.contiguous()),

  add_: binary((p, q, a) => (p as Tensor).add_(q, a.alpha)),
  sub_: binary((p, q, a) => (p as Tensor).sub_(q, a.alpha)),
  mul_: binary((p, q) => (p as Tensor).mul_(q)),
  div_: binary((p, q) => (p as Tensor).div_(q)),
  pow_: binary((p, q) => (p as Tensor).pow_(q)),
  clamp_: one((x, a) => x.clamp_(a.min, a.max)),
  fill_: one((x, a) => x.fill_(a.value!)),
  zero_: one((x) => x.zero_()),
  maskedFill_: ([x, mask], a) => x.maskedFill_(mask, a.value!),
  copy_: ([x, src]) => x.copy_(src),
}

// ------------------------------------------------------------------ building inputs

type Layout = 'contiguous' | 'strided' | 'offset'
const LAYOUTS: readonly Layout[] = ['contiguous', 'strided', 'offset']
type FloatRun = 'float32' | 'float64'

const toNumber = (v: number | boolean): number => (typeof v === 'boolean' ? (v ? 1 : 0) : v)

function typedArray(dtype: DType, values: readonly (number | boolean)[]): TypedArray {
  const make: Record<DType, (n: number) => TypedArray> = {
    float32: (n) => new Float32Array(n), float64: (n) => new Float64Array(n),
    int32: (n) => new Int32Array(n), int8: (n) => new Int8Array(n), bool: (n) => new Uint8Array(n),
  }
  const out = make[dtype](values.length)
  values.forEach((v, i) => { out[i] = toNumber(v) })
  return out
}

/** What the gaps of a strided input hold: values that break any result that reads them. */
const GARBAGE: Record<DType, number> = { float32: NaN, float64: NaN, int32: 1_000_000_007, int8: -77, bool: 1 }

interface BuiltInput {
  /** The tensor the op sees. */
  view: Tensor
  /** The leaf that receives the gradient (the view itself, or the storage it was cut from). */
  leaf: Tensor
  /** The gradient of `view`, read out of `leaf.grad`. */
  gradOfView: (g: Tensor) => Tensor
  /** Storage positions of leaf that the view does not cover (their gradient must stay 0). */
  gaps: number[]
}

/**
 * Input `spec` as `dtype` in one of the layouts. Strided: storage of shape
 * (2 s_{n-1} + 1, ..., 2 s_0 + 1) filled with garbage, permuted back to the logical dim order
 * (transposed for rank >= 2) and sliced [1 : 2 s + 1 : 2] on every dim; 0-d inputs become an
 * offset view into a 3-element buffer. Offset: elements 2 .. n+1 of a garbage-filled (n + 3) buffer.
 */
function buildInput(spec: FixtureTensor, dtype: DType, layout: Layout): BuiltInput {
  // Float values are float32 numbers written as short decimals: fround recovers them exactly.
  const values = spec.data.map((v) => (typeof v === 'number' && (spec.dtype === 'float32' || spec.dtype === 'float64') ? Math.fround(v) : v))
  const needsGrad = spec.grad === true
  if (layout === 'contiguous') {
    const leaf = fromTypedArray(typedArray(dtype, values), spec.shape, dtype)
    if (needsGrad) leaf.requiresGrad_()
    return { view: leaf, leaf, gradOfView: (g) => g, gaps: [] }
  }
  if (layout === 'offset') {
    const n = values.length
    const buf = full([n + 3], GARBAGE[dtype], { dtype })
    values.forEach((v, k) => { buf.storage[2 + k] = toNumber(v) })
    if (needsGrad) buf.requiresGrad_()
    const cut = (b: Tensor): Tensor => b.slice(0, 2, 2 + n).reshape(spec.shape)
    return { view: cut(buf), leaf: buf, gradOfView: cut, gaps: [0, 1, n + 2] }
  }
  const rank = spec.shape.length
  const bufShape = rank === 0 ? [3] : spec.shape.slice().reverse().map((d) => 2 * d + 1)
  const reverse = spec.shape.map((_, i) => rank - 1 - i)
  const cut = (b: Tensor): Tensor => {
    if (rank === 0) return b.slice(0, 1, 2).reshape([])
    let v = b.permute(reverse)
    spec.shape.forEach((d, i) => { v = v.slice(i, 1, 1 + 2 * d, 2) })
    return v
  }
  const buf = full(bufShape, GARBAGE[dtype], { dtype })
  const probe = cut(buf)
  const covered = new Set<number>()
  const idx = new Array<number>(rank).fill(0)
  for (let k = 0; k < values.length; k++) {
    const pos = probe.offset + idx.reduce((s, i, d) => s + i * probe.strides[d], 0)
    buf.storage[pos] = toNumber(values[k])
    covered.add(pos)
    for (let d = rank - 1; d >= 0; d--) { if (++idx[d] < spec.shape[d]) break; idx[d] = 0 }
  }
  if (probe.shape.some((d) => d > 1)) assert.not.ok(probe.isContiguous(), 'strided input must not be contiguous')
  if (needsGrad) buf.requiresGrad_()
  const gaps: number[] = []
  for (let i = 0; i < buf.numel(); i++) if (!covered.has(i)) gaps.push(i)
  return { view: cut(buf), leaf: buf, gradOfView: cut, gaps }
}

// ------------------------------------------------------------------ checking one case

const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64'

function caseScale(c: Case): number {
  let m = 1
  const visit = (xs: readonly (number | boolean | null)[] | null | undefined): void => {
    for (const v of xs ?? []) if (typeof v === 'number' && Number.isFinite(v)) m = Math.max(m, Math.abs(v))
  }
  c.inputs.forEach((t) => visit(t.data))
  c.outputs.forEach((t) => visit(t.data))
  c.v?.forEach(visit)
  c.grads?.forEach(visit)
  return m
}

function scaled(t: Tol, scale: number): Tol {
  return { atol: t.atol * scale, rtol: t.rtol }
}

/** Expected values as the run dtype holds them (float32 references are rounded to float32). */
function expectedIn(dtype: DType, data: readonly (number | boolean)[]): number[] {
  return data.map((v) => (dtype === 'float32' ? Math.fround(toNumber(v)) : toNumber(v)))
}

function runVariant(c: Case, floats: FloatRun, layout: Layout): void {
  const label = `${c.name} [${floats} ${layout}]`
  const promote = (d: DType): DType => (floats === 'float64' && d === 'float32' ? 'float64' : d)
  const built = c.inputs.map((spec) => buildInput(spec, promote(spec.dtype), layout))
  const op = OPS[c.op]
  assert.ok(op, `${label}: no op '${c.op}' in the test's table`)
  const result = op(built.map((b) => b.view), c.args)
  const outs = Array.isArray(result) ? result : [result]
  assert.is(outs.length, c.outputs.length, `${label}: number of outputs`)
  const scale = caseScale(c)

  outs.forEach((out, k) => {
    const exp = c.outputs[k]
    const dtype = promote(exp.dtype)
    assert.equal(out.shape, exp.shape, `${label}: output ${k} shape`)
    assert.is(out.dtype, dtype, `${label}: output ${k} dtype`)
    const tol = isFloat(dtype) ? scaled(FORWARD[c.tol][dtype as FloatRun], scale) : { atol: 0, rtol: 0 }
    assertClose(out, expectedIn(dtype, exp.data), { ...tol, msg: `${label}: output ${k}` })
  })

  if (!c.grads || !c.v) return
  // Cotangents are float32 numbers written as short decimals, like the inputs.
  const vs = c.v.map((v) => v && v.map((x) => Math.fround(toNumber(x))))
  const cotangent = (out: Tensor, v: number[]): Tensor => fromTypedArray(typedArray(out.dtype, v), out.shape, out.dtype)
  if (outs.length === 1) {
    // out.backward(v) is the gradient of (out * v).sum()
    if (outs[0].requiresGrad && vs[0]) outs[0].backward(cotangent(outs[0], vs[0]))
  } else {
    const terms = outs.flatMap((out, k) => {
      const v = vs[k]
      return v && out.requiresGrad ? [out.mul(cotangent(out, v)).sum()] : []
    })
    if (terms.length > 0) terms.reduce((s, t) => s.add(t)).backward()
  }
  // A gradient is only as precise as the least precise float it flows through (float32 + 0-d float64
  // gives a float32 output, so the float64 input's gradient is a float32 sum).
  const dtypes = [...built.map((b) => b.view.dtype), ...outs.map((o) => o.dtype)]
  const gradPrecision: FloatRun = dtypes.includes('float32') ? 'float32' : 'float64'
  c.grads.forEach((g, i) => {
    if (g === null) return
    const b = built[i]
    const dtype = promote(c.inputs[i].dtype)
    const leafGrad = b.leaf.grad
    const got = leafGrad === null ? full(c.inputs[i].shape, 0, { dtype }) : b.gradOfView(leafGrad)
    assert.is(got.dtype, dtype, `${label}: grad ${i} dtype`)
    assert.equal(got.shape, c.inputs[i].shape, `${label}: grad ${i} shape`)
    // null entries are left unchecked on purpose (the fixture's note says why)
    const keep = g.map((e) => e !== null)
    const values = Array.from(got.data(), Number).filter((_, j) => keep[j])
    const expected = expectedIn(dtype, g.filter((e): e is number | boolean => e !== null))
    assertClose(values, expected, { ...scaled(GRAD[gradPrecision], scale), msg: `${label}: grad ${i}` })
    if (leafGrad !== null && b.gaps.length > 0) {
      const all = leafGrad.data()
      for (const p of b.gaps) assert.is(all[p], 0, `${label}: grad ${i} leaked into storage position ${p} outside the view`)
    }
  })
}

function runCase(c: Case): void {
  for (const layout of LAYOUTS) runVariant(c, 'float32', layout)
  if (c.f64) for (const layout of LAYOUTS) runVariant(c, 'float64', layout)
}

// ------------------------------------------------------------------ registration

const meta = suite('reference: fixture')
meta('fixture names its generator and covers every op in the table', () => {
  assert.match(fixtures.generator, /gen_fixtures\.py \(torch \d/)
  const used = new Set(fixtures.cases.map((c) => c.op))
  for (const name of Object.keys(OPS)) assert.ok(used.has(name), `no fixture case for op '${name}'`)
  for (const name of used) assert.ok(name in OPS, `fixture op '${name}' has no entry in the test's table`)
})
meta.run()

const families = [...new Set(fixtures.cases.map((c) => c.family))]
for (const family of families) {
  const s = suite(`reference: ${family}`)
  for (const c of fixtures.cases.filter((k) => k.family === family)) s(c.name, () => runCase(c))
  s.run()
}

/**
 * @file scaledDotProductAttention: forward values and gradients against PyTorch's reference
 * formula (test/fixtures/norm.json, `/usr/bin/python3 scripts/gen_norm_fixtures.py`) with causal,
 * bool, float and padding masks, odd L and S around the 64-row tiles, E != Ev and 4-D broadcast
 * inputs, in float64 and float32; the fused op against the composite `scaledDotProductAttentionRef`
 * (values, gradients, createGraph); the tuned kernels against their Refs (NaN-prefilled outputs,
 * broadcast masks); fully masked rows (NaN, as PyTorch), no keys, dropout, and the error messages.
 */
import normJson from '../fixtures/norm.json' with { type: 'json' }
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, Tensor, enableGrad, fromTypedArray, rand, randn, tensor, zeros, type DType } from '../../src/index.ts'
import { attentionBackward, attentionBackwardRef, attentionForward, attentionForwardRef, type AttentionOperands } from '../../src/kernels/attention.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const sdpa = F.scaledDotProductAttention
const sdpaRef = F.scaledDotProductAttentionRef

// ---------------------------------------------------------------- fixture

type Num = number | string
interface FixTensor { shape: number[]; data: Num[]; dtype?: 'bool' }
interface AttnCase {
  name: string
  op: string
  args: { isCausal: boolean; scale: number | null; maskGrad: boolean }
  inputs: { q: FixTensor; k: FixTensor; v: FixTensor; mask: FixTensor | null }
  cot: FixTensor
  out: FixTensor
  grads: Record<string, FixTensor>
}

const FIXTURE = (normJson as unknown) as { generator: string; cases: AttnCase[] }
const CASES = FIXTURE.cases.filter((c) => c.op === 'scaledDotProductAttention')
const value = (v: Num): number => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : (v as number))
const values = (t: FixTensor): number[] => t.data.map(value)

function make(t: FixTensor, dtype: DType, grad = false): Tensor {
  const x = t.dtype === 'bool' ? tensor(values(t).map((v) => v !== 0)).reshape(t.shape) : fromTypedArray(Float64Array.from(values(t)), t.shape).to(dtype)
  return grad ? x.requiresGrad_() : x
}

const TOL = {
  float64: { out: { atol: 1e-12, rtol: 1e-11 }, grad: { atol: 1e-11, rtol: 1e-10 } },
  // float32 inputs and outputs around float64 tile arithmetic; gradients pass the rounded out and dout.
  float32: { out: { atol: 1e-6, rtol: 1e-5 }, grad: { atol: 1e-5, rtol: 1e-4 } },
}

test(`fixture: ${FIXTURE.generator}`, () => assert.ok(CASES.length >= 10))

for (const dtype of ['float64', 'float32'] as const) {
  test(`fixture: values and gradients of every mask kind, odd tiles, 4-D, E != Ev, NaN rows (${dtype})`, () => {
    for (const c of CASES) {
      const label = `${c.name} ${dtype}`
      const q = make(c.inputs.q, dtype, true), k = make(c.inputs.k, dtype, true), v = make(c.inputs.v, dtype, true)
      const mask = c.inputs.mask ? make(c.inputs.mask, dtype, c.args.maskGrad) : null
      const out = sdpa(q, k, v, { attnMask: mask, isCausal: c.args.isCausal, scale: c.args.scale })
      const tol = TOL[dtype]
      assertClose(out, values(c.out), { ...tol.out, shape: c.out.shape, msg: `${label}: out` })
      out.backward(make(c.cot, dtype))
      const leaves: Record<string, Tensor | null> = { q, k, v, mask }
      for (const [name, g] of Object.entries(c.grads)) {
        assert.ok(leaves[name]?.grad, `${label}: no gradient for ${name}`)
        assertClose(leaves[name]!.grad!, values(g), { ...tol.grad, shape: g.shape, msg: `${label}: grad ${name}` })
      }
    }
  })
}

// ---------------------------------------------------------------- fused vs composite

interface Setup { label: string; q: number[]; k: number[]; v: number[]; opts?: (g: Generator) => Parameters<typeof sdpa>[3] }

const SETUPS: Setup[] = [
  { label: 'L = S = 64 (one full tile)', q: [1, 64, 8], k: [1, 64, 8], v: [1, 64, 8] },
  { label: 'L 65, S 63, causal', q: [2, 65, 4], k: [2, 63, 4], v: [2, 63, 3], opts: () => ({ isCausal: true }) },
  { label: 'L 129, S 130, causal', q: [1, 129, 3], k: [1, 130, 3], v: [1, 130, 2], opts: () => ({ isCausal: true }) },
  { label: 'L 1, S 200', q: [3, 1, 5], k: [3, 200, 5], v: [3, 200, 7] },
  { label: 'L 150, S 1', q: [150, 2], k: [1, 2], v: [1, 4] },
  { label: '4-D heads, k/v broadcast, padding mask', q: [2, 3, 70, 6], k: [2, 1, 66, 6], v: [2, 1, 66, 5], opts: (g) => ({ attnMask: paddingMask(2, 66, g) }) },
  { label: 'float mask (L, S) broadcast over batch, scale 0.2', q: [3, 40, 4], k: [3, 90, 4], v: [3, 90, 4], opts: (g) => ({ attnMask: randn([40, 90], { dtype: 'float64', generator: g }), scale: 0.2 }) },
  { label: 'bool mask (1, L, 1) broadcast along the keys', q: [2, 5, 3], k: [2, 6, 3], v: [2, 6, 3], opts: () => ({ attnMask: tensor([true, true, true, true, true]).reshape([1, 5, 1]) }) },
]

/** (B, 1, 1, S) bool, each batch element keeping a prefix of at least one key. */
function paddingMask(B: number, S: number, g: Generator): Tensor {
  const lens = Array.from({ length: B }, () => 1 + g.nextInt(0, S))
  return tensor(lens.map((n) => Array.from({ length: S }, (_, j) => j < n))).reshape([B, 1, 1, S])
}

test('the fused op equals the composite Ref: values and gradients, float64, sizes around the tiles', () => {
  SETUPS.forEach((s, i) => {
    const g = new Generator(40 + i)
    const mk = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: g }).requiresGrad_()
    const q = mk(s.q), k = mk(s.k), v = mk(s.v)
    const opts = s.opts?.(g) ?? {}
    const cot = randn(sdpaRef(q, k, v, opts).shape, { dtype: 'float64', generator: g })
    const grads = (f: typeof sdpa): Tensor[] => {
      for (const t of [q, k, v]) t.grad = null
      const out = f(q, k, v, opts)
      out.backward(cot)
      return [out.detach(), q.grad!, k.grad!, v.grad!]
    }
    const fused = grads(sdpa), ref = grads(sdpaRef)
    ;['out', 'dq', 'dk', 'dv'].forEach((name, j) => assertClose(fused[j], ref[j], { atol: 1e-12, rtol: 1e-10, msg: `${s.label}: ${name}` }))
  })
})

test('fused float32 matches float64 to float32 accuracy (fast exp in the online softmax)', () => {
  const g = new Generator(3)
  const q = randn([2, 100, 16], { generator: g }), k = randn([2, 77, 16], { generator: g }), v = randn([2, 77, 16], { generator: g })
  for (const opts of [{}, { isCausal: true }]) {
    assertClose(sdpa(q, k, v, opts), sdpa(q.double(), k.double(), v.double(), opts), { atol: 1e-6, rtol: 1e-5 })
  }
})

test('createGraph: the composite backward path equals the fused one, and records a graph', () => {
  const g = new Generator(8)
  const mk = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: g }).requiresGrad_()
  const q = mk([2, 9, 4]), k = mk([2, 11, 4]), v = mk([2, 11, 3])
  const cot = randn([2, 9, 3], { dtype: 'float64', generator: g })
  const run = (createGraph: boolean): Tensor[] => {
    for (const t of [q, k, v]) t.grad = null
    enableGrad(() => sdpa(q, k, v, { isCausal: true }).backward(cot, { createGraph }))
    return [q.grad!, k.grad!, v.grad!]
  }
  const fused = run(false), composite = run(true)
  assert.ok(composite.every((t) => t.requiresGrad), 'createGraph recorded the backward')
  composite.forEach((t, i) => assertClose(fused[i], t.detach(), { atol: 1e-12, rtol: 1e-10, msg: `input ${i}` }))
})

test('strided q, k, v (transposed, sliced) give the same result as contiguous copies', () => {
  const g = new Generator(12)
  const qs = randn([2, 6, 33], { dtype: 'float64', generator: g }), ks = randn([2, 6, 40], { dtype: 'float64', generator: g })
  const vs = randn([2, 40, 10], { dtype: 'float64', generator: g })
  const q = qs.mT, k = ks.mT, v = vs.slice(2, 1, undefined, 2) // (2, 33, 6), (2, 40, 6), (2, 40, 5) strided
  assertClose(sdpa(q, k, v, { isCausal: true }), sdpa(q.contiguous(), k.contiguous(), v.contiguous(), { isCausal: true }), { atol: 0, rtol: 0 })
})

// ---------------------------------------------------------------- kernels vs Refs

function operands(B: number, L: number, S: number, E: number, Ev: number, g: Generator, opts: { causal?: boolean; mask?: 'bool' | 'float' | 'pad' } = {}): AttentionOperands {
  const arr = (n: number): Float64Array => Float64Array.from({ length: n }, () => g.nextNormal())
  // q blocks at a gap of 3 (offsets need not be packed); k and v shared by every batch element
  const q = arr(B * (L * E + 3)), k = arr(S * E), v = arr(S * Ev)
  let mask: Float64Array | Uint8Array | null = null, maskOff: number[] = new Array(B).fill(0), maskRs = 0, maskCs = 0
  if (opts.mask === 'float') { mask = arr(L * S); maskRs = S; maskCs = 1 }
  if (opts.mask === 'bool') { mask = Uint8Array.from({ length: L * S }, (_, i) => (i % S === 0 || g.nextFloat64() < 0.6 ? 1 : 0)); maskRs = S; maskCs = 1 }
  if (opts.mask === 'pad') { mask = Uint8Array.from({ length: B * S }, (_, i) => (i % S < 1 + (Math.floor(i / S) * 7) % S ? 1 : 0)); maskOff = Array.from({ length: B }, (_, b) => b * S); maskCs = 1 }
  return {
    B, L, S, E, Ev, scale: 1 / Math.sqrt(E), causal: opts.causal ?? false,
    q, qOff: Array.from({ length: B }, (_, b) => b * (L * E + 3)), k, kOff: new Array(B).fill(0), v, vOff: new Array(B).fill(0),
    mask, maskOff, maskRs, maskCs, maskBool: opts.mask === 'bool' || opts.mask === 'pad',
  }
}

const nan = (n: number, f32: boolean): Float32Array | Float64Array => (f32 ? new Float32Array(n) : new Float64Array(n)).fill(NaN)

function closeArrays(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, msg: string): void {
  assert.is(got.length, want.length)
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(want[i])) { assert.ok(Number.isNaN(got[i]), `${msg}: [${i}] expected NaN`); continue }
    if (!(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])))) assert.unreachable(`${msg}: [${i}] ${got[i]} vs ${want[i]}`)
  }
}

test('attentionForward / attentionBackward equal their Refs: odd sizes, masks, causal, float32 and float64, NaN-prefilled', () => {
  const g = new Generator(99)
  const sizes: [number, number, number, number, number][] = [[1, 1, 1, 1, 1], [2, 5, 7, 3, 2], [1, 64, 64, 4, 4], [2, 65, 130, 3, 5], [1, 130, 63, 2, 1], [3, 17, 1, 4, 3]]
  for (const [B, L, S, E, Ev] of sizes) {
    for (const opts of [{}, { causal: true }, { mask: 'bool' as const }, { mask: 'float' as const }, { mask: 'pad' as const }]) {
      for (const f32 of [false, true]) {
        const a = operands(B, L, S, E, Ev, g, opts)
        const tag = `B ${B} L ${L} S ${S} E ${E} Ev ${Ev} ${JSON.stringify(opts)} ${f32 ? 'f32' : 'f64'}`
        const out = nan(B * L * Ev, f32), outR = nan(B * L * Ev, f32)
        const lse = new Float64Array(B * L).fill(NaN), lseR = new Float64Array(B * L)
        attentionForward(out, lse, a)
        attentionForwardRef(outR, lseR, a)
        closeArrays(out, outR, f32 ? 3e-7 : 1e-13, `${tag} out`)
        // float32 sums use expF32 (4e-11 relative), which moves lse by up to 4e-11
        closeArrays(lse, lseR, f32 ? 1e-10 : 1e-13, `${tag} lse`)
        const dout = Float64Array.from({ length: B * L * Ev }, () => g.nextNormal())
        const grads = [nan(B * L * E, f32), nan(B * S * E, f32), nan(B * S * Ev, f32)]
        const gradsR = [nan(B * L * E, f32), nan(B * S * E, f32), nan(B * S * Ev, f32)]
        attentionBackward(grads[0], grads[1], grads[2], dout, outR, lseR, a)
        attentionBackwardRef(gradsR[0], gradsR[1], gradsR[2], dout, outR, lseR, a)
        ;['dq', 'dk', 'dv'].forEach((name, i) => closeArrays(grads[i], gradsR[i], f32 ? 2e-6 : 1e-12, `${tag} ${name}`))
      }
    }
  }
})

// ---------------------------------------------------------------- NaN rows, no keys, dropout

test('a fully masked row is NaN (as PyTorch); other rows are unaffected; gradients match the composite NaN pattern', () => {
  const g = new Generator(14)
  const mk = (shape: number[]): Tensor => randn(shape, { dtype: 'float64', generator: g }).requiresGrad_()
  const q = mk([2, 4, 3]), k = mk([2, 5, 3]), v = mk([2, 5, 2])
  const keep = rand([2, 4, 5], { generator: g }).gt(0.3).logicalOr(tensor([true, false, false, false, false]))
  const mask = keep.logicalAnd(tensor([[true], [true], [false], [true]])) // row 2 of every batch masked
  const out = sdpa(q, k, v, { attnMask: mask })
  const rows = out.toArray() as number[][][]
  for (const b of [0, 1]) {
    assert.ok(rows[b][2].every(Number.isNaN), 'masked row is NaN')
    assert.ok([0, 1, 3].every((i) => rows[b][i].every(Number.isFinite)), 'other rows finite')
  }
  assertClose(out, sdpaRef(q, k, v, { attnMask: mask }), { atol: 1e-12 })
  const cot = randn([2, 4, 2], { dtype: 'float64', generator: g })
  const grads = (f: typeof sdpa): Tensor[] => { for (const t of [q, k, v]) t.grad = null; f(q, k, v, { attnMask: mask }).backward(cot); return [q.grad!, k.grad!, v.grad!] }
  const fused = grads(sdpa), ref = grads(sdpaRef)
  fused.forEach((t, i) => assertClose(t, ref[i], { atol: 1e-12, msg: `grad ${i} (NaN where the composite is NaN)` }))
})

test('no keys (S = 0): zeros, as the composite gives; no queries (L = 0): empty', () => {
  const q = randn([2, 3, 4], { dtype: 'float64' }).requiresGrad_(), k = zeros([2, 0, 4], { dtype: 'float64' }), v = zeros([2, 0, 5], { dtype: 'float64' })
  const out = sdpa(q, k, v)
  assert.equal(out.shape, [2, 3, 5])
  assertClose(out, sdpaRef(q, k, v), { atol: 0 })
  out.sum().backward()
  assertClose(q.grad!, zeros([2, 3, 4]), { atol: 0 })
  assert.equal(sdpa(zeros([0, 4]), randn([3, 4]), randn([3, 2])).shape, [0, 2])
})

test('dropoutP > 0 runs the composite with dropout on the weights, reproducible with a seeded generator', () => {
  const g = new Generator(5)
  const q = randn([2, 6, 4], { generator: g }), k = randn([2, 7, 4], { generator: g }), v = randn([2, 7, 3], { generator: g })
  const a = sdpa(q, k, v, { dropoutP: 0.3, generator: new Generator(1) })
  const b = sdpaRef(q, k, v, { dropoutP: 0.3, generator: new Generator(1) })
  assertClose(a, b, { atol: 0, rtol: 0 })
  assert.ok(a.sub(sdpa(q, k, v)).abs().amax().item() > 1e-3, 'dropout changed the output')
  assertClose(sdpa(q, k, v, { dropoutP: 0 }), sdpaRef(q, k, v), { atol: 1e-6 })
})

test('a float mask that requires grad gets its gradient (composite path)', () => {
  const g = new Generator(6)
  const q = randn([3, 4], { dtype: 'float64', generator: g }), k = randn([5, 4], { dtype: 'float64', generator: g }), v = randn([5, 2], { dtype: 'float64', generator: g })
  const m = randn([3, 5], { dtype: 'float64', generator: g }).requiresGrad_()
  sdpa(q, k, v, { attnMask: m }).pow(2).sum().backward()
  const viaOp = m.grad!
  m.grad = null
  sdpaRef(q, k, v, { attnMask: m }).pow(2).sum().backward()
  assertClose(viaOp, m.grad!, { atol: 1e-14 })
})

// ---------------------------------------------------------------- errors

test('errors name the op, the argument and the shapes', () => {
  const q = randn([2, 5, 4]), k = randn([2, 7, 4]), v = randn([2, 7, 3])
  assertThrows(() => sdpa(q, randn([2, 7, 6]), v), /scaledDotProductAttention: key feature size 6 \(shape \[2,7,6\]\) does not match query's E = 4 \(shape \[2,5,4\]\)/)
  assertThrows(() => sdpa(q, k, randn([2, 6, 3])), /scaledDotProductAttention: value has 6 rows \(shape \[2,6,3\]\) but key has S = 7/)
  assertThrows(() => sdpa(q, randn([3, 7, 4]), randn([3, 7, 3])), /scaledDotProductAttention: shapes .* cannot be broadcast/)
  assertThrows(() => sdpa(randn([4]), k, v), /scaledDotProductAttention: query must have at least 2 dims/)
  assertThrows(() => sdpa(q.double(), k, v), /scaledDotProductAttention: query, key and value must share a dtype, got float64, float32 and float32/)
  assertThrows(() => sdpa(q, k, v, { isCausal: true, attnMask: tensor([true]) }), /attnMask must not be given together with isCausal/)
  assertThrows(() => sdpa(q, k, v, { attnMask: zeros([5, 6]).bool() }), /attnMask of shape \[5,6\] does not broadcast to the score shape \[2,5,7\]/)
  assertThrows(() => sdpa(q, k, v, { attnMask: zeros([5, 7], { dtype: 'int32' }) }), /attnMask dtype int32 must be bool or match the query dtype float32/)
  assertThrows(() => sdpa(q, k, v, { dropoutP: 1.5 }), /dropoutP must be in \[0, 1\], got 1.5/)
  assertThrows(() => sdpa(q.int(), k.int(), v.int()), /query dtype int32 is not floating point/)
})

test.run()

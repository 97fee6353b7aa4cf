/**
 * @file The WebAssembly SIMD depthwise convolution (src/wasm/depthwise.ts) against the float64 Ref
 * oracles of src/kernels/depthwise.ts, with the size threshold set to 0 so every case runs in WASM.
 *
 * Bounds. Forward and grad-input sum S <= T products (T = kH kW, times M for grad-input) in float32
 * lanes: each product and each partial sum is rounded once, so |out − ref| <= (S + 1) 2^-24 Σ|terms|
 * (Higham's γ_S bound for recursive summation, plus the final rounding), with Σ|terms| computed by
 * the Ref on |x|, |w|. Grad-weight multiplies and sums in float64 like the typed-array kernel, so
 * only the final rounding to float32 is visible: |dw − ref| <= 2^-24 |ref| + N Ho Wo 2^-52 Σ|terms|.
 * Non-finite values must match the Ref exactly (NaN for NaN, the same infinity).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  depthwiseConv2dBackwardInput, depthwiseConv2dBackwardInputRef, depthwiseConv2dBackwardWeight, depthwiseConv2dBackwardWeightRef,
  depthwiseConv2dForward, depthwiseConv2dForwardRef, type Depthwise2d,
} from '../../src/kernels/depthwise.ts'
import {
  depthwiseConv2dBackwardInputWasm, depthwiseConv2dBackwardWeightWasm, depthwiseConv2dForwardWasm, wasmDepthwiseConfig, WASM_DEPTHWISE_MODULE,
} from '../../src/wasm/depthwise.ts'
import { depthwiseModuleBytes } from '../../src/wasm/depthwise-module.ts'
import { hasModule, validates, wasmFeatures } from '../../src/wasm/runtime.ts'
import { kernels } from '../../src/kernels/registry.ts'
import { Generator } from '../../src/rng.ts'
import { randn } from '../../src/creation.ts'
import { F } from '../../src/index.ts'

const canRun = (): boolean => wasmFeatures().compileFromBytes || hasModule(WASM_DEPTHWISE_MODULE)
const run = (name: string, fn: () => void): void => test(name, () => { if (canRun()) fn() })
const gen = new Generator(10)
const uni = (n: number): Float32Array => Float32Array.from({ length: n }, () => 2 * gen.nextFloat64() - 1)

function geo(N: number, C: number, M: number, H: number, W: number, k: number, s: number, p: number, d = 1): Depthwise2d {
  const out = (L: number): number => Math.floor((L + 2 * p - d * (k - 1) - 1) / s) + 1
  return { N, C, M, H, W, Ho: out(H), Wo: out(W), kH: k, kW: k, sH: s, sW: s, dH: d, dW: d, pH: p, pW: p }
}

/** A (D0, D1, D2, D3) tensor stored in `perm` order after `off` junk values: its storage, offset and strides. */
function strided(v: Float32Array, dims: number[], perm: number[] | null, off: number): { a: Float32Array; off: number; s: number[] } {
  const order = perm ?? [0, 1, 2, 3]
  const s = new Array<number>(4)
  let acc = 1
  for (let i = 3; i >= 0; i--) { s[order[i]] = acc; acc *= dims[order[i]] }
  const a = uni(off + acc) // junk everywhere, then the values at their strided positions
  let i = 0
  for (let d0 = 0; d0 < dims[0]; d0++) for (let d1 = 0; d1 < dims[1]; d1++) for (let d2 = 0; d2 < dims[2]; d2++) for (let d3 = 0; d3 < dims[3]; d3++) {
    a[off + d0 * s[0] + d1 * s[1] + d2 * s[2] + d3 * s[3]] = v[i++]
  }
  return { a, off, s }
}

const abs64 = (a: Float32Array): Float64Array => Float64Array.from(a, Math.abs)

function close(out: Float32Array, ref: Float64Array, bound: (i: number) => number, what: string): void {
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(ref[i])) { assert.ok(Object.is(out[i], Math.fround(ref[i])) || (Number.isNaN(ref[i]) && Number.isNaN(out[i])), `${what} [${i}]: ${out[i]} vs ${ref[i]}`); continue }
    assert.ok(Math.abs(out[i] - ref[i]) <= bound(i), `${what} [${i}]: ${out[i]} vs ${ref[i]} (bound ${bound(i)})`)
  }
}

/** Checks all three kernels on g; `layout` picks contiguous or channels-last views at an offset. */
function checkAll(g: Depthwise2d, layout: boolean, vals?: { x?: Float32Array; dy?: Float32Array }): void {
  const { N, C, M, H, W, Ho, Wo, kH, kW } = g
  const CM = C * M, T = kH * kW
  const xv = vals?.x ?? uni(N * C * H * W), wv = uni(CM * T), dyv = vals?.dy ?? uni(N * CM * Ho * Wo)
  const x = strided(xv, [N, C, H, W], layout ? [0, 2, 3, 1] : null, layout ? 3 : 0)
  const w = strided(wv, [CM, 1, kH, kW], layout ? [2, 3, 0, 1] : null, layout ? 2 : 0)
  const dy = strided(dyv, [N, CM, Ho, Wo], layout ? [0, 2, 3, 1] : null, layout ? 5 : 0)
  const tag = `${JSON.stringify(g)} layout=${layout}`

  const y = new Float32Array(N * CM * Ho * Wo).fill(NaN), yr = new Float64Array(y.length), ya = new Float64Array(y.length)
  depthwiseConv2dForwardWasm(y, x.a, x.off, x.s, w.a, w.off, w.s, g)
  depthwiseConv2dForwardRef(yr, x.a, x.off, x.s, w.a, w.off, w.s, g)
  depthwiseConv2dForwardRef(ya, abs64(x.a), x.off, x.s, abs64(w.a), w.off, w.s, g)
  close(y, yr, (i) => (T + 1) * 2 ** -24 * ya[i] + 1e-38, `forward ${tag}`)

  const dx = new Float32Array(N * C * H * W).fill(NaN), dxr = new Float64Array(dx.length), dxa = new Float64Array(dx.length)
  depthwiseConv2dBackwardInputWasm(dx, dy.a, dy.off, dy.s, w.a, w.off, w.s, g)
  depthwiseConv2dBackwardInputRef(dxr, dy.a, dy.off, dy.s, w.a, w.off, w.s, g)
  depthwiseConv2dBackwardInputRef(dxa, abs64(dy.a), dy.off, dy.s, abs64(w.a), w.off, w.s, g)
  close(dx, dxr, (i) => (M * T + 1) * 2 ** -24 * dxa[i] + 1e-38, `grad-input ${tag}`)

  const dw = new Float32Array(CM * T).fill(NaN), dwr = new Float64Array(dw.length), dwa = new Float64Array(dw.length)
  depthwiseConv2dBackwardWeightWasm(dw, x.a, x.off, x.s, dy.a, dy.off, dy.s, g)
  depthwiseConv2dBackwardWeightRef(dwr, x.a, x.off, x.s, dy.a, dy.off, dy.s, g)
  depthwiseConv2dBackwardWeightRef(dwa, abs64(x.a), x.off, x.s, abs64(dy.a), dy.off, dy.s, g)
  close(dw, dwr, (i) => 2 ** -24 * Math.abs(dwr[i]) + N * Ho * Wo * 2 ** -52 * dwa[i] + 1e-38, `grad-weight ${tag}`)
}

/** Runs fn with every size going through WASM. */
const allSizes = (fn: () => void): void => {
  const saved = wasmDepthwiseConfig.minMacs
  wasmDepthwiseConfig.minMacs = 0
  try { fn() } finally { wasmDepthwiseConfig.minMacs = saved }
}

test('the module validates', () => {
  assert.ok(validates(depthwiseModuleBytes({ min: 16 })) || !wasmFeatures().simd)
})

run('odd sizes: H, W in {1, 5, 7, 13}, C in {1, 3, 8}, batch 2, kernel 3 and 5, stride 1 and 2, padding 0/1/2, strided views', () => allSizes(() => {
  let n = 0, i = 0
  for (const H of [1, 5, 7, 13]) for (const W of [1, 5, 7, 13]) for (const C of [1, 3, 8]) for (const k of [3, 5]) for (const s of [1, 2]) for (const p of [0, 1, 2]) {
    const g = geo(2, C, 1, H, W, k, s, p)
    if (g.Ho <= 0 || g.Wo <= 0) continue
    checkAll(g, i++ % 2 === 1)
    n++
  }
  assert.ok(n > 300, `${n} geometries`)
}))

run('channel multiplier, dilation, stride 3 and a 7x7 kernel (49 taps, two chunks)', () => allSizes(() => {
  checkAll(geo(2, 3, 2, 13, 13, 5, 2, 2), true)
  checkAll(geo(2, 8, 3, 9, 11, 3, 3, 2, 2), false)
  checkAll(geo(2, 4, 1, 13, 13, 5, 1, 0, 2), true)
  checkAll(geo(2, 3, 1, 13, 7, 7, 1, 3), false)
  checkAll(geo(2, 2, 2, 11, 13, 7, 2, 3), true)
}))

run('NaN and ±Inf in x and dy propagate as in the Ref (border, interior, row tail)', () => allSizes(() => {
  const g = geo(2, 3, 1, 7, 13, 3, 1, 1)
  const x = uni(2 * 3 * 7 * 13), dy = uni(2 * 3 * 7 * 13)
  x[0] = NaN; x[20] = Infinity; x[12] = -Infinity; x[91 + 50] = Infinity; x[91 + 51] = -Infinity // (0,0,0,0), interior, last column, adjacent ±Inf
  dy[5] = NaN; dy[3 * 91 + 12] = Infinity
  checkAll(g, false, { x, dy })
  checkAll(geo(2, 3, 1, 7, 13, 5, 2, 2), true, { x })
}))

run('non-finite weights, float64, small sizes fall back to the typed-array kernels exactly', () => {
  const g = geo(1, 2, 1, 13, 13, 3, 1, 1)
  const x = uni(2 * 169), w = uni(18), dy = uni(2 * 169)
  const xs = [338, 169, 13, 1], ws = [9, 9, 3, 1]
  const same = (a: ArrayLike<number>, b: ArrayLike<number>): void => assert.equal(Array.from(a), Array.from(b))
  for (const dt of ['small f32', 'f64', 'inf weight'] as const) {
    const X = dt === 'f64' ? Float64Array.from(x) : x, DY = dt === 'f64' ? Float64Array.from(dy) : dy
    const Wt = dt === 'f64' ? Float64Array.from(w) : Float32Array.from(w)
    if (dt === 'inf weight') Wt[0] = Infinity
    const mk = (n: number): Float32Array | Float64Array => dt === 'f64' ? new Float64Array(n) : new Float32Array(n)
    const run2 = (fn: () => void): void => dt === 'small f32' ? fn() : allSizes(fn)
    const [y1, y2, d1, d2] = [mk(338), mk(338), mk(338), mk(338)]
    run2(() => { depthwiseConv2dForwardWasm(y1, X, 0, xs, Wt, 0, ws, g); depthwiseConv2dBackwardInputWasm(d1, DY, 0, xs, Wt, 0, ws, g) })
    depthwiseConv2dForward(y2, X, 0, xs, Wt, 0, ws, g); depthwiseConv2dBackwardInput(d2, DY, 0, xs, Wt, 0, ws, g)
    same(y1, y2); same(d1, d2)
    if (dt !== 'inf weight') {
      const [w1, w2] = [mk(18), mk(18)]
      run2(() => depthwiseConv2dBackwardWeightWasm(w1, X, 0, xs, DY, 0, xs, g))
      depthwiseConv2dBackwardWeight(w2, X, 0, xs, DY, 0, xs, g)
      same(w1, w2)
    }
  }
  // grad-weight: an infinite dy at a border output, whose padded taps the Ref skips, is recomputed by the typed-array kernel
  const dyi = Float32Array.from(dy); dyi[0] = Infinity
  const [w1, w2] = [new Float32Array(18), new Float32Array(18)]
  allSizes(() => depthwiseConv2dBackwardWeightWasm(w1, x, 0, xs, dyi, 0, xs, g))
  depthwiseConv2dBackwardWeight(w2, x, 0, xs, dyi, 0, xs, g)
  same(w1, w2)
})

run('swapped into the kernel table, F.conv2d(groups = C) and its gradients match the typed-array kernels', () => {
  const gg = new Generator(3)
  const x = randn([2, 16, 20, 20], { generator: gg }).requiresGrad_(), w = randn([16, 1, 5, 5], { generator: gg }).requiresGrad_()
  const grads = (): Float32Array[] => {
    x.grad = null; w.grad = null
    const y = F.conv2d(x, w, null, { stride: 2, padding: 2, groups: 16 })
    y.mul(y).sum().backward()
    return [y.data() as Float32Array, x.grad!.data() as Float32Array, w.grad!.data() as Float32Array]
  }
  const js = grads()
  const saved = { ...kernels }
  kernels.depthwiseConv2dForward = depthwiseConv2dForwardWasm
  kernels.depthwiseConv2dBackwardInput = depthwiseConv2dBackwardInputWasm
  kernels.depthwiseConv2dBackwardWeight = depthwiseConv2dBackwardWeightWasm
  let wa: Float32Array[]
  try { wa = grads() } finally { Object.assign(kernels, saved) }
  for (let k = 0; k < 3; k++) {
    let scale = 0
    for (const v of js[k]) scale = Math.max(scale, Math.abs(v))
    for (let i = 0; i < js[k].length; i++) assert.ok(Math.abs(wa[k][i] - js[k][i]) <= 1e-5 * scale, `output ${k} [${i}]: ${wa[k][i]} vs ${js[k][i]}`)
  }
})

test.run()

/**
 * @file Window attention (src/nn/window-attention.ts): partition / reverse round trips and index maps,
 * window >= map equals global MHSA, padding (zeros as keys, or masked), Swin shifted windows and the
 * relative position bias against a per-pixel loop oracle, locality of the hybrid (EMOv2) attention,
 * and float64 gradchecks.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, arange, fromTypedArray, gradcheck, noGrad, randn, type Tensor } from '../../src/index.ts'
import {
  WindowMHSA, relativePositionIndex, windowAttention, windowPartition, windowReverse, type WindowMode,
} from '../../src/nn/window-attention.ts'
import { assertClose, assertThrows } from '../helpers.ts'

const g = new Generator(7)
const rnd = (shape: number[], dtype: 'float32' | 'float64' = 'float64') => randn(shape, { generator: g, dtype })

test('windowPartition / windowReverse: exact round trip for close and remote, non-square windows', () => {
  const x = rnd([2, 3, 6, 8])
  for (const mode of ['close', 'remote'] as const) {
    const w = windowPartition(x, [3, 2], mode)
    assert.equal(w.shape, [2, 8, 3, 3, 2])
    assert.equal(Array.from(windowReverse(w, [3, 2], 6, 8, mode).data()), Array.from(x.data()))
  }
  assertThrows(() => windowPartition(x, [4, 2]), /not a multiple of the window/)
})

test('index maps (sheet test 1): H = W = 4, w = 2: close window (0,0) is the 2x2 corner, remote window (0,0) the stride-2 grid', () => {
  const idx = arange(16, undefined, 1, { dtype: 'float64' }).reshape([1, 1, 4, 4]) // pixel r·4 + c
  const pix = (mode: WindowMode, n: number) => Array.from(windowPartition(idx, [2, 2], mode).select(1, n).data(), (v) => [Math.floor(v / 4), v % 4])
  assert.equal(pix('close', 0), [[0, 0], [0, 1], [1, 0], [1, 1]])
  assert.equal(pix('remote', 0), [[0, 0], [0, 2], [2, 0], [2, 2]])
  assert.equal(pix('close', 3), [[2, 2], [2, 3], [3, 2], [3, 3]]) // window (a, b) = (1, 1)
  assert.equal(pix('remote', 1), [[0, 1], [0, 3], [2, 1], [2, 3]]) // window (0, 1): pixels (2i, 2j + 1)
})

/**
 * Per-pixel oracle: out[b, :, p] = Σ_{p' ∈ keys(p)} softmax_p'(scale q_p·k_p' + bias(p, p')) v_p', per head,
 * with q, k, v zero-padded to Hp x Wp and the key set / bias given as functions of padded coordinates.
 */
function oracle(q: Tensor, k: Tensor, v: Tensor, heads: number, Hp: number, Wp: number,
  keys: (r: number, c: number) => [number, number][], bias: (h: number, p: [number, number], s: [number, number]) => number = () => 0): number[] {
  const [B, C, H, W] = q.shape, Cv = v.shape[1], dh = C / heads, dv = Cv / heads
  const at = (t: Tensor, ch: number) => { const d = t.data(); return (b: number, c: number, r: number, s: number) => (r < H && s < W ? (d[((b * ch + c) * H + r) * W + s] as number) : 0) }
  const Q = at(q, C), K = at(k, C), V = at(v, Cv)
  const out = new Array<number>(B * Cv * H * W).fill(0)
  for (let b = 0; b < B; b++) for (let h = 0; h < heads; h++) for (let r = 0; r < H; r++) for (let c = 0; c < W; c++) {
    const ks = keys(r, c)
    const s = ks.map(([r2, c2]) => {
      let d = 0
      for (let e = 0; e < dh; e++) d += Q(b, h * dh + e, r, c) * K(b, h * dh + e, r2, c2)
      return d / Math.sqrt(dh) + bias(h, [r, c], [r2, c2])
    })
    const m = Math.max(...s), e = s.map((x) => Math.exp(x - m)), z = e.reduce((a, x) => a + x, 0)
    for (let j = 0; j < dv; j++) {
      let acc = 0
      ks.forEach(([r2, c2], i) => { acc += (e[i] / z) * V(b, h * dv + j, r2, c2) })
      out[((b * Cv + h * dv + j) * H + r) * W + c] = acc
    }
  }
  void Hp; void Wp
  return out
}

/** Keys of pixel (r, c) in a close / remote window of size w on an Hp x Wp padded map. */
function windowKeys(mode: WindowMode, w: [number, number], Hp: number, Wp: number): (r: number, c: number) => [number, number][] {
  const n1 = Hp / w[0], n2 = Wp / w[1]
  const win = (r: number, c: number) => mode === 'close' ? `${Math.floor(r / w[0])},${Math.floor(c / w[1])}` : `${r % n1},${c % n2}`
  const all: [number, number][] = []
  for (let r = 0; r < Hp; r++) for (let c = 0; c < Wp; c++) all.push([r, c])
  return (r, c) => all.filter(([r2, c2]) => win(r2, c2) === win(r, c))
}

test('window >= map (and window <= 0) is global MHSA, identical for close and remote (sheet test 2)', () => {
  const q = rnd([2, 4, 3, 5]), k = rnd([2, 4, 3, 5]), v = rnd([2, 6, 3, 5])
  const all = (): [number, number][] => Array.from({ length: 15 }, (_, i) => [Math.floor(i / 5), i % 5])
  const ref = oracle(q, k, v, 2, 3, 5, all)
  for (const window of [5, 9, 0]) {
    const close = windowAttention(q, k, v, { heads: 2, window, mode: 'close' })
    const remote = windowAttention(q, k, v, { heads: 2, window, mode: 'remote' })
    assertClose(close, ref, { atol: 1e-12, rtol: 1e-10, shape: [2, 6, 3, 5] })
    assertClose(remote, close, { atol: 1e-12, rtol: 0 })
  }
})

test('padding (H = 5, W = 7, window 3): padded zeros are keys by default, dropped with maskPadding; both modes', () => {
  const q = rnd([1, 4, 5, 7]), k = rnd([1, 4, 5, 7]), v = rnd([1, 2, 5, 7])
  for (const mode of ['close', 'remote'] as const) {
    const keys = windowKeys(mode, [3, 3], 6, 9)
    assertClose(windowAttention(q, k, v, { heads: 2, window: 3, mode }), oracle(q, k, v, 2, 6, 9, keys), { atol: 1e-12, rtol: 1e-10, shape: [1, 2, 5, 7] })
    const valid = (r: number, c: number) => keys(r, c).filter(([r2, c2]) => r2 < 5 && c2 < 7)
    assertClose(windowAttention(q, k, v, { heads: 2, window: 3, mode, maskPadding: true }), oracle(q, k, v, 2, 6, 9, valid), { atol: 1e-12, rtol: 1e-10 })
  }
})

test('Swin shifted windows (shift 2, window 4, 8x6 map padded to 8x8) and the relative position bias match the oracle', () => {
  const q = rnd([1, 2, 8, 6]), k = rnd([1, 2, 8, 6]), v = rnd([1, 2, 8, 6]), s = 2, w = 4, Hp = 8, Wp = 8
  const region = (x: number, n: number) => (x < n - w ? 0 : x < n - s ? 1 : 2)
  const rolled = (r: number, c: number): [number, number] => [(r - s + Hp) % Hp, (c - s + Wp) % Wp]
  const keys = (r: number, c: number) => {
    const [a, b] = rolled(r, c), out: [number, number][] = []
    for (let r2 = 0; r2 < Hp; r2++) for (let c2 = 0; c2 < Wp; c2++) {
      const [a2, b2] = rolled(r2, c2)
      const same = Math.floor(a / w) === Math.floor(a2 / w) && Math.floor(b / w) === Math.floor(b2 / w)
      if (same && region(a, Hp) === region(a2, Hp) && region(b, Wp) === region(b2, Wp)) out.push([r2, c2])
    }
    return out
  }
  assertClose(windowAttention(q, k, v, { heads: 1, window: w, shift: s }), oracle(q, k, v, 1, Hp, Wp, keys), { atol: 1e-12, rtol: 1e-10 })
  // Relative bias: table[(Δi + w − 1)(2w − 1) + Δj + w − 1] per head, on window-local coordinates.
  const table = rnd([(2 * w - 1) ** 2, 1]), idx = relativePositionIndex([w, w])
  assert.is(idx[0 * 16 + 15], (0 - 3 + 3) * 7 + (0 - 3 + 3)) // p = (0,0), p' = (3,3)
  const bias = table.indexSelect(0, fromTypedArray(idx, [256])).reshape([16, 16, 1]).permute([2, 0, 1])
  const td = table.data()
  const local = (r: number, c: number) => { const [a, b] = rolled(r, c); return [a % w, b % w] }
  const tb = (_h: number, p: [number, number], p2: [number, number]) => {
    const [i, j] = local(...p), [i2, j2] = local(...p2)
    return td[(i - i2 + w - 1) * (2 * w - 1) + (j - j2 + w - 1)] as number
  }
  assertClose(windowAttention(q, k, v, { heads: 1, window: w, shift: s, bias }), oracle(q, k, v, 1, Hp, Wp, keys, tb), { atol: 1e-12, rtol: 1e-10 })
  assertThrows(() => windowAttention(q, k, v, { heads: 1, window: w, shift: 1, mode: 'remote' }), /shift needs mode 'close'/)
})

test('WindowMHSA hybrid = close + remote with shared projections; locality (sheet test 3)', () => {
  const m = new WindowMHSA({ dim: 4, dimV: 6, dimHead: 2, window: 2, mode: 'hybrid', vAct: 'gelu', generator: g, dtype: 'float64' })
  const x = rnd([1, 4, 4, 4])
  const y = noGrad(() => m.forward(x))
  const parts = (['close', 'remote'] as const).map((mode) => noGrad(() => { (m as { mode: string }).mode = mode; const r = m.forward(x); return r }))
  ;(m as { mode: string }).mode = 'hybrid'
  assertClose(y, parts[0].add(parts[1]), { atol: 1e-12, rtol: 1e-12, shape: [1, 6, 4, 4] })
  // p = (0, 0): close window {(0,0),(0,1),(1,0),(1,1)}, remote {(0,0),(0,2),(2,0),(2,2)}. (3, 3) is in neither.
  const at = (t: Tensor) => Array.from({ length: 6 }, (_, c) => t.data()[c * 16] as number)
  const poke = (r: number, c: number) => { const z = x.clone(); z.storage[1 * 16 + r * 4 + c] += 3; return noGrad(() => m.forward(z)) }
  assert.equal(at(poke(3, 3)), at(y))
  assert.equal(at(poke(1, 3)), at(y)) // outside both windows too
  for (const [r, c] of [[2, 2], [1, 1], [0, 2]]) assert.ok(Math.abs(at(poke(r, c))[0] - at(y)[0]) > 1e-6, `(${r},${c}) must reach (0,0)`)
})

test('gradcheck float64: WindowMHSA hybrid with padding (H = 5, W = 3), relative bias, shifted close', () => {
  const hyb = new WindowMHSA({ dim: 4, dimV: 4, dimHead: 2, window: 2, mode: 'hybrid', vAct: 'gelu', generator: g, dtype: 'float64' })
  const x = rnd([1, 4, 5, 3]).requiresGrad_()
  gradcheck((xx, w) => { void w; return hyb.forward(xx) }, [x, hyb.qk.weight])
  const rel = new WindowMHSA({ dim: 2, dimHead: 1, window: 3, shift: 1, positionBias: 'relative', maskPadding: true, outProj: true, generator: g, dtype: 'float64' })
  const x2 = rnd([1, 2, 5, 4]).requiresGrad_()
  gradcheck((xx) => rel.forward(xx), [x2, rel.relBiasClose!, rel.v.weight])
})

test('errors name the module and shapes', () => {
  assertThrows(() => new WindowMHSA({ dim: 6, dimHead: 4 }), /WindowMHSA: dimHead 4 must divide dim 6/)
  const m = new WindowMHSA({ dim: 4, dimHead: 2, generator: g })
  assertThrows(() => m.forward(randn([1, 3, 4, 4])), /WindowMHSA: x must have 4 channels, got \[1,3,4,4\]/)
  assertThrows(() => windowAttention(randn([1, 4, 4, 4]), randn([1, 4, 4, 4]), randn([1, 3, 4, 4]), { heads: 2, window: 2 }), /heads 2 must divide/)
})

test.run()

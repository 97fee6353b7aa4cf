/**
 * @file MIMO-VP (sheet 39, https://arxiv.org/abs/2212.04655): output shapes and the final layer's
 * reassembly, patch reshape against explicit indexing and its round trip, FrameAttention against a naive
 * loop (scale √(dh·h·w), rows summing to 1, no mask: frame order only permutes), deep supervision = mean
 * of per-layer and per-frame losses, one model call for MIMO vs T_out for the recursive rollout,
 * gradcheck in float64, the moving-digits motion (triangle-wave closed form, rendering), and the
 * shape-only Moving MNIST model's parameter and MAC counts against closed forms of the reference code.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, noGrad, profile, rand, randn, tensor, zeros } from '../../../src/index.ts'
import { mseLoss, l1Loss } from '../../../src/nn/losses.ts'
import { cat } from '../../../src/ops/indexing.ts'
import {
  Conv3dFFN, FrameAttention, MIMOVP, deepSupervisionLoss, movingDigits, patchReshape, patchReshapeBack, recursiveRollout,
} from '../../../src/nn/arch/39-mimo-vp.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const f64 = { dtype: 'float64' as const }
const tiny = { dModel: 8, heads: 2, nEnc: 1, nDec: 2, patch: 2 }

// NOTE: first, while the elementwise kernels are still cold: after they have been JIT-compiled on real
// data, their shape-only passes over zero-length buffers (out-of-bounds reads) run several times slower.
test('shape-only Moving MNIST MIMO-VP (d 128, 8 heads, 6 + 6 layers, p 2): params and MACs at 64x64, 10 -> 10 equal the closed forms', () => {
  const m = profile.shapeOnly(() => new MIMOVP('moving-mnist'))
  const d = 128, pc = 4, k3 = 27
  const gn = (c: number): number => 2 * c
  const stem = pc * d * 9 + gn(d)
  const attn = 4 * (d * d + gn(d))
  const ffn = d * 2 * d * k3 + gn(2 * d) + 2 * d * d * k3 + gn(d)
  const enc = attn + ffn + 2 * gn(d), dec = 2 * attn + ffn + 3 * gn(d)
  const head = d * d * 9 + gn(d) + d * pc
  assert.is(profile.countParams(m), 2 * stem + 6 * enc + 6 * dec + head)
  assert.is(profile.countParams(m), 22_606_592)
  const macs = profile.shapeOnly(() => profile.countMacs(() => noGrad(() => m.forward(zeros([1, 10, 4, 32, 32]))))).macs
  const T = 10, hw = 16 * 16
  const mStem = T * hw * d * pc * 9
  const mAttn = 4 * T * hw * d * d + 2 * T * T * d * hw // 4 conv1x1 + QKᵀ + AV
  const mFfn = 2 * T * hw * k3 * d * 2 * d
  const mHead = T * hw * d * d * 9 + T * 4 * hw * d * pc
  assert.is(macs, 2 * mStem + 6 * (mAttn + mFfn) + 6 * (2 * mAttn + mFfn) + 6 * mHead)
  assert.is(macs, 59_816_017_920) // ≈ 59.8 GMACs per 10 -> 10 clip
})

test('patchReshape matches explicit indexing: channel (i p + j) C + c holds pixel (y p + i, x p + j); round trip is exact', () => {
  const g = new Generator(1)
  const [B, T, C, H, W, p] = [2, 3, 2, 6, 4, 2]
  const x = randn([B, T, C, H, W], { generator: g })
  const y = patchReshape(x, p)
  assert.equal(y.shape, [B, T, p * p * C, H / p, W / p])
  const xd = x.data(), yd = y.data()
  let bad = 0
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < p; i++) for (let j = 0; j < p; j++)
    for (let c = 0; c < C; c++) for (let yy = 0; yy < H / p; yy++) for (let xx = 0; xx < W / p; xx++) {
      const got = yd[((((b * T + t) * p * p * C + (i * p + j) * C + c) * (H / p)) + yy) * (W / p) + xx]
      const want = xd[((((b * T + t) * C + c) * H) + yy * p + i) * W + xx * p + j]
      if (got !== want) bad++
    }
  assert.is(bad, 0)
  assert.equal(Array.from(patchReshapeBack(y, p).data()), Array.from(xd))
  assert.equal(Array.from(patchReshapeBack(patchReshape(x, 1), 1).data()), Array.from(xd))
  assertThrows(() => patchReshape(randn([1, 2, 1, 5, 4]), 2), /patchReshape: .*\[1,2,1,5,4\]/)
})

test('MIMOVP output is (B, T_out, p² nDec, H/p, W/p) in (0, 1); predict() reassembles the last p² channels', () => {
  const m = new MIMOVP({ ...tiny, generator: new Generator(2) })
  const video = rand([2, 3, 1, 8, 8], { generator: new Generator(3) })
  const out = noGrad(() => m.forward(patchReshape(video, 2)))
  assert.equal(out.shape, [2, 3, 4 * 2, 4, 4])
  const o = out.data()
  assert.ok(o.every((v) => v > 0 && v < 1))
  const pred = noGrad(() => m.predict(video))
  assert.equal(pred.shape, [2, 3, 1, 8, 8])
  assertClose(pred, patchReshapeBack(out.narrow(2, 4, 4), 2), { atol: 0 })
  // tOut = 1: one query, from the last observed frame
  const siso = new MIMOVP({ ...tiny, tOut: 1, generator: new Generator(2) })
  assert.equal(noGrad(() => siso.forward(patchReshape(video, 2))).shape, [2, 1, 8, 4, 4])
  assertThrows(() => m.forward(randn([1, 2, 1, 4, 4])), /MIMOVP: src must be \(B, T, 4, h, w\)/)
  assertThrows(() => new MIMOVP({ ...tiny, tOut: 4 }).forward(patchReshape(video, 2)), /MIMOVP: tOut 4 exceeds the 3 observed frames/)
  assertThrows(() => new MIMOVP('nope' as 'tiny'), /MIMOVP: unknown preset 'nope'/)
})

test('FrameAttention: weights = softmax(<vec Q_t, vec K_s> / sqrt(dh h w)) (naive loop), rows sum to 1, output = Σ a V then Conv1x1+GN+SiLU', () => {
  const g = new Generator(4)
  const [B, Tq, Tk, d, H, h, w] = [2, 3, 4, 6, 3, 2, 3]
  const attn = new FrameAttention(d, H, { generator: g, ...f64 })
  const q = randn([B, Tq, d, h, w], { generator: g, ...f64 }), kv = randn([B, Tk, d, h, w], { generator: g, ...f64 })
  const { out, weights } = noGrad(() => attn.attend(q, kv, kv))
  assert.equal(weights.shape, [B, H, Tq, Tk]); assert.equal(out.shape, [B, Tq, d, h, w])
  const proj = (p: typeof attn.q, x: Tensor5): Float64Array =>
    noGrad(() => p.forward(x.reshape([-1, d, h, w]))).data() as Float64Array // (B T, d, h, w)
  type Tensor5 = typeof q
  const Q = proj(attn.q, q), K = proj(attn.k, kv), V = proj(attn.v, kv)
  const dh = d / H, F = dh * h * w
  const mixed = new Float64Array(B * Tq * d * h * w) // (B, Tq, d, h, w)
  const wd = weights.data()
  for (let b = 0; b < B; b++) for (let n = 0; n < H; n++) for (let t = 0; t < Tq; t++) {
    const s = Array.from({ length: Tk }, (_, u) => {
      let dot = 0
      for (let f = 0; f < F; f++) dot += Q[(b * Tq + t) * d * h * w + n * F + f] * K[(b * Tk + u) * d * h * w + n * F + f]
      return dot / Math.sqrt(F)
    })
    const mx = Math.max(...s), e = s.map((v) => Math.exp(v - mx)), z = e.reduce((a, c) => a + c, 0)
    let rowSum = 0
    for (let u = 0; u < Tk; u++) {
      const a = e[u] / z, got = wd[((b * H + n) * Tq + t) * Tk + u]
      rowSum += got
      assert.ok(Math.abs(got - a) < 1e-12, `weight ${got} vs ${a}`)
      for (let f = 0; f < F; f++) mixed[(b * Tq + t) * d * h * w + n * F + f] += a * V[(b * Tk + u) * d * h * w + n * F + f]
    }
    assert.ok(Math.abs(rowSum - 1) < 1e-12)
  }
  const want = noGrad(() => attn.out.forward(tensor(mixed, f64).reshape([B * Tq, d, h, w]))).reshape([B, Tq, d, h, w])
  assertClose(out, want, { atol: 1e-12 })
})

test('FrameAttention has no mask or positional term: every weight > 0 and permuting key frames leaves the output unchanged', () => {
  const g = new Generator(5)
  const attn = new FrameAttention(4, 2, { generator: g, ...f64 })
  const x = randn([1, 4, 4, 2, 2], { generator: g, ...f64 })
  const { out, weights } = noGrad(() => attn.attend(x, x, x))
  assert.ok(weights.data().every((v) => v > 0)) // future frames are attended to (no causal mask)
  const perm = x.indexSelect(1, tensor([2, 0, 3, 1], { dtype: 'int32' }))
  assertClose(noGrad(() => attn.forward(x, perm, perm)), out, { atol: 1e-12 })
})

test('Conv3dFFN mixes neighbouring frames only (3-frame receptive field per layer)', () => {
  const g = new Generator(6)
  const ff = new Conv3dFFN(4, { generator: g, ...f64 })
  const x = randn([1, 6, 4, 2, 2], { generator: g, ...f64 }).requiresGrad_()
  ff.forward(x).select(1, 0).sum().backward() // output frame 0 sees input frames 0..2 through two 3-tap convs
  const gt = x.grad!.abs().sum([0, 2, 3, 4]).data() // (T,)
  assert.ok(gt[0] > 0 && gt[1] > 0 && gt[2] > 0)
  // frames 3.. enter only through the per-clip GroupNorm statistics of the first conv's output, never the conv taps
  const ff2 = new Conv3dFFN(4, { generator: new Generator(6), ...f64 })
  const y = noGrad(() => ff2.conv1.forward(x.detach().permute([0, 2, 1, 3, 4]))) // (1, 8, T, 2, 2)
  const x2 = x.detach().clone(); const d2 = x2.data() as Float64Array
  for (let i = 3 * 16; i < 6 * 16; i++) d2[i] += 1 // change frames 3..5
  const y2 = noGrad(() => ff2.conv1.forward(x2.permute([0, 2, 1, 3, 4])))
  assertClose(y.select(2, 0), y2.select(2, 0), { atol: 1e-12 })
  assertClose(y.select(2, 1), y2.select(2, 1), { atol: 1e-12 })
})

test('deep supervision: 10 MSE + L1 against the repeated target = mean of the per-layer losses = mean of the per-frame losses', () => {
  const g = new Generator(7)
  const [B, T, pc, L] = [2, 3, 4, 3]
  const out = rand([B, T, pc * L, 2, 2], { generator: g, ...f64 }), y = rand([B, T, pc, 2, 2], { generator: g, ...f64 })
  const total = deepSupervisionLoss(out, y).item()
  const one = (o: typeof out, t: typeof y): number => mseLoss(o, t).mul(10).add(l1Loss(o, t)).item()
  const perLayer = Array.from({ length: L }, (_, l) => one(out.narrow(2, l * pc, pc), y))
  const perFrame = Array.from({ length: T }, (_, t) => deepSupervisionLoss(out.narrow(1, t, 1), y.narrow(1, t, 1)).item())
  assert.ok(Math.abs(total - perLayer.reduce((a, b) => a + b, 0) / L) < 1e-12)
  assert.ok(Math.abs(total - perFrame.reduce((a, b) => a + b, 0) / T) < 1e-12)
  assertThrows(() => deepSupervisionLoss(out, rand([B, T, 5, 2, 2])), /deepSupervisionLoss/)
})

test('MIMO predicts T_out frames in one model call; the recursive rollout makes T_out calls and feeds predictions back', () => {
  const g = new Generator(8)
  const src = patchReshape(rand([1, 4, 1, 8, 8], { generator: g }), 2)
  const mimo = new MIMOVP({ ...tiny, generator: g })
  let calls = 0
  mimo.registerForwardHook(() => { calls++ })
  noGrad(() => mimo.forward(src))
  assert.is(calls, 1)
  const siso = new MIMOVP({ ...tiny, tOut: 1, generator: g })
  let sisoCalls = 0
  siso.registerForwardHook(() => { sisoCalls++ })
  const roll = noGrad(() => recursiveRollout(siso, src, 5))
  assert.is(sisoCalls, 5)
  assert.equal(roll.shape, [1, 5, 4, 4, 4])
  // by hand: step 1 sees the observed frames; step 2 sees observed frames 1..3 and the first prediction
  const first = noGrad(() => siso.lastLayer(siso.forward(src)))
  const second = noGrad(() => siso.lastLayer(siso.forward(cat([src.narrow(1, 1, 3), first], 1))))
  assertClose(roll.narrow(1, 0, 1), first, { atol: 0 })
  assertClose(roll.narrow(1, 1, 1), second, { atol: 0 })
})

test('gradcheck (float64): loss of a tiny MIMOVP w.r.t. the input frames and attention / FFN / head weights', () => {
  const g = new Generator(9)
  const m = new MIMOVP({ dModel: 4, heads: 2, nEnc: 1, nDec: 2, patch: 2, generator: g, ...f64 })
  const src = rand([1, 2, 4, 4, 4], { generator: g, ...f64 }).requiresGrad_()
  const y = rand([1, 2, 4, 4, 4], { generator: g, ...f64 })
  const enc = m.encoder[0] as unknown as { attn: FrameAttention }
  const fn = (s: typeof src): typeof src => deepSupervisionLoss(m.forward(s), y)
  gradcheck(fn, [src], { atol: 1e-6 })
  const params = [enc.attn.q.conv.weight, m.head.proj.weight, m.decStem.norm.weight!]
  gradcheck(() => fn(src), params, { atol: 1e-6 })
})

test('movingDigits: positions follow the bounce rule (triangle-wave closed form), frames render the glyphs, seeded', () => {
  const glyphs = rand([5, 8, 8], { generator: new Generator(10) })
  const S = 16, L = S - 8, T = 30
  const r = movingDigits({ n: 6, frames: T, size: S, digits: glyphs, perVideo: 2, maxSpeed: 3, generator: new Generator(11) })
  assert.equal(r.videos.shape, [6, T, 1, S, S])
  const tri = (x: number): number => L - Math.abs(L - (((x % (2 * L)) + 2 * L) % (2 * L)))
  let bounces = 0
  const vd = r.videos.data(), gd = glyphs.data()
  for (let i = 0; i < 6; i++) {
    const frame = new Float64Array(T * S * S)
    for (let k = 0; k < 2; k++) {
      const base = (i * 2 + k) * T * 2
      for (let a = 0; a < 2; a++) {
        const p0 = r.positions[base + a], v = r.velocities[(i * 2 + k) * 2 + a]
        assert.ok(Math.abs(v) >= 1 && Math.abs(v) <= 3)
        for (let t = 0; t < T; t++) {
          const p = r.positions[base + t * 2 + a]
          assert.is(p, tri(p0 + v * t), `video ${i} digit ${k} axis ${a} frame ${t}`)
          if (t >= 2) {
            const d1 = p - r.positions[base + (t - 1) * 2 + a], d0 = r.positions[base + (t - 1) * 2 + a] - r.positions[base + (t - 2) * 2 + a]
            if (d1 !== d0) bounces++
            else assert.is(Math.abs(d1), Math.abs(v)) // constant velocity between bounces
          }
        }
      }
      const id = r.glyphs[i * 2 + k]
      for (let t = 0; t < T; t++) {
        const [py, px] = [r.positions[base + t * 2], r.positions[base + t * 2 + 1]]
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
          const at = t * S * S + (py + y) * S + px + x
          frame[at] = Math.max(frame[at], gd[id * 64 + y * 8 + x])
        }
      }
    }
    for (let j = 0; j < T * S * S; j++) assert.ok(Math.abs(vd[i * T * S * S + j] - frame[j]) < 1e-7)
  }
  assert.ok(bounces > 10, `bounces ${bounces}`)
  const again = movingDigits({ n: 6, frames: T, size: S, digits: glyphs, perVideo: 2, maxSpeed: 3, generator: new Generator(11) })
  assert.equal(Array.from(again.positions), Array.from(r.positions))
  assertThrows(() => movingDigits({ n: 1, frames: 2, size: 16, digits: glyphs.mul(16), generator: new Generator(0) }), /movingDigits: digits must hold values in \[0, 1\]/)
  assertThrows(() => movingDigits({ n: 1, frames: 2, size: 9, digits: glyphs, maxSpeed: 2, generator: new Generator(0) }), /movingDigits: size 9/)
})

test.run()

/**
 * @file Paper 43, Unified Normalization (https://arxiv.org/abs/2208.01313): fold == norm-then-linear
 * (float64), the early regime equals the uncentred batch composite (forward and autograd backward,
 * plus gradcheck), the windowed regime against hand-computed formulas (geometric-mean var, BP window,
 * EMA, r clamp, dγ with r·z), running-stat update, eval uses running stats only, outlier skip, padding.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, randn, tensor, noGrad, type Tensor } from '../../../src/index.ts'
import { Linear } from '../../../src/nn/linear.ts'
import { UnifiedNorm, foldNorm, unifiedNormBatchRef } from '../../../src/nn/arch/43-unified-normalization.ts'
import { assertClose } from '../../helpers.ts'

const f64 = { dtype: 'float64' as const }
const rnd = (shape: number[], seed: number): Tensor => randn(shape, { ...f64, generator: new Generator(seed) })

test('foldNorm: Linear(UN_eval(x)) equals the folded Linear (float64, 1e-12)', () => {
  const un = new UnifiedNorm(6, f64)
  noGrad(() => {
    un.weight.copy_(rnd([6], 1)); un.bias.copy_(rnd([6], 2)); un.running_var.copy_(rnd([6], 3).abs().add(0.1))
  })
  const lin = new Linear(6, 5, { dtype: 'float64', generator: new Generator(4) })
  const x = rnd([3, 4, 6], 5)
  un.eval()
  const ref = lin.forward(un.forward(x))
  const folded = foldNorm(un, lin)
  assertClose(folded.forward(x), ref, { atol: 1e-12, rtol: 1e-12 })
  // explicit: W' = W diag(γ/√(rv+ε)), b' = b + Wβ
  const s = un.weight.div(un.running_var.add(1e-5).sqrt())
  assertClose(folded.weight, lin.weight.mul(s), { atol: 1e-14 })
  assertClose(folded.bias!, lin.bias!.add(lin.weight.matmul(un.bias.unsqueeze(1)).squeeze(1)), { atol: 1e-14 })
})

test('eval uses the running statistics only (no batch dependence, buffers untouched)', () => {
  const un = new UnifiedNorm(3, f64)
  noGrad(() => un.running_var.copy_(tensor([4, 9, 0.25], f64)))
  un.eval()
  const x = rnd([2, 5, 3], 6)
  const y = un.forward(x)
  assertClose(y, x.div(tensor([4, 9, 0.25], f64).add(1e-5).sqrt()), { atol: 1e-14 })
  // the same token gives the same output whatever batch it is in
  const y1 = un.forward(x.narrow(0, 0, 1))
  assertClose(y1, y.narrow(0, 0, 1), { atol: 1e-15 })
  assert.is(un.iters.item(), 0)
})

test('before the window fills: forward = x/√(mean x² + ε) (uncentred, batch-wide); backward = autograd of the composite', () => {
  const un = new UnifiedNorm(4, { ...f64, momentum: 0, warmupIters: 100 })
  noGrad(() => { un.weight.copy_(rnd([4], 7)); un.bias.copy_(rnd([4], 8)) })
  const x = rnd([2, 3, 4], 9).mul(3).add(1).requiresGrad_()
  const dy = rnd([2, 3, 4], 10)
  const y = un.forward(x)
  y.backward(dy)
  const xr = x.detach().clone().requiresGrad_()
  const w = un.weight.detach().clone().requiresGrad_(), b = un.bias.detach().clone().requiresGrad_()
  const yr = unifiedNormBatchRef(xr, w, b)
  yr.backward(dy)
  assertClose(y, yr, { atol: 1e-13 })
  assertClose(x.grad!, xr.grad!, { atol: 1e-12 })
  assertClose(un.weight.grad!, w.grad!, { atol: 1e-12 })
  assertClose(un.bias.grad!, b.grad!, { atol: 1e-12 })
  // gradcheck of the custom op itself (float64); every call is early regime (t < warmup, r = 1, momentum 0)
  const g = new UnifiedNorm(3, { ...f64, momentum: 0, warmupIters: 1e9 })
  const xs = rnd([2, 2, 3], 11).requiresGrad_()
  gradcheck((a) => g.forward(a), [xs])
  gradcheck((a, ww, bb) => unifiedNormBatchRef(a, ww, bb), [xs, g.weight, g.bias])
})

test('running-stat update: rv ← m rv + (1−m) var on a hand example', () => {
  const un = new UnifiedNorm(2, { ...f64, momentum: 0.9 })
  const x = tensor([[[1, 2], [3, 0]]], f64) // x2 = [(1+9)/2, (4+0)/2] = [5, 2]
  un.forward(x)
  assertClose(un.running_var, [0.9 + 0.1 * 5, 0.9 + 0.1 * 2], { atol: 1e-14 })
  assertClose(un.buffer_x2.select(0, 1), [5, 2], { atol: 1e-14 }) // slot t % W = 1
  un.forward(x.mul(2)) // x2 = [20, 8]
  assertClose(un.running_var, [0.9 * 1.4 + 0.1 * 20, 0.9 * 1.1 + 0.1 * 8], { atol: 1e-13 })
})

test('after warm-up: var = geometric mean of the last W second moments; backward = BP-window formulas with r clamped to [1/5, 5]', () => {
  const W = 2, m = 0.5, eps = 1e-5
  // gradScaleIters 2 stands in for the code's 1000 so that r is active from t = 3.
  const un = new UnifiedNorm(3, { ...f64, window: W, warmupIters: 0, momentum: m, gradScaleIters: 2 })
  noGrad(() => { un.weight.copy_(rnd([3], 12)); un.bias.copy_(rnd([3], 13)) })
  const x2 = (x: Tensor): Tensor => x.reshape([-1, 3]).square().mean(0)
  const xa = rnd([2, 4, 3], 14), xb = rnd([2, 4, 3], 15).mul(1.5), xc = rnd([2, 4, 3], 21).mul(0.7)
  un.forward(xa).backward(rnd([2, 4, 3], 16)) // t = 1: slot 1, var = x2
  un.forward(xb).backward(rnd([2, 4, 3], 22)) // t = 2: slot 0, var = x2
  const gzB = un.buffer_gz.select(0, 0).clone()
  const rv0 = un.running_var.clone(), emaBefore = un.ema_gz.clone()
  assertClose(rv0, tensor([1, 1, 1], f64).mul(m * m).add(x2(xa).mul((1 - m) * m)).add(x2(xb).mul(1 - m)), { atol: 1e-13 })
  un.zeroGrad()
  const xcg = xc.clone().requiresGrad_()
  const yc = un.forward(xcg) // t = 3: slot 1 <- x2(xc); var = geometric mean of x2(xb), x2(xc)
  const v = x2(xb).log().add(x2(xc).log()).div(2).exp()
  assertClose(yc, xc.div(v.add(eps).sqrt()).mul(un.weight).add(un.bias), { atol: 1e-12 })
  const r = v.add(eps).sqrt().div(rv0.add(eps).sqrt()).clamp(0.2, 5)
  assert.ok(r.sub(1).abs().amax().item() > 1e-2, 'r differs from 1 in this example')
  const dy = rnd([2, 4, 3], 17)
  yc.backward(dy)
  const z = xc.div(v.add(eps).sqrt())
  const g = dy.mul(un.weight).mul(r)
  const gz = g.mul(z).reshape([-1, 3]).mean(0)
  assertClose(un.buffer_gz.select(0, 1), gz, { atol: 1e-13 })
  const meanGz = gz.add(gzB).div(2) // mean of the BP window
  const ema = emaBefore.mul(m).add(meanGz.mul(1 - m))
  assertClose(un.ema_gz, ema, { atol: 1e-13 })
  assertClose(xcg.grad!, g.sub(z.mul(ema)).div(v.add(eps).sqrt()), { atol: 1e-12 })
  assertClose(un.weight.grad!, dy.mul(z.mul(r)).sum([0, 1]), { atol: 1e-12 }) // dγ uses r·z
  assertClose(un.bias.grad!, dy.sum([0, 1]), { atol: 1e-12 })
})

test('r = 1 while t ≤ max(1000, warmup): dγ = Σ dy z', () => {
  const un = new UnifiedNorm(2, { ...f64, window: 2, warmupIters: 0 })
  noGrad(() => un.running_var.fill_(100)) // r would be ≈ 0.1 otherwise
  const x = rnd([1, 3, 2], 18), dy = rnd([1, 3, 2], 19)
  un.forward(x).backward(dy)
  const z = x.div(x.reshape([-1, 2]).square().mean(0).add(1e-5).sqrt())
  assertClose(un.weight.grad!, dy.mul(z).sum([0, 1]), { atol: 1e-13 })
})

test('outlier filtration: a batch scaled ×100 after warm-up is skipped; its slot holds running_var; skip uses batch stats', () => {
  const un = new UnifiedNorm(3, { ...f64, window: 4, warmupIters: 6, outlierFiltration: true, momentum: 0.9 })
  for (let i = 0; i < 8; i++) un.forward(rnd([4, 5, 3], 100 + i))
  assert.is(un.skip_counter.item(), 0, 'ordinary batches are not skipped')
  const rv = un.running_var.clone()
  const big = rnd([4, 5, 3], 200).mul(100)
  const y = un.forward(big) // t = 9
  assert.is(un.skip_counter.item(), 1)
  assert.ok(un.lastSkip)
  assertClose(un.buffer_x2.select(0, 9 % 4), rv, { atol: 1e-14 })
  const x2 = big.reshape([-1, 3]).square().mean(0)
  assertClose(y, big.div(x2.add(1e-5).sqrt()), { atol: 1e-12 }) // var = x2 of the batch itself
})

test('padded tokens do not affect the statistics', () => {
  const a = new UnifiedNorm(3, f64), b = new UnifiedNorm(3, f64)
  const x = rnd([2, 4, 3], 20)
  const pad = tensor([[false, false, true, true], [false, false, false, true]], { dtype: 'bool' })
  const garbage = x.add(tensor([[[0], [0], [1e3], [-7e2]], [[0], [0], [0], [55]]], f64))
  const ya = a.forward(x, pad), yb = b.forward(garbage, pad)
  const keep = [0, 1, 4, 5, 6]
  const rows = x.reshape([-1, 3]).indexSelect(0, tensor(keep, { dtype: 'int32' }))
  const x2 = rows.square().mean(0)
  assertClose(a.buffer_x2, b.buffer_x2, { atol: 1e-14 })
  assertClose(ya.narrow(1, 0, 2), x.narrow(1, 0, 2).div(x2.add(1e-5).sqrt()), { atol: 1e-13 })
  assertClose(yb.narrow(1, 0, 2), ya.narrow(1, 0, 2), { atol: 1e-13 })
})

test.run()

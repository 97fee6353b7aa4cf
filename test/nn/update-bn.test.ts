/**
 * @file `updateBn` (precise BN, PyTorch's swa_utils.update_bn): the cumulative running statistics
 * equal the average of the batch means and unbiased variances by hand; BatchNorms nested in
 * containers are all reached; momentum and training flags are restored; and the mechanism it fixes —
 * an EMA of drifting batch statistics lags by (1 − m)/m drift steps, so eval mode is off by many std —
 * is removed (eval output == explicit normalisation with the current statistics).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, noGrad, randn, tensor } from '../../src/index.ts'
import { BatchNorm1d, BatchNorm2d } from '../../src/nn/norm.ts'
import { Sequential, ModuleList } from '../../src/nn/containers.ts'
import { Module } from '../../src/nn/module.ts'
import { Conv2d } from '../../src/nn/conv.ts'
import type { Tensor } from '../../src/tensor.ts'
import { updateBn } from '../../src/nn/update-bn.ts'
import { assertClose } from '../helpers.ts'

const f64 = { dtype: 'float64' as const }

/** Per-channel mean and unbiased variance of x (N, C, H, W) by hand. */
function stats(x: Tensor): { mean: number[]; uvar: number[] } {
  const [N, C, H, W] = x.shape, d = x.data(), M = N * H * W
  const mean: number[] = [], uvar: number[] = []
  for (let c = 0; c < C; c++) {
    let s = 0
    for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) s += d[(n * C + c) * H * W + i]
    const mu = s / M
    let q = 0
    for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) q += (d[(n * C + c) * H * W + i] - mu) ** 2
    mean.push(mu); uvar.push(q / (M - 1))
  }
  return { mean, uvar }
}

class Net extends Module {
  body = new ModuleList([new Sequential(new BatchNorm2d(3, f64))])
  conv = new Conv2d(3, 3, 1, { generator: new Generator(1), ...f64 })
  bn = new BatchNorm2d(3, { ...f64, momentum: 0.3 })
  forward(x: Tensor): Tensor { return this.bn.forward(this.conv.forward((this.body.at(0) as Sequential).forward<Tensor>(x))) }
}

test('updateBn: running stats = average of batch means / unbiased vars (nested BNs too), momentum and modes restored', () => {
  const net = new Net()
  const xs = [0, 1, 2].map((i) => randn([4, 3, 2, 5], { ...f64, generator: new Generator(10 + i) }).mul(i + 1).add(i))
  noGrad(() => { for (let i = 0; i < 5; i++) net.forward(xs[0].mul(7)) }) // stale statistics to be replaced
  net.eval()
  updateBn(xs, net)
  assert.is(net.training, false); assert.is(net.bn.training, false)
  assert.is(net.bn.momentum, 0.3)
  const inner = (net.body.at(0) as Sequential).at(0) as BatchNorm2d
  const per = xs.map(stats)
  const avg = (k: 'mean' | 'uvar') => [0, 1, 2].map((c) => per.reduce((s, p) => s + p[k][c], 0) / per.length)
  assertClose(inner.runningMean!, avg('mean'), { atol: 1e-12 })
  assertClose(inner.runningVar!, avg('uvar'), { atol: 1e-12 })
  assert.is(inner.numBatchesTracked!.item(), 3)
  // the outer BN sees the conv of the train-mode-normalised input
  const col = (v: number[]) => tensor(v, f64).reshape([1, 3, 1, 1])
  const hs = xs.map((x) => noGrad(() => net.conv.forward(x.sub(col(stats(x).mean)).div(col(stats(x).uvar.map((v) => (v * 39) / 40)).add(1e-5).sqrt()))))
  const perH = hs.map(stats)
  assertClose(net.bn.runningMean!, [0, 1, 2].map((c) => perH.reduce((s, p) => s + p.mean[c], 0) / 3), { atol: 1e-10 })
  assertClose(net.bn.runningVar!, [0, 1, 2].map((c) => perH.reduce((s, p) => s + p.uvar[c], 0) / 3), { atol: 1e-10 })
})

test('the lag it fixes: EMA of batch means drifting δ per step trails by δ (1 − m)/m; after updateBn eval == current normalisation', () => {
  const bn = new BatchNorm1d(2, f64) // momentum 0.1
  const z = randn([64, 2], { ...f64, generator: new Generator(3) })
  const delta = 0.5, T = 150, m = 0.1
  noGrad(() => { for (let t = 1; t <= T; t++) bn.forward(z.add(delta * t)) })
  const cur = z.add(delta * T), zm = z.mean(0).data()[0]
  // steady state of r_t = (1 − m) r_{t−1} + m (zm + δ t): the lag zm + δ T − r_T → δ (1 − m)/m = 9 δ
  const lag = zm + delta * T - bn.runningMean!.data()[0]
  assert.ok(Math.abs(lag - (delta * (1 - m)) / m) < 1e-4, `lag ${lag}`) // 4.5 std of z: eval mode far off
  updateBn([cur], bn)
  bn.eval()
  const mu = cur.mean(0, true), uvar = cur.sub(mu).square().sum(0, true).div(63)
  assertClose(bn.forward(cur), cur.sub(mu).div(uvar.add(1e-5).sqrt()), { atol: 1e-12 })
})

test.run()

/**
 * @file Paper 14, MIP hypernetworks (https://arxiv.org/abs/2304.07645): encodings of constant norm,
 * θ(γ) = θ₀ when W_out = 0 (and the primary net then equals a standalone net with θ₀), flatten /
 * unflatten round trip, hyperlight's init (per-tensor fan-out split, θ₀ Kaiming fan-in), exact
 * magnitude proportionality of the default parametrization vs MIP, functionalCall == loaded module
 * (Linear and Conv2d), and float64 gradcheck of the task loss w.r.t. hypernet weights.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Generator, gradcheck, linspace, nn, noGrad, randn, tensor, type Tensor } from '../../../src/index.ts'
import {
  HyperNet, HYPERNET_PARAMETRIZATIONS, encodeHyperInput, flatLayout, flattenParams, functionalCall, unflattenParams,
} from '../../../src/nn/arch/14-mip.ts'
import { assertClose, assertThrows } from '../../helpers.ts'

const f64 = { dtype: 'float64' as const }
const mlp = (seed: number, dims = [64, 32, 10], dtype: 'float32' | 'float64' = 'float32'): nn.Sequential => {
  const g = new Generator(seed)
  return new nn.Sequential(new nn.Linear(dims[0], dims[1], { generator: g, dtype }), new nn.Tanh(), new nn.Linear(dims[1], dims[2], { generator: g, dtype }))
}
const norm = (t: Tensor): number => Math.sqrt(t.square().sum().item())
const flatNorm = (ws: Record<string, Tensor>): number => Math.sqrt(Object.values(ws).reduce((s, t) => s + t.square().sum().item(), 0))
const std = (t: Tensor): number => Math.sqrt(t.square().mean().item())

test('encodings: cos|sin has ‖e‖ = 1 for every γ (1e-7), z|1-z sums to 1, none is the identity', () => {
  const g = linspace(0, 1, 101, f64).reshape([101, 1])
  const e = encodeHyperInput(g, 'cos|sin') // (101, 2)
  assert.equal(e.shape, [101, 2])
  const norms = e.square().sum(-1).sqrt().data()
  for (const n of norms) assert.ok(Math.abs(n - 1) < 1e-7, `‖e‖ = ${n}`)
  assertClose(encodeHyperInput(tensor([[0.5]], f64), 'cos|sin'), [[Math.SQRT1_2, Math.SQRT1_2]], { atol: 1e-15 })
  assertClose(encodeHyperInput(tensor([[0, 1]], f64), 'cos|sin'), [[1, Math.cos(Math.PI / 2), 0, 1]], { atol: 1e-15 })
  const z = encodeHyperInput(g, 'z|1-z')
  for (const s of z.sum(-1).data()) assert.ok(Math.abs(s - 1) < 1e-12)
  assert.is(encodeHyperInput(g, 'none'), g)
})

test('flatLayout / flattenParams / unflattenParams round-trip names, shapes, offsets (batched too)', () => {
  const layout = flatLayout({ '0.weight': [3, 4], '0.bias': [3], 'conv.weight': [2, 1, 3, 3], scalar: [] })
  assert.equal(layout.map((l) => [l.name, l.offset, l.size]), [['0.weight', 0, 12], ['0.bias', 12, 3], ['conv.weight', 15, 18], ['scalar', 33, 1]])
  const flat = randn([34], { generator: new Generator(1) })
  const named = unflattenParams(flat, layout)
  assert.equal(named['conv.weight'].shape, [2, 1, 3, 3])
  assert.equal(named.scalar.shape, [])
  assert.is(named['0.bias'].data()[1], flat.data()[13])
  assertClose(flattenParams(named, layout), flat, { atol: 0 })
  const batched = unflattenParams(randn([5, 34], { generator: new Generator(2) }), layout)
  assert.equal(batched['0.weight'].shape, [5, 3, 4])
  assertThrows(() => unflattenParams(randn([33]), layout), /P = 34/)
})

test('W_out = 0: θ(γ) = θ₀ for every γ, and the primary equals a standalone net loaded with θ₀', () => {
  const primary = mlp(0)
  const hyper = HyperNet.fromModule(primary, { inputShapes: { gamma: [1] }, hidden: [16, 64], generator: new Generator(3) })
  noGrad(() => hyper.output.weight.zero_())
  const theta0 = hyper.independentWeights()
  const x = randn([7, 64], { generator: new Generator(4) })
  const standalone = mlp(99)
  standalone.loadStateDict(theta0)
  const ref = standalone.forward<Tensor>(x)
  for (const gamma of [0, 0.25, 0.9, 1]) {
    const w = hyper.forward({ gamma: tensor([gamma]) })
    for (const [k, t] of Object.entries(theta0)) assertClose(w[k], t, { atol: 0 })
    assertClose(functionalCall<Tensor>(primary, w, x), ref, { atol: 1e-6 })
  }
  // θ₀ is a normal standalone init: `.weight` Kaiming-normal fan-in with gain √2, `.bias` 0.
  assert.ok(Math.abs(std(theta0['0.weight']) / Math.sqrt(2 / 64) - 1) < 0.05, `std ${std(theta0['0.weight'])}`)
  assert.ok(Math.abs(std(theta0['2.weight']) / Math.sqrt(2 / 32) - 1) < 0.1)
  assert.is(norm(theta0['0.bias']) + norm(theta0['2.bias']), 0)
})

test('init follows hyperlight: hidden fan-out √2, output rows split per tensor (fan-out = tensor size), .bias rows 0', () => {
  const hyper = new HyperNet({ inputShapes: { gamma: [1] }, outputShapes: { 'a.weight': [64, 64], 'a.bias': [64], 'b.weight': [8, 64] }, hidden: [512, 256], generator: new Generator(5) })
  const h1 = (hyper.hidden.at(1) as nn.Linear)
  assert.ok(Math.abs(std(h1.weight) / Math.sqrt(2 / 256) - 1) < 0.02, `hidden std ${std(h1.weight)}`)
  assert.is(norm(h1.bias!), 0)
  const W = hyper.output.weight // (P, H)
  assert.ok(Math.abs(std(W.narrow(0, 0, 4096)) / Math.sqrt(2 / 4096) - 1) < 0.01)
  assert.is(norm(W.narrow(0, 4096, 64)), 0)
  assert.ok(Math.abs(std(W.narrow(0, 4160, 512)) / Math.sqrt(2 / 512) - 1) < 0.02)
})

test('default parametrization is magnitude-proportional (θ(sγ) = sθ(γ), θ(0) = 0); MIP is not', () => {
  const shapes = { '0.weight': [32, 64], '0.bias': [32], '2.weight': [10, 32], '2.bias': [10] }
  const make = (p: 'default' | 'mip'): HyperNet =>
    new HyperNet({ inputShapes: { gamma: [1] }, outputShapes: shapes, hidden: [256, 256], ...HYPERNET_PARAMETRIZATIONS[p], generator: new Generator(6), dtype: 'float64' })
  const base = make('default'), mip = make('mip')
  const at = (h: HyperNet, g: number): Record<string, Tensor> => noGrad(() => h.forward({ gamma: tensor([g], f64) }))
  const w1 = at(base, 0.8), ws = at(base, 0.2)
  for (const k of Object.keys(shapes)) assertClose(ws[k], w1[k].mul(0.25), { atol: 1e-12 })
  assert.is(flatNorm(at(base, 0)), 0)
  // MIP: the predicted primary-weight magnitude barely moves over γ ∈ [0, 1] (the hidden
  // pre-activations have the same norm for every γ, and θ₀ is γ-independent).
  const mags = [0, 0.05, 0.25, 0.5, 0.75, 1].map((g) => flatNorm(at(mip, g)))
  const ratio = Math.max(...mags) / Math.min(...mags)
  assert.ok(ratio < 1.2, `MIP ‖θ(γ)‖ over γ: ${mags.map((m) => m.toFixed(3))}`)
  const baseMags = [0.05, 1].map((g) => flatNorm(at(base, g)))
  assertClose([baseMags[0] / baseMags[1]], [0.05], { atol: 1e-12 })
})

test('functionalCall equals the module with those weights loaded (Linear and Conv2d), restores its own weights', () => {
  const g = new Generator(7)
  const net = new nn.Sequential(new nn.Conv2d(1, 3, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 16, 5, { generator: g }))
  const donor = new nn.Sequential(new nn.Conv2d(1, 3, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.Flatten(), new nn.Linear(3 * 16, 5, { generator: g }))
  const own = net.parameters()
  const weights = Object.fromEntries(Object.entries(donor.stateDict()).map(([k, v]) => [k, v.clone().requiresGrad_()]))
  const x = randn([2, 1, 4, 4], { generator: g })
  const y = functionalCall<Tensor>(net, weights, x)
  assertClose(y, donor.forward<Tensor>(x), { atol: 1e-6 })
  assert.equal(net.parameters(), own)
  y.sum().backward()
  for (const t of Object.values(weights)) assert.ok(t.grad !== null && norm(t.grad) > 0)
  for (const p of own) assert.is(p.grad, null)
  // Partial replacement keeps the others; errors name the module and the shapes.
  const partial = functionalCall<Tensor>(net, { '3.bias': weights['3.bias'] }, x)
  const ownBias = (net.at(3) as nn.Linear).bias!
  assertClose(partial, noGrad(() => net.forward<Tensor>(x).sub(ownBias).add(weights['3.bias'])), { atol: 1e-6 })
  assertThrows(() => functionalCall(net, { 'nope.weight': weights['3.bias'] }, x), /functionalCall: .*no parameter or buffer named "nope.weight"/)
  assertThrows(() => functionalCall(net, { '3.bias': randn([4]) }, x), /3.bias has shape \[5\] in the module, got \[4\]/)
  assertThrows(() => functionalCall(net, { '3.weight': randn([5, 7]) }, x), /3.weight/)
  assertThrows(() => functionalCall(net, { '3.weight': randn([5, 48]) }, randn([2, 2, 4, 4])), /.*/)
  assert.equal(net.parameters(), own) // restored even though forward threw
})

test('gradients reach every hypernet weight; float64 gradcheck of the task loss through functionalCall', () => {
  const primary = mlp(8, [3, 4, 2], 'float64')
  const hyper = HyperNet.fromModule(primary, { inputShapes: { gamma: [1] }, hidden: [5], generator: new Generator(9), dtype: 'float64' })
  const x = randn([6, 3], { generator: new Generator(10), dtype: 'float64' })
  const y = tensor([0, 1, 1, 0, 1, 0], { dtype: 'int32' })
  const gamma = tensor([[0.3], [0.7]], f64)
  const loss = (): Tensor => {
    const ws = hyper.forward({ gamma }) // each (2, *shape)
    const l0 = nn.losses.crossEntropy(functionalCall<Tensor>(primary, Object.fromEntries(Object.entries(ws).map(([k, v]) => [k, v.select(0, 0)])), x), y)
    const l1 = nn.losses.crossEntropy(functionalCall<Tensor>(primary, Object.fromEntries(Object.entries(ws).map(([k, v]) => [k, v.select(0, 1)])), x), y)
    return l0.mul(0.7).add(l1.mul(0.3))
  }
  loss().backward()
  for (const [name, p] of hyper.namedParameters()) assert.ok(p.grad !== null && norm(p.grad) > 0, `no gradient for ${name}`)
  for (const p of primary.parameters()) assert.is(p.grad, null)
  const [h0] = hyper.hidden
  const W1 = (h0 as nn.Linear).weight, Wo = hyper.output.weight, bo = hyper.output.bias!
  gradcheck((a: Tensor, b: Tensor, c: Tensor) => {
    // The hypernet itself runs through functionalCall, so its weights are the gradcheck inputs.
    const theta = functionalCall<Record<string, Tensor>>(hyper, { 'hidden.0.weight': a, 'output.weight': b, 'output.bias': c }, { gamma: tensor([0.4], f64) })
    return nn.losses.crossEntropy(functionalCall<Tensor>(primary, theta, x), y)
  }, [W1.detach().clone().requiresGrad_(), Wo.detach().clone().requiresGrad_(), bo.detach().clone().requiresGrad_()])
})

test('HyperNet validates inputs', () => {
  const hyper = new HyperNet({ inputShapes: { gamma: [1], beta: [2] }, outputShapes: { w: [3] }, hidden: [4], generator: new Generator(11) })
  assert.equal(hyper.forward({ gamma: tensor([0.1]), beta: tensor([0.2, 0.3]) }).w.shape, [3])
  assert.equal(hyper.forward({ gamma: tensor([[0.1], [0.5]]), beta: tensor([[0.2, 0.3], [0, 1]]) }).w.shape, [2, 3])
  assertThrows(() => hyper.forward({ gamma: tensor([0.1]) }), /HyperNet: missing input beta/)
  assertThrows(() => hyper.forward({ gamma: tensor([0.1, 0.2]), beta: tensor([0.2, 0.3]) }), /HyperNet: input gamma must be \[1\]/)
  assertThrows(() => hyper.forward({ gamma: tensor([[0.1], [0.5]]), beta: tensor([[0.2, 0.3]]) }), /batch size/)
  assertThrows(() => new HyperNet({ inputShapes: { g: [1] }, outputShapes: { w: [3] }, hidden: [], encoding: 'bogus' as 'none' }), /unknown encoding/)
})

test.run()

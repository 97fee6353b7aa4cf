/**
 * @file Losses against PyTorch (test/fixtures/nn.json, section `losses`): every loss with each
 * reduction, class weights, ignoreIndex, label smoothing, probability targets, posWeight and
 * logTarget; output and the gradients of sum(out * v), in float64 and float32. Then gradchecks of the
 * composites (float64), the loss modules, and the error messages.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { F, Generator, gradcheck, nn, rand, randn, tensor, type Tensor } from '../../src/index.ts'
import { assertClose, assertThrows } from '../helpers.ts'
import { fixture, load, tol, values, type FT } from './nn-fixture.ts'

interface LossCase {
  name: string
  fn: string
  inputs: FT[]
  grad: boolean[]
  opts: Record<string, unknown>
  output: FT
  v: FT
  grads: (FT | null)[]
}

type Opts = Record<string, unknown>
const FNS: Record<string, (xs: Tensor[], o: Opts) => Tensor> = {
  crossEntropy: ([x, t], o) => F.crossEntropy(x, t, o),
  nllLoss: ([x, t], o) => F.nllLoss(x, t, o),
  mseLoss: ([x, t], o) => F.mseLoss(x, t, o),
  l1Loss: ([x, t], o) => F.l1Loss(x, t, o),
  huberLoss: ([x, t], o) => F.huberLoss(x, t, o),
  smoothL1Loss: ([x, t], o) => F.smoothL1Loss(x, t, o),
  binaryCrossEntropy: ([x, t], o) => F.binaryCrossEntropy(x, t, o),
  bceWithLogits: ([x, t], o) => F.bceWithLogits(x, t, o),
  klDiv: ([x, t], o) => F.klDiv(x, t, o),
  cosineSimilarity: ([a, b], o) => F.cosineSimilarity(a, b, o.dim as number, o.eps as number | undefined),
  cosineEmbeddingLoss: ([a, b, y], o) => F.cosineEmbeddingLoss(a, b, y, o),
}

const isFT = (v: unknown): v is FT => typeof v === 'object' && v !== null && 'shape' in v && 'data' in v

for (const c of fixture.losses as LossCase[]) {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`${c.name} matches PyTorch (${dtype})`, () => {
      const xs = c.inputs.map((t, i) => { const x = load(t, dtype); return c.grad[i] ? x.requiresGrad_() : x })
      const opts = Object.fromEntries(Object.entries(c.opts).map(([k, v]) => [k, isFT(v) ? load(v, dtype) : v]))
      const out = FNS[c.fn](xs, opts)
      const t = tol(dtype)
      assert.is(out.dtype, dtype)
      assertClose(out, values(c.output), { ...t, shape: c.output.shape, msg: `${c.name} output` })
      if (!c.grad.some(Boolean)) return
      out.mul(load(c.v, dtype)).sum().backward()
      c.grads.forEach((g, i) => {
        if (!g) return
        assert.ok(xs[i].grad, `${c.name}: no gradient for input ${i}`)
        assertClose(xs[i].grad!, values(g), { ...t, shape: g.shape, msg: `${c.name} grad ${i}` })
      })
    })
  }
}

const f64 = (shape: number[], seed: number): Tensor => randn(shape, { dtype: 'float64', generator: new Generator(seed) }).requiresGrad_()
const ids = (data: number[]): Tensor => tensor(data, { dtype: 'int32' })
const w64 = tensor([0.5, 1.5, 2, 0.7], { dtype: 'float64' })

test('gradcheck: classification losses (float64)', () => {
  const x = f64([3, 4], 1)
  const t = ids([2, -100, 0])
  gradcheck((x) => F.crossEntropy(x, t, { weight: w64, labelSmoothing: 0.2 }), [x])
  gradcheck((x) => F.crossEntropy(x, t, { reduction: 'none', labelSmoothing: 0.1 }), [x])
  const p = f64([3, 4], 2)
  gradcheck((x, p) => F.crossEntropy(x, p.softmax(1), { weight: w64, labelSmoothing: 0.3 }), [x, p])
  const sp = f64([2, 4, 3], 3)
  gradcheck((x) => F.crossEntropy(x, ids([0, 3, 1, 2, -100, 1]).reshape([2, 3]), { weight: w64 }), [sp])
  gradcheck((x) => F.nllLoss(x.logSoftmax(1), ids([1, 3, 3]), { weight: w64, reduction: 'sum' }), [x])
})

test('gradcheck: binary, regression and similarity losses (float64)', () => {
  const x = f64([3, 4], 4), y = f64([3, 4], 5)
  const target = rand([3, 4], { dtype: 'float64', generator: new Generator(6) })
  const pw = tensor([1, 2, 0.5, 3], { dtype: 'float64' })
  gradcheck((x, y) => F.bceWithLogits(x, y.sigmoid(), { weight: w64, posWeight: pw }), [x, y])
  gradcheck((x) => F.binaryCrossEntropy(x.sigmoid(), target, { weight: w64, reduction: 'sum' }), [x])
  gradcheck((x, y) => F.mseLoss(x, y), [x, y])
  gradcheck((x, y) => F.l1Loss(x, y, { reduction: 'none' }), [x, y])
  gradcheck((x, y) => F.huberLoss(x, y, { delta: 0.8 }), [x, y])
  gradcheck((x, y) => F.smoothL1Loss(x, y, { beta: 0.6, reduction: 'sum' }), [x, y])
  gradcheck((x, y) => F.klDiv(x.logSoftmax(1), y.softmax(1), { reduction: 'batchmean' }), [x, y])
  gradcheck((x, y) => F.klDiv(x.logSoftmax(1), y.logSoftmax(1), { logTarget: true }), [x, y])
  gradcheck((x, y) => F.cosineSimilarity(x, y, 1), [x, y])
  gradcheck((x, y) => F.cosineEmbeddingLoss(x, y, ids([1, -1, -1]), { margin: -0.9, reduction: 'none' }), [x, y])
})

test('edge cases: BCE-with-logits gradient at x = 0, huge logits, all targets ignored, BCE clamp, zero-norm cosine', () => {
  const x = tensor([0, 100, -100], { dtype: 'float64' }).requiresGrad_()
  const y = tensor([1, 0, 1], { dtype: 'float64' })
  const l = F.bceWithLogits(x, y, { reduction: 'none' })
  assertClose(l, [Math.log(2), 100, 100], { atol: 1e-12 })
  l.sum().backward()
  assertClose(x.grad!, [-0.5, 1, -1], { atol: 1e-12 }) // sigmoid(x) - y
  assert.ok(Number.isNaN(F.crossEntropy(randn([2, 3]), ids([-100, -100])).item()), 'mean over no targets is NaN, as PyTorch')
  assert.is(F.crossEntropy(randn([2, 3]), ids([-100, -100]), { reduction: 'sum' }).item(), 0)
  // BCE: the -100 clamp keeps the loss finite, and the gradient at p = 0 is 0 rather than NaN.
  const p = tensor([0, 1], { dtype: 'float64' }).requiresGrad_()
  const b = F.binaryCrossEntropy(p, tensor([1, 0], { dtype: 'float64' }), { reduction: 'none' })
  assert.equal(b.toArray(), [100, 100])
  b.sum().backward()
  assert.equal(p.grad!.toArray(), [0, 0])
  // cosineSimilarity of an all-zero vector: 0, with gradient x2 / (eps |x2|) (torch 1.13 clamps the squared norm).
  const z = tensor([[0, 0, 0]], { dtype: 'float64' }).requiresGrad_()
  const o = tensor([[1, 2, 3]], { dtype: 'float64' }).requiresGrad_()
  const cz = F.cosineSimilarity(z, o)
  assert.equal(cz.toArray(), [0])
  cz.sum().backward()
  assertClose(z.grad!, [1, 2, 3].map((v) => v / (1e-8 * Math.sqrt(14))), { rtol: 1e-12 })
  assert.equal(o.grad!.toArray(), [[0, 0, 0]])
})

test('loss modules equal the functions; weights are buffers under PyTorch names', () => {
  const x = randn([4, 3], { generator: new Generator(9) }), t = ids([0, 2, 1, 2])
  const w = tensor([1, 2, 3])
  const ce = new nn.CrossEntropyLoss({ weight: w, labelSmoothing: 0.1, ignoreIndex: 1 })
  assert.equal(ce.forward(x, t).item(), F.crossEntropy(x, t, { weight: w, labelSmoothing: 0.1, ignoreIndex: 1 }).item())
  assert.equal(Object.keys(ce.stateDict()), ['weight'])
  assert.equal(Object.keys(new nn.BCEWithLogitsLoss({ posWeight: w }).stateDict()), ['pos_weight'])
  const y = randn([4, 3], { generator: new Generator(10) })
  const pairs: [nn.Module & { forward(a: Tensor, b: Tensor): Tensor }, Tensor][] = [
    [new nn.MSELoss({ reduction: 'sum' }), F.mseLoss(x, y, { reduction: 'sum' })],
    [new nn.L1Loss(), F.l1Loss(x, y)],
    [new nn.HuberLoss({ delta: 0.5 }), F.huberLoss(x, y, { delta: 0.5 })],
    [new nn.SmoothL1Loss({ beta: 0.5 }), F.smoothL1Loss(x, y, { beta: 0.5 })],
    [new nn.KLDivLoss({ reduction: 'batchmean', logTarget: true }), F.klDiv(x, y, { reduction: 'batchmean', logTarget: true })],
    [new nn.BCEWithLogitsLoss({ weight: w }), F.bceWithLogits(x, y.sigmoid(), { weight: w })],
    [new nn.BCELoss(), F.binaryCrossEntropy(x.sigmoid(), y.sigmoid())],
    [new nn.NLLLoss({ weight: w }), F.nllLoss(x.logSoftmax(1), t, { weight: w })],
    [new nn.CosineSimilarity({ dim: 0 }), F.cosineSimilarity(x, y, 0)],
  ]
  const args: Tensor[][] = [[x, y], [x, y], [x, y], [x, y], [x, y], [x, y.sigmoid()], [x.sigmoid(), y.sigmoid()], [x.logSoftmax(1), t], [x, y]]
  pairs.forEach(([m, expected], i) => assert.equal(m.forward(args[i][0], args[i][1]).toArray(), expected.toArray(), m.constructor.name))
  const cel = new nn.CosineEmbeddingLoss({ margin: 0.1 })
  assert.equal(cel.forward(x, y, ids([1, -1, 1, -1])).item(), F.cosineEmbeddingLoss(x, y, ids([1, -1, 1, -1]), { margin: 0.1 }).item())
})

test('clear errors name the op and the shapes', () => {
  const x = randn([4, 5])
  assertThrows(() => F.crossEntropy(x, ids([0, 1, 7, 2])), /crossEntropy: target 7 is out of bounds for 5 classes \(input \[4,5\], target \[4\]/)
  assertThrows(() => F.crossEntropy(x, ids([0, 1, 2])), /crossEntropy: target shape \[3\] does not fit input \[4,5\]: expected \[4\]/)
  assertThrows(() => F.crossEntropy(x, tensor([0, 1, 2, 3])), /crossEntropy: class-index target must be an int32 tensor, got float32 of shape \[4\] for input \[4,5\]/)
  assertThrows(() => F.crossEntropy(x, ids(new Array(20).fill(0)).reshape([4, 5])), /crossEntropy: a target of the input's shape \[4,5\] holds class probabilities and must be float, got int32/)
  assertThrows(() => F.crossEntropy(x, x.softmax(1), { ignoreIndex: 1 }), /ignoreIndex \(1\) is not supported for probability targets/)
  assertThrows(() => F.crossEntropy(x, ids([0, 1, 2, 3]), { weight: tensor([1, 2]) }), /crossEntropy: weight must be a 1-D float tensor of 5 class weights, got float32 \[2\]/)
  assertThrows(() => F.crossEntropy(x, ids([0, 1, 2, 3]), { labelSmoothing: 1.5 }), /labelSmoothing must be in \[0, 1\]/)
  assertThrows(() => F.crossEntropy(x, ids([0, 1, 2, 3]), { reduction: 'avg' as 'mean' }), /crossEntropy: reduction must be one of 'mean', 'sum', 'none', got "avg"/)
  assertThrows(() => F.nllLoss(x, ids([-1, 0, 0, 0])), /nllLoss: target -1 is out of bounds for 5 classes/)
  assertThrows(() => F.mseLoss(randn([4, 1]), randn([4])), /mseLoss: target shape \[4\] differs from input shape \[4,1\]/)
  assertThrows(() => F.binaryCrossEntropy(tensor([0.5, 1.5]), tensor([0, 1])), /binaryCrossEntropy: all elements of input must be between 0 and 1, got values in \[0.5, 1.5\]/)
  assertThrows(() => F.klDiv(x, x, { reduction: 'avg' as 'mean' }), /klDiv: reduction must be one of 'mean', 'sum', 'none', 'batchmean'/)
  assertThrows(() => F.huberLoss(x, x, { delta: 0 }), /huberLoss: delta must be positive/)
  assertThrows(() => F.cosineEmbeddingLoss(x, x, ids([1, -1])), /cosineEmbeddingLoss: expected x1, x2 of shape \(N, D\) with y \(N\)/)
  assertThrows(() => F.bceWithLogits(x, x, { posWeight: tensor([[[1]], [[2]]]) }), /posWeight broadcast the loss to \[2,4,5\], beyond the input shape \[4,5\]/)
})

test.run()

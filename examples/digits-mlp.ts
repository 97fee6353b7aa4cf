/**
 * @file The main job until the CLI lands: a 64-128-10 MLP trained on the bundled 8x8 digits with
 * plain minibatch SGD + momentum written out by hand, reporting loss and held-out accuracy.
 *
 *   npx tsx examples/digits-mlp.ts            # full run (a few seconds)
 *   npx tsx examples/digits-mlp.ts --quick    # two epochs, for smoke tests
 */
import { readFileSync } from 'node:fs'
import { Generator, noGrad, randn, tensor, zeros, type Tensor } from '../src/index.ts'

export interface DigitsRun { epochs: number; seed: number; log?: (line: string) => void }
export interface DigitsResult { trainLoss: number[]; testAccuracy: number; seconds: number }

/** Reads data/digits.csv: 64 pixels (0..16) and a label per line. */
export function loadDigits(): { x: Tensor; y: Tensor } {
  const rows = readFileSync(new URL('../data/digits.csv', import.meta.url), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number))
  const x = tensor(rows.map((r) => r.slice(0, 64).map((v) => v / 16))) // (1797, 64) scaled to [0, 1]
  const y = tensor(rows.map((r) => r[64]), { dtype: 'int32' }) // (1797,)
  return { x, y }
}

const crossEntropy = (logits: Tensor, y: Tensor): Tensor => logits.logSoftmax(1).gather(1, y.unsqueeze(1)).mean().neg()

export function trainDigits({ epochs, seed, log = () => {} }: DigitsRun): DigitsResult {
  const start = performance.now()
  const g = new Generator(seed)
  const { x, y } = loadDigits()
  // Seeded 80/20 split.
  const order = Array.from({ length: x.shape[0] }, (_, i) => i)
  for (let i = order.length - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [order[i], order[j]] = [order[j], order[i]] }
  const nTest = Math.round(0.2 * order.length)
  const idx = (ids: number[]): Tensor => tensor(ids, { dtype: 'int32' })
  const testIds = idx(order.slice(0, nTest)), trainIds = order.slice(nTest)
  const [xTest, yTest] = [x.indexSelect(0, testIds), y.indexSelect(0, testIds)]

  // Kaiming-uniform-like init, scaled by fan-in.
  const W1 = randn([64, 128], { generator: g }).mul(Math.sqrt(2 / 64)).requiresGrad_()
  const b1 = zeros([128]).requiresGrad_()
  const W2 = randn([128, 10], { generator: g }).mul(Math.sqrt(1 / 128)).requiresGrad_()
  const b2 = zeros([10]).requiresGrad_()
  const params = [W1, b1, W2, b2]
  const velocity = params.map((p) => zeros(p.shape))
  const model = (xb: Tensor): Tensor => xb.matmul(W1).add(b1).relu().matmul(W2).add(b2)

  const lr = 0.1, momentum = 0.9, batch = 64
  const trainLoss: number[] = []
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = trainIds.length - 1; i > 0; i--) { const j = g.nextInt(0, i + 1); [trainIds[i], trainIds[j]] = [trainIds[j], trainIds[i]] }
    let total = 0, count = 0
    for (let s = 0; s < trainIds.length; s += batch) {
      const ids = idx(trainIds.slice(s, s + batch))
      const loss = crossEntropy(model(x.indexSelect(0, ids)), y.indexSelect(0, ids))
      for (const p of params) p.grad = null
      loss.backward()
      noGrad(() => params.forEach((p, k) => {
        velocity[k].mul_(momentum).add_(p.grad!)
        p.sub_(velocity[k], lr)
      }))
      total += loss.item() * ids.shape[0]
      count += ids.shape[0]
    }
    trainLoss.push(total / count)
    log(`epoch ${epoch + 1}/${epochs}  train loss ${(total / count).toFixed(4)}`)
  }
  const testAccuracy = noGrad(() => model(xTest).argmax(1).eq(yTest).float().mean().item())
  return { trainLoss, testAccuracy, seconds: (performance.now() - start) / 1000 }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick')
  const r = trainDigits({ epochs: quick ? 2 : 30, seed: 0, log: console.log })
  console.log(`test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on the held-out 20% (360 digits), ${r.seconds.toFixed(1)} s`)
}

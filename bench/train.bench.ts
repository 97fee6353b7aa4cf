/**
 * @file Whole training steps (forward, backward, Adam update): an MLP 784-256-256-10 on a batch of
 * 128 and a small CNN on a batch of 64 28x28 images. Inputs and labels are seeded; `trainCase(key)`
 * gives the same data to the tfjs peers (bench/peers.ts).
 */
import { F, Generator, nn, optim, randint, randn, type Tensor } from '../src/index.ts'
import { wasmImpl, type Workload } from './harness.ts'

export interface TrainCase { x: Tensor; y: Tensor; kind: 'mlp' | 'cnn' }

/** Inputs of workload 'train-mlp' (x (128, 784)) or 'train-cnn' (x (64, 1, 28, 28)); labels (N,) int32. */
export function trainCase(key: string): TrainCase | null {
  const g = new Generator(42)
  if (key === 'train-mlp') return { kind: 'mlp', x: randn([128, 784], { generator: g }), y: randint(0, 10, [128], { generator: g }) }
  if (key === 'train-cnn') return { kind: 'cnn', x: randn([64, 1, 28, 28], { generator: g }), y: randint(0, 10, [64], { generator: g }) }
  return null
}

/** The CNN both tessera and the peers run: conv3x3(1->8) relu pool2, conv3x3(8->16) relu pool2, linear(784->10). */
export function smallCnn(g: Generator): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.MaxPool2d({ kernelSize: 2 }),
    new nn.Conv2d(8, 16, 3, { padding: 1, generator: g }), new nn.ReLU(), new nn.MaxPool2d({ kernelSize: 2 }),
    new nn.Flatten(), new nn.Linear(16 * 7 * 7, 10, { generator: g }),
  )
}

function stepFn(model: nn.Sequential, c: TrainCase): () => unknown {
  const opt = new optim.Adam(model.parameters(), { lr: 1e-3 })
  return () => {
    const loss = F.crossEntropy(model.forward(c.x), c.y)
    opt.zeroGrad()
    loss.backward()
    opt.step()
    return loss.item()
  }
}

export function trainWorkloads(): Workload[] {
  const mlp = trainCase('train-mlp')!, cnn = trainCase('train-cnn')!
  const g = new Generator(7)
  const mlpModel = new nn.Sequential(new nn.Linear(784, 256, { generator: g }), new nn.ReLU(), new nn.Linear(256, 256, { generator: g }), new nn.ReLU(), new nn.Linear(256, 10, { generator: g }))
  const mlpFlops = 6 * 128 * (784 * 256 + 256 * 256 + 256 * 10) // forward 2MNK, backward twice that
  return [
    { key: 'train-mlp', title: 'MLP 784-256-256-10 train step, batch 128, Adam', flops: mlpFlops, impls: [{ label: 'tessera', fn: stepFn(mlpModel, mlp) }, wasmImpl(stepFn(mlpModel, mlp))] },
    { key: 'train-cnn', title: 'small CNN train step, batch 64 of 28x28, Adam', impls: [{ label: 'tessera', fn: stepFn(smallCnn(g), cnn) }, wasmImpl(stepFn(smallCnn(g), cnn))] },
  ]
}

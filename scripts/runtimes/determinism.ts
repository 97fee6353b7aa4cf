/**
 * @file Seeded results every runtime must reproduce. `exact` holds values built only from integer
 * arithmetic and IEEE +,-,*,/ (uniform draws, a matmul, an SGD step on a linear model with MSE), which
 * must agree bit for bit; `approx` holds values that pass through Math.log/cos/exp (normal draws, a
 * softmax), compared to 1e-6.
 */
import { manualSeed, noGrad, rand, randn, softmax, nn, optim, F, getBackend, setBackend, type Tensor } from '../../src/index.ts'

const values = (t: Tensor) => Array.from(t.data(), Number)

export function determinism(): { exact: Record<string, number[]>; approx: Record<string, number[]> } {
  // Bit-for-bit agreement across runtimes is a property of the typed-array kernels: the WASM GEMM's
  // micro-kernel (and whether it fuses multiply-adds) is chosen per engine.
  const before = getBackend()
  setBackend('js')
  try { return probe() } finally { setBackend(before) }
}

function probe(): { exact: Record<string, number[]>; approx: Record<string, number[]> } {
  manualSeed(42)
  const u = rand([4, 5])
  const a = rand([16, 24], { dtype: 'float64' }), b = rand([24, 8], { dtype: 'float64' })
  const mm32 = rand([33, 17]).matmul(rand([17, 9]))
  const model = new nn.Linear(5, 3)
  // Re-initialise with uniform draws so the exact group stays free of transcendental functions.
  noGrad(() => { for (const p of model.parameters()) p.copy_(rand(p.shape).sub(0.5)) })
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 })
  const x = rand([8, 5]), y = rand([8, 3])
  const losses: number[] = []
  for (let i = 0; i < 3; i++) {
    const loss = F.mseLoss(model.forward(x), y)
    losses.push(loss.item())
    loss.backward()
    opt.step()
    opt.zeroGrad()
  }
  const exact = {
    uniform: values(u),
    matmul64: values(a.matmul(b)),
    matmul32: values(mm32),
    sgdLosses: losses,
    sgdParams: model.parameters().flatMap(values),
  }
  manualSeed(7)
  const n = randn([6, 7])
  const approx = { normal: values(n), softmax: values(softmax(n, -1)) }
  return { exact, approx }
}

/** @file Row-wise and elementwise kernels: softmax, GELU, layerNorm, and the autograd tape with tiny ops. */
import { F, Generator, randn, tensor, type Tensor } from '../src/index.ts'
import { wasmImpl, type Workload } from './harness.ts'

export function rowWorkloads({ quick }: { quick: boolean }): Workload[] {
  const g = new Generator(3)
  const rows = quick ? 256 : 1024
  const s = randn([rows, 1024], { generator: g })
  const n = quick ? 1 << 18 : 1 << 20
  const v = randn([n], { generator: g })
  const ln = randn([rows, 768], { generator: g }) // (rows, 768)
  const lw = randn([768], { generator: g }).mul(0.1).add(1), lb = randn([768], { generator: g }).mul(0.1) // (768,)
  return [
    { key: 'softmax', title: `softmax over [${rows},1024]`, bytes: 8 * rows * 1024, impls: [{ label: 'tessera', fn: () => s.softmax(1) }, wasmImpl(() => s.softmax(1))] },
    { key: 'gelu', title: `GELU (erf) on ${n} floats`, bytes: 8 * n, impls: [
      { label: 'tessera', fn: () => v.gelu() },
      { label: 'tessera tanh approx', fn: () => v.gelu('tanh') },
      wasmImpl(() => v.gelu()),
    ] },
    { key: 'layernorm', title: `layerNorm over [${rows},768]`, bytes: 8 * rows * 768, impls: [
      { label: 'tessera', fn: () => F.layerNorm(ln, [768], lw, lb) },
      { label: 'tessera composite', fn: () => layerNormComposite(ln, lw, lb) },
      wasmImpl(() => F.layerNorm(ln, [768], lw, lb)),
    ] },
  ]
}

/** layerNorm from tensor ops (mean, var, arithmetic): what the fused kernel replaces. */
function layerNormComposite(x: Tensor, w: Tensor, b: Tensor): Tensor {
  const mean = x.mean(-1, true)
  const xc = x.sub(mean)
  return xc.mul(xc.mul(xc).mean(-1, true).add(1e-5).rsqrt()).mul(w).add(b)
}

/** 10,000 elementwise ops on 4-element tensors, recorded on the tape, then one backward pass. */
export function tapeWorkloads({ quick }: { quick: boolean }): Workload[] {
  const steps = quick ? 2000 : 10000
  const w = tensor([0.5, -0.25, 1, 2], { requiresGrad: true })
  return [{
    key: 'tape', title: `${steps} tiny ops with a gradient tape (+ backward)`, impls: [{
      label: 'tessera',
      fn: () => {
        let y = w
        for (let i = 0; i < steps / 2; i++) y = y.mul(0.999).add(w)
        w.grad = null
        y.sum().backward()
      },
    }],
  }]
}

/**
 * @file Elementwise kernels, typed-array vs WebAssembly SIMD (src/wasm/elementwise.ts): a plain
 * add, a bias add (row broadcast), an NCHW channel-broadcast multiply, and GELU forward/backward.
 * Backward runs with no graph recorded, so it is the fused `kernels.geluBackward`. Peers: tfjs has
 * tf.add / tf.mul (bench/peers.ts would need a case keyed on these workloads) but no GELU op.
 */
import { Generator, noGrad, randn, type Tensor } from '../src/index.ts'
import { unaryOps } from '../src/ops/elementwise.ts'
import { wasmImpl, type Workload } from './harness.ts'

/** The fused GELU backward as the op calls it: g * gelu'(x) with no graph. */
function geluBackwardFused(g: Tensor, x: Tensor): Tensor {
  return noGrad(() => unaryOps.gelu.backward({ saved: [x], needsGrad: [true] } as never, g, { p: 0, q: 0, dtype: 'float32' })[0] as Tensor)
}

export function elementwiseWasmWorkloads({ quick }: { quick: boolean }): Workload[] {
  const g = new Generator(10)
  const n = quick ? 1 << 18 : 1 << 20
  const a = randn([n], { generator: g }), b = randn([n], { generator: g }) // (n,)
  const B = quick ? 1024 : 4096
  const h = randn([B, 256], { generator: g }), bias = randn([256], { generator: g }) // (B, 256), (256,)
  const N = quick ? 16 : 64
  const img = randn([N, 32, 16, 16], { generator: g }), scale = randn([1, 32, 1, 1], { generator: g }) // (N, C, H, W), (1, C, 1, 1)
  const pair = (fn: () => unknown): Workload['impls'] => [{ label: 'tessera', fn }, wasmImpl(fn)]
  const out: Workload[] = [
    { key: 'ew-add', title: `add [${n}] + [${n}]`, bytes: 12 * n, impls: pair(() => a.add(b)) },
    { key: 'ew-bias-add', title: `bias add [${B},256] + [256]`, bytes: 8 * B * 256, impls: pair(() => h.add(bias)) },
    { key: 'ew-channel-mul', title: `channel mul [${N},32,16,16] * [1,32,1,1]`, bytes: 8 * N * 32 * 256, impls: pair(() => img.mul(scale)) },
  ]
  for (const m of quick ? [1 << 16] : [1 << 16, 1 << 20]) {
    const x = randn([m], { generator: g }), dy = randn([m], { generator: g }) // (m,)
    out.push({ key: `ew-gelu-${m}`, title: `GELU forward on ${m} floats`, bytes: 8 * m, impls: pair(() => x.gelu()) })
    out.push({ key: `ew-gelu-bwd-${m}`, title: `GELU backward on ${m} floats`, bytes: 12 * m, impls: pair(() => geluBackwardFused(dy, x)) })
  }
  return out
}

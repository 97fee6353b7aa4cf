/**
 * @file Depthwise convolution, typed-array kernels (baseline) against the WebAssembly SIMD kernels
 * (src/wasm/depthwise.ts), forward and backward (grad-input + grad-weight), on MobileNet /
 * EfficientNet layer shapes and the digits-net shape. NCHW float32, padding (k − 1)/2.
 * `depthwisePeer(key)` gives the tf.depthwiseConv2d peer (NHWC, filter (kH, kW, C, 1), converted
 * outside the timing) for bench/peers.ts in --compare mode.
 */
import { Generator } from '../src/rng.ts'
import {
  depthwiseConv2dBackwardInput, depthwiseConv2dBackwardWeight, depthwiseConv2dForward, type Depthwise2d,
} from '../src/kernels/depthwise.ts'
import {
  depthwiseConv2dBackwardInputWasm, depthwiseConv2dBackwardWeightWasm, depthwiseConv2dForwardWasm,
} from '../src/wasm/depthwise.ts'
import type { Workload } from './harness.ts'

/** [N, C, H, k, s]: the layer shapes. */
export const DEPTHWISE_SHAPES: Record<string, [number, number, number, number, number]> = {
  'dw-1x32x112-k3s1': [1, 32, 112, 3, 1], // MobileNetV2 block 1
  'dw-1x144x56-k3s2': [1, 144, 56, 3, 2], // MobileNetV2 / EfficientNet-B0 stage 2 downsampling
  'dw-1x240x28-k5s1': [1, 240, 28, 5, 1], // EfficientNet-B0 stage 4
  'dw-1x672x14-k5s2': [1, 672, 14, 5, 2], // EfficientNet-B0 stage 5 -> 6
  'dw-64x32x16-k3s1': [64, 32, 16, 3, 1], // digits nets (8x8 upsampled to 16x16), batch 64
  'dw-8x16x8-k3s1': [8, 16, 8, 3, 1], // a small layer near the threshold
}

export interface DepthwiseCase { g: Depthwise2d; x: Float32Array; w: Float32Array; dy: Float32Array }

export function depthwiseCase(key: string): DepthwiseCase | null {
  const s = DEPTHWISE_SHAPES[key.replace(/-(fwd|bwd)$/, '')]
  if (!s) return null
  const [N, C, H, k, st] = s
  const p = (k - 1) / 2, Ho = Math.floor((H + 2 * p - k) / st) + 1
  const g: Depthwise2d = { N, C, M: 1, H, W: H, Ho, Wo: Ho, kH: k, kW: k, sH: st, sW: st, dH: 1, dW: 1, pH: p, pW: p }
  const gen = new Generator(1000 * C + H)
  const r = (n: number): Float32Array => Float32Array.from({ length: n }, () => gen.nextNormal())
  return { g, x: r(N * C * H * H), w: r(C * k * k), dy: r(N * C * Ho * Ho) }
}

const strides4 = (a: number, b: number, c: number, d: number): number[] => [b * c * d, c * d, d, 1]

function impls(c: DepthwiseCase, bwd: boolean): Workload['impls'] {
  const { g, x, w, dy } = c
  const xs = strides4(g.N, g.C, g.H, g.W), ws = strides4(g.C, 1, g.kH, g.kW), dys = strides4(g.N, g.C, g.Ho, g.Wo)
  const y = new Float32Array(dy.length), dx = new Float32Array(x.length), dw = new Float32Array(w.length)
  const k = bwd
    ? [depthwiseConv2dBackwardInput, depthwiseConv2dBackwardWeight, depthwiseConv2dBackwardInputWasm, depthwiseConv2dBackwardWeightWasm] as const
    : null
  if (k) {
    return [
      { label: 'tessera', fn: () => { k[0](dx, dy, 0, dys, w, 0, ws, g); k[1](dw, x, 0, xs, dy, 0, dys, g) } },
      { label: 'tessera wasm', fn: () => { k[2](dx, dy, 0, dys, w, 0, ws, g); k[3](dw, x, 0, xs, dy, 0, dys, g) } },
    ]
  }
  return [
    { label: 'tessera', fn: () => depthwiseConv2dForward(y, x, 0, xs, w, 0, ws, g) },
    { label: 'tessera wasm', fn: () => depthwiseConv2dForwardWasm(y, x, 0, xs, w, 0, ws, g) },
  ]
}

export function depthwiseWasmWorkloads({ quick }: { quick: boolean }): Workload[] {
  const keys = quick ? ['dw-1x32x112-k3s1', 'dw-1x240x28-k5s1'] : Object.keys(DEPTHWISE_SHAPES)
  const out: Workload[] = []
  for (const key of keys) {
    const c = depthwiseCase(key)!
    const { N, C, Ho, Wo, kH, kW, sH } = c.g
    const fl = 2 * N * C * Ho * Wo * kH * kW
    const shape = `[${N},${C},${c.g.H},${c.g.W}] ${kH}x${kW} s${sH}`
    out.push({ key: `${key}-fwd`, title: `depthwise ${shape} forward`, flops: fl, impls: impls(c, false) })
    out.push({ key: `${key}-bwd`, title: `depthwise ${shape} backward (dx + dw)`, flops: 2 * fl, impls: impls(c, true) })
  }
  return out
}

type TF = typeof import('@tensorflow/tfjs-core')

/** tf.depthwiseConv2d on the same values (forward), or its two gradient kernels (backward). */
export function depthwisePeer(key: string): ((tf: TF) => () => unknown) | null {
  const c = depthwiseCase(key)
  if (!c) return null
  const { g } = c
  const nhwc = (a: Float32Array, N: number, C: number, H: number, W: number): Float32Array => {
    const o = new Float32Array(a.length)
    for (let n = 0; n < N; n++) for (let ch = 0; ch < C; ch++) for (let i = 0; i < H * W; i++) o[(n * H * W + i) * C + ch] = a[(n * C + ch) * H * W + i]
    return o
  }
  const x = nhwc(c.x, g.N, g.C, g.H, g.W), dy = nhwc(c.dy, g.N, g.C, g.Ho, g.Wo)
  const f = new Float32Array(c.w.length) // (kH, kW, C, 1)
  for (let ch = 0; ch < g.C; ch++) for (let t = 0; t < g.kH * g.kW; t++) f[t * g.C + ch] = c.w[ch * g.kH * g.kW + t]
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [g.pH, g.pH], [g.pW, g.pW], [0, 0]] // PyTorch-style symmetric padding
  return (tf) => {
    const xt = tf.tensor4d(x, [g.N, g.H, g.W, g.C]), ft = tf.tensor4d(f, [g.kH, g.kW, g.C, 1]), dyt = tf.tensor4d(dy, [g.N, g.Ho, g.Wo, g.C])
    if (key.endsWith('-fwd')) return () => tf.tidy(() => tf.depthwiseConv2d(xt, ft, g.sH, pad).dataSync())
    // backward: the two gradient kernels tf.depthwiseConv2d's gradient runs (tfjs-backend-wasm registers neither, so that peer errors)
    const attrs = { strides: [g.sH, g.sW], pad: g.pH, dilations: [1, 1], dimRoundingMode: undefined }
    const run = (name: string, inputs: Record<string, unknown>, extra: Record<string, unknown>): { dataSync(): unknown } =>
      tf.engine().runKernel(name, inputs as never, { ...attrs, ...extra } as never) as unknown as { dataSync(): unknown }
    return () => tf.tidy(() => {
      run('DepthwiseConv2dNativeBackpropInput', { dy: dyt, filter: ft }, { inputShape: [g.N, g.H, g.W, g.C] }).dataSync()
      run('DepthwiseConv2dNativeBackpropFilter', { x: xt, dy: dyt }, { filterShape: [g.kH, g.kW, g.C, 1] }).dataSync()
    })
  }
}

/**
 * @file Convolutions: conv2d 3x3 (im2col + kernels.gemm) and depthwise 3x3 (direct kernel), tuned
 * against the Ref oracles (im2colRef + gemmRef, depthwiseConv2dForwardRef) over a size ladder.
 * All workloads: batch 1, stride 1, padding 1 ('same'), NCHW, float32.
 * `convCase(key)` rebuilds a workload's inputs so that the tfjs peers (bench/peers.ts) run on the
 * same values (converted to NHWC / HWIO there).
 */
import { F, Generator, randn, type Tensor } from '../src/index.ts'
import { gemmRef } from '../src/kernels/gemm.ts'
import { im2colRef } from '../src/kernels/conv.ts'
import { depthwiseConv2dForwardRef } from '../src/kernels/depthwise.ts'
import { stopThreads } from '../src/node/index.ts'
import { warmThreads } from './gemm.bench.ts'
import { wasmImpl, type Workload } from './harness.ts'

export interface ConvCase {
  depthwise: boolean
  Cin: number
  Cout: number
  /** Square image side. */
  H: number
  x: Tensor // (1, Cin, H, H)
  w: Tensor // (Cout, Cin, 3, 3), or (C, 1, 3, 3) for depthwise
}

/** The inputs of workload `conv2d-{Cin}x{Cout}-{H}` or `dwconv2d-{C}-{H}`; null for other keys. */
export function convCase(key: string): ConvCase | null {
  const dense = /^conv2d-(\d+)x(\d+)-(\d+)$/.exec(key)
  const dw = /^dwconv2d-(\d+)-(\d+)$/.exec(key)
  if (!dense && !dw) return null
  const [Cin, Cout, H] = dense ? dense.slice(1).map(Number) : [Number(dw![1]), Number(dw![1]), Number(dw![2])]
  const g = new Generator(1000 * Cin + H)
  const x = randn([1, Cin, H, H], { generator: g })
  const w = randn([Cout, dense ? Cin : 1, 3, 3], { generator: g }).mul(1 / Math.sqrt(9 * (dense ? Cin : 1)))
  return { depthwise: !dense, Cin, Cout, H, x, w }
}

const flopsOf = (c: ConvCase): number => 2 * c.Cout * (c.depthwise ? 1 : c.Cin) * 9 * c.H * c.H

/** The Ref pipeline on raw arrays: im2colRef then gemmRef (or the depthwise Ref). */
function refConv(c: ConvCase): () => unknown {
  const { Cin, Cout, H, x, w } = c
  const out = new Float32Array(Cout * H * H) // (Cout, H, H)
  if (c.depthwise) {
    const geo = { N: 1, C: Cin, M: 1, H, W: H, Ho: H, Wo: H, kH: 3, kW: 3, sH: 1, sW: 1, dH: 1, dW: 1, pH: 1, pW: 1 }
    return () => { depthwiseConv2dForwardRef(out, x.storage, 0, x.strides, w.storage, 0, w.strides, geo); return out }
  }
  const cols = new Float32Array(Cin * 9 * H * H) // (Cin 9, H H)
  const win = { N: 1, C: Cin, size: [1, H, H], out: [1, H, H], kernel: [1, 3, 3], stride: [1, 1, 1], dilation: [1, 1, 1], pad: [0, 1, 1] }
  const xs = [x.strides[0], x.strides[1], 0, x.strides[2], x.strides[3]]
  return () => {
    im2colRef(cols, x.storage, 0, xs, win)
    gemmRef({ M: Cout, N: H * H, K: Cin * 9, a: w.storage, aOff: 0, aRs: Cin * 9, aCs: 1, b: cols, bOff: 0, bRs: H * H, bCs: 1, c: out, cOff: 0 })
    return out
  }
}

function workload(key: string, withRef: boolean, threads: boolean): Workload {
  const c = convCase(key)!
  const run = c.depthwise
    ? () => F.conv2d(c.x, c.w, null, { padding: 1, groups: c.Cin })
    : () => F.conv2d(c.x, c.w, null, { padding: 1 })
  const impls: Workload['impls'] = []
  if (withRef) impls.push({ label: 'tessera (ref)', fn: refConv(c) })
  impls.push({ label: 'tessera', fn: run })
  impls.push(wasmImpl(run))
  if (threads) impls.push({ label: 'tessera 2 threads', setup: () => warmThreads(run), teardown: () => stopThreads(), fn: run })
  const title = c.depthwise ? `depthwise conv2d 3x3 C=${c.Cin} on ${c.H}x${c.H}` : `conv2d 3x3 ${c.Cin}->${c.Cout} on ${c.H}x${c.H}`
  return { key, title, flops: flopsOf(c), impls }
}

export function convWorkloads({ quick }: { quick: boolean }): Workload[] {
  const out = [workload('conv2d-64x64-56', true, true), workload('dwconv2d-32-112', true, false)]
  const ladder = quick ? ['conv2d-16x16-32', 'conv2d-32x32-28'] : ['conv2d-16x16-32', 'conv2d-32x32-28', 'conv2d-64x64-28', 'conv2d-128x128-14', 'conv2d-256x256-7']
  for (const key of ladder) out.push(workload(key, true, false))
  if (!quick) {
    // One training step: forward plus input and weight gradients (about 3x the forward FLOPs).
    const c = convCase('conv2d-64x64-56')!
    const x = c.x.detach().requiresGrad_(), w = c.w.detach().requiresGrad_()
    out.push({
      key: 'conv2d-64x64-56-train', title: 'conv2d 3x3 64->64 on 56x56, forward + backward', flops: 3 * flopsOf(c),
      impls: [{ label: 'tessera', fn: () => { x.grad = null; w.grad = null; F.conv2d(x, w, null, { padding: 1 }).sum().backward() } }],
    })
  }
  return out
}

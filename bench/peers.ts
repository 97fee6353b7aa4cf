/**
 * @file Compare mode: the same workloads on @tensorflow/tfjs-backend-cpu and -wasm, and the sgemm
 * ladder on @jax-js/jax's wasm device (dev dependencies used only here), in the same process and
 * run as tessera, on the same input values. Each peer implementation downloads its result
 * (dataSync) so lazy backends do the full work.
 */
import { fileURLToPath } from 'node:url'
import type { Workload } from './harness.ts'
import { convCase } from './conv.bench.ts'
import { trainCase } from './train.bench.ts'
import { depthwisePeer } from './depthwise-wasm.bench.ts'

type TF = typeof import('@tensorflow/tfjs-core')

/** Peer implementations by workload key: each gets tf and returns the function to time. */
type PeerBuilder = (tf: TF) => () => unknown

function peerBuilders(key: string): PeerBuilder | null {
  const dw = depthwisePeer(key)
  if (dw) return dw
  const conv = convPeer(key) ?? trainPeer(key)
  if (conv) return conv
  const gemm = /^sgemm-(\d+)$/.exec(key)
  if (gemm) {
    const n = Number(gemm[1])
    return (tf) => { const a = tf.randomNormal([n, n], 0, 1, 'float32', 1), b = tf.randomNormal([n, n], 0, 1, 'float32', 2); return () => tf.tidy(() => tf.matMul(a, b).dataSync()) }
  }
  const mv = /^matvec-(\d+)$/.exec(key)
  if (mv) {
    const n = Number(mv[1])
    return (tf) => { const a = tf.randomNormal([n, n], 0, 1, 'float32', 1), x = tf.randomNormal([n, 1], 0, 1, 'float32', 2); return () => tf.tidy(() => tf.matMul(a, x).dataSync()) }
  }
  return null
}

/**
 * One Adam training step of the same MLP or CNN on the same data (NHWC for the CNN), with
 * tf.train.adam and softmax cross-entropy; weights are glorot-normal-ish random, as their values do
 * not change the work.
 */
function trainPeer(key: string): PeerBuilder | null {
  const c = trainCase(key)
  if (!c) return null
  const x = (c.kind === 'cnn' ? c.x.permute([0, 2, 3, 1]).contiguous() : c.x).data() as Float32Array
  const labels = Array.from(c.y.data())
  return (tf) => {
    const xs = c.kind === 'cnn' ? tf.tensor4d(x, [64, 28, 28, 1]) : tf.tensor2d(x, [128, 784])
    const ys = tf.oneHot(tf.tensor1d(labels, 'int32'), 10)
    const v = (shape: number[], seed: number): import('@tensorflow/tfjs-core').Variable => tf.variable(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), 1 / Math.sqrt(shape.slice(0, -1).reduce((p, d) => p * d, 1))))
    const opt = tf.train.adam(1e-3)
    type T = import('@tensorflow/tfjs-core').Tensor
    let forward: () => T
    if (c.kind === 'mlp') {
      const [w1, b1, w2, b2, w3, b3] = [v([784, 256], 1), v([256], 2), v([256, 256], 3), v([256], 4), v([256, 10], 5), v([10], 6)]
      forward = () => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(xs, w1), b1)), w2), b2)), w3), b3)
    } else {
      const [k1, c1, k2, c2, w, b] = [v([3, 3, 1, 8], 1), v([8], 2), v([3, 3, 8, 16], 3), v([16], 4), v([784, 10], 5), v([10], 6)]
      type T4 = import('@tensorflow/tfjs-core').Tensor4D
      const block = (h: T4, k: T4, bias: T): T4 => tf.maxPool(tf.relu(tf.add(tf.conv2d(h, k, 1, 'same'), bias)) as T4, 2, 2, 'valid')
      forward = () => tf.add(tf.matMul(tf.reshape(block(block(xs as T4, k1 as T4, c1), k2 as T4, c2), [64, 784]), w), b)
    }
    return () => tf.tidy(() => opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, forward()) as import('@tensorflow/tfjs-core').Scalar, true)!.dataSync())
  }
}

/** tf.conv2d / tf.depthwiseConv2d on the tessera workload's values, converted to NHWC and HWIO (HWC1). */
function convPeer(key: string): PeerBuilder | null {
  const c = convCase(key)
  if (!c) return null
  const { Cin, Cout, H } = c
  const x = c.x.permute([0, 2, 3, 1]).contiguous().data() as Float32Array // (1, H, H, Cin)
  // dense (Cout, Cin, 3, 3) -> (3, 3, Cin, Cout); depthwise (C, 1, 3, 3) -> (3, 3, C, 1)
  const f = c.w.permute(c.depthwise ? [2, 3, 0, 1] : [2, 3, 1, 0]).contiguous().data() as Float32Array
  const fShape: [number, number, number, number] = c.depthwise ? [3, 3, Cin, 1] : [3, 3, Cin, Cout]
  return (tf) => {
    const xt = tf.tensor4d(x, [1, H, H, Cin]), ft = tf.tensor4d(f, fShape)
    return c.depthwise
      ? () => tf.tidy(() => tf.depthwiseConv2d(xt, ft, 1, 'same').dataSync())
      : () => tf.tidy(() => tf.conv2d(xt, ft, 1, 'same').dataSync())
  }
}

const titleShape = (w: Workload): number[] | null => {
  const m = /\[(\d+),(\d+)\]/.exec(w.title)
  return m ? [Number(m[1]), Number(m[2])] : null
}

function rowPeer(w: Workload): PeerBuilder | null {
  if (w.key === 'softmax') {
    const shape = titleShape(w)!
    return (tf) => { const x = tf.randomNormal(shape, 0, 1, 'float32', 3); return () => tf.tidy(() => tf.softmax(x).dataSync()) }
  }
  if (w.key === 'layernorm') {
    const shape = titleShape(w)!
    // tfjs has no layerNorm op: moments over the last axis, then the arithmetic.
    return (tf) => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 3)
      const g = tf.randomNormal([shape[1]], 1, 0.1, 'float32', 4), b = tf.randomNormal([shape[1]], 0, 0.1, 'float32', 5)
      return () => tf.tidy(() => {
        const { mean, variance } = tf.moments(x, -1, true)
        return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b).dataSync()
      })
    }
  }
  if (w.key === 'gelu') {
    const n = Number(/on (\d+) floats/.exec(w.title)![1])
    // tfjs-core has no GELU op; this is its exact-erf formula from primitive ops.
    return (tf) => { const x = tf.randomNormal([n], 0, 1, 'float32', 3); return () => tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)).dataSync()) }
  }
  if (w.key === 'tape') {
    const steps = Number(/^(\d+)/.exec(w.title)![1])
    return (tf) => {
      const w0 = tf.tensor1d([0.5, -0.25, 1, 2])
      const f = (v: import('@tensorflow/tfjs-core').Tensor): import('@tensorflow/tfjs-core').Scalar => {
        let y = v
        for (let i = 0; i < steps / 2; i++) y = tf.add(tf.mul(y, 0.999), v)
        return tf.sum(y)
      }
      const grad = tf.grad(f)
      return () => tf.tidy(() => grad(w0).dataSync())
    }
  }
  return null
}

/** Adds 'tfjs-cpu' and 'tfjs-wasm' implementations to every workload that has a peer. */
export async function addPeers(workloads: Workload[]): Promise<Workload[]> {
  const tf = await import('@tensorflow/tfjs-core')
  // tfjs-core registers no gradients by itself; the @tensorflow/tfjs bundle registers them (for
  // the training-step workloads) into the same tfjs-core instance.
  await import('@tensorflow/tfjs')
  await import('@tensorflow/tfjs-backend-cpu')
  const wasm = await import('@tensorflow/tfjs-backend-wasm')
  wasm.setWasmPaths(fileURLToPath(new URL('../node_modules/@tensorflow/tfjs-backend-wasm/dist/', import.meta.url)))
  return workloads.map((w) => {
    const build = peerBuilders(w.key) ?? rowPeer(w)
    if (!build) return w
    const peer = (backend: 'cpu' | 'wasm'): Workload['impls'][number] => {
      let fn: () => unknown = () => { throw new Error('not set up') }
      return {
        label: `tfjs-${backend}`,
        setup: async () => { await tf.setBackend(backend); await tf.ready(); fn = build(tf) },
        fn: () => fn(),
      }
    }
    const jax = jaxPeer(w.key)
    return { ...w, impls: [peer('cpu'), peer('wasm'), ...(jax ? [jax] : []), ...w.impls] }
  })
}

/** jax-js (wasm device) on the sgemm ladder: `np.matmul` of the same-shaped operands, result downloaded. */
function jaxPeer(key: string): Workload['impls'][number] | null {
  const m = /^sgemm-(\d+)$/.exec(key)
  if (!m) return null
  const n = Number(m[1])
  let fn: () => unknown = () => { throw new Error('not set up') }
  return {
    label: 'jax-js-wasm',
    setup: async () => {
      // jax-js probes navigator.gpu for WebGPU; Node 20 has no navigator.
      const g = globalThis as { navigator?: object }
      g.navigator ??= {}
      const jax = await import('@jax-js/jax')
      await jax.init()
      jax.defaultDevice('wasm')
      const a = jax.numpy.array(Float32Array.from({ length: n * n }, (_, i) => Math.sin(i))).reshape([n, n])
      const b = jax.numpy.array(Float32Array.from({ length: n * n }, (_, i) => Math.cos(i))).reshape([n, n])
      // jax-js arrays are consumed by ops; .ref keeps a and b alive across calls.
      fn = () => jax.numpy.matmul(a.ref, b.ref).dataSync()
    },
    fn: () => fn(),
  }
}

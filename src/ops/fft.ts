/**
 * @file Causal long convolution of per-channel sequences with per-channel kernels, the convolution
 * mode of S4/S4D (Gu et al. 2022, https://arxiv.org/abs/2206.11893: y = K * u, computed as
 * irfft(rfft(u, 2L) rfft(K, 2L))[:L]), as one differentiable primitive.
 *
 * Shapes: u (B, D, L), k (D, Lk) -> y (B, D, L) with y[b,d,t] = Σ_{j <= t, j < Lk} k[d,j] u[b,d,t-j].
 * Backward is the same convolution on reversed sequences (the adjoint of a causal convolution is an
 * anti-causal correlation): du = rev(rev(g) * k), dk = rev(rev(g) * u)[:Lk] summed over the batch.
 * `method: 'auto'` picks direct below a measured crossover and FFT above it.
 */
import { check, fmtShape } from '../errors.ts'
import { isFloating } from '../dtype.ts'
import { Tensor, emptyTensor } from '../tensor.ts'
import { apply, firstOrderOnly, type OpDef } from './op.ts'
import { convScratch } from '../kernels/fft.ts'
import { kernels } from '../kernels/registry.ts'
import type { TypedArray } from '../dtype.ts'

export type ConvMethod = 'auto' | 'fft' | 'direct'

/**
 * Direct convolution costs L Lk multiply-adds, FFT about 2 n log2 n complex butterflies
 * (n = nextPow2(L + Lk - 1)). Measured on this machine (bench/scan.bench.ts, B = 1, D = 16,
 * Lk = L): direct wins at L = 32 and 64, FFT wins from L = 128 on. So: direct when Lk <= 64.
 */
export const FFT_CONV_MIN_KERNEL = 64

function useFft(method: ConvMethod, Lk: number): boolean {
  return method === 'fft' || (method === 'auto' && Lk > FFT_CONV_MIN_KERNEL)
}

/** y (Bt, D, L) = causal conv of u (Bt, D, L) with k (D, Lk), per row by FFT or directly. */
function convRows(y: TypedArray, u: TypedArray, k: TypedArray, Bt: number, D: number, L: number, Lk: number, fftPath: boolean): void {
  const s = fftPath ? convScratch(L, Lk) : null
  for (let b = 0; b < Bt; b++) {
    for (let d = 0; d < D; d++) {
      const row = (b * D + d) * L
      if (s) kernels.fftConv(y, row, u, row, L, k, d * Lk, Lk, s)
      else kernels.causalConvDirect(y, row, u, row, L, k, d * Lk, Lk)
    }
  }
}

/** Reverses each length-L row of a (R, L) buffer into a float64 copy. */
function reversedRows(x: TypedArray, R: number, L: number): Float64Array {
  const out = new Float64Array(R * L) // (R, L)
  for (let r = 0; r < R; r++) for (let t = 0; t < L; t++) out[r * L + t] = x[r * L + L - 1 - t]
  return out
}

interface ConvArgs { method: ConvMethod }

export const causalConvOp: OpDef<ConvArgs> = {
  name: 'causalConv1dLong',
  forward(ctx, inputs, { method }) {
    const [u, k] = inputs.map((t) => (t.isContiguous() && t.offset === 0 ? t : t.contiguous()))
    const [Bt, D, L] = u.shape, Lk = k.shape[1]
    const y = emptyTensor(u.shape, u.dtype) // (B, D, L)
    convRows(y.storage, u.storage, k.storage, Bt, D, L, Lk, useFft(method, Lk))
    ctx.save(u, k)
    return y
  },
  backward(ctx, grad, { method }) {
    firstOrderOnly('causalConv1dLong')
    const [u, k] = ctx.saved
    const [Bt, D, L] = u.shape, Lk = k.shape[1]
    const g = grad.contiguous()
    const gRev = reversedRows(g.storage, Bt * D, L) // (B, D, L) reversed in time
    const fftPath = useFft(method, Math.max(Lk, L))
    let du: Tensor | null = null, dk: Tensor | null = null
    if (ctx.needsGrad[0]) {
      const tmp = new Float64Array(Bt * D * L) // (B, D, L)
      convRows(tmp, gRev, k.storage, Bt, D, L, Lk, useFft(method, Lk))
      du = emptyTensor(u.shape, 'float64')
      du.storage.set(reversedRows(tmp, Bt * D, L))
    }
    if (ctx.needsGrad[1]) {
      // dk[d, j] = Σ_b Σ_t g[b,d,t] u[b,d,t-j] = Σ_b rev(rev(g) * u)[j]: kernel = u rows (length L).
      const tmp = new Float64Array(L) // (L,)
      dk = emptyTensor(k.shape, 'float64') // (D, Lk)
      const s = fftPath ? convScratch(L, L) : null
      for (let b = 0; b < Bt; b++) {
        for (let d = 0; d < D; d++) {
          const row = (b * D + d) * L
          if (s) kernels.fftConv(tmp, 0, gRev, row, L, u.storage, row, L, s)
          else kernels.causalConvDirect(tmp, 0, gRev, row, L, u.storage, row, L)
          for (let j = 0; j < Math.min(Lk, L); j++) dk.storage[d * Lk + j] += tmp[L - 1 - j]
        }
      }
    }
    return [du, dk]
  },
}

/**
 * Causal long convolution y[b,d,t] = Σ_{j<=t} k[d,j] u[b,d,t-j] (first L outputs), direct or by FFT.
 * Reference: https://arxiv.org/abs/2206.11893 (S4D convolution mode)
 * @example
 *   const y = causalConv1dLong(u, K) // u (B, D, L), K (D, L) -> (B, D, L)
 */
export function causalConv1dLong(u: Tensor, k: Tensor, method: ConvMethod = 'auto'): Tensor {
  const op = 'causalConv1dLong'
  check(u.ndim === 3 && isFloating(u.dtype), op, () => `u must be a floating (B, D, L) tensor, got ${u.dtype} ${fmtShape(u.shape)}`)
  check(k.ndim === 2 && k.shape[0] === u.shape[1] && k.shape[1] >= 1, op, () => `k must be (D=${u.shape[1]}, Lk >= 1), got ${fmtShape(k.shape)}`)
  return apply(causalConvOp, [u, k], { method })
}

/** `causalConv1dLong` always through the FFT path. */
export function fftConv(u: Tensor, k: Tensor): Tensor {
  return causalConv1dLong(u, k, 'fft')
}

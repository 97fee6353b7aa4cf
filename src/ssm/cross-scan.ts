/**
 * @file 2-D scan layouts around the 1-D selective scan, written as tensor ops (so each transform's
 * backward is its adjoint layout transform, for free):
 * - VMamba's cross-scan / cross-merge (SS2D, Liu et al. 2024, https://arxiv.org/abs/2401.10166,
 *   Sec. 3.2 / Fig. 2): four directions (row-major, column-major, and both reversed).
 * - 71 EfficientVMamba's atrous (skip-sampled) scan, step 2 (Pei et al. 2024,
 *   https://arxiv.org/abs/2403.09977, Sec. 3.2 "ES2D"; TerryPei/EfficientVMamba
 *   `vmamba_efficient.py`): pad H, W to even, four branches of pixels (r, c) = (0,0), (1,0),
 *   (0,1), (1,1) mod 2, traversed row-, column-, row-, column-major; forward direction only.
 *   The merge writes each branch back to its own pixels (each pixel gets exactly one) and crops.
 * Shapes: x (B, C, H, W); cross-scan ys (B, 4, C, H W); atrous ys (B, 4, C, ceil(H/2) ceil(W/2)).
 */
import { check, fmtShape } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { stack } from '../functional.ts'
import { pad } from '../ops/indexing.ts'

function check4(op: string, x: Tensor): [number, number, number, number] {
  check(x.ndim === 4, op, () => `x must be (B, C, H, W), got ${fmtShape(x.shape)}`)
  return x.shape as [number, number, number, number]
}

/** (B, C, H, W) -> (B, 4, C, H W): row-major, column-major, row-major reversed, column-major reversed. */
export function crossScan(x: Tensor): Tensor {
  const [B, C, H, W] = check4('crossScan', x)
  const rows = x.reshape([B, C, H * W]) // (B, C, L) row-major
  const cols = x.transpose(2, 3).reshape([B, C, W * H]) // (B, C, L) column-major
  return stack([rows, cols, rows.flip(2), cols.flip(2)], 1)
}

/** The adjoint of `crossScan`: (B, 4, C, H W) -> (B, C, H, W), summing the four directions. */
export function crossMerge(ys: Tensor, H: number, W: number): Tensor {
  check(ys.ndim === 4 && ys.shape[1] === 4 && ys.shape[3] === H * W, 'crossMerge', () => `ys must be (B, 4, C, ${H * W}), got ${fmtShape(ys.shape)}`)
  const [B, , C] = ys.shape
  const rows = ys.select(1, 0).add(ys.select(1, 2).flip(2)).reshape([B, C, H, W])
  const cols = ys.select(1, 1).add(ys.select(1, 3).flip(2)).reshape([B, C, W, H]).transpose(2, 3)
  return rows.add(cols)
}

/** Branch k of the atrous scan: pixel offset (r, c) and whether it is traversed column-major. */
const BRANCHES: readonly [number, number, boolean][] = [[0, 0, false], [1, 0, true], [0, 1, false], [1, 1, true]]

/**
 * Atrous scan, step 2: (B, C, H, W) -> (B, 4, C, ceil(H/2) ceil(W/2)). Branch k holds pixels
 * (2i + r_k, 2j + c_k) of the zero-padded map, in row-major (k = 0, 2) or column-major (k = 1, 3) order.
 */
export function efficientScan(x: Tensor): Tensor {
  const [B, C, H, W] = check4('efficientScan', x)
  const Hc = Math.ceil(H / 2), Wc = Math.ceil(W / 2)
  const xp = H % 2 || W % 2 ? pad(x, [0, 2 * Wc - W, 0, 2 * Hc - H]) : x // (B, C, 2 Hc, 2 Wc)
  return stack(BRANCHES.map(([r, c, colMajor]) => {
    const sub = xp.slice(2, r, 2 * Hc, 2).slice(3, c, 2 * Wc, 2) // (B, C, Hc, Wc)
    return colMajor ? sub.transpose(2, 3).reshape([B, C, Hc * Wc]) : sub.reshape([B, C, Hc * Wc])
  }), 1)
}

/** The exact inverse of `efficientScan`: (B, 4, C, ceil(H/2) ceil(W/2)) -> (B, C, H, W). */
export function efficientMerge(ys: Tensor, H: number, W: number): Tensor {
  const Hc = Math.ceil(H / 2), Wc = Math.ceil(W / 2)
  check(ys.ndim === 4 && ys.shape[1] === 4 && ys.shape[3] === Hc * Wc, 'efficientMerge', () => `ys must be (B, 4, C, ${Hc * Wc}), got ${fmtShape(ys.shape)}`)
  const [B, , C] = ys.shape
  const maps = BRANCHES.map(([, , colMajor], k) => {
    const y = ys.select(1, k) // (B, C, L')
    return colMajor ? y.reshape([B, C, Wc, Hc]).transpose(2, 3) : y.reshape([B, C, Hc, Wc]) // (B, C, Hc, Wc)
  })
  // grid[r][c] is branch (r, c): interleave to (B, C, Hc, 2, Wc, 2) = (B, C, 2 Hc, 2 Wc).
  const row0 = stack([maps[0], maps[2]], 4), row1 = stack([maps[1], maps[3]], 4) // (B, C, Hc, Wc, 2)
  const full = stack([row0, row1], 3).reshape([B, C, 2 * Hc, 2 * Wc])
  return 2 * Hc === H && 2 * Wc === W ? full : full.narrow(2, 0, H).narrow(3, 0, W)
}

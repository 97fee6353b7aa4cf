/**
 * @file The profiler's switches, read by the core on hot paths (a counter check per op, no imports):
 *  - `shapeOnly > 0`: new tensors get a zero-length buffer (shape, strides and dtype, no data);
 *    `emptyTensor` in src/tensor.ts reads it. Entered by `profile.shapeOnly(fn)`.
 *  - `counting > 0`: the matmul, depthwise-conv and attention ops add their multiply-adds to `macs`.
 *    Entered by `profile.countMacs(fn)`.
 * See src/profile.ts for the public API.
 */
export const profileState = { shapeOnly: 0, counting: 0, macs: 0 }

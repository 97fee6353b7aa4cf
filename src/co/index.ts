/**
 * @file The `co` namespace: continual inference modules (paper 18, "Efficient Online Processing with
 * Deep Neural Networks", https://arxiv.org/abs/2306.03534): streaming convolutions, residuals and
 * single-output attention that take one frame per step and equal the offline modules' outputs.
 */
export { CoModule, Conv1d, Conv2d, Conv3d, Linear, Sequential, Residual, type CoConvOptions } from '../nn/arch/18-continual-inference.ts'
export {
  SingleOutputMHA, TransformerEncoderLayer, mhaWindowFlops, singleOutputMhaStepFlops,
  type SingleOutputMHAOptions, type CoTransformerEncoderLayerOptions,
} from '../nn/arch/18-continual-transformer.ts'

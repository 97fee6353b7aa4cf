/**
 * @file The quantization namespace: INT8 / packed INT2-4 / GGUF Q4_0 and Q8_0 codecs, integer and
 * on-the-fly quantized products, `QLinear`, `QConv2d`, and the differentiable quantizers `fakeQuant`,
 * `lsq` and `lsqPlus`. See src/kernels/quant*.ts for the formats (ggml GGUF spec, Jacob et al. 2018,
 * Esser et al. 2020, Bhalgat et al. 2020).
 */
export {
  quantizeInt8, dequantizeInt8, int8Matmul, quantizePackedTensor as quantizePacked, dequantizePackedTensor as dequantizePacked,
  quantBytes, matvecQ4, matmulQ4, matvecQ8, writeGGUFBlocks, readGGUFBlocks, type QInt8, type QPacked,
} from './quantize.ts'
export { QLinear, type QLinearOptions } from './qlinear.ts'
export { QConv2d, type QConv2dOptions } from './qconv.ts'
export {
  fakeQuant, lsq, lsqPlus, fakeQuantOp, lsqOp, lsqPlusOp, type FakeQuantOptions, type LsqOptions, type LsqPlusOptions,
} from '../ops/quant.ts'
export { roundHalfEven } from '../kernels/quant.ts'
export { packBits, unpackBits } from '../kernels/quant-pack.ts'

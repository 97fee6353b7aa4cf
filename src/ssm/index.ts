/**
 * @file The `ssm` namespace: state-space sequence kernels and layers — Mamba's selective scan
 * (https://arxiv.org/abs/2312.00752), FFT causal long convolution and S4D
 * (https://arxiv.org/abs/2206.11893), and the 2-D cross-scan / atrous-scan layouts of VMamba and
 * EfficientVMamba (https://arxiv.org/abs/2403.09977).
 */
export { selectiveScan, selectiveScanRef, selectiveScanComposite, type SelectiveScanOptions } from '../ops/scan.ts'
export { causalConv1dLong, fftConv, FFT_CONV_MIN_KERNEL, type ConvMethod } from '../ops/fft.ts'
export { S4D, type S4DOptions, type Complex } from './s4d.ts'
export { s4dInitA, hippoLegSImag, ssmKernelVandermonde, type S4DInit, type Discretization } from '../kernels/s4d.ts'
export { crossScan, crossMerge, efficientScan, efficientMerge } from './cross-scan.ts'

/**
 * @file The `stitch` namespace: stitching configurations and least-squares initialisation of the
 * stitching layers between two pretrained anchors (paper 04, Stitchable Neural Networks,
 * https://arxiv.org/abs/2302.06586).
 */
export { pairedConfigs, stitchConfigs, initLeastSquares, leastSquaresStitch, type PairedStitching, type StitchConfig } from '../nn/arch/04-sn-net.ts'

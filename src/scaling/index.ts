/**
 * @file The `scaling` namespace: ResNet-RS's scaling strategy (paper 03, "Revisiting ResNets",
 * https://arxiv.org/abs/2103.07579): depth first in long regimes, width in short ones, resolution
 * grown slowly.
 */
export { scalingResnetRS as resnetRS, type ScalingProposal } from '../nn/arch/03-resnet-rs.ts'

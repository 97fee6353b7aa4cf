/**
 * @file The `latency` namespace: per-block latency lookup tables measured on tessera's own kernels
 * (EfficientFormer's latency-driven design, paper 30, https://arxiv.org/abs/2206.01191).
 */
export * from '../nn/arch/30-efficientformer-latency.ts'

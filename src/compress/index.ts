/**
 * @file The `compress` namespace: model-compression transforms that rewrite a trained module.
 * `autoFactorize` replaces Linear/Conv layers by low-rank factorizations initialised from a
 * truncated SVD (paper 21, Greenformers, https://arxiv.org/abs/2108.10808).
 */
export { autoFactorize, factorRank, type AutoFactorizeOptions } from '../nn/arch/21-greenformers.ts'

/** @file The `stats` namespace: Gaussian-process regression (RBF kernel, float64 Cholesky), used by TinyNet's tiny formula. */
export { gaussianProcess, fitGaussianProcess, GaussianProcess, cholesky, type GaussianProcessOptions } from './gaussian-process.ts'

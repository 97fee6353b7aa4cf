/** @file The `linalg` namespace: float64 dense linear algebra used by init and the papers (no gradients). */
export { qr, householderQR } from './qr.ts'
export { svd, jacobiSVD } from './svd.ts'
export { pinv, lstsq, pinvF64 } from './pinv.ts'

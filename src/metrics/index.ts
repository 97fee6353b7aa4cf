/** @file The `metrics` namespace: evaluation metrics (equal error rate for verification, paper 74). */
export { eer } from '../nn/arch/74-efficienttdnn.ts'
export { riskCoverage, aurocFpr95, type RiskCoverage } from '../nn/arch/16-risk-coverage.ts'
export { classificationReport, type ClassificationReport } from '../nn/arch/47-efficientnet-breast-tumor.ts'

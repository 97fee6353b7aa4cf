/** @file The `uncertainty` namespace: confidence scores from logits (max softmax, −entropy, margin, energy; paper 16). */
export { uncertaintyScore as score, type ScoreKind } from '../nn/arch/16-risk-coverage.ts'

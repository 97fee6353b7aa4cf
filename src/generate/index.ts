/** @file The `generate` namespace: autoregressive decoding for causal sequence models and a tiny char LM. */
export { generate, greedy, sample, type SequenceModel, type GenerateOptions, type GenerateResult } from './generate.ts'
export { argmax, filterProbs, sampleFromProbs, selectToken, checkSampling, type SamplingOptions } from './sampling.ts'
export { CharLM, type CharLMOptions } from './char-lm.ts'

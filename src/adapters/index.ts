/** @file The `adapters` namespace: structured-pruning adapters (SPLoRA, paper 18). */
export { SPLoRA, type SPLoRAOptions } from '../nn/arch/18-structured-pruning-adapters.ts'

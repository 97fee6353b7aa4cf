/**
 * @file The `peft` namespace: parameter-efficient fine-tuning. LoRA (Hu et al. 2021,
 * https://arxiv.org/abs/2106.09685), modelled on HuggingFace peft.
 *   peft.applyLoRA(model, { targets: ['q', 'v'], r: 8, alpha: 16 })
 *   const opt = new optim.MeZO(peft.trainableParameters(model), { lr: 5e-5, eps: 1e-2 })
 */
export { LoRA, applyLoRA, trainableParameters, type LoRAOptions, type ApplyLoRAOptions, type LoRATargets } from './lora.ts'
export { meft, MEFT, type MEFTOptions } from '../nn/arch/55-meft.ts'

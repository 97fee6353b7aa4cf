/**
 * @file The `pretrain` namespace: self-supervised pretraining objectives. ELECTRA's replaced-token
 * detection with a small MLM generator (as BudgetLongformer pretrains, paper 59,
 * https://arxiv.org/abs/2211.17135) and the MLM masking helper.
 */
export { ELECTRA, MLM, ElectraGenerator, ElectraDiscriminator, type ElectraOutput, type MLMOptions } from '../nn/arch/59-budgetlongformer.ts'

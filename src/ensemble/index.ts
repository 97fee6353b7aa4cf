/**
 * @file The `ensemble` namespace: early-exit cascades of models with the window rule on the
 * decision (paper 16, "Window-Based Early-Exit Cascades for Uncertainty Estimation",
 * https://arxiv.org/abs/2303.08010).
 */
export {
  Cascade, cascadeOutputs, fitWindow, quantile, quantileOfScore, type CascadeOptions, type CascadeOutput, type CascadeMember,
} from '../nn/arch/16-window-cascade.ts'

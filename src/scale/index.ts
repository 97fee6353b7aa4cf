/**
 * @file The `scale` namespace: network scaling rules. EfficientNet's compound scaling and channel /
 * depth rounding (https://arxiv.org/abs/1905.11946), and TinyNet's inverse giant formula and tiny
 * formula for shrinking resolution, depth and width (paper 35, https://arxiv.org/abs/2010.14819).
 */
export {
  compound, inverseGiant, tinyFormula, fitTinyFormula, flopsRatio, roundFilters, roundRepeats, roundHalfEven,
  COMPOUND, TINY_FORMULA_POINTS, TINYNET_FLOPS, type RWD, type TinyFormulaFit,
} from '../nn/arch/35-tinynet.ts'

/** @file Loads test/fixtures/optim.json (scripts/gen_optim_fixtures.py) and replays its optimizer cases with tessera. */
import optimJson from '../fixtures/optim.json' with { type: 'json' }
import { fromTypedArray, optim, type Tensor } from '../../src/index.ts'

export interface OptimizerCase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'Adagrad' | 'RMSprop' | 'LAMB' | 'LARS'
  options: Record<string, unknown>
  groups?: { params: number[]; options: Record<string, unknown> }[]
  /** [step][param] -> flat values after that step */
  trajectories: { float64: number[][][]; float32?: number[][][] }
}

export interface Fixture {
  generator: string
  params: { names: string[]; shapes: number[][]; init: number[][]; grads: (number[] | null)[][] }
  optimizers: OptimizerCase[]
  schedulers: { scheduler: string; optimizer: 'SGD' | 'Adam'; options: Record<string, unknown>; lrs: number[][]; momentum: number[][] }[]
  clipping: { normType: number | 'inf'; maxNorm: number; grads: number[][]; totalNorm: number; clipped: number[][] }[]
}

export const fx = optimJson as unknown as Fixture

export type Dtype = 'float32' | 'float64'

export function flat(dtype: Dtype, values: number[], shape: number[]): Tensor {
  return fromTypedArray(dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), shape)
}

/** Fresh leaf parameters with the fixture's initial values, paired with their names. */
export function makeParams(dtype: Dtype): [string, Tensor][] {
  const { names, shapes, init } = fx.params
  return names.map((n, i) => [n, flat(dtype, init[i], shapes[i]).requiresGrad_()])
}

/** Sets each parameter's .grad to the fixture's gradient for `step` (null where the fixture has none). */
export function setGrads(params: Tensor[], step: number, dtype: Dtype = 'float32'): void {
  const { shapes, grads } = fx.params
  params.forEach((p, i) => {
    const g = grads[step % grads.length][i]
    p.grad = g === null ? null : flat(dtype, g, shapes[i])
  })
}

/** The optimizer of a fixture case over `named` parameters (translating fixture-only options). */
export function makeOptimizer(c: OptimizerCase, named: [string, Tensor][]): optim.Optimizer {
  const { excludeNothing, ...opts } = c.options
  const rules = excludeNothing ? { excludeFromWeightDecay: () => false } : {}
  const params = c.groups ? c.groups.map((g) => ({ params: g.params.map((i) => named[i]), ...g.options })) : named
  const Ctor = optim[c.optimizer] as unknown as new (p: unknown, o: unknown) => optim.Optimizer
  return new Ctor(params, { ...opts, ...rules })
}

/** Runs a case for the fixture's steps, returning [step][param] -> flat values. */
export function replay(c: OptimizerCase, dtype: Dtype): number[][][] {
  const named = makeParams(dtype)
  const params = named.map(([, p]) => p)
  const opt = makeOptimizer(c, named)
  const out: number[][][] = []
  for (let step = 0; step < fx.params.grads.length; step++) {
    setGrads(params, step, dtype)
    opt.step()
    out.push(params.map((p) => Array.from(p.data())))
  }
  return out
}

export function caseName(c: OptimizerCase): string {
  return `${c.optimizer} ${JSON.stringify(c.options)}${c.groups ? ' groups ' + JSON.stringify(c.groups) : ''}`
}

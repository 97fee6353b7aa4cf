/**
 * @file Loads test/fixtures/nn.json (PyTorch references written by
 * `/usr/bin/python3 scripts/gen_nn_fixtures.py`; its `generator` field names the torch version).
 */
import nnJson from '../fixtures/nn.json' with { type: 'json' }
import { tensor, type Tensor } from '../../src/index.ts'

export interface FT { shape: number[]; dtype: 'float32' | 'float64' | 'int32'; data: (number | string)[] }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fixture: any = (nnJson as unknown)

const num = (v: number | string): number => (typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity)

/** A fixture tensor; float data is loaded in `floatDType` (int32 stays int32). */
export function load(t: FT, floatDType: 'float32' | 'float64' = 'float64'): Tensor {
  const dtype = t.dtype === 'int32' ? 'int32' : floatDType
  return tensor(t.data.map(num), { dtype }).reshape(t.shape)
}

/** Flat float64 reference values. */
export const values = (t: FT): number[] => t.data.map(num)

/** Tolerances for comparing a tessera run in `dtype` with a float64 PyTorch reference. */
export const tol = (dtype: 'float32' | 'float64'): { atol: number; rtol: number } =>
  dtype === 'float64' ? { atol: 1e-10, rtol: 1e-8 } : { atol: 2e-5, rtol: 2e-4 }

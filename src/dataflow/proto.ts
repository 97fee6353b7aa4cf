/**
 * @file DataProto: the batch object passed between the single controller and worker groups in the
 * HybridFlow programming model (Sheng et al. 2024, "HybridFlow: A Flexible and Efficient RLHF
 * Framework", https://arxiv.org/abs/2409.19256; verl `verl/protocol.py`). It holds named tensors that
 * share a leading batch dim B, named per-row non-tensor lists (length B), and free-form meta info.
 * `chunk` splits rows in order into n contiguous parts (sizes differ by at most one, earlier parts
 * larger, as torch.chunk's balanced variant), `concat` joins parts back in order, `union` merges keys.
 */
import { TesseraError } from '../errors.ts'
import { cat } from '../ops/indexing.ts'
import type { Tensor } from '../tensor.ts'

export type Meta = Record<string, unknown>

export class DataProto {
  readonly tensors: Record<string, Tensor>
  readonly nonTensors: Record<string, unknown[]>
  readonly meta: Meta

  constructor(tensors: Record<string, Tensor> = {}, nonTensors: Record<string, unknown[]> = {}, meta: Meta = {}) {
    this.tensors = { ...tensors }
    this.nonTensors = { ...nonTensors }
    this.meta = { ...meta }
    const sizes = [
      ...Object.entries(tensors).map(([k, t]) => [k, t.ndim === 0 ? -1 : t.shape[0]] as const),
      ...Object.entries(nonTensors).map(([k, v]) => [k, v.length] as const),
    ]
    for (const [k, n] of sizes) {
      if (n !== sizes[0][1]) throw new TesseraError(`DataProto: '${k}' has batch size ${n}, but '${sizes[0][0]}' has ${sizes[0][1]} (tensors need a leading batch dim)`)
    }
  }

  /** Rows in the batch (0 when empty). */
  get length(): number {
    const t = Object.values(this.tensors)[0]
    if (t) return t.shape[0]
    const v = Object.values(this.nonTensors)[0]
    return v ? v.length : 0
  }

  tensor(key: string): Tensor {
    const t = this.tensors[key]
    if (!t) throw new TesseraError(`DataProto: no tensor '${key}' (have ${Object.keys(this.tensors).join(', ') || 'none'})`)
    return t
  }

  list<T>(key: string): T[] {
    const v = this.nonTensors[key]
    if (!v) throw new TesseraError(`DataProto: no non-tensor '${key}' (have ${Object.keys(this.nonTensors).join(', ') || 'none'})`)
    return v as T[]
  }

  /** Rows [start, end) as a new DataProto (tensors copied contiguous). */
  slice(start: number, end: number): DataProto {
    const tensors: Record<string, Tensor> = {}
    for (const [k, t] of Object.entries(this.tensors)) tensors[k] = t.narrow(0, start, end - start).contiguous()
    const nonTensors: Record<string, unknown[]> = {}
    for (const [k, v] of Object.entries(this.nonTensors)) nonTensors[k] = v.slice(start, end)
    return new DataProto(tensors, nonTensors, this.meta)
  }

  /** n contiguous parts in row order; needs n <= length. */
  chunk(n: number): DataProto[] {
    const B = this.length
    if (!(Number.isInteger(n) && n > 0 && n <= B)) throw new TesseraError(`DataProto.chunk: need an integer 1 <= n <= ${B} (batch size), got ${n}`)
    const parts: DataProto[] = []
    let s = 0
    for (let i = 0; i < n; i++) {
      const size = Math.floor(B / n) + (i < B % n ? 1 : 0)
      parts.push(this.slice(s, s + size))
      s += size
    }
    return parts
  }

  /** Joins parts in order; all parts must have the same keys. Meta comes from the first part. */
  static concat(parts: readonly DataProto[]): DataProto {
    if (parts.length === 0) throw new TesseraError('DataProto.concat: need at least one part')
    const keys = Object.keys(parts[0].tensors), lists = Object.keys(parts[0].nonTensors)
    const tensors: Record<string, Tensor> = {}
    for (const k of keys) tensors[k] = parts.length === 1 ? parts[0].tensor(k) : cat(parts.map((p) => p.tensor(k)), 0)
    const nonTensors: Record<string, unknown[]> = {}
    for (const k of lists) nonTensors[k] = parts.flatMap((p) => p.list(k))
    return new DataProto(tensors, nonTensors, parts[0].meta)
  }

  /** Keys of both; a key present in both must be the same object (verl's union semantics, by identity). */
  union(other: DataProto): DataProto {
    if (this.length !== other.length && this.length > 0 && other.length > 0) throw new TesseraError(`DataProto.union: batch sizes differ (${this.length} vs ${other.length})`)
    for (const k of Object.keys(other.tensors)) if (k in this.tensors && this.tensors[k] !== other.tensors[k]) throw new TesseraError(`DataProto.union: conflicting tensor '${k}'`)
    return new DataProto({ ...this.tensors, ...other.tensors }, { ...this.nonTensors, ...other.nonTensors }, { ...this.meta, ...other.meta })
  }
}

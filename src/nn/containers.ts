/** @file Module containers: Sequential, ModuleList, ModuleDict (children named as in PyTorch). */
import { TesseraError } from '../errors.ts'
import type { Tensor } from '../tensor.ts'
import { Module } from './module.ts'

/** Modules held under the keys '0', '1', ... (the base of ModuleList and Sequential). */
abstract class IndexedModules extends Module {
  [index: number]: Module
  length = 0

  constructor(modules: Iterable<Module> = []) {
    super()
    Object.defineProperty(this, 'length', { enumerable: false, writable: true, value: 0 })
    for (const m of modules) this.append(m)
  }

  append(m: Module): this {
    if (!(m instanceof Module)) throw new TesseraError('ModuleList.append: expected a Module')
    this[this.length] = m
    this.length++
    return this
  }

  at(i: number): Module {
    const k = i < 0 ? i + this.length : i
    if (!Number.isInteger(k) || k < 0 || k >= this.length) throw new TesseraError(`ModuleList: index ${i} is out of range for ${this.length} modules`)
    return this[k]
  }

  *[Symbol.iterator](): Iterator<Module> {
    for (let i = 0; i < this.length; i++) yield this[i]
  }

}

export class ModuleList extends IndexedModules {
  forward(): never {
    throw new TesseraError('ModuleList has no forward; iterate over its modules')
  }
}

/** Applies its modules in order: `new Sequential(a, b, c).forward(x)` is c(b(a(x))). */
export class Sequential extends IndexedModules {
  constructor(...modules: Module[]) {
    super(modules)
  }

  forward<T = Tensor>(x: unknown): T {
    let out = x
    for (const m of this) out = (m.forward as (v: unknown) => unknown)(out)
    return out as T
  }
}

/** Modules under string keys, in insertion order. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> = {}) {
    super()
    for (const [k, m] of Object.entries(modules)) this.set(k, m)
  }

  set(key: string, m: Module): this {
    if (key.includes('.') || key === '' || key === 'training') throw new TesseraError(`ModuleDict: invalid key ${JSON.stringify(key)}`)
    ;(this as unknown as Record<string, Module>)[key] = m
    return this
  }

  get(key: string): Module {
    const m = (this as unknown as Record<string, unknown>)[key]
    if (!(m instanceof Module)) throw new TesseraError(`ModuleDict: no module under key ${JSON.stringify(key)}`)
    return m
  }

  keys(): string[] {
    return [...this.namedChildren()].map(([k]) => k)
  }

  forward(): never {
    throw new TesseraError('ModuleDict has no forward; look modules up by key')
  }
}

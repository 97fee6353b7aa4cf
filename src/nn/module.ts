/**
 * @file `Module`, the base of every layer and model (like `torch.nn.Module`).
 *
 * A module's parameters are the `Parameter`s among its own properties, its children the `Module`s
 * among them, both in declaration order; buffers (running statistics and other non-learnable state)
 * are registered with `registerBuffer`. Names are PyTorch's dotted paths (`layers.2.norm.weight`),
 * so state dicts line up with PyTorch checkpoints for matching architectures.
 *
 * Call a module with `module.forward(x)`: the base constructor wraps each subclass's `forward`
 * method so that forward hooks run. (Define `forward` as a method, not an arrow-function field.)
 */
import { TesseraError, fmtShape } from '../errors.ts'
import { noGrad } from '../autograd.ts'
import type { Tensor } from '../tensor.ts'
import { Parameter } from './parameter.ts'

export type ForwardHook = (module: Module, inputs: unknown[], output: unknown) => unknown
export type StateDict = Record<string, Tensor>

export interface LoadResult { missingKeys: string[]; unexpectedKeys: string[] }

export abstract class Module {
  /** True in training mode (dropout active, batch norm uses batch statistics). */
  training = true

  constructor() {
    const hooks: ForwardHook[] = []
    Object.defineProperty(this, '_forwardHooks', { value: hooks, enumerable: false })
    Object.defineProperty(this, '_buffers', { value: new Map<string, Tensor | null>(), enumerable: false })
    const self = this as unknown as { forward: (...args: unknown[]) => unknown }
    const inner = self.forward
    if (typeof inner === 'function') {
      Object.defineProperty(this, 'forward', {
        enumerable: false,
        writable: true,
        value: (...args: unknown[]) => {
          let out = inner.apply(this, args)
          for (const hook of hooks) {
            const replaced = hook(this, args, out)
            if (replaced !== undefined) out = replaced
          }
          return out
        },
      })
    }
  }

  abstract forward(...args: never[]): unknown

  private get hooks(): ForwardHook[] { return (this as unknown as { _forwardHooks: ForwardHook[] })._forwardHooks }
  private get buffers(): Map<string, Tensor | null> { return (this as unknown as { _buffers: Map<string, Tensor | null> })._buffers }

  /**
   * Calls `hook(module, inputs, output)` after every forward; a returned value replaces the output.
   * Returns a handle whose `remove()` unregisters it.
   */
  registerForwardHook(hook: ForwardHook): { remove: () => void } {
    this.hooks.push(hook)
    return { remove: () => { const i = this.hooks.indexOf(hook); if (i >= 0) this.hooks.splice(i, 1) } }
  }

  /** Registers non-learnable state (saved in the state dict, never returned by parameters()). */
  registerBuffer(name: string, tensor: Tensor | null): void {
    if (name.includes('.') || name === '') throw new TesseraError(`registerBuffer: invalid buffer name ${JSON.stringify(name)}`)
    this.buffers.set(name, tensor)
    ;(this as unknown as Record<string, unknown>)[name] = tensor
  }

  /** Direct children with their attribute names, in declaration order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [name, value] of Object.entries(this)) if (value instanceof Module) yield [name, value]
  }

  *children(): Generator<Module> {
    for (const [, m] of this.namedChildren()) yield m
  }

  /** This module and all descendants, each once, with dotted names ('' for this one). */
  *namedModules(prefix = '', seen = new Set<Module>()): Generator<[string, Module]> {
    if (seen.has(this)) return
    seen.add(this)
    yield [prefix, this]
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name, seen)
  }

  *modules(): Generator<Module> {
    for (const [, m] of this.namedModules()) yield m
  }

  /** Parameters with dotted names; a parameter shared by several modules is listed once. */
  *namedParameters(): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>()
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, value] of Object.entries(m)) {
        if (value instanceof Parameter && !seen.has(value)) {
          seen.add(value)
          yield [prefix ? `${prefix}.${name}` : name, value]
        }
      }
    }
  }

  parameters(): Parameter[] {
    return [...this.namedParameters()].map(([, p]) => p)
  }

  *namedBuffers(): Generator<[string, Tensor]> {
    for (const [prefix, m] of this.namedModules()) {
      for (const [name] of m.buffers) {
        const current = (m as unknown as Record<string, Tensor | null>)[name] // the attribute may have been reassigned
        if (current) yield [prefix ? `${prefix}.${name}` : name, current]
      }
    }
  }

  /** Total number of parameter elements (shared parameters counted once). */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel(), 0)
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode
    return this
  }

  eval(): this {
    return this.train(false)
  }

  /** Drops every parameter's gradient (sets `.grad` to null, as PyTorch's default does). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null
  }

  /** Calls fn on every descendant, children first, then on this module (PyTorch's order). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn)
    fn(this)
    return this
  }

  /** Parameters and buffers by dotted name, sharing storage with the module (detached). */
  stateDict(): StateDict {
    const out: StateDict = {}
    for (const [name, p] of this.namedParameters()) out[name] = p.detach()
    for (const [name, b] of this.namedBuffers()) out[name] = b.detach()
    return out
  }

  /**
   * Copies values from a state dict into this module's parameters and buffers (in place, so
   * optimizers holding them keep working). With `strict` (default) missing or unexpected keys throw.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): LoadResult {
    const strict = opts.strict ?? true
    const own = new Map<string, Tensor>([...this.namedParameters(), ...this.namedBuffers()])
    const missingKeys = [...own.keys()].filter((k) => !(k in sd))
    const unexpectedKeys = Object.keys(sd).filter((k) => !own.has(k))
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      throw new TesseraError(`loadStateDict: missing keys [${missingKeys.join(', ')}], unexpected keys [${unexpectedKeys.join(', ')}]`)
    }
    for (const [name, target] of own) {
      const src = sd[name]
      if (!src) continue
      if (src.shape.length !== target.shape.length || src.shape.some((d, i) => d !== target.shape[i])) {
        throw new TesseraError(`loadStateDict: ${name} has shape ${fmtShape(src.shape)} in the state dict but ${fmtShape(target.shape)} in the module`)
      }
      noGrad(() => target.copy_(src.to(target.dtype)))
    }
    return { missingKeys, unexpectedKeys }
  }
}

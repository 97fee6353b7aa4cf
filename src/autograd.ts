/**
 * @file Reverse-mode autograd: grad mode, the graph node type, and the backward driver
 * (topological sort, gradient accumulation, hooks, freeing saved tensors). Nothing op-specific
 * lives here: each node knows how to turn its output gradient into input gradients.
 *
 * Graph shape (as in PyTorch): a non-leaf tensor points at the node that made it (`gradFn`); a node
 * points at the nodes of its inputs (`next`); a leaf that requires grad gets an accumulator node
 * that adds into its `.grad`. Nodes keep only the tensors their backward needs.
 */
import { TesseraError } from './errors.ts'
import type { Tensor } from './tensor.ts'

let gradEnabled = true

export function isGradEnabled(): boolean {
  return gradEnabled
}

/** Turns recording on or off; returns the previous setting. */
export function setGradEnabled(on: boolean): boolean {
  const prev = gradEnabled
  gradEnabled = on
  return prev
}

/** Runs `fn` without recording a graph, like `with torch.no_grad()`. */
export function noGrad<T>(fn: () => T): T {
  const prev = setGradEnabled(false)
  try { return fn() } finally { setGradEnabled(prev) }
}

/** Runs `fn` with recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  const prev = setGradEnabled(true)
  try { return fn() } finally { setGradEnabled(prev) }
}

export type TensorHook = (grad: Tensor) => Tensor | void

/** One step of the graph. Subclasses implement `apply`; leaves use `AccumulateGrad`. */
export abstract class Node {
  /** Input nodes, null where the input needs no gradient. */
  next: (Node | null)[]
  /** Hooks of the tensor this node produced (or of the leaf, for accumulators). */
  hooks: TensorHook[] = []
  /** A non-leaf tensor that asked to keep its gradient (`retainGrad`). */
  retained: Tensor | null = null
  /** Gradient summed from all consumers during a backward pass. */
  pending: Tensor | null = null
  /** Marks the node as seen by the traversal of the current backward pass. */
  visited = 0

  constructor(next: (Node | null)[]) {
    this.next = next
  }

  abstract get name(): string
  /** Input gradients from the output gradient (null for inputs that get none). */
  abstract apply(grad: Tensor): (Tensor | null)[]
  /** Drops saved tensors after a backward pass that did not ask to retain the graph. */
  release(): void {}
}

/** The sink for a leaf tensor's gradient. */
export class AccumulateGrad extends Node {
  constructor(readonly variable: Tensor) {
    super([])
  }
  get name(): string { return 'AccumulateGrad' }
  apply(): (Tensor | null)[] { return [] }
}

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through this graph again (default: createGraph, as in PyTorch). */
  retainGraph?: boolean
  /** Record the backward computation itself, for higher-order gradients. */
  createGraph?: boolean
}

/** Nodes reachable from `roots`, ordered so each node comes before every node it feeds into. */
let epoch = 0

function topoOrder(roots: Node[]): Node[] {
  const order: Node[] = []
  const mark = ++epoch // a node is visited in this pass when node.visited === mark
  // Iterative post-order DFS: deep graphs (10^5 chained ops) must not overflow the JS stack.
  const nodes: Node[] = []
  const next: number[] = [] // index of the next child to visit, per stack entry
  for (const r of roots) {
    if (r.visited === mark) continue
    r.visited = mark
    nodes.push(r)
    next.push(0)
    while (nodes.length > 0) {
      const top = nodes.length - 1
      const node = nodes[top]
      const i = next[top]
      if (i < node.next.length) {
        next[top] = i + 1
        const child = node.next[i]
        if (child && child.visited !== mark) {
          child.visited = mark
          nodes.push(child)
          next.push(0)
        }
      } else {
        nodes.pop()
        next.pop()
        order.push(node)
      }
    }
  }
  return order // children first; walk it backwards to go from the roots to the leaves
}

/**
 * Back-propagates `grads[i]` from `roots[i]` (each a node plus the gradient entering it), calling
 * `accumulate(leafNode, grad)` for leaves and `add(a, b)` to sum gradients from several consumers.
 */
export function runBackward(
  roots: Node[],
  grads: Tensor[],
  add: (a: Tensor, b: Tensor) => Tensor,
  accumulate: (leaf: AccumulateGrad, grad: Tensor, createGraph: boolean) => void,
  opts: BackwardOptions = {},
): void {
  const order = topoOrder(roots)
  roots.forEach((r, i) => { r.pending = r.pending ? add(r.pending, grads[i]) : grads[i] })
  const prev = setGradEnabled(opts.createGraph === true)
  // The recorded backward graph links to the forward nodes' saved tensors, so createGraph keeps them.
  const retain = opts.retainGraph ?? opts.createGraph === true
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const node = order[k]
      let g = node.pending
      node.pending = null
      if (g === null) continue
      for (const hook of node.hooks) {
        const replaced = hook(g)
        if (replaced !== undefined) g = replaced
      }
      if (node.retained) node.retained.grad = node.retained.grad ? add(node.retained.grad, g) : g
      if (node instanceof AccumulateGrad) {
        accumulate(node, g, opts.createGraph === true)
        continue
      }
      const inputGrads = node.apply(g)
      if (!retain) node.release()
      for (let i = 0; i < node.next.length; i++) {
        const child = node.next[i]
        const gi = inputGrads[i]
        if (!child || !gi) continue
        child.pending = child.pending ? add(child.pending, gi) : gi
      }
    }
  } finally {
    setGradEnabled(prev)
    for (const node of order) node.pending = null
  }
}

export function graphFreedError(name: string): TesseraError {
  return new TesseraError(
    `backward: trying to backward through ${name} a second time, but its saved tensors were freed; ` +
    'pass {retainGraph: true} to the first backward call',
  )
}

/**
 * @file Paper 65 — EvoNorm: "Evolving Normalization-Activation Layers" (Liu, Brock, Simonyan, Le,
 * NeurIPS 2020), https://arxiv.org/abs/2004.02967, Sec. 3 (search space). The layer DSL the search
 * in 65-evonorm-search.ts evolves: a candidate normalization-activation layer is a DAG over
 *   leaves      x (N, C, H, W), v0 (C,) learnable init 0, v1 (C,) learnable init 1, constants 0 and 1,
 *   primitives  add mul div max (binary), neg sigmoid tanh exp log sqrt abs square (unary, Table 1),
 *               mean_I / std_I over I ∈ {NHW, HW, CHW, G} (aggregations, std_I = √(Var_I + ε), biased),
 * stored in topological order: node k (global index LEAVES.length + k) reads only smaller indices, and
 * the last node is the output. Every layer ends with the per-channel affine y = out · γ + β (γ = 1,
 * β = 0 at init), as in timm's EvoNorm2dB0/S0. v0, v1, γ, β broadcast as (1, C, 1, 1); aggregations
 * keep dims, e.g. std_HW → (N, C, 1, 1), std_NHW → (1, C, 1, 1), std_CHW → (N, 1, 1, 1).
 * Batch aggregations (mean_NHW, std_NHW) keep running statistics (momentum m, unbiased variance as in
 * nn.EvoNormB0) that replace the batch statistics in eval mode.
 * Printable form: `x / max(std_NHW(x), v1 * x + std_HW(x))` (B0); `parseLayer` reads it back.
 */
import { TesseraError } from '../../errors.ts'
import { noGrad } from '../../autograd.ts'
import { ones, zeros } from '../../creation.ts'
import type { Generator } from '../../rng.ts'
import type { Tensor } from '../../tensor.ts'
import { Module } from '../module.ts'
import { Parameter } from '../parameter.ts'
import { groupStd, instanceStd } from './65-evonorm.ts'

export const LEAVES = ['x', 'v0', 'v1', '0', '1'] as const
export const BINARY_OPS = ['add', 'mul', 'div', 'max'] as const
export const UNARY_OPS = ['neg', 'sigmoid', 'tanh', 'exp', 'log', 'sqrt', 'abs', 'square'] as const
export const AGG_OPS = ['mean_NHW', 'mean_HW', 'mean_CHW', 'mean_G', 'std_NHW', 'std_HW', 'std_CHW', 'std_G'] as const
export type PrimitiveName = typeof BINARY_OPS[number] | typeof UNARY_OPS[number] | typeof AGG_OPS[number]
/** The paper's full primitive set (Table 1). */
export const PRIMITIVES: readonly PrimitiveName[] = [...BINARY_OPS, ...UNARY_OPS, ...AGG_OPS]
const L = LEAVES.length

/** One intermediate node: a primitive applied to earlier nodes (global indices; 0..4 are the leaves). */
export interface GraphNode { op: PrimitiveName; inputs: number[] }
/** A candidate layer: intermediate nodes in topological order; the last one is the output. */
export interface LayerGraph { nodes: GraphNode[] }

export function arity(op: PrimitiveName): 1 | 2 {
  return (BINARY_OPS as readonly string[]).includes(op) ? 2 : 1
}

/** Throws unless every node has a known op, the op's arity, and inputs that come before it. */
export function validateGraph(g: LayerGraph): void {
  if (g.nodes.length === 0) throw new TesseraError('LayerGraph: needs at least one intermediate node')
  g.nodes.forEach((n, k) => {
    const gi = L + k
    if (!PRIMITIVES.includes(n.op)) throw new TesseraError(`LayerGraph: node ${gi} has unknown op ${JSON.stringify(n.op)}`)
    if (n.inputs.length !== arity(n.op)) throw new TesseraError(`LayerGraph: node ${gi} (${n.op}) needs ${arity(n.op)} inputs, got ${n.inputs.length}`)
    for (const i of n.inputs) {
      if (!(Number.isInteger(i) && i >= 0 && i < gi)) throw new TesseraError(`LayerGraph: node ${gi} (${n.op}) reads ${i}, which is not an earlier node (topological order)`)
    }
  })
}

/** Per global index: does the node's value depend on the input x? */
export function dependsOnX(g: LayerGraph): boolean[] {
  const dep = LEAVES.map((name) => name === 'x')
  for (const n of g.nodes) dep.push(n.inputs.some((i) => dep[i]))
  return dep
}

/** Per global index: is the node an ancestor of (or equal to) the output? */
export function liveNodes(g: LayerGraph): boolean[] {
  const live = new Array<boolean>(L + g.nodes.length).fill(false)
  live[live.length - 1] = true
  for (let gi = live.length - 1; gi >= L; gi--) if (live[gi]) for (const i of g.nodes[gi - L].inputs) live[i] = true
  return live
}

// ------------------------------------------------------------------ printing and parsing

const PREC_ADD = 1, PREC_MUL = 2, PREC_NEG = 3, PREC_ATOM = 4

/** The output's expression, e.g. `x * sigmoid(v1 * x) / std_G(x)`; `a - b` stands for add(a, neg(b)). */
export function formula(g: LayerGraph): string {
  validateGraph(g)
  const show = (gi: number, minPrec: number): string => {
    if (gi < L) return LEAVES[gi]
    const { op, inputs: [a, b] } = g.nodes[gi - L]
    let s: string, prec: number
    const negated = b !== undefined && b >= L && g.nodes[b - L].op === 'neg' ? g.nodes[b - L].inputs[0] : -1
    if (op === 'add') { prec = PREC_ADD; s = negated >= 0 ? `${show(a, PREC_ADD)} - ${show(negated, PREC_MUL)}` : `${show(a, PREC_ADD)} + ${show(b, PREC_MUL)}` }
    else if (op === 'mul' || op === 'div') { prec = PREC_MUL; s = `${show(a, PREC_MUL)} ${op === 'mul' ? '*' : '/'} ${show(b, PREC_NEG)}` }
    else if (op === 'neg') { prec = PREC_NEG; s = `-${show(a, PREC_NEG)}` }
    else { prec = PREC_ATOM; s = `${op}(${show(a, 0)}${b !== undefined ? `, ${show(b, 0)}` : ''})` }
    return prec < minPrec ? `(${s})` : s
  }
  return show(L + g.nodes.length - 1, 0)
}

/**
 * Parses the printable form into a graph (identical subexpressions share one node). Grammar:
 * sum := prod (('+'|'-') prod)*, prod := unary (('*'|'/') unary)*, unary := '-' unary | atom,
 * atom := leaf | '(' sum ')' | name '(' sum (',' sum)? ')'. `v` is an alias of v1.
 * @example
 *   formula(parseLayer('x * sigmoid(v * x) / std_G(x)')) // 'x * sigmoid(v1 * x) / std_G(x)'
 */
export function parseLayer(src: string): LayerGraph {
  const toks = src.match(/[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[-+*/(),]/g) ?? []
  if (toks.join('') !== src.replace(/\s+/g, '')) throw new TesseraError(`parseLayer: unexpected character in ${JSON.stringify(src)}`)
  let pos = 0
  const nodes: GraphNode[] = []
  const memo = new Map<string, number>()
  const fail = (what: string): never => { throw new TesseraError(`parseLayer: ${what} at token ${pos} (${JSON.stringify(toks[pos] ?? 'end')}) in ${JSON.stringify(src)}`) }
  const emit = (op: PrimitiveName, inputs: number[]): number => {
    const key = `${op}:${inputs.join(',')}`
    let gi = memo.get(key)
    if (gi === undefined) { gi = L + nodes.length; nodes.push({ op, inputs }); memo.set(key, gi) }
    return gi
  }
  const expect = (t: string): void => { if (toks[pos] !== t) fail(`expected '${t}'`); pos++ }
  const atom = (): number => {
    const t = toks[pos++]
    if (t === undefined) return fail('unexpected end')
    if (t === '(') { const v = sum(); expect(')'); return v }
    const leaf = t === 'v' ? 2 : (LEAVES as readonly string[]).indexOf(t)
    if (leaf >= 0) return leaf
    if (!(PRIMITIVES as readonly string[]).includes(t) || t === 'add' || t === 'mul' || t === 'div' || t === 'neg') { pos--; return fail('unknown name') }
    const op = t as PrimitiveName
    expect('(')
    const args = [sum()]
    if (arity(op) === 2) { expect(','); args.push(sum()) }
    expect(')')
    return emit(op, args)
  }
  const unary = (): number => { if (toks[pos] === '-') { pos++; return emit('neg', [unary()]) } return atom() }
  const prod = (): number => {
    let a = unary()
    while (toks[pos] === '*' || toks[pos] === '/') { const op = toks[pos++] === '*' ? 'mul' : 'div'; a = emit(op, [a, unary()]) }
    return a
  }
  function sum(): number {
    let a = prod()
    while (toks[pos] === '+' || toks[pos] === '-') {
      const minus = toks[pos++] === '-'
      const b = prod()
      a = emit('add', [a, minus ? emit('neg', [b]) : b])
    }
    return a
  }
  const out = sum()
  if (pos !== toks.length) fail('trailing input')
  if (out < L) nodes.push({ op: 'mul', inputs: [out, 4] }) // a bare leaf: out · 1
  else if (out !== L + nodes.length - 1) nodes.push({ op: 'mul', inputs: [out, 4] })
  return { nodes }
}

/** Known layers in the DSL (affine γ, β appended by EvoLayer). bn-relu / gn-relu are the baselines. */
export const KNOWN_LAYERS = {
  'evonorm-b0': 'x / max(std_NHW(x), v1 * x + std_HW(x))',
  'evonorm-s0': 'x * sigmoid(v1 * x) / std_G(x)',
  'bn-relu': 'max((x - mean_NHW(x)) / std_NHW(x) * v1 + v0, 0)',
  'gn-relu': 'max((x - mean_G(x)) / std_G(x) * v1 + v0, 0)',
  'relu': 'max(x, 0)',
} as const

// ------------------------------------------------------------------ random graphs and mutation

const pick = <T>(gen: Generator, a: readonly T[]): T => a[gen.nextInt(0, a.length)]

/** A random graph with `size` nodes whose output depends on x (paper Sec. 4: random initial population). */
export function randomGraph(gen: Generator, size: number, primitives: readonly PrimitiveName[] = PRIMITIVES): LayerGraph {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const nodes: GraphNode[] = []
    for (let k = 0; k < size; k++) {
      const op = pick(gen, primitives)
      // NOTE: input 0 reads the previous node half of the time, so random graphs are chains more than forests of leaves.
      const first = k > 0 && gen.nextFloat64() < 0.5 ? L + k - 1 : gen.nextInt(0, L + k)
      nodes.push({ op, inputs: arity(op) === 1 ? [first] : [first, gen.nextInt(0, L + k)] })
    }
    const g = { nodes }
    if (dependsOnX(g)[L + size - 1]) return g
  }
  throw new TesseraError(`randomGraph: no x-dependent graph of size ${size} found in 1000 draws`)
}

export type MutationKind = 'op' | 'input' | 'insert'
export interface Mutation { graph: LayerGraph; kind: MutationKind; node: number; rewired: number }

/**
 * One mutation (paper Sec. 4): pick a live intermediate node and replace its op (inputs kept, one added
 * or dropped if the arity changes) or one of its inputs (any earlier node), or insert a new random
 * node before a live node and redirect one of that node's inputs to it (`rewired`; -1 otherwise).
 * The child is a valid DAG whose output depends on x and whose formula differs from the parent's.
 */
export function mutate(parent: LayerGraph, gen: Generator, opts: { primitives?: readonly PrimitiveName[]; maxNodes?: number } = {}): Mutation {
  const prims = opts.primitives ?? PRIMITIVES
  const maxNodes = opts.maxNodes ?? 10
  const before = formula(parent)
  const live = liveNodes(parent)
  const liveIdx = parent.nodes.map((_, k) => L + k).filter((gi) => live[gi])
  for (let attempt = 0; attempt < 1000; attempt++) {
    const nodes = parent.nodes.map((n) => ({ op: n.op, inputs: [...n.inputs] }))
    const kinds: MutationKind[] = nodes.length < maxNodes ? ['op', 'input', 'insert'] : ['op', 'input']
    const kind = pick(gen, kinds)
    const gi = pick(gen, liveIdx)
    const n = nodes[gi - L]
    let node = gi, rewired = -1
    if (kind === 'op') {
      const op = pick(gen, prims.filter((p) => p !== n.op))
      if (arity(op) === 1) n.inputs = [n.inputs[0]]
      else if (n.inputs.length === 1) n.inputs.push(gen.nextInt(0, gi))
      n.op = op
    } else if (kind === 'input') {
      const slot = gen.nextInt(0, n.inputs.length)
      n.inputs[slot] = gen.nextInt(0, gi)
    } else {
      // insert the new node at position gi; every index >= gi shifts by one; node gi+1 (the old gi) reads it
      const op = pick(gen, prims)
      const fresh: GraphNode = { op, inputs: Array.from({ length: arity(op) }, () => gen.nextInt(0, gi)) }
      for (const m of nodes) m.inputs = m.inputs.map((i) => (i >= gi ? i + 1 : i))
      nodes.splice(gi - L, 0, fresh)
      const consumer = nodes[gi + 1 - L]
      consumer.inputs[gen.nextInt(0, consumer.inputs.length)] = gi
      node = gi; rewired = gi + 1
    }
    const child = { nodes }
    if (dependsOnX(child)[L + nodes.length - 1] && formula(child) !== before) return { graph: child, kind, node, rewired }
  }
  throw new TesseraError(`mutate: no valid mutation of ${JSON.stringify(before)} in 1000 draws`)
}

// ------------------------------------------------------------------ the layer

export interface EvoLayerOptions {
  /** ε inside every std_I (default 1e-5; timm's B0 uses 1e-3). */
  eps?: number
  /** Groups G of mean_G / std_G (default min(32, C); must divide C). */
  groups?: number
  /** Running-statistics momentum of the batch aggregations (default 0.1). */
  momentum?: number
  dtype?: 'float32' | 'float64'
}

/**
 * A normalization-activation layer given by a graph: y = graph(x, v0, v1) · γ + β, x (N, C, H, W).
 * Reference: https://arxiv.org/abs/2004.02967 (Sec. 3, Table 1)
 * @example
 *   const b0 = new EvoLayer(parseLayer(KNOWN_LAYERS['evonorm-b0']), 16, { eps: 1e-3 })
 *   b0.forward(randn([8, 16, 4, 4])) // = nn.EvoNormB0(16).forward(x)
 */
export class EvoLayer extends Module {
  v0: Parameter // (C,) init 0
  v1: Parameter // (C,) init 1
  weight: Parameter // γ (C,)
  bias: Parameter // β (C,)
  readonly eps: number
  readonly groups: number
  readonly momentum: number
  readonly formula: string

  constructor(readonly graph: LayerGraph, readonly numFeatures: number, opts: EvoLayerOptions = {}) {
    super()
    validateGraph(graph)
    this.formula = formula(graph)
    if (!dependsOnX(graph)[L + graph.nodes.length - 1]) throw new TesseraError(`EvoLayer: the output of ${JSON.stringify(this.formula)} does not depend on x`)
    const C = numFeatures, dtype = opts.dtype ?? 'float32'
    this.eps = opts.eps ?? 1e-5
    this.momentum = opts.momentum ?? 0.1
    this.groups = opts.groups ?? Math.min(32, C)
    if (C % this.groups !== 0) throw new TesseraError(`EvoLayer: groups ${this.groups} must divide numFeatures ${C}`)
    this.v0 = new Parameter(zeros([C], { dtype }))
    this.v1 = new Parameter(ones([C], { dtype }))
    this.weight = new Parameter(ones([C], { dtype }))
    this.bias = new Parameter(zeros([C], { dtype }))
    graph.nodes.forEach((n, k) => {
      if (n.op === 'mean_NHW') this.registerBuffer(`running_mean_${L + k}`, zeros([C], { dtype })) // (C,)
      if (n.op === 'std_NHW') this.registerBuffer(`running_var_${L + k}`, ones([C], { dtype })) // (C,)
    })
  }

  private buffer(name: string): Tensor { return (this as unknown as Record<string, Tensor>)[name] }

  /** Batch aggregation over (N, H, W): batch statistics + running update in training, running stats in eval. */
  private batchAgg(t: Tensor, gi: number, std: boolean): Tensor {
    const C = this.numFeatures
    const shape = [1, C, 1, 1]
    const run = this.buffer(`${std ? 'running_var' : 'running_mean'}_${gi}`) // (C,)
    if (!this.training) return std ? run.reshape(shape).add(this.eps).sqrt() : run.reshape(shape)
    const n = t.numel() / C
    if (n < 2) throw new TesseraError(`EvoLayer: ${std ? 'std' : 'mean'}_NHW in training needs more than one value per channel, got [${t.shape.join(',')}]`)
    const m = this.momentum
    if (!std) {
      const mu = t.mean([0, 2, 3], true) // (1, C, 1, 1)
      noGrad(() => run.copy_(run.mul(1 - m).add(mu.detach().reshape([C]).mul(m))))
      return mu
    }
    const varB = t.var([0, 2, 3], { correction: 0, keepdim: true }) // (1, C, 1, 1)
    noGrad(() => run.copy_(run.mul(1 - m).add(varB.detach().reshape([C]).mul((m * n) / (n - 1)))))
    return varB.add(this.eps).sqrt()
  }

  private applyOp(op: PrimitiveName, a: Tensor, b: Tensor | undefined, gi: number, full: readonly number[]): Tensor {
    const [N, C] = full
    const G = this.groups
    const xa = (): Tensor => (a.shape.length === 4 && a.shape.every((s, i) => s === full[i]) ? a : a.expand(full)) // (N, C, H, W)
    switch (op) {
      case 'add': return a.add(b as Tensor)
      case 'mul': return a.mul(b as Tensor)
      case 'div': return a.div(b as Tensor)
      case 'max': return a.maximum(b as Tensor)
      case 'neg': return a.neg()
      case 'sigmoid': return a.sigmoid()
      case 'tanh': return a.tanh()
      case 'exp': return a.exp()
      case 'log': return a.log()
      case 'sqrt': return a.sqrt()
      case 'abs': return a.abs()
      case 'square': return a.square()
      case 'mean_NHW': return this.batchAgg(xa(), gi, false)
      case 'std_NHW': return this.batchAgg(xa(), gi, true)
      case 'mean_HW': return xa().mean([2, 3], true) // (N, C, 1, 1)
      case 'std_HW': return instanceStd(xa(), this.eps) // (N, C, 1, 1)
      case 'mean_CHW': return xa().mean([1, 2, 3], true) // (N, 1, 1, 1)
      case 'std_CHW': return xa().var([1, 2, 3], { correction: 0, keepdim: true }).add(this.eps).sqrt() // (N, 1, 1, 1)
      case 'mean_G': return xa().reshape([N, G, -1]).mean(2, true).expand([N, G, C / G]).reshape([N, C, 1, 1]) // (N, C, 1, 1)
      case 'std_G': return groupStd(xa(), G, this.eps) // (N, C, 1, 1)
    }
  }

  forward(x: Tensor): Tensor {
    const C = this.numFeatures
    if (x.ndim !== 4 || x.shape[1] !== C) throw new TesseraError(`EvoLayer: x must be (N, C, H, W) with C = ${C}, got [${x.shape.join(',')}]`)
    const shape = [1, C, 1, 1]
    const konst = (v: number): Tensor => (v === 0 ? zeros : ones)([1, 1, 1, 1], { dtype: x.dtype })
    const vals: Tensor[] = [x, this.v0.reshape(shape), this.v1.reshape(shape), konst(0), konst(1)]
    this.graph.nodes.forEach((n, k) => {
      vals.push(this.applyOp(n.op, vals[n.inputs[0]], n.inputs.length > 1 ? vals[n.inputs[1]] : undefined, L + k, x.shape))
    })
    let out = vals[vals.length - 1]
    if (!out.shape.every((s, i) => s === x.shape[i])) out = out.expand(x.shape) // (N, C, H, W)
    return out.mul(this.weight.reshape(shape)).add(this.bias.reshape(shape))
  }
}

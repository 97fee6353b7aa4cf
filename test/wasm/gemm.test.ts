/**
 * @file The WebAssembly SIMD GEMM (src/wasm/gemm.ts) against the float64-accumulating `gemmRef`:
 * odd sizes around every tile and block edge, strided and transposed operands at offsets, row
 * ranges (as the worker pool splits them), several micro-tile shapes, NaN-prefilled outputs, and an
 * error bound derived from float32 accumulation (|error| <= K * 2^-23 * sum_p |a||b|).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { gemmRef, type GemmOperands } from '../../src/kernels/gemm.ts'
import { gemmWasm, WASM_GEMM_DEFAULT, WASM_GEMM_SHAPES, wasmGemmConfig, wasmGemmModuleName, type WasmGemmConfig } from '../../src/wasm/gemm.ts'
import { WASM_MODULES } from '../../src/wasm/modules.ts'
import { validates } from '../../src/wasm/runtime.ts'
import { gemmModuleBytes } from '../../src/wasm/gemm-module.ts'
import { hasModule, wasmFeatures } from '../../src/wasm/runtime.ts'
import { softmaxWasm } from '../../src/wasm/softmax.ts'
import { rowNormForwardWasm } from '../../src/wasm/layernorm.ts'
import { Generator } from '../../src/rng.ts'
import { defaultBackend, getBackend, setBackend, type Backend } from '../../src/backend.ts'
import { BACKEND_KERNELS, defaultKernels, isBackendStandIn, kernels } from '../../src/kernels/registry.ts'
import { randn } from '../../src/creation.ts'

// workerd forbids compiling WebAssembly at run time: there the default kernel comes from the
// build-time .wasm file (scripts/build-wasm.ts, handed in by the host with provideModules), and the
// tests of other tile shapes, which need compiling, are skipped.
// Both are asked when a test runs: the host provides the modules after the suite is imported.
const canCompile = (): boolean => wasmFeatures().compileFromBytes
const canRun = (): boolean => canCompile() || hasModule(wasmGemmModuleName(WASM_GEMM_DEFAULT))
const run = (name: string, fn: () => void): void => test(name, () => { if (canRun()) fn() })

const g = new Generator(7)
const uniform = (n: number): Float32Array => Float32Array.from({ length: n }, () => 2 * g.nextFloat64() - 1)

/** Checks gemmWasm on (M, K) x (K, N), with A and/or B read transposed from their storage. */
function check(M: number, N: number, K: number, opts: { ta?: boolean; tb?: boolean; cfg?: WasmGemmConfig; rows?: [number, number] } = {}): void {
  const aOff = 3, bOff = 5, cOff = 2
  const a = uniform(aOff + M * K), b = uniform(bOff + K * N)
  const [aRs, aCs] = opts.ta ? [1, M] : [K, 1]
  const [bRs, bCs] = opts.tb ? [1, K] : [N, 1]
  const c = new Float32Array(cOff + M * N).fill(NaN)
  const ref = new Float64Array(cOff + M * N)
  const ops: GemmOperands = { M, N, K, a, aOff, aRs, aCs, b, bOff, bRs, bCs, c, cOff }
  const [r0, r1] = opts.rows ?? [0, M]
  gemmWasm(ops, r0, r1, opts.cfg)
  gemmRef({ ...ops, c: ref })
  const abs = new Float64Array(cOff + M * N)
  gemmRef({ ...ops, a: a.map(Math.abs), b: b.map(Math.abs), c: abs })
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const k = cOff + i * N + j
      if (i < r0 || i >= r1) { assert.ok(Number.isNaN(c[k]), `row ${i} outside [${r0}, ${r1}) untouched`); continue }
      const bound = K * 2 ** -23 * abs[k] + 1e-30
      assert.ok(Math.abs(c[k] - ref[k]) <= bound, `${M}x${N}x${K} ta=${!!opts.ta} tb=${!!opts.tb} at (${i},${j}): ${c[k]} vs ${ref[k]} (bound ${bound})`)
    }
  }
  assert.ok(Number.isNaN(c[0]) && Number.isNaN(c[1]), 'nothing written before cOff')
}

test('every runtime of the matrix runs the SIMD GEMM (compiled here, or prebuilt in workerd)', () => {
  assert.ok(wasmFeatures().simd, 'WebAssembly SIMD')
  assert.ok(canRun(), 'the gemm module compiles or was provided by the host')
})

run('odd sizes around the 4x8 tile and the work threshold', () => {
  for (const [M, N, K] of [[33, 17, 45], [32, 32, 32], [31, 33, 34], [4, 8, 1024], [37, 9, 40], [64, 100, 7]]) check(M, N, K)
})

run('several K blocks (K > KC) and column blocks (N > NC)', () => {
  check(40, 48, 700)
  check(41, 50, 300, { cfg: { ...WASM_GEMM_DEFAULT, NC: 16, MC: 12, KC: 64 } })
})

run('transposed and strided operands read in place', () => {
  check(50, 36, 70, { ta: true })
  check(50, 36, 70, { tb: true })
  check(29, 43, 81, { ta: true, tb: true })
})

run('a row range writes only its rows (as the worker pool splits C)', () => {
  check(60, 40, 50, { rows: [13, 47] })
  check(60, 40, 50, { rows: [0, 30], tb: true })
})

run('other micro-tile shapes give the same bound; fma when relaxed SIMD validates', () => {
  if (!canCompile()) return
  for (const [MR, NR] of [[2, 16], [1, 4], [6, 8], [3, 12]]) check(45, 53, 90, { cfg: { ...WASM_GEMM_DEFAULT, MR, NR } })
  if (wasmFeatures().relaxedSimd) check(45, 53, 90, { cfg: { ...WASM_GEMM_DEFAULT, fma: true } })
  assert.throws(() => gemmModuleBytes({ MR: 4, NR: 6, fma: false }, { min: 1 }), /NR a positive multiple of 4/)
})

run('NaN and Inf propagate through the SIMD path', () => {
  const M = 40, N = 40, K = 40
  const a = uniform(M * K), b = uniform(K * N)
  a[3 * K + 5] = NaN // row 3 of C becomes NaN
  b[7 * N + 11] = Infinity // column 11 of C becomes ±Inf (or NaN in row 3)
  const c = new Float32Array(M * N)
  gemmWasm({ M, N, K, a, aOff: 0, aRs: K, aCs: 1, b, bOff: 0, bRs: N, bCs: 1, c, cOff: 0 })
  for (let j = 0; j < N; j++) assert.ok(Number.isNaN(c[3 * N + j]))
  for (let i = 0; i < M; i++) if (i !== 3) assert.ok(!Number.isFinite(c[i * N + 11]))
  assert.ok(Number.isFinite(c[0]))
})

run('float64 and small products fall back to the typed-array kernel (bitwise gemmRef)', () => {
  const M = 9, N = 7, K = 5
  const a = Float64Array.from(uniform(M * K)), b = Float64Array.from(uniform(K * N))
  const c = new Float64Array(M * N), ref = new Float64Array(M * N)
  const ops: GemmOperands = { M, N, K, a, aOff: 0, aRs: K, aCs: 1, b, bOff: 0, bRs: N, bCs: 1, c, cOff: 0 }
  gemmWasm(ops)
  gemmRef({ ...ops, c: ref })
  assert.equal([...c], [...ref])
})

test('setBackend: wasm where it can run, a clear error where it cannot, and back to js', () => {
  const before = getBackend()
  if (canRun()) {
    setBackend('wasm')
    assert.is(getBackend(), 'wasm')
    assert.is(kernels.gemm, gemmWasm)
    assert.is(kernels.softmax, softmaxWasm)
    assert.is(kernels.rowNormForward, rowNormForwardWasm)
    for (const k of ['unary', 'binary', 'geluBackward', 'depthwiseConv2dForward', 'gemmI8', 'matvecQ4', 'selectiveScan'] as const) {
      assert.ok(kernels[k] !== defaultKernels[k], `${k} swapped`)
    }
    const a = randn([40, 50], { generator: new Generator(1) }), b = randn([50, 30], { generator: new Generator(2) })
    const viaWasm = a.matmul(b).toArray() as number[][]
    setBackend('js')
    const viaJs = a.matmul(b).toArray() as number[][]
    for (let i = 0; i < 40; i++) for (let j = 0; j < 30; j++) assert.ok(Math.abs(viaWasm[i][j] - viaJs[i][j]) < 1e-4)
  } else {
    assert.throws(() => setBackend('wasm'), /forbids compiling WebAssembly at run time|no WebAssembly SIMD/)
  }
  setBackend('js')
  assert.is(getBackend(), 'js')
  assert.is(kernels.gemm, defaultKernels.gemm)
  assert.is(kernels.softmax, defaultKernels.softmax)
  assert.is(kernels.rowNormForward, defaultKernels.rowNormForward)
  for (const k of ['unary', 'binary', 'geluBackward', 'depthwiseConv2dForward', 'gemmI8', 'matvecQ4', 'selectiveScan'] as const) {
    assert.ok(kernels[k] === defaultKernels[k], `${k} restored`)
  }
  assert.throws(() => setBackend('gpu' as Backend), /backend must be 'js' or 'wasm', got "gpu"/)
  setBackend(before) // the suite may run with the wasm backend forced on
})

test('the backend is chosen automatically: wasm where SIMD compiles, and no stand-in survives the choice', () => {
  const f = wasmFeatures()
  if (!f.simd) assert.is(defaultBackend(), 'js')
  else if (f.compileFromBytes) assert.is(defaultBackend(), 'wasm')
  const b = getBackend() // chosen by now (the runner or an earlier op)
  for (const k of BACKEND_KERNELS) assert.not.ok(isBackendStandIn(kernels[k]), `${k} is still a stand-in under ${b}`)
})

test('each engine\'s kernel shape is prebuilt; this runtime picks its own (fused only where relaxed SIMD validates)', () => {
  for (const cfg of Object.values(WASM_GEMM_SHAPES)) {
    const name = wasmGemmModuleName(cfg)
    assert.ok(name in WASM_MODULES, `${name} is built`)
    if (!cfg.fma || wasmFeatures().relaxedSimd) assert.ok(validates(WASM_MODULES[name]()), `${name} validates`)
  }
  const cfg = wasmGemmConfig()
  const isBun = (globalThis as { Bun?: unknown }).Bun !== undefined
  if (isBun) assert.equal(cfg, WASM_GEMM_SHAPES.jsc)
  else if (!wasmFeatures().relaxedSimd) assert.equal(cfg, WASM_GEMM_SHAPES.v8)
  else assert.equal(cfg, WASM_GEMM_SHAPES.v8Relaxed)
})

test.run()

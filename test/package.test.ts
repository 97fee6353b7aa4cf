/**
 * @file The published package works: `npm pack` (whose prepack runs `npm run build`) into a temp
 * directory, a fresh project installs the tarball offline (tessera has no runtime dependencies),
 * an ESM script imports 'tessera' and 'tessera/node' from dist (matmul, the GEMM worker pool from
 * dist's gemm-worker.js, an SGD step), the `tessera` command trains one epoch from dist and data/,
 * and the repository's tsc type-checks a TypeScript consumer
 * against the installed .d.ts files with `--moduleResolution node16` and with `bundler`.
 * Skipped, with a message, only when npm cannot be run. Takes ~20-40 s (mostly the build).
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const hasNpm = spawnSync(npm, ['--version'], { encoding: 'utf8' }).status === 0

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_update_notifier: 'false' } })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`)
  return r
}

const SCRIPT = `
import { tensor, randn, manualSeed, nn, optim, F } from 'tessera'
import { startThreads, stopThreads, numThreads } from 'tessera/node'

const a = tensor([[1, 2], [3, 4]]), b = tensor([[5, 6], [7, 8]])
console.log('matmul', JSON.stringify(Array.from(a.matmul(b).data())))

manualSeed(0)
const x = randn([96, 80]), y = randn([80, 72])
const single = Array.from(x.matmul(y).data())
await startThreads(2)
const pooled = Array.from(x.matmul(y).data())
console.log('threads', numThreads(), single.every((v, i) => Object.is(v, pooled[i])))
await stopThreads()

manualSeed(1)
const model = new nn.Linear(3, 1)
const opt = new optim.SGD(model.parameters(), { lr: 0.1 })
const inp = randn([8, 3]), target = randn([8, 1])
const before = F.mseLoss(model.forward(inp), target)
before.backward()
opt.step()
opt.zeroGrad()
const after = F.mseLoss(model.forward(inp), target)
console.log('loss', before.item(), after.item(), after.item() < before.item())
`

const CONSUMER = `
import { tensor, Tensor, nn, optim, type DType } from 'tessera'
import { startThreads, numThreads, loadDataset } from 'tessera/node'

const t: Tensor = tensor([[1, 2]]).matmul(tensor([[3], [4]]))
const d: DType = t.dtype
const model: nn.Linear = new nn.Linear(2, 1)
const opt: optim.SGD = new optim.SGD(model.parameters(), { lr: 0.1 })
const p: Promise<void> = startThreads(2)
const n: number = numThreads()
export { d, opt, p, n, loadDataset }
// @ts-expect-error  the .d.ts must be precise enough to reject this
const bad: string = t.matmul
`

test('npm pack -> install offline -> run from dist and type-check against the .d.ts', () => {
  if (!hasNpm) {
    console.log('package.test.ts: SKIPPED: npm is not available on PATH, so the tarball cannot be packed or installed')
    return
  }
  const dir = mkdtempSync(join(tmpdir(), 'tessera-pack-'))
  try {
    run(npm, ['pack', '--pack-destination', dir, '--loglevel', 'warn'], repo)
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    assert.ok(tarball, 'npm pack wrote no tarball')
    const app = join(dir, 'app')
    run('mkdir', ['-p', app], dir)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'tessera-consumer', version: '1.0.0', private: true, type: 'module' }))
    run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--loglevel', 'warn', join(dir, tarball!)], app)
    const pkg = join(app, 'node_modules', 'tessera')
    assert.ok(existsSync(join(pkg, 'dist', 'index.js')) && existsSync(join(pkg, 'dist', 'node', 'gemm-worker.js')), 'dist is in the tarball')
    assert.ok(existsSync(join(pkg, 'data', 'digits.csv')) && existsSync(join(pkg, 'bin', 'tessera.mjs')), 'data and bin are in the tarball')
    assert.not.ok(existsSync(join(pkg, 'src')), 'src is not shipped')

    writeFileSync(join(app, 'main.mjs'), SCRIPT)
    const out = run(process.execPath, ['main.mjs'], app).stdout
    assert.match(out, 'matmul [19,22,43,50]')
    assert.match(out, 'threads 2 true')
    assert.match(out, /loss \S+ \S+ true/)

    // The `tessera` command runs dist/cli/main.js (no tsx in a user's project) and finds data/ in the package.
    assert.match(run(join(app, 'node_modules', '.bin', 'tessera'), ['--help'], app).stdout, 'tessera')
    const trained = run(join(app, 'node_modules', '.bin', 'tessera'), ['train', '--model', 'mlp', '--data', 'iris', '--epochs', '1', '--out', join(app, 'run')], app)
    assert.ok(existsSync(join(app, 'run', 'model.safetensors')), `tessera train wrote no weights:\n${trained.stdout}`)

    writeFileSync(join(app, 'consumer.ts'), CONSUMER)
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')
    const common = ['--noEmit', '--strict', '--target', 'es2022', '--skipLibCheck', 'false',
      '--typeRoots', join(repo, 'node_modules', '@types'), '--types', 'node', 'consumer.ts']
    for (const [module, resolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
      const r = spawnSync(process.execPath, [tsc, '--module', module, '--moduleResolution', resolution, ...common], { cwd: app, encoding: 'utf8' })
      assert.is(r.status, 0, `tsc (${resolution}) rejected the consumer:\n${r.stdout}${r.stderr}`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()

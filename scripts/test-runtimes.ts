/**
 * @file The runtime matrix (`npm run test:runtimes [-- names...]`). Bundles the portable tests (every
 * test/**\/*.test.ts that, with its local imports, uses no Node API, as judged by
 * scripts/check-no-node.ts) with esbuild into one ESM file, JSON fixtures inlined and 'uvu' replaced
 * by scripts/runtimes/uvu-shim.ts, then runs it under Node, Bun, Deno, workerd and headless Chromium.
 * Each prints `N passed, M failed`; the determinism probe (scripts/runtimes/determinism.ts) must agree
 * bit for bit across runtimes for exact values and to 1e-6 for transcendental ones. Exits 1 if any
 * runtime fails, is missing, or disagrees.
 *
 * Bun, Deno and workerd come from npm into .cache/runtimes (git-ignored; installed on first use with
 * their install scripts approved); Chromium is /usr/bin/chromium (Debian package `chromium`).
 */
import { build } from 'esbuild'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkSource } from './check-no-node.ts'
import { writeWasmModules } from './build-wasm.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const cache = join(root, '.cache')
const out = join(cache, 'portable')
const runtimesDir = join(cache, 'runtimes')
const bin = (name: string) => join(runtimesDir, 'node_modules', '.bin', name)

interface Report { passed: number; failed: number; skipped: number; failures: string[]; ms: number; determinism: { exact: Record<string, number[]>; approx: Record<string, number[]> } }

// ---------------------------------------------------------------- the portable bundle

function testFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : testFiles(path)
    return name.endsWith('.test.ts') ? [path] : []
  })
}

/** A test file is portable when it and every file it imports (transitively, relative paths) use no Node API. */
function portable(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return true
  seen.add(file)
  const code = readFileSync(file, 'utf8')
  if (checkSource(file, code).length > 0) return false
  for (const m of code.matchAll(/(?:from|import)\s+'(\.[^']+\.ts)'/g)) {
    const dep = resolve(dirname(file), m[1])
    if (!portable(dep, seen)) return false
  }
  return true
}

async function bundle(): Promise<{ files: string[]; skipped: string[] }> {
  const all = testFiles(join(root, 'test'))
  const files = all.filter((f) => portable(f))
  const skipped = all.filter((f) => !files.includes(f)).map((f) => relative(root, f))
  mkdirSync(out, { recursive: true })
  const entry = join(out, 'entry.ts')
  writeFileSync(entry, [
    ...files.map((f) => `import ${JSON.stringify(f)}`),
    `export { runAll, provideModules } from ${JSON.stringify(join(root, 'scripts/runtimes/entry-footer.ts'))}`,
    '',
  ].join('\n'))
  await build({
    entryPoints: [entry],
    outfile: join(out, 'suite.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    ignoreAnnotations: true, // package.json says sideEffects: false, but each test file is imported for its side effects
    plugins: [{ // exactly 'uvu' (not 'uvu/assert') becomes the shim
      name: 'uvu-shim',
      setup(b) { b.onResolve({ filter: /^uvu$/ }, () => ({ path: join(root, 'scripts/runtimes/uvu-shim.ts') })) },
    }],
    logLevel: 'warning',
  })
  return { files: files.map((f) => relative(root, f)), skipped }
}

// ---------------------------------------------------------------- hosts

const HOST = `import { runAll } from './suite.mjs'
const r = await runAll()
console.log('@@REPORT@@' + JSON.stringify(r))
`

function parseReport(text: string): Report {
  const line = text.split('\n').find((l) => l.startsWith('@@REPORT@@'))
  if (!line) throw new Error(`no report in output:\n${text.slice(-2000)}`)
  return JSON.parse(line.slice('@@REPORT@@'.length)) as Report
}

function runCli(cmd: string, args: string[]): Report {
  const r = spawnSync(cmd, args, { cwd: out, encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 28 })
  if (r.error) throw r.error
  return parseReport(r.stdout + r.stderr)
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => res(port))
    })
  })
}

async function runWorkerd(): Promise<Report> {
  const port = await freePort()
  // workerd refuses to compile WebAssembly from bytes, so the kernels come as build-time .wasm
  // modules (the files `npm run build` writes), imported and handed to provideModules.
  const wasmFiles = writeWasmModules(out).map((p) => basename(p))
  const wasmName = (f: string): string => f.replace(/\.wasm$/, '')
  const ident = (i: number): string => `wasm${i}`
  writeFileSync(join(out, 'worker.mjs'), `import { runAll, provideModules } from './suite.mjs'
${wasmFiles.map((f, i) => `import ${ident(i)} from './${f}'`).join('\n')}
provideModules({ ${wasmFiles.map((f, i) => `${JSON.stringify(wasmName(f))}: ${ident(i)}`).join(', ')} })
export default { async fetch() { return new Response(JSON.stringify(await runAll())) } }
`)
  writeFileSync(join(out, 'workerd.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .suite)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const suite :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs"), (name = "suite.mjs", esModule = embed "suite.mjs")${wasmFiles.map((f) => `, (name = "${f}", wasm = embed "${f}")`).join('')}],
  compatibilityDate = "2024-09-23",
);
`)
  const child = spawn(bin('workerd'), ['serve', join(out, 'workerd.capnp')], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (d) => { log += d })
  child.stderr.on('data', (d) => { log += d })
  try {
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`)
        return JSON.parse(await res.text()) as Report
      } catch (err) {
        if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}:\n${log}`)
        if (String((err as Error).cause ?? err).includes('ECONNREFUSED')) { await new Promise((r) => setTimeout(r, 200)); continue }
        throw new Error(`workerd: ${(err as Error).message}\n${log}`)
      }
    }
    throw new Error(`workerd never listened:\n${log}`)
  } finally {
    child.kill()
  }
}

async function runChromium(): Promise<Report> {
  const exe = '/usr/bin/chromium'
  if (!existsSync(exe)) throw new Error('chromium is not installed (apt-get install -y chromium)')
  const page = `<!doctype html><meta charset="utf-8"><script type="module">
import { runAll } from './suite.mjs'
let body
try { body = JSON.stringify(await runAll()) } catch (err) { body = JSON.stringify({ error: String(err && err.stack || err) }) }
await fetch('/report', { method: 'POST', body })
</script>`
  const suite = readFileSync(join(out, 'suite.mjs'))
  let resolveReport!: (r: Report) => void, rejectReport!: (e: Error) => void
  const report = new Promise<Report>((res, rej) => { resolveReport = res; rejectReport = rej })
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/report') {
      let body = ''
      req.on('data', (d) => { body += d })
      req.on('end', () => {
        res.end('ok')
        const parsed = JSON.parse(body)
        if (parsed.error) rejectReport(new Error(`chromium: ${parsed.error}`))
        else resolveReport(parsed as Report)
      })
    } else if (req.url === '/suite.mjs') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(suite)
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page)
    } else res.writeHead(404).end()
  })
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
  const port = (server.address() as { port: number }).port
  const profile = mkdtempSync(join(tmpdir(), 'tessera-chromium-'))
  const child = spawn(exe, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
    '--remote-debugging-pipe', `http://127.0.0.1:${port}/`], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d) => { log += d })
  child.on('exit', (code) => rejectReport(new Error(`chromium exited ${code} before reporting:\n${log.slice(-3000)}`)))
  const timer = setTimeout(() => rejectReport(new Error(`chromium: no report within 300 s:\n${log.slice(-3000)}`)), 300_000)
  try {
    return await report
  } finally {
    clearTimeout(timer)
    child.removeAllListeners('exit')
    child.kill()
    server.close()
    await new Promise((r) => setTimeout(r, 200))
    rmSync(profile, { recursive: true, force: true })
  }
}

/** The npm packages (pinned: the versions this matrix was last verified with) for the runtimes not on the machine. */
const NPM_RUNTIMES = { bun: '1.4.5', deno: '2.9.6', workerd: '1.20261117.1' }

/** Installs bun, deno and workerd from npm into .cache/runtimes on first use. */
function ensureNpmRuntimes(): void {
  if (['bun', 'deno', 'workerd'].every((n) => existsSync(bin(n)))) return
  mkdirSync(runtimesDir, { recursive: true })
  // npm 11 runs a dependency's install script (which fetches the binary) only when allowScripts approves it.
  writeFileSync(join(runtimesDir, 'package.json'), JSON.stringify({ name: 'tessera-runtimes', private: true, allowScripts: { bun: true, deno: true, workerd: true } }))
  const specs = Object.entries(NPM_RUNTIMES).map(([name, v]) => `${name}@${v}`)
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...specs], { cwd: runtimesDir, stdio: 'inherit' })
  if (r.status !== 0) throw new Error('npm install of bun, deno, workerd failed')
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return (r.stdout || r.stderr || '').trim().split('\n')[0]
}

// ---------------------------------------------------------------- main

const RUNTIMES: Record<string, { version: () => string; run: () => Report | Promise<Report> }> = {
  node: { version: () => `node ${process.version}`, run: () => runCli(process.execPath, ['host.mjs']) },
  bun: { version: () => `bun ${version(bin('bun'), ['--version'])}`, run: () => runCli(bin('bun'), ['host.mjs']) },
  deno: { version: () => version(bin('deno'), ['--version']), run: () => runCli(bin('deno'), ['run', '--allow-read=.', '--allow-env=FORCE_COLOR,NODE_DISABLE_COLORS,NO_COLOR,TERM', 'host.mjs']) },
  workerd: { version: () => `workerd ${version(bin('workerd'), ['--version']).replace(/^workerd\s*/, '')}`, run: runWorkerd },
  chromium: { version: () => version('/usr/bin/chromium', ['--version']), run: runChromium },
}

function compare(base: Report['determinism'], other: Report['determinism']): string[] {
  const problems: string[] = []
  for (const [group, tol] of [['exact', 0], ['approx', 1e-6]] as const) {
    for (const [key, ref] of Object.entries(base[group])) {
      const got = other[group][key]
      if (!got || got.length !== ref.length) { problems.push(`${group}.${key}: length differs`); continue }
      const bad = ref.findIndex((v, i) => (tol === 0 ? !Object.is(v, got[i]) : !(Math.abs(v - got[i]) <= tol * Math.max(1, Math.abs(v)))))
      if (bad >= 0) problems.push(`${group}.${key}[${bad}]: ${ref[bad]} vs ${got[bad]}`)
    }
  }
  return problems
}

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(RUNTIMES)
const t0 = Date.now()
const { files, skipped } = await bundle()
writeFileSync(join(out, 'host.mjs'), HOST)
console.log(`portable suite: ${files.length} test files bundled into .cache/portable/suite.mjs (${skipped.length} use Node APIs and stay out: ${skipped.join(', ')})`)
if (wanted.some((w) => ['bun', 'deno', 'workerd'].includes(w))) ensureNpmRuntimes()

let ok = true
let totalPassed = 0
let totalFailed = 0
let reference: { name: string; det: Report['determinism'] } | null = null
for (const name of wanted) {
  const rt = RUNTIMES[name]
  if (!rt) { console.log(`${name}: unknown runtime`); ok = false; continue }
  const started = Date.now()
  try {
    const r = await rt.run()
    const secs = ((Date.now() - started) / 1000).toFixed(1)
    console.log(`${name} (${rt.version()}): ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  [${secs} s]`)
    const hash = createHash('sha256').update(JSON.stringify(r.determinism.exact)).digest('hex').slice(0, 16)
    console.log(`  determinism: sha256(exact values) ${hash}; normal[0..2] ${r.determinism.approx.normal.slice(0, 3).join(', ')}`)
    for (const f of r.failures.slice(0, 20)) console.log(`  FAIL ${f}`)
    totalPassed += r.passed
    totalFailed += r.failed
    if (r.failed > 0 || r.passed === 0) ok = false
    if (!reference) reference = { name, det: r.determinism }
    else {
      const problems = compare(reference.det, r.determinism)
      if (problems.length > 0) { ok = false; console.log(`  determinism differs from ${reference.name}:`); for (const p of problems) console.log(`    ${p}`) }
      else console.log(`  determinism: matches ${reference.name} (exact bit for bit, transcendental to 1e-6)`)
    }
  } catch (err) {
    ok = false
    totalFailed++ // a runtime that could not run counts as a failure in the closing line
    console.log(`${name}: FAILED TO RUN: ${(err as Error).message}`)
  }
}
console.log(`runtimes ${ok ? 'all passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${wanted.join(', ')})`)
// The closing line CI reads: every runtime's tests summed.
console.log(`runtimes: ${totalPassed} passed, ${totalFailed} failed`)
if (!ok) process.exitCode = 1

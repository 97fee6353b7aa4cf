/**
 * @file Guards the core's portability: no file under src/ outside src/node/ and src/cli/ may import a
 * Node built-in (`node:*`, fs, path, os, worker_threads, child_process, url, ...) or use the Node
 * globals `process`, `Buffer`, `__dirname`, `__filename` or `require(`. Comments and the contents of
 * string literals are blanked first, so prose and error messages never trip it.
 *
 *   npx tsx scripts/check-no-node.ts [root]   # root defaults to the repository; exits 1 on a violation
 *
 * `npm run typecheck` runs it; test/check-no-node.test.ts plants a violation in a temporary copy.
 */
import { builtinModules } from 'node:module'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Folders (relative to src/) where Node APIs are allowed. */
const NODE_ONLY = ['node', 'cli']

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')))

/** One finding: file (relative to root), 1-based line and what was found. */
export interface Violation { file: string; line: number; what: string }

/**
 * Returns `code` with comments removed and the characters inside string, template and regex
 * literals replaced by spaces (quotes kept), so line numbers and import specifiers survive.
 * Specifiers are read from the original text at the same offsets.
 */
export function blank(code: string): string {
  let out = ''
  let i = 0
  let prev = '' // last significant character of code, to tell a regex from a division
  while (i < code.length) {
    const c = code[i], n = code[i + 1]
    if (c === '/' && n === '/') {
      while (i < code.length && code[i] !== '\n') { out += ' '; i++ }
    } else if (c === '/' && n === '*') {
      const end = code.indexOf('*/', i + 2)
      const stop = end < 0 ? code.length : end + 2
      for (; i < stop; i++) out += code[i] === '\n' ? '\n' : ' '
    } else if (c === '"' || c === "'" || c === '`' || (c === '/' && (prev === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(prev)))) {
      out += c
      i++
      let inClass = false
      while (i < code.length && (code[i] !== c || inClass)) {
        if (code[i] === '\\') { out += '  '; i += 2; continue }
        if (c === '/' && code[i] === '[') inClass = true
        if (c === '/' && code[i] === ']') inClass = false
        if (c !== '`' && code[i] === '\n') break // unterminated: stop at the line end
        out += code[i] === '\n' ? '\n' : ' '
        i++
      }
      if (code[i] === c) { out += c; i++ }
      prev = 'x'
    } else {
      out += c
      if (!/\s/.test(c)) prev = c
      i++
    }
  }
  return out
}

/** Is this import specifier a Node built-in? */
export function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0])
}

/** Checks one file's text; `file` is only used in the findings. */
export function checkSource(file: string, code: string): Violation[] {
  const found: Violation[] = []
  const blanked = blank(code)
  const lineOf = (at: number) => code.slice(0, at).split('\n').length
  // Specifiers: `from '...'`, `import '...'`, `import('...')`, `require('...')`; the quotes survive blanking.
  const imports = /\b(?:from|import|require)\s*\(?\s*(['"])/g
  for (let m; (m = imports.exec(blanked)); ) {
    const start = m.index + m[0].length
    const end = code.indexOf(m[1], start)
    const spec = code.slice(start, end)
    if (isBuiltin(spec)) found.push({ file, line: lineOf(m.index), what: `imports Node built-in '${spec}'` })
  }
  const globals = /(?<![.\w$])(process|Buffer|__dirname|__filename)\b|(?<![.\w$])require\s*\(|\bglobalThis\s*\.\s*(process|Buffer|require)\b/g
  for (let m; (m = globals.exec(blanked)); ) {
    found.push({ file, line: lineOf(m.index), what: `uses Node global '${m[0].replace(/\s*\($/, '(')}'` })
  }
  return found
}

function walk(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : /\.(ts|mts|js|mjs)$/.test(name) ? [path] : []
  })
}

/** Checks every source file under `root`/src except the Node-only folders. */
export function checkTree(root: string): Violation[] {
  const src = join(root, 'src')
  return walk(src)
    .filter((path) => !NODE_ONLY.includes(relative(src, path).split(sep)[0]))
    .flatMap((path) => checkSource(relative(root, path), readFileSync(path, 'utf8')))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url)))
  const violations = checkTree(root)
  for (const v of violations) console.error(`${v.file}:${v.line}: ${v.what}`)
  if (violations.length > 0) {
    console.error(`check-no-node: ${violations.length} Node API use(s) outside src/node and src/cli`)
    process.exitCode = 1
  } else {
    console.log('check-no-node: src/ (outside src/node, src/cli) uses no Node API')
  }
}

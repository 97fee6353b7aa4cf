#!/usr/bin/env node
// The `tessera` command. Runs the compiled CLI when a build exists (dist/), otherwise the
// TypeScript source through tsx (a development dependency).
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
let cli
if (existsSync(built)) {
  cli = await import(built.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import(new URL('../src/cli/main.ts', import.meta.url).href)
}
process.exitCode = cli.main(process.argv.slice(2))

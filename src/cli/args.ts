/**
 * @file A small, strict command-line parser: `--name value`, `--name=value` and boolean `--flag`.
 * Unknown options, missing values and malformed numbers are errors, never ignored.
 */
import { TesseraError } from '../errors.ts'

export interface OptionSpec {
  /** 'string' and 'number' take a value; 'boolean' does not. */
  type: 'string' | 'number' | 'boolean'
  description: string
  default?: string | number | boolean
  /** Allowed values for a string option. */
  choices?: readonly string[]
}

export type Specs = Record<string, OptionSpec>
export type Parsed<S extends Specs> = { [K in keyof S]: S[K]['type'] extends 'number' ? number : S[K]['type'] extends 'boolean' ? boolean : string }

export function parseArgs<S extends Specs>(command: string, argv: readonly string[], specs: S): Parsed<S> {
  const out: Record<string, unknown> = {}
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.default ?? (spec.type === 'boolean' ? false : undefined)
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) throw new TesseraError(`${command}: unexpected argument ${JSON.stringify(arg)} (options start with --; see --help)`)
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq >= 0 ? eq : undefined)
    const spec = specs[name]
    if (!spec) throw new TesseraError(`${command}: unknown option --${name} (see ${command} --help)`)
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new TesseraError(`${command}: --${name} is a flag and takes no value`)
      out[name] = true
      continue
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new TesseraError(`${command}: --${name} needs a value`)
    if (spec.type === 'number') {
      const n = Number(value)
      if (value.trim() === '' || !Number.isFinite(n)) throw new TesseraError(`${command}: --${name} must be a number, got ${JSON.stringify(value)}`)
      out[name] = n
    } else {
      if (spec.choices && !spec.choices.includes(value)) {
        throw new TesseraError(`${command}: --${name} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(value)}`)
      }
      out[name] = value
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (out[name] === undefined && spec.type !== 'boolean') throw new TesseraError(`${command}: --${name} is required`)
  }
  return out as Parsed<S>
}

/** Help text listing each option with its type, choices and default. */
export function helpText(command: string, summary: string, specs: Specs): string {
  const lines = [`usage: ${command} [options]`, '', summary, '', 'options:']
  const width = Math.max(...Object.keys(specs).map((n) => n.length)) + 4
  for (const [name, spec] of Object.entries(specs)) {
    const value = spec.type === 'boolean' ? '' : spec.choices ? ` <${spec.choices.join('|')}>` : ` <${spec.type}>`
    const def = spec.default !== undefined && spec.type !== 'boolean' ? ` (default ${spec.default})` : ''
    lines.push(`  ${`--${name}`.padEnd(width)}${spec.description}${value ? ` ${value.trim()}` : ''}${def}`)
  }
  lines.push(`  ${'--help'.padEnd(width)}show this help`)
  return lines.join('\n')
}

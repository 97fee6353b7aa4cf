/**
 * @file The `tessera` command line: `tessera train`, `tessera eval`, `tessera bench`, `tessera papers`,
 * `tessera demo`.
 * Exit codes: 0 success, 1 failure, 2 usage error.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TesseraError } from '../errors.ts'
import { helpText } from './args.ts'
import { TRAIN_OPTIONS, train } from './train.ts'
import { EVAL_OPTIONS, evaluate } from './evaluate.ts'
import { demo, papers } from './papers.ts'

const USAGE = `usage: tessera <command> [options]

commands:
  train    train a classifier on a bundled dataset (default: a small CNN on the 8x8 digits)
  eval     evaluate weights written by train on the same held-out split
  bench    run the benchmark suite (from a source checkout; options are passed to bench/run.ts)
  papers   list the 77 papers with their derived status; 'papers NN' shows one paper's card
  demo     run a paper's demo: 'tessera demo NN [--quick]' (from a source checkout)

tessera <command> --help shows a command's options.`

/** Runs the CLI with `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[]): number {
  const [command, ...rest] = argv
  const stdout = process.stdout
  const sink = { isTTY: stdout.isTTY === true, columns: stdout.columns, write: (s: string) => { stdout.write(s) } }
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      console.log(USAGE)
      return command === undefined ? 2 : 0
    }
    if (command === 'train') {
      if (rest.includes('--help')) { console.log(helpText('tessera train', 'Trains a classifier and writes weights, curves and metrics.', TRAIN_OPTIONS)); return 0 }
      train(rest, sink)
      return 0
    }
    if (command === 'eval') {
      if (rest.includes('--help')) { console.log(helpText('tessera eval', 'Evaluates saved weights on the held-out split they were trained against.', EVAL_OPTIONS)); return 0 }
      evaluate(rest, sink.write)
      return 0
    }
    if (command === 'bench') return bench(rest)
    if (command === 'papers') return papers(rest)
    if (command === 'demo') return demo(rest)
    console.error(`tessera: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
    return 2
  } catch (e) {
    if (e instanceof TesseraError) {
      console.error(e.message)
      return /unknown option|needs a value|must be|is required|unexpected argument|takes no value/.test(e.message) ? 2 : 1
    }
    throw e
  }
}

function bench(args: readonly string[]): number {
  const script = fileURLToPath(new URL('../../bench/run.ts', import.meta.url))
  if (!existsSync(script)) {
    console.error('tessera bench: the benchmark suite (bench/) is part of the source checkout, not of the installed package')
    return 1
  }
  if (args.includes('--help')) {
    console.log('usage: tessera bench [--quick] [--filter REGEX] [--compare] [--time MS]\n\nRuns bench/run.ts (see its header for the options).')
    return 0
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'inherit' })
  return r.status ?? 1
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2))

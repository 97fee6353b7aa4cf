/**
 * @file A tiny stand-in for uvu's `test`/`suite` API, bundled into the portable test suite in place
 * of 'uvu' (whose runner reads process/argv). Tests register into one queue; `test.run()` is a
 * no-op, and the harness runs the queue once with `runQueued()`. uvu/assert itself is bundled as is.
 */
type Fn = (ctx: Record<string, unknown>) => unknown
interface Case { suite: string; name: string; fn: Fn; only: boolean; skip: boolean }
interface Hooks { before: Fn[]; after: Fn[]; beforeEach: Fn[]; afterEach: Fn[] }
interface Registered { name: string; cases: Case[]; hooks: Hooks; ctx: Record<string, unknown> }

const suites: Registered[] = []

/** Result of running every registered test. */
export interface RunResult { passed: number; failed: number; skipped: number; failures: string[] }

export function suite(name = '', ctx: Record<string, unknown> = {}) {
  const reg: Registered = { name, cases: [], hooks: { before: [], after: [], beforeEach: [], afterEach: [] }, ctx }
  suites.push(reg)
  const add = (only: boolean, skip: boolean) => (caseName: string, fn: Fn) => { reg.cases.push({ suite: name, name: caseName, fn, only, skip }) }
  const t = Object.assign(add(false, false), {
    only: add(true, false),
    skip: add(false, true),
    run: () => {},
    before: Object.assign((fn: Fn) => { reg.hooks.before.push(fn) }, { each: (fn: Fn) => { reg.hooks.beforeEach.push(fn) } }),
    after: Object.assign((fn: Fn) => { reg.hooks.after.push(fn) }, { each: (fn: Fn) => { reg.hooks.afterEach.push(fn) } }),
  })
  return t
}

export const test = suite()

/** Runs every registered case in registration order (honouring `.only` within a suite). */
export async function runQueued(): Promise<RunResult> {
  const out: RunResult = { passed: 0, failed: 0, skipped: 0, failures: [] }
  for (const s of suites) {
    const hasOnly = s.cases.some((c) => c.only)
    const cases = s.cases.filter((c) => !c.skip && (!hasOnly || c.only))
    out.skipped += s.cases.length - cases.length
    if (cases.length === 0) continue
    try {
      for (const h of s.hooks.before) await h(s.ctx)
    } catch (err) {
      out.failed += cases.length
      out.failures.push(`${s.name} (before): ${(err as Error).message}`)
      continue
    }
    for (const c of cases) {
      try {
        for (const h of s.hooks.beforeEach) await h(s.ctx)
        await c.fn(s.ctx)
        for (const h of s.hooks.afterEach) await h(s.ctx)
        out.passed++
      } catch (err) {
        out.failed++
        out.failures.push(`${s.name ? s.name + ' > ' : ''}${c.name}: ${(err as Error).message}`)
      }
    }
    for (const h of s.hooks.after) await h(s.ctx)
  }
  return out
}

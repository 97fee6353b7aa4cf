/**
 * @file Training progress: a live one-line bar on a terminal (epoch, step, loss, accuracy,
 * examples/s, ETA), plain log lines when the output is not a TTY (CI, pipes, files).
 */

export interface ProgressSink {
  /** True when the output is an interactive terminal that understands carriage returns. */
  isTTY: boolean
  columns?: number
  write(text: string): void
}

export interface StepInfo {
  epoch: number
  epochs: number
  step: number
  steps: number
  loss: number
  accuracy: number
  examples: number
  elapsedMs: number
}

export class Progress {
  constructor(private readonly out: ProgressSink, private readonly totalSteps: number, private readonly startMs: number) {}

  /** Redraws the bar (TTY) or prints a line at the end of each epoch (plain). */
  update(s: StepInfo, nowMs: number): void {
    const done = (s.epoch - 1) * s.steps + s.step
    const rate = s.examples / Math.max(1e-9, (nowMs - this.startMs) / 1000)
    const etaS = done > 0 ? ((nowMs - this.startMs) / 1000) * (this.totalSteps - done) / done : 0
    const stats = `epoch ${s.epoch}/${s.epochs}  step ${s.step}/${s.steps}  loss ${s.loss.toFixed(4)}  acc ${(100 * s.accuracy).toFixed(1)}%  ${rate.toFixed(0)} ex/s  ETA ${fmtTime(etaS)}`
    if (this.out.isTTY) {
      const width = Math.max(10, Math.min(30, (this.out.columns ?? 100) - stats.length - 4))
      const filled = Math.round((width * done) / this.totalSteps)
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`)
      if (done === this.totalSteps) this.out.write('\n')
      return
    }
    if (s.step === s.steps) this.out.write(stats + '\n') // plain output: one line per epoch
  }
}

export function fmtTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--'
  const s = Math.round(seconds)
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}

/** @file The one error class tessera throws for bad input. Messages name the op, the argument and the shapes. */

/** Thrown for any misuse tessera detects: wrong shapes, dtypes, dims, autograd misuse, malformed files. */
export class TesseraError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TesseraError'
  }
}

/** Formats a shape the way error messages print it: `[2,3]`. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`
}

/** Throws `TesseraError(op + ': ' + message)` unless `cond` holds. */
export function check(cond: unknown, op: string, message: () => string): asserts cond {
  if (!cond) throw new TesseraError(`${op}: ${message()}`)
}

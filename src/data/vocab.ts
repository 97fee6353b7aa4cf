/**
 * @file A character vocabulary for character-level language models (makemore-style:
 * https://github.com/karpathy/makemore). Characters are Unicode code points; special tokens (such
 * as '.' for start/end of a name) take the first ids, then the characters of the texts in code
 * point order.
 */
import { TesseraError } from '../errors.ts'

/**
 * Maps single characters (and special tokens) to ids 0..size-1 and back.
 * @example
 *   const vocab = CharVocab.fromTexts(names, { specials: ['.'] })
 *   const ids = vocab.encode(`.${names[0]}.`)
 */
export class CharVocab {
  /** id -> token */
  readonly tokens: readonly string[]
  private readonly ids: Map<string, number>

  /** A vocabulary over exactly these tokens, in this order (each one code point, no repeats). */
  constructor(tokens: Iterable<string>) {
    const list = [...tokens]
    const ids = new Map<string, number>()
    list.forEach((tok, id) => {
      if (typeof tok !== 'string' || [...tok].length !== 1) throw new TesseraError(`CharVocab: each token must be one character, got ${JSON.stringify(tok)}`)
      if (ids.has(tok)) throw new TesseraError(`CharVocab: token ${JSON.stringify(tok)} appears twice`)
      ids.set(tok, id)
    })
    this.tokens = list
    this.ids = ids
  }

  /**
   * The specials, then every character that occurs in the texts, sorted by code point.
   * A special that also occurs in a text is an error (it would be ambiguous).
   * @example
   *   const vocab = CharVocab.fromTexts(['emma', 'ava'], { specials: ['.'] })   // . a e m v
   *   vocab.encode('.ava.')   // [0, 1, 4, 1, 0]
   */
  static fromTexts(texts: Iterable<string>, opts: { specials?: readonly string[] } = {}): CharVocab {
    const specials = opts.specials ?? []
    const seen = new Set<string>()
    for (const text of texts) for (const ch of text) seen.add(ch)
    for (const s of specials) if (seen.has(s)) throw new TesseraError(`CharVocab.fromTexts: special token ${JSON.stringify(s)} also occurs in the texts`)
    const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!)
    return new CharVocab([...specials, ...chars])
  }

  /** Number of tokens. */
  get size(): number {
    return this.tokens.length
  }

  /** The id of one token; throws for a token outside the vocabulary. */
  id(token: string): number {
    const id = this.ids.get(token)
    if (id === undefined) throw new TesseraError(`CharVocab: ${JSON.stringify(token)} is not in the vocabulary`)
    return id
  }

  /** Ids of the characters of `text`. */
  encode(text: string): number[] {
    return Array.from(text, (ch) => this.id(ch))
  }

  /** The text spelled by `ids`. */
  decode(ids: Iterable<number>): string {
    let out = ''
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) throw new TesseraError(`CharVocab.decode: id ${id} is outside [0, ${this.tokens.length})`)
      out += this.tokens[id]
    }
    return out
  }
}

// Test oracle: the `tokenizers` npm package (Rust HF tokenizers through N-API).
// Its Encoding.getOffsets() are in Unicode scalar values (Rust `encode_char_offsets`), e.g. 'a😀b' gives
// 'b' the offsets [2,3]; our Encoding uses UTF-16 code units (the emoji is 2 units), so we convert.
// Lone surrogates reach Rust as U+FFFD (one char), i.e. one UTF-16 unit each.
import { Tokenizer as RustTokenizer } from 'tokenizers';
import type { Encoding } from '../../../src/engine/types';

function cpToU16Table(text: string): number[] {
  const t: number[] = [];
  for (let i = 0; i < text.length; i++) {
    t.push(i);
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < text.length) {
      const v = text.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) i++;
    }
  }
  t.push(text.length);
  return t;
}

export class Oracle {
  readonly rust: RustTokenizer;
  constructor(file: string) {
    this.rust = RustTokenizer.fromFile(file);
  }

  /** HF encode(text, add_special_tokens=True), offsets converted to UTF-16 code units. */
  async encode(text: string): Promise<Encoding> {
    const e = await this.rust.encode(text);
    const t = cpToU16Table(text);
    return {
      ids: e.getIds(),
      tokens: e.getTokens(),
      offsets: e.getOffsets().map(([a, b]) => [t[a], t[b]] as [number, number]),
    };
  }

  decode(ids: number[]): Promise<string> {
    return this.rust.decode(ids, false);
  }
}

/** Deterministic pseudo-random generator (LCG) for fuzz strings. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) / 0x1000000;
  };
}

/** Random strings made of the given pieces (0..maxPieces of them). */
export function fuzzStrings(pieces: readonly string[], n: number, maxPieces: number, seed: number): string[] {
  const rnd = lcg(seed);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const len = Math.floor(rnd() * (maxPieces + 1));
    let s = '';
    for (let i = 0; i < len; i++) s += pieces[Math.floor(rnd() * pieces.length)];
    out.push(s);
  }
  return out;
}

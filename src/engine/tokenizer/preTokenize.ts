// Pre-tokenizers of HF `tokenizers` used by byte-level BPE tokenizers: ByteLevel, Split, Sequence.
import { Piece, slicePiece, pieceText, transform } from './normalize';
import { BYTE_TO_CHAR } from './byteLevel';
import { HF_LETTER, HF_NUMBER } from './unicodeClasses';

/** Unicode White_Space, the set that Oniguruma's and Rust's `\s` match (JavaScript's `\s` differs:
 * it lacks U+0085 and adds U+FEFF). */
export const WS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** Body of a regex character class (u flag) for a table of code points and (first, -last) ranges. */
export function classBody(table: readonly number[]): string {
  let s = '';
  for (let i = 0; i < table.length; i++) {
    s += `\\u{${table[i].toString(16)}}`;
    if (i + 1 < table.length && table[i + 1] < 0) s += `-\\u{${(-table[++i]).toString(16)}}`;
  }
  return s;
}
const LETTER = classBody(HF_LETTER);
const NUMBER = classBody(HF_NUMBER);

/** The GPT-2 pre-tokenisation regex of the ByteLevel pre-tokenizer,
 * `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, with `\s`, `\p{L}` and
 * `\p{N}` spelled out as HF's Oniguruma sees them (fixed tables, whatever Unicode version Node has). */
export const GPT2_REGEX = new RegExp(
  `'s|'t|'re|'ve|'m|'ll|'d| ?[${LETTER}]+| ?[${NUMBER}]+| ?[^${WS}${LETTER}${NUMBER}]+|[${WS}]+(?![^${WS}])|[${WS}]+`,
  'gu',
);

export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export type PreTokenizerFn = (pieces: Piece[]) => Piece[];

/** UTF-16 index -> code-point index table of a string (length s.length + 1). */
function cpIndexTable(s: string): Int32Array {
  const t = new Int32Array(s.length + 1);
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    t[i] = k;
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < s.length) {
      const v = s.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) {
        t[i + 1] = k;
        i++;
      }
    }
    k++;
  }
  t[s.length] = k;
  return t;
}

/** HF `Pattern::find_matches` for a regex: the matches and the gaps between them, covering the string. */
function findMatches(re: RegExp, s: string): [number, number, boolean][] {
  if (s.length === 0) return [[0, 0, false]];
  const out: [number, number, boolean][] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (;;) {
    const m = re.exec(s);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      const cp = s.codePointAt(start);
      re.lastIndex = start + (cp !== undefined && cp > 0xffff ? 2 : 1);
      if (start >= s.length) break;
    }
    if (prev !== start) out.push([prev, start, false]);
    out.push([start, end, true]);
    prev = end;
  }
  if (prev !== s.length) out.push([prev, s.length, false]);
  return out;
}

/** HF `NormalizedString::split` (offsets in UTF-16 units of the piece text), then slicing (empty ones dropped). */
export function splitPiece(p: Piece, re: RegExp, behavior: SplitBehavior, invert = false): Piece[] {
  const text = pieceText(p);
  let matches = findMatches(re, text);
  if (invert) matches = matches.map(([a, b, m]) => [a, b, !m]);
  let splits: [number, number, boolean][]; // [start, end, remove]
  switch (behavior) {
    case 'Isolated':
      splits = matches.map(([a, b]) => [a, b, false]);
      break;
    case 'Removed':
      splits = matches;
      break;
    case 'Contiguous': {
      splits = [];
      let prevMatch = false;
      for (const [a, b, m] of matches) {
        if (m === prevMatch && splits.length > 0) splits[splits.length - 1][1] = b;
        else splits.push([a, b, false]);
        prevMatch = m;
      }
      break;
    }
    case 'MergedWithPrevious': {
      splits = [];
      let prevMatch = false;
      for (const [a, b, m] of matches) {
        if (m && !prevMatch && splits.length > 0) splits[splits.length - 1][1] = b;
        else splits.push([a, b, false]);
        prevMatch = m;
      }
      break;
    }
    case 'MergedWithNext': {
      splits = [];
      let prevMatch = false;
      for (let i = matches.length - 1; i >= 0; i--) {
        const [a, b, m] = matches[i];
        if (m && !prevMatch && splits.length > 0) splits[splits.length - 1][0] = a;
        else splits.push([a, b, false]);
        prevMatch = m;
      }
      splits.reverse();
      break;
    }
  }
  const idx = cpIndexTable(text);
  const out: Piece[] = [];
  for (const [a, b, remove] of splits) {
    if (remove) continue;
    const ca = idx[a];
    const cb = idx[b];
    if (cb > ca) out.push(slicePiece(p, ca, cb));
  }
  return out;
}

/** Applies `f` to the pieces that are not extracted added tokens (HF `PreTokenizedString::split`). */
export function splitEach(pieces: Piece[], f: (p: Piece) => Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    if (p.added) out.push(p);
    else for (const q of f(p)) if (q.cps.length > 0) out.push(q);
  }
  return out;
}

/** Maps every code point to the byte-level characters of its UTF-8 bytes (each aligned like the code point). */
export function byteLevelMap(p: Piece): void {
  const cps: number[] = [];
  const ch: number[] = [];
  for (const c of p.cps) {
    const bytes = utf8Bytes(c);
    for (let i = 0; i < bytes.length; i++) {
      cps.push(BYTE_TO_CHAR[bytes[i]].charCodeAt(0));
      ch.push(i > 0 ? 1 : 0);
    }
  }
  transform(p, cps, ch, 0);
}

function utf8Bytes(c: number): number[] {
  if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate cannot be UTF-8: it becomes U+FFFD
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 63)];
  if (c < 0x10000) return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
  return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
}

/** HF `NormalizedString::prepend(" ")`: a transform of the first character only, into (' ', 0), (first, 1),
 * so both take the alignment of the first character. */
function prependSpace(p: Piece): void {
  if (p.cps.length === 0) return;
  const rest = { cps: p.cps.slice(1), start: p.start.slice(1), end: p.end.slice(1) };
  p.cps.length = p.start.length = p.end.length = 1;
  transform(p, [0x20, p.cps[0]], [0, 1], 0);
  p.cps = p.cps.concat(rest.cps);
  p.start = p.start.concat(rest.start);
  p.end = p.end.concat(rest.end);
}

export function byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): PreTokenizerFn {
  return (pieces) => {
    const split = splitEach(pieces, (p) => {
      if (addPrefixSpace && p.cps[0] !== 0x20) prependSpace(p);
      return useRegex ? splitPiece(p, GPT2_REGEX, 'Isolated') : [p];
    });
    for (const p of split) if (!p.added) byteLevelMap(p);
    return split;
  };
}

/**
 * Refuses a regex that repeats a group which itself contains a repetition or an alternation, e.g. `(a+)+$` or
 * `(a|a)*`: JavaScript's backtracking engine takes exponential time on some texts with those (Oniguruma gives up after
 * a retry limit; we cannot), so a tokenizer.json holding one could hang the encoder. The Split regexes of real
 * byte-level BPE tokenizers repeat only single atoms and classes, or groups at most once (`(?i:'s|'t)?`).
 */
export function assertLinearRegex(src: string): void {
  const stack: { quant: boolean; alt: boolean }[] = [{ quant: false, alt: false }];
  /** [repeats more than once, end index] of a quantifier at i, or undefined */
  const quantifierAt = (i: number): [boolean, number] | undefined => {
    const c = src[i];
    if (c === '*' || c === '+') return [true, i + 1];
    if (c === '?') return [false, i + 1];
    if (c === '{') {
      const m = /^\{(\d*)(,?)(\d*)\}/.exec(src.slice(i));
      if (!m || (m[1] === '' && m[3] === '')) return undefined;
      const lo = m[1] === '' ? 0 : Number(m[1]);
      const hi = m[2] === '' ? lo : m[3] === '' ? Infinity : Number(m[3]);
      return [hi > 1, i + m[0].length];
    }
    return undefined;
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === '\\') {
      i += 2;
      if (/[pPux]/.test(src[i - 1] ?? '') && src[i] === '{') while (i < src.length && src[i] !== '}') i++;
      if (src[i - 1] === 'k' && src[i] === '<') while (i < src.length && src[i] !== '>') i++;
      if (src[i] === '}' || src[i] === '>') i++;
    } else if (c === '[') {
      i++;
      if (src[i] === '^') i++;
      if (src[i] === ']') i++;
      while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '(') {
      stack.push({ quant: false, alt: false });
      i++;
      continue;
    } else if (c === ')') {
      const g = stack.length > 1 ? stack.pop()! : { quant: false, alt: false };
      const q = quantifierAt(i + 1);
      if (q && q[0] && (g.quant || g.alt)) {
        throw new Error(`it repeats a group that holds a repetition or an alternation, which can take exponential time: ${src.slice(0, i + 2)}`);
      }
      const top = stack[stack.length - 1];
      top.quant ||= g.quant || q !== undefined;
      top.alt ||= g.alt;
      i = q ? q[1] : i + 1;
      if (src[i] === '?' || src[i] === '+') i++; // lazy / possessive suffix
      continue;
    } else if (c === '|') {
      stack[stack.length - 1].alt = true;
      i++;
      continue;
    } else i++;
    // after an atom: its quantifier, if any
    const q = quantifierAt(i);
    if (q) {
      stack[stack.length - 1].quant = true;
      i = q[1];
      if (src[i] === '?' || src[i] === '+') i++;
    }
  }
}

/** Translates an Oniguruma regex of a Split pre-tokenizer to JavaScript (`\s`/`\S` as Unicode White_Space,
 * `\p{L}`/`\p{N}` as HF's tables). */
export function translateRegex(src: string): RegExp {
  assertLinearRegex(src);
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\' && i + 1 < src.length) {
      const d = src[i + 1];
      i++;
      const prop = /^p\{(L|N|Letter|Number)\}/.exec(src.slice(i));
      if (prop) {
        const body = prop[1].startsWith('L') ? LETTER : NUMBER;
        out += inClass ? body : `[${body}]`;
        i += prop[0].length - 1;
        continue;
      }
      if (d === 's') out += inClass ? WS : `[${WS}]`;
      else if (d === 'S') {
        if (inClass) throw new Error('\\S inside a character class is not supported');
        out += `[^${WS}]`;
      } else out += c + d;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return new RegExp(out, 'gu');
}

export function splitPreTokenizer(re: RegExp, behavior: SplitBehavior, invert: boolean): PreTokenizerFn {
  return (pieces) => splitEach(pieces, (p) => splitPiece(p, re, behavior, invert));
}

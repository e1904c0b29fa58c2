// Loader for HF `tokenizer.json` files of the GPT-2 / gpt-neox family (byte-level BPE), reproducing
// HF `tokenizers` (Rust) `encode(text, add_special_tokens=True)`: ids, tokens and offsets, the offsets
// given in UTF-16 code units of the original string (HF gives Unicode-scalar offsets; we convert).
//
// Pipeline (as HF): added tokens with normalized=false are split out of the raw text; each remaining
// piece is normalised, then added tokens with normalized=true are split out; the pre-tokenizer splits
// and byte-maps the rest; BPE tokenises each word; the post-processor trims offsets (ByteLevel) or adds
// template tokens. Every character keeps the range of original characters it came from, with HF's
// alignment rules, so that offsets match HF exactly (including its quirks, e.g. NFC compositions are
// aligned to their first original character only).
import { readFileSync } from 'node:fs';
import { Encoding, Tokenizer, UserError } from '../types';
import { Bpe, BpeInputError, BpeOptions, BpeToken } from './bpe';
import { byteLevelDecode } from './byteLevel';
import { AddedToken, Matcher } from './addedVocabulary';
import { lowercase, NormalizerFn, Piece, pieceText, unicodeNormalize } from './normalize';
import { byteLevelPreTokenizer, PreTokenizerFn, SplitBehavior, splitPreTokenizer, translateRegex } from './preTokenize';

export { byteLevelDecode } from './byteLevel';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One token before post-processing: offsets in original code points. */
interface RawTok {
  id: number;
  token: string;
  start: number;
  end: number;
}

type PostProcessorFn = (toks: RawTok[]) => RawTok[];

const SPACE_CHAR = 'Ġ';
const WHITE = /^\p{White_Space}$/u;

function isSpaceLike(ch: string): boolean {
  return ch === SPACE_CHAR || WHITE.test(ch);
}

/** HF `process_offsets` of the ByteLevel post-processor (offsets in code points). */
function trimOffsets(toks: RawTok[], addPrefixSpace: boolean): void {
  toks.forEach((t, i) => {
    const chars = Array.from(t.token);
    let leading = 0;
    while (leading < chars.length && isSpaceLike(chars[leading])) leading++;
    let trailing = 0;
    while (trailing < chars.length && isSpaceLike(chars[chars.length - 1 - trailing])) trailing++;
    if (leading === 0 && trailing === 0) return;
    if (leading > 0) {
      const isFirst = i === 0 || t.start === 0;
      if (isFirst && addPrefixSpace && leading === 1) leading = 0;
      t.start = Math.min(t.start + leading, t.end);
    }
    if (trailing > 0 && t.end >= trailing) t.end = Math.max(t.end - trailing, t.start);
  });
}

class HfTokenizer implements Tokenizer {
  /** largest id + 1 (equals HF get_vocab_size(with_added_tokens=True) when the ids have no holes) */
  readonly vocabSize: number;
  private readonly added: readonly AddedToken[];
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, number>();
  /** id -> string of added tokens (HF gives the NORMALISED content of normalized=true tokens) */
  private readonly addedIdToString = new Map<number, string>();
  private readonly specialStrings = new Set<string>();
  private readonly rawMatcher: Matcher;
  private readonly normMatcher: Matcher;

  constructor(
    readonly file: string,
    private readonly model: Bpe,
    added: Omit<AddedToken, 'id'>[],
    private readonly normalizer: NormalizerFn | null,
    private readonly preTokenizer: PreTokenizerFn | null,
    private readonly postProcessor: PostProcessorFn | null,
    private readonly decoder: ((tokens: string[]) => string) | null,
  ) {
    // HF re-derives the ids of added tokens: the model's id when the content is in the vocabulary,
    // otherwise the next free id after the vocabulary (the ids in the file are only checked).
    const modelSize = model.vocab.size;
    let max = -1; // the largest id of addedByContent so far (kept up to date: a scan per token is quadratic)
    for (const a of added) {
      if (a.content.length === 0) continue;
      const prevId = this.addedByContent.get(a.content);
      if (prevId !== undefined) {
        const prev = this.addedById.get(prevId)!;
        if (sameToken(prev, a)) continue;
      }
      let id = prevId ?? model.vocab.get(a.content);
      if (id === undefined) id = max < 0 ? modelSize : max >= modelSize || modelSize === 0 ? max + 1 : modelSize;
      const tok: AddedToken = { ...a, id };
      this.addedByContent.set(a.content, id);
      max = Math.max(max, id);
      this.addedById.set(id, tok);
    }
    // special tokens first, then the others (HF order), each split by `normalized`
    const all = [...this.addedById.values()];
    const ordered = [...all.filter((t) => t.special), ...all.filter((t) => !t.special)];
    this.added = ordered;
    for (const t of ordered) if (t.special) this.specialStrings.add(t.content);
    for (const t of ordered) this.addedIdToString.set(t.id, t.normalized ? this.normalizeString(t.content) : t.content);
    this.rawMatcher = new Matcher(ordered.filter((t) => !t.normalized).map((tok) => ({ text: tok.content, tok })));
    this.normMatcher = new Matcher(
      ordered.filter((t) => t.normalized).map((tok) => ({ text: this.normalizeString(tok.content), tok })),
    );
    let maxId = -1;
    for (const id of model.vocabR.keys()) maxId = Math.max(maxId, id);
    for (const id of this.addedById.keys()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;
  }

  private normalizeString(s: string): string {
    if (!this.normalizer) return s;
    const p = makePiece(s).piece;
    this.normalizer(p);
    return pieceText(p);
  }

  idToToken(id: number): string | undefined {
    return this.addedIdToString.get(id) ?? this.model.vocabR.get(id);
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.model.vocab.get(token);
  }

  /** Added tokens, special ones first. */
  addedTokens(): readonly AddedToken[] {
    return this.added;
  }

  encode(text: string): Encoding {
    const { piece, cpToU16 } = makePiece(text);
    // 1. added tokens on the raw text; 2. normalise the other pieces, then the normalized added tokens
    let pieces: Piece[] = this.rawMatcher.empty ? [piece] : this.rawMatcher.split(piece);
    pieces = pieces.filter((p) => p.cps.length > 0);
    const step2: Piece[] = [];
    for (const p of pieces) {
      if (p.added) {
        step2.push(p);
        continue;
      }
      if (this.normalizer) this.normalizer(p);
      for (const q of this.normMatcher.empty ? [p] : this.normMatcher.split(p)) if (q.cps.length > 0) step2.push(q);
    }
    pieces = this.preTokenizer ? this.preTokenizer(step2) : step2;
    let toks: RawTok[] = [];
    for (const p of pieces) {
      if (p.cps.length === 0) continue;
      if (p.added) {
        toks.push({ id: p.added.id, token: p.added.value, start: p.start[0], end: p.end[p.cps.length - 1] });
        continue;
      }
      const word = pieceText(p);
      for (const t of this.tokenizeWord(word)) {
        const token = this.model.vocabR.get(t.id)!;
        let start: number;
        let end: number;
        if (t.end > t.start) {
          start = p.start[t.start];
          end = p.end[t.end - 1];
        } else {
          start = end = t.start < p.cps.length ? p.start[t.start] : p.end[p.cps.length - 1];
        }
        toks.push({ id: t.id, token, start, end });
      }
    }
    if (this.postProcessor) toks = this.postProcessor(toks);
    return {
      ids: toks.map((t) => t.id),
      tokens: toks.map((t) => t.token),
      offsets: toks.map((t) => [cpToU16[t.start] ?? text.length, cpToU16[t.end] ?? text.length] as [number, number]),
    };
  }

  /** The model's tokens of one word; a word the file's model cannot tokenise is a UserError naming the file. */
  private tokenizeWord(word: string): BpeToken[] {
    try {
      return this.model.tokenize(word);
    } catch (e) {
      if (e instanceof BpeInputError) throw new UserError(`tokenizer file ${this.file}: ${oneLine(e.message)}`);
      throw e;
    }
  }

  /** HF `decode(ids, skip_special_tokens)`: unknown ids are dropped; special tokens are kept unless asked. */
  decode(ids: number[], skipSpecialTokens = false): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToToken(id);
      if (t === undefined) continue;
      if (skipSpecialTokens && this.specialStrings.has(t)) continue;
      tokens.push(t);
    }
    return this.decoder ? this.decoder(tokens) : tokens.join(' ');
  }
}

function sameToken(a: Omit<AddedToken, 'id'>, b: Omit<AddedToken, 'id'>): boolean {
  return (
    a.content === b.content &&
    a.singleWord === b.singleWord &&
    a.lstrip === b.lstrip &&
    a.rstrip === b.rstrip &&
    a.normalized === b.normalized &&
    a.special === b.special
  );
}

/** The whole input as one piece (lone surrogates become U+FFFD, as when HF receives the string), and the
 * code-point -> UTF-16 offset table. */
function makePiece(text: string): { piece: Piece; cpToU16: number[] } {
  const cps: number[] = [];
  const cpToU16: number[] = [];
  for (let i = 0; i < text.length; i++) {
    cpToU16.push(i);
    const u = text.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < text.length) {
      const v = text.charCodeAt(i + 1);
      if (v >= 0xdc00 && v <= 0xdfff) {
        cps.push(((u - 0xd800) << 10) + (v - 0xdc00) + 0x10000);
        i++;
        continue;
      }
    }
    cps.push(u >= 0xd800 && u <= 0xdfff ? 0xfffd : u);
  }
  cpToU16.push(text.length);
  const n = cps.length;
  const start = new Array<number>(n);
  const end = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    start[k] = k;
    end[k] = k + 1;
  }
  return { piece: { cps, start, end, shift: 0 }, cpToU16 };
}

// ---------------------------------------------------------------- loading

class Unsupported extends Error {}

function fail(msg: string): never {
  throw new Unsupported(msg);
}

/** Control characters and line separators escaped, cut after `max` characters: fit for a one-line message. */
function oneLine(msg: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const s = msg.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/**
 * A value of the file for a message: JSON cut after 60 characters; a value too deeply nested to write is described
 * instead (String() and JSON.stringify recurse, and overflow the call stack on it).
 */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = Array.isArray(v) ? '(a deeply nested list)' : '(a deeply nested object)';
  }
  return oneLine(s, 60);
}

/** A name from the file in quotes ('WordPiece'), or show(v) when it is not a string. */
function named(v: unknown): string {
  return typeof v === 'string' ? `'${oneLine(v, 60)}'` : show(v);
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A component object (normalizer, pre-tokenizer …) with a string "type", or a clear failure naming `what`. */
function component(j: unknown, what: string): Json {
  if (!isObj(j)) fail(`${what} must be an object (got ${show(j)})`);
  if (typeof j.type !== 'string') fail(`${what} has no "type" (got ${show(j.type)})`);
  return j;
}

/** An optional list field: absent → [], otherwise it must be a list. */
function list(v: unknown, what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(`${what} must be a list (got ${show(v)})`);
  return v;
}

/** An optional boolean field (a string 'false' is not false). */
function flag(v: unknown, dflt: boolean, what: string): boolean {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(`${what} must be true or false (got ${show(v)})`);
  return v;
}

/** An optional string field (null = absent). */
function optString(v: unknown, what: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(`${what} must be a string (got ${show(v)})`);
  return v;
}

/** Sequences nest: a limit keeps a hostile file from overflowing the call stack. */
const MAX_DEPTH = 32;

function buildNormalizer(j: Json, depth = 0): NormalizerFn | null {
  if (j === null || j === undefined) return null;
  if (depth > MAX_DEPTH) fail(`normalizer Sequences nested more than ${MAX_DEPTH} deep`);
  const c = component(j, 'normalizer');
  switch (c.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = c.type;
      return (p) => unicodeNormalize(p, form);
    }
    case 'Lowercase':
      return lowercase;
    case 'Sequence': {
      const fns = list(c.normalizers, 'normalizer Sequence "normalizers"')
        .map((x) => buildNormalizer(x, depth + 1))
        .filter((f): f is NormalizerFn => f !== null);
      return (p) => {
        for (const f of fns) f(p);
      };
    }
    default:
      return fail(`unsupported normalizer ${named(c.type)} (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)`);
  }
}

function buildPreTokenizer(j: Json, depth = 0): PreTokenizerFn | null {
  if (j === null || j === undefined) return null;
  if (depth > MAX_DEPTH) fail(`pre-tokenizer Sequences nested more than ${MAX_DEPTH} deep`);
  const c = component(j, 'pre-tokenizer');
  switch (c.type) {
    case 'ByteLevel':
      return byteLevelPreTokenizer(flag(c.add_prefix_space, true, 'ByteLevel "add_prefix_space"'), flag(c.use_regex, true, 'ByteLevel "use_regex"'));
    case 'Split': {
      const pat = c.pattern;
      if (!isObj(pat)) fail(`Split pre-tokenizer "pattern" must be an object with a String or Regex (got ${show(pat)})`);
      let re: RegExp;
      try {
        if (typeof pat.String === 'string') re = new RegExp(pat.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
        else if (typeof pat.Regex === 'string') re = translateRegex(pat.Regex);
        else return fail('Split pre-tokenizer without a String or Regex pattern');
      } catch (e) {
        if (e instanceof Unsupported) throw e;
        return fail(`unsupported Split pre-tokenizer regex (${oneLine((e as Error).message, 200)})`);
      }
      const behaviors: SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
      if (!behaviors.includes(c.behavior)) return fail(`unsupported Split behavior ${named(c.behavior)}`);
      return splitPreTokenizer(re, c.behavior, flag(c.invert, false, 'Split "invert"'));
    }
    case 'Sequence': {
      const fns = list(c.pretokenizers, 'pre-tokenizer Sequence "pretokenizers"')
        .map((x) => buildPreTokenizer(x, depth + 1))
        .filter((f): f is PreTokenizerFn => f !== null);
      return (pieces) => fns.reduce((acc, f) => f(acc), pieces);
    }
    default:
      return fail(`unsupported pre-tokenizer ${named(c.type)} (supported: ByteLevel, Split, Sequence)`);
  }
}

/** `templateIds` collects the ids of template special tokens, checked once the tokenizer's ids are known. */
function buildPostProcessor(j: Json, templateIds: number[], depth = 0): PostProcessorFn | null {
  if (j === null || j === undefined) return null;
  if (depth > MAX_DEPTH) fail(`post-processor Sequences nested more than ${MAX_DEPTH} deep`);
  const c = component(j, 'post-processor');
  switch (c.type) {
    case 'ByteLevel': {
      const trim = flag(c.trim_offsets, true, 'ByteLevel "trim_offsets"');
      const aps = flag(c.add_prefix_space, true, 'ByteLevel "add_prefix_space"');
      return (toks) => {
        if (trim) trimOffsets(toks, aps);
        return toks;
      };
    }
    case 'TemplateProcessing': {
      const single = list(c.single, 'TemplateProcessing "single"');
      const specials = c.special_tokens ?? {};
      if (!isObj(specials)) fail(`TemplateProcessing "special_tokens" must be an object (got ${show(specials)})`);
      const items = single.map((it) => {
        if (!isObj(it)) fail(`unsupported TemplateProcessing item ${show(it)}`);
        if (it.Sequence !== undefined) {
          const id = isObj(it.Sequence) ? it.Sequence.id : undefined;
          if (id !== 'A') fail(`unsupported TemplateProcessing sequence ${named(id)}`);
          return null;
        }
        if (it.SpecialToken !== undefined) {
          const name = isObj(it.SpecialToken) ? it.SpecialToken.id : undefined;
          const sp = typeof name === 'string' && Object.hasOwn(specials, name) ? specials[name] : undefined;
          if (!isObj(sp) || !Array.isArray(sp.ids) || !Array.isArray(sp.tokens)) fail(`template special token ${named(name)} is not defined`);
          const ids = sp.ids as unknown[];
          const tokens = sp.tokens as unknown[];
          if (ids.length !== tokens.length || !tokens.every((t) => typeof t === 'string')) {
            fail(`template special token ${named(name)} must have as many token strings as ids`);
          }
          for (const id of ids) {
            if (typeof id !== 'number' || !Number.isInteger(id)) fail(`template special token ${named(name)} has id ${show(id)}, which is not an integer`);
            templateIds.push(id);
          }
          return { ids: ids as number[], tokens: tokens as string[] };
        }
        return fail(`unsupported TemplateProcessing item ${show(it)}`);
      });
      return (toks) => {
        const out: RawTok[] = [];
        for (const it of items) {
          if (it === null) for (const t of toks) out.push(t);
          else it.ids.forEach((id, k) => out.push({ id, token: it.tokens[k], start: 0, end: 0 }));
        }
        return out;
      };
    }
    case 'Sequence': {
      const fns = list(c.processors, 'post-processor Sequence "processors"')
        .map((p) => buildPostProcessor(p, templateIds, depth + 1))
        .filter((f): f is PostProcessorFn => f !== null);
      return (toks) => fns.reduce((acc, f) => f(acc), toks);
    }
    default:
      return fail(`unsupported post-processor ${named(c.type)} (supported: ByteLevel, TemplateProcessing, Sequence)`);
  }
}

function buildDecoder(j: Json): ((tokens: string[]) => string) | null {
  if (j === null || j === undefined) return null;
  const c = component(j, 'decoder');
  if (c.type === 'ByteLevel') return byteLevelDecode;
  return fail(`unsupported decoder ${named(c.type)} (supported: ByteLevel)`);
}

function buildModel(j: Json): Bpe {
  if (!isObj(j)) return fail('no model');
  const type = j.type ?? (j.merges !== undefined ? 'BPE' : undefined);
  if (type !== 'BPE') return fail(`unsupported model type ${named(type)} (only BPE)`);
  if (j.dropout !== null && j.dropout !== undefined && j.dropout !== 0) fail('BPE dropout is not supported');
  if (!isObj(j.vocab)) fail('BPE model without a vocab');
  const vocab = new Map<string, number>(Object.entries(j.vocab as Record<string, number>));
  const merges: [string, string][] = [];
  for (const m of list(j.merges, 'BPE "merges"')) {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) fail(`bad merge ${named(m)} (expected "a b")`);
      merges.push([parts[0], parts[1]]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') merges.push([m[0], m[1]]);
    else fail(`bad merge ${show(m)}`);
  }
  const o: BpeOptions = {
    vocab,
    merges,
    unkToken: optString(j.unk_token, 'BPE "unk_token"'),
    continuingSubwordPrefix: optString(j.continuing_subword_prefix, 'BPE "continuing_subword_prefix"'),
    endOfWordSuffix: optString(j.end_of_word_suffix, 'BPE "end_of_word_suffix"'),
    fuseUnk: !!j.fuse_unk,
    byteFallback: !!j.byte_fallback,
    ignoreMerges: !!j.ignore_merges,
  };
  return new Bpe(o, fail);
}

/** Builds a tokenizer from the parsed content of a tokenizer.json (`file` is used in messages only). */
export function tokenizerFromJson(json: unknown, file = '<tokenizer.json>'): Tokenizer {
  try {
    const j = json as Json;
    if (!isObj(j)) fail('not a tokenizer.json object');
    if (j.truncation) fail('truncation is not supported');
    if (j.padding) fail('padding is not supported');
    const model = buildModel(j.model);
    const added = list(j.added_tokens, '"added_tokens"').map((a: Json) => {
      if (!isObj(a) || typeof a.content !== 'string') fail(`added token without content (${show(a)})`);
      const special = flag(a.special, false, `added token ${named(a.content)} "special"`);
      return {
        content: a.content as string,
        singleWord: flag(a.single_word, false, `added token ${named(a.content)} "single_word"`),
        lstrip: flag(a.lstrip, false, `added token ${named(a.content)} "lstrip"`),
        rstrip: flag(a.rstrip, false, `added token ${named(a.content)} "rstrip"`),
        normalized: flag(a.normalized, !special, `added token ${named(a.content)} "normalized"`),
        special,
      };
    });
    const normalizer = buildNormalizer(j.normalizer);
    const pre = buildPreTokenizer(j.pre_tokenizer);
    const decoder = buildDecoder(j.decoder);
    const templateIds: number[] = [];
    const post = buildPostProcessor(j.post_processor, templateIds);
    const tok = new HfTokenizer(file, model, added, normalizer, pre, post, decoder);
    // a template token must be one of the tokenizer's (vocabulary or added tokens): its id indexes the embedding
    for (const id of templateIds) if (tok.idToToken(id) === undefined) fail(`TemplateProcessing special token id ${id} is not an id of the tokenizer`);
    return tok;
  } catch (e) {
    if (e instanceof Unsupported) throw new UserError(`tokenizer file ${file}: ${oneLine(e.message)}`);
    throw e;
  }
}

/** Loads a HF tokenizer.json (byte-level BPE family). Errors name the file (UserError). */
export function loadTokenizer(file: string): Tokenizer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read tokenizer file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`tokenizer file ${file} is not valid JSON (${oneLine((e as Error).message)})`);
  }
  return tokenizerFromJson(json, file);
}

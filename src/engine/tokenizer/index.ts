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
import { Bpe, BpeOptions } from './bpe';
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
    for (const a of added) {
      if (a.content.length === 0) continue;
      const prevId = this.addedByContent.get(a.content);
      if (prevId !== undefined) {
        const prev = this.addedById.get(prevId)!;
        if (sameToken(prev, a)) continue;
      }
      let id = prevId ?? model.vocab.get(a.content);
      if (id === undefined) {
        let max = -1;
        for (const v of this.addedByContent.values()) max = Math.max(max, v);
        id = max < 0 ? modelSize : max >= modelSize || modelSize === 0 ? max + 1 : modelSize;
      }
      const tok: AddedToken = { ...a, id };
      this.addedByContent.set(a.content, id);
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
      for (const t of this.model.tokenize(word)) {
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

function buildNormalizer(j: Json): NormalizerFn | null {
  if (j === null || j === undefined) return null;
  switch (j.type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = j.type;
      return (p) => unicodeNormalize(p, form);
    }
    case 'Lowercase':
      return lowercase;
    case 'Sequence': {
      const list = (j.normalizers ?? []).map(buildNormalizer).filter((f: NormalizerFn | null) => f !== null) as NormalizerFn[];
      return (p) => {
        for (const f of list) f(p);
      };
    }
    default:
      return fail(`unsupported normalizer '${j.type}' (supported: NFC, NFD, NFKC, NFKD, Lowercase, Sequence)`);
  }
}

function buildPreTokenizer(j: Json): PreTokenizerFn | null {
  if (j === null || j === undefined) return null;
  switch (j.type) {
    case 'ByteLevel':
      return byteLevelPreTokenizer(j.add_prefix_space ?? true, j.use_regex ?? true);
    case 'Split': {
      const pat = j.pattern ?? {};
      let re: RegExp;
      try {
        if (typeof pat.String === 'string') re = new RegExp(pat.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
        else if (typeof pat.Regex === 'string') re = translateRegex(pat.Regex);
        else return fail('Split pre-tokenizer without a String or Regex pattern');
      } catch (e) {
        return fail(`unsupported Split pre-tokenizer regex (${(e as Error).message})`);
      }
      const behaviors: SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
      if (!behaviors.includes(j.behavior)) return fail(`unsupported Split behavior '${j.behavior}'`);
      return splitPreTokenizer(re, j.behavior, !!j.invert);
    }
    case 'Sequence': {
      const list = (j.pretokenizers ?? []).map(buildPreTokenizer).filter((f: PreTokenizerFn | null) => f !== null) as PreTokenizerFn[];
      return (pieces) => list.reduce((acc, f) => f(acc), pieces);
    }
    default:
      return fail(`unsupported pre-tokenizer '${j.type}' (supported: ByteLevel, Split, Sequence)`);
  }
}

function buildPostProcessor(j: Json): PostProcessorFn | null {
  if (j === null || j === undefined) return null;
  switch (j.type) {
    case 'ByteLevel': {
      const trim = j.trim_offsets ?? true;
      const aps = j.add_prefix_space ?? true;
      return (toks) => {
        if (trim) trimOffsets(toks, aps);
        return toks;
      };
    }
    case 'TemplateProcessing': {
      const single: Json[] = Array.isArray(j.single) ? j.single : [];
      const specials: Json = j.special_tokens ?? {};
      const items = single.map((it: Json) => {
        if (it.Sequence) {
          if (it.Sequence.id !== 'A') fail(`unsupported TemplateProcessing sequence '${it.Sequence.id}'`);
          return null;
        }
        if (it.SpecialToken) {
          const sp = specials[it.SpecialToken.id];
          if (!sp || !Array.isArray(sp.ids) || !Array.isArray(sp.tokens)) fail(`template special token '${it.SpecialToken.id}' is not defined`);
          return { ids: sp.ids as number[], tokens: sp.tokens as string[] };
        }
        return fail('unsupported TemplateProcessing item');
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
      const list = (j.processors ?? []).map((p: Json) => buildPostProcessor(p)).filter((f: PostProcessorFn | null) => f !== null) as PostProcessorFn[];
      return (toks) => list.reduce((acc, f) => f(acc), toks);
    }
    default:
      return fail(`unsupported post-processor '${j.type}' (supported: ByteLevel, TemplateProcessing, Sequence)`);
  }
}

function buildDecoder(j: Json): ((tokens: string[]) => string) | null {
  if (j === null || j === undefined) return null;
  if (j.type === 'ByteLevel') return byteLevelDecode;
  return fail(`unsupported decoder '${j.type}' (supported: ByteLevel)`);
}

function buildModel(j: Json): Bpe {
  if (!j || typeof j !== 'object') return fail('no model');
  const type = j.type ?? (j.merges !== undefined ? 'BPE' : undefined);
  if (type !== 'BPE') return fail(`unsupported model type '${type}' (only BPE)`);
  if (j.dropout !== null && j.dropout !== undefined && j.dropout !== 0) fail('BPE dropout is not supported');
  if (!j.vocab || typeof j.vocab !== 'object') fail('BPE model without a vocab');
  const vocab = new Map<string, number>(Object.entries(j.vocab as Record<string, number>));
  const merges: [string, string][] = [];
  for (const m of (j.merges ?? []) as Json[]) {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2) fail(`bad merge '${m}' (expected "a b")`);
      merges.push([parts[0], parts[1]]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') merges.push([m[0], m[1]]);
    else fail(`bad merge ${JSON.stringify(m)}`);
  }
  const o: BpeOptions = {
    vocab,
    merges,
    unkToken: j.unk_token ?? null,
    continuingSubwordPrefix: j.continuing_subword_prefix ?? null,
    endOfWordSuffix: j.end_of_word_suffix ?? null,
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
    if (!j || typeof j !== 'object' || Array.isArray(j)) fail('not a tokenizer.json object');
    if (j.truncation) fail('truncation is not supported');
    if (j.padding) fail('padding is not supported');
    const model = buildModel(j.model);
    const added = ((j.added_tokens ?? []) as Json[]).map((a) => {
      if (!a || typeof a.content !== 'string') fail('added token without content');
      return {
        content: a.content as string,
        singleWord: !!a.single_word,
        lstrip: !!a.lstrip,
        rstrip: !!a.rstrip,
        normalized: a.normalized ?? !a.special,
        special: !!a.special,
      };
    });
    const normalizer = buildNormalizer(j.normalizer);
    const pre = buildPreTokenizer(j.pre_tokenizer);
    const decoder = buildDecoder(j.decoder);
    const post = buildPostProcessor(j.post_processor);
    return new HfTokenizer(file, model, added, normalizer, pre, post, decoder);
  } catch (e) {
    if (e instanceof Unsupported) throw new UserError(`tokenizer file ${file}: ${e.message}`);
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
    throw new UserError(`tokenizer file ${file} is not valid JSON (${(e as Error).message})`);
  }
  return tokenizerFromJson(json, file);
}

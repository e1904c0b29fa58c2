// Fuzzing tokenizer.json: structural mutations (wrong types everywhere, unknown component types, broken and
// catastrophic Split regexes, vocabularies with bad ids, merges of unknown tokens, template tokens with bad ids, added
// tokens without content, deep nesting …) and broken JSON text, on the tiny tokenizer, a richer one (Sequence
// normalizer, Split pre-tokenizer, TemplateProcessing, byte fallback, unk token, stripped added tokens), the fixtures'
// and the demo model's. Each case ends in a UserError (one line) or in a tokenizer whose encodings of hostile texts are
// well formed (ids of its vocabulary, offsets inside the text) and decode without error.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { loadTokenizer } from '../../../src/engine/tokenizer';
import { Matcher, type AddedToken } from '../../../src/engine/tokenizer/addedVocabulary';
import type { Tokenizer } from '../../../src/engine/types';
import { tinyTokenizerJson } from '../../helpers/tinyTokenizer';
import { applyJsonOps, applyTextOps, hostileString, hostileValue, jsonOps, serialize, textOp } from './mutate';
import { PARITY, REPO } from './bases';
import { check, guard, show, tempDir } from './harness';

const tmp = tempDir('tok');
let bases: { name: string; json: Record<string, unknown> }[] = [];

/** The tiny tokenizer with every optional component the loader supports switched on. */
function richTokenizerJson(): Record<string, unknown> {
  const j = tinyTokenizerJson() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const vocab = j.model.vocab as Record<string, number>;
  let next = Math.max(...Object.values(vocab)) + 1;
  for (const t of ['<unk>', '<0x41>', '<0xC3>', '<0xA9>', '[CLS]', '[SEP]', 'Ġthe']) if (!(t in vocab)) vocab[t] = next++;
  return {
    ...j,
    added_tokens: [
      ...j.added_tokens,
      { id: next, content: '[MASK]', single_word: true, lstrip: true, rstrip: true, normalized: false, special: true },
      { id: next + 1, content: 'hello', single_word: false, lstrip: false, rstrip: false, normalized: true, special: false },
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "'s|'t|\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [],
      special_tokens: { '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] } },
    },
    model: { ...j.model, unk_token: '<unk>', byte_fallback: true, fuse_unk: true },
  };
}

/** Texts that are hard on normalisers, pre-tokenizers and offsets. */
const TEXTS = [
  '', ' ', 'The mother tongue of Danielle Darrieux is', '  leading and trailing  ', 'é vs e\u0301, ﬃ, Ǆ, İstanbul, ß',
  '\ud83d\ude00 emoji \ud800 lone \udfff', '<|endoftext|>x<|endoftext|>', '[MASK] hello [MASK]', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaa!', "it's 1234567 o'clock\r\n\t",
  '\u0000\u0001\u007f\u2028', 'A'.repeat(3000), ' a'.repeat(1500),
];

before(() => {
  bases = [
    { name: 'tiny', json: tinyTokenizerJson() as Record<string, unknown> },
    { name: 'rich', json: richTokenizerJson() },
    { name: 'parity-fixture', json: JSON.parse(fs.readFileSync(path.join(PARITY, 'hf-g1-f32', 'tokenizer.json'), 'utf8')) },
    { name: 'demo', json: JSON.parse(fs.readFileSync(path.join(REPO, 'models', 'demo', 'tokenizer.json'), 'utf8')) },
  ];
  // the bases themselves are good tokenizers
  for (const b of bases) {
    const f = path.join(tmp, `${b.name}.json`);
    fs.writeFileSync(f, JSON.stringify(b.json));
    checkTokenizer(loadTokenizer(f), b.name, TEXTS);
  }
});

/** Well-formed encodings: one id, token and offset pair each; ids of the vocabulary; offsets inside the text. */
function checkTokenizer(tok: Tokenizer, label: string, texts: readonly string[]): void {
  assert.ok(Number.isSafeInteger(tok.vocabSize) && tok.vocabSize >= 0, `${label}: vocabSize ${tok.vocabSize}`);
  for (const text of texts) {
    const e = tok.encode(text);
    const what = `${label}: encode(${show(text, 60)})`;
    assert.ok(e.ids.length === e.tokens.length && e.ids.length === e.offsets.length, `${what}: ids, tokens and offsets differ in length`);
    e.ids.forEach((id, i) => {
      assert.ok(Number.isInteger(id) && id >= 0 && id < tok.vocabSize, `${what}: id ${id} at ${i} is not an id of the vocabulary (size ${tok.vocabSize})`);
      assert.equal(typeof e.tokens[i], 'string', `${what}: token ${i}`);
      const [a, b] = e.offsets[i];
      assert.ok(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b <= text.length, `${what}: offsets [${a}, ${b}] at ${i}`);
    });
    assert.equal(typeof tok.decode(e.ids), 'string');
  }
}

/** Values aimed at tokenizer.json: component types, regexes (broken, catastrophic), ids, merges. */
const tokenizerValue = fc.oneof(
  { weight: 5, arbitrary: hostileValue },
  { weight: 2, arbitrary: fc.constantFrom('BPE', 'WordPiece', 'Unigram', 'WordLevel', 'ByteLevel', 'Split', 'Sequence', 'NFC', 'NFKD', 'Lowercase', 'Replace', 'Strip', 'Metaspace', 'TemplateProcessing', 'RobertaProcessing', 'Whitespace', 'Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous', 'Invalid') },
  { weight: 2, arbitrary: fc.constantFrom<unknown>({ Regex: '(' }, { Regex: '[' }, { Regex: '\\' }, { Regex: '(?<' }, { Regex: '\\p{Foo}' }, { Regex: '[\\S]' }, { Regex: '(a+)+$' }, { Regex: '(a|a)*$' }, { Regex: '(.*)*x' }, { Regex: '(\\s*)*$' }, { Regex: '([a-z]+)*!' }, { Regex: '' }, { String: '' }, { String: ' ' }, { String: 5 }, {}) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(['Ġ t'], ['Ġ', 't'], ['a b c'], 'Ġ t', ['x y'], [['Ġ', 'zzz']], [[1, 2]], [null]) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ ids: [1e300], tokens: ['x'] }, { ids: [-1], tokens: ['x'] }, { ids: [0.5], tokens: ['x'] }, { ids: ['0'], tokens: [0] }, { ids: [1, 2], tokens: ['x'] }, { ids: [2 ** 40], tokens: ['x'] }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([{ SpecialToken: { id: 'nope' } }], [{ Sequence: { id: 'B' } }], [null], [{}], [{ SpecialToken: null }], [{ Sequence: null }]) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>({ content: 5 }, { content: '' }, { content: 'x', normalized: 'yes' }, { id: -1, content: 'x' }, null, 'x') },
);

const tokenizerKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('type', 'model', 'vocab', 'merges', 'added_tokens', 'normalizer', 'normalizers', 'pre_tokenizer', 'pretokenizers', 'post_processor', 'processors', 'decoder', 'pattern', 'behavior', 'invert', 'single', 'special_tokens', 'ids', 'tokens', 'unk_token', 'continuing_subword_prefix', 'end_of_word_suffix', 'byte_fallback', 'ignore_merges', 'dropout', 'truncation', 'padding', 'content', 'special', 'normalized', 'lstrip', 'rstrip', 'single_word', 'add_prefix_space', 'use_regex', 'trim_offsets') },
  { weight: 1, arbitrary: hostileString },
);

const text = fc.oneof(fc.constantFrom(...TEXTS), fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 }));

test('tokenizer.json: structural mutations → UserError or a tokenizer with well-formed encodings', async (t) => {
  const file = path.join(tmp, 'case.json');
  const msg = await check('tok-json', 1200, [fc.nat(), jsonOps(3, tokenizerKey, tokenizerValue), fc.array(text, { minLength: 1, maxLength: 3 })], async (bi, ops, texts) => {
    const base = bases[[0, 1, 2, 0, 1, 2, 3][bi % 7]]; // the demo tokenizer (40 KB) one case in 7: slow to build, no other code
    fs.writeFileSync(file, serialize(applyJsonOps(base.json, ops)));
    const label = `tok-json ${base.name} ${show(ops)} texts ${show(texts)}`;
    // loading, then encoding and decoding, all in the case: an internal error or a hang in encode counts too
    await guard(label, () => checkTokenizer(loadTokenizer(file), label, [...TEXTS.slice(0, 10), ...texts]));
  });
  t.diagnostic(msg);
});

test('tokenizer.json: broken JSON text (truncated, spliced tokens) → UserError or a tokenizer with well-formed encodings', async (t) => {
  const file = path.join(tmp, 'case-text.json');
  const msg = await check('tok-text', 600, [fc.nat(), fc.array(textOp, { minLength: 1, maxLength: 3 })], async (bi, ops) => {
    const base = bases[bi % 3]; // not the demo one: its 40 KB text makes the case slow without reaching more code
    fs.writeFileSync(file, applyTextOps(JSON.stringify(base.json, null, 1), ops));
    const label = `tok-text ${base.name} ${show(ops)}`;
    await guard(label, () => checkTokenizer(loadTokenizer(file), label, TEXTS.slice(0, 6)));
  });
  t.diagnostic(msg);
});

/** Split regexes: those of real tokenizers, broken ones, and ones that backtrack exponentially on some texts. */
const SPLIT_REGEXES = [
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}",
  '\\p{N}', '\\s+$', '[\\r\\n]', ' ?[!-/:-~]+',
  '(a+)+$', '(a*)*$', '(a|a)*$', '(a|aa)+$', '(.*a){12}', '(\\s*)*$', '([a-z]+)*!', '(\\w+\\s?)+$', '((a+)+)+b', '(?:a+)+$', '(a{1,30}){1,30}$', '(x+x+)+y',
  '(', '[', '\\', 'a{2,1}', '(?<n>a)\\k<m>', '[\\S]',
];

test('tokenizer.json: Split regexes from the file (real ones, broken ones, exponential ones) on hostile texts → UserError or encodings within the time limit', async (t) => {
  const file = path.join(tmp, 'case-regex.json');
  const regex = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SPLIT_REGEXES) }, { weight: 1, arbitrary: fc.stringMatching(/^[a\\(\\)\\*\\+\\?\\|\\{\\}1-3,\\[\\]\\s]{1,12}$/) });
  const behavior = fc.constantFrom('Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous');
  const msg = await check('tok-regex', 300, [regex, behavior, fc.boolean(), fc.array(text, { maxLength: 2 })], async (re, beh, invert, texts) => {
    const j = richTokenizerJson();
    j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: re }, behavior: beh, invert }, { type: 'ByteLevel', add_prefix_space: false, use_regex: false }] };
    fs.writeFileSync(file, JSON.stringify(j));
    const label = `tok-regex ${show(re)} ${beh} invert ${invert} texts ${show(texts)}`;
    await guard(label, () => checkTokenizer(loadTokenizer(file), label, [...TEXTS, ...texts]));
  });
  t.diagnostic(msg);
});

test('tokenizer.json: enormous tables (vocabulary, merges, added tokens, template) load and encode within the time limit', async (t) => {
  const file = path.join(tmp, 'case-big.json');
  const msg = await check('tok-big', 6, [fc.constantFrom('vocab', 'merges', 'added', 'added-in-vocab', 'template'), fc.integer({ min: 20_000, max: 50_000 })], async (what, n) => {
    const j = tinyTokenizerJson() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const vocab = j.model.vocab as Record<string, number>;
    let next = Math.max(...Object.values(vocab)) + 1;
    if (what === 'vocab' || what === 'added-in-vocab') for (let i = 0; i < n; i++) vocab[`tok${i}`] = next++;
    if (what === 'merges') {
      // 'a' 'a' → 'aa' … 'a'×k for k up to 400 (a chain the text exercises), then n merges 'tI' 'q' → 'tIq'
      let cur = 'a';
      for (let i = 0; i < 400; i++) {
        vocab[cur + 'a'] = next++;
        j.model.merges.push(`${cur} a`);
        cur += 'a';
      }
      for (let i = 0; i < n; i++) {
        vocab[`t${i}`] = next++;
        vocab[`t${i}q`] = next++;
        j.model.merges.push(`t${i} q`);
      }
    }
    if (what === 'added' || what === 'added-in-vocab') for (let i = 0; i < n; i++) j.added_tokens.push({ id: next + i, content: `<extra_${i}>`, single_word: false, lstrip: false, rstrip: false, normalized: i % 2 === 0, special: i % 3 === 0 });
    if (what === 'added-in-vocab') for (let i = 0; i < n; i++) j.added_tokens.push({ id: vocab[`tok${i}`], content: `tok${i}`, special: true, normalized: false });
    if (what === 'template') {
      j.post_processor = { type: 'TemplateProcessing', single: [...Array.from({ length: n }, () => ({ SpecialToken: { id: 'E' } })), { Sequence: { id: 'A' } }], special_tokens: { E: { id: 'E', ids: [vocab['<|endoftext|>']], tokens: ['<|endoftext|>'] } } };
    }
    fs.writeFileSync(file, JSON.stringify(j));
    const label = `tok-big ${what} ${n}`;
    await guard(label, () => checkTokenizer(loadTokenizer(file), label, ['aaaaaaaaaaaa a <extra_7> tok5', 'a'.repeat(2000)]));
  }, { maxRuns: 40 }); // half a second a case: FUZZ_RUNS does not make it hours
  t.diagnostic(msg);
});

test('added tokens: the matcher finds the leftmost-longest matches, as a scan of every pattern at every position does', async (t) => {
  const unit = fc.constantFrom('a', 'b', '<', '>', ' ', '\ud83d\ude00', 'é');
  const patternText = fc.oneof({ weight: 4, arbitrary: fc.array(unit, { minLength: 1, maxLength: 5 }).map((u) => u.join('')) }, { weight: 1, arbitrary: fc.integer({ min: 60, max: 80 }).map((n) => 'a'.repeat(n)) });
  const msg = await check('tok-matcher', 1500, [fc.array(patternText, { minLength: 1, maxLength: 12 }), fc.array(unit, { maxLength: 120 }).map((u) => u.join(''))], async (texts, s) => {
    const tok = (content: string, id: number): AddedToken => ({ id, content, singleWord: false, lstrip: false, rstrip: false, normalized: false, special: true });
    const patterns = texts.map((text, id) => ({ text, tok: tok(text, id) }));
    const r = await guard(`tok-matcher ${show(texts)} ${show(s)}`, () => new Matcher(patterns).scan(s));
    assert.ok(r.ok);
    // the reference: at each position the longest pattern (the first given among equal texts), then past it
    const want: [number, number, number][] = [];
    for (let i = 0; i < s.length; ) {
      let best: { text: string; tok: AddedToken } | undefined;
      for (const p of patterns) if (s.startsWith(p.text, i) && (!best || p.text.length > best.text.length)) best = p;
      if (best) {
        want.push([i, i + best.text.length, best.tok.id]);
        i += best.text.length;
      } else i++;
    }
    assert.deepEqual(r.value.map(([a, b, tk]) => [a, b, tk.id]), want);
  });
  t.diagnostic(msg);
});

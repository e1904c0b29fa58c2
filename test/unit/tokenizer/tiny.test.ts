// The tiny fixture tokenizer (test/helpers/tinyTokenizer.ts) and variants of its tokenizer.json
// (prefix space, no trimming, added-token flags, other normalisers and pre-tokenizers, templates):
// our tokenizer must equal HF tokenizers on each; unsupported or broken files give a UserError naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, tokenizerFromJson } from '../../../src/engine/tokenizer/index';
import { BYTE_LEVEL_ORDER, BYTE_TO_CHAR } from '../../../src/engine/tokenizer/byteLevel';
import { UserError } from '../../../src/engine/types';
import { tinyTokenizerJson, writeTinyTokenizer, TINY_MERGES, TINY_EOS } from '../../helpers/tinyTokenizer';
import { Oracle, fuzzStrings } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'tok-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PIECES = [
  ' ', ' ', '  ', '   ', '\t', '\n', '\r\n', '\u00a0', '\u2000', '\u3000', '\u0085', '\ufeff', '\u2028',
  'a', 'b', 'the', 'The', 'THE', 'in', 'ing', 'Hello', 'é', 'e', '\u0301', '\u0323', 'A\u030a', '\u212b', 'ﬁ', '²', '½', 'İ', 'Σ', 'ß',
  '中', '한', '\u1100', '\u1161', '😀', '👨‍👩‍👧', '🇫🇷', "'s", "'t", "'S", "'", '0', '12', '.', ',', '<|endoftext|>', '<m>', '<M>', '[x]', 'tok', '\ud800',
];
const FIXED = ['', ' ', ' theing', 'theing', 'tok tok', 'atok tok_ tok.', ' <m> x', 'a  <m>  b<m><m> ', ' [x]  [x]', 'ingingthe ing  x', 'The cat is in the garden and the dog of the house'];

let nextId = 299;
const added = (content: string, o: Json) => ({ id: nextId++, single_word: false, lstrip: false, rstrip: false, normalized: false, special: false, ...o, content });
const eosTemplate = (first: boolean) => ({
  type: 'TemplateProcessing',
  single: first ? [{ SpecialToken: { id: TINY_EOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] : [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: TINY_EOS, type_id: 0 } }],
  pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { [TINY_EOS]: { id: TINY_EOS, ids: [298], tokens: [TINY_EOS] } },
});
const GPT2_ONIG = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const VARIANTS: Record<string, (j: Json) => void> = {
  tiny: () => {},
  prefixSpace: (j) => {
    j.pre_tokenizer.add_prefix_space = true;
    j.post_processor.add_prefix_space = true;
  },
  prefixSpacePreTokenizerOnly: (j) => (j.pre_tokenizer.add_prefix_space = true),
  noTrimOffsets: (j) => (j.post_processor.trim_offsets = false),
  noPostProcessor: (j) => (j.post_processor = null),
  noRegex: (j) => (j.pre_tokenizer.use_regex = false),
  addedTokenFlags: (j) => {
    j.added_tokens.push(added('<m>', { lstrip: true, rstrip: true, special: true }));
    j.added_tokens.push(added('tok', { single_word: true, normalized: true }));
    j.added_tokens.push(added('[x]', { lstrip: true }));
    j.added_tokens.push(added('  ', { normalized: true }));
    j.added_tokens.push(added('   ', { normalized: true }));
    j.added_tokens.push(added('é', { normalized: true }));
    j.added_tokens.push(added('ing', { rstrip: true }));
  },
  nfkc: (j) => {
    j.normalizer = { type: 'NFKC' };
    j.added_tokens.push(added('fi', { normalized: true }));
  },
  nfd: (j) => (j.normalizer = { type: 'NFD' }),
  nfkd: (j) => (j.normalizer = { type: 'NFKD' }),
  sequenceLowercase: (j) => {
    j.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'NFC' }] };
    j.added_tokens.push(added('<M>', { normalized: true }));
  },
  noNormalizer: (j) => (j.normalizer = null),
  splitThenByteLevel: (j) => {
    j.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: GPT2_ONIG }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
  },
  splitBehaviors: (j) => {
    j.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { String: 'e' }, behavior: 'Removed', invert: false },
        { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Contiguous', invert: true },
        { type: 'Split', pattern: { String: 'a' }, behavior: 'MergedWithPrevious', invert: false },
        { type: 'Split', pattern: { Regex: '\\p{N}' }, behavior: 'MergedWithNext', invert: false },
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: false },
      ],
    };
  },
  templateBos: (j) => (j.post_processor = eosTemplate(true)),
  sequencePostProcessor: (j) => {
    j.post_processor = { type: 'Sequence', processors: [{ type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true }, eosTemplate(false)] };
  },
  arrayMerges: (j) => (j.model.merges = j.model.merges.map((m: string) => m.split(' '))),
  ignoreMerges: (j) => {
    j.model.ignore_merges = true;
    j.model.vocab['Ġtheing'] = 299;
  },
};

test('tinyTokenizerJson: 256 byte symbols in GPT-2 order, one token per merge, then <|endoftext|>', () => {
  const j = tinyTokenizerJson() as Json;
  const vocab = j.model.vocab as Record<string, number>;
  assert.equal(BYTE_LEVEL_ORDER.length, 256);
  BYTE_LEVEL_ORDER.forEach((s, i) => assert.equal(vocab[s], i));
  assert.equal(vocab['!'], 0);
  assert.equal(vocab[BYTE_TO_CHAR[0x20]], 220);
  assert.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  assert.equal(Object.keys(vocab).length, 256 + TINY_MERGES.length + 1);
  assert.equal(vocab[TINY_EOS], 256 + TINY_MERGES.length);
  assert.deepEqual(j.added_tokens.map((a: Json) => [a.id, a.content, a.special]), [[298, TINY_EOS, true]]);
  const path = join(dir, 'tiny.json');
  writeTinyTokenizer(path);
  const tk = loadTokenizer(path);
  assert.equal(tk.vocabSize, 299);
  assert.deepEqual(tk.encode(' the').tokens, ['Ġthe']);
  assert.equal(tk.tokenToId(TINY_EOS), 298);
});

for (const [name, edit] of Object.entries(VARIANTS)) {
  test(`tiny tokenizer variant '${name}' matches HF tokenizers`, async () => {
    const j = tinyTokenizerJson() as Json;
    edit(j);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(j));
    const oracle = new Oracle(path);
    const ours = loadTokenizer(path);
    assert.equal(ours.vocabSize, oracle.rust.getVocabSize(true));
    for (let id = 0; id < ours.vocabSize + 2; id++) assert.equal(ours.idToToken(id), oracle.rust.idToToken(id) ?? undefined, `idToToken(${id})`);
    const failures: string[] = [];
    for (const text of [...FIXED, ...fuzzStrings(PIECES, 1500, 10, name.length * 7919)]) {
      const want = await oracle.encode(text);
      const got = ours.encode(text);
      if (JSON.stringify(got) !== JSON.stringify(want) && failures.length < 5)
        failures.push(`${JSON.stringify(text)}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
      const d = await oracle.decode(want.ids);
      if (ours.decode(want.ids) !== d && failures.length < 5) failures.push(`decode ${JSON.stringify(text)}: want ${JSON.stringify(d)}, got ${JSON.stringify(ours.decode(want.ids))}`);
    }
    assert.equal(failures.length, 0, failures.join('\n'));
  });
}

test('decode of arbitrary id sequences (broken UTF-8, unknown ids) matches HF', async () => {
  const path = join(dir, 'decode.json');
  writeTinyTokenizer(path);
  const oracle = new Oracle(path);
  const ours = loadTokenizer(path);
  let s = 12345;
  for (let k = 0; k < 300; k++) {
    const ids: number[] = [];
    const n = k % 9;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      ids.push((s >>> 8) % 305);
      if (i === 1) ids.push(298);
    }
    assert.equal(ours.decode(ids), await oracle.decode(ids), JSON.stringify(ids));
    const skipping = ours as unknown as { decode(ids: number[], skip: boolean): string };
    assert.equal(skipping.decode(ids, true), await oracle.rust.decode(ids, true), `skip special ${JSON.stringify(ids)}`);
  }
});

function expectUserError(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

test('broken or unsupported tokenizer files give a UserError naming the file', () => {
  const notJson = join(dir, 'not-json.json');
  writeFileSync(notJson, 'this is not JSON {');
  expectUserError(() => loadTokenizer(notJson), notJson, /not valid JSON/);
  const missing = join(dir, 'missing.json');
  expectUserError(() => loadTokenizer(missing), missing, /cannot read/);
  const cases: [string, (j: Json) => void, RegExp][] = [
    ['wordpiece', (j) => (j.model = { type: 'WordPiece', vocab: {} }), /unsupported model type 'WordPiece'/],
    ['unigram', (j) => (j.model = { type: 'Unigram', vocab: [] }), /unsupported model type 'Unigram'/],
    ['metaspace', (j) => (j.pre_tokenizer = { type: 'Metaspace', replacement: '▁' }), /unsupported pre-tokenizer 'Metaspace'/],
    ['bert-norm', (j) => (j.normalizer = { type: 'BertNormalizer' }), /unsupported normalizer 'BertNormalizer'/],
    ['bad-merge', (j) => j.model.merges.push('zz qq'), /merge 'zz qq'/],
    ['array', (j) => Object.assign(j, { model: null }), /no model/],
  ];
  for (const [name, edit, re] of cases) {
    const j = tinyTokenizerJson() as Json;
    edit(j);
    const path = join(dir, `${name}.json`);
    writeFileSync(path, JSON.stringify(j));
    expectUserError(() => loadTokenizer(path), path, re);
  }
  const arr = join(dir, 'array.json');
  writeFileSync(arr, '[1,2,3]');
  expectUserError(() => loadTokenizer(arr), arr, /not a tokenizer\.json object/);
  assert.throws(() => tokenizerFromJson({ model: { type: 'WordLevel' } }, 'mem.json'), /mem\.json: unsupported model type 'WordLevel'/);
});

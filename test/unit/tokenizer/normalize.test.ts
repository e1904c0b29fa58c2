// Our NFC/NFD/NFKC/NFKD (which track alignments the way HF does) give the same strings as HF tokenizers'
// normalizers over all of Unicode, including HF's older Unicode tables (see HF_* sets in normalize.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nfcNormalizer, nfdNormalizer, nfkcNormalizer, nfkdNormalizer } from 'tokenizers';
import { Piece, pieceText, unicodeNormalize, UnicodeForm } from '../../../src/engine/tokenizer/normalize';

function ours(s: string, form: UnicodeForm): string {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  const p: Piece = { cps, start: cps.map((_, i) => i), end: cps.map((_, i) => i + 1), shift: 0 };
  unicodeNormalize(p, form);
  return pieceText(p);
}

const FORMS: [UnicodeForm, { normalizeString(s: string): string }][] = [
  ['NFC', nfcNormalizer()],
  ['NFD', nfdNormalizer()],
  ['NFKC', nfkcNormalizer()],
  ['NFKD', nfkdNormalizer()],
];

test('every code point, alone and between a starter and a mark, normalises as in HF (4 forms)', () => {
  const failures: string[] = [];
  for (let cp = 0xa0; cp < 0x110000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp >= 0x40000 && cp < 0xe0000) cp = 0xe0000; // unassigned planes
    const c = String.fromCodePoint(cp);
    // past U+3400, skip quickly what has no decomposition of any kind and no combining class > 1 (for JavaScript)
    const plain = c.normalize('NFKD') === c && ('a' + c + '\u0334').normalize('NFD') === 'a' + c + '\u0334';
    if (plain && cp > 0x3400) continue;
    for (const s of [c, `a${c}\u0334`, `a\u0301${c}`, `${c}\u0301`]) {
      for (const [form, hf] of FORMS) {
        const want = hf.normalizeString(s);
        const got = ours(s, form);
        if (got !== want && failures.length < 10) failures.push(`${form} U+${cp.toString(16)} ${JSON.stringify(s)}: HF ${JSON.stringify(want)} ours ${JSON.stringify(got)}`);
      }
    }
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

test('composition pairs (decomposed forms of two code points) recompose as in HF', () => {
  const failures: string[] = [];
  for (let cp = 0xa0; cp < 0x30000; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const d = String.fromCodePoint(cp).normalize('NFD');
    if (d === String.fromCodePoint(cp)) continue;
    for (const s of [d, `x${d}\u0323`, d + d]) {
      for (const [form, hf] of FORMS) {
        const want = hf.normalizeString(s);
        const got = ours(s, form);
        if (got !== want && failures.length < 10) failures.push(`${form} U+${cp.toString(16)}: HF ${JSON.stringify(want)} ours ${JSON.stringify(got)}`);
      }
    }
  }
  assert.equal(failures.length, 0, failures.join('\n'));
});

// The ByteLevel pre-tokenizer (GPT-2 regex, with Unicode classes and `\s` as Oniguruma's) splits every code
// point, in several contexts, exactly as HF tokenizers' does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteLevelPreTokenizer, classBody } from '../../../src/engine/tokenizer/preTokenize';
import { HF_LETTER, HF_NUMBER } from '../../../src/engine/tokenizer/unicodeClasses';
import { Piece, pieceText } from '../../../src/engine/tokenizer/normalize';
import { byteLevelPreTokenizer as hfByteLevel } from 'tokenizers';

function ours(s: string, addPrefixSpace: boolean): [string, [number, number]][] {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  const p: Piece = { cps, start: cps.map((_, i) => i), end: cps.map((_, i) => i + 1), shift: 0 };
  return byteLevelPreTokenizer(addPrefixSpace, true)([p]).map((q) => [pieceText(q), [q.start[0], q.end[q.cps.length - 1]]]);
}

const JS_L = /^\p{L}$/u;
const JS_N = /^\p{N}$/u;
const HF_L = new RegExp(`^[${classBody(HF_LETTER)}]$`, 'u');
const HF_N = new RegExp(`^[${classBody(HF_NUMBER)}]$`, 'u');

for (const addPrefixSpace of [false, true]) {
  test(`ByteLevel(add_prefix_space=${addPrefixSpace}) pre-tokenises Unicode as HF (all class differences + a sample)`, () => {
    const hf = hfByteLevel(addPrefixSpace, true);
    const failures: string[] = [];
    let batch = '';
    const flush = () => {
      const want = JSON.stringify(hf.preTokenizeString(batch));
      const got = JSON.stringify(ours(batch, addPrefixSpace));
      if (want !== got && failures.length < 3) failures.push(`${JSON.stringify(batch)}\n  want ${want}\n  got  ${got}`);
      batch = '';
    };
    // every code point that JavaScript's own \p{L}/\p{N} classify differently from our (HF) tables, and
    // a 1-in-8 sample of all the others (all of Unicode takes ~25 s); the prefix-space variant on a short range
    const last = addPrefixSpace ? 0x3000 : 0x110000;
    let k = 0;
    for (let cp = 0; cp < last; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (cp === 0x40000) cp = 0xe0000; // planes 4-13 are unassigned
      const c = String.fromCodePoint(cp);
      const jsClass = JS_L.test(c) ? 1 : JS_N.test(c) ? 2 : 0;
      const hfClass = HF_L.test(c) ? 1 : HF_N.test(c) ? 2 : 0;
      if (jsClass === hfClass && k++ % 8 !== 0) continue;
      batch += `a${c}b ${c}1 .${c}\n`;
      if (batch.length > 4000) flush();
    }
    flush();
    assert.equal(failures.length, 0, failures.join('\n'));
  });
}

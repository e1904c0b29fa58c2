// The ByteLevel pre-tokenizer (GPT-2 regex, with Unicode classes and `\s` as Oniguruma's) splits every code
// point, in several contexts, exactly as HF tokenizers' does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteLevelPreTokenizer } from '../../../src/engine/tokenizer/preTokenize';
import { Piece, pieceText } from '../../../src/engine/tokenizer/normalize';
import { byteLevelPreTokenizer as hfByteLevel } from 'tokenizers';

function ours(s: string, addPrefixSpace: boolean): [string, [number, number]][] {
  const cps = Array.from(s, (c) => c.codePointAt(0)!);
  const p: Piece = { cps, start: cps.map((_, i) => i), end: cps.map((_, i) => i + 1), shift: 0 };
  return byteLevelPreTokenizer(addPrefixSpace, true)([p]).map((q) => [pieceText(q), [q.start[0], q.end[q.cps.length - 1]]]);
}

for (const addPrefixSpace of [false, true]) {
  test(`ByteLevel(add_prefix_space=${addPrefixSpace}) pre-tokenises all of Unicode as HF`, () => {
    const hf = hfByteLevel(addPrefixSpace, true);
    const failures: string[] = [];
    let batch = '';
    const flush = () => {
      const want = JSON.stringify(hf.preTokenizeString(batch));
      const got = JSON.stringify(ours(batch, addPrefixSpace));
      if (want !== got && failures.length < 3) failures.push(`${JSON.stringify(batch)}\n  want ${want}\n  got  ${got}`);
      batch = '';
    };
    // all of Unicode once; the prefix-space variant (same classes) on the first planes' start only
    const last = addPrefixSpace ? 0x3000 : 0x110000;
    for (let cp = 0; cp < last; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      if (cp === 0x40000) cp = 0xe0000; // planes 4-13 are unassigned
      const c = String.fromCodePoint(cp);
      batch += `a${c}b ${c}1 ${c}${c}'s x ${c}.${c}\n `;
      if (batch.length > 4000) flush();
    }
    flush();
    assert.equal(failures.length, 0, failures.join('\n'));
  });
}

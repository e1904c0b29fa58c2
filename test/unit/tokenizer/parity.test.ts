// Parity of our tokenizer with HF tokenizers (Rust, through the `tokenizers` npm package) on the real
// gpt-neox-20b tokenizer.json and every COUNTERFACT prompt: ids, tokens and UTF-16 offsets must be equal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import { Oracle } from './oracle';

const DATA = join(__dirname, '..', '..', '..', '..', 'shared', 'data');
const NEOX = join(DATA, 'gpt-neox-20b-tokenizer.json');
const CF = join(DATA, 'counterfact-tracing.json');
const have = existsSync(NEOX) && existsSync(CF);

interface Row {
  prompt: string;
  subject: string;
  target_true: string;
  target_false: string;
}

async function compareAll(texts: string[]): Promise<number> {
  const ours = loadTokenizer(NEOX);
  const oracle = new Oracle(NEOX);
  let checked = 0;
  const failures: string[] = [];
  for (const text of texts) {
    const want = await oracle.encode(text);
    const got = ours.encode(text);
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      if (failures.length < 5) failures.push(`${JSON.stringify(text)}\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
    checked++;
  }
  assert.equal(failures.length, 0, `mismatches with HF tokenizers:\n${failures.join('\n')}`);
  return checked;
}

test('gpt-neox-20b: every COUNTERFACT prompt tokenises exactly as HF tokenizers', { skip: !have && 'shared data not present' }, async (t) => {
  const rows = JSON.parse(readFileSync(CF, 'utf8')) as Row[];
  assert.ok(rows.length > 20000);
  const prompts = [...new Set(rows.map((r) => r.prompt))];
  const n = await compareAll(prompts);
  assert.ok(n > 21000, `checked ${n} prompts`);
  t.diagnostic(`${n} distinct prompts of ${rows.length} rows identical to HF`);
});

test('gpt-neox-20b: prompts with targets and the subjects tokenise exactly as HF tokenizers', { skip: !have && 'shared data not present' }, async (t) => {
  const rows = JSON.parse(readFileSync(CF, 'utf8')) as Row[];
  const texts = new Set<string>();
  // every 4th row: prompt + target (targets start with a space), prompt + ' ' + target (a double space,
  // which is one of gpt-neox's whitespace added tokens) and the false target
  rows.forEach((r, i) => {
    if (i % 4 !== 0) return;
    texts.add(r.prompt + r.target_true);
    texts.add(r.prompt + ' ' + r.target_true);
    texts.add(r.prompt + r.target_false);
  });
  for (const r of rows) {
    texts.add(r.subject);
    texts.add(r.subject.trim());
  }
  const n = await compareAll([...texts]);
  assert.ok(n > 15000, `checked ${n} texts`);
  t.diagnostic(`${n} texts (prompt+target, prompt+' '+target, subjects) identical to HF`);
});

test('gpt-neox-20b: vocabulary look-ups agree with HF tokenizers', { skip: !have && 'shared data not present' }, () => {
  const ours = loadTokenizer(NEOX);
  const oracle = new Oracle(NEOX);
  assert.equal(ours.vocabSize, oracle.rust.getVocabSize(true));
  assert.equal(ours.vocabSize, 50281);
  for (let id = 0; id < ours.vocabSize; id++) {
    const t = oracle.rust.idToToken(id) ?? undefined;
    assert.equal(ours.idToToken(id), t, `id ${id}`);
    if (t !== undefined) assert.equal(ours.tokenToId(t), oracle.rust.tokenToId(t), `token ${JSON.stringify(t)}`);
  }
  assert.equal(ours.idToToken(ours.vocabSize), undefined);
  assert.equal(ours.tokenToId('Ġowned'), oracle.rust.tokenToId('Ġowned'));
});

// Positions and targets with the real gpt-neox-20b tokenizer on COUNTERFACT rows (../shared/data).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from '../../../src/engine/tokenizer/index';
import { loadDataset } from '../../../src/engine/datasets/index';
import { resolveTargetId, subjectHasFirst, subjectPositions, tokenInfos } from '../../../src/engine/experiments/positions';

const DATA = path.resolve(__dirname, '../../../../shared/data');

test('gpt-neox tokenizer: COUNTERFACT subject positions and targets', { skip: !fs.existsSync(DATA) && 'shared data not present' }, async () => {
  const tok = await loadTokenizer(path.join(DATA, 'gpt-neox-20b-tokenizer.json'));
  const prompt = 'The mother tongue of Danielle Darrieux is';
  const enc = tok.encode(prompt);
  const pos = subjectPositions(prompt, ' Danielle Darrieux', enc);
  const infos = tokenInfos(prompt, enc, pos);
  // ĠDaniel le ĠDar rie ux
  assert.deepEqual(pos.subject, [4, 5, 6, 7, 8]);
  assert.equal(tok.decode(pos.subject.map((i) => enc.ids[i])), ' Danielle Darrieux');
  assert.deepEqual(infos.filter((t) => t.role === 'subject').map((t) => t.text), ['Daniel', 'le', 'Dar', 'rie', 'ux']);
  assert.deepEqual(pos.relation, [0, 1, 2, 3]);
  assert.equal(infos[infos.length - 1].text.trim(), 'is');
  // target ' French' is one token; 'French' without a space resolves to the same id
  const t = resolveTargetId(tok, ' French');
  assert.equal(t.id, resolveTargetId(tok, 'French').id);
  assert.equal(t.text, ' French');
  // every one of the first 500 rows maps its subject to at least one token, none of them the last
  const ds = loadDataset(path.join(DATA, 'counterfact-tracing.json'));
  let hasFirst = 0;
  for (const item of ds.items.slice(0, 500)) {
    const e = tok.encode(item.prompt);
    const p = subjectPositions(item.prompt, item.subject, e);
    assert.ok(p.subject.length > 0);
    if (subjectHasFirst(p)) hasFirst++;
    assert.ok(resolveTargetId(tok, item.target).id >= 0);
  }
  assert.ok(hasFirst > 0 && hasFirst < 500);
});

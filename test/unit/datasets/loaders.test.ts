import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset, parseDataset, sampleItems } from '../../../src/engine/datasets/index';
import { UserError } from '../../../src/engine/types';

const SHARED = path.resolve(__dirname, '../../../../shared/data/counterfact-tracing.json');

test('COUNTERFACT tracing file from ../shared loads all 21,919 rows', { skip: !fs.existsSync(SHARED) && 'shared data not present' }, () => {
  const ds = loadDataset(SHARED);
  assert.equal(ds.format, 'counterfact-tracing');
  assert.equal(ds.rows, 21919);
  assert.equal(ds.items.length + ds.skipped.length, 21919);
  assert.ok(ds.items.length > 21000);
  assert.deepEqual(ds.items[0], {
    index: 0,
    prompt: 'The mother tongue of Danielle Darrieux is',
    subject: ' Danielle Darrieux',
    target: ' French',
    relationId: 'P103',
  });
  assert.match(ds.sha256, /^[0-9a-f]{64}$/);
});

test('COUNTERFACT target_true as object {str}', () => {
  const ds = parseDataset(JSON.stringify([{ prompt: 'Paris is in', subject: 'Paris', target_true: { str: ' France', id: 'Q142' }, target_false: { str: 'Italy' }, relation_id: 'P17' }]), 'x.json');
  assert.equal(ds.items[0].target, ' France');
});

test('ROME known_1000 rows: target = space + attribute', () => {
  const rows = [
    { known_id: 0, subject: 'Vinson Massif', attribute: 'Antarctica', template: '{} is located in the continent of', prediction: ' Antarctica', prompt: 'Vinson Massif is located in the continent', relation_id: 'P30' },
  ];
  const ds = parseDataset(JSON.stringify(rows), 'known_1000.json');
  assert.equal(ds.format, 'known_1000');
  assert.deepEqual(ds.items[0], { index: 0, prompt: 'Vinson Massif is located in the continent', subject: 'Vinson Massif', target: ' Antarctica', relationId: 'P30' });
});

test('ROME COUNTERFACT rows: prompt {} replaced by the subject, target_true.str', () => {
  const rows = [
    { case_id: 0, pararel_idx: 2796, requested_rewrite: { prompt: 'The mother tongue of {} is', relation_id: 'P103', target_new: { str: 'English', id: 'Q1860' }, target_true: { str: 'French', id: 'Q150' }, subject: 'Danielle Darrieux' } },
    { case_id: 1, requested_rewrite: { prompt: 'no placeholder', subject: 'X', target_true: { str: 'Y' } } },
  ];
  const ds = parseDataset(JSON.stringify(rows), 'counterfact.json');
  assert.equal(ds.format, 'rome-counterfact');
  assert.deepEqual(ds.items[0], { index: 0, prompt: 'The mother tongue of Danielle Darrieux is', subject: 'Danielle Darrieux', target: ' French', relationId: 'P103' });
  assert.equal(ds.skipped.length, 1);
  assert.match(ds.skipped[0].reason, /row 1: .*no '\{\}' placeholder/);
});

test('per-row problems become skipped entries with reasons', () => {
  const rows = [
    { prompt: 'A is B', subject: 'A', target_true: ' C' },
    { prompt: 'A is B', subject: 'Z', target_true: ' C' },
    { prompt: '', subject: 'A', target_true: ' C' },
    { prompt: 'A is B', subject: 'A', target_true: '' },
    42,
  ];
  const ds = parseDataset(JSON.stringify(rows), 'mixed.json');
  assert.equal(ds.items.length, 1);
  assert.deepEqual(
    ds.skipped.map((s) => s.index),
    [1, 2, 3, 4],
  );
  assert.match(ds.skipped[0].reason, /subject 'Z' not found in prompt 'A is B'/);
  assert.match(ds.skipped[3].reason, /row 4: not a COUNTERFACT/);
});

test('bad dataset files: not JSON, not an array, no usable rows, missing file — one clear UserError each', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mx-ds-'));
  const f = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const isUser = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
  assert.throws(() => loadDataset(f('bad.json', '{"prompt": ')), isUser(/bad\.json' is not valid JSON/));
  assert.throws(() => loadDataset(f('obj.json', '{"a": 1}')), isUser(/must be a JSON array of rows/));
  assert.throws(() => loadDataset(f('empty.json', '[]')), isUser(/has no usable rows \(the array is empty\)/));
  assert.throws(
    () => loadDataset(f('rows.json', JSON.stringify([{ a: 1 }, { prompt: 'x', subject: 'y', target_true: ' z' }]))),
    isUser(/has no usable rows: row 0: not a COUNTERFACT.*; row 1: subject 'y' not found in prompt 'x'/),
  );
  assert.throws(() => loadDataset(path.join(dir, 'missing.json')), isUser(/missing\.json' cannot be read: no such file/));
});

test('sampling: --limit takes the first N; --seed shuffles deterministically', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  assert.deepEqual(sampleItems(items, 3), [0, 1, 2]);
  const a = sampleItems(items, 10, 42);
  assert.deepEqual(a, sampleItems(items, 10, 42));
  assert.notDeepEqual(a, sampleItems(items, 10, 43));
  assert.equal(new Set(a).size, 10);
  assert.deepEqual(sampleItems(items, undefined, 1).slice().sort((x, y) => x - y), items);
  assert.throws(() => sampleItems(items, 0), /--limit must be a positive integer/);
});

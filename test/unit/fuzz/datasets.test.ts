// Fuzzing the dataset loaders (COUNTERFACT tracing, ROME known_1000, ROME COUNTERFACT): files of rows built with
// hostile strings (replacement patterns such as '$&', placeholders, newlines, lone surrogates, markup) whose correct
// items are known by construction, mixed with rows of every wrong shape; structurally mutated real datasets; broken
// JSON text and bytes. Each case ends in a UserError (one line) or in a dataset whose items are exactly the usable rows,
// with the prompt, subject and target the row means, and every other row skipped with a reason.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { loadDataset, parseDataset, type DatasetItem, type LoadedDataset } from '../../../src/engine/datasets';
import { applyByteOps, applyJsonOps, applyTextOps, byteOps, hostileString, jsonOps, serialize, strictHostileValue, textOp } from './mutate';
import { REPO } from './bases';
import { check, guard, show, tempDir } from './harness';

const tmp = tempDir('ds');
let realDatasets: { name: string; rows: unknown[] }[] = [];

before(() => {
  realDatasets = ['demo-facts.json', 'demo-prompts.json'].map((f) => ({ name: f, rows: JSON.parse(fs.readFileSync(path.join(REPO, 'examples', f), 'utf8')) }));
});

/** Pieces of prompts and names: replacement patterns ('$&', "$'", '$1', '$$'), placeholders, markup, odd Unicode. */
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('The capital of', 'is', ' located in', 'Danielle Darrieux', ' French', 'x') },
  { weight: 2, arbitrary: fc.constantFrom('$&', "$'", '$`', '$1', '$$', '$<n>', '{}', '{}{}', '{0}', '\\', '\n', '\t', '\u00a0', '\ud800', '\ud83d\ude00', 'e\u0301', '<script>alert(1)</script>', '"', "'", '__proto__') },
  { weight: 2, arbitrary: hostileString },
);
const word = fc.array(piece, { minLength: 1, maxLength: 3 }).map((p) => p.join(''));
/** a non-blank string (the loaders skip blank prompts, subjects and targets) */
const solid = word.filter((s) => s.trim() !== '');

interface Built {
  row: unknown;
  /** the item the row must give (index filled in later), or undefined when the row must be skipped */
  want?: Omit<DatasetItem, 'index'>;
}

const relation = fc.option(fc.oneof(fc.constantFrom('P103', 'P36'), hostileString), { nil: undefined });

const counterfactRow: fc.Arbitrary<Built> = fc
  .record({ pre: word, subject: solid, post: word, target: solid, targetAsObject: fc.boolean(), relationId: relation })
  .map(({ pre, subject, post, target, targetAsObject, relationId }) => {
    const prompt = pre + subject + post;
    const row = { prompt, subject, target_true: targetAsObject ? { str: target, id: 'Q1' } : target, target_false: ' Nope', ...(relationId !== undefined ? { relation_id: relationId } : {}) };
    const usable = prompt.trim() !== '' && prompt.includes(subject.replace(/^\s+/, ''));
    return { row, want: usable ? { prompt, subject, target, relationId } : undefined };
  });

/** `tpl` with its first '{}' replaced by `subject`, literally (a '$&' in the subject is text, not a pattern). */
const fill = (tpl: string, subject: string): string => {
  const i = tpl.indexOf('{}');
  return tpl.slice(0, i) + subject + tpl.slice(i + 2);
};

const knownRow: fc.Arbitrary<Built> = fc
  .record({ pre: word, subject: solid, post: word, attribute: solid, withPrompt: fc.boolean(), relationId: relation, id: fc.nat() })
  .map(({ pre, subject, post, attribute, withPrompt, relationId, id }) => {
    const template = `${pre}{}${post}`;
    const filled = fill(template, subject);
    const row = { known_id: id, subject, attribute, template, ...(withPrompt ? { prompt: filled } : {}), prediction: ' x', ...(relationId !== undefined ? { relation_id: relationId } : {}) };
    const target = /^\s/.test(attribute) ? attribute : ' ' + attribute;
    const usable = filled.trim() !== '' && filled.includes(subject.replace(/^\s+/, ''));
    return { row, want: usable ? { prompt: filled, subject, target, relationId } : undefined };
  });

const romeRow: fc.Arbitrary<Built> = fc
  .record({ pre: word, subject: solid, post: word, target: solid, relationId: relation, id: fc.nat(), outer: fc.boolean() })
  .map(({ pre, subject, post, target, relationId, id, outer }) => {
    const tpl = `${pre}{}${post}`;
    const prompt = fill(tpl, subject);
    const rr = { prompt: tpl, subject, target_true: { str: target, id: 'Q1' }, target_new: { str: 'y' }, ...(relationId !== undefined && !outer ? { relation_id: relationId } : {}) };
    const row = { case_id: id, requested_rewrite: rr, paraphrase_prompts: [], ...(relationId !== undefined && outer ? { relation_id: relationId } : {}) };
    const t = /^\s/.test(target) ? target : ' ' + target;
    const usable = prompt.trim() !== '' && prompt.includes(subject.replace(/^\s+/, ''));
    return { row, want: usable ? { prompt, subject, target: t, relationId } : undefined };
  });

/** rows of every wrong shape; whether they are usable is not known in advance */
const otherRow: fc.Arbitrary<Built> = fc.oneof(
  strictHostileValue.map((row) => ({ row })),
  fc.record({ prompt: strictHostileValue, subject: strictHostileValue, target_true: strictHostileValue }).map((row) => ({ row })),
  fc.record({ requested_rewrite: strictHostileValue }).map((row) => ({ row })),
  fc.record({ known_id: strictHostileValue, attribute: strictHostileValue, template: strictHostileValue, subject: strictHostileValue }).map((row) => ({ row })),
);

const anyRow = fc.oneof({ weight: 2, arbitrary: counterfactRow }, { weight: 2, arbitrary: knownRow }, { weight: 2, arbitrary: romeRow }, { weight: 2, arbitrary: otherRow });

/** What every loaded dataset satisfies. */
function checkDataset(ds: LoadedDataset, label: string): void {
  assert.equal(ds.items.length + ds.skipped.length, ds.rows, `${label}: items + skipped = rows`);
  assert.ok(ds.items.length > 0, `${label}: a dataset without items must be a UserError`);
  assert.ok(['counterfact-tracing', 'known_1000', 'rome-counterfact'].includes(ds.format), `${label}: format ${ds.format}`);
  assert.match(ds.sha256, /^[0-9a-f]{64}$/);
  for (const it of ds.items) {
    assert.ok(Number.isInteger(it.index) && it.index >= 0 && it.index < ds.rows, `${label}: item index ${it.index}`);
    for (const k of ['prompt', 'subject', 'target'] as const) assert.ok(typeof it[k] === 'string' && it[k].trim() !== '', `${label}: item ${it.index} ${k} ${show(it[k])}`);
    assert.ok(it.prompt.includes(it.subject.replace(/^\s+/, '')), `${label}: item ${it.index}: the subject is not in the prompt`);
  }
  for (const s of ds.skipped) assert.ok(Number.isInteger(s.index) && typeof s.reason === 'string' && s.reason.length > 0, `${label}: skipped ${show(s)}`);
}

test('datasets: rows with hostile strings of all three formats, mixed with rows of every wrong shape → exactly the usable rows, as they mean', async (t) => {
  const wrapper = fc.constantFrom('array', 'data', 'rows', 'items');
  const msg = await check('ds-rows', 2000, [fc.array(anyRow, { maxLength: 8 }), wrapper], async (built, wrap) => {
    const rows = built.map((b) => b.row);
    const text = serialize(wrap === 'array' ? rows : { [wrap]: rows, meta: { n: rows.length } });
    const label = `ds-rows ${wrap} ${show(rows)}`;
    const r = await guard(label, () => parseDataset(text, 'rows.json'));
    const wanted = built.map((b, index) => (b.want ? { index, ...b.want } : undefined)).filter((x) => x !== undefined);
    if (!r.ok) {
      assert.equal(wanted.length, 0, `${label}: refused (${r.error.message}) although rows ${wanted.map((w) => w!.index).join(', ')} are usable`);
      return;
    }
    checkDataset(r.value, label);
    assert.equal(r.value.rows, rows.length);
    assert.equal(r.value.sha256, crypto.createHash('sha256').update(text).digest('hex'));
    const byIndex = new Map(r.value.items.map((it) => [it.index, it]));
    for (const w of wanted) {
      const got = byIndex.get(w!.index);
      assert.ok(got, `${label}: usable row ${w!.index} was skipped: ${r.value.skipped.find((s) => s.index === w!.index)?.reason}`);
      assert.deepEqual({ ...got, relationId: got.relationId }, { ...w, relationId: w!.relationId }, `${label}: row ${w!.index} gave the wrong item`);
    }
    // constructed rows that must be skipped are skipped
    for (const [i, b] of built.entries()) if ('want' in b && b.want === undefined) assert.ok(!byIndex.has(i), `${label}: row ${i} should have been skipped`);
  });
  t.diagnostic(msg);
});

test('datasets: structurally mutated real datasets → UserError or a well-formed dataset', async (t) => {
  const msg = await check('ds-json', 1000, [fc.nat(), fc.nat(), jsonOps(4)], async (di, start, ops) => {
    const d = realDatasets[di % realDatasets.length];
    const rows = d.rows.slice(start % d.rows.length, (start % d.rows.length) + 6);
    const text = serialize(applyJsonOps(rows, ops));
    const r = await guard(`ds-json ${d.name} ${show(ops)}`, () => parseDataset(text, d.name));
    if (r.ok) checkDataset(r.value, `${d.name} ${show(ops)}`);
  });
  t.diagnostic(msg);
});

test('datasets: broken JSON text and bytes (invalid UTF-8, truncation), read from a file → UserError or a well-formed dataset', async (t) => {
  const file = path.join(tmp, 'case.json');
  const msg = await check('ds-file', 1000, [fc.nat(), fc.array(textOp, { maxLength: 3 }), byteOps(2), fc.boolean()], async (di, tops, bops, bytes) => {
    const d = realDatasets[di % realDatasets.length];
    const text = applyTextOps(JSON.stringify(d.rows.slice(0, 5), null, 1), tops);
    const buf = bytes ? applyByteOps(Buffer.from(text, 'utf8'), bops) : Buffer.from(text, 'utf8');
    fs.writeFileSync(file, buf);
    const label = `ds-file ${d.name} ${show(tops)} ${bytes ? show(bops) : ''}`;
    const r = await guard(label, () => loadDataset(file));
    if (r.ok) {
      checkDataset(r.value, label);
      assert.equal(r.value.sha256, crypto.createHash('sha256').update(buf).digest('hex'), `${label}: sha256 of the file's bytes`);
    }
  });
  t.diagnostic(msg);
});

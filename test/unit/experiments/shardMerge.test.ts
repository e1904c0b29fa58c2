// Sharded dataset runs (`run --shard I/N`) and `merge`: on the bundled demo model (ORT CPU, in process), the merged
// file of N shards equals one unsharded run in everything but timing and createdAt — per-prompt records, aggregate
// (bootstrap intervals), split, counts, skipped / filtered rows, warnings, config hash — for macro and micro, for any
// order of the shard files, and with shards that measure nothing. Every way shards can fail to belong together is
// one UserError, and no merged file is written then.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { partialPath, runDataset, type DatasetRunParams } from '../../../src/engine/experiments/dataset';
import { mergeShardFiles } from '../../../src/engine/experiments/merge';
import { parseShard } from '../../../src/engine/experiments/shard';
import { openEngineSession, closeEngineSession } from '../../../src/engine/engine';
import { CancelledError, UserError, type EngineSession } from '../../../src/engine/types';
import type { DatasetRunResult as DRR } from '../../../src/engine/experiments/resultTypes';
import { readResultsFile } from '../../../src/report/loadResult';
import { makeCtx, tmpDir } from './fixtures';
import { comparable, writeMixedDataset } from './mixedDataset';

const ROOT = path.resolve(__dirname, '../../..');
let session: EngineSession;
let dir = '';
let dataset = '';

before(async () => {
  session = await openEngineSession(path.join(ROOT, 'models/demo'), { ep: 'cpu', cacheRoot: tmpDir('onnx') });
  dir = tmpDir('shard');
  dataset = writeMixedDataset(dir);
});
after(async () => {
  await closeEngineSession(session);
});

async function shardsAndMerge(base: Omit<DatasetRunParams, 'out'>, n: number, tag: string, order?: number[]): Promise<{ shards: DRR[]; files: string[]; merged: DRR; out: string }> {
  const shards: DRR[] = [];
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `${tag}-shard${i}.json`);
    shards.push(await runDataset(session, { ...base, shard: `${i}/${n}`, out: f }));
    files.push(f);
  }
  const out = path.join(dir, `${tag}-merged.json`);
  const merged = mergeShardFiles((order ?? files.map((_, i) => i)).map((i) => files[i]), out);
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), merged, 'the file holds what merge returned');
  return { shards, files, merged, out };
}

test('macro, filter, split, bootstrap: 3 shards merged = one unsharded run (records, aggregate, counts, skipped, warnings)', async () => {
  const base = { dataset, experiment: 'macro' as const, windows: [2, 4], split: true, limit: 40, seed: 5, chunkSize: 3 };
  const whole = await runDataset(session, { ...base, out: path.join(dir, 'macro-whole.json') });
  // the run exercises every list the merge must rebuild
  const c = whole.counts!;
  assert.ok(c.measured > 3 && c.filteredOut > 0 && c.skipped === 1 && c.unusable === 3, JSON.stringify(c));
  assert.ok((whole.warnings ?? []).some((w) => w.code === 'trailing-whitespace') || (whole.warnings ?? []).some((w) => w.code === 'multi-token-target'), JSON.stringify(whole.warnings));
  assert.equal(whole.settings.interval!.method, 'bootstrap');

  const { shards, merged, out } = await shardsAndMerge(base, 3, 'macro', [2, 0, 1]);
  // the shards partition the selection and record their shard; each is a readable results file of its own
  shards.forEach((s, i) => {
    assert.deepEqual(s.settings.shard, { index: i, count: 3 });
    assert.equal(s.configHash, whole.configHash, 'every shard has the run\'s config hash');
    assert.ok(s.prompts.length > 0 && s.prompts.length < whole.prompts.length);
    assert.equal(s.counts!.selected, s.counts!.measured + s.counts!.filteredOut + s.counts!.skipped);
  });
  assert.equal(shards.reduce((a, s) => a + s.counts!.selected, 0), c.selected);
  assert.deepEqual(comparable(merged), comparable(whole));
  assert.equal(merged.settings.shard, undefined);
  assert.equal(merged.timing!.shards, 3);
  assert.ok(merged.timing!.seconds > 0);
  // the merge recomputed the aggregate from all prompts: it is not any shard's
  assert.notDeepEqual(shards[0].aggregate, merged.aggregate);
  // the report reads merged and shard files like any other
  assert.equal(readResultsFile(out).results[0].kind, 'dataset-run');
  assert.equal(readResultsFile(path.join(dir, 'macro-shard1.json')).results[0].kind, 'dataset-run');
});

test('micro, no filter, t interval: 3 shards merged = one unsharded run', async () => {
  const base = { dataset, experiment: 'micro' as const, windows: [3], filter: false, ci: 't' as const, chunkSize: 2, limit: 18 };
  const whole = await runDataset(session, { ...base, out: path.join(dir, 'micro-whole.json') });
  assert.ok(whole.prompts.length >= 15 && whole.prompts.every((p) => p.micro));
  const { merged } = await shardsAndMerge(base, 3, 'micro');
  assert.deepEqual(comparable(merged), comparable(whole));
});

test('more shards than chunks: the empty shards still write their file, and the merge equals the unsharded run', async () => {
  const base = { dataset, experiment: 'macro' as const, windows: [4], limit: 9, chunkSize: 4 };
  const whole = await runDataset(session, { ...base, out: path.join(dir, 'few-whole.json') });
  const { shards, merged } = await shardsAndMerge(base, 6, 'few');
  assert.ok(shards.some((s) => s.prompts.length === 0 && s.counts!.selected === 0), 'a shard without any chunk');
  const empty = shards.find((s) => s.prompts.length === 0)!;
  assert.deepEqual(empty.aggregate.windows[0].curves.subject.n, [0, 0, 0, 0, 0]);
  assert.deepEqual(comparable(merged), comparable(whole));
});

test('a shard resumes from its own checkpoint only, and its file merges as if never interrupted', async () => {
  const base = { dataset, experiment: 'macro' as const, windows: [2], filter: false, limit: 24, chunkSize: 2, checkpointSeconds: 0 };
  const whole = await runDataset(session, { ...base, out: path.join(dir, 'res-whole.json') });
  const f0 = path.join(dir, 'res-shard0.json');
  const ctx = makeCtx();
  ctx.cancelled = () => ctx.events.length > 0 && ctx.events[ctx.events.length - 1].done >= 4;
  await assert.rejects(runDataset(session, { ...base, shard: '0/2', out: f0 }, ctx), CancelledError);
  const partial = JSON.parse(fs.readFileSync(partialPath(f0), 'utf8')) as DRR;
  assert.deepEqual(partial.settings.shard, { index: 0, count: 2 });
  await assert.rejects(runDataset(session, { ...base, shard: '1/2', out: f0, resume: true }), (e: unknown) => e instanceof UserError && /checkpoint of shard 0\/2, not of shard 1\/2/.test(e.message));
  await assert.rejects(runDataset(session, { ...base, out: f0, resume: true }), (e: unknown) => e instanceof UserError && /checkpoint of shard 0\/2, not of an unsharded run/.test(e.message));
  await runDataset(session, { ...base, shard: '0/2', out: f0, resume: true });
  const f1 = path.join(dir, 'res-shard1.json');
  await runDataset(session, { ...base, shard: '1/2', out: f1 });
  assert.deepEqual(comparable(mergeShardFiles([f0, f1], path.join(dir, 'res-merged.json'))), comparable(whole));
});

test('shards that do not belong together, missing, doubled, unfinished or not shards: one UserError, nothing written', async () => {
  const base = { dataset, experiment: 'macro' as const, windows: [2], filter: false, limit: 8, chunkSize: 2 };
  const run = async (name: string, extra: Partial<DatasetRunParams>) => {
    const f = path.join(dir, `bad-${name}.json`);
    await runDataset(session, { ...base, ...extra, out: f });
    return f;
  };
  const a0 = await run('a0', { shard: '0/2' });
  const a1 = await run('a1', { shard: '1/2' });
  const w4 = await run('w4', { shard: '1/2', windows: [4] });
  const c3 = await run('c3', { shard: '1/2', chunkSize: 3 });
  const t3 = await run('t3', { shard: '1/3' });
  const whole = await run('whole', {});
  const partial = partialPath(path.join(dir, 'bad-cut.json'));
  fs.writeFileSync(partial, JSON.stringify({ ...JSON.parse(fs.readFileSync(a1, 'utf8')), status: 'partial' }));
  fs.writeFileSync(path.join(dir, 'bad-text.json'), 'not json');
  const out = path.join(dir, 'bad-merged.json');
  const cases: [string[], RegExp][] = [
    [[a0], /^shard 1 of 2 is missing: merge needs the results files of all 2 shards \(given: 0\)$/],
    [[a0, a0], /^shard 0\/2 is given twice: '.*bad-a0\.json' and '.*bad-a0\.json'$/],
    [[a0, w4], /^'.*bad-w4\.json' and '.*bad-a0\.json' are not shards of one run: settings\.windows differs \(\[4\] vs \[2\]\)$/],
    [[a0, c3], /not shards of one run: the config hash \(the --chunk size or --max-batch\) differs/],
    [[a0, t3], /^'.*bad-t3\.json' is shard 1\/3 but '.*bad-a0\.json' is shard 0\/2: the shards of one run have the same count$/],
    [[a0, whole], /^'.*bad-whole\.json' is not a shard's results file \(it was made without --shard\)$/],
    [[a0, partial], /is the checkpoint of an unfinished shard: finish that shard/],
    [[a0, path.join(dir, 'bad-text.json')], /^shard file '.*bad-text\.json' is not valid JSON/],
    [[a0, path.join(dir, 'nope.json')], /^shard file '.*nope\.json' cannot be read: no such file$/],
    [[a0, dataset], /^'.*mixed\.json' is not the results file of a dataset run/],
    [[a0, a1, a0], /^shard 0\/2 is given twice/],
  ];
  for (const [files, re] of cases) {
    assert.throws(() => mergeShardFiles(files, out), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'), `${files.map((f) => path.basename(f))}`);
    assert.equal(fs.existsSync(out), false);
  }
  // the merged file of a whole set merges no further, and --out cannot be a shard
  const m = path.join(dir, 'bad-ok.json');
  mergeShardFiles([a1, a0], m);
  assert.throws(() => mergeShardFiles([m], out), /is not a shard's results file \(it was made without --shard; it is already a merged file\)$/);
  assert.throws(() => mergeShardFiles([a0, a1], a1), /--out '.*bad-a1\.json' is one of the shard files/);
  assert.throws(() => mergeShardFiles([a0, a1], path.join(dir, 'no', 'm.json')), /merged results file '.*m\.json': folder '.*no' does not exist/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
});

test('--shard values: I/N with 0 ≤ I < N, one clear error otherwise (before any work)', async () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.deepEqual(parseShard(' 0 / 1 '), { index: 0, count: 1 });
  const bad: [string, RegExp][] = [
    ['4/4', /^--shard 4\/4: the shard index is 0-based and must be below 4 \(0 … 3\)$/],
    ['1/0', /^--shard 1\/0: the number of shards must be an integer from 1 to/],
    ['-1/3', /^--shard must be I\/N with 0 ≤ I < N/],
    ['1', /^--shard must be I\/N/],
    ['a/b', /^--shard must be I\/N/],
    ['1/2/3', /^--shard must be I\/N/],
  ];
  for (const [v, re] of bad) assert.throws(() => parseShard(v), (e: unknown) => e instanceof UserError && re.test(e.message), v);
  const out = path.join(dir, 'never.json');
  await assert.rejects(runDataset(session, { dataset, experiment: 'macro', shard: '3/3', out }), /the shard index is 0-based/);
  assert.equal(fs.existsSync(out), false);
});

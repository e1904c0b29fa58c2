import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { partialPath, resolveRunSetup, runDataset } from '../../../src/engine/experiments/dataset';
import { runTrace } from '../../../src/engine/experiments/macro';
import { CancelledError, UserError, type ModelBackend } from '../../../src/engine/types';
import type { DatasetRunResult as DRR } from '../../../src/engine/experiments/resultTypes';
import { makeCtx, makeFixture, makeSession, tmpDir } from './fixtures';


const SUBJECTS = ['Danielle Darrieux', 'Paris', 'Apple', 'Big Ben', 'Toyota Corolla', 'Mount Fuji', 'Edwin Hubble', 'Nile'];
const RELATIONS = ['The mother tongue of {} is', '{} is located in', '{} was founded in', 'The capital city of {} is', '{} works in the field of'];

function writeDataset(dir: string, rows = 20): string {
  const data = [];
  for (let i = 0; i < rows; i++) {
    const s = SUBJECTS[i % SUBJECTS.length];
    const r = RELATIONS[i % RELATIONS.length];
    data.push({ prompt: r.replace('{}', s), subject: ' ' + s, target_true: i % 3 === 0 ? { str: ' French' } : ' English', target_false: ' x', relation: r, relation_id: 'P' + i });
  }
  data.push({ prompt: 'broken row', subject: 'nothere', target_true: ' x' });
  const f = path.join(dir, 'ds.json');
  fs.writeFileSync(f, JSON.stringify(data));
  return f;
}

const strip = (r: DRR) => ({ ...r, timing: undefined, provenance: { ...r.provenance, createdAt: '' } });

test('dataset run (macro, no filter, split): records equal single-prompt traces; aggregate; atomic file; no partial left', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 31 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 10);
  const out = path.join(dir, 'res.json');
  const ctx = makeCtx();
  const res = await runDataset(session, { dataset: ds, experiment: 'macro', windows: [2, 3], filter: false, split: true, out, chunkSize: 3 }, ctx);
  assert.equal(res.status, 'complete');
  assert.equal(res.prompts.length, 10);
  assert.equal(res.skipped.length, 1);
  assert.match(res.skipped[0].reason, /subject 'nothere' not found/);
  assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), res);
  assert.equal(fs.existsSync(partialPath(out)), false);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ds.json', 'res.json']);
  // progress in prompts
  const last = ctx.events[ctx.events.length - 1];
  assert.deepEqual([last.done, last.total], [10, 10]);
  // each record equals the single-prompt trace
  const rec = res.prompts[4];
  const tr = await runTrace(session, { prompt: rec.prompt, subject: rec.subject, target: ' English', windows: [2, 3] });
  assert.equal(tr.target.id, rec.target.id);
  for (let w = 0; w < 2; w++)
    for (const s of ['subject', 'relation', 'last'])
      rec.windows![w].curves[s].diffPct.forEach((d, i) => assert.ok(Math.abs(d - tr.windows[w].curves[s].diffPct[i]) < 1e-9));
  // aggregate = mean over prompts
  const agg = res.aggregate.windows[0].curves.subject;
  const m0 = res.prompts.reduce((a, p) => a + p.windows![0].curves.subject.diffPct[0], 0) / 10;
  assert.ok(Math.abs(agg.mean[0] - m0) < 1e-9);
  assert.ok(agg.ciLow[0] <= agg.mean[0] && agg.mean[0] <= agg.ciHigh[0]);
  assert.equal(agg.n[0], 10);
  assert.ok(res.aggregate.split);
  assert.equal(res.aggregate.split!.counts.subjectHasFirst + res.aggregate.split!.counts.subjectLacksFirst, 10);
  assert.match(res.configHash!, /^[0-9a-f]{64}$/);
  assert.match(res.dataset.sha256, /^[0-9a-f]{64}$/);
});

test('dataset run filter: a model that knows none of the facts measures nothing: one UserError, no results file', async () => {
  const fx = await makeFixture({ nLayer: 3, seed: 32 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 12);
  const out = path.join(dir, 'r.json');
  await assert.rejects(
    runDataset(session, { dataset: ds, experiment: 'micro', windows: [2], out, chunkSize: 2, checkpointSeconds: 0 }),
    (e: unknown) =>
      e instanceof UserError &&
      /^no prompt was measured: the model's clean top-1 is the target for none of the 12 prompts \(it knows 0 of 12 facts\).*--no-filter.*another|--no-filter/.test(e.message) &&
      /no results file was written/.test(e.message),
  );
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ds.json'], 'neither a results file nor a checkpoint is left');
  // without the filter every usable prompt is measured; micro categories
  const res = await runDataset(session, { dataset: ds, experiment: 'micro', windows: [2], filter: false, out });
  for (const p of res.prompts) assert.ok(p.micro && p.micro.diffPct.length === p.tokenCount);
  assert.equal(res.prompts.length, 12);
  assert.deepEqual(Object.keys(res.aggregate.windows[0].curves).sort(), ['first', 'last', 'relation', 'subject', 'subject-last']);
  // micro records keep each token's own characters, its leading space included
  assert.equal(res.prompts[0].micro!.tokens.join(''), res.prompts[0].prompt);
});

test('dataset run counts: selected = measured + filtered out + skipped; unusable rows apart; causes; schema 2', async () => {
  const fx = await makeFixture({ nLayer: 3, seed: 35 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 9);
  // rows of the file that are never selected: an empty target and a row of another format (plus writeDataset's broken row)
  const rows = JSON.parse(fs.readFileSync(ds, 'utf8'));
  rows.push({ prompt: 'Toyota is made in', subject: 'Toyota', target_true: '' }, { prompt: 'no subject here' });
  fs.writeFileSync(ds, JSON.stringify(rows));
  const out = path.join(dir, 'r.json');
  const res = await runDataset(session, { dataset: ds, experiment: 'macro', windows: [2], filter: false, out });
  const c = res.counts!;
  assert.equal(res.schemaVersion, 3);
  assert.equal(c.selected, c.measured + c.filteredOut + c.skipped);
  assert.equal(c.rows, res.dataset.rows);
  const causes = (k: string) => res.skipped.filter((x) => x.cause === k).length;
  assert.equal(causes('skipped'), c.skipped);
  assert.equal(causes('filtered'), c.filteredOut);
  assert.equal(causes('unusable'), c.unusable);
  assert.equal(c.unusable, 3, JSON.stringify(res.skipped));
  assert.equal(c.selected, 9);
  assert.equal(res.skipped.length, c.skipped + c.filteredOut + (c.unusable ?? 0));
});

test('dataset run intervals: bootstrap by default (recorded, within the data range, seeded), t on request', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 36 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 12);
  const base = { dataset: ds, experiment: 'macro' as const, windows: [2], filter: false };
  const a = await runDataset(session, { ...base, out: path.join(dir, 'a.json') });
  assert.deepEqual(a.settings.interval, { method: 'bootstrap', level: 0.95, resamples: 2000, seed: 0 });
  const b = await runDataset(session, { ...base, out: path.join(dir, 'b.json') });
  assert.deepEqual(b.aggregate, a.aggregate, 'the same seed gives the same intervals');
  const c = await runDataset(session, { ...base, ciSeed: 7, out: path.join(dir, 'c.json') });
  assert.equal(c.settings.interval!.method === 'bootstrap' && c.settings.interval!.seed, 7);
  assert.notDeepEqual(c.aggregate.windows[0].curves.subject.ciLow, a.aggregate.windows[0].curves.subject.ciLow);
  assert.equal(c.configHash, a.configHash, 'the interval is not part of the config hash');
  const t = await runDataset(session, { ...base, ci: 't', out: path.join(dir, 't.json') });
  assert.deepEqual(t.settings.interval, { method: 't', level: 0.95 });
  for (const [name, curve] of Object.entries(a.aggregate.windows[0].curves)) {
    curve.mean.forEach((m, s) => {
      const vals = a.prompts.map((p) => p.windows![0].curves[name].diffPct[s]);
      assert.ok(curve.ciLow[s] >= Math.min(...vals) - 1e-9 && curve.ciHigh[s] <= Math.max(...vals) + 1e-9, `${name}@${s} within the data`);
      assert.ok(curve.ciLow[s] <= m + 1e-9 && m <= curve.ciHigh[s] + 1e-9);
      assert.ok(curve.ciLow[s] >= -100);
      assert.equal(t.aggregate.windows[0].curves[name].mean[s], m, 'the same mean');
    });
  }
  const bad = (params: object, re: RegExp) => assert.rejects(runDataset(session, { ...base, out: path.join(dir, 'x.json'), ...params }), (e: unknown) => e instanceof UserError && re.test(e.message));
  await bad({ ci: 'normal' }, /--ci must be bootstrap or t/);
  await bad({ ciResamples: 10 }, /resamples must be an integer ≥ 100/);
  await bad({ ci: 't', ciSeed: 3 }, /go with --ci bootstrap/);
  assert.equal(fs.existsSync(path.join(dir, 'x.json')), false);
});

test('dataset run warnings: several-token targets, trailing whitespace, and a filter keeping < 5% are counted', async () => {
  const { openEngineSession, closeEngineSession } = await import('../../../src/engine/engine');
  const session = await openEngineSession(path.resolve(__dirname, '../../../models/demo'), { ep: 'cpu', cacheRoot: tmpDir('onnx') });
  try {
    const dir = tmpDir('run');
    const rows: object[] = [{ prompt: 'The capital of France is', subject: 'France', target_true: ' Paris' }];
    for (let i = 0; i < 29; i++) rows.push({ prompt: 'The capital of Germany is', subject: 'Germany', target_true: i === 0 ? ' Eiffel Tower' : ' Rome' });
    rows.push({ prompt: 'The capital of Spain is ', subject: 'Spain', target_true: ' Madrid' });
    const ds = path.join(dir, 'ds.json');
    fs.writeFileSync(ds, JSON.stringify(rows));
    const res = await runDataset(session, { dataset: ds, experiment: 'macro', windows: [2], out: path.join(dir, 'r.json') });
    const few = res.warnings!.find((w) => w.code === 'few-prompts-kept')!;
    assert.ok(few, JSON.stringify(res.warnings));
    assert.match(few.message, /^the filter kept \d+ of 31 prompts \(\d+\.\d%\).*--no-filter.*a model that knows these facts$/);
    assert.equal(few.count, res.prompts.length);
    const all = await runDataset(session, { dataset: ds, experiment: 'macro', windows: [2], filter: false, out: path.join(dir, 'all.json') });
    const multi = all.warnings!.find((w) => w.code === 'multi-token-target')!;
    assert.equal(multi.count, 1);
    assert.deepEqual(multi.indices, [1]);
    const ws = all.warnings!.find((w) => w.code === 'trailing-whitespace')!;
    assert.deepEqual(ws.indices, [30]);
    assert.equal(all.warnings!.some((w) => w.code === 'few-prompts-kept'), false, 'no filter, no such warning');
  } finally {
    await closeEngineSession(session);
  }
});

test('interrupted run: no results file, partial checkpoint present, --resume gives the same results', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 33 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 16);
  const params = { dataset: ds, experiment: 'macro' as const, windows: [2], filter: false, limit: 14, seed: 9, chunkSize: 2, checkpointSeconds: 0 };
  const full = await runDataset(session, { ...params, out: path.join(dir, 'full.json') });
  const out = path.join(dir, 'cut.json');
  // cancel after a few prompts
  const ctx = makeCtx();
  let n = 0;
  ctx.cancelled = () => ctx.events.length > 0 && ctx.events[ctx.events.length - 1].done >= 5 && ++n > 0;
  await assert.rejects(runDataset(session, { ...params, out }, ctx), CancelledError);
  assert.equal(fs.existsSync(out), false, 'no results file after an interrupted run');
  const partial = JSON.parse(fs.readFileSync(partialPath(out), 'utf8')) as DRR;
  assert.equal(partial.status, 'partial');
  assert.ok(partial.prompts.length >= 5 && partial.prompts.length < 14);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp files left');
  const resumed = await runDataset(session, { ...params, out, resume: true });
  assert.equal(fs.existsSync(partialPath(out)), false);
  assert.deepEqual(strip(resumed), strip(full));
  assert.deepEqual(strip(JSON.parse(fs.readFileSync(out, 'utf8'))), strip(full));
  assert.equal(resumed.timing!.resumed, true);
  // a different setting refuses to resume
  await runDataset(session, { ...params, out }, (() => {
    const c = makeCtx();
    c.cancelled = () => c.events.length > 1;
    return c;
  })()).catch(() => undefined);
  await assert.rejects(runDataset(session, { ...params, windows: [3], out, resume: true }), /config hash differs/);
});

test('chunk size: the backend\'s default without --chunk (8 on the CPU, more on a GPU); --resume keeps its checkpoint\'s', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 35 });
  const cpu = makeSession(fx.ref, fx.ckpt);
  // a backend declaring another default, as the GPU providers do (ortBackend.ts GPU_HINTS: 64)
  const gpuLike = Object.create(fx.ref, { hints: { value: { ...fx.ref.hints, datasetChunk: 5 } } }) as ModelBackend;
  const gpu = makeSession(gpuLike, fx.ckpt);
  const dir = tmpDir('chunk-default');
  const ds = writeDataset(dir, 16);
  const base = { dataset: ds, experiment: 'macro' as const, windows: [2], filter: false, limit: 14, seed: 9, checkpointSeconds: 0 };
  const setupOf = (session: typeof cpu, chunkSize?: number) => resolveRunSetup(session, { ...base, out: path.join(dir, 'unused.json'), chunkSize });
  assert.equal(setupOf(cpu).chunkSize, 8);
  assert.equal(setupOf(gpu).chunkSize, 5);
  assert.equal(setupOf(gpu, 3).chunkSize, 3);
  // a checkpoint made with the CPU's default resumes on a backend of another default, in its own chunks
  const full = await runDataset(cpu, { ...base, out: path.join(dir, 'full.json') });
  assert.equal(full.resume, undefined);
  const out = path.join(dir, 'cut.json');
  const ctx = makeCtx();
  ctx.cancelled = () => ctx.events.length > 0 && ctx.events[ctx.events.length - 1].done >= 8;
  await assert.rejects(runDataset(cpu, { ...base, out }, ctx), CancelledError);
  assert.equal((JSON.parse(fs.readFileSync(partialPath(out), 'utf8')) as DRR).resume!.chunkSize, 8);
  const resumed = await runDataset(gpu, { ...base, out, resume: true });
  assert.deepEqual(strip(resumed), strip(full));
});

test('dataset run bad input: missing output folder (before any work), bad dataset, window > layers, resume without partial', async () => {
  const fx = await makeFixture({ nLayer: 4, seed: 34 });
  const session = makeSession(fx.ref, fx.ckpt);
  const dir = tmpDir('run');
  const ds = writeDataset(dir, 4);
  const isUser = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message);
  await assert.rejects(
    runDataset(session, { dataset: path.join(dir, 'nope.json'), experiment: 'macro', out: path.join(dir, 'missing', 'r.json') }),
    isUser(/results file '.*r\.json': folder '.*missing' does not exist \(create it first: mkdir -p .*missing\)$/),
  );
  fs.writeFileSync(path.join(dir, 'bad.json'), 'not json');
  await assert.rejects(runDataset(session, { dataset: path.join(dir, 'bad.json'), experiment: 'macro', out: path.join(dir, 'r.json') }), isUser(/is not valid JSON/));
  await assert.rejects(runDataset(session, { dataset: ds, experiment: 'macro', windows: [9], out: path.join(dir, 'r.json') }), isUser(/^window 9 is larger than the model's 4 layers$/));
  await assert.rejects(runDataset(session, { dataset: ds, experiment: 'macro', out: path.join(dir, 'r.json'), resume: true }), isUser(/nothing to resume/));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['bad.json', 'ds.json']);
});

test('aggregate of zero prompts: every start has n = 0 and null statistics', async () => {
  const { aggregateRecords } = await import('../../../src/engine/experiments/dataset');
  const [w] = aggregateRecords([], 'macro', [2], ['subject'], 4);
  assert.deepEqual(w.starts, [0, 1, 2]);
  assert.deepEqual(w.curves.subject.n, [0, 0, 0]);
  assert.ok(w.curves.subject.mean.every((x) => Number.isNaN(x)));
  const [m] = aggregateRecords([], 'micro', [2], [], 4);
  assert.deepEqual(Object.keys(m.curves), ['first', 'subject', 'subject-last', 'relation', 'last']);
  assert.deepEqual(m.curves.first.n, [0, 0, 0]);
});

// "Compare with model…" without VS Code (src/extension/logic/compare.ts): what the added model runs so that it repeats
// the panel's result, which models are kept as they are, where a dataset comparison goes; the panel's message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { comparisonFilePath, comparisonReportName, comparisonRequest, comparisonTitle, shownModels } from '../../../src/extension/logic/compare';
import { parseWebviewMessage } from '../../../src/shared/protocol';
import { openResultsFile } from '../../../src/extension/logic/openResults';
import type { ComparisonResult, MicroResult } from '../../../src/engine/experiments/resultTypes';
import { sampleDataset, sampleMicro, sampleTrace } from '../../webview/samples';

const FIX = path.resolve('test', 'webview', 'fixtures', 'compare');
const load = <T>(f: string): T => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8')) as T;

test('the added model repeats the shown trace / micro result: prompt, subject, the same target text, windows, sets, conv', () => {
  const t = sampleTrace([9, 15]);
  t.windows.forEach((w) => (w.curves['custom:0+1'] = w.curves.subject));
  const r = comparisonRequest(t);
  assert.equal(r.method, 'trace');
  assert.deepEqual(r.params, { prompt: t.prompt, subject: t.subject, target: t.target.text, windows: [9, 15], sets: ['subject', 'relation', 'last'], conv: 'keep' });
  const m: MicroResult = { ...sampleMicro(5), provenance: { ...sampleMicro(5).provenance, conv: 'block' } };
  assert.deepEqual(comparisonRequest(m), { method: 'micro', params: { prompt: m.prompt, subject: m.subject, target: m.target.text, window: 5, conv: 'block' } });
  const models = shownModels(t);
  assert.deepEqual(models.map((x) => [x.ref, x.nLayer, x.result === t]), [[t.provenance.model.path, 24, true]]);
});

test('a dataset run: the same rows, filter, split, interval; written to the runs folder as …-compare.json', () => {
  const d = sampleDataset();
  assert.throws(() => comparisonRequest(d), /needs its results file/);
  const out = comparisonFilePath('/ws', d, new Date(Date.UTC(2026, 10, 22, 21, 4, 5)))!;
  assert.equal(out, `/ws/.mamba-explain/runs/20261122-210405-${path.basename(d.dataset.file, '.json')}-${d.experiment}-compare.json`);
  const r = comparisonRequest(d, out);
  assert.equal(r.method, 'runDataset');
  const p = r.params as { dataset: string; windows: number[]; filter: boolean; split: boolean; out: string; ci: string };
  assert.equal(p.dataset, d.dataset.file);
  assert.deepEqual(p.windows, d.settings.windows);
  assert.equal(p.filter, d.settings.filterCorrect);
  assert.equal(p.split, d.settings.split);
  assert.equal(p.out, out);
  assert.equal(comparisonFilePath('/ws', sampleTrace(), new Date()), undefined);
});

test('a comparison grows: its models keep their results and labels; names and titles', () => {
  const c = load<ComparisonResult>('run-macro.json');
  const models = shownModels(c);
  assert.deepEqual(models.map((m) => m.label), ['demo (Mamba-2)', 'demo-mamba1 (Mamba-1)', 'demo-transformer (GPT-NeoX)']);
  assert.ok(models.every((m, i) => m.result === c.models[i].result));
  const r = comparisonRequest(c, '/ws/x.json');
  assert.equal((r.params as { experiment?: string }).experiment, 'macro');
  assert.equal(comparisonReportName(c), 'knockout-compare-3-run-demo-facts-macro.html');
  assert.equal(comparisonReportName(load<ComparisonResult>('trace.json')), 'knockout-compare-2-trace-the-eiffel-tower-is-located-in-the-city.html');
  assert.equal(comparisonTitle(c), 'Compare 3: demo-facts.json (macro)');
  assert.equal((comparisonRequest(load<ComparisonResult>('trace.json')).params as { prompt?: string }).prompt, 'The Eiffel Tower is located in the city of');
});

test("the panel's compareModel message: accepted bare, refused with extra keys", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'compareModel' }), { type: 'compareModel' });
  assert.equal(parseWebviewMessage({ type: 'compareModel', model: '/etc' }), undefined);
});

test('Open Results File… reads a comparison through the validating loader (the panel shows it as one)', () => {
  const o = openResultsFile(path.join(FIX, 'run-macro.json'));
  assert.equal(o.comparison?.kind, 'comparison');
  assert.equal(o.comparison?.models.length, 3);
  assert.equal(o.result, o.comparison?.models[0].result);
  const bad = path.join(require('node:os').tmpdir(), `me-bad-compare-${process.pid}.json`);
  const c = load<ComparisonResult>('trace.json');
  fs.writeFileSync(bad, JSON.stringify({ ...c, models: [c.models[0]] }));
  try {
    assert.throws(() => openResultsFile(bad), /is not a valid 'comparison' result: its "models" is not a list of at least 2 models/);
  } finally {
    fs.rmSync(bad, { force: true });
  }
});

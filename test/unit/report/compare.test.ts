// The results loader and the standalone report on comparisons (kind 'comparison', schema 3) and on the first-position
// effect of dataset micro runs, on results made with the CLI on the two demo models (test/webview/fixtures/compare).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseResults, renderReportHtml } from '../../../src/report/index';
import { buildComparison, comparisonFigures } from '../../../src/engine/experiments/comparison';
import type { AnyResult, ComparisonResult, DatasetRunResult, TraceResult } from '../../../src/engine/experiments/resultTypes';
import { sampleTrace } from '../../webview/samples';
import { comparisonKnockoutLabel, comparisonProvenance } from '../../../webview/shared/compareFigures';
import { provenanceCaption } from '../../../webview/shared/figures';

const FIX = path.resolve('test', 'webview', 'fixtures', 'compare');
const load = <T>(f: string): T => JSON.parse(fs.readFileSync(path.join(FIX, f), 'utf8')) as T;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const svgs = (html: string) => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];

test('loader: the comparisons the CLI writes load; broken ones are one clear error naming the part', () => {
  for (const f of ['trace.json', 'micro.json', 'run-macro.json']) {
    const c = load<ComparisonResult>(f);
    const loaded = parseResults(c, f);
    assert.equal(loaded.kind, 'comparison');
    assert.equal(loaded.results.length, 1);
  }
  const c = load<ComparisonResult>('trace.json');
  const bad = (mutate: (x: any) => void, re: RegExp) => {
    const x = clone(c);
    mutate(x);
    assert.throws(() => parseResults(x, 'c.json'), (e: Error) => re.test(e.message) && !e.message.includes('\n'), re.source);
  };
  bad((x) => (x.models = x.models.slice(0, 1)), /^c\.json is not a valid 'comparison' result: its "models" is not a list of at least 2 models$/);
  bad((x) => delete x.models[1].result.windows, /^c\.json is not a valid 'comparison' result: its models\[1\]\.result is not a valid 'trace' result: its "windows" is missing/);
  bad((x) => (x.models[1].result.kind = 'micro'), /its models\[1\]\.result is of kind 'micro', not 'trace'/);
  bad((x) => (x.models[1].result.prompt = 'Another prompt'), /model 2 ran on another prompt/);
  bad((x) => (x.models[1].label = x.models[0].label), /the same label twice/);
  bad((x) => (x.experiment = 'steering'), /its "experiment" is not one of trace, micro, dataset-run/);
  bad((x) => (x.schemaVersion = 4), /made by a newer mamba-explain \(results schema 4; this version reads 1…3\)/);
  // older results still load: schema 2 and 1
  for (const v of [1, 2]) assert.equal(parseResults({ ...sampleTrace(), schemaVersion: v }, 't.json').kind, 'trace');
  assert.throws(() => parseResults({ kind: 'comparison-summary', schemaVersion: 3 }, 's.json'), /summary that `run --compare-model … --json` prints/);
});

test('report of a trace comparison: models, each model\'s tokens, one figure per window and set with one line per model on the relative depth', () => {
  const c = load<ComparisonResult>('trace.json');
  const html = renderReportHtml(c as unknown as AnyResult);
  assert.match(html, /<h1>Comparison of 2 models: macro trace<\/h1>/);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /<table class="models">[\s\S]*demo \(Mamba-2\)[\s\S]*demo-mamba1 \(Mamba-1\)/);
  assert.match(html, /The prompt in each model&apos;s tokens|The prompt in each model's tokens/);
  const figs = comparisonFigures(c);
  assert.equal(figs.length, 2 * 3);
  const charts = svgs(html).filter((s) => /Relative depth of the window start/.test(s));
  assert.equal(charts.length, figs.length, 'one figure per window and set');
  for (const s of charts) {
    assert.deepEqual([...s.matchAll(/<polyline class="series" data-series="([^"]+)"/g)].map((m) => m[1]), ['model-0', 'model-1']);
    assert.match(s, />0\.2<\/text>/, 'relative-depth ticks');
    assert.match(s, /<text class="caption"[^>]*>k = \d · (subject|relation|last) → last · demo \(Mamba-2\), demo-mamba1 \(Mamba-1\) · edge knockout/, 'footer: window first, then the models');
    assert.doesNotMatch(s, /NaN|undefined/);
  }
  // the k = 2 subject figure: model 2's points at x = ℓ / 6 of the plot's width
  assert.match(html, /Lowest — demo \(Mamba-2\) [-+]\d+\.\d% at ℓ = \d of 8 \(depth \d\.\d\d\); demo-mamba1/);
  // each model's own result, and the provenance of both
  assert.equal((html.match(/<details class="model-section">/g) ?? []).length, 2);
  assert.match(html, /<th scope="row">model 2<\/th><td>demo-mamba1 \(Mamba-1\): \/home\/user\/mamba-explain\/models\/demo-mamba1 \(Mamba-1, 8 layers/);
  assert.match(html, /<th scope="row">results schema<\/th><td>3<\/td>/);
});

test('report of a comparison of models of different depth: the x of each line is its own ℓ / (L − k)', () => {
  const t24 = sampleTrace([9]);
  const t8 = clone(t24) as TraceResult;
  t8.provenance.model = { ...t8.provenance.model, nLayer: 12, hash: 'b'.repeat(64), path: '/models/other' };
  t8.windows = [{ ...t8.windows[0], starts: [0, 1, 2, 3], curves: Object.fromEntries(Object.entries(t8.windows[0].curves).map(([k, v]) => [k, { probs: v.probs.slice(0, 4), diffPct: v.diffPct.slice(0, 4), top1: v.top1.slice(0, 4) }])) }];
  const c = buildComparison([{ ref: '/models/mamba2-130m', result: t24 }, { ref: '/models/other', result: t8 }]);
  const html = renderReportHtml(c as unknown as AnyResult);
  const s = svgs(html).find((x) => /Subject → last, window k = 9/.test(x))!;
  const pts = [...s.matchAll(/<polyline class="series" data-series="[^"]+" points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => Number(p.split(',')[0])));
  assert.equal(pts[0].length, 16);
  assert.equal(pts[1].length, 4);
  assert.equal(pts[0][0], pts[1][0], 'both start at x = 0');
  assert.equal(pts[0][15], pts[1][3], 'and end at x = 1');
  assert.ok(Math.abs(pts[1][1] - (pts[0][0] + (pts[0][15] - pts[0][0]) / 3)) < 0.02, 'ℓ = 1 of 12 − 9 at a third');
  assert.match(s, /x = ℓ \/ \(L − k\) with L = 12, 24 layers/);
});

test('report of a dataset comparison and of a micro run: coverage, bands per model, the first-position effect', () => {
  const c = load<ComparisonResult>('run-macro.json');
  const html = renderReportHtml(c as unknown as AnyResult);
  assert.match(html, /40 of 40 selected rows were measured by every model/);
  assert.match(html, /<table class="coverage">/);
  const charts = svgs(html).filter((s) => /Relative depth of the window start/.test(s));
  assert.equal(charts.length, 2 * 3);
  assert.equal((charts[0].match(/class="band"/g) ?? []).length, 3, 'a band per model');
  assert.match(html, /demo-transformer \(GPT-NeoX\)/);
  // a micro run: its first-position section (figure + table) and its heatmaps mark position 0
  const run = load<DatasetRunResult>('run-micro.json');
  const f = run.aggregate.firstPosition!;
  const one = renderReportHtml(run);
  assert.match(one, /<h3 id="first-position">First-position effect: pos 0 \(first\)<\/h3>/);
  assert.equal((one.match(/<table class="first-position">[\s\S]*?<\/table>/)![0].match(/<tr><td class="num">/g) ?? []).length, f.starts.length);
  assert.match(one, new RegExp(`All prompts \\(n = ${f.n}\\)`));
  assert.match(one, new RegExp(`Subject does not contain pos 0 \\(n = ${f.notSubject.n}\\)`));
  assert.match(one, /<rect class="marked-row" data-row="0"/);
  assert.match(one, /◂ pos 0 \(first\)/);
  // the same run twice as a comparison: the per-model first-position table
  const twice = renderReportHtml(buildComparison([{ ref: 'demo', result: run }, { ref: 'demo', result: run }]) as unknown as AnyResult);
  assert.match(twice, /First-position effect per model: pos 0 \(first\)[\s\S]*demo \(Mamba-2\) #2/);
  // a macro run has none
  assert.doesNotMatch(renderReportHtml(c.models[0].result as AnyResult), /id="first-position"/);
});

test('the knockout label of a comparison names the attention knockout for transformers, not the Mamba conv path', () => {
  const mixed = load<ComparisonResult>('run-macro.json');
  const neox = mixed.models[2].result;
  assert.equal(neox.provenance.model.arch, 'gptneox');
  const label = 'edge knockout (conv kept) for Mamba-2, Mamba-1; attention knockout for GPT-NeoX';
  assert.equal(comparisonKnockoutLabel(mixed), label);
  assert.deepEqual(comparisonProvenance(mixed, 2).find(([k]) => k === 'knockout'), ['knockout', label]);
  assert.ok(provenanceCaption(comparisonProvenance(mixed, 2)).includes(label), 'the panel figure caption');
  // transformers only: the report footers say attention knockout and nothing of a conv path
  const two = buildComparison([{ ref: 'demo-transformer', result: neox }, { ref: 'demo-transformer', result: neox }]);
  assert.equal(comparisonKnockoutLabel(two), 'attention knockout');
  const charts = svgs(renderReportHtml(two as unknown as AnyResult)).filter((s) => /Relative depth of the window start/.test(s));
  assert.ok(charts.length > 0);
  for (const s of charts) {
    assert.match(s, /<text class="caption"[^>]*>k = \d · [^<]* · demo-transformer \(GPT-NeoX\), demo-transformer \(GPT-NeoX\) #2 · attention knockout · /);
    assert.doesNotMatch(s, /conv kept/);
  }
  // Mamba models only: as before
  assert.equal(comparisonKnockoutLabel(buildComparison([{ ref: 'demo', result: mixed.models[0].result }, { ref: 'demo-mamba1', result: mixed.models[1].result }])), 'edge knockout (conv kept)');
});

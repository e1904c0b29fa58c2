import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReportHtml } from '../../../src/report/renderReport';
import { sampleDataset, sampleMicro, sampleTrace } from '../../webview/samples';

function svgs(html: string): string[] {
  return html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

function checkCommon(html: string): void {
  assert.match(html, /^<!DOCTYPE html>/);
  assert.doesNotMatch(html, /<script/i, 'no scripts');
  assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /(src|href)=["']?https?:/i, 'no remote content');
  assert.match(html, /3f9a1c07b2e4d5a6/, 'model hash in provenance');
  assert.match(html, /\/models\/mamba2-130m/);
  for (const s of svgs(html)) {
    assert.match(s, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(s, /<metadata id="provenance">/);
    // balanced tags (cheap well-formedness check)
    const open = (s.match(/<(?!\/|!)[a-zA-Z][^>]*[^/]>/g) ?? []).length;
    const close = (s.match(/<\/[a-zA-Z]+>/g) ?? []).length;
    assert.equal(open, close, 'balanced SVG tags');
    assert.doesNotMatch(s, /NaN|undefined/);
  }
}

test('trace report: figures, tokens, top-k, provenance', () => {
  const r = sampleTrace();
  const html = renderReportHtml(r);
  checkCommon(html);
  assert.equal(svgs(html).length, 2, 'one figure per window');
  assert.match(html, /Window start layer/);
  assert.match(html, /Change in target probability \(%\)/);
  assert.match(html, /Eiffel/);
  assert.match(html, /&quot; Paris&quot;/);
  assert.match(html, /0\.4213/);
  assert.match(html, /0\.0612/);
  for (const name of ['Subject', 'Relation', 'Last']) assert.ok(html.includes(`>${name}<`), name);
  // token spans per token, with role in title
  assert.equal((html.match(/class="tok"/g) ?? []).length, r.tokens.length);
  assert.match(html, /position 1, subject/);
});

test('micro report: heatmap with token labels and scale', () => {
  const html = renderReportHtml(sampleMicro());
  checkCommon(html);
  const [s] = svgs(html);
  assert.ok(s);
  assert.match(s, /class="legend-bar"/);
  assert.match(s, /1: ·E/, 'tokens show their leading space');
  assert.ok((s.match(/<rect x=/g) ?? []).length >= 11 * 20);
});

test('dataset report: CI bands per split group with counts', () => {
  const html = renderReportHtml(sampleDataset());
  checkCommon(html);
  assert.equal(svgs(html).length, 6);
  assert.match(html, /class="band"/);
  assert.match(html, /n = 60/);
  assert.match(html, /n = 120/);
  assert.match(html, /counterfact-tracing\.json/);
  assert.match(html, /1 skipped \(selected, but cannot be measured\)/);
  assert.match(html, /95% Student-t CI/, 'a schema-1 file without settings.interval used Student t');
});

test('escapes hostile text', () => {
  const r = sampleTrace([9]);
  r.prompt = '<script>alert(1)</script>';
  r.tokens[0].text = '<img src=x onerror=alert(1)>';
  const html = renderReportHtml(r);
  assert.doesNotMatch(html, /<script>alert/);
  assert.doesNotMatch(html, /<img src=x/);
});

test('dataset micro report: per-prompt heatmaps', () => {
  const ds = sampleDataset();
  const m = sampleMicro();
  ds.experiment = 'micro';
  ds.aggregate = { windows: [] };
  ds.prompts = ds.prompts.slice(0, 4).map((p) => ({ ...p, micro: { window: m.window, starts: m.starts, diffPct: m.diffPct, tokens: m.tokens.map((t) => t.text) } }));
  const html = renderReportHtml(ds);
  checkCommon(html);
  assert.equal(svgs(html).length, 3);
  assert.match(html, /Per-position knockout, first 3 prompt/);
});

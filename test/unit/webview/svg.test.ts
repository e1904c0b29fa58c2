import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, heatmapSvg, lineChartSvg, niceTicks } from '../../../webview/shared/svg';
import { DARK_THEME, LIGHT_THEME, divergingScale, parseColor, scaleColor } from '../../../webview/shared/colors';
import { aggregateHeads, attentionHeatmap, provenanceOf, scaleMatrix, traceChart } from '../../../webview/shared/figures';
import { attentionCsv, csvCell, jsonExport, macroCsv } from '../../../webview/shared/exportData';
import { sampleAttention, sampleTrace } from '../../webview/samples';

test('niceTicks covers the range with round steps', () => {
  assert.deepEqual(niceTicks(-62, 3, 6), [-70, -60, -50, -40, -30, -20, -10, 0, 10]);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.ok(niceTicks(5, 5).length >= 2);
});

test('escapeXml and csvCell', () => {
  assert.equal(escapeXml(`<a & "b" 'c'>\u0001`), '&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;\ufffd');
  assert.equal(csvCell(' Paris'), '" Paris"');
  assert.equal(csvCell('a,"b"'), '"a,""b"""');
  assert.equal(csvCell(1.5), '1.5');
  assert.equal(csvCell(NaN), '');
});

test('colour scales are diverging about zero', () => {
  const s = divergingScale(LIGHT_THEME, 50, 'x');
  assert.equal(scaleColor(s, 0), LIGHT_THEME.background);
  assert.equal(scaleColor(s, -50), LIGHT_THEME.red);
  assert.equal(scaleColor(s, 1000), LIGHT_THEME.blue);
  assert.deepEqual(parseColor('rgb(1, 2, 3)'), [1, 2, 3]);
  assert.deepEqual(parseColor('#fff'), [255, 255, 255]);
});

test('line chart SVG: axes, legend, provenance, hidden series', () => {
  const r = sampleTrace([9]);
  const spec = traceChart(r, r.windows[0], DARK_THEME);
  const svg = lineChartSvg(spec, { theme: DARK_THEME, provenance: provenanceOf(r) });
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /Window start layer/);
  assert.match(svg, /Change in target probability \(%\)/);
  assert.equal((svg.match(/class="series"/g) ?? []).length, 3);
  assert.match(svg, /<metadata id="provenance">/);
  assert.match(svg, /class="caption"[^>]*>mamba-explain 0\.1\.0/);
  assert.match(svg, /stroke-dasharray="6 4"/, 'relation dashed');
  const hidden = lineChartSvg(spec, { theme: DARK_THEME, hidden: ['relation'] });
  assert.equal((hidden.match(/class="series"/g) ?? []).length, 2);
});

test('attention: aggregation, scale modes, blocked outlines, CSV, JSON', () => {
  const p = sampleAttention(9);
  const mean = aggregateHeads(p.heads, 'mean');
  assert.ok(Math.abs(mean[3][1] - p.heads.reduce((a, h) => a + h[3][1], 0) / p.heads.length) < 1e-12);
  assert.equal(aggregateHeads(p.heads, 'max')[5][2], Math.max(...p.heads.map((h) => h[5][2])));
  const row = scaleMatrix(mean, 'row', LIGHT_THEME).values;
  assert.ok(Math.abs(row[6].slice(0, 7).reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(Number.isNaN(row[2][5]), 'non-causal cells are NaN');
  const spec = attentionHeatmap(p, 'head:1', 'signed', LIGHT_THEME);
  assert.deepEqual(spec.outlined, p.blocked!.edges);
  const svg = heatmapSvg(spec, { theme: LIGHT_THEME });
  assert.equal((svg.match(/class="blocked"/g) ?? []).length, 4);
  assert.equal(attentionHeatmap(sampleAttention(2), 'mean', 'abs', LIGHT_THEME).outlined, undefined);
  const csv = attentionCsv(p, 'mean', [['prompt', p.prompt]]);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], `# prompt: ${p.prompt}`);
  assert.equal(lines[1], 'layer,heads,row,col,row_token,col_token,value');
  assert.equal(lines.length, 2 + (11 * 12) / 2);
  const r = sampleTrace([9]);
  const mc = macroCsv(r.windows[0], provenanceOf(r)).split('\n');
  assert.ok(mc.some((l) => l.startsWith('# model hash: 3f9a')));
  const j = JSON.parse(jsonExport('macro-k9', provenanceOf(r), r.windows[0]));
  assert.deepEqual(j.data, r.windows[0]);
  assert.equal(j.provenance.provider, 'cpu');
});

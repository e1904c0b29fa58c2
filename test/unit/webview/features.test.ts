// Pure logic of the feature-knockout views (SPEC §4): protocol validation of the new messages, the group overlay,
// the free-text head / channel lists, the decay histogram and the heatmap's group means.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isFeatureGroup, parseWebviewMessage, type AttentionPayload, type FeaturesPayload } from '../../../src/shared/protocol';
import { decayThirds, logScale, parseFeatureGroups } from '../../../src/engine/experiments/features';
import {
  aggregationLabel, attentionHeatmap, attentionMatrix, datasetFeatureGroups, decayHistogram, decayLogScale, featureGroupLabel, featureGroupLegend,
  featureInfosOf, featureOverlayChart, featureSelection, featureSets, featureWindows, normalizeAggregation, parseFeatureInput, provenanceCaption,
  provenanceOf, traceFeatureGroups,
} from '../../../webview/shared/figures';
import { decayCsv, featureGroupsCsv, macroCsv } from '../../../webview/shared/exportData';
import { decayHistogramSvg, decayTickLabel, lineChartSvg, powerOfTen } from '../../../webview/shared/svg';
import { DARK_THEME } from '../../../webview/shared/colors';
import { sampleAttentionWithGroups, sampleDataset, sampleDecay, sampleFeatures, sampleFeatureTrace, sampleTrace, thirds } from '../../webview/samples';

test('rerun with feature groups and requestDecay are validated', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'rerun', windows: [9], features: ['all', 'fast', 'slow', 'fast'], featureMode: 'except' }), {
    type: 'rerun', windows: [9], features: ['all', 'fast', 'slow'], featureMode: 'except',
  });
  assert.deepEqual(parseWebviewMessage({ type: 'rerun', windows: [9], features: ['heads:3,5,8-11'] }), { type: 'rerun', windows: [9], features: ['heads:3,5,8-11'], featureMode: 'only' });
  assert.deepEqual(parseWebviewMessage({ type: 'rerun', windows: [9] }), { type: 'rerun', windows: [9] }, 'plain reruns keep their shape');
  assert.deepEqual(parseWebviewMessage({ type: 'requestDecay', layer: 3 }), { type: 'requestDecay', layer: 3 });
  const bad: unknown[] = [
    { type: 'rerun', windows: [9], featureMode: 'except' },
    { type: 'rerun', windows: [9], features: [] },
    { type: 'rerun', windows: [9], features: 'fast' },
    { type: 'rerun', windows: [9], features: ['fastest'] },
    { type: 'rerun', windows: [9], features: ['heads:'] },
    { type: 'rerun', windows: [9], features: ['heads:5-2'] },
    { type: 'rerun', windows: [9], features: ['heads:1, 2'] },
    { type: 'rerun', windows: [9], features: ['heads:-1'] },
    { type: 'rerun', windows: [9], features: ['rows:1'] },
    { type: 'rerun', windows: [9], features: [3] },
    { type: 'rerun', windows: [9], features: ['fast'], featureMode: 'all' },
    { type: 'rerun', windows: [9], features: Array.from({ length: 17 }, (_, i) => `heads:${i}`) },
    { type: 'rerun', windows: [9], features: ['heads:' + '1,'.repeat(1200) + '1'] },
    { type: 'rerun', windows: [9], features: ['fast'], extra: 1 },
    { type: 'requestDecay' }, { type: 'requestDecay', layer: -1 }, { type: 'requestDecay', layer: 1.5 }, { type: 'requestDecay', layer: '2' }, { type: 'requestDecay', layer: 1, channel: 2 },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m).slice(0, 120));
});

test('isFeatureGroup accepts exactly what the engine parses as one group', () => {
  for (const g of ['all', 'fast', 'middle', 'slow', 'heads:3', 'heads:3,5,8-11', 'channels:0-511', 'heads:4-4']) {
    assert.ok(isFeatureGroup(g), g);
    assert.deepEqual(parseFeatureGroups([g]).map((x) => x.name), [g]);
  }
  for (const g of ['', 'Fast', 'heads', 'heads:', 'heads:a', 'heads:3-1', 'heads:3,', 'channels:1 2', 'all,fast']) assert.equal(isFeatureGroup(g), false, g);
});

test('parseFeatureInput: lists for the model unit, spaces removed, range-checked when the count is known', () => {
  assert.deepEqual(parseFeatureInput('', 'head'), { ok: true, groups: [] });
  assert.deepEqual(parseFeatureInput(' heads: 3, 5 ,8-11 ', 'head'), { ok: true, groups: ['heads:3,5,8-11'] });
  assert.deepEqual(parseFeatureInput('0-3; heads:7', 'head'), { ok: true, groups: ['heads:0-3', 'heads:7'] });
  assert.deepEqual(parseFeatureInput('heads:1heads:2', 'head'), { ok: true, groups: ['heads:1', 'heads:2'] });
  assert.deepEqual(parseFeatureInput('10-20', 'channel', 512), { ok: true, groups: ['channels:10-20'] });
  const no = (r: ReturnType<typeof parseFeatureInput>) => (r.ok ? '' : r.message);
  assert.match(no(parseFeatureInput('channels:1', 'head')), /has heads: write heads:LIST/);
  assert.match(no(parseFeatureInput('heads:1', 'channel')), /has channels/);
  assert.match(no(parseFeatureInput('heads:5-2', 'head')), /empty/);
  assert.match(no(parseFeatureInput('heads:x', 'head')), /not a head list/);
  assert.match(no(parseFeatureInput('heads:3,24', 'head', 24)), /Head 24 is out of range: the model has heads 0–23/);
  for (const t of ['heads:3,5,8-11', '0-3; heads:7']) {
    const r = parseFeatureInput(t, 'head');
    assert.ok(r.ok && r.groups.every(isFeatureGroup));
  }
  assert.deepEqual(featureSelection(['slow', 'all'], ['heads:1', 'heads:1']), ['all', 'slow', 'heads:1', 'heads:1']);
  assert.deepEqual(featureSelection(new Set(['fast']), []), ['fast']);
});

test('the groups of a trace: several groups, one group, none', () => {
  const r = sampleFeatureTrace('except', ['all', 'fast', 'slow'], [9, 15]);
  const g = traceFeatureGroups(r)!;
  assert.deepEqual(g.map((x) => [x.features, x.mode]), [['all', 'except'], ['fast', 'except'], ['slow', 'except']]);
  assert.deepEqual(g[1].windows[1].curves.subject.y, r.groups![1].windows[1].curves.subject.diffPct);
  assert.deepEqual(featureWindows(g), [9, 15]);
  assert.deepEqual(featureSets(g, 9), ['subject', 'relation', 'last']);
  const one = sampleFeatureTrace('only', ['heads:3,5'], [9]);
  assert.deepEqual(traceFeatureGroups(one)!.map((x) => x.features), ['heads:3,5']);
  assert.equal(traceFeatureGroups(sampleTrace()), undefined);
  assert.deepEqual(featureInfosOf(r), [{ features: 'all', mode: 'except' }, { features: 'fast', mode: 'except' }, { features: 'slow', mode: 'except' }]);
  assert.equal(featureInfosOf(sampleTrace()), undefined);
});

test('the overlay: one line per group, legend names group and mode, the subtitle says the mode; exports carry the groups', () => {
  const r = sampleFeatureTrace('except');
  const g = traceFeatureGroups(r)!;
  const spec = featureOverlayChart(g, 9, 'subject', DARK_THEME, { target: ' Paris' })!;
  assert.equal(spec.id, 'features-k9-subject');
  assert.equal(spec.title, 'Feature knockout, subject → last, window k = 9');
  assert.match(spec.subtitle!, /^Mode except: the edges are cut in every feature but the group's .* · target " Paris"$/);
  assert.deepEqual(spec.series.map((s) => s.label), ['All features (unrestricted)', 'Fast decay (except)', 'Slow decay (except)']);
  assert.equal(new Set(spec.series.map((s) => s.color)).size, 3);
  assert.equal(new Set(spec.series.map((s) => JSON.stringify(s.dash ?? null))).size, 3);
  assert.equal(featureOverlayChart(g, 4, 'subject', DARK_THEME), undefined, 'no such window');
  assert.equal(featureGroupLabel('channels:0-9'), 'Channels 0-9');
  assert.equal(featureGroupLegend({ features: 'middle', mode: 'only' }), 'Middle decay (only)');
  const svg = lineChartSvg(spec, { theme: DARK_THEME });
  assert.equal((svg.match(/class="series"/g) ?? []).length, 3);
  assert.ok(svg.includes('>Fast decay (except)</text>'));
  // long legend labels widen the legend column
  const long = featureOverlayChart(traceFeatureGroups(sampleFeatureTrace('except', ['heads:0,2,4,6,8,10,12,14'], [9]))!, 9, 'subject', DARK_THEME)!;
  const x = Number(/<g class="legend"[^>]*>.*?<line x1="([\d.]+)"/.exec(lineChartSvg(long, { theme: DARK_THEME }))![1]);
  assert.ok(x + 34 + 'Heads 0,2,4,6,8,10,12,14 (except)'.length * 6.4 <= 760 + 1, `legend fits (${x})`);
  // CSV of every group; main CSV with the group's name
  const prov = provenanceOf(r);
  const csv = featureGroupsCsv(g, 9, prov);
  assert.ok(csv.includes('# feature groups: all, fast, slow') && csv.includes('# feature mode: except'));
  assert.equal(csv.split('\n').filter((l) => l && !l.startsWith('#')).length, 1 + 3 * 3 * 16);
  assert.ok(macroCsv(r.groups![2].windows[0], prov, { features: 'slow', mode: 'except' }).includes('\n9,slow,except,0,subject,'));
  assert.ok(!macroCsv(sampleTrace().windows[0], provenanceOf(sampleTrace())).includes('feature'), 'plain traces keep their CSV');
  assert.match(provenanceCaption(prov), /features all, fast, slow \(except\)/);
  // mixed modes are named as such
  const mixed = [...g.slice(0, 2), { ...g[2], mode: 'only' as const }];
  assert.match(featureOverlayChart(mixed, 9, 'subject', DARK_THEME)!.subtitle!, /^Mode modes except \/ only/);
});

test('dataset runs with aggregate.groups are read tolerantly (bands kept, junk skipped)', () => {
  const ds = sampleDataset();
  (ds.aggregate as any).groups = [{ features: 'all', mode: 'except', windows: ds.aggregate.windows }, { features: 'slow', mode: 'except', windows: ds.aggregate.windows }, { nope: true }, null];
  const g = datasetFeatureGroups(ds)!;
  assert.deepEqual(g.map((x) => x.features), ['all', 'slow']);
  assert.ok(g[0].windows[0].curves.subject.band);
  const spec = featureOverlayChart(g, 9, 'subject', DARK_THEME, { n: 180 })!;
  assert.match(spec.subtitle!, /n = 180 · shaded: 95% CI/);
  assert.ok(featureGroupsCsv(g, 9, []).includes('mean_diff_pct,ci_low,ci_high'));
  assert.equal(datasetFeatureGroups(sampleDataset()), undefined);
});

test('decay thirds and log scale agree with the engine', () => {
  for (const [layer, unit] of [[0, 'head'], [5, 'head'], [1, 'channel']] as const) {
    const d = sampleDecay(layer, unit);
    const e = decayThirds(d.scores);
    assert.deepEqual([d.fast, d.middle, d.slow], [e.fast, e.middle, e.slow]);
    assert.equal(decayLogScale(d.scores), logScale(d.scores));
  }
  assert.equal(decayLogScale([0.5, 0.6]), false);
  assert.equal(decayLogScale([1e-6, 0.3]), true);
  assert.deepEqual(thirds([1, 1, 1, 1]), { scores: [1, 1, 1, 1], fast: [0], middle: [1, 2], slow: [3] }, 'ties by index');
});

test('decay histogram: counts, stacked groups, shaded regions between the thirds, log scale for heads', () => {
  const p = sampleFeatures(3);
  const h = decayHistogram(p);
  assert.equal(h.log, true);
  assert.equal(h.id, 'decay-L3');
  assert.deepEqual(h.regions.map((r) => [r.group, r.count]), [['fast', 8], ['middle', 8], ['slow', 8]]);
  const total = (g: 'fast' | 'middle' | 'slow') => h.bins.reduce((a, b) => a + b.counts[g], 0);
  assert.deepEqual([total('fast'), total('middle'), total('slow')], [8, 8, 8]);
  assert.deepEqual(h.bins.flatMap((b) => b.units.fast).sort((a, b) => a - b), p.decay.fast);
  // bins cover the data; regions tile the axis; boundaries lie between the groups' scores
  const v = p.decay.scores.map(Math.log10);
  assert.ok(h.x0 <= Math.min(...v) && h.x1 > Math.max(...v));
  assert.equal(h.regions[0].from, h.x0);
  assert.equal(h.regions[2].to, h.x1);
  assert.equal(h.boundaries.length, 2);
  assert.ok(Math.max(...p.decay.fast.map((u) => v[u])) <= h.boundaries[0] && h.boundaries[0] <= Math.min(...p.decay.middle.map((u) => v[u])));
  assert.ok(Math.max(...p.decay.middle.map((u) => v[u])) <= h.boundaries[1] && h.boundaries[1] <= Math.min(...p.decay.slow.map((u) => v[u])));
  assert.equal(h.fastMax, Math.max(...p.decay.fast.map((u) => p.decay.scores[u])));
  assert.match(h.subtitle, /fast 8 · middle 8 · slow 8 · fast ≤ \d\.\d{3}e-\d+, slow ≥ .* · log scale/);
  assert.match(h.xLabel, /log₁₀ scale/);
  // channels: linear, thirds of 512
  const c = decayHistogram(sampleFeatures(1, 'channel'));
  assert.equal(c.log, false);
  assert.deepEqual(c.regions.map((r) => r.count), [170, 172, 170]);
  assert.ok(c.bins.length >= 20 && c.bins.length <= 80, `${c.bins.length} bins`);
  // degenerate layers: all scores equal, fewer than three features
  const flat: FeaturesPayload = { unit: 'head', count: 3, nLayers: 1, layer: 0, decay: thirds([0.5, 0.5, 0.5]) };
  const hf = decayHistogram(flat);
  assert.ok(hf.x1 > hf.x0);
  assert.equal(hf.bins.reduce((a, b) => a + b.counts.fast + b.counts.middle + b.counts.slow, 0), 3);
  const two: FeaturesPayload = { unit: 'head', count: 2, nLayers: 1, layer: 0, decay: thirds([0.1, 0.2]) };
  assert.deepEqual(decayHistogram(two).regions.map((r) => r.group), ['middle'], 'n // 3 = 0: everything is middle');
  assert.deepEqual(decayHistogram(two).boundaries, []);
});

test('decay histogram SVG and CSV', () => {
  const p = sampleFeatures(3);
  const svg = decayHistogramSvg(decayHistogram(p), { theme: DARK_THEME, provenance: [['tool', 'mamba-explain test']] });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((svg.match(/class="region"/g) ?? []).length, 3);
  assert.equal((svg.match(/class="boundary"/g) ?? []).length, 2);
  assert.ok(svg.includes('>fast · 8</text>'));
  assert.match(svg, />10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]</);
  assert.ok(svg.includes('class="caption"'));
  const bare = decayHistogramSvg(decayHistogram(p), { theme: DARK_THEME, provenance: [['tool', 'x']], bare: true });
  assert.ok(!bare.includes('class="caption"') && !bare.includes('font-size="15"'), 'bare: no title or caption');
  assert.equal(powerOfTen(-7), '10⁻⁷');
  assert.equal(powerOfTen(0), '10⁰');
  assert.equal(decayTickLabel(-3, true), '10⁻³');
  assert.equal(decayTickLabel(0.55, false), '0.55');
  const csv = decayCsv(p, [['model', '/m']]);
  const lines = csv.trim().split('\n');
  assert.equal(lines[0], '# model: /m');
  assert.equal(lines[1], 'layer,unit,index,decay_score,group');
  assert.equal(lines.length, 2 + 24);
  assert.equal(lines.filter((l) => l.endsWith(',slow')).length, 8);
});

test('heatmap: group aggregations take the host’s group means; without them they fall back to the mean', () => {
  const p = sampleAttentionWithGroups(9);
  assert.deepEqual(attentionMatrix(p, 'group:fast'), p.groups!.fast.mean);
  assert.equal(normalizeAggregation('group:slow', p), 'group:slow');
  const plain: AttentionPayload = { ...p, groups: undefined };
  assert.equal(normalizeAggregation('group:slow', plain), 'mean');
  assert.equal(attentionMatrix(plain, 'group:slow'), undefined);
  assert.equal(aggregationLabel('group:fast', 'head', undefined, 2), 'mean over 2 fast heads');
  assert.equal(aggregationLabel('group:middle', 'channel', 512, 172), 'mean α over 172 middle channels');
  const spec = attentionHeatmap(p, 'group:slow', 'signed', DARK_THEME);
  assert.match(spec.title, /\(mean over \d slow heads\)$/);
  assert.ok(spec.subtitle!.includes(`slow heads: ${p.groups!.slow.units!.join(', ')}`));
  assert.equal(spec.id, 'attention-L9-groupslow-signed');
  // the mean over a group is the mean of its heads
  const u = p.groups!.middle.units!;
  const want = p.heads[0].map((row, i) => row.map((_, j) => u.reduce((a, h) => a + p.heads[h][i][j], 0) / u.length));
  attentionMatrix(p, 'group:middle')!.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - want[i][j]) < 1e-12)));
});

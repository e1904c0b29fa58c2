// The Steering view's pure logic and messages: channel lists, scales, request ids, the figure models, exports and
// the validation of the new webview → host messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  barChartSvg, continuationCsv, continuationRows, distributionCsv, distributionRows, distributionSvg, effectiveRankChart, effectiveRankCsv, firstDivergence,
  formatChannels, formatPercent, isLogDistribution, leaveOneOutChart, parseChannels, parseScales, RequestIds, steerText, sweepChart, sweepCsv,
} from '../../../webview/shared/steering';
import { DARK_THEME } from '../../../webview/shared/colors';
import { parseWebviewMessage } from '../../../src/shared/protocol';
import { fittingPresets, steerParam, steeringArgs } from '../../../src/extension/logic/steering';
import { STEER_PRESETS } from '../../../src/engine/interventions/steering';

const FIX = join(__dirname, '..', '..', 'webview', 'fixtures', 'steering');
const load = (f: string) => JSON.parse(readFileSync(join(FIX, f), 'utf8'));

test('parseChannels: lists, ranges, spaces; out of range and malformed are errors', () => {
  assert.deepEqual(parseChannels('4,38,84', 768), { ok: true, channels: [4, 38, 84] });
  assert.deepEqual(parseChannels(' 10-12, 4 ,11', 768), { ok: true, channels: [4, 10, 11, 12] });
  assert.equal(parseChannels('0-63', 256).ok && (parseChannels('0-63', 256) as any).channels.length, 64);
  for (const bad of ['', '4,,5', 'a', '5-3', '1.5', '-3']) assert.equal(parseChannels(bad, 768).ok, false, bad);
  const r = parseChannels('255,256', 256);
  assert.equal(r.ok, false);
  assert.match((r as any).message, /0\.\.255/);
});

test('formatChannels writes ranges and round-trips through parseChannels', () => {
  assert.equal(formatChannels([0, 1, 2, 3, 7]), '0-3,7');
  assert.equal(formatChannels([5, 4, 9, 10]), '4,5,9,10');
  assert.equal(formatChannels(STEER_PRESETS['mamba-130m'].channels), '4,38,84,94,163,171,268,363,401,497,564,568,582,654,659,686');
  for (const xs of [[0], [1, 2, 3, 4, 100, 101, 200], Array.from({ length: 64 }, (_, i) => i * 2)]) assert.deepEqual((parseChannels(formatChannels(xs), 1000) as any).channels, xs);
  assert.equal(steerText({ layer: 20, channels: [4, 38, 84], scale: 5 }), '20:4,38,84:5');
});

test('parseScales sorts and dedupes; rejects non-numbers and huge values', () => {
  assert.deepEqual(parseScales('10, 0, 1 1 2.5'), { ok: true, scales: [0, 1, 2.5, 10] });
  assert.deepEqual(parseScales('-1,.5'), { ok: true, scales: [-1, 0.5] });
  for (const bad of ['', 'x', '1,2,abc', '1e9', 'Infinity']) assert.equal(parseScales(bad).ok, false, bad);
});

test('RequestIds: only the newest id is accepted', () => {
  const ids = new RequestIds(100);
  const a = ids.next();
  const b = ids.next();
  assert.ok(b > a);
  assert.equal(ids.accept(a), false);
  assert.equal(ids.accept(b), true);
});

test('distributionRows: the union of both top-k, by steered probability; unknown entries marked', () => {
  const rows = distributionRows(
    [{ id: 1, text: ' A', prob: 0.6 }, { id: 2, text: ' B', prob: 0.3 }],
    [{ id: 2, text: ' B', prob: 0.5 }, { id: 3, text: ' C', prob: 0.2 }],
  );
  assert.deepEqual(rows.map((r) => r.id), [2, 3, 1]);
  assert.equal(rows[1].cleanRank, undefined);
  assert.equal(rows[2].steeredRank, undefined);
  assert.equal(isLogDistribution(rows), false);
  const pc = load('predict-clean.json');
  const ps = load('predict-steered.json');
  const real = distributionRows(pc.top, ps.top);
  assert.equal(isLogDistribution(real), true, 'a peaked top-1 gets a log axis');
  const csv = distributionCsv(real, { layer: 6, channels: [0, 1], scale: 8 }, [['tool', 'mamba-explain test']]);
  assert.match(csv, /^# tool: mamba-explain test\n# steer: 6:0,1:8\ntoken_id,token,clean_prob,clean_rank,steered_prob,steered_rank\n/);
  assert.equal(csv.trim().split('\n').length, 3 + real.length);
  const svg = distributionSvg(real, { layer: 6, channels: [0, 1], scale: 8 }, { theme: DARK_THEME, provenance: [['tool', 'mamba-explain test']] });
  assert.equal((svg.match(/class="token-row"/g) ?? []).length, real.length);
  assert.ok(!/style=/.test(svg), 'no style attributes (strict CSP)');
  assert.equal(formatPercent(0.9007), '90.1%');
  assert.equal(formatPercent(0.00015), '0.015%');
});

test('continuationRows and the continuation CSV', () => {
  const g = load('generate.json');
  const rows = continuationRows(g);
  assert.equal(rows.length, 12);
  assert.equal(firstDivergence(rows), 1);
  assert.equal(rows[0].clean!.text, ' Apple');
  assert.ok(rows[0].clean!.prob > 0.5);
  const csv = continuationCsv(g, { layer: 6, channels: [0], scale: 8 }, []);
  assert.equal(csv.trim().split('\n').filter((l) => /^(clean|steered),/.test(l)).length, 24);
});

test('effective-rank, sweep and leave-one-out charts from the engine results', () => {
  const b = load('bottlenecks.json');
  const spec = effectiveRankChart(b, DARK_THEME, 6);
  assert.equal(spec.items.length, 8);
  assert.equal(spec.items.find((i) => i.outline)!.key, '6');
  assert.equal(spec.items[b.bottleneck].color, DARK_THEME.orange);
  assert.equal((barChartSvg(spec, { theme: DARK_THEME }).match(/class="bar"/g) ?? []).length, 8);
  const csv = effectiveRankCsv(b, []);
  assert.equal(csv.split('\n').filter((l) => l.startsWith('layer,')).length, 8);
  assert.equal(csv.split('\n').filter((l) => l.startsWith('channel,')).length, b.channels.length);
  const s = load('steer-sweep.json');
  const acc = sweepChart(s, 'accuracy', DARK_THEME);
  const lp = sweepChart(s, 'logprob', DARK_THEME);
  assert.deepEqual(acc.items.map((i) => i.key), s.scales.map((x: any) => String(x.scale)));
  assert.equal(lp.items[6].low, s.scales[6].logprob.low);
  const loo = leaveOneOutChart(s, 20, DARK_THEME)!;
  assert.equal(loo.items.length, s.channels.length);
  assert.ok(loo.items.every((it, i) => i === 0 || loo.items[i - 1].value >= it.value), 'highest impact first');
  assert.equal(leaveOneOutChart(s, 1, DARK_THEME), undefined, 'no leave-one-out at scale 1');
  const scsv = sweepCsv(s, []);
  assert.equal(scsv.split('\n').filter((l) => l.startsWith('scale,')).length, 2 * s.scales.length);
  assert.equal(scsv.split('\n').filter((l) => l.startsWith('leave-one-out,')).length, s.leaveOneOut.length * s.channels.length);
});

test("protocol: 'steer' is validated and normalised", () => {
  const ok = { type: 'steer', requestId: 7, prompt: 'Beats Music is owned by', layer: 6, channels: [3, 1, 1], scale: 2.5, maxTokens: 12, top: 8 };
  assert.deepEqual(parseWebviewMessage(ok), { ...ok, channels: [1, 3] });
  for (const bad of [
    { ...ok, requestId: -1 }, { ...ok, requestId: 1.5 }, { ...ok, prompt: '' }, { ...ok, prompt: '   ' }, { ...ok, prompt: 'x'.repeat(4001) }, { ...ok, layer: -1 },
    { ...ok, channels: [] }, { ...ok, channels: [1.5] }, { ...ok, channels: 'all' }, { ...ok, scale: NaN }, { ...ok, scale: Infinity }, { ...ok, scale: 1e6 }, { ...ok, scale: '2' },
    { ...ok, maxTokens: 257 }, { ...ok, top: 0 }, { ...ok, extra: 1 }, { type: 'steer' },
  ]) assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad).slice(0, 80));
});

test("protocol: 'findBottleneck', 'sweepScales', 'cancel', 'openSteering', ready from the steering view", () => {
  assert.deepEqual(parseWebviewMessage({ type: 'findBottleneck' }), { type: 'findBottleneck' });
  assert.deepEqual(parseWebviewMessage({ type: 'findBottleneck', layer: 3, texts: 40, file: '/c.txt' }), { type: 'findBottleneck', layer: 3, texts: 40, file: '/c.txt' });
  for (const bad of [{ type: 'findBottleneck', texts: 0 }, { type: 'findBottleneck', file: '' }, { type: 'findBottleneck', file: 'a\0b' }, { type: 'findBottleneck', corpus: 'x' }]) assert.equal(parseWebviewMessage(bad), undefined);
  const sw = { type: 'sweepScales', layer: 6, channels: [2, 0], scales: [5, 0, 1, 1], metric: 'logprob', leaveOneOut: true };
  assert.deepEqual(parseWebviewMessage(sw), { ...sw, channels: [0, 2], scales: [0, 1, 5] });
  assert.deepEqual(parseWebviewMessage({ ...sw, limit: 40 }), { ...sw, channels: [0, 2], scales: [0, 1, 5], limit: 40 });
  for (const bad of [{ ...sw, scales: [] }, { ...sw, scales: [NaN] }, { ...sw, metric: 'f1' }, { ...sw, leaveOneOut: 'yes' }, { ...sw, limit: 0 }, { ...sw, channels: [] }, { ...sw, scales: Array(65).fill(1) }]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad).slice(0, 80));
  }
  assert.deepEqual(parseWebviewMessage({ type: 'cancel' }), { type: 'cancel' });
  assert.equal(parseWebviewMessage({ type: 'cancel', now: true }), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'openSteering', prompt: 'p' }), { type: 'openSteering', prompt: 'p' });
  assert.equal(parseWebviewMessage({ type: 'openSteering', prompt: 3 }), undefined);
  assert.deepEqual(parseWebviewMessage({ type: 'ready', view: 'steering' }), { type: 'ready', view: 'steering' });
});

test('host helpers: steer param, fitting presets, command arguments', () => {
  assert.deepEqual(steerParam({ layer: 2, channels: [1, 4], scale: 3 }), [{ layer: 2, channels: [1, 4], scale: 3 }]);
  assert.deepEqual(fittingPresets(STEER_PRESETS, 8, 256), [], 'the mamba-130m preset does not fit the demo model');
  assert.deepEqual(fittingPresets(STEER_PRESETS, 24, 768).map((p) => p.name), ['mamba-130m']);
  assert.deepEqual(steeringArgs({ prompt: 'p', layer: 3, channels: [5, 1, 5], scale: 2, maxTokens: 4, junk: 1 }), { prompt: 'p', layer: 3, channels: [1, 5], scale: 2, maxTokens: 4 });
  assert.deepEqual(steeringArgs({ layer: -1, channels: [], scale: NaN, maxTokens: 1000 }), {});
  assert.deepEqual(steeringArgs(undefined), {});
});

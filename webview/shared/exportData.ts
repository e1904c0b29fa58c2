// CSV and JSON exports of the figures' data, with a provenance block. PURE: no DOM.
import type { AggregateWindow, MacroWindow, MicroResult, TokenInfo } from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload, FeaturesPayload, FeatureMode } from '../../src/shared/protocol';
import { DECAY_GROUPS } from '../../src/shared/protocol';
import type { Aggregation, FeatureGroupCurves, ProvenanceEntries, SplitGroup } from './figures';
import { attentionMatrix, attentionUnit, channelOf, groupOf, payloadAggregationLabel } from './figures';

export function csvCell(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n\r]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function provenanceComments(prov: ProvenanceEntries): string[] {
  return prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`);
}

function csv(prov: ProvenanceEntries, header: string[], rows: unknown[][]): string {
  return [...provenanceComments(prov), header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

/** The curves of one window; with `group` (a feature knockout), each row also names the feature group and mode. */
export function macroCsv(w: MacroWindow, prov: ProvenanceEntries, group?: { features: string; mode: FeatureMode }): string {
  const rows: unknown[][] = [];
  for (const [set, c] of Object.entries(w.curves)) w.starts.forEach((s, i) => rows.push([w.window, ...(group ? [group.features, group.mode] : []), s, set, c.probs[i], c.diffPct[i], c.top1[i]]));
  return csv(prov, ['window', ...(group ? ['feature_group', 'feature_mode'] : []), 'start_layer', 'source_set', 'prob', 'diff_pct', 'target_top1'], rows);
}

/**
 * Every feature group's curves of window k (all source sets): a trace's p′, diff% and top-1, or a dataset run's
 * mean with its interval.
 */
export function featureGroupsCsv(groups: FeatureGroupCurves[], window: number, prov: ProvenanceEntries): string {
  const banded = groups.some((g) => Object.values(g.windows.find((w) => w.window === window)?.curves ?? {}).some((c) => c.band));
  const rows: unknown[][] = [];
  for (const g of groups) {
    const w = g.windows.find((x) => x.window === window);
    if (!w) continue;
    for (const [set, c] of Object.entries(w.curves)) {
      w.starts.forEach((s, i) => rows.push(banded ? [window, g.features, g.mode, set, s, c.y[i], c.band?.low[i], c.band?.high[i]] : [window, g.features, g.mode, set, s, c.probs?.[i], c.y[i], c.top1?.[i]]));
    }
  }
  const header = banded
    ? ['window', 'feature_group', 'feature_mode', 'source_set', 'start_layer', 'mean_diff_pct', 'ci_low', 'ci_high']
    : ['window', 'feature_group', 'feature_mode', 'source_set', 'start_layer', 'prob', 'diff_pct', 'target_top1'];
  return csv(prov, header, rows);
}

/** One layer's decay scores: a row per feature with its third. */
export function decayCsv(p: FeaturesPayload, prov: ProvenanceEntries): string {
  const group = new Array<string>(p.decay.scores.length).fill('');
  for (const g of DECAY_GROUPS) for (const u of p.decay[g]) group[u] = g;
  const rows = p.decay.scores.map((s, u) => [p.layer, p.unit, u, s, group[u]]);
  return csv(prov, ['layer', 'unit', 'index', 'decay_score', 'group'], rows);
}

export function datasetCsv(ws: AggregateWindow[], group: SplitGroup, prov: ProvenanceEntries): string {
  const rows: unknown[][] = [];
  for (const w of ws) for (const [set, c] of Object.entries(w.curves)) w.starts.forEach((s, i) => rows.push([w.window, group, set, s, c.mean[i], c.ciLow[i], c.ciHigh[i], c.accuracy[i], c.n[i]]));
  return csv(prov, ['window', 'group', 'source_set', 'start_layer', 'mean_diff_pct', 'ci_low', 'ci_high', 'accuracy', 'n'], rows);
}

export function microCsv(r: Pick<MicroResult, 'window' | 'starts' | 'diffPct'> & { probs?: number[][]; tokens: { text: string; role?: TokenInfo['role'] }[] }, prov: ProvenanceEntries): string {
  const rows: unknown[][] = [];
  r.diffPct.forEach((row, p) => row.forEach((d, s) => rows.push([r.window, r.starts[s], p, r.tokens[p]?.text, r.tokens[p]?.role, r.probs?.[p]?.[s], d])));
  return csv(prov, ['window', 'start_layer', 'position', 'token', 'role', 'prob', 'diff_pct'], rows);
}

/**
 * The shown matrix as rows (layer, aggregation, row, col, tokens, value). Mamba-2: the column is `heads` (mean,
 * max, head:h); channel models: `aggregation` (mean = mean α over all channels, maxAbs = max |α| over all
 * channels, channel:c), with the aggregation spelled out in a provenance comment when `prov` lacks it.
 */
export function attentionCsv(p: AttentionPayload, agg: Aggregation, prov: ProvenanceEntries): string {
  const channel = attentionUnit(p) === 'channel';
  const m = attentionMatrix(p, agg) ?? [];
  const rows: unknown[][] = [];
  m.forEach((row, i) => row.forEach((v, j) => { if (j <= i) rows.push([p.layer, agg, i, j, p.tokens[i]?.text, p.tokens[j]?.text, v]); }));
  const named = channel || groupOf(agg) !== undefined;
  const withAgg: ProvenanceEntries = !named || prov.some(([k]) => k === 'aggregation') ? prov : [...prov, ['aggregation', payloadAggregationLabel(p, agg)]];
  if (!channel) return csv(withAgg, ['layer', 'heads', 'row', 'col', 'row_token', 'col_token', 'value'], rows);
  return csv(withAgg, ['layer', 'aggregation', 'row', 'col', 'row_token', 'col_token', 'value'], rows);
}

/** The data block of an attention JSON export (Mamba-2 keeps its original shape). */
export function attentionJsonData(p: AttentionPayload, agg: Aggregation): Record<string, unknown> {
  const g = groupOf(agg);
  const group = g && p.groups?.[g] ? { group: { name: g, count: p.groups[g].count, ...(p.groups[g].units ? { units: p.groups[g].units } : {}) } } : {};
  if (attentionUnit(p) !== 'channel') {
    return { layer: p.layer, aggregation: agg, ...(g ? { aggregationLabel: payloadAggregationLabel(p, agg), ...group } : {}), tokens: p.tokens, matrix: attentionMatrix(p, agg) ?? [], blocked: p.blocked };
  }
  const ch = channelOf(agg);
  return {
    layer: p.layer,
    unit: 'channel',
    aggregation: agg,
    aggregationLabel: payloadAggregationLabel(p, agg),
    channels: p.channels?.count ?? 0,
    ...(ch !== undefined ? { channel: ch } : {}),
    ...group,
    tokens: p.tokens,
    matrix: attentionMatrix(p, agg) ?? [],
    blocked: p.blocked,
  };
}

export interface JsonExport<T> {
  format: 'mamba-explain-figure';
  version: 1;
  figure: string;
  provenance: Record<string, string>;
  data: T;
}

export function jsonExport<T>(figure: string, prov: ProvenanceEntries, data: T): string {
  const doc: JsonExport<T> = { format: 'mamba-explain-figure', version: 1, figure, provenance: Object.fromEntries(prov), data };
  return JSON.stringify(doc, null, 2) + '\n';
}

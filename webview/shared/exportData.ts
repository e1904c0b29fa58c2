// CSV and JSON exports of the figures' data, with a provenance block. PURE: no DOM.
import type { AggregateWindow, MacroWindow, MicroResult, TokenInfo } from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload } from '../../src/shared/protocol';
import type { Aggregation, ProvenanceEntries, SplitGroup } from './figures';
import { aggregateHeads, aggregationLabel, attentionMatrix, attentionUnit, channelOf } from './figures';

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

export function macroCsv(w: MacroWindow, prov: ProvenanceEntries): string {
  const rows: unknown[][] = [];
  for (const [set, c] of Object.entries(w.curves)) w.starts.forEach((s, i) => rows.push([w.window, s, set, c.probs[i], c.diffPct[i], c.top1[i]]));
  return csv(prov, ['window', 'start_layer', 'source_set', 'prob', 'diff_pct', 'target_top1'], rows);
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
  const m = channel ? attentionMatrix(p, agg) ?? [] : aggregateHeads(p.heads, agg);
  const rows: unknown[][] = [];
  m.forEach((row, i) => row.forEach((v, j) => { if (j <= i) rows.push([p.layer, agg, i, j, p.tokens[i]?.text, p.tokens[j]?.text, v]); }));
  if (!channel) return csv(prov, ['layer', 'heads', 'row', 'col', 'row_token', 'col_token', 'value'], rows);
  const withAgg: ProvenanceEntries = prov.some(([k]) => k === 'aggregation') ? prov : [...prov, ['aggregation', aggregationLabel(agg, 'channel', p.channels?.count)]];
  return csv(withAgg, ['layer', 'aggregation', 'row', 'col', 'row_token', 'col_token', 'value'], rows);
}

/** The data block of an attention JSON export (Mamba-2 keeps its original shape). */
export function attentionJsonData(p: AttentionPayload, agg: Aggregation): Record<string, unknown> {
  if (attentionUnit(p) !== 'channel') return { layer: p.layer, aggregation: agg, tokens: p.tokens, matrix: aggregateHeads(p.heads, agg), blocked: p.blocked };
  const ch = channelOf(agg);
  return {
    layer: p.layer,
    unit: 'channel',
    aggregation: agg,
    aggregationLabel: aggregationLabel(agg, 'channel', p.channels?.count),
    channels: p.channels?.count ?? 0,
    ...(ch !== undefined ? { channel: ch } : {}),
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

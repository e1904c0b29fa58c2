// CSV and JSON exports of the figures' data, with a provenance block. PURE: no DOM.
import type { AggregateWindow, MacroWindow, MicroResult, TokenInfo } from '../../src/engine/experiments/resultTypes';
import type { AttentionPayload } from '../../src/shared/protocol';
import type { Aggregation, ProvenanceEntries, SplitGroup } from './figures';
import { aggregateHeads } from './figures';

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

export function attentionCsv(p: AttentionPayload, agg: Aggregation, prov: ProvenanceEntries): string {
  const m = aggregateHeads(p.heads, agg);
  const rows: unknown[][] = [];
  m.forEach((row, i) => row.forEach((v, j) => { if (j <= i) rows.push([p.layer, agg, i, j, p.tokens[i]?.text, p.tokens[j]?.text, v]); }));
  return csv(prov, ['layer', 'heads', 'row', 'col', 'row_token', 'col_token', 'value'], rows);
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

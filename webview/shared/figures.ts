// Figure models built from results: the same model feeds chart.js / canvas in the webviews, the SVG
// generator (exports) and the standalone report. PURE: no DOM.
import type {
  AggregateWindow, AnyResult, DatasetRunResult, MacroWindow, MicroResult, Provenance, TokenRole, TraceResult,
} from '../../src/engine/experiments/resultTypes';
import type { ModelIdentity } from '../../src/engine/types';
import type { AttentionPayload } from '../../src/shared/protocol';
import { divergingScale, seriesStyle, type ColorScale, type Theme } from './colors';

export const X_LABEL = 'Window start layer';
export const Y_LABEL = 'Change in target probability (%)';

export interface LineSeries {
  key: string;
  label: string;
  color: string;
  dash?: number[];
  y: number[];
  band?: { low: number[]; high: number[] };
}

export interface LineChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: LineSeries[];
  zeroLine: boolean;
}

export interface HeatmapSpec {
  id: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xTicks: string[];
  yTicks: string[];
  /** roles of the rows (token rows), used to colour the row labels */
  yRoles?: TokenRole[];
  /** values[row][col] */
  values: number[][];
  scale: ColorScale;
  /** cells to outline, [row, col] */
  outlined?: [number, number][];
  /** number formatting of the legend */
  percent?: boolean;
}

/** Visible token text: leading space shown as '␣' only when the token is just whitespace. */
export function tokenLabel(text: string): string {
  const t = text.replace(/\n/g, '⏎').replace(/\t/g, '⇥');
  return t.trim().length === 0 ? t.replace(/ /g, '␣') : t.trim();
}

export function setOrder(names: string[]): string[] {
  const rank = (n: string) => {
    const i = ['subject', 'relation', 'last', 'first', 'all'].indexOf(n);
    return i < 0 ? 100 : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function traceChart(r: TraceResult, w: MacroWindow, theme: Theme): LineChartSpec {
  const names = setOrder(Object.keys(w.curves));
  return {
    id: `macro-k${w.window}`,
    title: `Attention knockout, window k = ${w.window}`,
    subtitle: `Target ${JSON.stringify(r.target.text)}, p = ${formatProb(r.baseProb)}`,
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    x: w.starts,
    series: names.map((n, i) => ({ key: n, ...seriesStyle(n, theme, i), y: w.curves[n].diffPct })),
    zeroLine: true,
  };
}

export type SplitGroup = 'all' | 'subjectHasFirst' | 'subjectLacksFirst';
export const SPLIT_LABEL: Record<SplitGroup, string> = {
  all: 'All prompts',
  subjectHasFirst: 'Subject contains the first token',
  subjectLacksFirst: 'Subject does not contain the first token',
};

export function datasetWindows(r: DatasetRunResult, group: SplitGroup): AggregateWindow[] {
  if (group === 'all' || !r.aggregate.split) return r.aggregate.windows;
  return r.aggregate.split[group];
}

export function datasetCount(r: DatasetRunResult, group: SplitGroup): number {
  if (group !== 'all' && r.aggregate.split) return r.aggregate.split.counts[group];
  return r.prompts.length;
}

export function datasetChart(r: DatasetRunResult, w: AggregateWindow, theme: Theme, group: SplitGroup = 'all'): LineChartSpec {
  const names = setOrder(Object.keys(w.curves));
  const n = datasetCount(r, group);
  return {
    id: `dataset-k${w.window}${group === 'all' ? '' : '-' + group}`,
    title: `Mean knockout effect, window k = ${w.window}`,
    subtitle: `${SPLIT_LABEL[group]} (n = ${n}); shaded: 95% CI`,
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    x: w.starts,
    series: names.map((s, i) => ({
      key: s,
      ...seriesStyle(s, theme, i),
      y: w.curves[s].mean,
      band: { low: w.curves[s].ciLow, high: w.curves[s].ciHigh },
    })),
    zeroLine: true,
  };
}

export function maxAbs(values: number[][]): number {
  let m = 0;
  for (const row of values) for (const v of row) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

export function microHeatmap(r: Pick<MicroResult, 'window' | 'starts' | 'diffPct'> & { tokens: { text: string; role?: TokenRole }[]; target?: MicroResult['target'] }, theme: Theme, id = `micro-k${r.window}`): HeatmapSpec {
  return {
    id,
    title: `Blocking last ← position, window k = ${r.window}`,
    subtitle: r.target ? `Target ${JSON.stringify(r.target.text)}` : undefined,
    xLabel: X_LABEL,
    yLabel: 'Blocked position',
    xTicks: r.starts.map(String),
    yTicks: r.tokens.map((t, i) => `${i}: ${tokenLabel(t.text)}`),
    yRoles: r.tokens.every((t) => t.role) ? r.tokens.map((t) => t.role as TokenRole) : undefined,
    values: r.diffPct,
    scale: divergingScale(theme, maxAbs(r.diffPct), Y_LABEL),
    percent: true,
  };
}

// ------------------------------------------------------------------ attention matrices

/**
 * What the heatmap shows of a layer. Mamba-2 (heads): 'mean' | 'max' over heads, or 'head:h'.
 * Mamba-1 / Falcon-Mamba (channels): 'mean' (mean α over all channels), 'maxAbs' (max |α| over all channels),
 * or 'channel:c'.
 */
export type Aggregation = 'mean' | 'max' | 'maxAbs' | `head:${number}` | `channel:${number}`;
export type ScaleMode = 'signed' | 'abs' | 'row';
export type AttentionUnit = 'head' | 'channel';

export function aggregateHeads(heads: number[][][], agg: Aggregation): number[][] {
  if (heads.length === 0) return [];
  if (agg.startsWith('head:')) {
    const h = Number(agg.slice(5));
    return heads[Math.min(heads.length - 1, Math.max(0, h))];
  }
  const n = heads[0].length;
  const out: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row: number[] = [];
    for (let j = 0; j < heads[0][i].length; j++) {
      let acc = agg === 'max' ? -Infinity : 0;
      for (const hm of heads) acc = agg === 'max' ? Math.max(acc, hm[i][j]) : acc + hm[i][j];
      row.push(agg === 'max' ? acc : acc / heads.length);
    }
    out.push(row);
  }
  return out;
}

/** The unit of a payload's matrices (absent in payloads of Mamba-2-only versions = 'head'). */
export function attentionUnit(p: Pick<AttentionPayload, 'unit'>): AttentionUnit {
  return p.unit === 'channel' ? 'channel' : 'head';
}

/** How many matrices a layer has: heads, or channels (d_inner). */
export function unitCount(p: AttentionPayload): number {
  return attentionUnit(p) === 'channel' ? p.channels?.count ?? 0 : p.heads.length;
}

/** The channel of a 'channel:c' aggregation, else undefined. */
export function channelOf(agg: Aggregation): number | undefined {
  return agg.startsWith('channel:') ? Number(agg.slice(8)) : undefined;
}

/** An aggregation that the payload's unit offers (e.g. after switching between a Mamba-2 and a Mamba-1 model). */
export function normalizeAggregation(agg: Aggregation, p: AttentionPayload): Aggregation {
  const count = unitCount(p);
  if (attentionUnit(p) === 'channel') {
    if (agg === 'max') return 'maxAbs';
    const c = channelOf(agg);
    if (agg === 'mean' || agg === 'maxAbs' || (c !== undefined && Number.isInteger(c) && c >= 0 && c < count)) return agg;
    return 'mean';
  }
  if (agg === 'maxAbs') return 'max';
  if (agg === 'mean' || agg === 'max') return agg;
  if (agg.startsWith('head:') && Number(agg.slice(5)) < count) return agg;
  return 'mean';
}

/**
 * The matrix an aggregation shows: heads are aggregated here; channel summaries come with the payload.
 * undefined when the payload does not hold it (a channel that has not been loaded yet).
 */
export function attentionMatrix(p: AttentionPayload, agg: Aggregation): number[][] | undefined {
  if (attentionUnit(p) === 'head') return aggregateHeads(p.heads, agg);
  const c = p.channels;
  if (!c) return undefined;
  const ch = channelOf(agg);
  if (ch !== undefined) return c.selected && c.selected.id === ch ? c.selected.matrix : undefined;
  return agg === 'maxAbs' || agg === 'max' ? c.maxAbs : c.mean;
}

/** Applies a scale mode: returns the displayed values and the colour scale. j > i (non-causal) cells are NaN. */
export function scaleMatrix(m: number[][], mode: ScaleMode, theme: Theme, sym = 'M'): { values: number[][]; scale: ColorScale } {
  const causal = (i: number, j: number) => j <= i;
  if (mode === 'signed') {
    const values = m.map((row, i) => row.map((v, j) => (causal(i, j) ? v : NaN)));
    return { values, scale: divergingScale(theme, maxAbs(values), `Attention ${sym}[i, j] (signed)`) };
  }
  if (mode === 'abs') {
    const values = m.map((row, i) => row.map((v, j) => (causal(i, j) ? Math.abs(v) : NaN)));
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of values) for (const v of row) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    return { values, scale: { kind: 'sequential', min: lo, max: hi > lo ? hi : lo + 1, stops: [theme.background, theme.blue], label: `|${sym}[i, j]| (min–max)` } };
  }
  const values = m.map((row, i) => {
    const s = row.reduce((a, v, j) => (causal(i, j) ? a + Math.abs(v) : a), 0);
    return row.map((v, j) => (causal(i, j) ? (s > 0 ? Math.abs(v) / s : 0) : NaN));
  });
  return { values, scale: { kind: 'sequential', min: 0, max: Math.max(1e-12, Math.max(...values.flat().filter(Number.isFinite))), stops: [theme.background, theme.blue], label: `|${sym}[i, j]| / Σⱼ|${sym}[i, j]| (row-normalised)` } };
}

/** 'mean over heads', 'head 2'; for channel models 'mean α over 512 channels', 'max |α| over 512 channels', 'channel 17'. */
export function aggregationLabel(agg: Aggregation, unit: AttentionUnit = 'head', count?: number): string {
  if (unit === 'channel') {
    const over = count !== undefined ? `over ${count} channels` : 'over channels';
    const ch = channelOf(agg);
    if (ch !== undefined) return `channel ${ch}`;
    return agg === 'maxAbs' || agg === 'max' ? `max |α| ${over}` : `mean α ${over}`;
  }
  return agg === 'mean' ? 'mean over heads' : agg === 'max' ? 'max over heads' : `head ${agg.slice(5)}`;
}

export function attentionHeatmap(p: AttentionPayload, agg: Aggregation, mode: ScaleMode, theme: Theme): HeatmapSpec {
  const unit = attentionUnit(p);
  const sym = unit === 'channel' ? 'α' : 'M';
  const { values, scale } = scaleMatrix(attentionMatrix(p, agg) ?? [], mode, theme, sym);
  const labels = p.tokens.map((t, i) => `${i}: ${tokenLabel(t.text)}`);
  const blocked = p.blocked && p.blocked.layers.includes(p.layer) ? p.blocked.edges : undefined;
  return {
    id: `attention-L${p.layer}-${agg.replace(':', '')}-${mode}`,
    title: `${unit === 'channel' ? 'Hidden attention α' : 'Attention'}, layer ${p.layer} of ${p.nLayers} (${aggregationLabel(agg, unit, p.channels?.count)})`,
    subtitle: blocked ? `Outlined: ${blocked.length} knocked-out edge(s)` : undefined,
    xLabel: 'Source position j (attended to)',
    yLabel: 'Target position i (attending)',
    xTicks: labels,
    yTicks: labels,
    yRoles: p.tokens.map((t) => t.role),
    values,
    scale,
    outlined: blocked,
  };
}

// ------------------------------------------------------------------ formatting + provenance

export function formatProb(p: number): string {
  if (!Number.isFinite(p)) return String(p);
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

export function formatPct(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return String(v);
  return `${v > 0 ? '+' : ''}${v.toFixed(digits)}%`;
}

export type ProvenanceEntries = [string, string][];

/** 'Mamba-2', 'Mamba-1' or 'Falcon-Mamba' (results without `arch` come from Mamba-2-only versions). */
export function modelFamily(m: Pick<ModelIdentity, 'arch' | 'variant'>): string {
  if (m.arch === 'mamba1') return m.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1';
  return 'Mamba-2';
}

export type ConvMode = 'keep' | 'block';

/** The conv path of a result's knockouts: provenance.conv, a dataset run's settings.conv, else 'keep' (older files). */
export function convModeOf(r: AnyResult): ConvMode {
  const c = r.provenance.conv ?? (r.kind === 'dataset-run' ? r.settings.conv : undefined);
  return c === 'block' ? 'block' : 'keep';
}

/** 'edge knockout (conv kept)' or 'complete knockout (conv blocked)'. */
export function knockoutModeLabel(conv: ConvMode): string {
  return conv === 'block' ? 'complete knockout (conv blocked)' : 'edge knockout (conv kept)';
}

/** One sentence on what the conv mode means (SPEC §8). */
export function knockoutModeHint(conv: ConvMode): string {
  return conv === 'block'
    ? 'The conv1d taps from the blocked sources into the last position are cut too: the sources cannot reach it at all in the window.'
    : 'Only the SSM edges are cut; a source within d_conv − 1 = 3 positions of the last still reaches it through the conv1d.';
}

function provBase(p: Provenance): ProvenanceEntries {
  return [
    ['tool', `${p.tool.name} ${p.tool.version}`],
    ['model', p.model.path],
    ['model hash', p.model.hash],
    ['model family', modelFamily(p.model)],
    ['model format', `${p.model.format}, d_model ${p.model.dModel}, ${p.model.nLayer} layers, ${p.model.storedDType}`],
    ['tokenizer', `${p.model.tokenizer.file} (sha256 ${p.model.tokenizer.sha256})`],
    ['provider', p.ep],
    ['compute dtype', p.computeDType],
    ['created', p.createdAt],
  ];
}

/** Provenance of a result as ordered key/value pairs (SVG metadata, CSV comments, JSON, report). */
export function provenanceOf(r: AnyResult): ProvenanceEntries {
  const out = provBase(r.provenance);
  if (r.kind === 'trace') {
    out.push(['experiment', 'macro (trace)'], ['windows', r.windows.map((w) => w.window).join(', ')], ['prompt', r.prompt], ['subject', r.subject], ['target', `${JSON.stringify(r.target.text)} (id ${r.target.id})`], ['base probability', String(r.baseProb)]);
  } else if (r.kind === 'micro') {
    out.push(['experiment', 'micro'], ['windows', String(r.window)], ['prompt', r.prompt]);
    if (r.subject !== undefined) out.push(['subject', r.subject]);
    out.push(['target', `${JSON.stringify(r.target.text)} (id ${r.target.id})`], ['base probability', String(r.baseProb)]);
  } else {
    out.push(
      ['experiment', `${r.experiment} (dataset run, ${r.status})`],
      ['windows', r.settings.windows.join(', ')],
      ['source sets', r.settings.sets.join(', ')],
      ['dataset', `${r.dataset.file} (${r.dataset.format}, ${r.dataset.rows} rows, sha256 ${r.dataset.sha256})`],
      ['prompts used', String(r.prompts.length)],
      ['prompts skipped', String(r.skipped.length)],
      ['filter correct', String(r.settings.filterCorrect)],
    );
    if (r.settings.limit !== undefined) out.push(['limit', String(r.settings.limit)]);
    if (r.settings.seed !== undefined) out.push(['seed', String(r.settings.seed)]);
  }
  out.push(['knockout', knockoutModeLabel(convModeOf(r))]);
  return out;
}

export function provenanceOfAttention(p: AttentionPayload, toolVersion?: string, agg?: Aggregation): ProvenanceEntries {
  const out: ProvenanceEntries = [];
  if (toolVersion) out.push(['tool', `mamba-explain ${toolVersion}`]);
  if (p.model) out.push(['model', p.model.path], ['model hash', p.model.hash]);
  if (p.model?.arch) out.push(['model family', modelFamily(p.model)]);
  out.push(['prompt', p.prompt], ['layer', `${p.layer} of ${p.nLayers}`]);
  if (attentionUnit(p) === 'channel') {
    out.push(['channels', String(p.channels?.count ?? 0)]);
    if (agg) out.push(['aggregation', aggregationLabel(agg, 'channel', p.channels?.count)]);
  } else out.push(['heads', String(p.heads.length)]);
  if (p.blocked) out.push(['knockout', `${p.blocked.edges.length} edge(s) in layers ${p.blocked.layers.join(', ')}`]);
  return out;
}

/** One short line for figure captions. */
export function provenanceCaption(entries: ProvenanceEntries): string {
  const get = (k: string) => entries.find((e) => e[0] === k)?.[1];
  const parts: string[] = [];
  const tool = get('tool');
  if (tool) parts.push(tool);
  const model = get('model');
  if (model) parts.push(`model ${model}${get('model hash') ? ` (${get('model hash')!.slice(0, 12)})` : ''}`);
  const family = get('model family');
  if (family) parts.push(family);
  const ep = get('provider');
  if (ep) parts.push(`provider ${ep}`);
  const w = get('windows');
  if (w) parts.push(`k = ${w}`);
  const ko = get('knockout');
  if (ko && get('experiment')) parts.push(ko);
  const ds = get('dataset');
  if (ds) parts.push(`dataset ${ds.split(' (')[0]}`);
  const prompt = get('prompt');
  if (prompt && !ds) parts.push(`prompt ${JSON.stringify(prompt.length > 60 ? prompt.slice(0, 57) + '…' : prompt)}`);
  return parts.join(' · ');
}

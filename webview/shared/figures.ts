// Figure models built from results: the same model feeds chart.js / canvas in the webviews, the SVG
// generator (exports) and the standalone report. PURE: no DOM.
import type {
  AggregateWindow, AnyResult, DatasetRunResult, MacroWindow, MicroResult, Provenance, TokenRole, TraceResult,
} from '../../src/engine/experiments/resultTypes';
import type { ModelIdentity } from '../../src/engine/types';
import type { AttentionPayload, DecayGroup, FeatureMode, FeaturesPayload } from '../../src/shared/protocol';
import { DECAY_GROUPS } from '../../src/shared/protocol';
import { divergingScale, seriesStyle, type ColorScale, type Theme } from './colors';
import { FIRST_POSITION_LABEL } from '../../src/engine/experiments/firstPosition';

export const X_LABEL = 'Window start layer';
export const Y_LABEL = 'Change in target probability (%)';

export interface LineSeries {
  key: string;
  label: string;
  color: string;
  dash?: number[];
  /** this series' own x values (a comparison: each model's starts on the relative depth); absent = the chart's x */
  x?: number[];
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
  /** rows marked with a dashed frame and a label beside the plot (the micro views: position 0, 'pos 0 (first)') */
  markedRows?: { row: number; label: string }[];
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
    // the first-position effect the papers discuss: row 0 is the prompt's first token
    ...(r.diffPct.length > 0 ? { markedRows: [{ row: 0, label: FIRST_POSITION_LABEL }] } : {}),
  };
}

// ------------------------------------------------------------------ attention matrices

/**
 * What the heatmap shows of a layer. Mamba-2 (heads): 'mean' | 'max' over heads, or 'head:h'.
 * Mamba-1 / Falcon-Mamba (channels): 'mean' (mean α over all channels), 'maxAbs' (max |α| over all channels),
 * or 'channel:c'. Both: 'group:fast' | 'group:middle' | 'group:slow', the mean over a decay third's features
 * (computed by the host: AttentionPayload.groups).
 */
export type Aggregation = 'mean' | 'max' | 'maxAbs' | `head:${number}` | `channel:${number}` | `group:${DecayGroup}`;
export type ScaleMode = 'signed' | 'abs' | 'row';
export type AttentionUnit = 'head' | 'channel';

export function aggregateHeads(heads: number[][][], agg: Aggregation): number[][] {
  if (heads.length === 0) return [];
  if (agg.startsWith('group:')) agg = 'mean';
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

/** The decay group of a 'group:g' aggregation, else undefined. */
export function groupOf(agg: Aggregation): DecayGroup | undefined {
  const g = agg.startsWith('group:') ? agg.slice(6) : undefined;
  return g !== undefined && (DECAY_GROUPS as readonly string[]).includes(g) ? (g as DecayGroup) : undefined;
}

/** An aggregation that the payload's unit offers (e.g. after switching between a Mamba-2 and a Mamba-1 model). */
export function normalizeAggregation(agg: Aggregation, p: AttentionPayload): Aggregation {
  const count = unitCount(p);
  if (agg.startsWith('group:')) {
    const g = groupOf(agg);
    return g && p.groups?.[g] && p.groups[g].count > 0 ? agg : 'mean';
  }
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
  const g = groupOf(agg);
  if (g) return p.groups?.[g]?.mean;
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

/**
 * 'mean over heads', 'head 2', 'mean over 5 fast heads'; for channel models 'mean α over 512 channels',
 * 'max |α| over 512 channels', 'channel 17', 'mean α over 170 fast channels'. `groupCount`: the group's size.
 */
export function aggregationLabel(agg: Aggregation, unit: AttentionUnit = 'head', count?: number, groupCount?: number): string {
  const g = groupOf(agg);
  if (g) {
    const n = groupCount !== undefined ? `${groupCount} ` : '';
    return unit === 'channel' ? `mean α over ${n}${g} channels` : `mean over ${n}${g} heads`;
  }
  if (unit === 'channel') {
    const over = count !== undefined ? `over ${count} channels` : 'over channels';
    const ch = channelOf(agg);
    if (ch !== undefined) return `channel ${ch}`;
    return agg === 'maxAbs' || agg === 'max' ? `max |α| ${over}` : `mean α ${over}`;
  }
  return agg === 'mean' ? 'mean over heads' : agg === 'max' ? 'max over heads' : `head ${agg.slice(5)}`;
}

/** 'fast heads: 7, 9, 10' (Mamba-2) or 'fast third: 170 of 512 channels' for a group aggregation, else ''. */
export function groupUnitsText(p: AttentionPayload, agg: Aggregation): string {
  const g = groupOf(agg);
  const gm = g ? p.groups?.[g] : undefined;
  if (!g || !gm) return '';
  if (gm.units) return `${g} heads: ${gm.units.join(', ')}`;
  return `${g} third: ${gm.count} of ${unitCount(p)} ${attentionUnit(p)}s by decay score`;
}

/** aggregationLabel with the payload's counts (channels, the group's size). */
export function payloadAggregationLabel(p: AttentionPayload, agg: Aggregation): string {
  const g = groupOf(agg);
  return aggregationLabel(agg, attentionUnit(p), p.channels?.count, g ? p.groups?.[g]?.count : undefined);
}

export function attentionHeatmap(p: AttentionPayload, agg: Aggregation, mode: ScaleMode, theme: Theme): HeatmapSpec {
  const unit = attentionUnit(p);
  const sym = unit === 'channel' ? 'α' : 'M';
  const { values, scale } = scaleMatrix(attentionMatrix(p, agg) ?? [], mode, theme, sym);
  const labels = p.tokens.map((t, i) => `${i}: ${tokenLabel(t.text)}`);
  const blocked = p.blocked && p.blocked.layers.includes(p.layer) ? p.blocked.edges : undefined;
  return {
    id: `attention-L${p.layer}-${agg.replace(':', '')}-${mode}`,
    title: `${unit === 'channel' ? 'Hidden attention α' : 'Attention'}, layer ${p.layer} of ${p.nLayers} (${payloadAggregationLabel(p, agg)})`,
    subtitle: [blocked ? `Outlined: ${blocked.length} knocked-out edge(s)` : '', groupUnitsText(p, agg)].filter(Boolean).join(' · ') || undefined,
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

/** A value that is not finite as JavaScript writes it (NaN, Infinity, null); anything else that is not a number 'n/a'. */
const notFinite = (v: unknown): string => (typeof v === 'number' || v === null ? String(v) : 'n/a');

export function formatProb(p: number): string {
  if (!Number.isFinite(p)) return notFinite(p);
  return p >= 0.001 ? p.toFixed(4) : p.toExponential(2);
}

export function formatPct(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return notFinite(v);
  return `${v > 0 ? '+' : ''}${v.toFixed(digits)}%`;
}

export type ProvenanceEntries = [string, string][];

/** 'Mamba-2', 'Mamba-1', 'Falcon-Mamba', 'GPT-2' or 'GPT-NeoX' (results without `arch` come from Mamba-2-only versions). */
export function modelFamily(m: Pick<ModelIdentity, 'arch' | 'variant'>): string {
  if (m.arch === 'mamba1') return m.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1';
  if (m.arch === 'gpt2') return 'GPT-2';
  if (m.arch === 'gptneox') return 'GPT-NeoX';
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

/**
 * Whether a model's family has a depthwise conv token path: the Mamba families do, the transformer baselines (GPT-2,
 * GPT-NeoX) do not. The engine's familyOf(config).convPath, for a result's model identity (the webviews do not load the
 * engine's families; test/unit/webview/knockoutLabel.test.ts checks that the two agree). Results without `arch` are Mamba-2.
 */
export function hasConvPath(m: Pick<ModelIdentity, 'arch'>): boolean {
  return m.arch !== 'gpt2' && m.arch !== 'gptneox';
}

/**
 * The knockout a model runs: 'attention knockout' for the families without a conv path (GPT-2, GPT-NeoX, SPEC §8; the
 * report's model line says the same), else the conv mode's label. Every view of a result names its knockout with this.
 */
export function modelKnockoutLabel(m: Pick<ModelIdentity, 'arch'>, conv: ConvMode): string {
  return hasConvPath(m) ? knockoutModeLabel(conv) : 'attention knockout';
}

/** The knockout of one result (panel header, figure provenance and captions, report footers). */
export function resultKnockoutLabel(r: AnyResult): string {
  return modelKnockoutLabel(r.provenance.model, convModeOf(r));
}

/** One sentence on what the conv mode means (SPEC §8). */
export function knockoutModeHint(conv: ConvMode): string {
  return conv === 'block'
    ? 'The conv1d taps from the blocked sources into the last position are cut too: the sources cannot reach it at all in the window.'
    : 'Only the SSM edges are cut; a source within d_conv − 1 = 3 positions of the last still reaches it through the conv1d.';
}

/** One sentence on the knockout a model runs: the conv mode's for the Mamba families, the attention knockout's else. */
export function modelKnockoutHint(m: Pick<ModelIdentity, 'arch'>, conv: ConvMode): string {
  return hasConvPath(m)
    ? knockoutModeHint(conv)
    : 'The pre-softmax scores of the blocked edges are removed in every head and each row renormalised (Geva et al.); a transformer has no conv path that carries the sources past them.';
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
  out.push(['knockout', resultKnockoutLabel(r)]);
  const groups = featureInfosOf(r);
  if (groups) out.push(['feature groups', groups.map((g) => g.features).join(', ')], ['feature mode', featureModesText(groups)]);
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
    if (agg) out.push(['aggregation', payloadAggregationLabel(p, agg)]);
  } else {
    out.push(['heads', String(p.heads.length)]);
    if (agg && groupOf(agg)) out.push(['aggregation', payloadAggregationLabel(p, agg)]);
  }
  const g = agg ? groupOf(agg) : undefined;
  const units = g ? p.groups?.[g]?.units : undefined;
  if (g && units) out.push([`${g} heads`, units.join(', ')]);
  if (g) out.push(['decay groups', 'thirds of the static decay score exp(A) at Δ = 1 per layer (SPEC §4)']);
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
  const fg = get('feature groups');
  if (fg) parts.push(`features ${fg} (${get('feature mode') ?? 'only'})`);
  const ds = get('dataset');
  if (ds) parts.push(`dataset ${ds.split(' (')[0]}`);
  const prompt = get('prompt');
  if (prompt && !ds) parts.push(`prompt ${JSON.stringify(prompt.length > 60 ? prompt.slice(0, 57) + '…' : prompt)}`);
  return parts.join(' · ');
}

// ------------------------------------------------------------------ feature knockout (SPEC §4)

/** A feature group of a result and its curves: one trace's windows, or (dataset runs) mean curves with bands. */
export interface FeatureGroupCurves {
  features: string;
  mode: FeatureMode;
  windows: { window: number; starts: number[]; curves: Record<string, { y: number[]; probs?: number[]; top1?: boolean[]; band?: { low: number[]; high: number[] } }> }[];
}

/** The feature groups of a result (names and modes), or undefined when it is not a feature knockout. */
export function featureInfosOf(r: AnyResult): { features: string; mode: FeatureMode }[] | undefined {
  if (r.kind === 'dataset-run') {
    const g = datasetFeatureGroups(r);
    return g?.map(({ features, mode }) => ({ features, mode }));
  }
  if (r.groups && r.groups.length) return r.groups.map(({ features, mode }) => ({ features, mode }));
  if (r.features) return [{ features: r.features.features, mode: r.features.mode }];
  return undefined;
}

/** 'only', 'except', or 'only / except' when the groups differ. */
export function featureModesText(groups: { mode: FeatureMode }[]): string {
  return [...new Set(groups.map((g) => g.mode))].join(' / ');
}

/** The groups of a trace with their curves: `groups`, or the single `features` group with `windows`. */
export function traceFeatureGroups(r: TraceResult): FeatureGroupCurves[] | undefined {
  const conv = (ws: MacroWindow[]): FeatureGroupCurves['windows'] =>
    ws.map((w) => ({ window: w.window, starts: w.starts, curves: Object.fromEntries(Object.entries(w.curves).map(([k, c]) => [k, { y: c.diffPct, probs: c.probs, top1: c.top1 }])) }));
  if (r.groups && r.groups.length) return r.groups.map((g) => ({ features: g.features, mode: g.mode, windows: conv(g.windows) }));
  if (r.features) return [{ features: r.features.features, mode: r.features.mode, windows: conv(r.windows) }];
  return undefined;
}

/**
 * The feature groups of a dataset run (`aggregate.groups`: per group its mean curves with intervals), read
 * tolerantly: a group needs a `features` name and `windows` shaped like AggregateWindow[]; anything else is skipped.
 */
export function datasetFeatureGroups(r: DatasetRunResult): FeatureGroupCurves[] | undefined {
  const raw = (r.aggregate as unknown as { groups?: unknown }).groups;
  if (!Array.isArray(raw)) return undefined;
  const out: FeatureGroupCurves[] = [];
  for (const g of raw as { features?: unknown; mode?: unknown; windows?: unknown }[]) {
    if (!g || typeof g.features !== 'string' || !Array.isArray(g.windows)) continue;
    const windows = (g.windows as AggregateWindow[])
      .filter((w) => w && typeof w.window === 'number' && Array.isArray(w.starts) && w.curves && typeof w.curves === 'object')
      .map((w) => ({
        window: w.window,
        starts: w.starts,
        curves: Object.fromEntries(Object.entries(w.curves).filter(([, c]) => c && Array.isArray(c.mean)).map(([k, c]) => [k, { y: c.mean, band: Array.isArray(c.ciLow) && Array.isArray(c.ciHigh) ? { low: c.ciLow, high: c.ciHigh } : undefined }])),
      }));
    out.push({ features: g.features, mode: g.mode === 'except' ? 'except' : 'only', windows });
  }
  return out.length ? out : undefined;
}

/** The feature groups of any result with their curves (micro results have grids, not curves: undefined). */
export function featureGroupCurves(r: AnyResult): FeatureGroupCurves[] | undefined {
  if (r.kind === 'trace') return traceFeatureGroups(r);
  if (r.kind === 'dataset-run') return datasetFeatureGroups(r);
  return undefined;
}

/** 'All features', 'Fast decay', 'Middle decay', 'Slow decay', 'Heads 3,5,8-11', 'Channels 0-99'. */
export function featureGroupLabel(features: string): string {
  if (features === 'all') return 'All features';
  if (features === 'fast' || features === 'middle' || features === 'slow') return `${features[0].toUpperCase()}${features.slice(1)} decay`;
  const m = /^(heads|channels):(.*)$/.exec(features);
  if (m) return `${m[1] === 'heads' ? 'Heads' : 'Channels'} ${m[2]}`;
  return features;
}

/** The legend entry of a group: its name and mode ('all' is unrestricted whatever the mode). */
export function featureGroupLegend(g: { features: string; mode: FeatureMode }): string {
  return g.features === 'all' ? 'All features (unrestricted)' : `${featureGroupLabel(g.features)} (${g.mode})`;
}

/** What a mode means, for the figure: which features lose the edges. */
export function featureModeHint(mode: FeatureMode): string {
  return mode === 'except'
    ? "except: the edges are cut in every feature but the group's (the group keeps them; the paper's mode)"
    : "only: the edges are cut in the group's features only (the others keep them)";
}

/** Colour and dash of a group's line: all solid, the thirds dashed in order of their decay, lists cycle. */
export function featureGroupStyle(features: string, theme: Theme, index = 0): { color: string; dash?: number[] } {
  switch (features) {
    case 'all':
      return { color: theme.foreground };
    case 'fast':
      return { color: theme.red, dash: [7, 4] };
    case 'middle':
      return { color: theme.yellow, dash: [2, 3] };
    case 'slow':
      return { color: theme.blue, dash: [10, 3, 2, 3] };
    default: {
      const cycle: { color: string; dash?: number[] }[] = [
        { color: theme.green, dash: [4, 2] },
        { color: theme.purple, dash: [1, 2] },
        { color: theme.orange, dash: [6, 2, 1, 2] },
      ];
      return cycle[index % cycle.length];
    }
  }
}

/** The source sets of a group list's window k, in the usual order. */
export function featureSets(groups: FeatureGroupCurves[], window: number): string[] {
  const names = new Set<string>();
  for (const g of groups) for (const n of Object.keys(g.windows.find((w) => w.window === window)?.curves ?? {})) names.add(n);
  return setOrder([...names]);
}

/** Window sizes that every group has. */
export function featureWindows(groups: FeatureGroupCurves[]): number[] {
  if (!groups.length) return [];
  return groups[0].windows.map((w) => w.window).filter((k) => groups.every((g) => g.windows.some((w) => w.window === k)));
}

const SET_ARROW: Record<string, string> = { subject: 'subject → last', relation: 'relation → last', last: 'last → last', first: 'first → last', all: 'all → last' };

/**
 * The overlay of the groups' curves for one source set and window (the paper's figure: subject → last, all
 * vs fast vs slow). One line per group; the subtitle says which mode the figure shows.
 */
export function featureOverlayChart(groups: FeatureGroupCurves[], window: number, set: string, theme: Theme, context?: { target?: string; n?: number }): LineChartSpec | undefined {
  const withWindow = groups.map((g) => ({ g, w: g.windows.find((w) => w.window === window) })).filter((x) => x.w && x.w.curves[set]);
  if (!withWindow.length) return undefined;
  const x = withWindow[0].w!.starts;
  const modes = featureModesText(groups.filter((g) => g.features !== 'all'));
  const restricted = groups.filter((g) => g.features !== 'all');
  const modeText = restricted.length === 0 ? 'no feature restriction' : new Set(restricted.map((g) => g.mode)).size === 1 ? featureModeHint(restricted[0].mode) : `modes ${modes} (see the legend)`;
  const band = withWindow.some((v) => v.w!.curves[set].band);
  const extra = [context?.target ? `target ${JSON.stringify(context.target)}` : '', context?.n !== undefined ? `n = ${context.n}` : '', band ? 'shaded: 95% CI' : ''].filter(Boolean).join(' · ');
  let custom = 0;
  return {
    id: `features-k${window}-${set.replace(/[^A-Za-z0-9._-]/g, '_')}`,
    title: `Feature knockout, ${SET_ARROW[set] ?? `${set} → last`}, window k = ${window}`,
    subtitle: `Mode ${modeText}${extra ? ' · ' + extra : ''}`,
    xLabel: X_LABEL,
    yLabel: Y_LABEL,
    x,
    series: withWindow.map(({ g, w }) => {
      const c = w!.curves[set];
      const isList = !['all', ...DECAY_GROUPS].includes(g.features);
      return { key: `${g.features}|${g.mode}`, label: featureGroupLegend(g), ...featureGroupStyle(g.features, theme, isList ? custom++ : 0), y: c.y, ...(c.band ? { band: c.band } : {}) };
    }),
    zeroLine: true,
  };
}

/** A free-text head / channel list as feature groups: 'heads:3,5,8-11', or a bare '3,5,8-11' for the model's unit. */
export type FeatureInputResult = { ok: true; groups: string[] } | { ok: false; message: string };

export function parseFeatureInput(text: string, unit: AttentionUnit, count?: number): FeatureInputResult {
  const t = text.replace(/\s+/g, '');
  if (t === '') return { ok: true, groups: [] };
  const prefix = unit === 'channel' ? 'channels' : 'heads';
  const groups: string[] = [];
  // several lists: 'heads:1,2;heads:5' (a ';' or a new prefix starts the next)
  for (const part of t.split(';').filter(Boolean)) {
    const pieces = part.split(/(?=(?:heads|channels):)/);
    for (const piece of pieces) {
      const m = /^(?:(heads|channels):)?(.*)$/.exec(piece)!;
      const p = m[1] ?? prefix;
      if (p !== prefix) return { ok: false, message: `This ${unit === 'channel' ? 'Mamba-1' : 'Mamba-2'} model has ${unit}s: write ${prefix}:LIST, not ${p}:LIST.` };
      if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(m[2])) return { ok: false, message: `'${piece}' is not a ${unit} list such as ${prefix}:3,5,8-11.` };
      for (const r of m[2].split(',')) {
        const [a, b] = r.split('-').map(Number);
        if (b !== undefined && b < a) return { ok: false, message: `The range ${r} is empty (its end is below its start).` };
        if (count !== undefined && Math.max(a, b ?? a) >= count) return { ok: false, message: `${unit[0].toUpperCase()}${unit.slice(1)} ${Math.max(a, b ?? a)} is out of range: the model has ${unit}s 0–${count - 1}.` };
      }
      groups.push(`${prefix}:${m[2]}`);
    }
  }
  return { ok: true, groups: [...new Set(groups)] };
}

/** The groups to run, in a stable order: the chosen presets (all, fast, middle, slow), then the lists. */
export function featureSelection(presets: Iterable<string>, lists: string[]): string[] {
  const chosen = new Set(presets);
  return [...['all', ...DECAY_GROUPS].filter((g) => chosen.has(g)), ...lists.filter((l) => !chosen.has(l))];
}

// ------------------------------------------------------------------ decay histogram

/** Whether a layer's scores span orders of magnitude (Mamba-2 heads): the histogram is then over log10(score). */
export function decayLogScale(scores: readonly number[]): boolean {
  if (!scores.length) return false;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
  return lo > 0 && hi / lo > 100;
}

export interface DecayBin {
  /** [lo, hi) in display space (log10(score) on a log scale) */
  lo: number;
  hi: number;
  counts: Record<DecayGroup, number>;
  /** the features of the bin by group (ascending) */
  units: Record<DecayGroup, number[]>;
}

export interface DecayHistogramSpec {
  id: string;
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  unit: AttentionUnit;
  count: number;
  layer: number;
  nLayers: number;
  log: boolean;
  /** display-space range of the axis */
  x0: number;
  x1: number;
  bins: DecayBin[];
  /** the shaded regions (display space), in order fast, middle, slow; absent groups left out */
  regions: { group: DecayGroup; from: number; to: number; count: number }[];
  /** the group boundaries (display space) between adjacent regions */
  boundaries: number[];
  /** score thresholds: the highest fast score and the lowest slow score */
  fastMax?: number;
  slowMin?: number;
}

function niceStep(span: number, bins: number): number {
  const raw = span / Math.max(1, bins);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

/** The histogram of one layer's decay scores with its thirds (stacked bars, shaded regions, counts). */
export function decayHistogram(p: FeaturesPayload, targetBins?: number): DecayHistogramSpec {
  const { scores } = p.decay;
  const n = scores.length;
  const log = decayLogScale(scores);
  const v = scores.map((s) => (log ? Math.log10(s) : s));
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { const d = Math.abs(lo) * 0.05 || 0.5; lo -= d; hi += d; }
  const want = targetBins ?? Math.max(8, Math.min(48, Math.round(3 * Math.sqrt(n))));
  const step = niceStep(hi - lo, want);
  const x0 = Math.floor(lo / step + 1e-9) * step;
  let nb = Math.max(1, Math.ceil((hi - x0) / step - 1e-9));
  if (x0 + nb * step <= hi) nb++;
  const x1 = x0 + nb * step;
  const groupOfUnit = new Array<DecayGroup>(n).fill('middle');
  for (const g of DECAY_GROUPS) for (const u of p.decay[g]) if (u >= 0 && u < n) groupOfUnit[u] = g;
  const bins: DecayBin[] = Array.from({ length: nb }, (_, b) => ({
    lo: x0 + b * step,
    hi: x0 + (b + 1) * step,
    counts: { fast: 0, middle: 0, slow: 0 },
    units: { fast: [], middle: [], slow: [] },
  }));
  v.forEach((x, u) => {
    const b = Math.min(nb - 1, Math.max(0, Math.floor((x - x0) / step + 1e-12)));
    const g = groupOfUnit[u];
    bins[b].counts[g]++;
    bins[b].units[g].push(u);
  });
  const ext = (g: DecayGroup) => {
    const xs = p.decay[g].filter((u) => u < n).map((u) => v[u]);
    return xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : undefined;
  };
  const present = DECAY_GROUPS.filter((g) => p.decay[g].length > 0);
  const boundaries: number[] = [];
  for (let i = 0; i + 1 < present.length; i++) {
    const a = ext(present[i])!;
    const b = ext(present[i + 1])!;
    boundaries.push(a.max <= b.min ? (a.max + b.min) / 2 : a.max);
  }
  const edges = [x0, ...boundaries, x1];
  const regions = present.map((g, i) => ({ group: g, from: edges[i], to: edges[i + 1], count: p.decay[g].length }));
  const fastS = p.decay.fast.map((u) => scores[u]);
  const slowS = p.decay.slow.map((u) => scores[u]);
  const unitWord = p.unit === 'channel' ? 'channels' : 'heads';
  const fmt = (x: number) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential(3) : Number(x.toPrecision(4)).toString());
  const thresholds = fastS.length && slowS.length ? ` · fast ≤ ${fmt(Math.max(...fastS))}, slow ≥ ${fmt(Math.min(...slowS))}` : '';
  return {
    id: `decay-L${p.layer}`,
    title: `Feature decay, layer ${p.layer} of ${p.nLayers}: ${n} ${unitWord}`,
    subtitle: `Thirds by the static decay score (ties by index): fast ${p.decay.fast.length} · middle ${p.decay.middle.length} · slow ${p.decay.slow.length}${thresholds}${log ? ' · log scale' : ''}`,
    xLabel: `${p.unit === 'channel' ? 'Decay score Σₙ exp(−exp(A_log[c, n]))' : 'Decay score exp(−exp(A_log[h]))'}${log ? ', log₁₀ scale' : ''}  (low = fast decay, high = slow decay)`,
    yLabel: `Number of ${unitWord}`,
    unit: p.unit,
    count: n,
    layer: p.layer,
    nLayers: p.nLayers,
    log,
    x0,
    x1,
    bins,
    regions,
    boundaries,
    ...(fastS.length ? { fastMax: Math.max(...fastS) } : {}),
    ...(slowS.length ? { slowMin: Math.min(...slowS) } : {}),
  };
}

/** Colour of a decay group (the overlay's colours: fast red, middle yellow, slow blue). */
export function decayGroupColor(g: DecayGroup, theme: Theme): string {
  return g === 'fast' ? theme.red : g === 'middle' ? theme.yellow : theme.blue;
}

export function provenanceOfFeatures(p: FeaturesPayload, toolVersion?: string): ProvenanceEntries {
  const out: ProvenanceEntries = [];
  if (toolVersion) out.push(['tool', `mamba-explain ${toolVersion}`]);
  if (p.model) out.push(['model', p.model.path], ['model hash', p.model.hash], ['model family', modelFamily(p.model)]);
  out.push(
    ['layer', `${p.layer} of ${p.nLayers}`],
    [p.unit === 'channel' ? 'channels' : 'heads', String(p.count)],
    ['decay score', p.unit === 'channel' ? 's_c = Σ_n exp(−exp(A_log[c, n])) (exp(A) at Δ = 1, L1 over d_state)' : 's_h = exp(−exp(A_log[h])) (exp(A) at Δ = 1)'],
    ['groups', `fast ${p.decay.fast.length}, middle ${p.decay.middle.length}, slow ${p.decay.slow.length} (sorted by score, ties by index; n // 3 fast and slow)`],
  );
  return out;
}

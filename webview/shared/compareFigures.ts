// Figure models of a comparison (one experiment on several models): one line per model on the relative depth
// ℓ / (L − k), for the panel (chart.js), the SVG exports and the standalone report. PURE: no DOM.
import type { ComparisonResult, DatasetRunResult, FirstPositionAggregate, MicroResult, TraceResult } from '../../src/engine/experiments/resultTypes';
import { comparisonFigure, familyName, RELATIVE_DEPTH_LABEL, setTitle, type ComparisonFigure } from '../../src/engine/experiments/comparison';
import type { Theme } from './colors';
import { convModeOf, formatPct, formatProb, modelKnockoutLabel, provenanceOf, Y_LABEL, type LineChartSpec, type ProvenanceEntries } from './figures';
import { csvCell } from './exportData';

/** Colour and dash of model `i`: distinct hues, and dashes so that the lines stay apart in grey print. */
export function modelStyle(i: number, theme: Theme): { color: string; dash?: number[] } {
  const cycle: { color: string; dash?: number[] }[] = [
    { color: theme.blue },
    { color: theme.orange, dash: [7, 4] },
    { color: theme.green, dash: [2, 3] },
    { color: theme.purple, dash: [10, 3, 2, 3] },
    { color: theme.red, dash: [4, 2] },
    { color: theme.yellow, dash: [1, 2] },
  ];
  return cycle[i % cycle.length];
}

/** 'Subject → last', 'First (pos 0) → last'. */
export function comparisonSetTitle(set: string): string {
  const t = setTitle(set);
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** The line chart of one comparison figure: one series per model, each with its own x (its starts' relative depth). */
export function comparisonChartSpec(c: ComparisonResult, f: ComparisonFigure, theme: Theme): LineChartSpec {
  const dataset = c.experiment === 'dataset-run';
  const depths = [...new Set(f.curves.map((m) => m.nLayer))].sort((a, b) => a - b);
  return {
    id: `compare-k${f.window}-${f.set.replace(/[^A-Za-z0-9._-]/g, '_')}`,
    title: `${comparisonSetTitle(f.set)}, window k = ${f.window}: ${f.curves.length} models`,
    subtitle: `${dataset ? 'Mean over each model\'s prompts; shaded: its 95% CI · ' : ''}x = ℓ / (L − k) with L = ${depths.join(', ')} layers`,
    xLabel: RELATIVE_DEPTH_LABEL,
    yLabel: dataset ? `Mean ${Y_LABEL.charAt(0).toLowerCase()}${Y_LABEL.slice(1)}` : Y_LABEL,
    x: f.curves[0]?.x ?? [],
    series: f.curves.map((m) => ({
      key: `model-${m.model}`,
      label: m.label,
      ...modelStyle(m.model, theme),
      x: m.x,
      y: m.y,
      ...(m.band ? { band: m.band } : {}),
    })),
    zeroLine: true,
  };
}

/** The chart of window `window` and set `set`, or undefined when no model has it. */
export function comparisonChart(c: ComparisonResult, window: number, set: string, theme: Theme): LineChartSpec | undefined {
  const f = comparisonFigure(c, window, set);
  return f.curves.length ? comparisonChartSpec(c, f, theme) : undefined;
}

/**
 * The knockout of a comparison's models: their label when they share it ('edge knockout (conv kept)',
 * 'attention knockout'), else each label with its models' families
 * ('edge knockout (conv kept) for Mamba-2, Mamba-1; attention knockout for GPT-NeoX').
 */
export function comparisonKnockoutLabel(c: ComparisonResult): string {
  const families = new Map<string, string[]>();
  for (const m of c.models) {
    const label = modelKnockoutLabel(m.result.provenance.model, convModeOf(m.result));
    const list = families.get(label) ?? [];
    const family = familyName(m.result.provenance.model);
    if (!list.includes(family)) list.push(family);
    families.set(label, list);
  }
  if (families.size === 1) return [...families.keys()][0];
  return [...families].map(([label, list]) => `${label} for ${list.join(', ')}`).join('; ');
}

/** Provenance of a comparison figure: the comparison, then each model (path, hash, family, layers). */
export function comparisonProvenance(c: ComparisonResult, window?: number): ProvenanceEntries {
  const first = provenanceOf(c.models[0].result)
    .filter(([k]) => ['tool', 'experiment', 'prompt', 'subject', 'dataset', 'knockout'].includes(k))
    .map(([k, v]): [string, string] => [k, k === 'knockout' ? comparisonKnockoutLabel(c) : v]);
  const out: ProvenanceEntries = [...first, ['comparison', `${c.models.length} models, x = relative depth ℓ / (L − k)`]];
  if (window !== undefined) out.push(['windows', String(window)]);
  c.models.forEach((m, i) => {
    const p = m.result.provenance;
    out.push([`model ${i + 1}`, `${m.label}: ${p.model.path} (${familyName(p.model)}, ${p.model.nLayer} layers, hash ${p.model.hash.slice(0, 12)}, ${p.ep})`]);
  });
  return out;
}

/** One row per model of the models table: label, family, layers, path, and the clean prediction or the counts. */
export function comparisonModelRows(c: ComparisonResult): { label: string; family: string; layers: number; path: string; hash: string; detail: string }[] {
  return c.models.map((m) => {
    const r = m.result;
    const p = r.provenance.model;
    let detail: string;
    if (r.kind === 'dataset-run') {
      const d = r as DatasetRunResult;
      const cov = c.coverage?.models.find((x) => x.label === m.label);
      detail = `${d.prompts.length} measured${cov ? `, ${cov.filteredOut} filtered out, ${cov.skipped} skipped` : ''}`;
    } else {
      const t = r as TraceResult | MicroResult;
      detail = `target ${JSON.stringify(t.target.text)} p = ${formatProb(t.baseProb)} · ${t.tokens.length} tokens`;
    }
    return { label: m.label, family: familyName(p), layers: p.nLayer, path: p.path, hash: p.hash.slice(0, 12), detail };
  });
}

/** The strongest effect of blocking position 0 per model of a dataset micro comparison (aggregate.firstPosition). */
export function firstPositionRows(c: ComparisonResult): { label: string; f: FirstPositionAggregate; minAt: number; text: string; notSubject: string }[] {
  const out: { label: string; f: FirstPositionAggregate; minAt: number; text: string; notSubject: string }[] = [];
  for (const m of c.models) {
    const r = m.result;
    const f = r.kind === 'dataset-run' ? r.aggregate.firstPosition : undefined;
    if (!f) continue;
    const at = (ys: number[]) => ys.reduce((b, v, i) => (Number.isFinite(v) && (!Number.isFinite(ys[b]) || v < ys[b]) ? i : b), 0);
    const i = at(f.meanDiffPct);
    const j = at(f.notSubject.meanDiffPct);
    const one = (mean: number, lo: number, hi: number, s: number, n: number) => (n === 0 ? 'no prompts' : `${formatPct(mean)} [${formatPct(lo)}, ${formatPct(hi)}] at ℓ = ${f.starts[s]} (n = ${n})`);
    out.push({ label: m.label, f, minAt: i, text: one(f.meanDiffPct[i], f.ci.low[i], f.ci.high[i], i, f.n), notSubject: one(f.notSubject.meanDiffPct[j], f.notSubject.ci.low[j], f.notSubject.ci.high[j], j, f.notSubject.n) });
  }
  return out;
}

/** The data of one comparison figure as CSV: a row per model and window start, with the relative depth. */
export function comparisonCsv(f: ComparisonFigure, prov: ProvenanceEntries): string {
  const banded = f.curves.some((m) => m.band);
  const rows: unknown[][] = [];
  for (const m of f.curves) m.starts.forEach((s, i) => rows.push([m.model + 1, m.label, m.nLayer, f.window, f.set, s, m.x[i], m.y[i], ...(banded ? [m.band?.low[i], m.band?.high[i], m.n] : [])]));
  const header = ['model', 'label', 'layers', 'window', 'source_set', 'start_layer', 'relative_depth', banded ? 'mean_diff_pct' : 'diff_pct', ...(banded ? ['ci_low', 'ci_high', 'n'] : [])];
  return [...prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`), header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

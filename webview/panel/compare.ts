// The knockout panel's comparison view: one experiment on several models (kind 'comparison'). The models (colour, family,
// depth, clean prediction or counts), then one figure per window and source set (micro: category) with one line per
// model on the relative depth ℓ / (L − k) (chart.js; legend toggles per model; SVG / CSV / JSON exports), the
// first-position effect per model of dataset micro runs, and for single-prompt micro results each model's heatmap with
// position 0 marked. "Compare with model…" asks the host to add one more model.
import type { Chart } from 'chart.js';
import type { ComparisonResult, MicroResult, TraceResult } from '../../src/engine/experiments/resultTypes';
import { comparisonFigure, comparisonSets, comparisonWindows, familyName, RELATIVE_DEPTH_LABEL, setTitle } from '../../src/engine/experiments/comparison';
import { FIRST_POSITION_LABEL } from '../../src/engine/experiments/firstPosition';
import type { Theme } from '../shared/colors';
import { HeatmapView } from '../shared/canvasHeatmap';
import { comparisonChartSpec, comparisonCsv, comparisonKnockoutLabel, comparisonModelRows, comparisonProvenance, comparisonSetTitle, firstPositionRows, modelStyle } from '../shared/compareFigures';
import { convModeOf, formatPct, microHeatmap, modelKnockoutHint, provenanceCaption, tokenLabel, type LineChartSpec } from '../shared/figures';
import { jsonExport } from '../shared/exportData';
import { lineChartSvg, summarizeLineChart } from '../shared/svg';
import { createLineChart } from '../shared/lineChart';
import { selectControl } from '../shared/selectControl';
import { seriesToggles } from '../shared/seriesToggles';
import { el, exportBar, type Host } from '../shared/vscode';

/** What the view keeps in the panel's state. */
export interface CompareViewState {
  window?: number;
  set?: string;
  /** series keys ('model-i') hidden with the legend toggles */
  hidden: string[];
}

export interface CompareViewDeps {
  host: Host<unknown>;
  theme: Theme;
  state: CompareViewState;
  /** persist the panel state */
  save(): void;
  /** draw the view again (after a control changed) */
  rerender(): void;
  /** width available to a heatmap */
  width(): number;
}

let chart: Chart | undefined;
let spec: LineChartSpec | undefined;
let heatmaps: HeatmapView[] = [];

/** Test hook: the chart, its spec and the heatmaps of the view shown. */
export const compareDebug = {
  get chart() {
    return chart;
  },
  get spec() {
    return spec;
  },
  get heatmaps() {
    return heatmaps;
  },
};

/** Ends the charts of the view shown (before the panel draws something else). */
export function destroyComparisonView(): void {
  chart?.destroy();
  chart = undefined;
  spec = undefined;
  heatmaps = [];
}

function what(c: ComparisonResult): string {
  const r = c.models[0].result;
  if (r.kind === 'dataset-run') return `${r.experiment} dataset run on ${r.dataset.file}`;
  const t = r as TraceResult | MicroResult;
  return `${r.kind === 'trace' ? 'macro trace' : 'micro knockout'} of ${JSON.stringify(t.prompt)}${t.subject !== undefined ? ` (subject ${JSON.stringify(t.subject)})` : ''}`;
}

function modelsTable(c: ComparisonResult, theme: Theme): HTMLElement {
  const body = el('tbody');
  comparisonModelRows(c).forEach((m, i) => {
    const sw = el('span', { class: 'model-swatch', 'aria-hidden': 'true' });
    const st = modelStyle(i, theme);
    sw.style.setProperty('border-top-color', st.color);
    if (st.dash) sw.style.setProperty('border-top-style', 'dashed');
    body.append(
      el('tr', { 'data-model': String(i) },
        el('td', { class: 'num', text: String(i + 1) }),
        el('td', {}, sw, el('span', { text: m.label })),
        el('td', {}, el('span', { class: 'family-badge', text: m.family })),
        el('td', { class: 'num', text: String(m.layers) }),
        el('td', {}, el('code', { text: m.path })),
        el('td', { text: m.detail }),
      ),
    );
  });
  const head = el('thead', {}, el('tr', {}, ...['#', 'Model', 'Family', 'Layers', 'Path', 'Result'].map((h) => el('th', { scope: 'col', text: h }))));
  return el('table', { class: 'models', id: 'compare-models' }, el('caption', { text: `${c.models.length} models, each with its own tokenisation, positions and depth` }), head, body);
}

function legendToggles(s: LineChartSpec, canvas: HTMLCanvasElement, deps: CompareViewDeps): HTMLElement {
  return seriesToggles(s, canvas, { groupLabel: 'Show or hide models', name: (label) => label, get: () => deps.state.hidden, set: (h) => (deps.state.hidden = h), chart: () => chart, save: () => deps.save() });
}

function buildChart(canvas: HTMLCanvasElement, s: LineChartSpec, c: ComparisonResult, theme: Theme, hidden: string[]): Chart {
  const starts = new Map<string, number[]>();
  const f = comparisonFigure(c, Number(/k(\d+)/.exec(s.id)?.[1]), s.id.replace(/^compare-k\d+-/, ''));
  for (const m of f.curves) starts.set(`model-${m.model}`, m.starts);
  const k = f.window;
  // diff% never goes below −100: the axis stops there rather than at the grace below it
  const ys = s.series.flatMap((x) => [...x.y, ...(x.band?.low ?? [])]).filter(Number.isFinite);
  const lo = ys.length ? Math.min(...ys) : 0;
  const hi = ys.length ? Math.max(0, ...ys) : 0;
  const yMin = lo >= -100 && lo - 0.05 * (hi - lo) < -100 ? -100 : undefined;
  return createLineChart(canvas, s, {
    theme,
    bandAlpha: 0.16,
    interaction: { mode: 'nearest', axis: 'x', intersect: false },
    x: { min: 0, max: 1, ticks: { stepSize: 0.1 }, title: RELATIVE_DEPTH_LABEL },
    y: { title: s.yLabel, min: yMin },
    tooltipTitle: (items) => (items.length ? `Relative depth ${(items[0].parsed.x ?? 0).toFixed(2)}` : ''),
    tooltipExtra: (key, i) => {
      const st = starts.get(key)?.[i];
      const curve = f.curves.find((m) => `model-${m.model}` === key);
      return st !== undefined && curve ? ` (ℓ = ${st} of ${curve.nLayer} layers: layers ${st}…${st + k - 1})` : '';
    },
    hidden,
  });
}

function curvesFigure(c: ComparisonResult, deps: CompareViewDeps): HTMLElement | undefined {
  const windows = comparisonWindows(c);
  if (!windows.length) return undefined;
  const k = windows.includes(deps.state.window ?? -1) ? deps.state.window! : windows[windows.length - 1];
  const sets = comparisonSets(c).filter((s) => comparisonFigure(c, k, s).curves.length > 0);
  const set = sets.includes(deps.state.set ?? '') ? deps.state.set! : sets[0];
  const f = comparisonFigure(c, k, set);
  const s = comparisonChartSpec(c, f, deps.theme);
  spec = s;
  const prov = comparisonProvenance(c, k);
  const controls = el('div', { class: 'controls' });
  controls.append(
    selectControl('Window size', 'compare-window-select', windows.map((w) => ({ value: String(w), label: `k = ${w}` })), String(k), (v) => {
      deps.state.window = Number(v);
      deps.save();
      deps.rerender();
    }),
    selectControl('Source set', 'compare-set-select', sets.map((x) => ({ value: x, label: comparisonSetTitle(x) })), set, (v) => {
      deps.state.set = v;
      deps.save();
      deps.rerender();
    }),
  );
  const canvas = el('canvas', { role: 'img', 'aria-label': summarizeLineChart(s, deps.state.hidden), id: 'compare-canvas' });
  const head = el('div', { class: 'figure-head' }, el('h3', { text: s.title }), el('p', { class: 'subtitle', text: s.subtitle ?? '' }));
  const fig = el(
    'figure',
    { class: 'figure', id: 'compare' },
    head,
    controls,
    legendToggles(s, canvas, deps),
    el('div', { class: 'chart-box' }, canvas),
    exportBar(deps.host, () => s.id, 'the comparison', {
      svg: () => lineChartSvg(s, { theme: deps.theme, provenance: prov, hidden: deps.state.hidden }),
      csv: () => comparisonCsv(f, prov),
      json: () => jsonExport(s.id, prov, { window: k, set, axis: 'relative depth = start / (L - k)', models: f.curves.map((m) => ({ model: m.model + 1, label: m.label, layers: m.nLayer, starts: m.starts, x: m.x, y: m.y, ...(m.band ? { band: m.band, n: m.n } : {}) })) }),
    }),
    el('figcaption', { class: 'caption', text: `${setTitle(set)}: each model's window starts ℓ = 0 … L − k at x = ℓ / (L − k). ${provenanceCaption(prov)}` }),
  );
  const hidden = deps.state.hidden;
  queueMicrotask(() => {
    chart?.destroy();
    chart = buildChart(canvas, s, c, deps.theme, hidden);
  });
  return fig;
}

function firstPositionTable(c: ComparisonResult): HTMLElement | undefined {
  const rows = firstPositionRows(c);
  if (!rows.length) return undefined;
  const body = el('tbody');
  for (const r of rows) body.append(el('tr', {}, el('td', { text: r.label }), el('td', { class: 'num', text: r.text }), el('td', { class: 'num', text: r.notSubject })));
  const head = el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Model' }), el('th', { scope: 'col', text: 'All prompts: lowest mean diff% [CI]' }), el('th', { scope: 'col', text: 'Subject does not contain pos 0' })));
  return el(
    'section',
    { 'aria-label': 'First-position effect per model', id: 'compare-first-position' },
    el('h2', { text: `First-position effect per model: ${FIRST_POSITION_LABEL}` }),
    el('p', { class: 'hint', text: "Blocking (last ← 0), the prompt's first token: the strongest mean effect over the window starts, over all prompts and over those whose subject does not contain position 0." }),
    el('table', { class: 'models first-position' }, head, body),
  );
}

/** Each model's micro heatmap (single-prompt micro comparisons), position 0 marked. */
function microHeatmaps(c: ComparisonResult, deps: CompareViewDeps): HTMLElement | undefined {
  if (c.experiment !== 'micro') return undefined;
  const figs = c.models.map((m, i) => {
    const r = m.result as MicroResult;
    const base = microHeatmap(r, deps.theme, `compare-micro-${i + 1}`);
    const hs = { ...base, title: `${m.label}: ${base.title}` };
    const view = new HeatmapView({
      label: `Micro knockout heatmap of ${m.label}`,
      describe: (h) => `${m.label} · ${tokenLabel(r.tokens[h.row].text)} (position ${h.row}${h.row === 0 ? `, ${FIRST_POSITION_LABEL}` : ''}) · window start ${r.starts[h.col]}: ${formatPct(h.value, 2)}`,
    });
    view.root.id = `compare-micro-${i + 1}`;
    heatmaps.push(view);
    queueMicrotask(() => view.render(hs, deps.theme, deps.width()));
    return el('figure', { class: 'figure' }, el('div', { class: 'figure-head' }, el('h3', { text: hs.title }), el('p', { class: 'subtitle', text: `${familyName(r.provenance.model)}, ${r.provenance.model.nLayer} layers · rows: the blocked position (${FIRST_POSITION_LABEL} marked)` })), view.root);
  });
  return el('section', { 'aria-label': 'Per position, each model' }, el('h2', { text: 'Per position, each model' }), ...figs);
}

/** The page of a comparison: header, models, figures. */
export function comparisonView(c: ComparisonResult, deps: CompareViewDeps): HTMLElement[] {
  const conv = convModeOf(c.models[0].result);
  const label = comparisonKnockoutLabel(c);
  const compareBtn = el('button', { type: 'button', class: 'export-button', id: 'compare-model', title: 'Run the same experiment on one more model and add it to this comparison', text: 'Compare with model…' });
  compareBtn.addEventListener('click', () => deps.host.post({ type: 'compareModel' }));
  const reportBtn = el('button', { type: 'button', class: 'export-button', id: 'export-report', title: 'Save this comparison as a standalone HTML report', text: 'Export report…' });
  reportBtn.addEventListener('click', () => deps.host.post({ type: 'exportReport' }));
  const out: HTMLElement[] = [
    el(
      'header',
      { class: 'page-head' },
      el('h1', { text: `Comparison of ${c.models.length} models` }),
      el('p', { class: 'meta', id: 'compare-what', text: what(c) }),
      el('p', { class: 'knockout-mode', id: 'knockout-mode', 'data-conv': conv, title: [...new Set(c.models.map((m) => modelKnockoutHint(m.result.provenance.model, convModeOf(m.result))))].join(' ') }, el('strong', { text: label.charAt(0).toUpperCase() + label.slice(1) })),
      el('p', { class: 'meta report-actions' }, compareBtn, ' ', reportBtn),
    ),
  ];
  const models = el('section', { 'aria-label': 'Models' }, el('h2', { text: 'Models' }), modelsTable(c, deps.theme));
  if (c.coverage) models.append(el('p', { class: 'hint', id: 'compare-coverage', text: `${c.coverage.measuredByAll} of ${c.coverage.selected} selected rows were measured by every model (each keeps the prompts whose clean top-1 is the target).` }));
  out.push(models);
  const warnings = [...(c.warnings ?? []), ...c.models.flatMap((m) => (m.result.warnings ?? []).map((w) => ({ ...w, message: `${m.label}: ${w.message}` })))];
  if (warnings.length) {
    const list = el('ul', { class: 'result-warnings', role: 'list' });
    for (const w of warnings) list.append(el('li', { class: 'result-warning', 'data-code': w.code }, el('span', { class: 'warning-icon', 'aria-hidden': 'true', text: '⚠ ' }), w.message));
    out.push(el('section', { 'aria-label': 'Warnings' }, el('h2', { text: warnings.length === 1 ? 'Warning' : `Warnings (${warnings.length})` }), list));
  }
  const fig = curvesFigure(c, deps);
  if (fig) out.push(el('section', { 'aria-label': 'Attention knockout on the relative depth' }, el('h2', { text: 'Attention knockout on the relative depth' }), fig));
  const first = firstPositionTable(c);
  if (first) out.push(first);
  const micro = microHeatmaps(c, deps);
  if (micro) out.push(micro);
  return out;
}

/** Redraws the heatmaps at a new width (window resize). */
export function resizeComparisonView(width: number, theme: Theme): void {
  for (const h of heatmaps) if (h.current) h.render(h.current, theme, width);
}


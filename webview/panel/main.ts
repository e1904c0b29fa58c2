// Knockout panel: prompt tokens by role, clean top-k, macro curves (chart.js), micro heatmap (canvas),
// dataset means with 95% CI bands and the first-token split; feature knockout (SPEC §4): a feature-group selector
// that re-runs the trace through the host, the overlay of the groups' curves, and the per-layer decay histogram
// with its fast / middle / slow thirds. Exports go to the host as 'export' messages.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import type { AnyResult, DatasetRunResult, MicroResult, TokenInfo, TopToken, TraceResult } from '../../src/engine/experiments/resultTypes';
import type { FeatureMode, FeaturesPayload, HostToWebview } from '../../src/shared/protocol';
import type { Theme } from '../shared/colors';
import { HeatmapView } from '../shared/canvasHeatmap';
import {
  convModeOf, datasetChart, datasetCount, datasetWindows, decayHistogram, featureGroupCurves, featureGroupLabel, featureGroupLegend, featureModeHint,
  featureOverlayChart, featureSelection, featureSets, featureWindows, formatPct, formatProb, microHeatmap, modelKnockoutHint,
  modelFamily, parseFeatureInput, decayGroupColor, provenanceCaption, provenanceOf, provenanceOfFeatures, resultKnockoutLabel, SPLIT_LABEL, tokenLabel, traceChart, X_LABEL, Y_LABEL,
  type DecayHistogramSpec, type FeatureGroupCurves, type LineChartSpec, type SplitGroup,
} from '../shared/figures';
import { datasetCsv, decayCsv, featureGroupsCsv, jsonExport, macroCsv, microCsv } from '../shared/exportData';
import { decayHistogramSvg, heatmapSvg, lineChartSvg, summarizeDecayHistogram, summarizeLineChart } from '../shared/svg';
import { createLineChart } from '../shared/lineChart';
import { roleLegend, roleTokens } from '../shared/roleTokens';
import { selectControl } from '../shared/selectControl';
import { seriesToggles } from '../shared/seriesToggles';
import { showStatus } from '../shared/statusBanner';
import { el, exportBar, handleCommonMessage, Host, onResizeSettled, onThemeChange, readTheme, type StatusKind } from '../shared/vscode';
import { intervalLabel } from '../../src/engine/experiments/render';
import type { ComparisonResult } from '../../src/engine/experiments/resultTypes';
import { compareDebug, comparisonView, destroyComparisonView, resizeComparisonView, type CompareViewState } from './compare';
import { firstPositionNote, firstPositionSection } from './firstPosition';

Chart.register(LineController, LineElement, PointElement, LinearScale, Filler, Tooltip);

interface PanelState {
  v: 1;
  result?: AnyResult;
  /** window size shown in the curves */
  window?: number;
  /** series keys hidden with the legend toggles */
  hidden: string[];
  group: SplitGroup;
  /** dataset micro: which prompt's heatmap */
  promptIndex?: number;
  /** feature knockout: the group (index) whose curves / micro grid are shown */
  featureGroup?: number;
  /** the overlay: its source set and the groups hidden with its legend toggles */
  overlaySet?: string;
  overlayHidden?: string[];
  /** the feature-group selector: presets (all / fast / middle / slow), the free-text list, the mode */
  pick?: { presets: string[]; custom: string; mode: FeatureMode };
  /** the decay layer shown (one layer of the current model) */
  decay?: FeaturesPayload;
  /** a comparison of several models (shown instead of `result`) and its view's controls */
  comparison?: ComparisonResult;
  compare?: CompareViewState;
}

const SEED_WINDOWS = [1, 3, 5, 9, 12, 15];
declare const __MAMBA_EXPLAIN_VERSION__: string | undefined;
const TOOL_VERSION = typeof __MAMBA_EXPLAIN_VERSION__ !== 'undefined' ? __MAMBA_EXPLAIN_VERSION__ : 'dev';
/** the paper's figure: all vs fast vs slow, in its mode */
const DEFAULT_PICK: NonNullable<PanelState['pick']> = { presets: ['all', 'fast', 'slow'], custom: '', mode: 'except' };

const host = new Host<PanelState>();
const restored = host.getState();
let state: PanelState = restored && restored.v === 1 ? { ...restored, hidden: restored.hidden ?? [], group: restored.group ?? 'all' } : { v: 1, hidden: [], group: 'all' };
let theme: Theme = readTheme();
let chart: Chart | undefined;
let overlay: Chart | undefined;
let heatmap: HeatmapView | undefined;
let lastSpec: LineChartSpec | undefined;
let overlaySpec: LineChartSpec | undefined;
let decaySpec: DecayHistogramSpec | undefined;
/** decay layers received, by `${model hash}:${layer}` */
const decayCache = new Map<string, FeaturesPayload>();
const decayRequested = new Set<string>();
function decayKey(p: { model?: { hash: string }; layer: number }): string {
  return `${p.model?.hash ?? ''}:${p.layer}`;
}
if (state.decay) decayCache.set(decayKey(state.decay), state.decay);

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));
const status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const content = el('div', { class: 'content' });
app.replaceChildren(status, content);

function save(): void {
  const r = state.result;
  // per-prompt macro curves of a dataset run are not drawn: keep the stored state small
  if (r && r.kind === 'dataset-run' && r.prompts.some((p) => p.windows)) {
    host.setState({ ...state, result: { ...r, prompts: r.prompts.map(({ windows: _w, ...p }) => p) } });
  } else {
    host.setState(state);
  }
}

// ------------------------------------------------------------------ status banner

function setStatus(kind: StatusKind, message?: string): void {
  showStatus(status, kind, message);
}

// ------------------------------------------------------------------ pieces

function tokensView(tokens: TokenInfo[] | { text: string; role?: TokenInfo['role'] }[]): HTMLElement {
  return el('div', {}, roleTokens(tokens, theme), roleLegend(theme, { 'aria-label': 'Legend of token roles' }));
}

function topkTable(top: TopToken[], targetId: number): HTMLElement {
  const body = el('tbody');
  top.forEach((t, i) => {
    const tr = el('tr', t.id === targetId ? { class: 'target' } : {});
    tr.append(el('td', { text: String(i + 1) }), el('td', {}, el('code', { text: JSON.stringify(t.text) })), el('td', { class: 'num', text: String(t.id) }), el('td', { class: 'num', text: formatProb(t.prob) }));
    body.append(tr);
  });
  const head = el('thead', {}, el('tr', {}, el('th', { text: '#', scope: 'col' }), el('th', { text: 'Token', scope: 'col' }), el('th', { text: 'Id', scope: 'col' }), el('th', { text: 'Probability', scope: 'col' })));
  return el('table', { class: 'topk' }, el('caption', { text: `Clean top-${top.length} predictions (target in bold)` }), head, body);
}

function section(title: string, ...children: Node[]): HTMLElement {
  return el('section', { 'aria-label': title }, el('h2', { text: title }), ...children);
}

// ------------------------------------------------------------------ curves

/** A trace's curves to draw: those of the chosen feature group (several groups), else `windows`. */
function traceWindows(r: TraceResult): TraceResult['windows'] {
  if (r.groups && r.groups.length) return r.groups[Math.min(r.groups.length - 1, Math.max(0, state.featureGroup ?? 0))].windows;
  return r.windows;
}

/** The feature group of the curves shown (name and mode), when the trace is a feature knockout. */
function shownFeatureGroup(r: TraceResult): { features: string; mode: FeatureMode } | undefined {
  if (r.groups && r.groups.length) {
    const g = r.groups[Math.min(r.groups.length - 1, Math.max(0, state.featureGroup ?? 0))];
    return { features: g.features, mode: g.mode };
  }
  return r.features;
}

function curveSpec(r: TraceResult | DatasetRunResult): LineChartSpec | undefined {
  if (r.kind === 'trace') {
    const ws = traceWindows(r);
    const w = ws.find((x) => x.window === state.window) ?? ws[0];
    if (!w) return undefined;
    const spec = traceChart(r, w, theme);
    const g = shownFeatureGroup(r);
    if (!g) return spec;
    return { ...spec, id: `${spec.id}-${slug(g.features)}-${g.mode}`, title: `${spec.title} · ${featureGroupLegend(g)}`, subtitle: `${spec.subtitle} · feature mode ${featureModeHint(g.mode)}` };
  }
  const ws = datasetWindows(r, state.group);
  const w = ws.find((x) => x.window === state.window) ?? ws[0];
  return w ? datasetChart(r, w, theme, state.group) : undefined;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 40);
}

function buildChart(canvas: HTMLCanvasElement, spec: LineChartSpec, r: AnyResult, opts: ChartOptions = mainChartOptions(r, spec)): Chart {
  return createLineChart(canvas, spec, {
    theme,
    bandAlpha: 0.18,
    interaction: { mode: 'index', intersect: false },
    x: { min: spec.x[0], max: spec.x[spec.x.length - 1], ticks: { stepSize: spec.x.length > 30 ? 4 : spec.x.length > 16 ? 2 : 1, precision: 0 }, title: X_LABEL },
    y: { title: Y_LABEL },
    tooltipTitle: (items) => (items.length ? `Window start layer ${items[0].parsed.x} (layers ${items[0].parsed.x}–${(items[0].parsed.x ?? 0) + (state.window ?? 1) - 1})` : ''),
    tooltipExtra: opts.extra,
    hidden: opts.hidden(),
  });
}

interface ChartOptions {
  /** the series keys hidden now */
  hidden: () => string[];
  /** the tooltip's addition after a point's value */
  extra: (key: string, index: number) => string;
}

function mainChartOptions(r: AnyResult, spec: LineChartSpec): ChartOptions {
  return {
    hidden: () => state.hidden,
    extra: (key, i) => {
      if (r.kind === 'trace') {
        const ws = traceWindows(r);
        const w = ws.find((x) => x.window === state.window) ?? ws[0];
        const p = w?.curves[key]?.probs[i];
        return p !== undefined ? `, p′ = ${formatProb(p)}` : '';
      }
      const s = spec.series.find((x) => x.key === key);
      return s?.band ? ` [95% CI ${s.band.low[i].toFixed(1)}, ${s.band.high[i].toFixed(1)}]` : '';
    },
  };
}

interface Toggles {
  get: () => string[];
  set: (hidden: string[]) => void;
  chart: () => Chart | undefined;
}

function legendToggles(spec: LineChartSpec, canvas: HTMLCanvasElement, t: Toggles = { get: () => state.hidden, set: (h) => (state.hidden = h), chart: () => chart }): HTMLElement {
  return seriesToggles(spec, canvas, { groupLabel: 'Show or hide lines', name: (label) => `the ${label} line`, ...t, save });
}

function windowOptions(r: AnyResult): { value: string; label: string }[] {
  const have = r.kind === 'trace' ? r.windows.map((w) => w.window) : r.kind === 'micro' ? [r.window] : r.aggregate.windows.map((w) => w.window);
  const opts = have.map((k) => ({ value: String(k), label: `k = ${k}` }));
  if (r.kind !== 'dataset-run') {
    const L = r.provenance.model.nLayer;
    for (const k of SEED_WINDOWS) if (!have.includes(k) && k <= L) opts.push({ value: String(k), label: `k = ${k} (run)` });
    opts.sort((a, b) => Number(a.value) - Number(b.value));
  }
  return opts;
}

function onWindowChange(r: AnyResult, v: string): void {
  const k = Number(v);
  if (!Number.isInteger(k) || k < 1) return;
  const have = r.kind === 'trace' ? r.windows.some((w) => w.window === k) : r.kind === 'micro' ? r.window === k : r.aggregate.windows.some((w) => w.window === k);
  if (have) {
    if (state.window !== k) {
      state.window = k;
      save();
      render();
    }
    return;
  }
  if (r.kind === 'dataset-run') return;
  // a feature knockout is re-run with the same groups
  const groups = r.groups?.length ? r.groups : r.features ? [r.features] : undefined;
  host.post(groups ? { type: 'rerun', windows: [k], features: groups.map((g) => g.features), featureMode: groups[0].mode } : { type: 'rerun', windows: [k] });
  setStatus('busy', `Re-running with window k = ${k}…`);
}

function curvesSection(r: TraceResult | DatasetRunResult): HTMLElement | undefined {
  const spec = curveSpec(r);
  if (!spec) return undefined;
  lastSpec = spec;
  const canvas = el('canvas', { role: 'img', 'aria-label': summarizeLineChart(spec, state.hidden), id: 'curves-canvas' });
  const controls = el('div', { class: 'controls' });
  controls.append(selectControl('Window size', 'window-select', windowOptions(r), String(state.window ?? spec.id.match(/k(\d+)/)?.[1]), (v) => onWindowChange(r, v)));
  if (r.kind === 'trace' && r.groups && r.groups.length > 1) {
    controls.append(
      selectControl('Feature group', 'feature-group-select', r.groups.map((g, i) => ({ value: String(i), label: featureGroupLegend(g) })), String(Math.min(r.groups.length - 1, state.featureGroup ?? 0)), (v) => {
        state.featureGroup = Number(v);
        save();
        render();
      }),
    );
  }
  if (r.kind === 'dataset-run' && r.aggregate.split) {
    const groups: SplitGroup[] = ['all', 'subjectHasFirst', 'subjectLacksFirst'];
    controls.append(
      selectControl('Prompts', 'split-select', groups.map((g) => ({ value: g, label: `${SPLIT_LABEL[g]} (n = ${datasetCount(r, g)})` })), state.group, (v) => {
        state.group = v as SplitGroup;
        save();
        render();
      }),
    );
  }
  const prov = provenanceOf(r);
  const svg = () => lineChartSvg(spec, { theme, provenance: r.kind === 'trace' && shownFeatureGroup(r) ? [...prov, ['feature group shown', `${shownFeatureGroup(r)!.features} (${shownFeatureGroup(r)!.mode})`]] : prov, hidden: state.hidden });
  const traceWin = () => {
    const ws = r.kind === 'trace' ? traceWindows(r) : [];
    return ws.find((w) => w.window === state.window) ?? ws[0];
  };
  const shown = r.kind === 'trace' ? shownFeatureGroup(r) : undefined;
  const groupProv: typeof prov = shown ? [...prov, ['feature group shown', `${shown.features} (${shown.mode})`]] : prov;
  const csv = () => {
    if (r.kind === 'trace') return macroCsv(traceWin(), groupProv, shown);
    return datasetCsv(datasetWindows(r, state.group).filter((w) => w.window === (state.window ?? w.window)), state.group, prov);
  };
  const json = () => {
    if (r.kind === 'trace') return jsonExport(spec.id, groupProv, shown ? { ...shown, ...traceWin() } : traceWin());
    return jsonExport(spec.id, prov, datasetWindows(r, state.group).find((w) => w.window === state.window) ?? datasetWindows(r, state.group)[0]);
  };
  const box = el('div', { class: 'chart-box' }, canvas);
  const head = el('div', { class: 'figure-head' }, el('h3', { text: spec.title }), el('p', { class: 'subtitle', text: spec.subtitle ?? '' }));
  const fig = el('figure', { class: 'figure', id: 'curves' }, head, controls, legendToggles(spec, canvas), box, exportBar(host as Host<unknown>, () => spec.id, 'the curves', { svg, csv, json }));
  fig.append(el('figcaption', { class: 'caption', text: provenanceCaption(prov) }));
  queueMicrotask(() => {
    chart?.destroy();
    chart = buildChart(canvas, spec, r);
  });
  return section(r.kind === 'trace' ? 'Attention knockout (macro)' : `Dataset means (${r.experiment})`, fig);
}


// ------------------------------------------------------------------ feature knockout (SPEC §4)

/** Heads (Mamba-2) or channels (Mamba-1 / Falcon-Mamba) of a result's model. */
function unitOf(r: AnyResult): 'head' | 'channel' {
  return r.provenance.model.arch === 'mamba1' ? 'channel' : 'head';
}

/** The decay layer of the result's model, when the panel has one (its feature count bounds the lists). */
function decayOfModel(r: AnyResult): FeaturesPayload | undefined {
  const d = state.decay;
  return d && d.model?.hash === r.provenance.model.hash ? d : undefined;
}

/** The selector: presets (all / fast / middle / slow), a head / channel list, the mode, and Run. */
function featureSelector(r: TraceResult): HTMLElement {
  const unit = unitOf(r);
  const groups = r.groups?.length ? r.groups : r.features ? [r.features] : undefined;
  const presetNames = ['all', 'fast', 'middle', 'slow'];
  const pick = state.pick ?? (groups
    ? { presets: groups.map((g) => g.features).filter((g) => presetNames.includes(g)), custom: groups.map((g) => g.features).filter((g) => !presetNames.includes(g)).join('; '), mode: groups[0].mode }
    : DEFAULT_PICK);
  const form = el('form', { class: 'feature-picker', id: 'feature-picker', 'aria-label': 'Feature groups to knock out' });
  const presetBox = el('fieldset', { class: 'feature-presets' }, el('legend', { class: 'control-label', text: 'Groups' }));
  for (const g of presetNames) {
    const id = `feature-${g}`;
    const box = el('input', { type: 'checkbox', id, value: g, 'data-group': g });
    box.checked = pick.presets.includes(g);
    const hint = g === 'all' ? 'every feature (the unrestricted knockout)' : `the ${g}-decay third of each layer's ${unit}s`;
    presetBox.append(el('label', { class: 'feature-preset', for: id, title: hint }, box, el('span', { text: g === 'all' ? 'All' : featureGroupLabel(g) })));
  }
  const prefix = unit === 'channel' ? 'channels' : 'heads';
  const d = decayOfModel(r);
  const custom = el('input', { type: 'text', id: 'feature-custom', class: 'feature-custom', spellcheck: 'false', autocomplete: 'off', placeholder: `${prefix}:3,5,8-11`, 'aria-label': `${unit === 'channel' ? 'Channel' : 'Head'} list (optional), e.g. ${prefix}:3,5,8-11` });
  custom.value = pick.custom;
  const customLabel = el('label', { class: 'control feature-custom-control', for: 'feature-custom' }, el('span', { class: 'control-label', text: `${unit === 'channel' ? 'Channels' : 'Heads'} (optional${d ? `, 0–${d.count - 1}` : ''})` }), custom);
  const mode = selectControl('Mode', 'feature-mode-select', [
    { value: 'only', label: 'only: block the group' },
    { value: 'except', label: 'except: block all but the group (paper)' },
  ], pick.mode, (v) => {
    state.pick = { ...read(), mode: v === 'only' ? 'only' : 'except' };
    save();
  });
  const run = el('button', { type: 'submit', class: 'run-button', id: 'feature-run', text: 'Run feature knockout' });
  const conv = convModeOf(r);
  const note = el('p', { class: 'hint feature-note', id: 'feature-note' });
  if (conv === 'block') {
    run.setAttribute('disabled', '');
    note.textContent = 'This trace is a complete knockout (conv blocked): a feature group restricts the edge knockout only, so set mambaExplain.conv to keep to run feature groups.';
  } else {
    note.textContent = `Each group is computed in the same call, for window${r.windows.length > 1 ? 's' : ''} k = ${r.windows.map((w) => w.window).join(', ')}; groups are the thirds of each layer's ${unit}s by static decay score (fast = forget within a few tokens, slow = carry across the prompt).`;
  }
  const read = (): { presets: string[]; custom: string; mode: FeatureMode } => ({
    presets: presetNames.filter((g) => (form.querySelector(`#feature-${g}`) as HTMLInputElement).checked),
    custom: custom.value,
    mode: ((form.querySelector('#feature-mode-select') as HTMLElement & { value: string }).value === 'only' ? 'only' : 'except') as FeatureMode,
  });
  form.addEventListener('change', () => {
    state.pick = read();
    custom.removeAttribute('aria-invalid');
    save();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = read();
    state.pick = p;
    save();
    const lists = parseFeatureInput(p.custom, unit, d?.count);
    if (!lists.ok) {
      custom.setAttribute('aria-invalid', 'true');
      setStatus('error', lists.message);
      return;
    }
    custom.removeAttribute('aria-invalid');
    const features = featureSelection(p.presets, lists.groups);
    if (!features.length) {
      setStatus('error', `Choose at least one group: All, Fast, Middle, Slow, or a ${unit} list.`);
      return;
    }
    host.post({ type: 'rerun', windows: r.windows.map((w) => w.window), features, featureMode: p.mode });
    setStatus('busy', `Running the feature knockout: ${features.join(', ')} (${p.mode})…`);
  });
  form.append(el('div', { class: 'controls' }, presetBox, customLabel, mode, run), note);
  return form;
}

/** The overlay of the groups' curves (one line per group) for a source set and window. */
function overlayFigure(r: TraceResult | DatasetRunResult, groups: FeatureGroupCurves[]): HTMLElement | undefined {
  const windows = featureWindows(groups);
  if (!windows.length) return undefined;
  const k = windows.includes(state.window ?? -1) ? state.window! : windows[windows.length - 1];
  const sets = featureSets(groups, k);
  const set = sets.includes(state.overlaySet ?? '') ? state.overlaySet! : sets.includes('subject') ? 'subject' : sets[0];
  const n = r.kind === 'dataset-run' ? r.prompts.length : undefined;
  const spec = featureOverlayChart(groups, k, set, theme, r.kind === 'trace' ? { target: r.target.text } : { n });
  if (!spec) return undefined;
  overlaySpec = spec;
  const hidden = () => state.overlayHidden ?? [];
  const canvas = el('canvas', { role: 'img', 'aria-label': summarizeLineChart(spec, hidden()), id: 'overlay-canvas' });
  const controls = el('div', { class: 'controls' });
  controls.append(
    selectControl('Source set', 'overlay-set-select', sets.map((x) => ({ value: x, label: `${x} → last` })), set, (v) => {
      state.overlaySet = v;
      save();
      render();
    }),
  );
  if (windows.length > 1) {
    controls.append(selectControl('Window size', 'overlay-window-select', windows.map((w) => ({ value: String(w), label: `k = ${w}` })), String(k), (v) => onWindowChange(r, v)));
  }
  const modes = [...new Set(groups.filter((g) => g.features !== 'all').map((g) => g.mode))];
  const modeBadge = el('span', {
    class: 'family-badge feature-mode',
    id: 'feature-mode',
    'data-mode': modes.length === 1 ? modes[0] : modes.length ? 'mixed' : 'none',
    title: modes.map((x) => featureModeHint(x)).join('; ') || 'every group is unrestricted',
    text: modes.length === 1 ? `Mode: ${modes[0]}` : modes.length ? `Modes: ${modes.join(' / ')}` : 'No feature restriction',
  });
  const prov: ReturnType<typeof provenanceOf> = [...provenanceOf(r), ['figure', `feature-group overlay, ${set} → last, window ${k}`]];
  const box = el('div', { class: 'chart-box' }, canvas);
  const head = el('div', { class: 'figure-head' }, el('h3', {}, modeBadge, spec.title), el('p', { class: 'subtitle', text: spec.subtitle ?? '' }));
  const fig = el('figure', { class: 'figure', id: 'overlay' }, head, controls, legendToggles(spec, canvas, { get: hidden, set: (h) => (state.overlayHidden = h), chart: () => overlay }), box);
  fig.append(
    exportBar(host as Host<unknown>, () => spec.id, 'the feature-group overlay', {
      svg: () => lineChartSvg(spec, { theme, provenance: prov, hidden: hidden() }),
      csv: () => featureGroupsCsv(groups, k, prov),
      json: () => jsonExport(spec.id, prov, { window: k, sourceSet: set, groups: groups.map((g) => ({ features: g.features, mode: g.mode, window: g.windows.find((w) => w.window === k) })) }),
    }),
    el('figcaption', { class: 'caption', text: provenanceCaption(prov) }),
  );
  const extra = (key: string, i: number) => {
    const g = groups.find((x) => `${x.features}|${x.mode}` === key);
    const c = g?.windows.find((w) => w.window === k)?.curves[set];
    if (!c) return '';
    if (c.probs) return `, p′ = ${formatProb(c.probs[i])}`;
    return c.band ? ` [95% CI ${c.band.low[i].toFixed(1)}, ${c.band.high[i].toFixed(1)}]` : '';
  };
  queueMicrotask(() => {
    overlay?.destroy();
    overlay = buildChart(canvas, spec, r, { hidden, extra });
  });
  return fig;
}

function featureSection(r: TraceResult | DatasetRunResult): HTMLElement | undefined {
  const groups = featureGroupCurves(r);
  const parts: Node[] = [];
  if (r.kind === 'trace') parts.push(featureSelector(r));
  if (groups) {
    const fig = overlayFigure(r, groups);
    if (fig) parts.push(fig);
  }
  if (!parts.length) return undefined;
  const s = section('Feature knockout', ...parts);
  s.id = 'feature-knockout';
  return s;
}

// ------------------------------------------------------------------ decay histogram

/** Shows the decay layer `layer` of the payload's model: from the cache, else asks the host. */
function setDecayLayer(layer: number): void {
  const d = state.decay;
  if (!d) return;
  const l = Math.max(0, Math.min(d.nLayers - 1, Math.round(layer)));
  const key = decayKey({ model: d.model, layer: l });
  decayWanted = key;
  const have = decayCache.get(key);
  if (have) {
    state.decay = have;
    save();
    updateDecay();
    setStatus(undefined);
    return;
  }
  if (!decayRequested.has(key)) {
    decayRequested.add(key);
    host.post({ type: 'requestDecay', layer: l });
  }
  document.getElementById('decay')?.classList.add('loading');
  setStatus('busy', `Loading the decay scores of layer ${l}…`);
}

/** Inline SVG of the histogram (the same SVG as the export), scaled to the panel's width. */
function svgNode(svg: string): Element {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const node = document.importNode(doc.documentElement, true);
  node.removeAttribute('height');
  node.setAttribute('width', '100%');
  node.setAttribute('class', 'decay-svg');
  return node;
}

/** The parts of the decay figure that change with the layer (the slider stays, so a drag is not interrupted). */
interface DecayView {
  title: HTMLElement;
  subtitle: HTMLElement;
  slider: HTMLInputElement;
  value: HTMLElement;
  chart: HTMLElement;
  groups: HTMLElement;
  caption: HTMLElement;
  heading: HTMLElement;
}
let decayView: DecayView | undefined;
/** the decay layer the user asked for last (`${hash}:${layer}`) */
let decayWanted: string | undefined;

function decayProv(d: FeaturesPayload): ReturnType<typeof provenanceOfFeatures> {
  return provenanceOfFeatures(d, TOOL_VERSION);
}

function decaySection(d: FeaturesPayload): HTMLElement {
  const slider = el('input', { type: 'range', id: 'decay-layer', min: '0', max: String(d.nLayers - 1), step: '1', value: String(d.layer), 'aria-label': 'Layer' });
  slider.addEventListener('input', () => setDecayLayer(Number(slider.value)));
  const value = el('span', { class: 'layer-value', id: 'decay-layer-value' });
  const layerLabel = el('label', { class: 'layer-control', for: 'decay-layer' }, el('span', { class: 'control-label' }, 'Layer ', value), slider);
  const view: DecayView = {
    title: el('h3'),
    subtitle: el('p', { class: 'subtitle' }),
    slider,
    value,
    chart: el('div', { class: 'decay-chart', id: 'decay-chart', role: 'img' }),
    groups: el('dl', { class: 'decay-groups', id: 'decay-groups' }),
    caption: el('figcaption', { class: 'caption' }),
    heading: el('h2'),
  };
  decayView = view;
  const current = () => state.decay ?? d;
  const fig = el('figure', { class: 'figure', id: 'decay' }, el('div', { class: 'figure-head' }, view.title, view.subtitle), el('div', { class: 'viewer-controls' }, layerLabel), view.chart, view.groups);
  fig.append(
    exportBar(host as Host<unknown>, () => decayHistogram(current()).id, 'the decay histogram', {
      svg: () => decayHistogramSvg(decayHistogram(current()), { theme, provenance: decayProv(current()) }),
      csv: () => decayCsv(current(), decayProv(current())),
      json: () => {
        const x = current();
        return jsonExport(decayHistogram(x).id, decayProv(x), { layer: x.layer, unit: x.unit, count: x.count, ...x.decay });
      },
    }),
    view.caption,
  );
  const s = el('section', { id: 'feature-decay', 'aria-label': 'Feature decay' }, view.heading, fig);
  fillDecay(view, d);
  return s;
}

function fillDecay(v: DecayView, d: FeaturesPayload): void {
  const spec = decayHistogram(d);
  decaySpec = spec;
  const prov = decayProv(d);
  const family = d.model ? modelFamily(d.model) : '';
  v.heading.textContent = `Feature decay: histogram of the decay scores${family ? ` (${family} ${d.unit}s)` : ''}`;
  v.title.textContent = spec.title;
  v.subtitle.textContent = spec.subtitle;
  v.slider.max = String(d.nLayers - 1);
  if (Number(v.slider.value) !== d.layer && document.activeElement !== v.slider) v.slider.value = String(d.layer);
  v.slider.setAttribute('aria-valuetext', `Layer ${d.layer} of ${d.nLayers}`);
  v.value.textContent = `${d.layer} / ${d.nLayers - 1}`;
  v.chart.setAttribute('aria-label', summarizeDecayHistogram(spec));
  v.chart.replaceChildren(svgNode(decayHistogramSvg(spec, { theme, provenance: prov, bare: true, height: 340 })));
  v.groups.replaceChildren();
  for (const r of spec.regions) {
    const units = d.decay[r.group];
    const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.setProperty('background-color', decayGroupColor(r.group, theme));
    const list = d.unit === 'head' ? units.join(', ') : units.length <= 40 ? units.join(', ') : `${units.slice(0, 24).join(', ')}, … (${units.length - 24} more; the CSV export lists them all)`;
    v.groups.append(el('dt', { 'data-group': r.group }, sw, `${featureGroupLabel(r.group)} · ${r.count} ${d.unit}${r.count === 1 ? '' : 's'}`), el('dd', { text: list }));
  }
  v.caption.textContent = provenanceCaption(prov);
  document.getElementById('decay')?.classList.remove('loading');
}

/** Redraws the decay figure in place (a full render when it is not on the page). */
function updateDecay(): void {
  const d = state.decay;
  if (d && decayView && decayView.slider.isConnected) fillDecay(decayView, d);
  else render();
}

// ------------------------------------------------------------------ micro heatmap

function microSection(r: MicroResult | DatasetRunResult): HTMLElement | undefined {
  let data: Parameters<typeof microHeatmap>[0] & { probs?: number[][] };
  const controls = el('div', { class: 'controls' });
  if (r.kind === 'micro') {
    const gi = r.groups?.length ? Math.min(r.groups.length - 1, Math.max(0, state.featureGroup ?? 0)) : -1;
    data = gi >= 0 ? { ...r, probs: r.groups![gi].probs, diffPct: r.groups![gi].diffPct } : r;
    controls.append(selectControl('Window size', 'micro-window-select', windowOptions(r), String(r.window), (v) => onWindowChange(r, v)));
    if (r.groups && r.groups.length > 1) {
      controls.append(
        selectControl('Feature group', 'micro-group-select', r.groups.map((g, i) => ({ value: String(i), label: featureGroupLegend(g) })), String(gi), (v) => {
          state.featureGroup = Number(v);
          save();
          render();
        }),
      );
    }
  } else {
    const withMicro = r.prompts.filter((p) => p.micro);
    if (!withMicro.length) return undefined;
    const rec = withMicro.find((p) => p.index === state.promptIndex) ?? withMicro[0];
    data = { window: rec.micro!.window, starts: rec.micro!.starts, diffPct: rec.micro!.diffPct, tokens: rec.micro!.tokens.map((text) => ({ text })), target: rec.target };
    controls.append(
      selectControl('Prompt', 'prompt-select', withMicro.slice(0, 500).map((p) => ({ value: String(p.index), label: `#${p.index}: ${p.prompt}` })), String(rec.index), (v) => {
        state.promptIndex = Number(v);
        save();
        render();
      }),
    );
  }
  const micro = r.kind === 'micro' ? r : undefined;
  const mg = micro?.groups?.length ? micro.groups[Math.min(micro.groups.length - 1, Math.max(0, state.featureGroup ?? 0))] : micro?.features;
  const base = microHeatmap(data, theme);
  const spec = mg ? { ...base, id: `${base.id}-${slug(mg.features)}-${mg.mode}`, title: `${base.title} · ${featureGroupLegend(mg)}` } : base;
  const prov: ReturnType<typeof provenanceOf> = mg ? [...provenanceOf(r), ['feature group shown', `${mg.features} (${mg.mode})`]] : provenanceOf(r);
  heatmap = new HeatmapView({
    label: 'Micro knockout heatmap',
    describe: (h) => {
      const tok = data.tokens[h.row];
      const p = data.probs?.[h.row]?.[h.col];
      return `${tokenLabel(tok.text)} (position ${h.row}${tok.role ? ', ' + tok.role : ''}) · window start ${data.starts[h.col]}: ${formatPct(h.value, 2)}${p !== undefined ? `, p′ = ${formatProb(p)}` : ''}`;
    },
  });
  heatmap.root.id = 'micro-heatmap';
  const fig = el('figure', { class: 'figure', id: 'micro' }, el('div', { class: 'figure-head' }, el('h3', { text: spec.title }), el('p', { class: 'subtitle', text: `Rows: the position the last token may no longer attend to. Colour: ${Y_LABEL.toLowerCase()}.` })), controls, heatmap.root);
  const note = firstPositionNote(data);
  if (note) fig.append(note);
  fig.append(
    exportBar(host as Host<unknown>, () => spec.id, 'the heatmap', {
      svg: () => heatmapSvg(spec, { theme, provenance: prov }),
      csv: () => microCsv(data, prov),
      json: () => jsonExport(spec.id, prov, r.kind === 'micro' ? { ...(mg ? { features: mg.features, mode: mg.mode } : {}), window: r.window, starts: r.starts, tokens: r.tokens, probs: data.probs, diffPct: data.diffPct } : data),
    }),
    el('figcaption', { class: 'caption', text: provenanceCaption(prov) }),
  );
  const h = heatmap;
  queueMicrotask(() => h.render(spec, theme, content.clientWidth - 40));
  return section('Attention knockout (micro)', fig);
}

// ------------------------------------------------------------------ page

function render(): void {
  chart?.destroy();
  chart = undefined;
  overlay?.destroy();
  overlay = undefined;
  heatmap = undefined;
  lastSpec = undefined;
  overlaySpec = undefined;
  decaySpec = undefined;
  decayView = undefined;
  destroyComparisonView();
  const r = state.result;
  content.replaceChildren();
  if (state.comparison) {
    const view = (state.compare ??= { hidden: [] });
    content.append(...comparisonView(state.comparison, { host: host as Host<unknown>, theme, state: view, save, rerender: render, width: () => content.clientWidth - 40 }));
    return;
  }
  if (!r) {
    if (state.decay) {
      const d = state.decay;
      const meta = el('p', { class: 'meta' });
      if (d.model) meta.append(el('span', { class: 'family-badge', id: 'model-family', 'data-arch': d.model.arch ?? 'mamba2', text: modelFamily(d.model) }), `${d.model.path} · ${d.nLayers} layers · ${d.count} ${d.unit}s per layer`);
      const hint = el('p', { class: 'hint', text: 'The static decay score of each feature: low scores forget within a few tokens (fast decay), high ones carry information across the prompt (slow decay). Hover a bar for its features; trace a prompt to run a feature knockout on these groups.' });
      content.append(el('header', { class: 'page-head' }, el('h1', { text: 'Feature decay' }), meta, hint), decaySection(d));
      return;
    }
    content.append(el('p', { class: 'placeholder', text: 'Run “Mamba Explain: Trace” on a prompt to see its knockout curves here.' }));
    return;
  }
  const p = r.provenance;
  const heading = r.kind === 'trace' ? 'Knockout trace' : r.kind === 'micro' ? 'Knockout per position' : `Dataset run (${r.experiment})`;
  const family = modelFamily(p.model);
  const meta = el('p', { class: 'meta' }, el('span', { class: 'family-badge', id: 'model-family', 'data-arch': p.model.arch ?? 'mamba2', text: family }), `${p.model.path} · ${p.model.nLayer} layers · ${p.ep} · ${p.computeDType}`);
  const conv = convModeOf(r);
  const label = resultKnockoutLabel(r);
  const modeHint = modelKnockoutHint(p.model, conv);
  const mode = el('p', { class: 'knockout-mode', id: 'knockout-mode', 'data-conv': conv, title: modeHint }, el('strong', { text: label.charAt(0).toUpperCase() + label.slice(1) }), ` — ${modeHint}`);
  // the standalone HTML report of this result (the host asks where to save it)
  const reportBtn = el('button', { type: 'button', class: 'export-button', id: 'export-report', title: 'Save this result as a standalone HTML report (figures, clean prediction, provenance)', text: 'Export report…' });
  reportBtn.addEventListener('click', () => host.post({ type: 'exportReport' }));
  // the same experiment on one more model: the host asks which, runs it in a worker of its own, shows the comparison
  const compareBtn = el('button', { type: 'button', class: 'export-button', id: 'compare-model', title: 'Run the same experiment on another model and show both on one axis of relative depth', text: 'Compare with model…' });
  compareBtn.addEventListener('click', () => host.post({ type: 'compareModel' }));
  content.append(el('header', { class: 'page-head' }, el('h1', { text: heading }), meta, mode, el('p', { class: 'meta report-actions' }, reportBtn, ' ', compareBtn)));
  const warnings = r.warnings ?? [];
  if (warnings.length) {
    const list = el('ul', { class: 'result-warnings', id: 'result-warnings', role: 'list' });
    for (const w of warnings) {
      const item = el('li', { class: 'result-warning', 'data-code': w.code });
      item.append(el('span', { class: 'warning-icon', 'aria-hidden': 'true', text: '⚠ ' }), w.message);
      if (w.count !== undefined) item.append(` (${w.count} prompt${w.count === 1 ? '' : 's'}${w.indices?.length ? `: rows ${w.indices.join(', ')}${w.count > w.indices.length ? ', …' : ''}` : ''})`);
      list.append(item);
    }
    content.append(section(warnings.length === 1 ? 'Warning' : `Warnings (${warnings.length})`, list));
  }
  if (r.kind !== 'dataset-run') {
    const info = el('p', { class: 'target-info' });
    info.append('Target ', el('code', { text: JSON.stringify(r.target.text) }), ` · p = ${formatProb(r.baseProb)}`);
    if (r.subject) info.append(' · subject ', el('code', { text: JSON.stringify(r.subject) }));
    // the Steering view on this prompt (SPEC §5)
    const steerBtn = el('button', { type: 'button', class: 'export-button', id: 'open-steering', title: 'Open the Steering view on this prompt', text: 'Steering…' });
    const prompt = r.prompt;
    steerBtn.addEventListener('click', () => host.post({ type: 'openSteering', prompt }));
    info.append(' ', steerBtn);
    content.append(section('Prompt', tokensView(r.tokens), info), section('Clean prediction', topkTable(r.baseTop, r.target.id)));
  } else {
    const d = el('p', { class: 'dataset-info' });
    d.append(el('code', { text: r.dataset.file }), ` · ${r.dataset.rows} rows · ${r.prompts.length} prompt(s) used · ${r.skipped.length} skipped · ${r.status}`);
    const interval = el('p', { class: 'hint interval-info', id: 'interval-info', text: `Bands: ${intervalLabel(r.settings.interval)} of the mean` });
    content.append(section('Dataset', d, interval));
  }
  if (r.kind === 'trace' || (r.kind === 'dataset-run' && r.aggregate.windows.length)) {
    const s = curvesSection(r);
    if (s) content.append(s);
  }
  if (r.kind === 'trace' || r.kind === 'dataset-run') {
    const s = featureSection(r);
    if (s) content.append(s);
  }
  if (r.kind === 'micro' || r.kind === 'dataset-run') {
    const s = microSection(r);
    if (s) content.append(s);
  }
  if (r.kind === 'dataset-run') {
    const s = firstPositionSection(r);
    if (s) content.append(s);
  }
  if (state.decay) content.append(decaySection(state.decay));
}

/** Whether two results ran the same feature groups (the selector then keeps what the user typed). */
function sameGroups(a: AnyResult | undefined, b: AnyResult): boolean {
  const names = (r: AnyResult | undefined) => (r && r.kind !== 'dataset-run' ? (r.groups?.length ? r.groups : r.features ? [r.features] : []).map((g) => `${g.features}|${g.mode}`).join(';') : '');
  return !!a && names(a) === names(b);
}

function showDecay(d: FeaturesPayload): void {
  const key = decayKey(d);
  decayCache.set(key, d);
  decayRequested.delete(key);
  const prev = state.decay;
  // a layer the user has moved on from is only cached
  if (prev && decayWanted && decayWanted !== key && prev.model?.hash === d.model?.hash && decayRequested.has(decayWanted)) return;
  decayWanted = undefined;
  const sameModel = prev?.model?.hash === d.model?.hash;
  state.decay = d;
  save();
  setStatus(undefined);
  if (sameModel) updateDecay();
  else render();
}

function showResult(r: AnyResult): void {
  const windows = r.kind === 'trace' ? r.windows.map((w) => w.window) : r.kind === 'micro' ? [r.window] : r.aggregate.windows.map((w) => w.window);
  const keep = state.result && state.result.kind === r.kind;
  state = {
    v: 1,
    result: r,
    window: state.window !== undefined && windows.includes(state.window) ? state.window : windows[windows.length - 1],
    hidden: keep ? state.hidden : [],
    group: keep && r.kind === 'dataset-run' && r.aggregate.split ? state.group : 'all',
    promptIndex: keep ? state.promptIndex : undefined,
    featureGroup: keep ? state.featureGroup : undefined,
    overlaySet: state.overlaySet,
    overlayHidden: keep ? state.overlayHidden : undefined,
    pick: sameGroups(state.result, r) ? state.pick : undefined,
    decay: state.decay,
  };
  save();
  setStatus(undefined);
  render();
}

function showComparison(c: ComparisonResult): void {
  // the same comparison grown by a model keeps the controls; the models' toggles are by index
  const keep = state.comparison && state.comparison.experiment === c.experiment;
  state = { v: 1, hidden: [], group: 'all', decay: state.decay, comparison: c, compare: keep && state.compare ? state.compare : { hidden: [] } };
  save();
  setStatus(undefined);
  render();
}

host.onMessage((m: HostToWebview) => {
  switch (m.type) {
    case 'showResult':
      showResult(m.result);
      break;
    case 'showComparison':
      showComparison(m.result);
      break;
    case 'features':
      showDecay(m.payload);
      break;
    case 'error':
      decayRequested.clear();
      handleCommonMessage(m, setStatus, retheme);
      break;
    default:
      handleCommonMessage(m, setStatus, retheme);
      break;
  }
});

function retheme(): void {
  theme = readTheme();
  render();
}
onThemeChange(retheme);

onResizeSettled(() => {
  const spec = heatmap?.current;
  if (heatmap && spec) heatmap.render(spec, theme, content.clientWidth - 40);
  resizeComparisonView(content.clientWidth - 40, theme);
});

// handshake first, then show what was restored
host.post({ type: 'ready', view: 'panel' });
render();

// test hook (harmless in VS Code): lets the browser tests reach the chart and heatmap
(window as unknown as { __panel: unknown }).__panel = {
  get chart() {
    return chart;
  },
  get heatmap() {
    return heatmap;
  },
  get spec() {
    return lastSpec;
  },
  get overlay() {
    return overlay;
  },
  get overlaySpec() {
    return overlaySpec;
  },
  get decaySpec() {
    return decaySpec;
  },
  get compare() {
    return compareDebug;
  },
};

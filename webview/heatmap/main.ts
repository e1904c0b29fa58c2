// Heatmap viewer: the attention matrices M_h[i, j] of the current prompt, one layer at a time.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { AttentionPayload, HostToWebview } from '../../src/shared/protocol';
import { ROLE_LABEL, roleColor, withAlpha, type Theme } from '../shared/colors';
import { HeatmapView } from '../shared/canvasHeatmap';
import { aggregateHeads, aggregationLabel, attentionHeatmap, provenanceCaption, provenanceOfAttention, tokenLabel, type Aggregation, type ScaleMode } from '../shared/figures';
import { attentionCsv, jsonExport } from '../shared/exportData';
import { heatmapSvg } from '../shared/svg';
import { el, exportBar, handleCommonMessage, Host, onThemeChange, readTheme } from '../shared/vscode';

declare const __MAMBA_EXPLAIN_VERSION__: string | undefined;
const TOOL_VERSION = typeof __MAMBA_EXPLAIN_VERSION__ !== 'undefined' ? __MAMBA_EXPLAIN_VERSION__ : 'dev';

interface ViewerState {
  v: 1;
  layer: number;
  agg: Aggregation;
  scale: ScaleMode;
  /** the payload last shown (restored after a reload) */
  payload?: AttentionPayload;
}

const host = new Host<ViewerState>();
const restored = host.getState();
const state: ViewerState = restored && restored.v === 1 ? restored : { v: 1, layer: 0, agg: 'mean', scale: 'signed' };
const cache = new Map<number, AttentionPayload>();
if (state.payload) cache.set(state.payload.layer, state.payload);
const requested = new Set<number>();
let theme: Theme = readTheme();

const app = document.getElementById('app') ?? document.body.appendChild(el('div', { id: 'app' }));
const status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
const header = el('header', { class: 'page-head' });
const controls = el('div', { class: 'viewer-controls' });
const hint = el('p', { class: 'hint', text: '←/→: previous/next layer · hover a cell (or focus the map and use the arrow keys) for its exact value' });
const view = new HeatmapView({
  label: 'Attention heatmap',
  maxCell: 44,
  describe: (h) => {
    const p = current();
    if (!p) return '';
    const raw = aggregateHeads(p.heads, state.agg)[h.row]?.[h.col];
    const ti = tokenLabel(p.tokens[h.row]?.text ?? '');
    const tj = tokenLabel(p.tokens[h.col]?.text ?? '');
    if (h.col > h.row) return `M[${h.row}, ${h.col}]: not causal (${ti} ← ${tj})`;
    const shown = state.scale === 'signed' ? '' : ` · shown ${Number(h.value.toPrecision(6))}`;
    return `M[${h.row}, ${h.col}] = ${String(raw)}  (${ti} ← ${tj})${shown}`;
  },
});
view.root.id = 'attention-heatmap';
const figure = el('figure', { class: 'figure', id: 'attention' });
const title = el('h3');
const subtitle = el('p', { class: 'subtitle' });
const caption = el('figcaption', { class: 'caption' });

const slider = el('input', { type: 'range', id: 'layer-slider', min: '0', max: '0', step: '1', value: '0', 'aria-label': 'Layer' });
const layerValue = el('span', { class: 'layer-value', id: 'layer-value' });
const aggSelect = document.createElement('vscode-single-select') as HTMLElement & { value: string };
aggSelect.id = 'agg-select';
aggSelect.setAttribute('aria-label', 'Heads');
const scaleSelect = document.createElement('vscode-single-select') as HTMLElement & { value: string };
scaleSelect.id = 'scale-select';
scaleSelect.setAttribute('aria-label', 'Colour scale');

function save(): void {
  const p = cache.get(state.layer) ?? state.payload;
  state.payload = p;
  host.setState(state);
}

function current(): AttentionPayload | undefined {
  return cache.get(state.layer);
}

function setStatus(kind: 'busy' | 'error' | 'info' | undefined, message?: string): void {
  status.replaceChildren();
  status.className = `status${kind ? ' ' + kind : ''}`;
  if (!kind || !message) return;
  if (kind === 'busy') status.append(el('span', { class: 'spinner', 'aria-hidden': 'true' }));
  status.append(el('span', { text: message }));
}

function fillOptions(sel: HTMLElement & { value: string }, options: { value: string; label: string }[], value: string): void {
  sel.replaceChildren();
  for (const o of options) {
    const opt = document.createElement('vscode-option');
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === value) opt.setAttribute('selected', '');
    sel.append(opt);
  }
  sel.value = value;
}

let nHeadsShown = -1;
function syncControls(p: AttentionPayload): void {
  slider.max = String(p.nLayers - 1);
  slider.value = String(state.layer);
  slider.setAttribute('aria-valuetext', `Layer ${state.layer} of ${p.nLayers}`);
  layerValue.textContent = `${state.layer} / ${p.nLayers - 1}`;
  if (nHeadsShown !== p.heads.length) {
    nHeadsShown = p.heads.length;
    if (state.agg.startsWith('head:') && Number(state.agg.slice(5)) >= p.heads.length) state.agg = 'mean';
    const opts = [
      { value: 'mean', label: 'Mean over heads' },
      { value: 'max', label: 'Max over heads' },
      ...p.heads.map((_, h) => ({ value: `head:${h}`, label: `Head ${h}` })),
    ];
    fillOptions(aggSelect, opts, state.agg);
  }
}

function renderHeader(p: AttentionPayload): void {
  header.replaceChildren(el('h1', { text: 'Attention heatmap' }));
  const tokens = el('p', { class: 'tokens', 'aria-label': 'Prompt tokens coloured by role' });
  p.tokens.forEach((t, i) => {
    const s = el('span', { class: `tok role-${t.role}`, title: `position ${i}, ${ROLE_LABEL[t.role]}`, 'data-role': t.role });
    s.textContent = t.text.replace(/ /g, '\u00a0');
    const c = roleColor(t.role, theme);
    s.style.setProperty('background-color', withAlpha(c, 0.22));
    s.style.setProperty('border-bottom-color', c);
    tokens.append(s);
  });
  const legend = el('p', { class: 'role-legend' });
  for (const r of ['subject', 'relation', 'last'] as const) {
    const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.setProperty('background-color', roleColor(r, theme));
    legend.append(el('span', { class: 'legend-item' }, sw, ROLE_LABEL[r]));
  }
  header.append(tokens, legend);
}

function render(): void {
  const p = current();
  if (!p) {
    figure.classList.add('loading');
    return;
  }
  figure.classList.remove('loading');
  syncControls(p);
  renderHeader(p);
  const spec = attentionHeatmap(p, state.agg, state.scale, theme);
  title.textContent = spec.title;
  subtitle.textContent = `${spec.scale.label}${spec.subtitle ? ' · ' + spec.subtitle : ''}`;
  caption.textContent = provenanceCaption(provenanceOfAttention(p, TOOL_VERSION));
  view.render(spec, theme, (app.clientWidth || window.innerWidth) - 40);
}

function setLayer(layer: number): void {
  const any = current() ?? state.payload ?? [...cache.values()][0];
  const max = any ? any.nLayers - 1 : Number(slider.max);
  const l = Math.max(0, Math.min(max, Math.round(layer)));
  if (l === state.layer && cache.has(l)) return;
  state.layer = l;
  slider.value = String(l);
  layerValue.textContent = `${l} / ${max}`;
  if (cache.has(l)) {
    setStatus(undefined);
    render();
    save();
  } else {
    figure.classList.add('loading');
    setStatus('busy', `Loading layer ${l}…`);
    if (!requested.has(l)) {
      requested.add(l);
      host.post({ type: 'requestLayer', layer: l });
    }
    host.setState({ ...state });
  }
}

function figureId(): string {
  return `attention-L${state.layer}-${state.agg.replace(':', '')}-${state.scale}`;
}

// ------------------------------------------------------------------ layout

const layerLabel = el('label', { class: 'layer-control', for: 'layer-slider' }, el('span', { class: 'control-label' }, 'Layer ', layerValue), slider);
const aggLabel = el('label', { class: 'control', for: 'agg-select' }, el('span', { class: 'control-label', text: 'Heads' }));
aggLabel.append(aggSelect);
const scaleLabel = el('label', { class: 'control', for: 'scale-select' }, el('span', { class: 'control-label', text: 'Colour scale' }));
scaleLabel.append(scaleSelect);
controls.append(layerLabel, aggLabel, scaleLabel);
fillOptions(scaleSelect, [
  { value: 'signed', label: 'Signed (diverging)' },
  { value: 'abs', label: '|M| min–max' },
  { value: 'row', label: 'Row-normalised |M|' },
], state.scale);
figure.append(el('div', { class: 'figure-head' }, title, subtitle), view.root, exportBar(host as Host<unknown>, figureId, 'the attention heatmap', {
  svg: () => {
    const p = current()!;
    return heatmapSvg(attentionHeatmap(p, state.agg, state.scale, theme), { theme, provenance: provenanceOfAttention(p, TOOL_VERSION) });
  },
  csv: () => attentionCsv(current()!, state.agg, provenanceOfAttention(current()!, TOOL_VERSION)),
  json: () => {
    const p = current()!;
    return jsonExport(figureId(), provenanceOfAttention(p, TOOL_VERSION), { layer: p.layer, aggregation: state.agg, tokens: p.tokens, matrix: aggregateHeads(p.heads, state.agg), blocked: p.blocked });
  },
}), caption);
app.replaceChildren(status, header, controls, hint, figure);
if (!state.payload) header.append(el('p', { class: 'placeholder', text: 'Run “Mamba Explain: Show Attention” on a prompt to see its attention matrices here.' }));

slider.addEventListener('input', () => setLayer(Number(slider.value)));
aggSelect.addEventListener('change', () => {
  if (!aggSelect.value || aggSelect.value === state.agg) return;
  state.agg = aggSelect.value as Aggregation;
  render();
  save();
});
scaleSelect.addEventListener('change', () => {
  if (!scaleSelect.value || scaleSelect.value === state.scale) return;
  state.scale = scaleSelect.value as ScaleMode;
  render();
  save();
});
document.addEventListener('keydown', (e) => {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target as HTMLElement | null;
  if (t && (t === slider || t.tagName === 'VSCODE-SINGLE-SELECT' || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
  if (e.key === 'ArrowLeft') {
    e.preventDefault();
    setLayer(state.layer - 1);
  } else if (e.key === 'ArrowRight') {
    e.preventDefault();
    setLayer(state.layer + 1);
  }
});

host.onMessage((m: HostToWebview) => {
  switch (m.type) {
    case 'attention': {
      const p = m.payload;
      if (state.payload && (p.prompt !== state.payload.prompt || p.nLayers !== state.payload.nLayers)) {
        cache.clear();
        requested.clear();
        nHeadsShown = -1;
      }
      cache.set(p.layer, p);
      requested.delete(p.layer);
      if (!state.payload || !cache.has(state.layer) || p.layer === state.layer || p.prompt !== state.payload.prompt) {
        state.layer = p.layer;
        setStatus(undefined);
        render();
        save();
      }
      break;
    }
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
let resizeTimer: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(render, 100);
});

host.post({ type: 'ready', view: 'heatmap' });
render();

(window as unknown as { __viewer: unknown }).__viewer = { view, state, cache, aggregationLabel };

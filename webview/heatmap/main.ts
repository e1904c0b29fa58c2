// Heatmap viewer: the attention matrices of the current prompt, one layer at a time: Mamba-2's M_h[i, j] per head
// (mean, max or one head), or Mamba-1 / Falcon-Mamba's α_ch[i, j] per channel (mean α or max |α| over all
// channels, or one channel, loaded on demand: a layer has d_inner channels, too many to send at once). Both: the
// mean over a decay third's features (fast / middle / slow, SPEC §4), computed by the host (payload.groups).
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { AttentionPayload, HostToWebview } from '../../src/shared/protocol';
import { DECAY_GROUPS } from '../../src/shared/protocol';
import { decodeAttention } from '../../src/shared/attentionWire';
import { LatestRequest } from '../../src/shared/requests';
import type { Theme } from '../shared/colors';
import { HeatmapView } from '../shared/canvasHeatmap';
import {
  aggregationLabel, attentionHeatmap, attentionMatrix, attentionUnit, channelOf, groupOf, normalizeAggregation, provenanceCaption, provenanceOfAttention,
  tokenLabel, unitCount, type Aggregation, type ScaleMode,
} from '../shared/figures';
import { attentionCsv, attentionJsonData, jsonExport } from '../shared/exportData';
import { heatmapSvg } from '../shared/svg';
import { roleLegend, roleTokens } from '../shared/roleTokens';
import { showStatus } from '../shared/statusBanner';
import { el, exportBar, handleCommonMessage, Host, onResizeSettled, onThemeChange, readTheme, type StatusKind } from '../shared/vscode';

declare const __MAMBA_EXPLAIN_VERSION__: string | undefined;
const TOOL_VERSION = typeof __MAMBA_EXPLAIN_VERSION__ !== 'undefined' ? __MAMBA_EXPLAIN_VERSION__ : 'dev';

interface ViewerState {
  v: 1;
  layer: number;
  agg: Aggregation;
  scale: ScaleMode;
  /** channel models: the channel of the number input (kept while the mean / max |α| is shown) */
  channel?: number;
  /** the payload last shown (restored after a reload) */
  payload?: AttentionPayload;
}

const host = new Host<ViewerState>();
const restored = host.getState();
const state: ViewerState = restored && restored.v === 1 ? restored : { v: 1, layer: 0, agg: 'mean', scale: 'signed' };
/** per layer: the payload (Mamba-2: every head; channel models: the summaries over all channels) */
const cache = new Map<number, AttentionPayload>();
/** channel models: α of one channel, by `${layer}:${channel}` */
const channelCache = new Map<string, number[][]>();
/**
 * The latest request ('requestLayer' with its id; key `${layer}` or `${layer}:${channel}`): only its reply is shown,
 * replies to older ones are stale and dropped. Ids start from the clock so a reloaded document never reuses one.
 */
const requests = new LatestRequest<string>(Date.now());
function remember(p: AttentionPayload): void {
  cache.set(p.layer, p);
  const sel = p.channels?.selected;
  if (sel) channelCache.set(`${p.layer}:${sel.id}`, sel.matrix);
}
if (state.payload) remember(state.payload);
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
    const raw = attentionMatrix(p, state.agg)?.[h.row]?.[h.col];
    const g = groupOf(state.agg);
    const sym = attentionUnit(p) === 'channel' ? (g ? `mean ${g} α` : state.agg === 'maxAbs' ? 'max |α|' : state.agg === 'mean' ? 'mean α' : 'α') : g ? `mean ${g} M` : 'M';
    const ti = tokenLabel(p.tokens[h.row]?.text ?? '');
    const tj = tokenLabel(p.tokens[h.col]?.text ?? '');
    if (h.col > h.row) return `${sym}[${h.row}, ${h.col}]: not causal (${ti} ← ${tj})`;
    const shown = state.scale === 'signed' ? '' : ` · shown ${Number(h.value.toPrecision(6))}`;
    return `${sym}[${h.row}, ${h.col}] = ${String(raw)}  (${ti} ← ${tj})${shown}`;
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
const channelInput = el('input', { type: 'number', id: 'channel-input', min: '0', step: '1', value: '0', inputmode: 'numeric', 'aria-label': 'Channel' });
const channelRange = el('span', { class: 'channel-range' });
const scaleSelect = document.createElement('vscode-single-select') as HTMLElement & { value: string };
scaleSelect.id = 'scale-select';
scaleSelect.setAttribute('aria-label', 'Colour scale');

function save(): void {
  const p = current() ?? cache.get(state.layer) ?? state.payload;
  state.payload = p;
  host.setState(state);
}

/** The payload to draw for the current layer and aggregation; undefined while something is still loading. */
function current(): AttentionPayload | undefined {
  const p = cache.get(state.layer);
  if (!p || attentionUnit(p) !== 'channel' || !p.channels) return p;
  const ch = channelOf(state.agg);
  if (ch === undefined) return p;
  if (p.channels.selected?.id === ch) return p;
  const matrix = channelCache.get(`${state.layer}:${ch}`);
  return matrix ? { ...p, channels: { ...p.channels, selected: { id: ch, matrix } } } : undefined;
}

/** Asks the host for what the current layer and aggregation need and is not here yet; true when nothing is missing. */
function request(): boolean {
  const l = state.layer;
  const ch = attentionUnit(cache.get(l) ?? state.payload ?? { unit: 'head' }) === 'channel' ? channelOf(state.agg) : undefined;
  const haveLayer = cache.has(l);
  const haveChannel = ch === undefined || channelCache.has(`${l}:${ch}`);
  if (haveLayer && haveChannel) return true;
  figure.classList.add('loading');
  setStatus('busy', ch === undefined || !haveLayer ? `Loading layer ${l}…` : `Loading channel ${ch} of layer ${l}…`);
  const key = ch === undefined ? `${l}` : `${l}:${ch}`;
  if (requests.pendingKey !== key) {
    const requestId = requests.issue(key);
    host.post(ch === undefined ? { type: 'requestLayer', requestId, layer: l } : { type: 'requestLayer', requestId, layer: l, channel: ch });
  }
  return false;
}

function setStatus(kind: StatusKind, message?: string): void {
  showStatus(status, kind, message);
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

/** The select's value: the aggregation, or 'channel' for any one channel (its number is in the input). */
function selectValue(): string {
  return channelOf(state.agg) !== undefined ? 'channel' : state.agg;
}

let unitsShown = '';
function syncControls(p: AttentionPayload): void {
  slider.max = String(p.nLayers - 1);
  slider.value = String(state.layer);
  slider.setAttribute('aria-valuetext', `Layer ${state.layer} of ${p.nLayers}`);
  layerValue.textContent = `${state.layer} / ${p.nLayers - 1}`;
  const unit = attentionUnit(p);
  const count = unitCount(p);
  const groups = p.groups ? DECAY_GROUPS.filter((g) => (p.groups![g]?.count ?? 0) > 0) : [];
  const sig = `${unit}:${count}:${groups.map((g) => `${g}${p.groups![g].count}`).join(',')}`;
  if (unitsShown !== sig) {
    unitsShown = sig;
    state.agg = normalizeAggregation(state.agg, p);
    // the decay thirds (SPEC §4): the mean over the group's features, computed by the host
    const groupOpts = groups.map((g) => ({
      value: `group:${g}`,
      label: unit === 'channel' ? `Mean α over ${g} channels (${p.groups![g].count})` : `Mean over ${g} heads (${p.groups![g].count})`,
    }));
    const opts =
      unit === 'channel'
        ? [
            { value: 'mean', label: 'Mean α over channels' },
            { value: 'maxAbs', label: 'Max |α| over channels' },
            ...groupOpts,
            { value: 'channel', label: 'Channel…' },
          ]
        : [
            { value: 'mean', label: 'Mean over heads' },
            { value: 'max', label: 'Max over heads' },
            ...groupOpts,
            ...p.heads.map((_, h) => ({ value: `head:${h}`, label: `Head ${h}` })),
          ];
    fillOptions(aggSelect, opts, selectValue());
    const name = unit === 'channel' ? 'Channels' : 'Heads';
    aggSelect.setAttribute('aria-label', name);
    aggName.textContent = name;
    channelInput.max = String(Math.max(0, count - 1));
    channelRange.textContent = `(0–${Math.max(0, count - 1)})`;
    channelInput.setAttribute('aria-label', `Channel, 0 to ${Math.max(0, count - 1)}`);
    if (state.channel !== undefined && state.channel >= count) state.channel = undefined;
  }
  const ch = channelOf(state.agg);
  channelLabel.hidden = unit !== 'channel' || ch === undefined;
  if (ch !== undefined && document.activeElement !== channelInput) channelInput.value = String(ch);
  if (aggSelect.value !== selectValue()) aggSelect.value = selectValue();
}

function renderHeader(p: AttentionPayload): void {
  header.replaceChildren(el('h1', { text: 'Attention heatmap' }));
  header.append(roleTokens(p.tokens, theme), roleLegend(theme));
}

function render(): void {
  const base = cache.get(state.layer);
  if (base) syncControls(base);
  const p = current();
  if (!p) {
    figure.classList.add('loading');
    return;
  }
  figure.classList.remove('loading');
  renderHeader(p);
  const spec = attentionHeatmap(p, state.agg, state.scale, theme);
  title.textContent = spec.title;
  subtitle.textContent = `${spec.scale.label}${spec.subtitle ? ' · ' + spec.subtitle : ''}`;
  caption.textContent = provenanceCaption(provenanceOfAttention(p, TOOL_VERSION, state.agg));
  view.render(spec, theme, (app.clientWidth || window.innerWidth) - 40);
}

/** Draws what is here, or asks the host for what is missing. */
function show(): void {
  if (request()) {
    setStatus(undefined);
    render();
    save();
  } else {
    render();
    host.setState({ ...state });
  }
}

function setLayer(layer: number): void {
  const any = cache.get(state.layer) ?? state.payload ?? [...cache.values()][0];
  const max = any ? any.nLayers - 1 : Number(slider.max);
  const l = Math.max(0, Math.min(max, Math.round(layer)));
  if (l === state.layer && current()) return;
  state.layer = l;
  slider.value = String(l);
  layerValue.textContent = `${l} / ${max}`;
  show();
}

/** Channel models: show channel `c` (validated against the layer's channel count). */
function setChannel(c: number): void {
  const p = cache.get(state.layer) ?? state.payload;
  const count = p ? unitCount(p) : 0;
  if (!Number.isInteger(c) || c < 0 || c >= count) {
    channelInput.setAttribute('aria-invalid', 'true');
    setStatus('error', `Channel must be a whole number from 0 to ${count - 1}.`);
    return;
  }
  channelInput.removeAttribute('aria-invalid');
  state.channel = c;
  if (state.agg === `channel:${c}` && current()) return;
  state.agg = `channel:${c}`;
  show();
}

function figureId(): string {
  return `attention-L${state.layer}-${state.agg.replace(':', '')}-${state.scale}`;
}

// ------------------------------------------------------------------ layout

const layerLabel = el('label', { class: 'layer-control', for: 'layer-slider' }, el('span', { class: 'control-label' }, 'Layer ', layerValue), slider);
const aggName = el('span', { class: 'control-label', text: 'Heads' });
const aggLabel = el('label', { class: 'control', for: 'agg-select' }, aggName);
aggLabel.append(aggSelect);
const channelLabel = el('label', { class: 'control channel-control', for: 'channel-input' }, el('span', { class: 'control-label' }, 'Channel ', channelRange), channelInput);
channelLabel.hidden = true;
const scaleLabel = el('label', { class: 'control', for: 'scale-select' }, el('span', { class: 'control-label', text: 'Colour scale' }));
scaleLabel.append(scaleSelect);
controls.append(layerLabel, aggLabel, channelLabel, scaleLabel);
fillOptions(scaleSelect, [
  { value: 'signed', label: 'Signed (diverging)' },
  { value: 'abs', label: '|M| min–max' },
  { value: 'row', label: 'Row-normalised |M|' },
], state.scale);
figure.append(el('div', { class: 'figure-head' }, title, subtitle), view.root, exportBar(host as Host<unknown>, figureId, 'the attention heatmap', {
  svg: () => {
    const p = current()!;
    return heatmapSvg(attentionHeatmap(p, state.agg, state.scale, theme), { theme, provenance: provenanceOfAttention(p, TOOL_VERSION, state.agg) });
  },
  csv: () => attentionCsv(current()!, state.agg, provenanceOfAttention(current()!, TOOL_VERSION, state.agg)),
  json: () => {
    const p = current()!;
    return jsonExport(figureId(), provenanceOfAttention(p, TOOL_VERSION, state.agg), attentionJsonData(p, state.agg));
  },
}), caption);
app.replaceChildren(status, header, controls, hint, figure);
if (!state.payload) header.append(el('p', { class: 'placeholder', text: 'Run “Mamba Explain: Show Attention” on a prompt to see its attention matrices here.' }));

slider.addEventListener('input', () => setLayer(Number(slider.value)));
aggSelect.addEventListener('change', () => {
  const v = aggSelect.value;
  if (!v || v === selectValue()) return;
  if (v === 'channel') {
    // "Channel…": the number input picks it; start from the last channel shown (or 0)
    setChannel(state.channel ?? 0);
    channelInput.focus();
    return;
  }
  state.agg = v as Aggregation;
  show();
});
channelInput.addEventListener('change', () => {
  const raw = channelInput.value.trim();
  setChannel(raw === '' ? NaN : Number(raw));
});
channelInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    channelInput.dispatchEvent(new Event('change'));
  }
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

/** The trace comes from another model than the engine's: show nothing of it, only the message and the re-trace action. */
function showMismatch(message: string): void {
  cache.clear();
  channelCache.clear();
  requests.invalidate();
  unitsShown = '';
  state.payload = undefined;
  host.setState({ ...state });
  setStatus(undefined);
  for (const e of [controls, hint, figure]) e.hidden = true;
  const btn = el('button', { type: 'button', class: 'run-button', id: 'retrace', text: 'Re-trace with the current model' });
  btn.addEventListener('click', () => {
    btn.disabled = true;
    host.post({ type: 'retrace' });
  });
  header.replaceChildren(el('h1', { text: 'Attention heatmap' }), el('p', { class: 'placeholder', id: 'model-mismatch', role: 'alert', text: message }), el('p', {}, btn));
}

host.onMessage((m: HostToWebview) => {
  // a reply to an older request than the latest: the user moved on (or a newer trace came): drop it
  const reply = m.type === 'attention' || m.type === 'error' || m.type === 'modelMismatch' ? requests.settle(m.requestId) : undefined;
  if (reply === 'stale') return;
  // a push (a new trace, a re-sent layer): whatever was asked before is stale
  if (reply === 'push') requests.invalidate();
  switch (m.type) {
    case 'modelMismatch':
      showMismatch(m.message);
      break;
    case 'attention': {
      let p: AttentionPayload;
      try {
        p = decodeAttention(m.payload);
      } catch (e) {
        setStatus('error', `Malformed attention from the host: ${(e as Error).message}`);
        break;
      }
      for (const e of [controls, hint, figure]) e.hidden = false;
      const prev = state.payload;
      const samePrompt = prev && p.prompt === prev.prompt;
      if (prev && (!samePrompt || p.nLayers !== prev.nLayers || attentionUnit(p) !== attentionUnit(prev) || unitCount(p) !== unitCount(prev) || p.model?.hash !== prev.model?.hash)) {
        cache.clear();
        channelCache.clear();
        unitsShown = '';
      }
      remember(p);
      if (!prev || !cache.has(state.layer) || p.layer === state.layer || !samePrompt) {
        state.layer = p.layer;
        show();
      }
      break;
    }
    case 'error':
      // the request that failed is settled: moving away and back asks again
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
onResizeSettled(render);

host.post({ type: 'ready', view: 'heatmap' });
render();

(window as unknown as { __viewer: unknown }).__viewer = { view, state, cache, channelCache, aggregationLabel, requests };

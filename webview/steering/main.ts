// Steering view (SPEC §5): layer, channels (typed or picked from the bottleneck finder's ranking) and a scale slider;
// the next-token distribution and the greedy continuation, steered beside clean, follow the slider (debounced; each
// request carries an id and stale replies are ignored); the effective-rank chart and the ranked channels; a sweep of
// the scales over a dataset (accuracy and mean log-prob with 95% intervals, leave-one-out impacts). Exports like the
// other figures.
import type { GenerateResult } from '../../src/engine/experiments/generate';
import type { BottleneckResult } from '../../src/engine/experiments/bottlenecks';
import type { SteerSweepResult } from '../../src/engine/experiments/steerSweep';
import type { HostToWebview, SteerSpec, SteerTop, SteeringInit } from '../../src/shared/protocol';
import type { Theme } from '../shared/colors';
import { jsonExport } from '../shared/exportData';
import { modelFamily, tokenLabel } from '../shared/figures';
import {
  barChartSvg, continuationCsv, continuationRows, continuationSvg, distributionCsv, distributionRows, distributionSvg, effectiveRankChart, effectiveRankCsv,
  formatChannels, formatPercent, formatScale, leaveOneOutChart, parseChannels, parseScales, RequestIds, sideBySideSvg, steeringProvenance, steerText,
  sweepChart, sweepCsv, type SweepMetric,
} from '../shared/steering';
import { showStatus } from '../shared/statusBanner';
import { el, exportBar, handleCommonMessage, Host, onResizeSettled, onThemeChange, readTheme, type StatusKind } from '../shared/vscode';

declare const __MAMBA_EXPLAIN_VERSION__: string | undefined;
const TOOL_VERSION = typeof __MAMBA_EXPLAIN_VERSION__ !== 'undefined' ? __MAMBA_EXPLAIN_VERSION__ : 'dev';
const DEBOUNCE_MS = 150;
const TOP_K = 8;

interface SteeringState {
  v: 1;
  init?: SteeringInit;
  prompt: string;
  layer: number;
  channelsText: string;
  scale: number;
  maxTokens: number;
  dist?: { steer: SteerSpec; clean: SteerTop[]; steered: SteerTop[] };
  gen?: { steer: SteerSpec; result: GenerateResult };
  bottlenecks?: BottleneckResult;
  checked: number[];
  texts: number;
  sweep?: SteerSweepResult;
  sweepScales: string;
  metric: SweepMetric;
  leaveOneOut: boolean;
  limit: string;
  looScale?: number;
}

const host = new Host<SteeringState>();
const restored = host.getState();
let state: SteeringState =
  restored && restored.v === 1
    ? restored
    : { v: 1, prompt: '', layer: 0, channelsText: '0-15', scale: 1, maxTokens: 12, checked: [], texts: 50, sweepScales: '0, 0.5, 1, 2, 5, 10', metric: 'accuracy', leaveOneOut: false, limit: '' };
let theme: Theme = readTheme();
// ids start at the clock so that they keep increasing across reloads of the document (the host drops older ones)
const ids = new RequestIds(Date.now());
let timer: ReturnType<typeof setTimeout> | undefined;
/** the request whose next-token distribution / continuation is still awaited */
let pendingDist = false;
let pendingGen = false;

const app = document.getElementById('app')!;
function save(): void {
  host.setState(state);
}

// ------------------------------------------------------------------ skeleton

const title = el('h1', { text: 'Steering' });
const meta = el('p', { class: 'meta', id: 'steer-meta' });
const status = el('div', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'status' });

const promptInput = el('input', { type: 'text', id: 'steer-prompt', class: 'text-input wide', 'aria-label': 'Prompt', spellcheck: 'false' }) as HTMLInputElement;
const layerInput = el('input', { type: 'number', id: 'steer-layer', class: 'text-input narrow', min: '0', step: '1', 'aria-label': 'Layer' }) as HTMLInputElement;
const channelsInput = el('input', { type: 'text', id: 'steer-channels', class: 'text-input', 'aria-label': 'Channels (e.g. 4,38,84 or 0-63)', spellcheck: 'false' }) as HTMLInputElement;
const channelsNote = el('span', { class: 'hint', id: 'steer-channels-note' });
const scaleSlider = el('input', { type: 'range', id: 'steer-scale', min: '0', max: '10', step: '0.1', 'aria-label': 'Scale' }) as HTMLInputElement;
const scaleNumber = el('input', { type: 'number', id: 'steer-scale-value', class: 'text-input narrow', step: '0.1', 'aria-label': 'Scale (exact value)' }) as HTMLInputElement;
const maxTokensInput = el('input', { type: 'number', id: 'steer-max-tokens', class: 'text-input narrow', min: '0', max: '256', step: '1', 'aria-label': 'Tokens to generate' }) as HTMLInputElement;
const presetBox = el('span', { class: 'preset-box' });

function control(label: string, ...children: (Node | string)[]): HTMLElement {
  return el('label', { class: 'control' }, el('span', { class: 'control-label', text: label }), ...children);
}

const controls = el(
  'section',
  { class: 'steer-controls', 'aria-label': 'Steering controls' },
  el('div', { class: 'controls' }, control('Prompt', promptInput)),
  el(
    'div',
    { class: 'controls' },
    control('Layer', layerInput),
    el('label', { class: 'control channels-control' }, el('span', { class: 'control-label', text: 'Channels of the mixer output' }), channelsInput, channelsNote),
    el('div', { class: 'control scale-control' }, el('span', { class: 'control-label', id: 'scale-label', text: 'Scale s' }), el('div', { class: 'scale-row' }, scaleSlider, scaleNumber)),
    control('Tokens', maxTokensInput),
    presetBox,
  ),
  el('p', { class: 'hint', id: 'steer-hint', text: "Channels of layer ℓ's mixer output (after out_proj, before the residual add) are multiplied by s at every position; s = 1 is the unsteered model." }),
);

const distSection = el('section', { class: 'figure', id: 'fig-dist', 'aria-label': 'Next-token distribution' });
const genSection = el('section', { class: 'figure', id: 'fig-gen', 'aria-label': 'Greedy continuation' });
const rankSection = el('section', { class: 'figure', id: 'fig-rank', 'aria-label': 'Bottleneck finder' });
const sweepSection = el('section', { class: 'figure', id: 'fig-sweep', 'aria-label': 'Scale sweep' });

app.replaceChildren(title, meta, status, controls, el('h2', { text: 'Next-token distribution' }), distSection, el('h2', { text: 'Greedy continuation' }), genSection, el('h2', { text: 'Bottleneck finder' }), rankSection, el('h2', { text: 'Scale sweep' }), sweepSection);

// ------------------------------------------------------------------ status

function setStatus(kind: StatusKind, message?: string): void {
  if (showStatus(status, kind, message) && kind === 'busy') {
    const b = el('button', { type: 'button', class: 'export-button', id: 'steer-cancel', text: 'Cancel' });
    b.addEventListener('click', () => host.post({ type: 'cancel' }));
    status.append(b);
  }
}

// ------------------------------------------------------------------ controls

function dModel(): number {
  return state.init?.dModel ?? 1 << 20;
}

function currentSteer(): SteerSpec | string {
  const nLayer = state.init?.nLayer ?? 4096;
  const layer = state.layer;
  if (!Number.isInteger(layer) || layer < 0 || layer >= nLayer) return `Layer must be 0..${nLayer - 1}.`;
  const ch = parseChannels(state.channelsText, dModel());
  if (!ch.ok) return ch.message;
  if (!Number.isFinite(state.scale)) return 'The scale must be a number.';
  return { layer, channels: ch.channels, scale: state.scale };
}

function syncControls(): void {
  promptInput.value = state.prompt;
  layerInput.value = String(state.layer);
  if (state.init) layerInput.max = String(state.init.nLayer - 1);
  channelsInput.value = state.channelsText;
  scaleSlider.value = String(Math.max(0, Math.min(10, state.scale)));
  scaleNumber.value = formatScale(state.scale);
  scaleSlider.setAttribute('aria-valuetext', `×${formatScale(state.scale)}`);
  maxTokensInput.value = String(state.maxTokens);
  const s = currentSteer();
  channelsInput.setAttribute('aria-invalid', typeof s === 'string' && !parseChannels(state.channelsText, dModel()).ok ? 'true' : 'false');
  channelsNote.textContent = typeof s === 'string' ? s : `${s.channels.length} channel(s) of ${state.init?.dModel ?? '?'} · --steer ${steerText(s).slice(0, 60)}`;
  channelsNote.classList.toggle('invalid', typeof s === 'string');
}

function schedule(delay = DEBOUNCE_MS): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = setTimeout(() => {
    timer = undefined;
    request();
  }, delay);
}

function request(): void {
  const s = currentSteer();
  if (typeof s === 'string' || state.prompt.trim() === '' || !state.init) {
    if (typeof s === 'string') setStatus('error', s);
    return;
  }
  const requestId = ids.next();
  pendingDist = true;
  pendingGen = state.maxTokens > 0;
  distSection.classList.add('loading');
  if (pendingGen) genSection.classList.add('loading');
  host.post({ type: 'steer', requestId, prompt: state.prompt, layer: s.layer, channels: s.channels, scale: s.scale, maxTokens: state.maxTokens, top: TOP_K });
}

promptInput.addEventListener('change', () => {
  state.prompt = promptInput.value;
  save();
  schedule(0);
});
layerInput.addEventListener('change', () => {
  state.layer = Number(layerInput.value);
  save();
  syncControls();
  renderRank();
  schedule(0);
});
channelsInput.addEventListener('input', () => {
  state.channelsText = channelsInput.value;
  save();
  syncControls();
  schedule(400);
});
scaleSlider.addEventListener('input', () => {
  state.scale = Number(scaleSlider.value);
  save();
  syncControls();
  schedule();
});
scaleNumber.addEventListener('change', () => {
  const v = Number(scaleNumber.value);
  if (scaleNumber.value.trim() === '' || !Number.isFinite(v) || Math.abs(v) > 1000) {
    scaleNumber.setAttribute('aria-invalid', 'true');
    return;
  }
  scaleNumber.setAttribute('aria-invalid', 'false');
  state.scale = v;
  save();
  syncControls();
  schedule(0);
});
maxTokensInput.addEventListener('change', () => {
  const v = Number(maxTokensInput.value);
  state.maxTokens = Number.isInteger(v) ? Math.max(0, Math.min(256, v)) : 12;
  save();
  syncControls();
  schedule(0);
});

function renderPresets(): void {
  presetBox.replaceChildren();
  for (const p of state.init?.presets ?? []) {
    const b = el('button', { type: 'button', class: 'export-button preset-button', title: `--steer preset:${p.name}: layer ${p.layer}, ×${p.scale}, channels ${p.channels.join(',')}`, text: `Preset ${p.name}` });
    b.addEventListener('click', () => {
      state.layer = p.layer;
      state.channelsText = formatChannels(p.channels);
      state.scale = p.scale;
      save();
      syncControls();
      schedule(0);
    });
    presetBox.append(b);
  }
}

// ------------------------------------------------------------------ figures

function svgNode(svg: string, cls: string): Element {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const node = document.importNode(doc.documentElement, true);
  node.setAttribute('class', cls);
  return node;
}

const prov = (extra: [string, string][] = []) => steeringProvenance(state.init, TOOL_VERSION, extra);

function renderDist(): void {
  const d = state.dist;
  if (!d) {
    distSection.replaceChildren(el('p', { class: 'placeholder', text: state.init ? 'Move the scale or enter a prompt to see the next-token distribution.' : 'Waiting for the model…' }));
    return;
  }
  const rows = distributionRows(d.clean, d.steered);
  const extra: [string, string][] = [['prompt', state.prompt], ['steer', steerText(d.steer)]];
  const width = Math.min(900, Math.max(520, app.clientWidth - 24));
  const svg = distributionSvg(rows, d.steer, { theme, width, bare: true });
  const cleanTop = d.clean[0];
  const steerTop = d.steered[0];
  const summary = el(
    'p',
    { class: 'subtitle', id: 'dist-summary' },
    'Top-1 clean ',
    el('strong', { class: 'tok-clean', text: cleanTop ? tokenLabel(cleanTop.text) : '—' }),
    ` ${cleanTop ? formatPercent(cleanTop.prob) : ''} · steered `,
    el('strong', { class: 'tok-steered', text: steerTop ? tokenLabel(steerTop.text) : '—' }),
    ` ${steerTop ? formatPercent(steerTop.prob) : ''} · --steer ${steerText(d.steer).slice(0, 80)}`,
  );
  distSection.replaceChildren(
    summary,
    svgNode(svg, 'steer-svg dist-svg'),
    exportBar(host, () => `steer-next-token-x${formatScale(d.steer.scale)}`, 'the next-token distribution', {
      svg: () => distributionSvg(rows, d.steer, { theme, provenance: prov(extra) }),
      csv: () => distributionCsv(rows, d.steer, prov(extra)),
      json: () => jsonExport('steer-next-token', prov(extra), { prompt: state.prompt, steer: d.steer, clean: d.clean, steered: d.steered }),
    }),
  );
  distSection.classList.toggle('loading', pendingDist);
}

function chips(run: GenerateResult['clean'] | undefined, other: GenerateResult['clean'] | undefined, cls: string): HTMLElement {
  const p = el('p', { class: `tokens continuation ${cls}` });
  run?.steps.forEach((st, i) => {
    const differs = other !== undefined && other.steps[i]?.id !== st.id;
    const prob = st.top.find((t) => t.id === st.id)?.prob;
    const s = el('span', { class: `tok gen-tok${differs ? ' differs' : ''}`, title: `step ${i + 1}: ${JSON.stringify(st.text)} p = ${prob !== undefined ? formatPercent(prob) : 'n/a'}; top: ${st.top.map((t) => `${JSON.stringify(t.text)} ${formatPercent(t.prob)}`).join(', ')}` });
    s.textContent = st.text.replace(/ /g, '\u00a0').replace(/\n/g, '⏎');
    p.append(s, el('wbr'));
  });
  return p;
}

function renderGen(): void {
  const g = state.gen;
  if (!g) {
    genSection.replaceChildren(el('p', { class: 'placeholder', text: state.maxTokens > 0 ? 'The greedy continuation appears here.' : 'Tokens is 0: no continuation.' }));
    return;
  }
  const r = g.result;
  const rows = continuationRows(r);
  const div = rows.findIndex((x) => x.differs);
  const extra: [string, string][] = [['prompt', r.prompt], ['steer', steerText(g.steer)], ['tokens/s', `clean ${r.tokensPerSecond.clean.toFixed(1)}${r.tokensPerSecond.steered !== undefined ? `, steered ${r.tokensPerSecond.steered.toFixed(1)}` : ''}`]];
  const grid = el(
    'div',
    { class: 'continuations' },
    el('div', { class: 'cont-label clean', text: 'clean' }),
    el('div', {}, el('span', { class: 'prompt-text', text: r.prompt }), chips(r.clean, undefined, 'clean')),
    el('div', { class: 'cont-label steered', text: `steered ×${formatScale(g.steer.scale)}` }),
    el('div', {}, el('span', { class: 'prompt-text', text: r.prompt }), chips(r.steered, r.clean, 'steered')),
  );
  genSection.replaceChildren(
    el('p', { class: 'subtitle', id: 'gen-summary', text: `${r.clean.steps.length} greedy tokens · ${div < 0 ? 'the steered continuation equals the clean one' : `they part at step ${div + 1}`} · ${r.tokensPerSecond.clean.toFixed(0)} tokens/s (${r.ep})` }),
    grid,
    exportBar(host, () => `steer-continuation-x${formatScale(g.steer.scale)}`, 'the greedy continuation', {
      svg: () => continuationSvg(r, g.steer, { theme, provenance: prov(extra) }),
      csv: () => continuationCsv(r, g.steer, prov(extra)),
      json: () => jsonExport('steer-continuation', prov(extra), { steer: g.steer, ...r }),
    }),
  );
  genSection.classList.toggle('loading', pendingGen);
}

function renderRank(): void {
  const b = state.bottlenecks;
  const find = el('button', { type: 'button', class: 'run-button', id: 'find-bottleneck', text: 'Find bottleneck…' });
  const textsInput = el('input', { type: 'number', class: 'text-input narrow', id: 'bottleneck-texts', min: '1', step: '1', value: String(state.texts), 'aria-label': 'Texts of the corpus' }) as HTMLInputElement;
  textsInput.addEventListener('change', () => {
    const v = Number(textsInput.value);
    state.texts = Number.isInteger(v) && v > 0 ? v : 50;
    save();
  });
  find.addEventListener('click', () => {
    host.post({ type: 'findBottleneck', texts: state.texts });
  });
  const bar = el('div', { class: 'controls' }, control('Texts', textsInput), find, el('span', { class: 'hint', text: 'Asks for a corpus: text paragraphs, JSON Lines with "text", or a COUNTERFACT-style JSON file.' }));
  if (!b) {
    rankSection.replaceChildren(bar);
    return;
  }
  const spec = effectiveRankChart(b, theme, state.layer);
  const extra: [string, string][] = [['corpus', `${b.corpus.file} (${b.corpus.texts} texts, ${b.corpus.tokens} tokens)`], ['bottleneck', `layer ${b.bottleneck}`], ['ranked layer', String(b.layer)]];
  const width = Math.min(900, Math.max(520, app.clientWidth - 24));
  const checked = new Set(state.checked);
  const table = el('table', { class: 'topk channel-table', id: 'channel-table' });
  table.append(el('caption', { text: `Channels of layer ${b.layer} ranked by the variance across texts of their per-text mean` }));
  table.append(el('thead', {}, el('tr', {}, el('th', { text: '' }), el('th', { text: 'rank' }), el('th', { text: 'channel' }), el('th', { text: 'variance' }), el('th', { text: 'mean' }))));
  const tbody = el('tbody');
  b.channels.forEach((c, i) => {
    const box = el('input', { type: 'checkbox', 'data-channel': String(c.channel), 'aria-label': `channel ${c.channel}` }) as HTMLInputElement;
    box.checked = checked.has(c.channel);
    box.addEventListener('change', () => {
      const set = new Set(state.checked);
      if (box.checked) set.add(c.channel);
      else set.delete(c.channel);
      state.checked = [...set].sort((x, y) => x - y);
      save();
      useBtn.disabled = state.checked.length === 0;
      useBtn.textContent = `Steer the ${state.checked.length} checked channel(s) at layer ${b.layer}`;
    });
    tbody.append(el('tr', {}, el('td', {}, box), el('td', { class: 'num', text: String(i + 1) }), el('td', { class: 'num', text: String(c.channel) }), el('td', { class: 'num', text: c.variance.toPrecision(4) }), el('td', { class: 'num', text: c.mean.toPrecision(4) })));
  });
  table.append(tbody);
  const useBtn = el('button', { type: 'button', class: 'run-button', id: 'use-channels', text: `Steer the ${state.checked.length} checked channel(s) at layer ${b.layer}` }) as HTMLButtonElement;
  useBtn.disabled = state.checked.length === 0;
  useBtn.addEventListener('click', () => {
    if (state.checked.length === 0) return;
    state.layer = b.layer;
    state.channelsText = formatChannels(state.checked);
    save();
    syncControls();
    renderRank();
    schedule(0);
  });
  const topBtn = el('button', { type: 'button', class: 'export-button', id: 'check-top', text: 'Check the top 16' });
  topBtn.addEventListener('click', () => {
    state.checked = b.channels.slice(0, 16).map((c) => c.channel).sort((x, y) => x - y);
    save();
    renderRank();
  });
  const clearBtn = el('button', { type: 'button', class: 'export-button', text: 'Clear' });
  clearBtn.addEventListener('click', () => {
    state.checked = [];
    save();
    renderRank();
  });
  rankSection.replaceChildren(
    bar,
    el('p', { class: 'subtitle', text: spec.subtitle ?? '' }),
    el('div', { class: 'rank-layout' },
      el('div', {}, svgNode(barChartSvg(spec, { theme, width: Math.min(width, 620), height: 300, bare: true }), 'steer-svg rank-svg'),
        exportBar(host, () => `steer-effective-rank`, 'the effective-rank chart', {
          svg: () => barChartSvg(spec, { theme, provenance: prov(extra), width: 760, height: 360 }),
          csv: () => effectiveRankCsv(b, prov(extra)),
          json: () => jsonExport('steer-effective-rank', prov(extra), b),
        })),
      el('div', { class: 'channel-pick' }, el('div', { class: 'table-scroll' }, table), el('div', { class: 'controls' }, useBtn, topBtn, clearBtn)),
    ),
  );
}

function renderSweep(): void {
  const r = state.sweep;
  const scalesInput = el('input', { type: 'text', class: 'text-input', id: 'sweep-scales', value: state.sweepScales, 'aria-label': 'Scales' }) as HTMLInputElement;
  const metricSel = el('select', { id: 'sweep-metric', class: 'text-input', 'aria-label': 'Metric of the leave-one-out impacts' }, el('option', { value: 'accuracy', text: 'accuracy' }), el('option', { value: 'logprob', text: 'log-prob' })) as HTMLSelectElement;
  metricSel.value = state.metric;
  const looBox = el('input', { type: 'checkbox', id: 'sweep-loo' }) as HTMLInputElement;
  looBox.checked = state.leaveOneOut;
  const limitInput = el('input', { type: 'number', class: 'text-input narrow', id: 'sweep-limit', min: '1', step: '1', value: state.limit, placeholder: 'all', 'aria-label': 'Most prompts' }) as HTMLInputElement;
  const run = el('button', { type: 'button', class: 'run-button', id: 'sweep-run', text: 'Sweep scales…' });
  const note = el('span', { class: 'hint', id: 'sweep-note' });
  scalesInput.addEventListener('change', () => {
    state.sweepScales = scalesInput.value;
    save();
  });
  metricSel.addEventListener('change', () => {
    state.metric = metricSel.value === 'logprob' ? 'logprob' : 'accuracy';
    save();
  });
  looBox.addEventListener('change', () => {
    state.leaveOneOut = looBox.checked;
    save();
  });
  limitInput.addEventListener('change', () => {
    state.limit = limitInput.value;
    save();
  });
  run.addEventListener('click', () => {
    state.sweepScales = scalesInput.value;
    const sc = parseScales(state.sweepScales);
    const s = currentSteer();
    if (!sc.ok) return void (note.textContent = sc.message);
    if (typeof s === 'string') return void (note.textContent = s);
    const limit = Number(state.limit);
    note.textContent = '';
    host.post({ type: 'sweepScales', layer: s.layer, channels: s.channels, scales: sc.scales, metric: state.metric, leaveOneOut: state.leaveOneOut, ...(state.limit.trim() !== '' && Number.isInteger(limit) && limit > 0 ? { limit } : {}) });
  });
  const bar = el(
    'div',
    { class: 'controls' },
    control('Scales', scalesInput),
    control('Most prompts', limitInput),
    el('label', { class: 'control inline' }, looBox, el('span', { text: 'leave-one-out' })),
    control('Impact metric', metricSel),
    run,
    note,
  );
  if (!r) {
    sweepSection.replaceChildren(bar, el('p', { class: 'hint', text: "Asks for a COUNTERFACT-style dataset; sweeps the layer and channels above (the slider's scale is not used)." }));
    return;
  }
  const extra: [string, string][] = [['dataset', `${r.dataset.file} (${r.dataset.rows} rows, sha256 ${r.dataset.sha256})`], ['steer', `layer ${r.layer}, channels ${formatChannels(r.channels)}`], ['prompts', `${r.prompts} (${r.skipped.length} skipped)`]];
  const acc = sweepChart(r, 'accuracy', theme);
  const lp = sweepChart(r, 'logprob', theme);
  const w = Math.max(320, Math.min(450, Math.floor((app.clientWidth - 40) / 2)));
  const both = () => sideBySideSvg(barChartSvg(acc, { theme, width: 450, height: 320 }), barChartSvg(lp, { theme, width: 450, height: 320 }), 450, 450, 320, `Scale sweep: layer ${r.layer}, ${r.channels.length} channel(s)`, { theme, provenance: prov(extra) });
  const parts: Node[] = [
    bar,
    el('p', { class: 'subtitle', id: 'sweep-summary', text: `layer ${r.layer}, channels ${formatChannels(r.channels).slice(0, 80)} · ${r.prompts} prompts${r.skipped.length ? `, ${r.skipped.length} skipped` : ''} · ${r.passes} passes` }),
    el('div', { class: 'sweep-charts' }, svgNode(barChartSvg(acc, { theme, width: w, height: 300 }), 'steer-svg sweep-svg'), svgNode(barChartSvg(lp, { theme, width: w, height: 300 }), 'steer-svg sweep-svg')),
    exportBar(host, () => `steer-sweep-l${r.layer}`, 'the scale sweep', { svg: both, csv: () => sweepCsv(r, prov(extra)), json: () => jsonExport('steer-sweep', prov(extra), r) }),
  ];
  if (r.leaveOneOut && r.leaveOneOut.length > 0) {
    const scales = r.leaveOneOut.map((e) => e.scale);
    const chosen = state.looScale !== undefined && scales.includes(state.looScale) ? state.looScale : scales.reduce((a, b) => (Math.abs(b - 1) > Math.abs(a - 1) ? b : a), scales[0]);
    const sel = el('select', { id: 'loo-scale', class: 'text-input', 'aria-label': 'Scale of the leave-one-out impacts' }, ...scales.map((s) => el('option', { value: String(s), text: `×${formatScale(s)}` }))) as HTMLSelectElement;
    sel.value = String(chosen);
    sel.addEventListener('change', () => {
      state.looScale = Number(sel.value);
      save();
      renderSweep();
    });
    const spec = leaveOneOutChart(r, chosen, theme)!;
    const looExtra: [string, string][] = [...extra, ['leave-one-out scale', formatScale(chosen)], ['impact metric', r.metric]];
    parts.push(
      el('h3', { class: 'loo-title', text: 'Leave-one-out impacts' }),
      el('div', { class: 'controls' }, control('At scale', sel), el('span', { class: 'hint', text: spec.subtitle ?? '' })),
      el('div', { id: 'fig-loo' },
        svgNode(barChartSvg(spec, { theme, width: Math.min(900, Math.max(520, app.clientWidth - 24)), height: 300, bare: true }), 'steer-svg loo-svg'),
        exportBar(host, () => spec.id, 'the leave-one-out impacts', {
          svg: () => barChartSvg(spec, { theme, provenance: prov(looExtra), width: 860, height: 360 }),
          csv: () => sweepCsv(r, prov(looExtra)),
          json: () => jsonExport(spec.id, prov(looExtra), { scale: chosen, metric: r.metric, channels: r.leaveOneOut?.find((e) => e.scale === chosen)?.channels ?? [] }),
        })),
    );
  }
  sweepSection.replaceChildren(...parts);
}

function renderMeta(): void {
  const i = state.init;
  if (!i) {
    meta.textContent = 'Waiting for the model…';
    return;
  }
  const fam = i.model ? modelFamily(i.model) : 'Mamba-2';
  meta.replaceChildren(el('span', { class: 'family-badge', text: fam }), ` ${i.model?.path ?? 'model'} · ${i.nLayer} layers · d_model ${i.dModel}${i.ep ? ` · ${i.ep}` : ''}`);
}

function renderAll(): void {
  renderMeta();
  syncControls();
  renderPresets();
  renderDist();
  renderGen();
  renderRank();
  renderSweep();
}

// ------------------------------------------------------------------ messages

host.onMessage((m: HostToWebview) => {
  if (handleCommonMessage(m, setStatus, () => {
    theme = readTheme();
    renderAll();
  })) {
    if (m.type === 'error') {
      pendingDist = pendingGen = false;
      distSection.classList.remove('loading');
      genSection.classList.remove('loading');
    }
    return;
  }
  switch (m.type) {
    case 'steerInit': {
      const first = !state.init || state.init.model?.hash !== m.payload.model?.hash;
      state.init = m.payload;
      const ini = m.payload.initial ?? {};
      if (first || m.payload.initial) {
        if (m.payload.prompt) state.prompt = m.payload.prompt;
        if (ini.layer !== undefined) state.layer = ini.layer;
        else if (first) state.layer = Math.min(state.layer, m.payload.nLayer - 1);
        if (ini.channels) state.channelsText = formatChannels(ini.channels);
        if (ini.scale !== undefined) state.scale = ini.scale;
        if (ini.maxTokens !== undefined) state.maxTokens = ini.maxTokens;
      }
      if (first) {
        state.dist = state.gen = undefined;
        if (state.bottlenecks && first) state.bottlenecks = undefined;
      }
      save();
      renderAll();
      schedule(0);
      return;
    }
    case 'steerPredict':
      if (!ids.accept(m.requestId)) return;
      pendingDist = false;
      state.dist = { steer: m.steer, clean: m.clean, steered: m.steered };
      save();
      renderDist();
      return;
    case 'steerGenerate':
      if (!ids.accept(m.requestId)) return;
      pendingGen = false;
      state.gen = { steer: m.steer, result: m.result };
      save();
      renderGen();
      return;
    case 'bottlenecks':
      state.bottlenecks = m.result;
      state.checked = m.result.channels.slice(0, 16).map((c) => c.channel).sort((a, b) => a - b);
      setStatus(undefined);
      save();
      renderRank();
      return;
    case 'steerSweep':
      state.sweep = m.result;
      setStatus(undefined);
      save();
      renderSweep();
      return;
    default:
      return;
  }
});

onThemeChange(() => {
  theme = readTheme();
  renderAll();
});

onResizeSettled(renderAll, 150);

renderAll();
host.post({ type: 'ready', view: 'steering' });

// test hook (harmless in VS Code)
(window as unknown as { __steering: unknown }).__steering = {
  get state() {
    return state;
  },
  get requestId() {
    return ids.current;
  },
};

// Knockout panel: prompt tokens by role, clean top-k, macro curves (chart.js), micro heatmap (canvas),
// dataset means with 95% CI bands and the first-token split. Exports go to the host as 'export' messages.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import { Chart, Filler, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartDataset } from 'chart.js';
import type { AnyResult, DatasetRunResult, MicroResult, TokenInfo, TopToken, TraceResult } from '../../src/engine/experiments/resultTypes';
import type { HostToWebview } from '../../src/shared/protocol';
import { ROLE_LABEL, roleColor, withAlpha, type Theme } from '../shared/colors';
import { HeatmapView } from '../shared/canvasHeatmap';
import {
  convModeOf, datasetChart, datasetCount, datasetWindows, formatPct, formatProb, knockoutModeHint, knockoutModeLabel, microHeatmap, modelFamily,
  provenanceCaption, provenanceOf, SPLIT_LABEL, tokenLabel, traceChart, X_LABEL, Y_LABEL, type LineChartSpec, type SplitGroup,
} from '../shared/figures';
import { datasetCsv, jsonExport, macroCsv, microCsv } from '../shared/exportData';
import { heatmapSvg, lineChartSvg, summarizeLineChart } from '../shared/svg';
import { el, exportBar, handleCommonMessage, Host, onThemeChange, readTheme } from '../shared/vscode';

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
}

const SEED_WINDOWS = [1, 3, 5, 9, 12, 15];

const host = new Host<PanelState>();
const restored = host.getState();
let state: PanelState = restored && restored.v === 1 ? { ...restored, hidden: restored.hidden ?? [], group: restored.group ?? 'all' } : { v: 1, hidden: [], group: 'all' };
let theme: Theme = readTheme();
let chart: Chart | undefined;
let heatmap: HeatmapView | undefined;
let lastSpec: LineChartSpec | undefined;

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

function setStatus(kind: 'busy' | 'error' | 'info' | undefined, message?: string): void {
  status.replaceChildren();
  status.className = `status${kind ? ' ' + kind : ''}`;
  if (!kind || !message) return;
  if (kind === 'busy') status.append(el('span', { class: 'spinner', 'aria-hidden': 'true' }));
  status.append(el('span', { text: message }));
}

// ------------------------------------------------------------------ pieces

function tokensView(tokens: TokenInfo[] | { text: string; role?: TokenInfo['role'] }[]): HTMLElement {
  const p = el('p', { class: 'tokens', 'aria-label': 'Prompt tokens coloured by role' });
  tokens.forEach((t, i) => {
    const s = el('span', { class: `tok${t.role ? ' role-' + t.role : ''}`, title: `position ${i}${t.role ? ', ' + ROLE_LABEL[t.role] : ''}`, 'data-role': t.role ?? '' });
    s.textContent = t.text.replace(/ /g, '\u00a0');
    if (t.role) {
      const c = roleColor(t.role, theme);
      s.style.setProperty('background-color', withAlpha(c, 0.22));
      s.style.setProperty('border-bottom-color', c);
    }
    p.append(s);
  });
  const legend = el('p', { class: 'role-legend', 'aria-label': 'Legend of token roles' });
  for (const r of ['subject', 'relation', 'last'] as const) {
    const sw = el('span', { class: 'swatch', 'aria-hidden': 'true' });
    sw.style.setProperty('background-color', roleColor(r, theme));
    legend.append(el('span', { class: 'legend-item' }, sw, ROLE_LABEL[r]));
  }
  return el('div', {}, p, legend);
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

function select(label: string, id: string, options: { value: string; label: string }[], value: string, onChange: (v: string) => void): HTMLElement {
  const sel = document.createElement('vscode-single-select') as HTMLElement & { value: string };
  sel.id = id;
  sel.setAttribute('aria-label', label);
  for (const o of options) {
    const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
    opt.setAttribute('value', o.value);
    opt.textContent = o.label;
    if (o.value === value) opt.setAttribute('selected', '');
    sel.append(opt);
  }
  sel.addEventListener('change', () => onChange(sel.value));
  const lab = el('label', { class: 'control', for: id }, el('span', { class: 'control-label', text: label }));
  lab.append(sel);
  return lab;
}

function section(title: string, ...children: Node[]): HTMLElement {
  return el('section', { 'aria-label': title }, el('h2', { text: title }), ...children);
}

// ------------------------------------------------------------------ curves

function curveSpec(r: TraceResult | DatasetRunResult): LineChartSpec | undefined {
  if (r.kind === 'trace') {
    const w = r.windows.find((x) => x.window === state.window) ?? r.windows[0];
    return w ? traceChart(r, w, theme) : undefined;
  }
  const ws = datasetWindows(r, state.group);
  const w = ws.find((x) => x.window === state.window) ?? ws[0];
  return w ? datasetChart(r, w, theme, state.group) : undefined;
}

function buildChart(canvas: HTMLCanvasElement, spec: LineChartSpec, r: AnyResult): Chart {
  const datasets: ChartDataset<'line'>[] = [];
  const owner: string[] = [];
  for (const s of spec.series) {
    const pts = (ys: number[]) => spec.x.map((x, i) => ({ x, y: ys[i] }));
    if (s.band) {
      datasets.push({ label: `${s.label} CI low`, data: pts(s.band.low), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: false, borderColor: 'transparent' });
      owner.push(s.key);
      datasets.push({ label: `${s.label} CI high`, data: pts(s.band.high), borderWidth: 0, pointRadius: 0, pointHitRadius: 0, fill: '-1', backgroundColor: withAlpha(s.color, 0.18), borderColor: 'transparent' });
      owner.push(s.key);
    }
    datasets.push({ label: s.label, data: pts(s.y), borderColor: s.color, backgroundColor: s.color, borderDash: s.dash, borderWidth: 2, pointRadius: spec.x.length > 40 ? 0 : 2.5, pointHoverRadius: 5, tension: 0, fill: false });
    owner.push(s.key);
  }
  const c = new Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'index', intersect: false },
      color: theme.foreground,
      font: { family: theme.fontFamily },
      scales: {
        x: {
          type: 'linear',
          min: spec.x[0],
          max: spec.x[spec.x.length - 1],
          ticks: { stepSize: spec.x.length > 30 ? 4 : spec.x.length > 16 ? 2 : 1, color: theme.muted, precision: 0 },
          grid: { color: withAlpha(theme.grid, 0.65) },
          border: { color: theme.muted },
          title: { display: true, text: X_LABEL, color: theme.foreground, font: { size: 12 } },
        },
        y: {
          type: 'linear',
          grace: '5%',
          ticks: { color: theme.muted },
          grid: {
            color: (ctx) => (ctx.tick && ctx.tick.value === 0 ? theme.foreground : withAlpha(theme.grid, 0.65)),
            lineWidth: (ctx) => (ctx.tick && ctx.tick.value === 0 ? 1.5 : 1),
          },
          border: { color: theme.muted },
          title: { display: true, text: Y_LABEL, color: theme.foreground, font: { size: 12 } },
        },
      },
      plugins: {
        tooltip: {
          filter: (item) => !String(item.dataset.label).includes(' CI '),
          callbacks: {
            title: (items) => (items.length ? `Window start layer ${items[0].parsed.x} (layers ${items[0].parsed.x}–${(items[0].parsed.x ?? 0) + (state.window ?? 1) - 1})` : ''),
            label: (item) => {
              const key = owner[item.datasetIndex];
              const y = item.parsed.y ?? NaN;
              let extra = '';
              if (r.kind === 'trace') {
                const w = r.windows.find((x) => x.window === state.window) ?? r.windows[0];
                const p = w?.curves[key]?.probs[item.dataIndex];
                if (p !== undefined) extra = `, p′ = ${formatProb(p)}`;
              } else {
                const s = spec.series.find((x) => x.key === key);
                if (s?.band) extra = ` [95% CI ${s.band.low[item.dataIndex].toFixed(1)}, ${s.band.high[item.dataIndex].toFixed(1)}]`;
              }
              return ` ${item.dataset.label}: ${formatPct(y, 2)}${extra}`;
            },
          },
        },
      },
    },
  });
  (c as unknown as { $owner: string[] }).$owner = owner;
  applyHidden(c);
  return c;
}

function applyHidden(c: Chart): void {
  const owner = (c as unknown as { $owner: string[] }).$owner;
  owner.forEach((k, i) => c.setDatasetVisibility(i, !state.hidden.includes(k)));
  c.update('none');
}

function legendToggles(spec: LineChartSpec, canvas: HTMLCanvasElement): HTMLElement {
  const box = el('div', { class: 'series-toggles', role: 'group', 'aria-label': 'Show or hide lines' });
  for (const s of spec.series) {
    const b = el('button', { type: 'button', class: 'series-toggle', 'data-series': s.key });
    const visible = !state.hidden.includes(s.key);
    b.setAttribute('aria-pressed', String(visible));
    b.title = `${visible ? 'Hide' : 'Show'} the ${s.label} line`;
    const sw = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    sw.setAttribute('width', '28');
    sw.setAttribute('height', '10');
    sw.setAttribute('aria-hidden', 'true');
    const ln = document.createElementNS('http://www.w3.org/2000/svg', 'line');
    for (const [k, v] of Object.entries({ x1: '1', x2: '27', y1: '5', y2: '5', stroke: s.color, 'stroke-width': '2.5' })) ln.setAttribute(k, v);
    if (s.dash) ln.setAttribute('stroke-dasharray', s.dash.join(' '));
    sw.append(ln);
    b.append(sw, el('span', { text: s.label }));
    b.addEventListener('click', () => {
      const hide = !state.hidden.includes(s.key);
      state.hidden = hide ? [...state.hidden, s.key] : state.hidden.filter((k) => k !== s.key);
      b.setAttribute('aria-pressed', String(!hide));
      b.title = `${hide ? 'Show' : 'Hide'} the ${s.label} line`;
      if (chart) applyHidden(chart);
      canvas.setAttribute('aria-label', summarizeLineChart(spec, state.hidden));
      save();
    });
    box.append(b);
  }
  return box;
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
  host.post({ type: 'rerun', windows: [k] });
  setStatus('busy', `Re-running with window k = ${k}…`);
}

function curvesSection(r: TraceResult | DatasetRunResult): HTMLElement | undefined {
  const spec = curveSpec(r);
  if (!spec) return undefined;
  lastSpec = spec;
  const canvas = el('canvas', { role: 'img', 'aria-label': summarizeLineChart(spec, state.hidden), id: 'curves-canvas' });
  const controls = el('div', { class: 'controls' });
  controls.append(select('Window size', 'window-select', windowOptions(r), String(state.window ?? spec.id.match(/k(\d+)/)?.[1]), (v) => onWindowChange(r, v)));
  if (r.kind === 'dataset-run' && r.aggregate.split) {
    const groups: SplitGroup[] = ['all', 'subjectHasFirst', 'subjectLacksFirst'];
    controls.append(
      select('Prompts', 'split-select', groups.map((g) => ({ value: g, label: `${SPLIT_LABEL[g]} (n = ${datasetCount(r, g)})` })), state.group, (v) => {
        state.group = v as SplitGroup;
        save();
        render();
      }),
    );
  }
  const prov = provenanceOf(r);
  const svg = () => lineChartSvg(spec, { theme, provenance: prov, hidden: state.hidden });
  const csv = () => {
    if (r.kind === 'trace') return macroCsv(r.windows.find((w) => w.window === state.window) ?? r.windows[0], prov);
    return datasetCsv(datasetWindows(r, state.group).filter((w) => w.window === (state.window ?? w.window)), state.group, prov);
  };
  const json = () => {
    if (r.kind === 'trace') return jsonExport(spec.id, prov, r.windows.find((w) => w.window === state.window) ?? r.windows[0]);
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

// ------------------------------------------------------------------ micro heatmap

function microSection(r: MicroResult | DatasetRunResult): HTMLElement | undefined {
  let data: Parameters<typeof microHeatmap>[0] & { probs?: number[][] };
  const controls = el('div', { class: 'controls' });
  if (r.kind === 'micro') {
    data = r;
    controls.append(select('Window size', 'micro-window-select', windowOptions(r), String(r.window), (v) => onWindowChange(r, v)));
  } else {
    const withMicro = r.prompts.filter((p) => p.micro);
    if (!withMicro.length) return undefined;
    const rec = withMicro.find((p) => p.index === state.promptIndex) ?? withMicro[0];
    data = { window: rec.micro!.window, starts: rec.micro!.starts, diffPct: rec.micro!.diffPct, tokens: rec.micro!.tokens.map((text) => ({ text })), target: rec.target };
    controls.append(
      select('Prompt', 'prompt-select', withMicro.slice(0, 500).map((p) => ({ value: String(p.index), label: `#${p.index}: ${p.prompt}` })), String(rec.index), (v) => {
        state.promptIndex = Number(v);
        save();
        render();
      }),
    );
  }
  const spec = microHeatmap(data, theme);
  const prov = provenanceOf(r);
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
  fig.append(
    exportBar(host as Host<unknown>, () => spec.id, 'the heatmap', {
      svg: () => heatmapSvg(spec, { theme, provenance: prov }),
      csv: () => microCsv(data, prov),
      json: () => jsonExport(spec.id, prov, r.kind === 'micro' ? { window: r.window, starts: r.starts, tokens: r.tokens, probs: r.probs, diffPct: r.diffPct } : data),
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
  heatmap = undefined;
  lastSpec = undefined;
  const r = state.result;
  content.replaceChildren();
  if (!r) {
    content.append(el('p', { class: 'placeholder', text: 'Run “Mamba Explain: Trace” on a prompt to see its knockout curves here.' }));
    return;
  }
  const p = r.provenance;
  const heading = r.kind === 'trace' ? 'Knockout trace' : r.kind === 'micro' ? 'Knockout per position' : `Dataset run (${r.experiment})`;
  const family = modelFamily(p.model);
  const meta = el('p', { class: 'meta' }, el('span', { class: 'family-badge', id: 'model-family', 'data-arch': p.model.arch ?? 'mamba2', text: family }), `${p.model.path} · ${p.model.nLayer} layers · ${p.ep} · ${p.computeDType}`);
  const conv = convModeOf(r);
  const label = knockoutModeLabel(conv);
  const mode = el('p', { class: 'knockout-mode', id: 'knockout-mode', 'data-conv': conv, title: knockoutModeHint(conv) }, el('strong', { text: label.charAt(0).toUpperCase() + label.slice(1) }), ` — ${knockoutModeHint(conv)}`);
  content.append(el('header', { class: 'page-head' }, el('h1', { text: heading }), meta, mode));
  if (r.kind !== 'dataset-run') {
    const info = el('p', { class: 'target-info' });
    info.append('Target ', el('code', { text: JSON.stringify(r.target.text) }), ` · p = ${formatProb(r.baseProb)}`);
    if (r.subject) info.append(' · subject ', el('code', { text: JSON.stringify(r.subject) }));
    content.append(section('Prompt', tokensView(r.tokens), info), section('Clean prediction', topkTable(r.baseTop, r.target.id)));
  } else {
    const d = el('p', { class: 'dataset-info' });
    d.append(el('code', { text: r.dataset.file }), ` · ${r.dataset.rows} rows · ${r.prompts.length} prompt(s) used · ${r.skipped.length} skipped · ${r.status}`);
    content.append(section('Dataset', d));
  }
  if (r.kind === 'trace' || (r.kind === 'dataset-run' && r.aggregate.windows.length)) {
    const s = curvesSection(r);
    if (s) content.append(s);
  }
  if (r.kind === 'micro' || r.kind === 'dataset-run') {
    const s = microSection(r);
    if (s) content.append(s);
  }
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
  };
  save();
  setStatus(undefined);
  render();
}

host.onMessage((m: HostToWebview) => {
  switch (m.type) {
    case 'showResult':
      showResult(m.result);
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

let resizeTimer: number | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    const spec = heatmap?.current;
    if (heatmap && spec) heatmap.render(spec, theme, content.clientWidth - 40);
  }, 100);
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
};

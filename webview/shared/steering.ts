// The Steering view's pure logic (SPEC §5): channel lists, figure models and their SVG / CSV, the requests' ids.
// PURE: no DOM (runs in the webview and in Node for the unit tests).
import type { GenerateResult } from '../../src/engine/experiments/generate';
import type { BottleneckResult } from '../../src/engine/experiments/bottlenecks';
import type { SteerSweepResult } from '../../src/engine/experiments/steerSweep';
import type { SteerSpec, SteerTop, SteeringInit } from '../../src/shared/protocol';
import type { Theme } from './colors';
import { withAlpha } from './colors';
import { escapeXml, niceTicks } from './svg';
import { modelFamily, provenanceCaption, tokenLabel, type ProvenanceEntries } from './figures';
import { csvCell } from './exportData';

// ------------------------------------------------------------------ channel lists

export type ChannelParse = { ok: true; channels: number[] } | { ok: false; message: string };

/** Parses '4,38,84' / '0-63' / '4, 10-12' into ascending distinct channels below `dModel`. */
export function parseChannels(text: string, dModel: number): ChannelParse {
  const t = text.trim();
  if (t === '') return { ok: false, message: 'Enter channels, e.g. 4,38,84 or 0-63.' };
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const m = /^\s*(\d{1,7})\s*(?:-\s*(\d{1,7})\s*)?$/.exec(part);
    if (!m) return { ok: false, message: `'${part.trim()}' is not a channel or a range such as 10-20.` };
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) return { ok: false, message: `The range ${a}-${b} is empty.` };
    if (b >= dModel) return { ok: false, message: `Channel ${b} is out of range: the mixer output has channels 0..${dModel - 1}.` };
    for (let x = a; x <= b; x++) out.add(x);
  }
  return { ok: true, channels: [...out].sort((x, y) => x - y) };
}

/** Ascending channels written with ranges: [0,1,2,3,7] → '0-3,7'. */
export function formatChannels(channels: readonly number[]): string {
  const xs = [...new Set(channels)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j] + 1) j++;
    parts.push(j - i >= 2 ? `${xs[i]}-${xs[j]}` : j === i + 1 ? `${xs[i]},${xs[j]}` : `${xs[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The engine's --steer form of a triple: '6:0-63:3'. */
export function steerText(s: SteerSpec): string {
  return `${s.layer}:${formatChannels(s.channels)}:${formatScale(s.scale)}`;
}

export function formatScale(s: number): string {
  return Number(s.toPrecision(6)).toString();
}

/** Parses a list of scales '0, 0.5, 1, 2, 5, 10' (ascending, distinct). */
export function parseScales(text: string): { ok: true; scales: number[] } | { ok: false; message: string } {
  const parts = text.split(/[,\s]+/).filter((p) => p !== '');
  if (parts.length === 0) return { ok: false, message: 'Enter scales, e.g. 0, 0.5, 1, 2, 5, 10.' };
  const xs: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isFinite(v) || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(p)) return { ok: false, message: `'${p}' is not a number.` };
    if (Math.abs(v) > 1000) return { ok: false, message: `The scale ${p} is too large (at most 1000 in magnitude).` };
    xs.push(v);
  }
  if (xs.length > 64) return { ok: false, message: 'At most 64 scales.' };
  return { ok: true, scales: [...new Set(xs)].sort((a, b) => a - b) };
}

/**
 * Request ids of the debounced updates: `next()` numbers a new request, `accept(id)` says whether a reply is for the
 * newest one (stale replies are ignored).
 */
export class RequestIds {
  private last = 0;
  constructor(start = 0) {
    this.last = start;
  }
  next(): number {
    return ++this.last;
  }
  get current(): number {
    return this.last;
  }
  accept(id: number): boolean {
    return id === this.last;
  }
}

// ------------------------------------------------------------------ provenance

export function steeringProvenance(init: SteeringInit | undefined, toolVersion: string, extra: [string, string][] = []): ProvenanceEntries {
  const out: ProvenanceEntries = [['tool', `mamba-explain ${toolVersion}`]];
  if (init?.model) out.push(['model', init.model.path], ['model hash', init.model.hash]);
  if (init?.model?.arch) out.push(['model family', modelFamily(init.model)]);
  if (init) out.push(['model shape', `${init.nLayer} layers, d_model ${init.dModel}`]);
  if (init?.ep) out.push(['provider', init.ep]);
  out.push(['intervention', "channels of layer ℓ's mixer output (after out_proj, before the residual add) × s at every position (SPEC §5)"]);
  return [...out, ...extra];
}

// ------------------------------------------------------------------ next-token distribution

export interface DistributionRow {
  id: number;
  text: string;
  clean: number;
  steered: number;
  /** rank in each top-k (undefined = not in it; its probability is then not known: shown as 0) */
  cleanRank?: number;
  steeredRank?: number;
}

/** The union of the two top-k lists, ordered by the steered probability, then the clean one. */
export function distributionRows(clean: readonly SteerTop[], steered: readonly SteerTop[]): DistributionRow[] {
  const rows = new Map<number, DistributionRow>();
  clean.forEach((t, i) => rows.set(t.id, { id: t.id, text: t.text, clean: t.prob, steered: 0, cleanRank: i }));
  steered.forEach((t, i) => {
    const r = rows.get(t.id) ?? { id: t.id, text: t.text, clean: 0, steered: 0 };
    r.steered = t.prob;
    r.steeredRank = i;
    rows.set(t.id, r);
  });
  return [...rows.values()].sort((a, b) => b.steered - a.steered || b.clean - a.clean || a.id - b.id);
}

export function formatPercent(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  const v = p * 100;
  return v >= 10 ? `${v.toFixed(1)}%` : v >= 0.1 ? `${v.toFixed(2)}%` : v >= 1e-4 ? `${Number(v.toPrecision(2))}%` : v > 0 ? `${v.toExponential(1)}%` : '0%';
}

export interface SvgCommon {
  theme: Theme;
  provenance?: ProvenanceEntries;
  width?: number;
  /** leaves out the title and caption (the webview shows them as HTML) */
  bare?: boolean;
}

function svgHeader(W: number, H: number, title: string, desc: string, o: SvgCommon): string {
  const prov = o.provenance;
  const meta = prov ? `<metadata id="provenance"><![CDATA[${JSON.stringify(Object.fromEntries(prov)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}]]></metadata>` : '';
  const provDesc = prov ? ' Provenance: ' + prov.map(([k, v]) => `${k}: ${v}`).join('; ') + '.' : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="t d" font-family="${escapeXml(o.theme.fontFamily)}">` +
    `<title id="t">${escapeXml(title)}</title><desc id="d">${escapeXml(desc + provDesc)}</desc>${meta}` +
    `<rect x="0" y="0" width="${W}" height="${H}" fill="${o.theme.background}"/>`
  );
}

function svgTitle(title: string, subtitle: string | undefined, x: number, o: SvgCommon): string {
  if (o.bare) return '';
  return `<text x="${x}" y="22" font-size="15" font-weight="600" fill="${o.theme.foreground}">${escapeXml(title)}</text>` + (subtitle ? `<text x="${x}" y="40" font-size="11" fill="${o.theme.muted}">${escapeXml(subtitle)}</text>` : '');
}

function svgCaption(o: SvgCommon, W: number, H: number): string {
  if (o.bare || !o.provenance || o.provenance.length === 0) return '';
  let text = provenanceCaption(o.provenance);
  const maxChars = Math.floor((W - 16) / 5.2);
  if (text.length > maxChars) text = text.slice(0, maxChars - 1) + '…';
  return `<text class="caption" x="8" y="${H - 8}" font-size="9" fill="${o.theme.muted}">${escapeXml(text)}</text>`;
}

const r2 = (v: number) => (Math.round(v * 100) / 100).toString();

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** Whether the distribution figure uses a log axis: the known probabilities span more than two decades. */
export function isLogDistribution(rows: DistributionRow[]): boolean {
  const known = rows.flatMap((r) => [r.cleanRank !== undefined ? r.clean : NaN, r.steeredRank !== undefined ? r.steered : NaN]).filter((p) => Number.isFinite(p) && p > 0);
  return known.length > 1 && Math.max(...known) / Math.min(...known) > 100;
}

export function distributionTitle(s: SteerSpec): string {
  return `Next-token distribution, steered (×${formatScale(s.scale)}) beside clean`;
}

export function summarizeDistribution(rows: DistributionRow[], s: SteerSpec): string {
  const top = (k: 'clean' | 'steered') => {
    const r = [...rows].sort((a, b) => b[k] - a[k])[0];
    return r ? `${JSON.stringify(r.text)} ${formatPercent(r[k])}` : 'none';
  };
  return `${distributionTitle(s)}: layer ${s.layer}, ${s.channels.length} channel(s). Top-1 clean ${top('clean')}, steered ${top('steered')}. ${rows.length} token(s).`;
}

/** Grouped horizontal bars: per token, its clean and steered probability. */
export function distributionSvg(rows: DistributionRow[], s: SteerSpec, o: SvgCommon): string {
  const { theme } = o;
  const W = o.width ?? 760;
  const rowH = 34;
  const top = o.bare ? 34 : 74;
  const legendH = 0;
  const bottom = o.provenance && !o.bare ? 40 : 26;
  const H = top + legendH + rows.length * rowH + bottom;
  const labelW = 150;
  const valueW = 70;
  const x0 = labelW + 12;
  const pw = W - x0 - valueW - 12;
  const maxP = Math.max(1e-9, ...rows.map((r) => Math.max(r.clean, r.steered)));
  const known = rows.flatMap((r) => [r.cleanRank !== undefined ? r.clean : NaN, r.steeredRank !== undefined ? r.steered : NaN]).filter((p) => Number.isFinite(p) && p > 0);
  const minP = known.length ? Math.min(...known) : maxP;
  // a log axis when the probabilities span more than two decades (a peaked top-1 would hide the rest)
  const log = isLogDistribution(rows);
  const lo = log ? 10 ** Math.floor(Math.log10(minP)) : 0;
  const hiLog = log ? 10 ** Math.ceil(Math.log10(maxP) - 1e-9) : 0;
  const ticks = log
    ? Array.from({ length: Math.round(Math.log10(hiLog / lo)) + 1 }, (_, i) => lo * 10 ** i)
    : niceTicks(0, maxP, 5).filter((t) => t <= Math.max(maxP * 1.0001, 0));
  const xmax = log ? hiLog : Math.max(ticks[ticks.length - 1] ?? maxP, maxP);
  const sx = (p: number) => (log ? x0 + (p <= lo ? 0 : (Math.log10(p / lo) / Math.log10(xmax / lo)) * pw) : x0 + (p / xmax) * pw);
  const cleanColor = theme.blue;
  const steerColor = theme.orange;
  const out: string[] = [svgHeader(W, H, distributionTitle(s), summarizeDistribution(rows, s), o)];
  out.push(svgTitle(distributionTitle(s), `--steer ${clip(steerText(s), 90)}`, 12, o));
  const ly = top - 14;
  out.push(`<g class="legend" font-size="11" fill="${theme.foreground}">`);
  out.push(`<rect x="${x0}" y="${ly - 9}" width="12" height="10" fill="${cleanColor}"/><text x="${x0 + 17}" y="${ly}">clean</text>`);
  out.push(`<rect x="${x0 + 70}" y="${ly - 9}" width="12" height="10" fill="${steerColor}"/><text x="${x0 + 87}" y="${ly}">steered ×${escapeXml(formatScale(s.scale))}</text>`);
  if (log) out.push(`<text x="${x0 + pw + valueW}" y="${ly}" text-anchor="end" fill="${theme.muted}" font-size="10">log scale · — = not in that top-k</text>`);
  out.push('</g>');
  const plotTop = top;
  const plotBottom = top + rows.length * rowH;
  out.push(`<g class="grid" stroke="${theme.grid}" stroke-width="1">`);
  for (const t of ticks) out.push(`<line x1="${r2(sx(t))}" x2="${r2(sx(t))}" y1="${plotTop}" y2="${plotBottom}"/>`);
  out.push('</g>');
  out.push(`<g class="ticks" font-size="10" fill="${theme.muted}">`);
  for (const t of ticks) out.push(`<text x="${r2(sx(t))}" y="${plotBottom + 14}" text-anchor="middle">${escapeXml(formatPercent(t))}</text>`);
  out.push('</g>');
  rows.forEach((r, i) => {
    const y = plotTop + i * rowH;
    const label = clip(tokenLabel(r.text), 20);
    out.push(`<g class="token-row" data-id="${r.id}">`);
    out.push(`<text x="${labelW}" y="${y + rowH / 2 + 4}" font-size="12" text-anchor="end" fill="${theme.foreground}" font-family="monospace">${escapeXml(label)}</text>`);
    const bh = 11;
    const bars: [number, string, string, boolean][] = [
      [r.clean, cleanColor, 'clean', r.cleanRank !== undefined],
      [r.steered, steerColor, 'steered', r.steeredRank !== undefined],
    ];
    bars.forEach(([p, color, kind, known], k) => {
      const by = y + 5 + k * (bh + 2);
      const w = Math.max(known ? 1 : 0, known ? sx(p) - x0 : 0);
      out.push(`<rect class="bar ${kind}" x="${x0}" y="${by}" width="${r2(w)}" height="${bh}" fill="${color}"${known ? '' : ` fill-opacity="0.3"`}/>`);
      out.push(`<text x="${r2(x0 + w + 4)}" y="${by + bh - 1}" font-size="10" fill="${theme.muted}">${known ? escapeXml(formatPercent(p)) : '—'}</text>`);
    });
    out.push('</g>');
  });
  out.push(`<line x1="${x0}" x2="${x0}" y1="${plotTop}" y2="${plotBottom}" stroke="${theme.muted}" stroke-width="1"/>`);
  out.push(svgCaption(o, W, H));
  out.push('</svg>');
  return out.join('');
}

export function distributionCsv(rows: DistributionRow[], s: SteerSpec, prov: ProvenanceEntries): string {
  const head = [...prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`), `# steer: ${steerText(s)}`, 'token_id,token,clean_prob,clean_rank,steered_prob,steered_rank'];
  return [...head, ...rows.map((r) => [r.id, r.text, r.cleanRank !== undefined ? r.clean : '', r.cleanRank, r.steeredRank !== undefined ? r.steered : '', r.steeredRank].map(csvCell).join(','))].join('\n') + '\n';
}

// ------------------------------------------------------------------ continuation

export interface ContinuationRow {
  step: number;
  clean?: { id: number; text: string; prob: number };
  steered?: { id: number; text: string; prob: number };
  differs: boolean;
}

/** The greedy continuations step by step (probability = the chosen token's, from the step's top-k). */
export function continuationRows(g: GenerateResult): ContinuationRow[] {
  const n = Math.max(g.clean.steps.length, g.steered?.steps.length ?? 0);
  const pick = (st?: GenerateResult['clean']['steps'][number]) => (st ? { id: st.id, text: st.text, prob: st.top.find((t) => t.id === st.id)?.prob ?? NaN } : undefined);
  return Array.from({ length: n }, (_, i) => {
    const c = pick(g.clean.steps[i]);
    const s = pick(g.steered?.steps[i]);
    return { step: i + 1, clean: c, steered: s, differs: !!s && c?.id !== s.id };
  });
}

/** Index of the first step where the steered continuation leaves the clean one (−1: never). */
export function firstDivergence(rows: ContinuationRow[]): number {
  return rows.findIndex((r) => r.differs);
}

export function continuationSvg(g: GenerateResult, s: SteerSpec, o: SvgCommon): string {
  const { theme } = o;
  const W = o.width ?? 760;
  const rows = continuationRows(g);
  const top = o.bare ? 40 : 80;
  const rowH = 20;
  const bottom = o.provenance && !o.bare ? 40 : 20;
  const H = top + rows.length * rowH + bottom;
  const colStep = 16;
  const colClean = 70;
  const colSteer = colClean + (W - colClean) / 2;
  const title = `Greedy continuation, steered (×${formatScale(s.scale)}) beside clean`;
  const div = firstDivergence(rows);
  const desc = `${title}. Prompt ${JSON.stringify(g.prompt)}. Clean: ${JSON.stringify(g.clean.text)}. Steered: ${JSON.stringify(g.steered?.text ?? '')}. ${div < 0 ? 'The continuations agree.' : `They part at step ${div + 1}.`}`;
  const out: string[] = [svgHeader(W, H, title, desc, o)];
  out.push(svgTitle(title, `Prompt ${clip(JSON.stringify(g.prompt), 70)} · --steer ${clip(steerText(s), 50)}`, 12, o));
  const hy = top - 10;
  out.push(`<g font-size="11" font-weight="600" fill="${theme.muted}"><text x="${colStep}" y="${hy}">step</text><text x="${colClean}" y="${hy}" fill="${theme.blue}">clean</text><text x="${colSteer}" y="${hy}" fill="${theme.orange}">steered ×${escapeXml(formatScale(s.scale))}</text></g>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    if (r.differs) out.push(`<rect class="differs" x="${colSteer - 4}" y="${y + 2}" width="${r2(W - colSteer - 8)}" height="${rowH - 3}" fill="${withAlpha(theme.orange, 0.16)}"/>`);
    out.push(`<text x="${colStep}" y="${y + 15}" font-size="11" fill="${theme.muted}">${r.step}</text>`);
    const cell = (t: ContinuationRow['clean'], x: number) =>
      t ? `<text x="${x}" y="${y + 15}" font-size="12" fill="${theme.foreground}"><tspan font-family="monospace">${escapeXml(clip(tokenLabel(t.text), 28))}</tspan><tspan fill="${theme.muted}" font-size="10" dx="8">${escapeXml(formatPercent(t.prob))}</tspan></text>` : '';
    out.push(cell(r.clean, colClean), cell(r.steered, colSteer));
  });
  out.push(svgCaption(o, W, H));
  out.push('</svg>');
  return out.join('');
}

export function continuationCsv(g: GenerateResult, s: SteerSpec, prov: ProvenanceEntries): string {
  const head = [...prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`), `# prompt: ${g.prompt.replace(/[\r\n]+/g, ' ')}`, `# steer: ${steerText(s)}`, 'run,step,token_id,token,prob,top_k'];
  const lines: string[] = [];
  const add = (run: string, r?: GenerateResult['clean']) =>
    r?.steps.forEach((st, i) => lines.push([run, i + 1, st.id, st.text, st.top.find((t) => t.id === st.id)?.prob, st.top.map((t) => `${t.text}=${t.prob.toPrecision(4)}`).join(' | ')].map(csvCell).join(',')));
  add('clean', g.clean);
  add('steered', g.steered);
  return [...head, ...lines].join('\n') + '\n';
}

// ------------------------------------------------------------------ bar / point charts (effective rank, sweep, leave-one-out)

export interface BarItem {
  key: string;
  label: string;
  value: number;
  low?: number;
  high?: number;
  color: string;
  /** outlined (e.g. the steered layer) */
  outline?: boolean;
}

export interface BarChartSpec {
  id: string;
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  items: BarItem[];
  /** bars from zero, or points (log-probabilities) */
  mode: 'bar' | 'point';
  /** y axis from zero (bars) */
  zero: boolean;
  yFormat?: 'percent' | 'number';
  /** a note under the legend (e.g. 'whiskers: 95% CI') */
  note?: string;
}

function fmtY(v: number, f?: 'percent' | 'number'): string {
  if (f === 'percent') return `${Number((v * 100).toPrecision(4))}%`;
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : Number(v.toPrecision(4)).toString();
}

export function summarizeBarChart(spec: BarChartSpec): string {
  const finite = spec.items.filter((i) => Number.isFinite(i.value));
  const lo = finite.reduce<BarItem | undefined>((m, i) => (!m || i.value < m.value ? i : m), undefined);
  const hi = finite.reduce<BarItem | undefined>((m, i) => (!m || i.value > m.value ? i : m), undefined);
  return `${spec.title}. ${spec.items.length} value(s) of ${spec.yLabel.toLowerCase()} by ${spec.xLabel.toLowerCase()}; lowest ${lo ? `${fmtY(lo.value, spec.yFormat)} at ${lo.label}` : 'n/a'}, highest ${hi ? `${fmtY(hi.value, spec.yFormat)} at ${hi.label}` : 'n/a'}.`;
}

export function barChartSvg(spec: BarChartSpec, o: SvgCommon & { height?: number }): string {
  const { theme } = o;
  const W = o.width ?? 760;
  const H = o.height ?? 340;
  const m = { l: 64, r: 16, t: o.bare ? 14 : spec.subtitle ? 56 : 40, b: (o.provenance && !o.bare ? 70 : 52) + (spec.items.length > 24 ? 10 : 0) };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  let lo = spec.zero ? 0 : Infinity;
  let hi = spec.zero ? 0 : -Infinity;
  for (const it of spec.items) for (const v of [it.value, it.low, it.high]) if (v !== undefined && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  if (lo === hi) { hi = lo + (Math.abs(lo) || 1) * 0.05; lo = lo - (Math.abs(lo) || 1) * 0.05; }
  const yt = niceTicks(lo, hi, 5);
  const y0 = yt[0];
  const y1 = yt[yt.length - 1];
  const sy = (v: number) => m.t + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const n = Math.max(1, spec.items.length);
  const band = pw / n;
  const bw = Math.max(2, Math.min(46, band * 0.7));
  const cx = (i: number) => m.l + band * (i + 0.5);
  const out: string[] = [svgHeader(W, H, spec.title, summarizeBarChart(spec), o)];
  out.push(svgTitle(spec.title, spec.subtitle, m.l, o));
  out.push(`<g class="grid" stroke="${theme.grid}" stroke-width="1">`);
  for (const v of yt) out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${r2(sy(v))}" y2="${r2(sy(v))}"/>`);
  out.push('</g>');
  out.push(`<g class="ticks" font-size="10" fill="${theme.muted}">`);
  for (const v of yt) out.push(`<text x="${m.l - 6}" y="${r2(sy(v) + 3)}" text-anchor="end">${escapeXml(fmtY(v, spec.yFormat))}</text>`);
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(pw / 30))));
  spec.items.forEach((it, i) => {
    if (i % every === 0) out.push(`<text x="${r2(cx(i))}" y="${m.t + ph + 14}" text-anchor="middle">${escapeXml(clip(it.label, 8))}</text>`);
  });
  out.push('</g>');
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="${theme.muted}" stroke-width="1"/>`);
  if (y0 < 0 && y1 > 0) out.push(`<line class="zero" x1="${m.l}" x2="${m.l + pw}" y1="${r2(sy(0))}" y2="${r2(sy(0))}" stroke="${theme.foreground}" stroke-opacity="0.7"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 34}" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.yLabel)}</text>`);
  const base = sy(Math.max(y0, Math.min(y1, 0)));
  const pts: string[] = [];
  spec.items.forEach((it, i) => {
    if (!Number.isFinite(it.value)) return;
    const x = cx(i);
    const y = sy(it.value);
    out.push(`<g class="item" data-key="${escapeXml(it.key)}">`);
    if (spec.mode === 'bar') {
      const top = Math.min(y, base);
      out.push(`<rect class="bar" x="${r2(x - bw / 2)}" y="${r2(top)}" width="${r2(bw)}" height="${r2(Math.max(1, Math.abs(base - y)))}" fill="${it.color}"${it.outline ? ` stroke="${theme.foreground}" stroke-width="2"` : ''}/>`);
    } else pts.push(`${r2(x)},${r2(y)}`);
    if (it.low !== undefined && it.high !== undefined && Number.isFinite(it.low) && Number.isFinite(it.high) && it.high > it.low) {
      const wx = Math.min(8, bw / 3);
      out.push(`<path class="ci" d="M${r2(x)} ${r2(sy(it.low))}V${r2(sy(it.high))}M${r2(x - wx)} ${r2(sy(it.low))}H${r2(x + wx)}M${r2(x - wx)} ${r2(sy(it.high))}H${r2(x + wx)}" stroke="${spec.mode === 'bar' ? theme.foreground : it.color}" stroke-width="1.3" fill="none"/>`);
    }
    if (spec.mode === 'point') out.push(`<circle cx="${r2(x)}" cy="${r2(y)}" r="4" fill="${it.color}"${it.outline ? ` stroke="${theme.foreground}" stroke-width="2"` : ''}/>`);
    out.push('</g>');
  });
  if (spec.mode === 'point' && pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${spec.items[0].color}" stroke-opacity="0.5" stroke-width="1.5"/>`);
  if (spec.note) out.push(`<text x="${m.l + pw}" y="${m.t + ph + 34}" font-size="10" text-anchor="end" fill="${theme.muted}">${escapeXml(spec.note)}</text>`);
  out.push(svgCaption(o, W, H));
  out.push('</svg>');
  return out.join('');
}

export function effectiveRankChart(b: BottleneckResult, theme: Theme, steeredLayer?: number): BarChartSpec {
  return {
    id: 'effective-rank',
    title: 'Effective rank of the mixer output per layer',
    subtitle: `${b.corpus.texts} texts, ${b.corpus.tokens} tokens · bottleneck: layer ${b.bottleneck} (lowest effective rank)`,
    xLabel: 'Layer',
    yLabel: 'Effective rank exp(H(σ/Σσ))',
    mode: 'bar',
    zero: true,
    yFormat: 'number',
    note: steeredLayer !== undefined ? `outlined: the steered layer ${steeredLayer}` : undefined,
    items: b.layers.map((l) => ({
      key: String(l.layer),
      label: String(l.layer),
      value: l.effectiveRank,
      color: l.layer === b.bottleneck ? theme.orange : withAlpha(theme.blue, 0.75),
      outline: l.layer === steeredLayer,
    })),
  };
}

export function effectiveRankCsv(b: BottleneckResult, prov: ProvenanceEntries): string {
  const head = [...prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`), `# corpus: ${b.corpus.file} (${b.corpus.texts} texts, ${b.corpus.tokens} tokens)`, `# bottleneck: ${b.bottleneck}; channels ranked at layer ${b.layer}`];
  const rows = ['section,layer,effective_rank,channel,variance,mean'];
  for (const l of b.layers) rows.push(['layer', l.layer, l.effectiveRank, '', '', ''].map(csvCell).join(','));
  for (const c of b.channels) rows.push(['channel', b.layer, '', c.channel, c.variance, c.mean].map(csvCell).join(','));
  return [...head, ...rows].join('\n') + '\n';
}

export type SweepMetric = 'accuracy' | 'logprob';

export function sweepChart(r: SteerSweepResult, metric: SweepMetric, theme: Theme): BarChartSpec {
  const acc = metric === 'accuracy';
  return {
    id: `steer-sweep-${metric}`,
    title: acc ? 'Top-1 accuracy of the target per scale' : 'Mean log-probability of the target per scale',
    subtitle: `layer ${r.layer}, ${r.channels.length} channel(s), ${r.prompts} prompts · scale 1 = unsteered`,
    xLabel: 'Scale s',
    yLabel: acc ? 'Top-1 accuracy' : 'Mean log p(target)',
    mode: acc ? 'bar' : 'point',
    zero: acc,
    yFormat: acc ? 'percent' : 'number',
    note: 'whiskers: 95% CI',
    items: r.scales.map((s) => {
      const v = acc ? s.accuracy : s.logprob;
      return { key: String(s.scale), label: `×${formatScale(s.scale)}`, value: v.mean, low: v.low, high: v.high, color: s.scale === 1 ? theme.muted : acc ? theme.green : theme.purple, outline: false };
    }),
  };
}

export function leaveOneOutChart(r: SteerSweepResult, scale: number, theme: Theme): BarChartSpec | undefined {
  const entry = r.leaveOneOut?.find((e) => e.scale === scale);
  if (!entry) return undefined;
  const items = [...entry.channels].sort((a, b) => b.impact.mean - a.impact.mean || a.channel - b.channel);
  return {
    id: `steer-loo-x${formatScale(scale)}`,
    title: `Leave-one-out impact per channel at ×${formatScale(scale)}`,
    subtitle: `impact = ${r.metric === 'accuracy' ? 'accuracy' : 'mean log p'}(all channels) − (all but this one), paired over ${r.prompts} prompts`,
    xLabel: 'Channel (highest impact first)',
    yLabel: r.metric === 'accuracy' ? 'Impact on accuracy' : 'Impact on mean log p',
    mode: 'bar',
    zero: true,
    yFormat: r.metric === 'accuracy' ? 'percent' : 'number',
    note: 'whiskers: 95% CI',
    items: items.map((c) => ({ key: String(c.channel), label: String(c.channel), value: c.impact.mean, low: c.impact.low, high: c.impact.high, color: c.impact.mean >= 0 ? theme.green : theme.red })),
  };
}

export function sweepCsv(r: SteerSweepResult, prov: ProvenanceEntries): string {
  const head = [...prov.map(([k, v]) => `# ${k}: ${v.replace(/[\r\n]+/g, ' ')}`), `# dataset: ${r.dataset.file} (${r.dataset.rows} rows, sha256 ${r.dataset.sha256})`, `# steer: layer ${r.layer}, channels ${formatChannels(r.channels)}; ${r.prompts} prompts, ${r.skipped.length} skipped`];
  const rows = ['section,scale,channel,metric,n,mean,ci95_low,ci95_high'];
  for (const s of r.scales) {
    rows.push(['scale', s.scale, '', 'accuracy', s.accuracy.n, s.accuracy.mean, s.accuracy.low, s.accuracy.high].map(csvCell).join(','));
    rows.push(['scale', s.scale, '', 'logprob', s.logprob.n, s.logprob.mean, s.logprob.low, s.logprob.high].map(csvCell).join(','));
  }
  for (const e of r.leaveOneOut ?? []) for (const c of e.channels) rows.push(['leave-one-out', e.scale, c.channel, r.metric, c.impact.n, c.impact.mean, c.impact.low, c.impact.high].map(csvCell).join(','));
  return [...head, ...rows].join('\n') + '\n';
}

/** Two charts side by side in one SVG (the sweep's accuracy and log-probability). */
export function sideBySideSvg(a: string, b: string, wa: number, wb: number, h: number, title: string, o: SvgCommon): string {
  // the inner charts are made without provenance: drop their root, title and desc (ids would clash)
  const strip = (s: string) => s.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '').replace(/<title id="t">[\s\S]*?<\/title><desc id="d">[\s\S]*?<\/desc>/, '');
  const W = wa + wb;
  const capH = o.provenance ? 22 : 0;
  return (
    svgHeader(W, h + capH, title, title, o) +
    `<g>${strip(a)}</g><g transform="translate(${wa} 0)">${strip(b)}</g>` +
    svgCaption(o, W, h + capH) +
    '</svg>'
  );
}

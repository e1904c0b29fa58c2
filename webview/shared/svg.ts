// SVG generator for the curves and heatmaps. PURE (strings only, no DOM): runs in the webviews and in
// Node (the standalone report). Figures carry their provenance as <metadata> (JSON), <desc> and a caption.
import { mix, roleColor, scaleColor, withAlpha, type Theme } from './colors';
import type { DecayHistogramSpec, HeatmapSpec, LineChartSpec, ProvenanceEntries } from './figures';
import { decayGroupColor, provenanceCaption } from './figures';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string)
    // characters not allowed in XML 1.0
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd');
}

const n2 = (v: number) => (Math.round(v * 100) / 100).toString();

/**
 * "Nice" axis ticks covering [lo, hi] (at least two, ascending). Near ±Number.MAX_VALUE, where the nice multiples
 * overflow to ±Infinity (or the span itself does), and where a value is so large that a step of 1 does not move it,
 * the ticks are `count` equal steps from lo to hi instead.
 */
export function niceTicks(lo: number, hi: number, count = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi === lo) {
    hi = lo + 1;
    lo = lo - 1;
  }
  const n = Math.max(1, Math.min(1000, Math.floor(count) || 1));
  const span = hi - lo;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const start = Math.floor(lo / step) * step;
  const end = Math.ceil(hi / step) * step;
  const steps = Math.round((end - start) / step);
  // a finite range that the step walks in about n steps; else (near ±Number.MAX_VALUE, where the multiples overflow, or
  // where the step is below the values' precision and would not move them) n equal steps from lo to hi
  if (!(Number.isFinite(start) && Number.isFinite(end) && step > 0 && Number.isFinite(step) && steps <= 4 * n + 2 && start + step > start && end - step < end)) {
    if (hi === lo) {
      const d = Math.abs(lo) * 1e-6 || 1;
      if (lo > 0) lo -= d;
      else hi += d;
    }
    const even: number[] = [];
    for (let i = 0; i <= n; i++) {
      const v = i === 0 ? lo : i === n ? hi : lo * (1 - i / n) + hi * (i / n);
      if (Number.isFinite(v) && (even.length === 0 || v > even[even.length - 1])) even.push(v);
    }
    return even;
  }
  const out: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const v = start + i * step;
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000 || a < 0.01) return v.toExponential(1);
  return Number(v.toPrecision(4)).toString();
}

export interface SvgOptions {
  theme: Theme;
  provenance?: ProvenanceEntries;
  width?: number;
  height?: number;
  /** series keys to leave out (legend toggles) */
  hidden?: string[];
  /** adds a background rectangle (default true) */
  background?: boolean;
  /** leaves out the title, subtitle and caption (the webview shows them as HTML around the figure) */
  bare?: boolean;
}

function header(width: number, height: number, title: string, desc: string, prov: ProvenanceEntries | undefined, theme: Theme, bg: boolean): string {
  const meta = prov ? `<metadata id="provenance"><![CDATA[${JSON.stringify(Object.fromEntries(prov)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}]]></metadata>` : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="t d" font-family="${escapeXml(theme.fontFamily)}">` +
    `<title id="t">${escapeXml(title)}</title><desc id="d">${escapeXml(desc)}</desc>${meta}` +
    (bg ? `<rect x="0" y="0" width="${width}" height="${height}" fill="${theme.background}"/>` : '')
  );
}

function captionEl(prov: ProvenanceEntries | undefined, x: number, y: number, maxWidth: number, theme: Theme): string {
  if (!prov || prov.length === 0) return '';
  let text = provenanceCaption(prov);
  const maxChars = Math.floor(maxWidth / 5.2);
  if (text.length > maxChars) text = text.slice(0, maxChars - 1) + '…';
  return `<text class="caption" x="${x}" y="${y}" font-size="9" fill="${theme.muted}">${escapeXml(text)}</text>`;
}

function describeProv(prov: ProvenanceEntries | undefined): string {
  return prov ? ' Provenance: ' + prov.map(([k, v]) => `${k}: ${v}`).join('; ') + '.' : '';
}

/** Text summary of a line chart (aria-label / <desc>). */
export function summarizeLineChart(spec: LineChartSpec, hidden: string[] = []): string {
  const parts = spec.series
    .filter((s) => !hidden.includes(s.key))
    .map((s) => {
      let mi = 0;
      s.y.forEach((v, i) => {
        if (Number.isFinite(v) && (!Number.isFinite(s.y[mi]) || v < s.y[mi])) mi = i;
      });
      const v = s.y[mi];
      // a series with its own x (a comparison on the relative depth) says where on that axis
      const at = s.x ? `at ${spec.xLabel.toLowerCase().startsWith('relative depth') ? 'relative depth' : 'x ='} ${Number((s.x[mi] ?? NaN).toFixed(2))}` : `at layer ${spec.x[mi]}`;
      return `${s.label}: minimum ${Number.isFinite(v) ? v.toFixed(1) : 'n/a'}% ${at}`;
    });
  const own = spec.series.some((s) => s.x);
  const xsAll = own ? spec.series.flatMap((s) => s.x ?? spec.x) : spec.x;
  const range = own ? `${Math.min(...xsAll)}–${Math.max(...xsAll)}` : `${spec.x[0]}–${spec.x[spec.x.length - 1]}`;
  return `${spec.title}. Line chart of ${spec.yLabel.toLowerCase()} against ${spec.xLabel.toLowerCase()} (${range}), ${parts.length} line(s). ${parts.join('; ')}.`;
}

export function lineChartSvg(spec: LineChartSpec, o: SvgOptions): string {
  const { theme } = o;
  const W = o.width ?? 760;
  const H = o.height ?? 460;
  const hidden = o.hidden ?? [];
  const series = spec.series.filter((s) => !hidden.includes(s.key));
  // the legend column grows with long labels ('Heads 3,5,8-11 (except)'), up to a third of the width
  const longest = Math.max(0, ...series.map((s) => s.label.length));
  const m = { l: 72, r: Math.ceil(Math.min(W * 0.4, Math.max(150, 60 + longest * 7.8))), t: spec.subtitle ? 58 : 42, b: o.provenance ? 74 : 58 };
  // labels still too long for the column are cut
  const legendChars = Math.max(8, Math.floor((m.r - 60) / 7.8));
  const legendLabel = (t: string) => (t.length > legendChars && longest * 7.8 + 60 > m.r ? t.slice(0, legendChars - 1) + '…' : t);
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  // ranges
  let ylo = spec.zeroLine ? 0 : Infinity;
  let yhi = spec.zeroLine ? 0 : -Infinity;
  for (const s of series) {
    for (const arr of [s.y, s.band?.low ?? [], s.band?.high ?? []]) for (const v of arr) if (Number.isFinite(v)) { ylo = Math.min(ylo, v); yhi = Math.max(yhi, v); }
  }
  if (!Number.isFinite(ylo)) { ylo = -1; yhi = 1; }
  const yt = niceTicks(ylo, yhi, 6);
  const y0 = yt[0];
  const y1 = yt[yt.length - 1];
  const xs = spec.x;
  // series may carry their own x (a comparison of models of different depth on the relative depth)
  const ownX = series.some((s) => s.x);
  const xOf = (s: (typeof series)[number]) => s.x ?? xs;
  const allX = ownX ? [...xs, ...series.flatMap(xOf)] : xs;
  const x0 = allX.length ? Math.min(...allX) : 0;
  const x1 = allX.length ? Math.max(...allX) : 1;
  const sx = (v: number) => m.l + (x1 === x0 ? pw / 2 : ((v - x0) / (x1 - x0)) * pw);
  const sy = (v: number) => m.t + ph - ((v - y0) / (y1 - y0 || 1)) * ph;
  const xt = ownX ? niceTicks(x0, x1, 5).filter((v) => v >= x0 - 1e-9 && v <= x1 + 1e-9) : xs.length <= 16 ? xs : niceTicks(x0, x1, 10).filter((v) => v >= x0 && v <= x1 && Number.isInteger(v));

  const out: string[] = [];
  out.push(header(W, H, spec.title, summarizeLineChart(spec, hidden) + describeProv(o.provenance), o.provenance, theme, o.background !== false));
  out.push(`<text x="${m.l}" y="22" font-size="15" font-weight="600" fill="${theme.foreground}">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${m.l}" y="40" font-size="11" fill="${theme.muted}">${escapeXml(spec.subtitle)}</text>`);
  // grid + ticks
  out.push(`<g class="grid" stroke="${theme.grid}" stroke-width="1">`);
  for (const v of yt) out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${n2(sy(v))}" y2="${n2(sy(v))}"/>`);
  for (const v of xt) out.push(`<line x1="${n2(sx(v))}" x2="${n2(sx(v))}" y1="${m.t}" y2="${m.t + ph}" stroke-opacity="0.5"/>`);
  out.push('</g>');
  out.push(`<g class="ticks" font-size="11" fill="${theme.muted}">`);
  for (const v of yt) out.push(`<text x="${m.l - 6}" y="${n2(sy(v) + 4)}" text-anchor="end">${fmtTick(v)}</text>`);
  for (const v of xt) out.push(`<text x="${n2(sx(v))}" y="${m.t + ph + 16}" text-anchor="middle">${fmtTick(v)}</text>`);
  out.push('</g>');
  // axes
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="${theme.muted}" stroke-width="1"/>`);
  if (spec.zeroLine && y0 <= 0 && y1 >= 0) out.push(`<line class="zero" x1="${m.l}" x2="${m.l + pw}" y1="${n2(sy(0))}" y2="${n2(sy(0))}" stroke="${theme.foreground}" stroke-width="1.2" stroke-opacity="0.8"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 38}" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.yLabel)}</text>`);
  // bands
  for (const s of series) {
    if (!s.band) continue;
    const up: string[] = [];
    const down: string[] = [];
    xOf(s).forEach((x, i) => {
      const hi = s.band!.high[i];
      const lo = s.band!.low[i];
      if (Number.isFinite(hi) && Number.isFinite(lo)) {
        up.push(`${n2(sx(x))},${n2(sy(hi))}`);
        down.unshift(`${n2(sx(x))},${n2(sy(lo))}`);
      }
    });
    if (up.length) out.push(`<polygon class="band" data-series="${escapeXml(s.key)}" points="${up.concat(down).join(' ')}" fill="${s.color}" fill-opacity="0.18" stroke="none"/>`);
  }
  // lines
  for (const s of series) {
    const pts = xOf(s).map((x, i) => (Number.isFinite(s.y[i]) ? `${n2(sx(x))},${n2(sy(s.y[i]))}` : '')).filter(Boolean);
    const dash = s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
    out.push(`<polyline class="series" data-series="${escapeXml(s.key)}" points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash} stroke-linejoin="round"/>`);
    if (xOf(s).length <= 40) for (const p of pts) { const [px, py] = p.split(','); out.push(`<circle cx="${px}" cy="${py}" r="2.2" fill="${s.color}"/>`); }
  }
  // legend
  const lx = m.l + pw + 16;
  out.push(`<g class="legend" font-size="12" fill="${theme.foreground}">`);
  series.forEach((s, i) => {
    const ly = m.t + 10 + i * 22;
    const dash = s.dash ? ` stroke-dasharray="${s.dash.join(' ')}"` : '';
    if (s.band) out.push(`<rect x="${lx}" y="${ly - 7}" width="28" height="14" fill="${s.color}" fill-opacity="0.18"/>`);
    out.push(`<line x1="${lx}" x2="${lx + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 34}" y="${ly + 4}">${escapeXml(legendLabel(s.label))}</text>`);
  });
  if (series.some((s) => s.band)) out.push(`<text x="${lx}" y="${m.t + 10 + series.length * 22 + 4}" font-size="10" fill="${theme.muted}">band: 95% CI</text>`);
  out.push('</g>');
  out.push(captionEl(o.provenance, 8, H - 8, W - 16, theme));
  out.push('</svg>');
  return out.join('');
}

function fmtLegend(v: number, percent?: boolean): string {
  const s = fmtTick(v);
  return percent ? `${v > 0 ? '+' : ''}${s}%` : s;
}

export function summarizeHeatmap(spec: HeatmapSpec): string {
  let best = { v: NaN, r: 0, c: 0 };
  spec.values.forEach((row, r) => row.forEach((v, c) => { if (Number.isFinite(v) && !(Math.abs(v) <= Math.abs(best.v))) best = { v, r, c }; }));
  const strongest = Number.isFinite(best.v) ? ` Largest magnitude ${fmtLegend(best.v, spec.percent)} at ${spec.yTicks[best.r]} × ${spec.xTicks[best.c]}.` : '';
  return `${spec.title}. Heatmap of ${spec.values.length} × ${spec.values[0]?.length ?? 0} cells (${spec.yLabel} by ${spec.xLabel}), colour: ${spec.scale.label}, range ${fmtLegend(spec.scale.min, spec.percent)} to ${fmtLegend(spec.scale.max, spec.percent)}.${strongest}`;
}

export function heatmapSvg(spec: HeatmapSpec, o: SvgOptions): string {
  const { theme } = o;
  const rows = spec.values.length;
  const cols = spec.values[0]?.length ?? 0;
  const longestY = Math.max(4, ...spec.yTicks.map((t) => t.length));
  const longestX = Math.max(1, ...spec.xTicks.map((t) => t.length));
  const rotateX = longestX > 3;
  // marked rows (position 0 of a micro grid): a dashed frame and a label in a column right of the plot
  const marks = (spec.markedRows ?? []).filter((mk) => mk.row >= 0 && mk.row < rows);
  const markW = marks.length ? Math.ceil(Math.max(...marks.map((mk) => mk.label.length)) * 6.2 + 26) : 0;
  const m = { l: Math.min(220, 30 + longestY * 6.6), r: 110 + markW, t: spec.subtitle ? 58 : 42, b: (rotateX ? Math.min(160, 20 + longestX * 5.6) : 20) + 24 + (o.provenance ? 18 : 0) };
  const cell = Math.max(10, Math.min(34, Math.floor(Math.min(((o.width ?? 760) - m.l - m.r) / Math.max(1, cols), 560 / Math.max(1, rows)))));
  const pw = cell * cols;
  const ph = cell * rows;
  const W = Math.max(o.width ?? 0, m.l + pw + m.r, 420);
  const H = m.t + ph + m.b;
  const out: string[] = [];
  out.push(header(W, H, spec.title, summarizeHeatmap(spec) + describeProv(o.provenance), o.provenance, theme, o.background !== false));
  out.push(`<text x="8" y="22" font-size="15" font-weight="600" fill="${theme.foreground}">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="8" y="40" font-size="11" fill="${theme.muted}">${escapeXml(spec.subtitle)}</text>`);
  out.push('<g class="cells" shape-rendering="crispEdges">');
  const nan = mix(theme.background, theme.grid, 0.5);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = spec.values[r][c];
      const fill = Number.isFinite(v) ? scaleColor(spec.scale, v) : nan;
      out.push(`<rect x="${m.l + c * cell}" y="${m.t + r * cell}" width="${cell}" height="${cell}" fill="${fill}"><title>${escapeXml(`${spec.yTicks[r]} × ${spec.xTicks[c]}: ${Number.isFinite(v) ? fmtLegend(v, spec.percent) : 'n/a'}`)}</title></rect>`);
    }
  }
  out.push('</g>');
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="${theme.muted}"/>`);
  for (const [r, c] of spec.outlined ?? []) {
    if (r < rows && c < cols) out.push(`<rect class="blocked" x="${m.l + c * cell + 1}" y="${m.t + r * cell + 1}" width="${cell - 2}" height="${cell - 2}" fill="none" stroke="${theme.foreground}" stroke-width="2"/>`);
  }
  for (const mk of marks) {
    const y = m.t + mk.row * cell;
    out.push(`<rect class="marked-row" data-row="${mk.row}" x="${m.l - 2}" y="${y - 1.5}" width="${pw + 4}" height="${cell + 3}" fill="none" stroke="${theme.foreground}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    out.push(`<text class="row-mark" data-row="${mk.row}" x="${m.l + pw + 8}" y="${n2(y + cell / 2 + 4)}" font-size="11" fill="${theme.foreground}">${escapeXml(`◂ ${mk.label}`)}</text>`);
  }
  // y labels
  const fs = Math.max(8, Math.min(12, cell - 2));
  out.push(`<g class="ylabels" font-size="${fs}" text-anchor="end">`);
  spec.yTicks.forEach((t, r) => {
    const col = spec.yRoles ? roleColor(spec.yRoles[r], theme) : theme.foreground;
    out.push(`<text x="${m.l - 6}" y="${n2(m.t + r * cell + cell / 2 + fs / 3)}" fill="${col}">${escapeXml(t)}</text>`);
  });
  out.push('</g>');
  // x labels (thin them when dense)
  const every = Math.max(1, Math.ceil(cols / 40));
  out.push(`<g class="xlabels" font-size="${Math.min(11, fs)}" fill="${theme.muted}">`);
  spec.xTicks.forEach((t, c) => {
    if (c % every) return;
    const x = m.l + c * cell + cell / 2;
    const y = m.t + ph + 12;
    out.push(rotateX ? `<text transform="translate(${n2(x + 3)} ${y - 4}) rotate(60)" text-anchor="start">${escapeXml(t)}</text>` : `<text x="${n2(x)}" y="${y + 2}" text-anchor="middle">${escapeXml(t)}</text>`);
  });
  out.push('</g>');
  out.push(`<text x="${m.l + pw / 2}" y="${H - (o.provenance ? 26 : 8)}" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.yLabel)}</text>`);
  // legend bar
  const lx = m.l + pw + 24 + markW;
  const lh = Math.max(80, Math.min(240, ph));
  const gid = `g${Math.abs(hash(spec.id)).toString(36)}`;
  const stops = Array.from({ length: 11 }, (_, i) => i / 10).map((t) => `<stop offset="${t}" stop-color="${scaleColor(spec.scale, spec.scale.max - t * (spec.scale.max - spec.scale.min))}"/>`);
  out.push(`<defs><linearGradient id="${gid}" x1="0" y1="0" x2="0" y2="1">${stops.join('')}</linearGradient></defs>`);
  out.push(`<rect class="legend-bar" x="${lx}" y="${m.t}" width="14" height="${lh}" fill="url(#${gid})" stroke="${theme.muted}"/>`);
  out.push(`<g font-size="10" fill="${theme.muted}">`);
  const lt = niceTicks(spec.scale.min, spec.scale.max, 5).filter((v) => v >= spec.scale.min - 1e-12 && v <= spec.scale.max + 1e-12);
  for (const v of lt) {
    const y = m.t + ((spec.scale.max - v) / (spec.scale.max - spec.scale.min || 1)) * lh;
    out.push(`<line x1="${lx + 14}" x2="${lx + 18}" y1="${n2(y)}" y2="${n2(y)}" stroke="${theme.muted}"/><text x="${lx + 21}" y="${n2(y + 3)}">${escapeXml(fmtLegend(v, spec.percent))}</text>`);
  }
  out.push('</g>');
  out.push(captionEl(o.provenance, 8, H - 8, W - 16, theme));
  out.push('</svg>');
  return out.join('');
}

/** '10⁻³' for log-scale ticks. */
export function powerOfTen(k: number): string {
  const sup: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹', '.': '·' };
  return '10' + String(Number(k.toPrecision(6))).split('').map((c) => sup[c] ?? c).join('');
}

/** A display-space value as the axis writes it: the score itself, or 10^v on a log scale. */
export function decayTickLabel(v: number, log: boolean): string {
  if (!log) return fmtTick(v);
  return Number.isInteger(Math.round(v * 1e6) / 1e6) ? powerOfTen(Math.round(v)) : Number((10 ** v).toPrecision(2)).toExponential(0);
}

/** Text summary of a decay histogram (aria-label / <desc>). */
export function summarizeDecayHistogram(spec: DecayHistogramSpec): string {
  const regions = spec.regions.map((r) => `${r.group} ${r.count}`).join(', ');
  const peak = spec.bins.reduce((best, b, i) => (total(b) > total(spec.bins[best]) ? i : best), 0);
  const pb = spec.bins[peak];
  return `${spec.title}. Histogram of ${spec.count} decay scores in ${spec.bins.length} bins${spec.log ? ' (log scale)' : ''}; groups ${regions}. Most ${spec.unit}s (${pb ? total(pb) : 0}) lie between ${decayTickLabel(pb?.lo ?? 0, spec.log)} and ${decayTickLabel(pb?.hi ?? 0, spec.log)}.`;
}

function total(b: { counts: Record<string, number> }): number {
  return Object.values(b.counts).reduce((a, c) => a + c, 0);
}

/** The decay histogram: stacked bars by group over shaded fast / middle / slow regions, the counts on top. */
export function decayHistogramSvg(spec: DecayHistogramSpec, o: SvgOptions): string {
  const { theme } = o;
  const W = o.width ?? 760;
  const H = o.height ?? 400;
  const bare = o.bare === true;
  const m = { l: 64, r: 24, t: bare ? 26 : spec.subtitle ? 82 : 66, b: o.provenance && !bare ? 76 : 60 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const ymax = Math.max(1, ...spec.bins.map(total));
  // headroom above the highest bar
  const yt = niceTicks(0, ymax + Math.max(1, Math.ceil(ymax * 0.06)), Math.min(6, ymax + 1)).filter((v) => Number.isInteger(v) && v >= 0);
  const y1 = Math.max(ymax, yt[yt.length - 1] ?? 1);
  const sx = (v: number) => m.l + ((v - spec.x0) / (spec.x1 - spec.x0 || 1)) * pw;
  const sy = (v: number) => m.t + ph - (v / y1) * ph;
  const out: string[] = [];
  out.push(header(W, H, spec.title, summarizeDecayHistogram(spec) + describeProv(o.provenance), o.provenance, theme, o.background !== false));
  if (!bare) {
    out.push(`<text x="${m.l}" y="22" font-size="15" font-weight="600" fill="${theme.foreground}">${escapeXml(spec.title)}</text>`);
    if (spec.subtitle) out.push(`<text x="${m.l}" y="40" font-size="11" fill="${theme.muted}">${escapeXml(spec.subtitle)}</text>`);
  }
  // shaded regions with their names and counts
  out.push('<g class="regions">');
  for (const r of spec.regions) {
    const c = decayGroupColor(r.group, theme);
    const xa = sx(r.from);
    const xb = sx(r.to);
    out.push(`<rect class="region" data-group="${r.group}" x="${n2(xa)}" y="${m.t}" width="${n2(Math.max(0, xb - xa))}" height="${ph}" fill="${c}" fill-opacity="0.10"><title>${escapeXml(`${r.group}: ${r.count} ${spec.unit}s`)}</title></rect>`);
    out.push(`<rect x="${n2(xa)}" y="${m.t - 4}" width="${n2(Math.max(0, xb - xa))}" height="4" fill="${c}"/>`);
    const label = `${r.group} · ${r.count}`;
    const fits = xb - xa > label.length * 6.6 + 6;
    out.push(`<text class="region-label" data-group="${r.group}" x="${n2((xa + xb) / 2)}" y="${m.t - 9}" font-size="11" font-weight="600" text-anchor="middle" fill="${c}">${escapeXml(fits ? label : String(r.count))}</text>`);
  }
  out.push('</g>');
  // grid + y ticks
  out.push(`<g class="grid" stroke="${theme.grid}" stroke-width="1">`);
  for (const v of yt) out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${n2(sy(v))}" y2="${n2(sy(v))}"/>`);
  out.push('</g>');
  out.push(`<g class="ticks" font-size="11" fill="${theme.muted}">`);
  for (const v of yt) out.push(`<text x="${m.l - 6}" y="${n2(sy(v) + 4)}" text-anchor="end">${v}</text>`);
  // x ticks: integer powers of ten on a log scale, else nice values
  const span = spec.x1 - spec.x0;
  let xt = spec.log ? niceTicks(spec.x0, spec.x1, 8).filter((v) => Number.isInteger(v)) : niceTicks(spec.x0, spec.x1, 8);
  xt = xt.filter((v) => v >= spec.x0 - span * 1e-9 && v <= spec.x1 + span * 1e-9);
  if (xt.length < 2) xt = [spec.x0, spec.x1];
  for (const v of xt) out.push(`<text x="${n2(sx(v))}" y="${m.t + ph + 16}" text-anchor="middle">${escapeXml(decayTickLabel(v, spec.log))}</text>`);
  out.push('</g>');
  // stacked bars: fast, middle, slow from the bottom
  out.push('<g class="bars">');
  for (const b of spec.bins) {
    let acc = 0;
    const xa = sx(b.lo) + 0.5;
    const w = Math.max(1, sx(b.hi) - sx(b.lo) - 1);
    for (const g of ['fast', 'middle', 'slow'] as const) {
      const k = b.counts[g];
      if (!k) continue;
      const ya = sy(acc + k);
      const units = b.units[g];
      const list = units.length <= 24 ? `: ${units.join(', ')}` : '';
      out.push(`<rect class="bar" data-group="${g}" x="${n2(xa)}" y="${n2(ya)}" width="${n2(w)}" height="${n2(sy(acc) - ya)}" fill="${decayGroupColor(g, theme)}" fill-opacity="0.85"><title>${escapeXml(`${decayTickLabel(b.lo, spec.log)} – ${decayTickLabel(b.hi, spec.log)}: ${k} ${g} ${spec.unit}${k === 1 ? '' : 's'}${list}`)}</title></rect>`);
      acc += k;
    }
  }
  out.push('</g>');
  // boundaries
  for (const x of spec.boundaries) out.push(`<line class="boundary" x1="${n2(sx(x))}" x2="${n2(sx(x))}" y1="${m.t}" y2="${m.t + ph}" stroke="${theme.foreground}" stroke-width="1.2" stroke-dasharray="4 3"/>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="${theme.muted}" stroke-width="1"/>`);
  out.push(`<text x="${m.l + pw / 2}" y="${m.t + ph + 38}" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" font-size="12" text-anchor="middle" fill="${theme.foreground}">${escapeXml(spec.yLabel)}</text>`);
  if (!bare) out.push(captionEl(o.provenance, 8, H - 8, W - 16, theme));
  out.push('</svg>');
  return out.join('');
}

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

export { withAlpha };

// Standalone, offline HTML report of a result: inline SVG figures (webview/shared/svg.ts), coloured tokens, the clean
// prediction, warnings, counts and a provenance table. No scripts, no remote content. Node-safe (no DOM).
import type {
  AggregateWindow, AnyResult, DatasetRunResult, MacroWindow, MicroResult, PromptRecord, ResultWarning, SkippedPrompt, TokenInfo, TopToken, TraceResult,
} from '../engine/experiments/resultTypes';
import { LIGHT_THEME, ROLE_LABEL, roleColor, withAlpha, type Theme } from '../../webview/shared/colors';
import {
  convModeOf, datasetChart, datasetCount, datasetWindows, formatPct, formatProb, hasConvPath, microHeatmap, modelFamily, provenanceOf,
  resultKnockoutLabel, SPLIT_LABEL, traceChart,
  type ProvenanceEntries, type SplitGroup,
} from '../../webview/shared/figures';
import { escapeXml, heatmapSvg, lineChartSvg } from '../../webview/shared/svg';
import { CONTINUATION, decodedLabels, tokenPieces, visibleToken } from '../engine/util/tokenText';
import { intervalLabel, windowLayers } from '../engine/experiments/render';
import type { IntervalSpec } from '../engine/util/stats';
import { firstPositionHtml } from './firstPositionReport';

export interface ReportOptions {
  theme?: Theme;
  title?: string;
}

const esc = escapeXml;
/** Any value as escaped text: the numbers of a results file too (ids, positions, counts), whatever the file holds. */
const txt = (v: unknown): string => escapeXml(String(v));

/** The model family of a result (older files without provenance.model.arch are Mamba-2). */
export function familyLabel(r: AnyResult): string {
  return modelFamily(r.provenance.model);
}

/**
 * Which knockout a result ran (SPEC §8), in a sentence: the attention knockout of a family without a conv path, else the
 * edge knockout with the conv path kept or the complete one. Its first words are resultKnockoutLabel's.
 */
export function knockoutLabel(r: AnyResult): string {
  const unit = r.provenance.model.arch === 'mamba1' ? 'every channel and state entry' : 'every head';
  if (!hasConvPath(r.provenance.model)) {
    return 'attention knockout: the pre-softmax scores of the blocked edges are removed in every head and each row renormalised (Geva et al.)';
  }
  return convModeOf(r) === 'block'
    ? `complete knockout: the edges are cut in ${unit} and the conv taps from the blocked sources too (--conv block)`
    : `edge knockout: the edges are cut in ${unit}; the depthwise conv path is kept (--conv keep, the papers' semantics)`;
}

/** The interval of a dataset run's bands (schema-1 files, which do not record it, used Student t). */
export function runInterval(r: DatasetRunResult): IntervalSpec {
  return r.settings.interval ?? { method: 't', level: 0.95 };
}

/** One sentence on the bands of a dataset figure. */
export function intervalSentence(spec: IntervalSpec): string {
  const pct = `${Math.round(spec.level * 1000) / 10}%`;
  return spec.method === 'bootstrap'
    ? `bands: ${pct} percentile-bootstrap interval of the mean over the prompts (${spec.resamples} resamples, seed ${spec.seed})`
    : `bands: ${pct} Student-t interval of the mean over the prompts`;
}

// ------------------------------------------------------------------ pieces

/** Visible labels of a result's tokens: leading space as '·', a byte piece that continues a character as (cont.). */
export function visibleTokens(prompt: string, tokens: readonly TokenInfo[]): string[] {
  return tokenPieces(
    prompt,
    tokens,
    tokens.map((t) => t.text),
  ).map(visibleToken);
}

function tokensHtml(prompt: string, tokens: TokenInfo[], theme: Theme, subjectPositions?: number[]): string {
  const labels = visibleTokens(prompt, tokens);
  const subj = new Set(subjectPositions ?? tokens.flatMap((t, i) => (t.role === 'subject' ? [i] : [])));
  const spans = tokens.map((t, i) => {
    const c = roleColor(t.role, theme);
    const cont = labels[i] === CONTINUATION;
    const role = t.role === 'last' && subj.has(i) ? 'last (and subject)' : t.role;
    return `<span class="tok${cont ? ' cont' : ''}" title="${txt(`position ${i}, ${role}${cont ? ', a byte piece of the character before' : ''}, id ${t.id}`)}" style="background:${withAlpha(c, 0.16)};border-bottom:2px solid ${c}"><sub>${i}</sub>${esc(labels[i])}</span>`;
  });
  const legend = (['subject', 'relation', 'last'] as const)
    .map((r) => `<span class="legend-item"><span class="swatch" style="background:${roleColor(r, theme)}"></span>${ROLE_LABEL[r]}</span>`)
    .join('');
  return `<p class="tokens">${spans.join(' ')}</p><p class="legend">${legend}<span class="legend-item muted">· = a space inside the token</span></p>`;
}

function topkHtml(top: TopToken[], targetId: number, baseProb: number, targetText: string): string {
  const rows = top.map(
    (t, i) =>
      `<tr${t.id === targetId ? ' class="target"' : ''}><td>${i + 1}</td><td><code>${esc(JSON.stringify(visibleToken(t.text)))}</code></td><td>${txt(t.id)}</td><td class="num">${formatProb(t.prob)}</td></tr>`,
  );
  const inTop = top.some((t) => t.id === targetId);
  const note = inTop ? '' : `<p class="muted">The target <code>${esc(JSON.stringify(visibleToken(targetText)))}</code> is not in the clean top-${top.length} (p = ${formatProb(baseProb)}).</p>`;
  return `<table class="topk"><caption>Clean prediction: top-${top.length} at the last position (target highlighted)</caption><thead><tr><th>#</th><th>Token</th><th>Id</th><th>Probability</th></tr></thead><tbody>${rows.join('')}</tbody></table>${note}`;
}

/** Provenance of the report: the figures' entries plus the sweep, the interval, the counts and the warnings. */
export function reportProvenance(r: AnyResult): ProvenanceEntries {
  const out = provenanceOf(r).slice();
  if (r.provenance.sweep) out.splice(7, 0, ['sweep', r.provenance.sweep]);
  out.push(['results schema', String(r.schemaVersion)]);
  if (r.kind === 'dataset-run') {
    out.push(['interval', intervalLabel(runInterval(r))]);
    if (r.counts) out.push(['counts', countsText(r)]);
    if (r.configHash) out.push(['config hash', r.configHash]);
  }
  if (r.warnings?.length) out.push(['warnings', r.warnings.map((w) => w.code + (w.count !== undefined ? ` (${w.count})` : '')).join(', ')]);
  return out;
}

function provHtml(r: AnyResult): string {
  const entries = KINDS[r.kind]?.provenance?.(r) ?? reportProvenance(r);
  return `<table class="prov"><tbody>${entries.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

/** The provenance a figure carries (metadata and footer): the result's, with `windows` set to the figure's window. */
function figureProvenance(r: AnyResult, window: number): ProvenanceEntries {
  return provenanceOf(r).map(([k, v]) => (k === 'windows' ? [k, String(window)] : [k, v]));
}

function modelLine(r: AnyResult): string {
  return `<p class="model">${esc(familyLabel(r))} model <code>${esc(r.provenance.model.path)}</code> (${txt(r.provenance.model.nLayer)} layers); ${esc(knockoutLabel(r))}.</p>`;
}

function warningsHtml(ws: readonly ResultWarning[] | undefined): string {
  if (!ws || ws.length === 0) return '';
  const items = ws.map((w) => `<li><strong>${esc(w.code)}</strong>: ${esc(w.message)}${w.indices?.length ? ` <span class="muted">(rows ${txt(w.indices.join(', '))}${(w.count ?? 0) > w.indices.length ? ', …' : ''})</span>` : ''}</li>`);
  return `<section class="warnings" role="note"><h2>Warnings</h2><ul>${items.join('')}</ul></section>`;
}

/** '…/models--state-spaces--mamba2-130m/snapshots/3a5a…' → its last two folders, so that a footer keeps room. */
function shortPath(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return p.length <= 36 || parts.length <= 2 ? p : `…/${parts.slice(-2).join('/')}`;
}

/**
 * The one-line footer of a report figure, window first so that it survives the truncation to the figure's width:
 * 'k = 4 · <extra> · Mamba-2 · edge knockout (conv kept) · mamba-explain 0.1.0 · model …/models/demo (1e43e166b509) · cpu'
 * (a GPT-2 / GPT-NeoX result: '… · GPT-NeoX · attention knockout · …').
 * The figure's <metadata> keeps the full provenance.
 */
function footerText(r: AnyResult, window: number, extra?: string): string {
  const p = r.provenance;
  return [
    `k = ${window}`,
    ...(extra ? [extra] : []),
    familyLabel(r),
    resultKnockoutLabel(r),
    `${p.tool.name} ${p.tool.version}`,
    `model ${shortPath(p.model.path)} (${p.model.hash.slice(0, 12)})`,
    `provider ${p.ep}`,
  ].join(' · ');
}

/** Replaces the SVG's caption line (svg.ts puts the generic provenance caption there) by `text`, cut to the width. */
function withFooter(svg: string, text: string): string {
  const width = Number(/<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 760);
  const max = Math.floor((width - 16) / 5.2);
  const t = text.length > max ? text.slice(0, max - 1) + '…' : text;
  return svg.replace(/(<text class="caption"[^>]*>)[^<]*(<\/text>)/, (_m, a: string, b: string) => `${a}${esc(t)}${b}`);
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

const X_WINDOW = (k: number) => (k === 1 ? 'Window start layer ℓ (the window is layer ℓ)' : `Window start layer ℓ (the window covers layers ℓ…ℓ+${k - 1})`);

function minOf(values: readonly number[]): number {
  let best = -1;
  values.forEach((v, i) => {
    if (Number.isFinite(v) && (best < 0 || v < values[best])) best = i;
  });
  return best;
}

function drops(w: MacroWindow | AggregateWindow, key: 'diffPct' | 'mean'): string {
  return Object.entries(w.curves)
    .map(([n, c]) => {
      const ys = (c as unknown as Record<string, number[]>)[key];
      const i = minOf(ys);
      return i < 0 ? `${n}: no value` : `${n} ${formatPct(ys[i])} at ℓ = ${w.starts[i]} (${windowLayers(w.starts[i], w.window)})`;
    })
    .join('; ');
}

// ------------------------------------------------------------------ bodies

function traceBody(r: TraceResult, theme: Theme): string {
  const figs = r.windows.map((w) => {
    const spec = { ...traceChart(r, w, theme), xLabel: X_WINDOW(w.window), subtitle: `Target ${JSON.stringify(visibleToken(r.target.text))}, p = ${formatProb(r.baseProb)}` };
    const caption =
      `Window k = ${w.window}: each point is the window starting at layer ℓ (layers ℓ…ℓ+${w.window - 1}), with the edges (last ← set) cut in every layer of it; ` +
      `y: diff% = (p′ − p)/p · 100 of the target. Largest drop — ${drops(w, 'diffPct')}.`;
    return figure(withFooter(lineChartSvg(spec, { theme, provenance: figureProvenance(r, w.window) }), footerText(r, w.window)), caption);
  });
  return (
    `<section><h2>Prompt</h2>${modelLine(r)}${tokensHtml(r.prompt, r.tokens, theme, r.subjectPositions)}` +
    `<p>Subject <code>${esc(JSON.stringify(r.subject))}</code> (positions ${txt(r.subjectPositions.join(', '))}), target <code>${esc(JSON.stringify(visibleToken(r.target.text)))}</code> (id ${txt(r.target.id)}, p = ${formatProb(r.baseProb)}).</p>` +
    `${topkHtml(r.baseTop, r.target.id, r.baseProb, r.target.text)}</section>` +
    warningsHtml(r.warnings) +
    `<section><h2>Attention knockout (macro)</h2><p>One figure per window size k: the point at ℓ is the window starting at layer ℓ (layers ℓ…ℓ+k−1).</p>${figs.join('')}</section>`
  );
}

function microBody(r: MicroResult, theme: Theme): string {
  const labels = visibleTokens(r.prompt, r.tokens);
  const spec = microHeatmap(r, theme);
  spec.yTicks = labels.map((l, i) => `${i}: ${l}`);
  spec.xLabel = X_WINDOW(r.window);
  spec.subtitle = `Target ${JSON.stringify(visibleToken(r.target.text))}, p = ${formatProb(r.baseProb)}`;
  const caption =
    `Change of the target's probability (diff%) when the last position is blocked from one position (rows) in the window of k = ${r.window} layers starting at layer ℓ (columns; layers ℓ…ℓ+${r.window - 1}).` +
    ` Rows are coloured by role (subject, relation, last).`;
  return (
    `<section><h2>Prompt</h2>${modelLine(r)}${tokensHtml(r.prompt, r.tokens, theme)}` +
    `<p>${r.subject !== undefined ? `Subject <code>${esc(JSON.stringify(r.subject))}</code>, t` : 'T'}arget <code>${esc(JSON.stringify(visibleToken(r.target.text)))}</code> (id ${txt(r.target.id)}, p = ${formatProb(r.baseProb)}).</p>` +
    `${topkHtml(r.baseTop, r.target.id, r.baseProb, r.target.text)}</section>` +
    warningsHtml(r.warnings) +
    `<section><h2>Attention knockout (micro)</h2>${figure(withFooter(heatmapSvg(spec, { theme, provenance: figureProvenance(r, r.window), width: 760 }), footerText(r, r.window)), caption)}</section>`
  );
}

function countsText(r: DatasetRunResult): string {
  const c = r.counts!;
  const skipped = c.unusable === undefined ? c.skipped - c.filteredOut : c.skipped;
  return `${c.selected} selected, ${c.measured} measured, ${c.filteredOut} filtered out, ${skipped} skipped${c.unusable ? `, ${c.unusable} unusable rows` : ''}`;
}

function causeOf(s: SkippedPrompt): 'unusable' | 'skipped' | 'filtered' {
  return s.cause ?? (s.reason.startsWith('filtered:') ? 'filtered' : 'skipped');
}

const CAUSE_LABEL = {
  filtered: 'filtered out (the clean top-1 is not the target)',
  skipped: 'skipped (selected, but cannot be measured)',
  unusable: 'unusable rows of the file (no prompt, subject or target)',
} as const;

function skippedHtml(r: DatasetRunResult): string {
  const groups = (['filtered', 'skipped', 'unusable'] as const).map((cause) => {
    const list = r.skipped.filter((s) => causeOf(s) === cause);
    if (list.length === 0) return '';
    const items = list.slice(0, 200).map((s) => `<li>#${txt(s.index)}${s.prompt ? ` <code>${esc(JSON.stringify(s.prompt))}</code>` : ''}: ${esc(s.reason)}</li>`);
    return `<details><summary>${list.length} ${esc(CAUSE_LABEL[cause])}</summary><ul>${items.join('')}${list.length > 200 ? `<li>… and ${list.length - 200} more</li>` : ''}</ul></details>`;
  });
  return groups.join('');
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}

function countsTable(r: DatasetRunResult): string {
  const c = r.counts;
  const ps = r.prompts;
  const p = ps.map((x) => x.baseProb).filter(Number.isFinite);
  const rows: [string, string][] = [];
  if (c) {
    rows.push(['rows in the file', String(c.rows ?? r.dataset.rows)]);
    if (c.unusable !== undefined) rows.push(['unusable rows (no prompt, subject or target)', String(c.unusable)]);
    rows.push(['selected (after --limit / --seed)', String(c.selected)]);
    rows.push(['skipped (cannot be measured)', String(c.unusable === undefined ? c.skipped - c.filteredOut : c.skipped)]);
    rows.push([`filtered out (clean top-1 ≠ target${r.settings.filterCorrect ? '' : '; filter off'})`, String(c.filteredOut)]);
    rows.push(['measured', String(c.measured)]);
  } else rows.push(['measured', String(ps.length)], ['skipped', String(r.skipped.length)]);
  if (p.length) {
    rows.push(['clean p of the target (mean / median)', `${formatProb(p.reduce((a, b) => a + b, 0) / p.length)} / ${formatProb(median(p))}`]);
    rows.push(['subject contains position 0', `${ps.filter((x) => x.subjectHasFirst).length} of ${ps.length}`]);
  }
  rows.push(['interval of the means', intervalLabel(runInterval(r))]);
  return `<table class="counts"><caption>Prompts</caption><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td class="num">${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

function promptsHtml(ps: PromptRecord[]): string {
  if (ps.length === 0) return '';
  const rows = ps.slice(0, 100).map(
    (p) =>
      `<tr><td class="num">${txt(p.index)}</td><td><code>${esc(JSON.stringify(p.prompt))}</code></td><td><code>${esc(JSON.stringify(p.subject))}</code></td><td><code>${esc(JSON.stringify(visibleToken(p.target.text)))}</code></td><td class="num">${formatProb(p.baseProb)}</td></tr>`,
  );
  return (
    `<details><summary>Clean prediction of the measured prompts${ps.length > 100 ? ' (first 100)' : ''}</summary>` +
    `<table class="prompts"><thead><tr><th>Row</th><th>Prompt</th><th>Subject</th><th>Target</th><th>Clean p</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`
  );
}

function datasetBody(r: DatasetRunResult, theme: Theme): string {
  const interval = runInterval(r);
  const groups: SplitGroup[] = r.aggregate.split ? ['all', 'subjectHasFirst', 'subjectLacksFirst'] : ['all'];
  const sections = groups.map((g) => {
    const n = datasetCount(r, g);
    const figs = datasetWindows(r, g).map((w) => {
      const spec = { ...datasetChart(r, w, theme, g), xLabel: X_WINDOW(w.window) };
      spec.subtitle = `${SPLIT_LABEL[g]} (n = ${n}); shaded: ${interval.method === 'bootstrap' ? 'bootstrap' : 'Student-t'} ${Math.round(interval.level * 100)}% CI`;
      const caption =
        `${SPLIT_LABEL[g]}, window k = ${w.window}: each point is the window starting at layer ℓ (layers ℓ…ℓ+${w.window - 1}); n = ${n}. ` +
        `Lines: mean diff% over the prompts; ${intervalSentence(interval)}. Lowest mean — ${drops(w, 'mean')}.`;
      return figure(
        withFooter(lineChartSvg(spec, { theme, provenance: [...figureProvenance(r, w.window), ['interval', intervalLabel(interval)]] }), footerText(r, w.window, `${SPLIT_LABEL[g]} (n = ${n}) · ${intervalLabel(interval)}`)),
        caption,
      );
    });
    return `<h3>${esc(SPLIT_LABEL[g])} (n = ${txt(n)})</h3>${n === 0 ? '<p class="muted">No prompt in this group.</p>' : figs.join('')}`;
  });
  const micro = r.prompts.filter((p) => p.micro).slice(0, 3);
  if (micro.length) {
    const figs = micro.map((p) => {
      const m = p.micro!;
      const spec = microHeatmap({ window: m.window, starts: m.starts, diffPct: m.diffPct, tokens: m.tokens.map((text) => ({ text })), target: p.target }, theme, `micro-${p.index}`);
      spec.yTicks = decodedLabels(m.tokens).map((l, i) => `${i}: ${l}${m.subjectPositions?.includes(i) ? ' *' : ''}`);
      spec.xLabel = X_WINDOW(m.window);
      spec.subtitle = `Target ${JSON.stringify(visibleToken(p.target.text))}, p = ${formatProb(p.baseProb)}`;
      return figure(
        withFooter(heatmapSvg(spec, { theme, provenance: figureProvenance(r, m.window), width: 760 }), footerText(r, m.window, `row #${p.index}`)),
        `Row #${p.index}: ${JSON.stringify(p.prompt)} → ${JSON.stringify(visibleToken(p.target.text))} (p = ${formatProb(p.baseProb)}); window k = ${m.window}, columns: the window starting at layer ℓ (layers ℓ…ℓ+${m.window - 1}); * subject.`,
      );
    });
    sections.push(`<h3>Per-position knockout, first ${micro.length} prompt(s)</h3>${figs.join('')}`);
  }
  const partial =
    r.status === 'partial'
      ? `<p class="banner">This is the checkpoint of an unfinished run (${r.resume ? `${r.resume.doneChunks.length} of ${txt(r.resume.totalChunks)} chunks` : 'partial'}): the means cover the prompts done so far, with provisional ${esc(intervalLabel(interval))} bands.</p>`
      : '';
  return (
    `<section><h2>Dataset</h2>${partial}${modelLine(r)}<p><code>${esc(r.dataset.file)}</code> — ${txt(r.dataset.rows)} rows (${esc(r.dataset.format)}, sha256 <code>${esc(r.dataset.sha256.slice(0, 16))}…</code>); ` +
    `windows ${txt(r.settings.windows.join(', '))}${r.settings.sets.length ? `; source sets ${esc(r.settings.sets.join(', '))}` : ''}.</p>${countsTable(r)}${promptsHtml(r.prompts)}${skippedHtml(r)}</section>` +
    warningsHtml(r.warnings) +
    `<section><h2>Attention knockout (${esc(r.experiment)}), dataset means</h2>${sections.join('')}${firstPositionHtml(r, theme, 'h3', (svg, k) => withFooter(svg, footerText(r, k, 'pos 0 (first) blocked')))}</section>`
  );
}

// ------------------------------------------------------------------ kinds

export interface ReportKind<R = AnyResult> {
  /** the page heading */
  heading(r: R): string;
  /** the line under the heading (the prompt, the dataset file …) */
  subtitle(r: R): string;
  /** the sections between the heading and the provenance */
  body(r: R, theme: Theme): string;
  /** the provenance table's entries (default: reportProvenance) */
  provenance?(r: R): ProvenanceEntries;
}

const KINDS: Record<string, ReportKind> = {
  trace: { heading: () => 'Attention knockout trace', subtitle: (r) => (r as TraceResult).prompt, body: (r, t) => traceBody(r as TraceResult, t) },
  micro: { heading: () => 'Attention knockout, per position', subtitle: (r) => (r as MicroResult).prompt, body: (r, t) => microBody(r as MicroResult, t) },
  'dataset-run': {
    heading: (r) => `Attention knockout over a dataset (${(r as DatasetRunResult).experiment})`,
    subtitle: (r) => (r as DatasetRunResult).dataset.file,
    body: (r, t) => datasetBody(r as DatasetRunResult, t),
  },
};

/** One result's body and provenance table (a report that holds several results, e.g. a comparison's models). */
export function resultSection(r: AnyResult, theme: Theme): { body: string; provenance: string } {
  return { body: KINDS[r.kind].body(r, theme), provenance: provHtml(r) };
}

/**
 * Adds a result kind to the report (the feature knockout, steering and comparison results as they land); register its
 * structural check for `report --input` too (registerResultKind in loadResult.ts).
 */
export function registerReportKind<R extends { kind: string; provenance: AnyResult['provenance'] }>(kind: string, renderer: ReportKind<R>): void {
  KINDS[kind] = renderer as unknown as ReportKind;
}

const CSS = (t: Theme) => `
body{font-family:${t.fontFamily};color:${t.foreground};background:${t.background};max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid ${t.grid};padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.muted{color:${t.muted}}
.tokens{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.05em;line-height:2.1}
.tok{padding:1px 2px;border-radius:2px;white-space:pre}.tok sub{font-size:.62em;color:${t.muted};margin-right:1px}.tok.cont{font-style:italic;color:${t.muted}}
.legend-item{margin-right:1.2em;font-size:.9em}.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}caption{text-align:left;font-weight:600;padding-bottom:.3em}
th,td{border:1px solid ${t.grid};padding:.25em .6em;text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.target td{font-weight:600;background:${withAlpha(t.green, 0.12)}}
table.prov td{word-break:break-all}table.prompts td{word-break:break-word}
.warnings{border-left:4px solid ${t.orange};background:${withAlpha(t.orange, 0.08)};padding:.2em 1em .4em;margin-top:1.6em}.warnings h2{border:none;margin-top:.4em}
.banner{border-left:4px solid ${t.blue};background:${withAlpha(t.blue, 0.08)};padding:.5em 1em}
details{margin:.6em 0}summary{cursor:pointer}
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:${t.muted}}
footer{margin-top:3em;font-size:.85em;color:${t.muted}}`;

/**
 * A complete HTML document (UTF-8) for the result; for several traces (the same prompt on several models, e.g. the
 * Mamba-2 and Mamba-1 demo models), one section per model, each with its own provenance.
 */
export function renderReportHtml(results: AnyResult | readonly AnyResult[], options: ReportOptions = {}): string {
  const theme = options.theme ?? LIGHT_THEME;
  const list = Array.isArray(results) ? (results as readonly AnyResult[]) : [results as AnyResult];
  if (list.length === 0) throw new Error('renderReportHtml: no result');
  for (const r of list) if (!KINDS[r.kind]) throw new Error(`renderReportHtml: no renderer for results of kind '${r.kind}'`);
  const result = list[0];
  let body: string;
  let heading: string;
  if (list.length > 1) {
    const same = list.every((r) => r.kind === result.kind);
    heading = same && result.kind === 'trace' ? `Attention knockout trace on ${list.length} models` : `${list.length} results`;
    body = list
      .map((r, i) => `<section class="model-section"><h2>${same && result.kind === 'trace' ? 'Model' : 'Result'} ${i + 1}: ${esc(familyLabel(r))} — <code>${esc(r.provenance.model.path)}</code></h2>${KINDS[r.kind].body(r, theme)}<h3>Provenance</h3>${provHtml(r)}</section>`)
      .join('');
  } else {
    heading = KINDS[result.kind].heading(result);
    body = KINDS[result.kind].body(result, theme);
  }
  const title = options.title ?? `Mamba Explain — ${heading}`;
  const sub = KINDS[result.kind].subtitle(result);
  const p = result.provenance;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:;">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="${esc(`${p.tool.name} ${p.tool.version}`)}">
<title>${esc(title)}</title>
<style>${CSS(theme)}</style>
</head>
<body>
<header><h1>${esc(heading)}</h1><p>${esc(sub)}</p></header>
<main>
${body}
${list.length > 1 ? '' : `<section><h2>Provenance</h2>${provHtml(result)}</section>`}
</main>
<footer>Generated by ${esc(p.tool.name)} ${esc(p.tool.version)} on ${esc(p.createdAt)} with model <code>${esc(p.model.path)}</code> (${esc(p.ep)}). diff% = (p′ − p)/p · 100, where p is the clean probability of the target and p′ the one with the knockout.</footer>
</body>
</html>
`;
}

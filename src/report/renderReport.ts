// Standalone, offline HTML report of a result: inline SVG figures (webview/shared/svg.ts), coloured
// tokens, top-k, provenance. No scripts, no remote content. Node-safe (no DOM).
import type { AnyResult, DatasetRunResult, MicroResult, TokenInfo, TopToken, TraceResult } from '../engine/experiments/resultTypes';
import { LIGHT_THEME, ROLE_LABEL, roleColor, withAlpha, type Theme } from '../../webview/shared/colors';
import {
  datasetChart, datasetCount, datasetWindows, formatPct, formatProb, microHeatmap, provenanceOf, SPLIT_LABEL, tokenLabel, traceChart,
  type SplitGroup,
} from '../../webview/shared/figures';
import { escapeXml, heatmapSvg, lineChartSvg } from '../../webview/shared/svg';

export interface ReportOptions {
  theme?: Theme;
  title?: string;
}

const esc = escapeXml;

function tokensHtml(tokens: TokenInfo[], theme: Theme): string {
  const spans = tokens.map((t, i) => {
    const c = roleColor(t.role, theme);
    return `<span class="tok" title="position ${i}, ${t.role}" style="background:${withAlpha(c, 0.16)};border-bottom:2px solid ${c}">${esc(t.text.replace(/ /g, '\u00a0'))}</span>`;
  });
  const legend = (['subject', 'relation', 'last'] as const)
    .map((r) => `<span class="legend-item"><span class="swatch" style="background:${roleColor(r, theme)}"></span>${ROLE_LABEL[r]}</span>`)
    .join('');
  return `<p class="tokens">${spans.join('')}</p><p class="legend">${legend}</p>`;
}

function topkHtml(top: TopToken[], targetId: number): string {
  const rows = top.map((t, i) => `<tr${t.id === targetId ? ' class="target"' : ''}><td>${i + 1}</td><td><code>${esc(JSON.stringify(t.text))}</code></td><td>${t.id}</td><td class="num">${formatProb(t.prob)}</td></tr>`);
  return `<table class="topk"><caption>Clean top-${top.length} predictions (target highlighted)</caption><thead><tr><th>#</th><th>Token</th><th>Id</th><th>Probability</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function provHtml(r: AnyResult): string {
  return `<table class="prov"><tbody>${provenanceOf(r).map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

/** The model family of a result (older files without provenance.model.arch are Mamba-2). */
export function familyLabel(r: AnyResult): string {
  const m = r.provenance.model;
  if (m.arch === 'mamba1') return m.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1';
  return 'Mamba-2';
}

/** Which knockout a result ran (SPEC §8): edge knockout with the conv path kept, or the complete one. */
export function knockoutLabel(r: AnyResult): string {
  const unit = r.provenance.model.arch === 'mamba1' ? 'every channel and state entry' : 'every head';
  return r.provenance.conv === 'block'
    ? `complete knockout: the edges are cut in ${unit} and the conv taps from the blocked sources too (--conv block)`
    : `edge knockout: the edges are cut in ${unit}; the depthwise conv path is kept (--conv keep, the papers' semantics)`;
}

function modelLine(r: AnyResult): string {
  return `<p class="model">${esc(familyLabel(r))} model <code>${esc(r.provenance.model.path)}</code>; ${esc(knockoutLabel(r))}.</p>`;
}

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function traceBody(r: TraceResult, theme: Theme): string {
  const prov = provenanceOf(r);
  const figs = r.windows.map((w) => {
    const spec = traceChart(r, w, theme);
    const drops = Object.entries(w.curves).map(([n, c]) => {
      const i = c.diffPct.indexOf(Math.min(...c.diffPct));
      return `${n}: ${formatPct(c.diffPct[i])} at layer ${w.starts[i]}`;
    });
    return figure(lineChartSvg(spec, { theme, provenance: prov }), `Window k = ${w.window}. Largest drop — ${drops.join('; ')}.`);
  });
  return (
    `<section><h2>Prompt</h2>${modelLine(r)}${tokensHtml(r.tokens, theme)}<p>Subject <code>${esc(JSON.stringify(r.subject))}</code>, target <code>${esc(JSON.stringify(r.target.text))}</code> (p = ${formatProb(r.baseProb)}).</p>${topkHtml(r.baseTop, r.target.id)}</section>` +
    `<section><h2>Attention knockout (macro)</h2>${figs.join('')}</section>`
  );
}

function microBody(r: MicroResult, theme: Theme): string {
  const prov = provenanceOf(r);
  return (
    `<section><h2>Prompt</h2>${modelLine(r)}${tokensHtml(r.tokens, theme)}<p>Target <code>${esc(JSON.stringify(r.target.text))}</code> (p = ${formatProb(r.baseProb)}).</p>${topkHtml(r.baseTop, r.target.id)}</section>` +
    `<section><h2>Attention knockout (micro)</h2>${figure(heatmapSvg(microHeatmap(r, theme), { theme, provenance: prov }), `Change in target probability when the last position is blocked from attending to one position, window k = ${r.window}.`)}</section>`
  );
}

function datasetBody(r: DatasetRunResult, theme: Theme): string {
  const prov = provenanceOf(r);
  const groups: SplitGroup[] = r.aggregate.split ? ['all', 'subjectHasFirst', 'subjectLacksFirst'] : ['all'];
  const sections = groups.map((g) => {
    const figs = datasetWindows(r, g).map((w) => figure(lineChartSvg(datasetChart(r, w, theme, g), { theme, provenance: prov }), `${SPLIT_LABEL[g]}, window k = ${w.window}, n = ${datasetCount(r, g)}. Lines: mean; bands: 95% confidence interval.`));
    return `<h3>${esc(SPLIT_LABEL[g])} (n = ${datasetCount(r, g)})</h3>${figs.join('')}`;
  });
  const skipped = r.skipped.length
    ? `<details><summary>${r.skipped.length} skipped prompt(s)</summary><ul>${r.skipped.slice(0, 200).map((s) => `<li>#${s.index}${s.prompt ? ` <code>${esc(JSON.stringify(s.prompt))}</code>` : ''}: ${esc(s.reason)}</li>`).join('')}</ul></details>`
    : '';
  const micro = r.prompts.filter((p) => p.micro).slice(0, 3);
  if (micro.length) {
    const figs = micro.map((p) => {
      const m = p.micro!;
      const spec = microHeatmap({ window: m.window, starts: m.starts, diffPct: m.diffPct, tokens: m.tokens.map((text) => ({ text })), target: p.target }, theme, `micro-${p.index}`);
      return figure(heatmapSvg(spec, { theme, provenance: prov }), `Prompt #${p.index}: ${JSON.stringify(p.prompt)} → ${JSON.stringify(p.target.text)}, window k = ${m.window}.`);
    });
    sections.push(`<h3>Per-position knockout, first ${micro.length} prompt(s)</h3>${figs.join('')}`);
  }
  return (
    `<section><h2>Dataset</h2>${modelLine(r)}<p><code>${esc(r.dataset.file)}</code> — ${r.dataset.rows} rows (${esc(r.dataset.format)}); ${r.prompts.length} prompt(s) used, ${r.skipped.length} skipped; status ${esc(r.status)}.</p>${skipped}</section>` +
    `<section><h2>Attention knockout (${esc(r.experiment)}), dataset means</h2>${sections.join('')}</section>`
  );
}

const CSS = (t: Theme) => `
body{font-family:${t.fontFamily};color:${t.foreground};background:${t.background};max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid ${t.grid};padding-bottom:.2em;margin-top:1.6em}h3{font-size:1.05em}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.tokens{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.05em}
.tok{padding:1px 0;margin-right:1px;border-radius:2px}
.legend-item{margin-right:1.2em;font-size:.9em}.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}
table{border-collapse:collapse;margin:1em 0;font-size:.92em}caption{text-align:left;font-weight:600;padding-bottom:.3em}
th,td{border:1px solid ${t.grid};padding:.25em .6em;text-align:left;vertical-align:top}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.target td{font-weight:600;background:${withAlpha(t.green, 0.12)}}
table.prov td{word-break:break-all}
figure{margin:1.2em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9em;color:${t.muted}}
footer{margin-top:3em;font-size:.85em;color:${t.muted}}`;

/**
 * A complete HTML document (UTF-8) for the result; for several traces (the same prompt on several models, e.g. the
 * Mamba-2 and Mamba-1 demo models), one section per model, each with its own provenance.
 */
export function renderReportHtml(results: AnyResult | readonly TraceResult[], options: ReportOptions = {}): string {
  const theme = options.theme ?? LIGHT_THEME;
  let body: string;
  let heading: string;
  const list = Array.isArray(results) ? (results as readonly TraceResult[]) : undefined;
  const result: AnyResult = list ? list[0] : (results as AnyResult);
  if (list && list.length === 0) throw new Error('renderReportHtml: no result');
  if (list && list.length > 1) {
    heading = `Attention knockout trace on ${list.length} models`;
    body = list
      .map((r, i) => `<section class="model-section"><h2>Model ${i + 1}: ${esc(familyLabel(r))} — <code>${esc(r.provenance.model.path)}</code></h2>${traceBody(r, theme)}<h3>Provenance</h3>${provHtml(r)}</section>`)
      .join('');
  } else if (result.kind === 'trace') {
    heading = 'Attention knockout trace';
    body = traceBody(result, theme);
  } else if (result.kind === 'micro') {
    heading = 'Attention knockout, per position';
    body = microBody(result, theme);
  } else {
    heading = `Attention knockout over a dataset (${result.experiment})`;
    body = datasetBody(result, theme);
  }
  const title = options.title ?? `Mamba Explain — ${heading}`;
  const sub = result.kind === 'dataset-run' ? result.dataset.file : result.prompt;
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
${list && list.length > 1 ? '' : `<section><h2>Provenance</h2>${provHtml(result)}</section>`}
</main>
<footer>Generated by ${esc(p.tool.name)} ${esc(p.tool.version)} on ${esc(p.createdAt)} with model <code>${esc(p.model.path)}</code> (${esc(p.ep)}). Δp = (p′ − p)/p · 100.</footer>
</body>
</html>
`;
}

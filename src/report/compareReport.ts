// The report of a comparison (kind 'comparison', results schema 3): the models, each model's tokens, one figure per
// window and source set with one line per model on the relative depth ℓ / (L − k), the first-position effect per model
// (dataset micro runs), and each model's own full result. Registers the kind with the loader (its structural check:
// every model's result must itself be a valid result of the comparison's experiment) and with the renderer.
import type { AnyResult, ComparisonResult, ComparedResult, MicroResult, TraceResult } from '../engine/experiments/resultTypes';
import { RESULT_KINDS } from '../engine/experiments/resultTypes';
import { comparisonFigures, incomparable, relativeDepth, setTitle } from '../engine/experiments/comparison';
import { roleColor, withAlpha, type Theme } from '../../webview/shared/colors';
import { comparisonChartSpec, comparisonKnockoutLabel, comparisonModelRows, comparisonProvenance, firstPositionRows } from '../../webview/shared/compareFigures';
import { formatPct } from '../../webview/shared/figures';
import { escapeXml as esc, lineChartSvg } from '../../webview/shared/svg';
import { visibleToken } from '../engine/util/tokenText';
import { parseResults, registerResultKind } from './loadResult';
import { registerReportKind, resultSection, visibleTokens } from './renderReport';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural checks of a comparison: its models, and each model's result as a result of its own kind. */
export const COMPARISON_CHECKS: ((v: Record<string, unknown>) => string | undefined)[] = [
  (v) => (isObj(v.provenance) && isObj(v.provenance.tool) && isObj(v.provenance.model) ? undefined : 'its "provenance" (tool, model) is missing'),
  (v) => ((RESULT_KINDS as readonly string[]).includes(v.experiment as string) ? undefined : `its "experiment" is not one of ${RESULT_KINDS.join(', ')}`),
  (v) => {
    const ms = v.models;
    if (!Array.isArray(ms) || ms.length < 2) return 'its "models" is not a list of at least 2 models';
    const bad = ms.findIndex((m) => !isObj(m) || typeof m.ref !== 'string' || typeof m.label !== 'string' || !isObj(m.result));
    if (bad >= 0) return `its models[${bad}] is not a {ref, label, result} entry`;
    if (new Set(ms.map((m) => (m as { label: string }).label)).size !== ms.length) return 'its models have the same label twice';
    return undefined;
  },
  (v) => {
    const ms = v.models as { result: Record<string, unknown> }[];
    for (const [i, m] of ms.entries()) {
      if (m.result.kind !== v.experiment) return `its models[${i}].result is of kind '${String(m.result.kind)}', not '${String(v.experiment)}'`;
      try {
        parseResults(m.result, `its models[${i}].result`);
      } catch (e) {
        return (e as Error).message;
      }
    }
    return incomparable(ms.map((m) => m.result as unknown as ComparedResult));
  },
];

const EXPERIMENT_LABEL: Record<string, string> = { trace: 'macro trace', micro: 'micro (per position)', 'dataset-run': 'dataset run' };

function experimentLabel(c: ComparisonResult): string {
  const r = c.models[0].result;
  return r.kind === 'dataset-run' ? `${r.experiment} dataset run` : EXPERIMENT_LABEL[r.kind];
}

function modelsTable(c: ComparisonResult): string {
  const rows = comparisonModelRows(c).map(
    (m, i) =>
      `<tr><td class="num">${i + 1}</td><td>${esc(m.label)}</td><td>${esc(m.family)}</td><td class="num">${m.layers}</td><td><code>${esc(m.path)}</code></td><td><code>${esc(m.hash)}</code></td><td>${esc(m.detail)}</td></tr>`,
  );
  return `<table class="models"><caption>Models</caption><thead><tr><th>#</th><th>Model</th><th>Family</th><th>Layers</th><th>Path</th><th>Hash</th><th>Result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Each model's own tokens of the prompt, coloured by role (trace, micro). */
function tokensPerModel(c: ComparisonResult, theme: Theme): string {
  const items = c.models.map((m) => {
    const r = m.result as TraceResult | MicroResult;
    const labels = visibleTokens(r.prompt, r.tokens);
    const spans = r.tokens.map((t, i) => {
      const col = roleColor(t.role, theme);
      return `<span class="tok" title="position ${i}, ${t.role}" style="background:${withAlpha(col, 0.16)};border-bottom:2px solid ${col}"><sub>${i}</sub>${esc(labels[i])}</span>`;
    });
    return `<p class="tokens"><strong>${esc(m.label)}</strong> (${r.tokens.length} tokens, target <code>${esc(JSON.stringify(visibleToken(r.target.text)))}</code>): ${spans.join(' ')}</p>`;
  });
  return `<section><h2>The prompt in each model's tokens</h2>${items.join('')}</section>`;
}

function coverageHtml(c: ComparisonResult): string {
  const cov = c.coverage;
  if (!cov) return '';
  const rows = cov.models.map((m) => `<tr><td>${esc(m.label)}</td><td class="num">${m.measured}</td><td class="num">${m.filteredOut}</td><td class="num">${m.skipped}</td><td>${m.filteredIndices.length ? esc(m.filteredIndices.join(', ') + (m.filteredOut > m.filteredIndices.length ? ', …' : '')) : '—'}</td></tr>`);
  return (
    `<p>${cov.measuredByAll} of ${cov.selected} selected rows were measured by every model (each model keeps the prompts whose clean top-1 is the target${cov.notByAll.length ? `; rows measured by some models only: ${esc(cov.notByAll.join(', '))}${cov.notByAll.length >= 20 ? ', …' : ''}` : ''}).</p>` +
    `<table class="coverage"><caption>Prompts per model</caption><thead><tr><th>Model</th><th>Measured</th><th>Filtered out</th><th>Skipped</th><th>Filtered rows</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

function warningsHtml(c: ComparisonResult): string {
  const ws = [...(c.warnings ?? []), ...c.models.flatMap((m) => (m.result.warnings ?? []).map((w) => ({ ...w, message: `${m.label}: ${w.message}` })))];
  if (!ws.length) return '';
  return `<section class="warnings" role="note"><h2>Warnings</h2><ul>${ws.map((w) => `<li><strong>${esc(w.code)}</strong>: ${esc(w.message)}</li>`).join('')}</ul></section>`;
}

/** A comparison figure's footer, window first as in every report figure: 'k = 4 · subject → last · demo (Mamba-2), … · mamba-explain 0.1.0'. */
function footerText(c: ComparisonResult, window: number, set: string): string {
  const p = c.provenance;
  return [`k = ${window}`, setTitle(set), c.models.map((m) => m.label).join(', '), comparisonKnockoutLabel(c), `${p.tool.name} ${p.tool.version}`].join(' · ');
}

/** Replaces the SVG's caption line by `text`, cut to the figure's width (as the report's other figures). */
function withFooter(svg: string, text: string): string {
  const width = Number(/<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)?.[1] ?? 760);
  const max = Math.floor((width - 16) / 5.2);
  const t = text.length > max ? text.slice(0, max - 1) + '…' : text;
  return svg.replace(/(<text class="caption"[^>]*>)[^<]*(<\/text>)/, (_m, a: string, b: string) => `${a}${esc(t)}${b}`);
}

function figuresHtml(c: ComparisonResult, theme: Theme): string {
  let lastWindow = -1;
  const parts: string[] = [];
  for (const f of comparisonFigures(c)) {
    if (f.window !== lastWindow) {
      lastWindow = f.window;
      parts.push(`<h3>Window k = ${f.window}</h3>`);
    }
    const spec = comparisonChartSpec(c, f, theme);
    const minima = f.curves
      .map((m) => {
        let b = m.y.findIndex((y) => Number.isFinite(y));
        m.y.forEach((y, i) => Number.isFinite(y) && y < m.y[b] && (b = i));
        return b < 0 ? `${m.label}: no value` : `${m.label} ${formatPct(m.y[b])} at ℓ = ${m.starts[b]} of ${m.nLayer} (depth ${relativeDepth(m.starts[b], f.window, m.nLayer).toFixed(2)})`;
      })
      .join('; ');
    const caption = `${setTitle(f.set)}, window k = ${f.window}: each model's window starts ℓ = 0 … L − k at x = ℓ / (L − k), so that models of different depth line up. Lowest ${c.experiment === 'dataset-run' ? 'mean ' : ''}— ${minima}.`;
    const svg = withFooter(lineChartSvg(spec, { theme, provenance: comparisonProvenance(c, f.window) }), footerText(c, f.window, f.set));
    parts.push(`<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>`);
  }
  return parts.join('');
}

function firstPositionTable(c: ComparisonResult): string {
  const rows = firstPositionRows(c);
  if (!rows.length) return '';
  const body = rows.map((r) => `<tr><td>${esc(r.label)}</td><td class="num">${esc(r.text)}</td><td class="num">${esc(r.notSubject)}</td></tr>`);
  return (
    `<h3 id="first-position">First-position effect per model: pos 0 (first)</h3>` +
    `<p>The strongest mean effect of blocking (last ← 0), the prompt's first token, per model (aggregate.firstPosition; each model's full table is in its section below).</p>` +
    `<table class="first-position"><thead><tr><th>Model</th><th>All prompts: lowest mean diff% [CI]</th><th>Subject does not contain pos 0</th></tr></thead><tbody>${body.join('')}</tbody></table>`
  );
}

export function comparisonBody(c: ComparisonResult, theme: Theme): string {
  const r0 = c.models[0].result;
  const intro = `<p>The same ${esc(experimentLabel(c))} on ${c.models.length} models, each with its own tokenisation, positions and depth. Every figure puts a model's window starts ℓ = 0 … L − k at x = ℓ / (L − k), the relative depth, as the Mamba Knockout paper's figures do.</p>`;
  const perModel = c.models.map((m, i) => {
    const s = resultSection(m.result as AnyResult, theme);
    return `<details class="model-section"><summary>Model ${i + 1}: ${esc(m.label)} — its own result</summary>${s.body}<h3>Provenance</h3>${s.provenance}</details>`;
  });
  return (
    `<section><h2>Models</h2>${intro}${modelsTable(c)}${coverageHtml(c)}</section>` +
    (r0.kind === 'dataset-run' ? '' : tokensPerModel(c, theme)) +
    warningsHtml(c) +
    `<section><h2>Attention knockout on the relative depth</h2>${figuresHtml(c, theme)}${firstPositionTable(c)}</section>` +
    `<section><h2>Each model</h2>${perModel.join('')}</section>`
  );
}

registerResultKind('comparison', COMPARISON_CHECKS);
registerReportKind<ComparisonResult>('comparison', {
  heading: (c) => `Comparison of ${c.models.length} models: ${experimentLabel(c)}`,
  subtitle: (c) => {
    const r = c.models[0].result;
    return r.kind === 'dataset-run' ? r.dataset.file : (r as TraceResult | MicroResult).prompt;
  },
  body: comparisonBody,
  provenance: (c) => [...comparisonProvenance(c), ['results schema', String(c.schemaVersion)], ...(c.warnings?.length ? [['warnings', c.warnings.map((w) => w.code).join(', ')] as [string, string]] : [])],
});

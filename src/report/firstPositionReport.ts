// The report's section on the first-position effect of a dataset micro run (aggregate.firstPosition): a figure of the
// mean diff% of blocking (last ← 0) per window start, over all prompts and over those whose subject does not contain
// position 0, with the run's interval, and the table of the numbers. Node-safe (no DOM).
import type { DatasetRunResult, FirstPositionAggregate, FirstPositionStats } from '../engine/experiments/resultTypes';
import { windowLayers } from '../engine/experiments/render';
import { FIRST_POSITION_LABEL } from '../engine/experiments/firstPosition';
import type { Theme } from '../../webview/shared/colors';
import { formatPct, provenanceOf, Y_LABEL, type LineChartSpec } from '../../webview/shared/figures';
import { escapeXml as esc, lineChartSvg } from '../../webview/shared/svg';

const GROUPS: [string, (f: FirstPositionAggregate) => FirstPositionStats][] = [
  ['All prompts', (f) => f],
  ['Subject does not contain pos 0', (f) => f.notSubject],
];

/** The line chart: one line per group, with its interval as a band. */
export function firstPositionChart(f: FirstPositionAggregate, theme: Theme): LineChartSpec {
  return {
    id: `first-position-k${f.window}`,
    title: `First-position effect: (last ← 0) blocked, window k = ${f.window}`,
    subtitle: `Mean over the prompts; shaded: the run's interval · ${FIRST_POSITION_LABEL} is the prompt's first token`,
    xLabel: f.window === 1 ? 'Window start layer ℓ (the window is layer ℓ)' : `Window start layer ℓ (the window covers layers ℓ…ℓ+${f.window - 1})`,
    yLabel: `Mean ${Y_LABEL.charAt(0).toLowerCase()}${Y_LABEL.slice(1)}`,
    x: f.starts,
    series: GROUPS.map(([, of], i) => {
      const s = of(f);
      return { key: i === 0 ? 'all' : 'not-subject', label: `${i === 0 ? 'All prompts' : 'Subject lacks pos 0'} (n = ${s.n})`, color: i === 0 ? theme.blue : theme.orange, ...(i ? { dash: [7, 4] } : {}), y: s.meanDiffPct, band: { low: s.ci.low, high: s.ci.high } };
    }),
    zeroLine: true,
  };
}

const cell = (s: FirstPositionStats, i: number) =>
  s.n === 0 || !Number.isFinite(s.meanDiffPct[i])
    ? '<td class="num muted">—</td><td class="num muted">—</td>'
    : `<td class="num">${esc(formatPct(s.meanDiffPct[i]))} [${esc(formatPct(s.ci.low[i]))}, ${esc(formatPct(s.ci.high[i]))}]</td><td class="num">${(100 * s.top1Kept[i]).toFixed(0)}%</td>`;

/** The section (empty for runs without a first-position aggregate: macro runs, files before schema 3). */
export function firstPositionHtml(r: DatasetRunResult, theme: Theme, heading = 'h3', footer: (svg: string, window: number) => string = (svg) => svg): string {
  const f = r.aggregate.firstPosition;
  if (!f || !Array.isArray(f.starts) || !f.notSubject) return '';
  const svg = lineChartSvg(firstPositionChart(f, theme), { theme, provenance: [...provenanceOf(r).map(([k, v]) => (k === 'windows' ? [k, String(f.window)] : [k, v]) as [string, string]), ['figure', 'first-position effect (aggregate.firstPosition)']] });
  const head = `<tr><th scope="col">ℓ</th><th scope="col">Layers</th>${GROUPS.map(([g], i) => `<th scope="col">${esc(g)} (n = ${i ? f.notSubject.n : f.n}): mean diff% [CI]</th><th scope="col">top-1 kept</th>`).join('')}</tr>`;
  const rows = f.starts.map((s, i) => `<tr><td class="num">${s}</td><td style="white-space:nowrap">${esc(windowLayers(s, f.window))}</td>${cell(f, i)}${cell(f.notSubject, i)}</tr>`);
  return (
    `<${heading} id="first-position">First-position effect: ${esc(FIRST_POSITION_LABEL)}</${heading}>` +
    `<p>Blocking the edge (last ← 0) from the prompt's first token in every layer of the window. Over the prompts whose subject does not contain position 0, blocking it removes no subject token: what is left is the effect of the first position itself.</p>` +
    `<figure>${footer(svg, f.window)}<figcaption>${esc(`Mean diff% of blocking (last ← 0) per window start, window k = ${f.window}; bands: the run's interval of the mean.`)}</figcaption></figure>` +
    `<table class="first-position"><caption>Blocking (last ← 0), per window start</caption><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>`
  );
}

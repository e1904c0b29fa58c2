// The first-position effect in the knockout panel's single-result views: a note under the micro heatmap on the marked
// row of position 0, and for dataset micro runs the table of aggregate.firstPosition (all prompts, and those whose
// subject does not contain position 0).
import type { DatasetRunResult } from '../../src/engine/experiments/resultTypes';
import { FIRST_POSITION_LABEL } from '../../src/engine/experiments/firstPosition';
import { windowLayers } from '../../src/engine/experiments/render';
import { formatPct, tokenLabel } from '../shared/figures';
import { el } from '../shared/vscode';

/** Under a micro heatmap: what row 0 (the marked one) is and its strongest effect. */
export function firstPositionNote(data: { diffPct: number[][]; starts: number[]; window: number; tokens: { text: string }[] }): HTMLElement | undefined {
  const row = data.diffPct[0];
  if (!row || !data.tokens[0]) return undefined;
  let best = row.findIndex((v) => Number.isFinite(v));
  if (best < 0) return undefined;
  row.forEach((v, i) => Number.isFinite(v) && v < row[best] && (best = i));
  return el('p', {
    class: 'hint first-position-note',
    id: 'first-position-note',
    text: `◂ ${FIRST_POSITION_LABEL} = ${JSON.stringify(tokenLabel(data.tokens[0].text))}, the prompt's first token (the marked row): blocking (last ← 0) changes the target's probability by at most ${formatPct(row[best])} (window start ℓ = ${data.starts[best]}, ${windowLayers(data.starts[best], data.window)}).`,
  });
}

/** The first-position table of a dataset micro run, or undefined. */
export function firstPositionSection(r: DatasetRunResult): HTMLElement | undefined {
  const f = r.aggregate.firstPosition;
  if (!f || !Array.isArray(f.starts) || !f.notSubject) return undefined;
  const cell = (mean: number, lo: number, hi: number, kept: number, n: number) =>
    n === 0 || !Number.isFinite(mean)
      ? [el('td', { class: 'num', text: '—' }), el('td', { class: 'num', text: '—' })]
      : [el('td', { class: 'num', text: `${formatPct(mean)} [${formatPct(lo)}, ${formatPct(hi)}]` }), el('td', { class: 'num', text: `${(100 * kept).toFixed(0)}%` })];
  const body = el('tbody');
  f.starts.forEach((s, i) =>
    body.append(
      el('tr', {}, el('td', { class: 'num', text: String(s) }), el('td', { text: windowLayers(s, f.window) }), ...cell(f.meanDiffPct[i], f.ci.low[i], f.ci.high[i], f.top1Kept[i], f.n), ...cell(f.notSubject.meanDiffPct[i], f.notSubject.ci.low[i], f.notSubject.ci.high[i], f.notSubject.top1Kept[i], f.notSubject.n)),
    ),
  );
  const head = el('thead', {}, el('tr', {}, ...['ℓ', 'Layers', `All prompts (n = ${f.n}): mean diff% [CI]`, 'top-1 kept', `Subject lacks pos 0 (n = ${f.notSubject.n})`, 'top-1 kept'].map((h) => el('th', { scope: 'col', text: h }))));
  return el(
    'section',
    { 'aria-label': 'First-position effect', id: 'first-position' },
    el('h2', { text: `First-position effect: ${FIRST_POSITION_LABEL}` }),
    el('p', { class: 'hint', text: `Mean change of the target's probability when the last token may no longer read position 0, the prompt's first token, in the window of k = ${f.window} layers. Over the prompts whose subject does not contain position 0, blocking it cuts no subject token.` }),
    el('table', { class: 'models first-position', id: 'first-position-table' }, head, body),
  );
}

// Compact text rendering of knockout results for the CLI (sparklines and tables). No vscode, no I/O.
import type { AggregateWindow, DatasetRunResult, FirstPositionAggregate, MicroResult, TokenInfo, TraceResult } from './resultTypes';
import { CONTINUATION, tokenPieces, visibleToken } from '../util/tokenText';
import type { IntervalSpec } from '../util/stats';

const BARS = '▁▂▃▄▅▆▇█';

/** [min(values, 0), max(values, 0)] over several rows, for sparklines on one common scale. */
export function commonRange(rows: readonly (readonly number[])[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const r of rows) for (const v of r) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return [lo, hi];
}

/** Sparkline of values (NaN → space); scaled between min(values, 0) and max(values, 0), or the given range. */
export function sparkline(values: readonly number[], range?: [number, number]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return ' '.repeat(values.length);
  const [lo, hi] = range ?? commonRange([finite]);
  const span = hi - lo || 1;
  return values.map((v) => (Number.isFinite(v) ? BARS[Math.min(7, Math.max(0, Math.round(((v - lo) / span) * 7)))] : ' ')).join('');
}

const f1 = (x: number) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(1) : '  n/a');

/** What the lowest and the highest bar of a sparkline stand for: '▁ -99.9% … █ +0.0%'. */
export function sparkScale(range: [number, number]): string {
  return `${BARS[0]} ${f1(range[0])}% … ${BARS[7]} ${f1(range[1])}%`;
}

/** 'layers 4…7' (or 'layer 4' for k = 1): the layers of the window that starts at ℓ. */
export function windowLayers(start: number, k: number): string {
  return k === 1 ? `layer ${start}` : `layers ${start}…${start + k - 1}`;
}

/** '(the window starting at layer ℓ covers layers ℓ…ℓ+3)'. */
export function windowCaption(k: number): string {
  return k === 1 ? 'the window starting at layer ℓ is layer ℓ alone' : `the window starting at layer ℓ covers layers ℓ…ℓ+${k - 1}`;
}

/**
 * The start axis under sparklines: one digit per start while there are at most 10 starts ('01234'), else a ruler with
 * a label every 5 starts, each label beginning in its start's column ('0    5    10   15').
 */
export function startAxis(starts: readonly number[]): string {
  if (starts.length <= 10) return starts.map((s) => String(s % 10)).join('');
  const cells = new Array<string>(starts.length).fill(' ');
  let free = 0;
  starts.forEach((s, i) => {
    const label = String(s);
    if (s % 5 !== 0 || i < free || i + label.length > starts.length + 2) return;
    for (let j = 0; j < label.length; j++) cells[i + j] = label[j];
    free = i + label.length + 1;
  });
  return cells.join('').trimEnd();
}

function minIndex(values: readonly number[]): number {
  let best = values.findIndex((x) => Number.isFinite(x));
  if (best < 0) return 0;
  for (let i = best + 1; i < values.length; i++) if (Number.isFinite(values[i]) && values[i] < values[best]) best = i;
  return best;
}

function minAt(values: readonly number[], starts: readonly number[], k: number): string {
  if (!values.length) return '';
  const best = minIndex(values);
  return `min ${f1(values[best])}% at ℓ=${starts[best]} (${windowLayers(starts[best], k)})`;
}

/** The prompt's tokens as `i:"·text"` with their leading space, a byte piece that continues a character as (cont.). */
export function tokenList(prompt: string, tokens: readonly TokenInfo[], mark: (t: TokenInfo) => string = () => ''): string {
  const pieces = tokenPieces(
    prompt,
    tokens,
    tokens.map((t) => t.text),
  );
  return tokens.map((t, i) => `${i}:${pieces[i] === '' ? CONTINUATION : JSON.stringify(visibleToken(pieces[i]))}${mark(t)}`).join(' ');
}

/** A target's text as shown: quoted, leading space as '·'. */
export function targetText(text: string): string {
  return JSON.stringify(visibleToken(text));
}

export function renderTrace(r: TraceResult): string {
  const lines: string[] = [];
  lines.push(`prompt   ${JSON.stringify(r.prompt)}`);
  lines.push(`tokens   ${tokenList(r.prompt, r.tokens, (t) => (t.role === 'subject' || (t.role === 'last' && r.subjectPositions.includes(r.lastPosition)) ? '*' : ''))}   (* subject)`);
  lines.push(`target   ${targetText(r.target.text)} (id ${r.target.id})   p = ${r.baseProb.toPrecision(4)}   ep ${r.provenance.ep}`);
  // feature knockout: one block of curves per group, on one scale per window
  const groups = r.groups ?? [{ features: r.features?.features, mode: r.features?.mode, windows: r.windows }];
  r.windows.forEach((w0, wi) => {
    const range = commonRange(groups.flatMap((g) => Object.values(g.windows[wi].curves).map((c) => c.diffPct)));
    lines.push('', `window k=${w0.window}, starts ℓ=${w0.starts[0]}…${w0.starts[w0.starts.length - 1]} (${windowCaption(w0.window)})`);
    lines.push(`  diff% of p′ vs p; bars ${sparkScale(range)}`);
    for (const g of groups) {
      const w = g.windows[wi];
      if (g.features !== undefined) lines.push(`  features ${g.features}${g.features === 'all' ? ' (every feature)' : ` (--feature-mode ${g.mode})`}`);
      const width = Math.max(...Object.keys(w.curves).map((s) => s.length));
      for (const [set, c] of Object.entries(w.curves)) {
        lines.push(`  ${set.padEnd(width)}  ${sparkline(c.diffPct, range)}  ${minAt(c.diffPct, w.starts, w.window)}; still top-1 at ${c.top1.filter(Boolean).length}/${c.top1.length}`);
      }
      lines.push(`  ${'ℓ'.padEnd(width)}  ${startAxis(w.starts)}`);
    }
  });
  return lines.join('\n');
}

export function renderMicro(r: MicroResult): string {
  const lines: string[] = [];
  lines.push(`prompt   ${JSON.stringify(r.prompt)}`);
  lines.push(`target   ${targetText(r.target.text)} (id ${r.target.id})   p = ${r.baseProb.toPrecision(4)}   window k=${r.window}   ep ${r.provenance.ep}`);
  const range = commonRange(r.diffPct);
  lines.push('', `diff% when (last ← c) is blocked, per window start ℓ=${r.starts[0]}…${r.starts[r.starts.length - 1]} (${windowCaption(r.window)})`);
  lines.push(`  bars ${sparkScale(range)} (one scale for all rows)`);
  const pieces = tokenPieces(
    r.prompt,
    r.tokens,
    r.tokens.map((t) => t.text),
  );
  const labels = r.tokens.map((t, i) => `${i} ${pieces[i] === '' ? CONTINUATION : JSON.stringify(visibleToken(pieces[i]))}${t.role === 'subject' ? '*' : ''}`);
  const width = Math.max(...labels.map((l) => l.length), 1);
  r.diffPct.forEach((row, c) => lines.push(`  ${labels[c].padEnd(width)}  ${sparkline(row, range)}  ${minAt(row, r.starts, r.window)}`));
  lines.push(`  ${'ℓ'.padEnd(width)}  ${startAxis(r.starts)}`);
  if (r.tokens.some((t) => t.role === 'subject')) lines.push('  (* subject)');
  return lines.join('\n');
}

/** '95% bootstrap CI (2000 resamples, seed 0)' or '95% Student-t CI'. Schema-1 files (no interval) used Student t. */
export function intervalLabel(spec: IntervalSpec | undefined): string {
  const s = spec ?? { method: 't', level: 0.95 };
  const pct = `${Math.round(s.level * 1000) / 10}%`;
  return s.method === 'bootstrap' ? `${pct} bootstrap CI (${s.resamples} resamples, seed ${s.seed})` : `${pct} Student-t CI`;
}

function renderAggWindows(ws: AggregateWindow[], interval: IntervalSpec | undefined, indent = '  '): string[] {
  const lines: string[] = [];
  for (const w of ws) {
    const range = commonRange(Object.values(w.curves).map((c) => c.mean));
    lines.push(`${indent}window k=${w.window}, starts ℓ=${w.starts[0]}…${w.starts[w.starts.length - 1]} (${windowCaption(w.window)})`);
    lines.push(`${indent}  mean diff%; bars ${sparkScale(range)}; ${intervalLabel(interval)} at the minimum`);
    const width = Math.max(...Object.keys(w.curves).map((s) => s.length), 1);
    for (const [set, c] of Object.entries(w.curves)) {
      if (c.mean.length === 0 || c.n.every((x) => !x)) {
        lines.push(`${indent}  ${set.padEnd(width)}  (no prompts)`);
        continue;
      }
      const best = minIndex(c.mean);
      lines.push(
        `${indent}  ${set.padEnd(width)}  ${sparkline(c.mean, range)}  min ${f1(c.mean[best])}% [${f1(c.ciLow[best])}, ${f1(c.ciHigh[best])}] at ℓ=${w.starts[best]} (${windowLayers(w.starts[best], w.window)}), n=${c.n[best]}, top-1 kept ${(100 * c.accuracy[best]).toFixed(0)}%`,
      );
    }
    lines.push(`${indent}  ${'ℓ'.padEnd(width)}  ${startAxis(w.starts)}`);
  }
  return lines;
}

/**
 * The counts line of a dataset run. Schema 2: selected = measured + filtered out + skipped, as in `counts`; rows of
 * the file without a prompt, subject or target are counted apart (they are never selected).
 */
export function countsLine(r: DatasetRunResult): string | undefined {
  const c = r.counts;
  if (!c) return undefined;
  const v1 = c.unusable === undefined;
  const skipped = v1 ? c.skipped - c.filteredOut : c.skipped;
  const unusable = c.unusable ? `; ${c.unusable} row${c.unusable === 1 ? '' : 's'} of the file unusable (no prompt, subject or target)` : '';
  return `prompts: ${c.selected} selected, ${c.measured} measured, ${c.filteredOut} filtered out (clean top-1 ≠ target), ${skipped} skipped${unusable}`;
}

export function renderDatasetRun(r: DatasetRunResult, out: string): string {
  const lines: string[] = [];
  lines.push(`${r.experiment} run on ${r.dataset.file} (${r.dataset.format}, ${r.dataset.rows} rows) → ${out}`);
  const counts = countsLine(r);
  if (counts) lines.push(counts);
  const shard = r.settings.shard;
  if (shard) lines.push(`shard ${shard.index}/${shard.count} of the run: the means below are this shard's; merge the ${shard.count} shard files with \`mamba-explain merge --out FILE SHARD…\``);
  const interval = r.settings.interval;
  if (r.aggregate.groups) {
    // feature knockout: each group's mean curves (the paper's figure: all vs fast vs slow)
    for (const g of r.aggregate.groups) lines.push(`features ${g.features}${g.features === 'all' ? ' (every feature)' : ` (--feature-mode ${g.mode})`}:`, ...renderAggWindows(g.windows, interval, '    '));
  } else {
    if (r.settings.features?.length) lines.push(`features ${r.settings.features[0]} (--feature-mode ${r.settings.featureMode ?? 'only'}):`);
    lines.push(...renderAggWindows(r.aggregate.windows, interval));
  }
  if (r.aggregate.firstPosition) lines.push(...renderFirstPosition(r.aggregate.firstPosition, interval));
  if (r.aggregate.split) {
    lines.push(`subject contains position 0 (n=${r.aggregate.split.counts.subjectHasFirst}):`, ...renderAggWindows(r.aggregate.split.subjectHasFirst, interval, '    '));
    lines.push(`subject does not contain position 0 (n=${r.aggregate.split.counts.subjectLacksFirst}):`, ...renderAggWindows(r.aggregate.split.subjectLacksFirst, interval, '    '));
  }
  return lines.join('\n');
}

/**
 * The first-position effect of a micro run (aggregate.firstPosition): the mean diff% of blocking (last ← 0) per window
 * start, over all prompts and over those whose subject does not contain position 0.
 */
export function renderFirstPosition(f: FirstPositionAggregate, interval: IntervalSpec | undefined, indent = '  '): string[] {
  const range = commonRange([f.meanDiffPct, f.notSubject.meanDiffPct]);
  const lines = [`${indent}first-position effect, pos 0 (first) blocked, window k=${f.window}: mean diff%; bars ${sparkScale(range)}; ${intervalLabel(interval)} at the minimum`];
  const row = (name: string, s: FirstPositionAggregate['notSubject']) => {
    if (s.n === 0 || s.meanDiffPct.every((v) => !Number.isFinite(v))) return `${indent}  ${name}  (no prompts)`;
    const best = minIndex(s.meanDiffPct);
    return `${indent}  ${name}  ${sparkline(s.meanDiffPct, range)}  min ${f1(s.meanDiffPct[best])}% [${f1(s.ci.low[best])}, ${f1(s.ci.high[best])}] at ℓ=${f.starts[best]} (${windowLayers(f.starts[best], f.window)}), n=${s.n}, top-1 kept ${(100 * s.top1Kept[best]).toFixed(0)}%`;
  };
  const names = ['all prompts', 'subject lacks pos 0'];
  const width = Math.max(...names.map((n) => n.length));
  lines.push(row(names[0].padEnd(width), f), row(names[1].padEnd(width), f.notSubject), `${indent}  ${'ℓ'.padEnd(width)}  ${startAxis(f.starts)}`);
  return lines;
}

// Compact text rendering of knockout results for the CLI (sparklines and tables). No vscode, no I/O.
import type { AggregateWindow, DatasetRunResult, MicroResult, TraceResult } from './resultTypes';

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

function minAt(values: readonly number[], starts: readonly number[]): string {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] < values[best]) best = i;
  return values.length ? `min ${f1(values[best])}% at ℓ=${starts[best]}` : '';
}

export function renderTrace(r: TraceResult): string {
  const lines: string[] = [];
  lines.push(`prompt   ${JSON.stringify(r.prompt)}`);
  lines.push(`tokens   ${r.tokens.map((t, i) => `${i}:${JSON.stringify(t.text)}${t.role === 'subject' ? '*' : ''}`).join(' ')}   (* subject)`);
  lines.push(`target   ${JSON.stringify(r.target.text)} (id ${r.target.id})   p = ${r.baseProb.toPrecision(4)}   ep ${r.provenance.ep}`);
  for (const w of r.windows) {
    lines.push('', `window k=${w.window}, starts ℓ=${w.starts[0]}…${w.starts[w.starts.length - 1]}: diff% of p′ vs p`);
    const width = Math.max(...Object.keys(w.curves).map((s) => s.length));
    const range = commonRange(Object.values(w.curves).map((c) => c.diffPct));
    for (const [set, c] of Object.entries(w.curves)) {
      lines.push(`  ${set.padEnd(width)}  ${sparkline(c.diffPct, range)}  ${minAt(c.diffPct, w.starts)}; still top-1 at ${c.top1.filter(Boolean).length}/${c.top1.length}`);
    }
    lines.push(`  ${'ℓ'.padEnd(width)}  ${w.starts.map((s) => String(s % 10)).join('')}`);
  }
  return lines.join('\n');
}

export function renderMicro(r: MicroResult): string {
  const lines: string[] = [];
  lines.push(`prompt   ${JSON.stringify(r.prompt)}`);
  lines.push(`target   ${JSON.stringify(r.target.text)} (id ${r.target.id})   p = ${r.baseProb.toPrecision(4)}   window k=${r.window}   ep ${r.provenance.ep}`);
  const range = commonRange(r.diffPct);
  lines.push('', `diff% when (last ← c) is blocked, per window start ℓ=${r.starts[0]}…${r.starts[r.starts.length - 1]} (one scale: ▁ ${f1(range[0])}%, █ ${f1(range[1])}%)`);
  const labels = r.tokens.map((t, i) => `${i} ${JSON.stringify(t.text)}`);
  const width = Math.max(...labels.map((l) => l.length));
  r.diffPct.forEach((row, c) => lines.push(`  ${labels[c].padEnd(width)}  ${sparkline(row, range)}  ${minAt(row, r.starts)}`));
  return lines.join('\n');
}

function renderAggWindows(ws: AggregateWindow[], indent = '  '): string[] {
  const lines: string[] = [];
  for (const w of ws) {
    lines.push(`${indent}window k=${w.window}: mean diff% per start ℓ=${w.starts[0]}…${w.starts[w.starts.length - 1]} (95% CI at the minimum)`);
    const width = Math.max(...Object.keys(w.curves).map((s) => s.length));
    const range = commonRange(Object.values(w.curves).map((c) => c.mean));
    for (const [set, c] of Object.entries(w.curves)) {
      if (c.mean.length === 0 || c.n.every((x) => !x)) {
        lines.push(`${indent}  ${set.padEnd(width)}  (no prompts)`);
        continue;
      }
      let best = c.mean.findIndex((x) => Number.isFinite(x));
      for (let i = best + 1; i < c.mean.length; i++) if (Number.isFinite(c.mean[i]) && c.mean[i] < c.mean[best]) best = i;
      lines.push(
        `${indent}  ${set.padEnd(width)}  ${sparkline(c.mean, range)}  min ${f1(c.mean[best])}% [${f1(c.ciLow[best])}, ${f1(c.ciHigh[best])}] at ℓ=${w.starts[best]}, n=${c.n[best]}, top-1 kept ${(100 * c.accuracy[best]).toFixed(0)}%`,
      );
    }
  }
  return lines;
}

export function renderDatasetRun(r: DatasetRunResult, out: string): string {
  const lines: string[] = [];
  const c = r.counts;
  lines.push(`${r.experiment} run on ${r.dataset.file} (${r.dataset.format}, ${r.dataset.rows} rows) → ${out}`);
  if (c) lines.push(`prompts: ${c.selected} selected, ${c.measured} measured, ${c.filteredOut} filtered out (clean top-1 ≠ target), ${c.skipped - c.filteredOut} skipped`);
  lines.push(...renderAggWindows(r.aggregate.windows));
  if (r.aggregate.split) {
    lines.push(`subject contains position 0 (n=${r.aggregate.split.counts.subjectHasFirst}):`, ...renderAggWindows(r.aggregate.split.subjectHasFirst, '    '));
    lines.push(`subject does not contain position 0 (n=${r.aggregate.split.counts.subjectLacksFirst}):`, ...renderAggWindows(r.aggregate.split.subjectLacksFirst, '    '));
  }
  return lines.join('\n');
}

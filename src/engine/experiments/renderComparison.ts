// Text form of a comparison for the CLI: the models, then one block per window and source set (micro: category) with
// one sparkline per model on a common relative-depth axis ℓ / (L − k), so that models of different depth line up.
import type { ComparisonResult, DatasetRunResult, MicroResult, TraceResult } from './resultTypes';
import { comparisonFigures, relativeDepth, setTitle, type ModelCurve } from './comparison';
import { commonRange, countsLine, intervalLabel, renderFirstPosition, sparkline, sparkScale, targetText, windowLayers } from './render';

const pct = (x: number) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(1) : 'n/a');

/** Columns of the common axis: the most starts any model has (at most 40). */
function axisColumns(curves: readonly ModelCurve[]): number {
  return Math.min(40, Math.max(2, ...curves.map((c) => c.starts.length)));
}

/** A model's values at `cols` evenly spaced relative depths 0 … 1 (nearest window start). */
export function resample(c: Pick<ModelCurve, 'x' | 'y'>, cols: number): number[] {
  return Array.from({ length: cols }, (_, j) => {
    const x = cols === 1 ? 0 : j / (cols - 1);
    let best = 0;
    for (let i = 1; i < c.x.length; i++) if (Math.abs(c.x[i] - x) < Math.abs(c.x[best] - x)) best = i;
    return c.y[best];
  });
}

function minAt(c: ModelCurve, k: number): string {
  let best = c.y.findIndex((v) => Number.isFinite(v));
  if (best < 0) return 'no values';
  for (let i = best + 1; i < c.y.length; i++) if (Number.isFinite(c.y[i]) && c.y[i] < c.y[best]) best = i;
  const band = c.band ? ` [${pct(c.band.low[best])}, ${pct(c.band.high[best])}]` : '';
  const n = c.n !== undefined ? `, n=${c.n}` : '';
  return `min ${pct(c.y[best])}%${band} at ℓ=${c.starts[best]} of ${c.nLayer} layers (${windowLayers(c.starts[best], k)}; depth ${relativeDepth(c.starts[best], k, c.nLayer).toFixed(2)})${n}`;
}

function modelLine(c: ComparisonResult, i: number, width: number): string {
  const m = c.models[i];
  const r = m.result;
  const head = `  ${String(i + 1).padStart(2)} ${m.label.padEnd(width)}  ${String(r.provenance.model.nLayer).padStart(3)} layers  ep ${r.provenance.ep}`;
  if (r.kind === 'dataset-run') return `${head}  ${countsLine(r) ?? `${r.prompts.length} prompts measured`}`;
  const t = r as TraceResult | MicroResult;
  return `${head}  target ${targetText(t.target.text)} p = ${t.baseProb.toPrecision(4)}  ${t.tokens.length} tokens`;
}

function what(c: ComparisonResult): string {
  const r = c.models[0].result;
  if (r.kind === 'dataset-run') return `${r.experiment} run on ${r.dataset.file} (${r.dataset.format}, ${r.dataset.rows} rows)`;
  const t = r as TraceResult | MicroResult;
  return `${r.kind} of ${JSON.stringify(t.prompt)}${t.subject !== undefined ? ` (subject ${JSON.stringify(t.subject)})` : ''}`;
}

export function renderComparison(c: ComparisonResult, out?: string): string {
  const lines: string[] = [];
  lines.push(`comparison of ${c.models.length} models: ${what(c)}${out ? ` → ${out}` : ''}`);
  const width = Math.max(...c.models.map((m) => m.label.length));
  c.models.forEach((_, i) => lines.push(modelLine(c, i, width)));
  if (c.coverage) lines.push(`  measured by every model: ${c.coverage.measuredByAll} of ${c.coverage.selected} selected rows`);
  const interval = c.models[0].result.kind === 'dataset-run' ? (c.models[0].result as DatasetRunResult).settings.interval : undefined;
  let lastWindow = -1;
  for (const f of comparisonFigures(c)) {
    if (f.window !== lastWindow) {
      lastWindow = f.window;
      lines.push('', `window k=${f.window}; x: the relative depth ℓ / (L − k) of the window start, 0 (first window) … 1 (last window)`);
    }
    const range = commonRange(f.curves.map((m) => m.y));
    const cols = axisColumns(f.curves);
    const mean = c.experiment === 'dataset-run' ? `mean diff%${interval ? `, ${intervalLabel(interval)} at the minimum` : ''}` : 'diff%';
    lines.push(`  ${setTitle(f.set)}: ${mean}; bars ${sparkScale(range)}`);
    for (const m of f.curves) lines.push(`    ${m.label.padEnd(width)}  ${sparkline(resample(m, cols), range)}  ${minAt(m, f.window)}`);
    lines.push(`    ${'depth'.padEnd(width)}  0${'·'.repeat(Math.max(0, cols - 2))}1`);
  }
  for (const [i, m] of c.models.entries()) {
    const r = m.result;
    if (r.kind === 'dataset-run' && r.aggregate.firstPosition) {
      if (i === 0) lines.push('');
      lines.push(`${m.label}:`, ...renderFirstPosition(r.aggregate.firstPosition, r.settings.interval));
    }
  }
  return lines.join('\n');
}

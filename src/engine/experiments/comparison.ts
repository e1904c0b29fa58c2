// Comparison results: one experiment on several models in one file (results schema 3). Pure (no I/O, no Node APIs):
// the engine, the CLI, the report and the webviews all use it. The curves of the models share one x axis, the
// relative depth start / (L − k), as the Mamba Knockout paper's figures do (SPEC §7): models of different depth line up.
import { UserError, type ModelIdentity } from '../types';
import {
  RESULTS_SCHEMA_VERSION,
  type ComparedModel,
  type ComparedResult,
  type ComparisonCoverage,
  type ComparisonResult,
  type DatasetRunResult,
  type MicroResult,
  type ResultWarning,
} from './resultTypes';

/** The x of window start `start` of a k-layer window in an L-layer model: start / (L − k), 0 when k = L (one start). */
export function relativeDepth(start: number, k: number, nLayer: number): number {
  return nLayer > k ? start / (nLayer - k) : 0;
}

export const RELATIVE_DEPTH_LABEL = 'Relative depth of the window start, ℓ / (L − k)';

/** A model family's name for legends and tables; families the engine does not know yet show their `arch`. */
export function familyName(m: Pick<ModelIdentity, 'arch' | 'variant'>): string {
  const arch = m.arch ?? 'mamba2';
  if (arch === 'mamba2') return 'Mamba-2';
  if (arch === 'mamba1') return m.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1';
  const known: Record<string, string> = { gpt2: 'GPT-2', gptneox: 'GPT-NeoX' };
  return known[arch as string] ?? String(arch);
}

/** A model reference as a short name: demo names and Hub ids as given, a folder by its base name. */
export function modelName(ref: string): string {
  const t = ref.trim().replace(/[\\/]+$/u, '');
  if (/^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w.-]+)?$/u.test(t) && !t.startsWith('.')) return t;
  const parts = t.split(/[\\/]/u).filter(Boolean);
  return parts[parts.length - 1] ?? t;
}

/** Legend labels, unique: 'demo (Mamba-2)', 'demo-mamba1 (Mamba-1)', a repeated model as 'demo (Mamba-2) #2'. */
export function comparisonLabels(models: readonly { ref: string; identity: Pick<ModelIdentity, 'arch' | 'variant'> }[]): string[] {
  const seen = new Map<string, number>();
  return models.map((m) => {
    const base = `${modelName(m.ref)} (${familyName(m.identity)})`;
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    return k === 1 ? base : `${base} #${k}`;
  });
}

/**
 * Why these results cannot be one comparison (undefined when they can): they must be of one kind, and ran on the
 * same prompt (trace, micro) or the same dataset file with the same experiment (dataset runs).
 */
export function incomparable(results: readonly ComparedResult[]): string | undefined {
  if (results.length < 2) return `a comparison needs at least 2 models, got ${results.length}`;
  const first = results[0];
  for (let i = 1; i < results.length; i++) {
    const r = results[i];
    if (r.kind !== first.kind) return `model ${i + 1} has a ${r.kind} result, model 1 a ${first.kind} result`;
    if ((r.kind === 'trace' || r.kind === 'micro') && r.prompt !== (first as typeof r).prompt) return `model ${i + 1} ran on another prompt (${JSON.stringify(r.prompt)}, model 1 on ${JSON.stringify((first as typeof r).prompt)})`;
    if (r.kind === 'dataset-run') {
      const f = first as DatasetRunResult;
      if (r.dataset.sha256 !== f.dataset.sha256) return `model ${i + 1} ran on another dataset (${r.dataset.file}, model 1 on ${f.dataset.file})`;
      if (r.experiment !== f.experiment) return `model ${i + 1} ran a ${r.experiment} experiment, model 1 a ${f.experiment} one`;
    }
  }
  return undefined;
}

/** Which selected rows each model of a dataset comparison measured, filtered out and skipped. */
export function comparisonCoverage(runs: readonly DatasetRunResult[], labels: readonly string[]): ComparisonCoverage {
  const measured = runs.map((r) => new Set(r.prompts.map((p) => p.index)));
  const all = new Set<number>();
  for (const m of measured) for (const i of m) all.add(i);
  const byAll = [...all].filter((i) => measured.every((m) => m.has(i)));
  const notByAll = [...all].filter((i) => !measured.every((m) => m.has(i))).sort((a, b) => a - b);
  const cause = (s: DatasetRunResult['skipped'][number]) => s.cause ?? (s.reason.startsWith('filtered:') ? 'filtered' : 'skipped');
  return {
    selected: runs[0].counts?.selected ?? runs[0].prompts.length + runs[0].skipped.filter((s) => cause(s) !== 'unusable').length,
    measuredByAll: byAll.length,
    notByAll: notByAll.slice(0, 20),
    models: runs.map((r, i) => {
      const filtered = r.skipped.filter((s) => cause(s) === 'filtered').map((s) => s.index);
      return {
        label: labels[i],
        measured: r.prompts.length,
        filteredOut: filtered.length,
        skipped: r.skipped.filter((s) => cause(s) === 'skipped').length,
        filteredIndices: filtered.slice(0, 20),
      };
    }),
  };
}

/** The comparison of these per-model results (UserError when they are not comparable, see incomparable). */
export function buildComparison(entries: readonly { ref: string; result: ComparedResult; label?: string }[]): ComparisonResult {
  const results = entries.map((e) => e.result);
  const why = incomparable(results);
  if (why) throw new UserError(`cannot compare these results: ${why}`);
  const fresh = comparisonLabels(entries.map((e) => ({ ref: e.ref, identity: e.result.provenance.model })));
  // labels given before (a comparison that grows keeps its legend) win when they are still unique
  const given = entries.map((e, i) => e.label ?? fresh[i]);
  const labels = new Set(given).size === given.length ? given : fresh;
  const models: ComparedModel[] = entries.map((e, i) => ({ ref: e.ref, label: labels[i], result: e.result }));
  const warnings = comparisonWarnings(models);
  const kind = results[0].kind;
  return {
    kind: 'comparison',
    schemaVersion: RESULTS_SCHEMA_VERSION,
    provenance: results[0].provenance,
    experiment: kind,
    models,
    ...(kind === 'dataset-run' ? { coverage: comparisonCoverage(results as DatasetRunResult[], labels) } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/** Warnings of a comparison: models whose filter kept different prompts (their means then rest on different rows). */
function comparisonWarnings(models: readonly ComparedModel[]): ResultWarning[] {
  const runs = models.map((m) => m.result).filter((r): r is DatasetRunResult => r.kind === 'dataset-run');
  if (runs.length !== models.length) return [];
  const cov = comparisonCoverage(runs, models.map((m) => m.label));
  const differ = cov.models.some((m) => m.measured !== cov.measuredByAll);
  if (!differ) return [];
  const per = cov.models.map((m) => `${m.label}: ${m.measured} measured, ${m.filteredOut} filtered out`).join('; ');
  return [{
    code: 'different-prompts',
    message: `the models measured different prompts (each keeps the prompts it predicts correctly): ${cov.measuredByAll} of ${cov.selected} selected rows were measured by every model (${per})`,
    count: cov.notByAll.length,
    indices: cov.notByAll.slice(0, 10),
  }];
}

// ------------------------------------------------------------------ curves on the relative-depth axis

/** One model's line of a comparison figure. */
export interface ModelCurve {
  label: string;
  /** model index in the comparison */
  model: number;
  nLayer: number;
  starts: number[];
  /** relative depth of each start */
  x: number[];
  /** diff% (a trace, a micro category) or the mean diff% over the prompts (a dataset run) */
  y: number[];
  band?: { low: number[]; high: number[] };
  /** dataset runs: prompts behind the mean */
  n?: number;
}

/** One comparison figure: the window size, the source set (or micro category) and one line per model. */
export interface ComparisonFigure {
  window: number;
  set: string;
  curves: ModelCurve[];
}

/** Micro categories as the dataset aggregate names them (dataset.ts MICRO_CATEGORIES). */
export const COMPARED_MICRO_SETS = ['first', 'subject', 'subject-last', 'relation', 'last'] as const;

/** The rows of a micro grid that a category averages: first = {0}, last = {N−1}, subject, its last token, relation. */
export function microCategoryRows(set: string, n: number, subject: readonly number[]): number[] {
  const sset = new Set(subject);
  if (set === 'first') return n > 0 ? [0] : [];
  if (set === 'last') return n > 0 ? [n - 1] : [];
  if (set === 'subject') return subject.slice();
  if (set === 'subject-last') return subject.length ? [subject[subject.length - 1]] : [];
  if (set === 'relation') return Array.from({ length: Math.max(0, n - 1) }, (_, i) => i).filter((i) => !sset.has(i));
  return [];
}

/** A single-prompt micro result's curve for one category: the mean diff% over the category's rows, per start. */
export function microCategoryCurve(r: Pick<MicroResult, 'diffPct' | 'tokens' | 'starts'>, set: string): number[] | undefined {
  const subject = r.tokens.flatMap((t, i) => (t.role === 'subject' ? [i] : []));
  const rows = microCategoryRows(set, r.diffPct.length, subject);
  if (rows.length === 0) return undefined;
  return r.starts.map((_, s) => rows.reduce((a, c) => a + r.diffPct[c][s], 0) / rows.length);
}

function curveOf(m: ComparedModel, i: number, window: number, set: string): ModelCurve | undefined {
  const r = m.result;
  const L = r.provenance.model.nLayer;
  const line = (starts: number[], y: number[], band?: ModelCurve['band'], n?: number): ModelCurve => ({
    label: m.label, model: i, nLayer: L, starts, x: starts.map((s) => relativeDepth(s, window, L)), y, ...(band ? { band } : {}), ...(n !== undefined ? { n } : {}),
  });
  if (r.kind === 'trace') {
    const w = r.windows.find((x) => x.window === window);
    const c = w?.curves[set];
    return w && c ? line(w.starts, c.diffPct) : undefined;
  }
  if (r.kind === 'micro') {
    if (r.window !== window) return undefined;
    const y = microCategoryCurve(r, set);
    return y ? line(r.starts, y) : undefined;
  }
  const w = r.aggregate.windows.find((x) => x.window === window);
  const c = w?.curves[set];
  if (!w || !c || c.n.every((k) => !k)) return undefined;
  return line(w.starts, c.mean, { low: c.ciLow, high: c.ciHigh }, c.n[0]);
}

/** The source sets (trace, macro run) or micro categories of a comparison, in the usual order. */
export function comparisonSets(c: ComparisonResult): string[] {
  if (c.experiment === 'micro' || (c.experiment === 'dataset-run' && (c.models[0].result as DatasetRunResult).experiment === 'micro')) return [...COMPARED_MICRO_SETS];
  const names = new Set<string>();
  for (const m of c.models) {
    const r = m.result;
    const ws = r.kind === 'trace' ? r.windows : r.kind === 'dataset-run' ? r.aggregate.windows : [];
    for (const w of ws) for (const k of Object.keys(w.curves)) names.add(k);
  }
  const rank = (n: string) => {
    const i = ['subject', 'relation', 'last', 'first', 'all'].indexOf(n);
    return i < 0 ? 100 : i;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The window sizes every model of the comparison has. */
export function comparisonWindows(c: ComparisonResult): number[] {
  const of = (r: ComparedResult) => (r.kind === 'trace' ? r.windows.map((w) => w.window) : r.kind === 'micro' ? [r.window] : r.aggregate.windows.map((w) => w.window));
  const first = of(c.models[0].result);
  return first.filter((k) => c.models.every((m) => of(m.result).includes(k)));
}

/** The figure of one window and set: one line per model that has it, on the relative-depth axis. */
export function comparisonFigure(c: ComparisonResult, window: number, set: string): ComparisonFigure {
  return { window, set, curves: c.models.map((m, i) => curveOf(m, i, window, set)).filter((x): x is ModelCurve => x !== undefined) };
}

/** Every figure of a comparison: per window, per set (sets that no model has are left out). */
export function comparisonFigures(c: ComparisonResult): ComparisonFigure[] {
  const out: ComparisonFigure[] = [];
  for (const k of comparisonWindows(c)) for (const s of comparisonSets(c)) {
    const f = comparisonFigure(c, k, s);
    if (f.curves.length) out.push(f);
  }
  return out;
}

/** 'subject → last', 'first (pos 0) → last', 'subject-last → last'. */
export function setTitle(set: string): string {
  return set === 'first' ? 'first (pos 0) → last' : `${set} → last`;
}

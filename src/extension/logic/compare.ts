// "Compare with model…" of the knockout panel: what to run on the added model so that it repeats the panel's trace,
// micro result or dataset run (same prompt or dataset rows, windows and settings), which models are already there (their
// results are kept as they are), and where a dataset comparison is written. No `vscode` import.
import * as path from 'node:path';
import type { AnyResult, ComparisonResult, ComparedResult, DatasetRunResult, MicroResult, TraceResult } from '../../engine/experiments/resultTypes';
import type { ComparedMethod, ComparedParams, ModelToCompare } from '../../engine/experiments/compare';
import type { DatasetRunParams } from '../../engine/experiments/dataset';
import { datasetSlug, runsDir, timestamp } from './resultsPath';

export type Comparable = AnyResult | ComparisonResult;

/** The models the panel shows, with their results (not run again) and, for a comparison, their labels. */
export function shownModels(shown: Comparable): ModelToCompare[] {
  const entries: { ref: string; result: ComparedResult; label?: string }[] = shown.kind === 'comparison' ? shown.models : [{ ref: shown.provenance.model.path, result: shown }];
  return entries.map((e) => ({ ref: e.ref, dir: e.result.provenance.model.path, nLayer: e.result.provenance.model.nLayer, result: e.result, label: e.label }));
}

/**
 * The experiment to repeat on the added model: the method and its parameters, from the shown result. The target is the
 * shown one's target text (the first model's clean top-1 when the trace asked for none), so that every model follows the
 * same answer; positions of custom sets belong to one tokenisation and are left out; `out` is where a dataset
 * comparison is written.
 */
export function comparisonRequest(shown: Comparable, out?: string): { method: ComparedMethod; params: ComparedParams } {
  const r = shown.kind === 'comparison' ? shown.models[0].result : shown;
  const conv = r.provenance.conv ?? (r.kind === 'dataset-run' ? r.settings.conv : undefined) ?? 'keep';
  if (r.kind === 'trace') {
    const t = r as TraceResult;
    return { method: 'trace', params: { prompt: t.prompt, subject: t.subject, target: t.target.text, windows: t.windows.map((w) => w.window), sets: Object.keys(t.windows[0]?.curves ?? {}).filter((x) => !x.startsWith('custom:') && !x.startsWith('pos:')), conv } };
  }
  if (r.kind === 'micro') {
    const m = r as MicroResult;
    return { method: 'micro', params: { prompt: m.prompt, subject: m.subject, target: m.target.text, window: m.window, conv } };
  }
  const d = r as DatasetRunResult;
  if (!out) throw new Error('comparisonRequest: a dataset comparison needs its results file');
  const s = d.settings;
  const iv = s.interval;
  const params: DatasetRunParams = {
    dataset: d.dataset.file,
    experiment: d.experiment,
    windows: s.windows,
    ...(d.experiment === 'macro' ? { sets: s.sets } : {}),
    filter: s.filterCorrect,
    split: s.split,
    ...(s.limit !== undefined ? { limit: s.limit } : {}),
    ...(s.seed !== undefined ? { seed: s.seed } : {}),
    conv,
    ...(iv ? (iv.method === 'bootstrap' ? { ci: 'bootstrap' as const, ciResamples: iv.resamples, ciSeed: iv.seed } : { ci: 't' as const }) : { ci: 't' as const }),
    out,
  };
  return { method: 'runDataset', params };
}

/** Where the extension writes a dataset comparison: <workspace>/.mamba-explain/runs/<timestamp>-<dataset>-<experiment>-compare.json. */
export function comparisonFilePath(workspaceRoot: string, shown: Comparable, now: Date): string | undefined {
  const r = shown.kind === 'comparison' ? shown.models[0].result : shown;
  if (r.kind !== 'dataset-run') return undefined;
  return path.join(runsDir(workspaceRoot), `${timestamp(now)}-${datasetSlug(r.dataset.file)}-${r.experiment}-compare.json`);
}

/** A file-name-safe suggestion for the report of a comparison, e.g. 'knockout-compare-3-trace-beats-music-is-owned-by.html'. */
export function comparisonReportName(c: ComparisonResult): string {
  const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/gu, '-').toLowerCase().slice(0, 40).replace(/^-+|-+$/gu, '') || 'prompt';
  const r = c.models[0].result;
  const what = r.kind === 'dataset-run' ? `run-${datasetSlug(r.dataset.file)}-${r.experiment}` : `${r.kind}-${slug(r.prompt)}`;
  return `knockout-compare-${c.models.length}-${what}.html`;
}

/** The panel title of a comparison. */
export function comparisonTitle(c: ComparisonResult): string {
  const r = c.models[0].result;
  const t = r.kind === 'dataset-run' ? `${path.basename(r.dataset.file)} (${r.experiment})` : r.prompt;
  return `Compare ${c.models.length}: ${t.length > 36 ? t.slice(0, 35) + '…' : t}`;
}

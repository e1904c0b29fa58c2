// Naming of results files: <workspace>/.mamba-explain/runs/<timestamp>-<dataset>-<experiment>.json. No `vscode` import.
import * as path from 'node:path';

/** 2026-11-22T22:14:05.123Z → 20261122-221405 (UTC). */
export function timestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

/** A file-name-safe slug of a dataset file's base name (without .json): letters, digits, '-', '_' and '.'. */
export function datasetSlug(datasetFile: string): string {
  const base = path.basename(datasetFile).replace(/\.json$/iu, '');
  const slug = base.replace(/[^A-Za-z0-9._-]+/gu, '-').replace(/^[-.]+|[-.]+$/gu, '').slice(0, 60);
  return slug.length > 0 ? slug : 'dataset';
}

export function runsDir(workspaceRoot: string): string {
  return path.join(workspaceRoot, '.mamba-explain', 'runs');
}

export function resultsFilePath(workspaceRoot: string, datasetFile: string, experiment: 'macro' | 'micro', now: Date): string {
  return path.join(runsDir(workspaceRoot), `${timestamp(now)}-${datasetSlug(datasetFile)}-${experiment}.json`);
}

/** Partial/checkpoint files that the engine leaves beside a results file during a run. */
export function isResultsFileName(name: string): boolean {
  return /^\d{8}-\d{6}-.+-(macro|micro)\.json$/u.test(name);
}

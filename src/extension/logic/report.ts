// The knockout panel's "Export report…": the suggested file name, the theme, and the call to the report writer, whose
// failures become one user-facing message. No `vscode` import.
import * as path from 'node:path';
import type { AnyResult } from '../../engine/experiments/resultTypes';
import { exportReport } from '../../report/index';
import { DARK_THEME, LIGHT_THEME, type Theme } from '../../../webview/shared/colors';
import { datasetSlug } from './resultsPath';

/** A file-name-safe suggestion for the report of `r`, e.g. 'knockout-trace-the-eiffel-tower.html'. */
export function reportFileName(r: AnyResult): string {
  const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/gu, '-').replace(/^-+|-+$/gu, '').toLowerCase().slice(0, 40) || 'prompt';
  if (r.kind === 'dataset-run') return `knockout-run-${datasetSlug(r.dataset.file)}-${r.experiment}.html`;
  return `knockout-${r.kind}-${slug(r.prompt)}.html`;
}

/** The report's colours for a VS Code theme: dark and high-contrast (dark) themes get the dark palette. */
export function reportTheme(dark: boolean): Theme {
  return dark ? DARK_THEME : LIGHT_THEME;
}

export type ReportOutcome = { ok: true; path: string } | { ok: false; message: string };

/** Writes the standalone HTML report of `result` to `file`; never throws (any error is one message). */
export function writePanelReport(result: AnyResult | readonly AnyResult[], file: string, dark: boolean): ReportOutcome {
  try {
    const out = exportReport(result, file, { theme: reportTheme(dark) });
    return { ok: true, path: out };
  } catch (e) {
    const msg = String((e as Error)?.message ?? e).split('\n')[0];
    return { ok: false, message: `Could not export the report to ${path.basename(file)}: ${msg}` };
  }
}

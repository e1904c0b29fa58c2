// The report's entry points for the CLI (`mamba-explain report`, `demo --report`) and the extension ("Export report…"):
// render a result, or a results file, to one self-contained HTML page and write it atomically.
import * as path from 'node:path';
import type { AnyResult } from '../engine/experiments/resultTypes';
import { checkOutputFile, writeFileAtomic } from '../engine/util/atomicFile';
import { UserError } from '../engine/types';
import { readResultsFile, type LoadedResults } from './loadResult';
import { renderReportHtml, type ReportOptions } from './renderReport';
// registers the 'comparison' kind with the loader and the renderer
import './compareReport';

export { renderReportHtml, registerReportKind, familyLabel, knockoutLabel, type ReportOptions, type ReportKind } from './renderReport';
export { parseResults, readResultsFile, registerResultKind, knownResultKinds, type LoadedResults } from './loadResult';

/**
 * Writes the HTML report of `results` (one result, or several traces) to `outFile`: the path is checked first (its
 * folder must exist, it must not be a folder, the folder must be writable — each a UserError), then the page is
 * written atomically. Returns the absolute path. This is what the panel's "Export report…" calls.
 */
export function exportReport(results: AnyResult | readonly AnyResult[], outFile: string, options: ReportOptions = {}): string {
  const out = checkOutputFile(outFile, 'report file');
  const html = renderReportHtml(results, options);
  writeFileAtomic(out, html);
  return out;
}

/** Reads a results file (one clear UserError when it is not one) and writes its report; returns both paths. */
export function exportReportOfFile(inputFile: string, outFile: string, options: ReportOptions = {}): { input: string; out: string; loaded: LoadedResults } {
  const input = path.resolve(inputFile);
  const out = checkOutputFile(outFile, 'report file');
  if (out === input) throw new UserError(`the report file '${outFile}' is the results file itself: give another --out`);
  const loaded = readResultsFile(input);
  writeFileAtomic(out, renderReportHtml(loaded.results.length === 1 ? loaded.results[0] : loaded.results, options));
  return { input, out, loaded };
}

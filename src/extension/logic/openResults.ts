// "Open Results File…": a results file goes through the report's validating loader (readResultsFile / parseResults in
// src/report/loadResult.ts), so that the panel and the heatmap get exactly what `mamba-explain report --input`
// accepts, and a file that is not one is one UserError naming the file and the field. No `vscode` import.
import { RESULT_KINDS, type AnyResult, type ComparisonResult } from '../../engine/experiments/resultTypes';
import { UserError } from '../../engine/types';
import { readResultsFile } from '../../report/loadResult';
// registers the 'comparison' kind (and its check) with the loader
import '../../report/compareReport';

export interface OpenedResults {
  /** the result the panel shows: the file's, or the first trace of a `demo --json` record */
  result: AnyResult;
  /** how many results the file holds (a `demo --json` record on several models holds one trace per model) */
  count: number;
  /** a comparison of several models (kind 'comparison'): the panel shows it as such; `result` is its first model's */
  comparison?: ComparisonResult;
}

/** Reads and validates a results file for the knockout panel; every problem is one UserError. */
export function openResultsFile(file: string): OpenedResults {
  const loaded = readResultsFile(file);
  const result = loaded.results[0];
  if ((result.kind as string) === 'comparison') {
    const c = result as unknown as ComparisonResult;
    return { result: c.models[0].result, count: 1, comparison: c };
  }
  // a kind registered for the report only (registerResultKind) is refused here rather than drawn wrong
  if (!(RESULT_KINDS as readonly string[]).includes(result.kind))
    throw new UserError(`${file} holds results of kind '${result.kind}', which the knockout panel cannot show (it shows ${RESULT_KINDS.join(', ')}): render it with \`mamba-explain report --input\``);
  return { result, count: loaded.results.length };
}

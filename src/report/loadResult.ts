// Reading a results file for the report (and any other reader): JSON → a result of a known kind and schema version,
// or one UserError saying what the file is and why it cannot be shown. Node-safe, no DOM.
import * as fs from 'node:fs';
import { UserError } from '../engine/types';
import { datasetRunSchema, describeFailure, microSchema, oneLine, traceSchema, type Schema } from './resultSchema';
import {
  OLDEST_READABLE_SCHEMA_VERSION,
  RESULTS_SCHEMA_VERSION,
  type AnyResult,
  type DatasetRunResult,
  type MicroResult,
  type TraceResult,
} from '../engine/experiments/resultTypes';

/** What a results file holds: one result, or several traces (`demo --json` with several models). */
export interface LoadedResults {
  results: AnyResult[];
  /** the file's own kind when it wraps results (e.g. 'demo'), else the result's kind */
  kind: string;
}

type Check = (v: Record<string, unknown>) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A check of a whole result against a schema (resultSchema.ts): the first field that does not fit, described. */
export function schemaCheck(schema: Schema): Check {
  return (v) => {
    const f = schema(v, []);
    return f ? describeFailure(f) : undefined;
  };
}

/**
 * Structural checks of the kinds the report, the panel and the heatmap render: every field they read, with its type
 * and its agreement with the others (one row per token, one value per start, windows within the model's layers).
 */
const CHECKS: Record<string, Check[]> = {
  trace: [schemaCheck(traceSchema)],
  micro: [schemaCheck(microSchema)],
  'dataset-run': [schemaCheck(datasetRunSchema)],
};

/**
 * Other kinds (the feature knockout, steering, comparison results as they land) register their structural check here;
 * the report renders a kind once src/report/renderReport.ts has a renderer for it (registerReportKind).
 */
export function registerResultKind(kind: string, checks: Check[]): void {
  CHECKS[kind] = checks;
}

export function knownResultKinds(): string[] {
  return Object.keys(CHECKS);
}

/** Kinds that `--json` prints but that are not results files with figures. */
const NOT_REPORTABLE: Record<string, string> = {
  'dataset-run-summary': 'the summary that `run --json` prints; the full results file is the run\'s --out file',
  'comparison-summary': 'the summary that `run --compare-model … --json` prints; the full comparison is the run\'s --out file',
  prediction: 'a next-token prediction (`predict --json`); it has no knockout figures',
  attention: 'attention matrices (`attention --json`); they have no knockout figures',
  tokenization: 'a tokenisation (`tokenize --json`)',
  download: 'a download record (`download --json`)',
  report: 'a report record (`report --json`)',
};

/**
 * Validates parsed JSON as results and returns them. `what` names the source in messages (a file path). Accepts the
 * results of trace / micro / run (also `trace --json`'s flattened form and a run's `.partial.json` checkpoint) and the
 * `demo --json` wrapper (its one or several traces).
 */
export function parseResults(data: unknown, file: string): LoadedResults {
  const what = oneLine(file, 400);
  const notResults = (why: string) => new UserError(`${what} is not a mamba-explain results file: ${why}`);
  if (!isObj(data)) throw notResults(Array.isArray(data) ? 'it holds a JSON list (a dataset?), not a result object' : 'it is not a JSON object');
  const kind = data.kind;
  if (typeof kind !== 'string') {
    const hint = Array.isArray(data.prompts) || 'requested_rewrite' in data ? ' (a dataset? run it with `mamba-explain run --dataset`)' : '';
    throw notResults(`it has no "kind" field${hint}`);
  }
  if (kind === 'demo') {
    const inner = Array.isArray(data.results) ? data.results : data.result !== undefined ? [data.result] : undefined;
    if (!inner || inner.length === 0) throw notResults('its "demo" record holds no trace ("result" or "results")');
    const results = inner.map((r, i) => {
      if (isObj(r) && r.kind === 'demo') throw notResults(`its "demo" record holds another "demo" record (trace ${i + 1})`);
      return parseResults(r, `${what} (trace ${i + 1})`).results[0];
    });
    return { results, kind };
  }
  // own keys only: a kind such as 'constructor' or '__proto__' is not one of them
  const shown = oneLine(kind, 60);
  if (Object.hasOwn(NOT_REPORTABLE, kind)) throw new UserError(`${what} cannot be rendered as a report: it is ${NOT_REPORTABLE[kind]}`);
  const checks = Object.hasOwn(CHECKS, kind) ? CHECKS[kind] : undefined;
  if (!checks) {
    const ours = isObj(data.provenance) && isObj(data.provenance.tool) && data.provenance.tool.name === 'mamba-explain';
    throw ours
      ? new UserError(`${what} holds results of kind '${shown}', which this version of mamba-explain cannot render (it renders ${knownResultKinds().join(', ')})`)
      : notResults(`its kind '${shown}' is not one of ${knownResultKinds().join(', ')}`);
  }
  const v = data.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw notResults('it has no integer "schemaVersion"');
  if (v > RESULTS_SCHEMA_VERSION) throw new UserError(`${what} was made by a newer mamba-explain (results schema ${v}; this version reads ${OLDEST_READABLE_SCHEMA_VERSION}…${RESULTS_SCHEMA_VERSION}): update mamba-explain to render it`);
  if (v < OLDEST_READABLE_SCHEMA_VERSION) throw notResults(`its results schema ${v} is older than ${OLDEST_READABLE_SCHEMA_VERSION}`);
  for (const c of checks) {
    const why = c(data);
    if (why) throw new UserError(`${what} is not a valid '${kind}' result: ${why}`);
  }
  return { results: [data as unknown as AnyResult], kind };
}

/** Reads and validates a results file (see parseResults); every problem is one UserError naming the file. */
export function readResultsFile(file: string): LoadedResults {
  const name = oneLine(file, 400);
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new UserError(`results file '${name}' is a folder: give a results JSON file`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`results file '${name}' cannot be read: ${code === 'ENOENT' ? 'no such file' : oneLine((e as Error).message, 200)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    // V8's message quotes the text around the error, newlines included: escaped and cut to one line
    throw new UserError(`${name} is not a mamba-explain results file: it is not valid JSON (${oneLine((e as Error).message, 200)})`);
  }
  return parseResults(data, file);
}

export type { TraceResult, MicroResult, DatasetRunResult };

// Reading a results file for the report (and any other reader): JSON → a result of a known kind and schema version,
// or one UserError saying what the file is and why it cannot be shown. Node-safe, no DOM.
import * as fs from 'node:fs';
import { UserError } from '../engine/types';
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
const isNumArr = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number' || x === null);

function need(v: Record<string, unknown>, fields: [string, (x: unknown) => boolean, string][]): string | undefined {
  for (const [name, ok, what] of fields) if (!ok(v[name])) return `its "${name}" is missing or not ${what}`;
  return undefined;
}

const str = (x: unknown) => typeof x === 'string';
const num = (x: unknown) => typeof x === 'number';
const arr = (x: unknown) => Array.isArray(x);

const provenanceCheck: Check = (v) => {
  const p = v.provenance;
  if (!isObj(p) || !isObj(p.tool) || !isObj(p.model)) return 'its "provenance" (tool, model) is missing';
  return need(p.model as Record<string, unknown>, [['path', str, 'a string'], ['hash', str, 'a string'], ['nLayer', num, 'a number']]) && 'its "provenance.model" is incomplete';
};

const tokenCheck: Check = (v) => {
  const t = v.tokens as unknown[];
  if (!t.every((x) => isObj(x) && typeof x.text === 'string' && typeof x.start === 'number' && typeof x.end === 'number')) return 'its "tokens" are not {text, start, end, …} entries';
  return undefined;
};

/** Structural checks of the kinds the report renders: the fields it reads, with their types. */
const CHECKS: Record<string, Check[]> = {
  trace: [
    provenanceCheck,
    (v) => need(v, [['prompt', str, 'a string'], ['target', isObj, 'an object'], ['baseProb', num, 'a number'], ['tokens', arr, 'a list'], ['windows', arr, 'a list'], ['baseTop', arr, 'a list']]),
    tokenCheck,
    (v) =>
      (v.windows as unknown[]).every((w) => isObj(w) && typeof w.window === 'number' && isNumArr(w.starts) && isObj(w.curves) && Object.values(w.curves).every((c) => isObj(c) && isNumArr(c.diffPct)))
        ? undefined
        : 'its "windows" are not {window, starts, curves} entries',
  ],
  micro: [
    provenanceCheck,
    (v) => need(v, [['prompt', str, 'a string'], ['target', isObj, 'an object'], ['baseProb', num, 'a number'], ['tokens', arr, 'a list'], ['window', num, 'a number'], ['starts', isNumArr, 'a list of numbers'], ['diffPct', arr, 'a list']]),
    tokenCheck,
    (v) => ((v.diffPct as unknown[]).length === (v.tokens as unknown[]).length && (v.diffPct as unknown[]).every(isNumArr) ? undefined : 'its "diffPct" is not one row of numbers per token'),
  ],
  'dataset-run': [
    provenanceCheck,
    (v) => need(v, [['experiment', str, 'a string'], ['dataset', isObj, 'an object'], ['settings', isObj, 'an object'], ['prompts', arr, 'a list'], ['skipped', arr, 'a list'], ['aggregate', isObj, 'an object']]),
    (v) => {
      const a = v.aggregate as Record<string, unknown>;
      if (!arr(a.windows)) return 'its "aggregate.windows" is missing';
      return (a.windows as unknown[]).every((w) => isObj(w) && typeof w.window === 'number' && isNumArr(w.starts) && isObj(w.curves)) ? undefined : 'its "aggregate.windows" are not {window, starts, curves} entries';
    },
  ],
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
export function parseResults(data: unknown, what: string): LoadedResults {
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
    const results = inner.map((r, i) => parseResults(r, `${what} (trace ${i + 1})`).results[0]);
    return { results, kind };
  }
  if (NOT_REPORTABLE[kind]) throw new UserError(`${what} cannot be rendered as a report: it is ${NOT_REPORTABLE[kind]}`);
  const checks = CHECKS[kind];
  if (!checks) {
    const ours = isObj(data.provenance) && isObj(data.provenance.tool) && data.provenance.tool.name === 'mamba-explain';
    throw ours
      ? new UserError(`${what} holds results of kind '${kind}', which this version of mamba-explain cannot render (it renders ${knownResultKinds().join(', ')})`)
      : notResults(`its kind '${kind}' is not one of ${knownResultKinds().join(', ')}`);
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
  let text: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new UserError(`results file '${file}' is a folder: give a results JSON file`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`results file '${file}' cannot be read: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not a mamba-explain results file: it is not valid JSON (${(e as Error).message})`);
  }
  return parseResults(data, file);
}

export type { TraceResult, MicroResult, DatasetRunResult };

// Running one experiment (trace, micro, dataset run) on several models and assembling the comparison (schema 3).
// The engine holds one model per session, so the models run one after the other, each in its own session (a worker in
// the CLI and the extension, in-process in the tests: see compareSessions.ts); each model's result is exactly what the
// experiment gives on that model alone. Every input is checked before the first model opens: the folders, their
// config.json and depth against the window sizes. Progress names the model; cancelling stops the model that runs and
// runs no other. A dataset comparison keeps each finished model's run beside the results file (`<out>.model<i>.json`,
// and that run's own checkpoint while it runs) until the comparison is written, so `--resume` continues it; any error
// other than a cancellation removes the runs this call finished: no results file is half-written.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, UserError, type ProgressEvent } from '../types';
import type { ComparedResult, ComparisonResult, DatasetRunResult } from './resultTypes';
import { buildComparison } from './comparison';
import { checkWindows, defaultMacroWindows, defaultWindow, DEFAULT_MICRO_WINDOW } from './common';
import type { TraceParams } from './macro';
import type { MicroParams } from './micro';
import { partialPath, type DatasetRunParams } from './dataset';
import { parseConfigText } from '../checkpoint/index';
import { checkOutputFile, writeJsonAtomic } from '../util/atomicFile';
import { sha256File } from '../util/hash';

export type ComparedMethod = 'trace' | 'micro' | 'runDataset';
export type ComparedParams = TraceParams | MicroParams | DatasetRunParams;

/** A model of a comparison, resolved and checked (comparedModel). */
export interface ModelToCompare {
  /** as given: 'demo', 'demo-mamba1', a folder, a Hub id */
  ref: string;
  /** its folder */
  dir: string;
  /** its layer count (config.json) */
  nLayer: number;
  /** a result computed before (the panel's open trace or run): used as it is, the model is not opened */
  result?: ComparedResult;
  /** its legend label when it had one (a growing comparison keeps its labels) */
  label?: string;
}

/** One model opened for the comparison. */
export interface OpenedModel {
  run(method: ComparedMethod, params: ComparedParams, hooks: { onProgress?: (p: ProgressEvent) => void; signal?: AbortSignal }): Promise<ComparedResult>;
  close(): Promise<void>;
}

/** Opens a model (ONNX conversion on its first use reports progress). */
export type ModelOpener = (m: ModelToCompare, onProgress?: (p: ProgressEvent) => void) => Promise<OpenedModel>;

export interface ComparisonHooks {
  signal?: AbortSignal;
  /** model `index` (0-based) of `total` starts (also for a model whose result is reused) */
  onModel?(index: number, total: number, m: ModelToCompare, reused: boolean): void;
  /** progress of model `index`: its own done / total (opening, then the experiment's steps or prompts) */
  onProgress?(index: number, total: number, p: ProgressEvent, phase: 'open' | 'run'): void;
}

/**
 * A model reference checked before any work: the folder exists and has a readable config.json (its depth is what the
 * window sizes are checked against). `what` names the option in messages ('--compare-model').
 */
export function comparedModel(ref: string, dir: string, what = '--compare-model'): ModelToCompare {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`${what} '${ref}': model folder ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new UserError(`${what} '${ref}': ${dir} is a file, not a model folder (config.json, weights, tokenizer.json)`);
  const config = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(config, 'utf8');
  } catch {
    throw new UserError(`${what} '${ref}': ${dir} has no config.json: it is not a model folder`);
  }
  let nLayer: number;
  try {
    nLayer = parseConfigText(text, config).nLayer;
  } catch (e) {
    throw new UserError(`${what} '${ref}': ${(e as Error).message}`);
  }
  return { ref, dir, nLayer };
}

/** The --compare-model list: comma-separated references, none empty. */
export function splitModelList(value: string, what = '--compare-model'): string[] {
  const refs = value.split(',').map((m) => m.trim());
  if (refs.length === 0 || refs.some((m) => m === '')) throw new UserError(`${what}: empty model name in '${value}' (give MODEL[,MODEL…])`);
  return refs;
}

/**
 * The window sizes of a comparison: the ones asked for (each checked against every model's depth), else the
 * experiment's default for the shallowest model, so that every model runs the same windows.
 */
export function comparisonWindowSizes(method: ComparedMethod, experiment: 'macro' | 'micro', requested: readonly number[] | undefined, models: readonly ModelToCompare[]): number[] {
  const shallow = models.reduce((a, m) => (m.nLayer < a.nLayer ? m : a), models[0]);
  const micro = method === 'micro' || (method === 'runDataset' && experiment === 'micro');
  if (!requested || requested.length === 0) return micro ? [defaultWindow(DEFAULT_MICRO_WINDOW, shallow.nLayer)] : defaultMacroWindows(shallow.nLayer);
  for (const m of models) {
    try {
      checkWindows(requested, m.nLayer);
    } catch (e) {
      throw new UserError(`${(e as Error).message} of ${m.ref}: every model of a comparison runs the same window sizes`);
    }
  }
  return checkWindows(requested, shallow.nLayer);
}

/** Where a dataset comparison keeps model `i`'s finished run until the comparison is written. */
export function modelRunFile(out: string, i: number): string {
  return `${out}.model${i + 1}.json`;
}

/** The files a dataset comparison may leave beside `out` while it is not done (for --resume). */
export function comparisonProgressFiles(out: string, models: number): string[] {
  const files: string[] = [];
  for (let i = 0; i < models; i++) files.push(modelRunFile(out, i), partialPath(modelRunFile(out, i)));
  return files.filter((f) => fs.existsSync(f));
}

function readFinishedRun(file: string, m: ModelToCompare, datasetSha: string, params: DatasetRunParams): DatasetRunResult | undefined {
  let r: DatasetRunResult;
  try {
    r = JSON.parse(fs.readFileSync(file, 'utf8')) as DatasetRunResult;
  } catch {
    return undefined;
  }
  const same =
    r.kind === 'dataset-run' &&
    r.status === 'complete' &&
    r.dataset?.sha256 === datasetSha &&
    r.experiment === params.experiment &&
    path.resolve(r.provenance?.model?.path ?? '') === path.resolve(m.dir) &&
    JSON.stringify(r.settings?.windows) === JSON.stringify(params.windows);
  return same ? r : undefined;
}

function removeQuietly(files: readonly string[]): void {
  for (const f of files) {
    try {
      fs.unlinkSync(f);
    } catch {
      /* gone */
    }
  }
}

/**
 * Runs `method` with `params` on every model in turn (models with a `result` are not run again) and returns their
 * comparison. For dataset runs `params.out` is the comparison's results file, written atomically at the end.
 */
export async function runComparison(method: ComparedMethod, params: ComparedParams, models: readonly ModelToCompare[], open: ModelOpener, hooks: ComparisonHooks = {}): Promise<ComparisonResult> {
  if (models.length < 2) throw new UserError(`a comparison needs at least 2 models, got ${models.length}`);
  const dataset = method === 'runDataset' ? (params as DatasetRunParams) : undefined;
  let datasetSha = '';
  if (dataset) {
    checkOutputFile(dataset.out, 'results file');
    models.forEach((_, i) => {
      checkOutputFile(modelRunFile(dataset.out, i), 'model run file');
      checkOutputFile(partialPath(modelRunFile(dataset.out, i)), 'checkpoint file');
    });
    try {
      datasetSha = sha256File(dataset.dataset);
    } catch (e) {
      throw new UserError(`dataset '${dataset.dataset}' cannot be read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (dataset.resume && comparisonProgressFiles(dataset.out, models.length).length === 0)
      throw new UserError(`nothing to resume: there is no progress of a comparison beside '${dataset.out}'${fs.existsSync(dataset.out) ? ` (the comparison is already complete: '${dataset.out}')` : ''}`);
  }
  const written: string[] = [];
  const entries: { ref: string; result: ComparedResult; label?: string }[] = [];
  try {
    for (const [i, m] of models.entries()) {
      if (hooks.signal?.aborted) throw new CancelledError();
      const file = dataset ? modelRunFile(dataset.out, i) : undefined;
      const finished = m.result ?? (dataset && dataset.resume && file && fs.existsSync(file) ? readFinishedRun(file, m, datasetSha, dataset) : undefined);
      hooks.onModel?.(i, models.length, m, finished !== undefined);
      if (finished) {
        entries.push({ ref: m.ref, result: finished, label: m.label });
        continue;
      }
      const opened = await open(m, (p) => hooks.onProgress?.(i, models.length, p, 'open'));
      try {
        const own: ComparedParams = dataset && file ? { ...dataset, out: file, resume: dataset.resume === true && fs.existsSync(partialPath(file)) } : params;
        const result = await opened.run(method, own, { signal: hooks.signal, onProgress: (p) => hooks.onProgress?.(i, models.length, p, 'run') });
        if (file) written.push(file);
        entries.push({ ref: m.ref, result, label: m.label });
      } finally {
        await opened.close();
      }
    }
    const comparison = buildComparison(entries);
    if (dataset) {
      writeJsonAtomic(dataset.out, comparison);
      removeQuietly(models.map((_, i) => modelRunFile(dataset.out, i)));
    }
    return comparison;
  } catch (e) {
    // a cancelled dataset comparison keeps its progress for --resume; any other failure removes the runs it finished
    if (dataset && !(e instanceof CancelledError || hooks.signal?.aborted)) removeQuietly(written);
    throw e;
  }
}

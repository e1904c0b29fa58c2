// `--compare-model M2[,M3…]` of `trace`, `micro` and `run`: the same experiment on --model and each M in turn (each in
// its own engine worker), written as ONE comparison result (src/engine/experiments/compare.ts). Every input is checked
// before the first model opens; progress names the model; Ctrl-C stops the model that runs and runs no other.
import type { CommandIO } from './command';
import type { Options } from './args';
import { CancelledError, UserError, type ProgressEvent } from '../engine/types';
import { defaultModelDir, demoModelDir, parseEp } from '../engine/engine';
import { resolveModelRef } from '../engine/hub/index';
import { checkProviderChoice } from '../engine/util/providers';
import {
  comparedModel, comparisonProgressFiles, comparisonWindowSizes, runComparison, splitModelList,
  type ComparedMethod, type ComparedParams, type ModelToCompare,
} from '../engine/experiments/compare';
import { workerOpener } from '../engine/experiments/compareSessions';
import { renderComparison } from '../engine/experiments/renderComparison';
import { RESULTS_SCHEMA_VERSION, type ComparisonResult } from '../engine/experiments/resultTypes';
import type { DatasetRunParams } from '../engine/experiments/dataset';
import { computeDType, cudaOptions, printWarnings, progressPrinter, sweepMode } from './commands/trace';
import { COMPARE_OPTION } from './compareOption';

export { COMPARE_HELP, COMPARE_OPTION } from './compareOption';

/** Options that belong to one model and so cannot go with --compare-model. */
const ONE_MODEL_ONLY: [string, string][] = [
  ['tokenizer', 'a comparison uses each model\'s own tokenizer.json'],
  ['steer', 'steering channels belong to one model'],
  ['features', 'head and channel groups belong to one model'],
  ['feature-mode', 'feature groups belong to one model'],
  ['shard', 'a comparison runs every model on the whole selection, one model after the other'],
  ['devices', 'a comparison runs one model at a time in one engine worker'],
];

/** A model reference as --model / --compare-model take it: a shipped demo model by name, a folder or a Hub id. */
function resolveRef(ref: string, what: string): string {
  try {
    return demoModelDir(ref) ?? resolveModelRef(ref);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${what} '${ref}': ${e.message}`);
    throw e;
  }
}

/** The models of a comparison (--model first, then --compare-model), each checked; undefined without --compare-model. */
export function compareModelsOf(opts: Options): ModelToCompare[] | undefined {
  const list = opts.string(COMPARE_OPTION);
  if (list === undefined) return undefined;
  for (const [o, why] of ONE_MODEL_ONLY) if (opts.strings(o).length) throw new UserError(`--${o} cannot be combined with --compare-model: ${why}`);
  const base = opts.string('model');
  const first = base === undefined ? comparedModel('demo', defaultModelDir(), '--model') : comparedModel(base, resolveRef(base, '--model'), '--model');
  return [first, ...splitModelList(list).map((ref) => comparedModel(ref, resolveRef(ref, '--compare-model')))];
}

function progressOf(io: CommandIO, unit: string): (i: number, total: number, p: ProgressEvent, phase: 'open' | 'run') => void {
  const open = progressPrinter(io, 'steps (opening model)');
  const run = progressPrinter(io, unit);
  return (_i, _total, p, phase) => (phase === 'open' ? open(p) : run(p));
}

/**
 * Runs a trace (`method` trace), micro or dataset run with `params` on the models of --model and --compare-model and
 * prints the comparison; returns what --json prints (the comparison; for `run` a summary, the file has the rest).
 */
export async function runCompareCommand(method: ComparedMethod, params: ComparedParams, models: ModelToCompare[], opts: Options, io: CommandIO): Promise<unknown> {
  const backend = opts.string('backend');
  if (backend !== undefined && backend !== 'ort' && backend !== 'reference') throw new UserError(`--backend must be ort or reference, got '${backend}'`);
  const dtype = computeDType(opts);
  const ep = parseEp(opts.string('ep'));
  if (backend !== 'reference') checkProviderChoice(ep, dtype);
  const dataset = method === 'runDataset' ? (params as DatasetRunParams) : undefined;
  const windows = comparisonWindowSizes(method, dataset?.experiment ?? (method === 'micro' ? 'micro' : 'macro'), method === 'micro' ? ((params as { window?: number }).window !== undefined ? [(params as { window: number }).window] : undefined) : (params as { windows?: number[] }).windows, models);
  const all = method === 'micro' ? { ...params, window: windows[0] } : { ...params, windows };
  const opener = workerOpener({ ep, computeDType: dtype, backend: backend as 'ort' | 'reference' | undefined, sweep: sweepMode(opts), ...cudaOptions(opts) });
  const unit = method === 'runDataset' ? 'prompts' : 'layer steps';
  const quiet = io.json && method !== 'runDataset';
  const progress = progressOf(io, unit);
  let result: ComparisonResult;
  try {
    result = await runComparison(method, all, models, opener, {
      signal: io.signal,
      onModel: (i, total, m, reused) => {
        if (!quiet) io.err(`model ${i + 1}/${total}: ${m.ref}${m.ref !== m.dir ? ` (${m.dir})` : ''}, ${m.nLayer} layers${reused ? ': its finished run is reused (--resume)' : ''}`);
      },
      onProgress: quiet ? undefined : progress,
    });
  } catch (e) {
    if (dataset && (e instanceof CancelledError || io.signal.aborted) && comparisonProgressFiles(dataset.out, models.length).length)
      io.err(`progress kept beside ${dataset.out}: continue with the same command and --resume`);
    throw e;
  }
  result.models.forEach((m) => printWarnings(io, (m.result.warnings ?? []).map((w) => ({ ...w, message: `${m.label}: ${w.message}` }))));
  printWarnings(io, result.warnings);
  if (!io.json) io.out(renderComparison(result, dataset?.out));
  if (!dataset) return result;
  // --json of a dataset comparison: a summary, as `run --json` prints one (the file has the prompts)
  return {
    kind: 'comparison-summary',
    schemaVersion: RESULTS_SCHEMA_VERSION,
    provenance: result.provenance,
    out: dataset.out,
    experiment: result.experiment,
    coverage: result.coverage,
    models: result.models.map((m) => {
      const r = m.result as typeof m.result & { prompts: unknown[]; skipped: unknown[] };
      const { prompts, skipped, ...rest } = r;
      return { ref: m.ref, label: m.label, result: { ...rest, prompts: prompts.length, skipped: skipped.length } };
    }),
    ...(result.warnings ? { warnings: result.warnings } : {}),
  };
}

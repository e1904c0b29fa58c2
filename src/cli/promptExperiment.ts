// The run of a one-prompt knockout command (`trace`, `micro`): the knockout options they share, then the experiment on
// several models (--compare-model) or in one engine worker, its warnings on stderr and, without --json, its text.
import type { CommandIO } from './command';
import type { Options } from './args';
import type { MicroParams } from '../engine/experiments/micro';
import type { TraceParams } from '../engine/experiments/macro';
import type { MicroResult, TraceResult } from '../engine/experiments/resultTypes';
import type { ConvPath } from '../engine/interventions/spec';
import { compareModelsOf, runCompareCommand } from './compareModels';
import { convPath, featureParams, maxBatch, printWarnings, progressPrinter, steerParams, withEngine } from './commands/trace';

/** --max-batch, --conv, --features / --feature-mode and --steer as the worker's params. */
export function knockoutParams(opts: Options): { maxBatch?: number; conv?: ConvPath; features?: string; featureMode?: 'only' | 'except'; steer?: string[] } {
  return { maxBatch: maxBatch(opts), conv: convPath(opts), ...featureParams(opts), ...steerParams(opts) };
}

/**
 * Runs `method` on `params`: with --compare-model, on every model (the comparison is the command's result); else in
 * the engine worker of --model, printing its warnings and (without --json) `render(result)`; returns `json(result)`.
 */
export async function runPromptExperiment<R extends TraceResult | MicroResult>(
  method: R['kind'],
  params: R extends TraceResult ? TraceParams : MicroParams,
  opts: Options,
  io: CommandIO,
  show: { render: (r: R) => string; json: (r: R) => unknown },
): Promise<unknown> {
  const compared = compareModelsOf(opts);
  if (compared) return runCompareCommand(method, params, compared, opts, io);
  const r = await withEngine(opts, io, (client) => client.call<R>(method, params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'layer steps') }));
  printWarnings(io, r.warnings);
  if (!io.json) io.out(show.render(r));
  return show.json(r);
}

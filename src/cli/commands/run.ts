// `mamba-explain run`: a knockout experiment over a dataset, results file written atomically, --resume after Ctrl-C.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command';
import { UserError, CancelledError } from '../../engine/types';
import type { DatasetRunResult } from '../../engine/experiments/resultTypes';
import { partialPath, runInterval, type DatasetRunParams } from '../../engine/experiments/dataset';
import { parseSets } from '../../engine/experiments/positions';
import { renderDatasetRun } from '../../engine/experiments/render';
import { checkOutputFile } from '../../engine/util/atomicFile';
import { RESULTS_SCHEMA_VERSION } from '../../engine/experiments/resultTypes';
import { CONV_HELP, convPath, engineStart, featureParams, FEATURE_HELP, ENGINE_HELP, ENGINE_OPTIONS, maxBatch, printWarnings, progressPrinter, steerParams, withEngine } from './trace';
import { parseShard } from '../../engine/experiments/shard';
import { EnginePool, parseDevices, runDatasetOnPool } from '../../engine/runtime/pool';
import { parseEp } from '../../engine/engine';
import { compareModelsOf, runCompareCommand } from '../compareModels';
import { COMPARE_HELP, COMPARE_OPTION } from '../compareOption';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a macro or micro knockout experiment over a dataset (COUNTERFACT, known_1000, ROME COUNTERFACT)',
  usage: [
    'mamba-explain run [--model DIR|HUB-ID] --dataset FILE --experiment macro|micro [--window K[,K…]] [--limit N] [--seed S]',
    '                  [--no-filter] [--split] [--sets …] [--ci bootstrap|t] --out FILE [--resume] [--compare-model M2[,M3…]]',
    '                  [--ep auto|cpu|cuda|webgpu] [--json]',
    '',
    '  --window K    window sizes (macro default: 9 on models of 24+ layers, else a quarter and a half of the depth;',
    '                micro: one size, default 5 or the depth when smaller).',
    '  --limit N     use N rows of the dataset (default all; the first N, or N sampled with --seed S); the filter applies after.',
    '  --no-filter   keep prompts whose clean top-1 is not the target (default: drop them, as the seed paper).',
    '  --split       also aggregate separately by whether the subject contains position 0.',
    '  --sets …      macro source sets (default subject,relation,last; also first, all).',
    '  --ci M        95% interval of the means: bootstrap (default; percentile bootstrap of the prompts, seeded) or t (Student t).',
    '  --ci-resamples N  bootstrap resamples (default 2000);  --ci-seed S  bootstrap seed (default 0). Both are recorded in the file.',
    '  --out FILE    results file (its folder must exist; checked before any work); progress is checkpointed to FILE.partial.json.',
    '  --resume      continue an interrupted run from FILE.partial.json (same settings required; --ci may differ).',
    '  --chunk N     prompts per chunk (batching and checkpoint unit; default 8 on the CPU, 64 on a GPU).',
    '  --checkpoint S  at least S seconds between two writes of FILE.partial.json (default 2; 0 = after every chunk).',
    '  --shard I/N   run only shard I (0-based) of N: every N-th chunk of the selection; join the N files with',
    '                `mamba-explain merge --out FILE SHARD…` (the same numbers as one unsharded run; docs/sharding.md).',
    '  --devices D,D…  one engine worker per device, the chunks shared out from one queue: GPU indices (0,1,…) or',
    '                cpu,cpu; one checkpoint, one results file, the same numbers as one device. --devices 0 = --device 0.',
    CONV_HELP,
    FEATURE_HELP,
    COMPARE_HELP,
    '                 A comparison keeps each finished model\'s run beside FILE (FILE.model<i>.json) until it is written: --resume',
    '                 continues it.',
    '',
    ENGINE_HELP,
  ].join('\n'),
  flags: ['no-filter', 'split', 'resume'],
  options: ['dataset', 'experiment', 'window', 'limit', 'seed', 'sets', 'out', 'chunk', 'checkpoint', 'conv', 'ci', 'ci-resamples', 'ci-seed', 'steer', 'features', 'feature-mode', 'shard', 'devices', COMPARE_OPTION, ...ENGINE_OPTIONS],
  async run(opts, io) {
    const experiment = opts.required('experiment');
    if (experiment !== 'macro' && experiment !== 'micro') throw new UserError(`--experiment must be macro or micro, got '${experiment}'`);
    const outOpt = opts.required('out');
    const out = checkOutputFile(outOpt, 'results file');
    checkOutputFile(partialPath(out), 'checkpoint file');
    const dataset = path.resolve(opts.required('dataset'));
    if (!fs.existsSync(dataset)) throw new UserError(`dataset '${dataset}' cannot be read: no such file`);
    if (fs.statSync(dataset).isDirectory()) throw new UserError(`dataset '${dataset}' is a folder: give a JSON file`);
    if (dataset === out) throw new UserError(`--out '${outOpt}' is the dataset file itself: give another results file`);
    const ci = opts.string('ci');
    if (ci !== undefined && ci !== 'bootstrap' && ci !== 't') throw new UserError(`--ci must be bootstrap or t, got '${ci}'`);
    const sets = opts.string('sets');
    const shard = opts.string('shard');
    if (shard !== undefined) parseShard(shard);
    const devicesOpt = opts.string('devices');
    if (devicesOpt !== undefined && opts.string('device') !== undefined) throw new UserError('give --devices or --device, not both (--devices 0 is --device 0)');
    const devices = devicesOpt !== undefined ? parseDevices(devicesOpt, parseEp(opts.string('ep'))) : undefined;
    const params: DatasetRunParams = {
      dataset,
      experiment,
      windows: opts.intList('window'),
      sets: sets !== undefined ? parseSets(sets) : undefined,
      limit: opts.int('limit'),
      seed: opts.int('seed'),
      filter: !opts.flag('no-filter'),
      split: opts.flag('split'),
      out,
      resume: opts.flag('resume'),
      maxBatch: maxBatch(opts),
      chunkSize: opts.int('chunk'),
      checkpointSeconds: checkpointSeconds(opts.int('checkpoint')),
      conv: convPath(opts),
      ...featureParams(opts),
      ...steerParams(opts),
      ci: ci as 'bootstrap' | 't' | undefined,
      ciResamples: opts.int('ci-resamples'),
      ciSeed: opts.int('ci-seed'),
      ...(shard !== undefined ? { shard } : {}),
    };
    // the interval settings are checked here too, so that a bad value fails before the model is opened
    runInterval(params);
    const compared = compareModelsOf(opts);
    if (compared) return runCompareCommand('runDataset', params, compared, opts, io);
    let result: DatasetRunResult;
    try {
      const call = { signal: io.signal, onProgress: progressPrinter(io, 'prompts') };
      if (devices === undefined) result = await withEngine(opts, io, (client) => client.call<DatasetRunResult>('runDataset', params, call));
      else {
        const { start, dtype } = engineStart(opts);
        const pool = await EnginePool.start({ ...start, computeDType: dtype, onProgress: io.json ? undefined : progressPrinter(io, 'steps (opening model)') }, devices);
        try {
          // one device: the worker runs the whole run, exactly as with --device N (or --ep cpu)
          result = pool.clients.length === 1 ? await pool.clients[0].call<DatasetRunResult>('runDataset', params, call) : await runDatasetOnPool(pool, params, call);
        } finally {
          await pool.dispose();
        }
      }
    } catch (e) {
      if ((e instanceof CancelledError || io.signal.aborted) && fs.existsSync(partialPath(out)))
        io.err(`progress kept in ${partialPath(out)}: continue with the same command and --resume`);
      throw e;
    }
    printWarnings(io, result.warnings);
    if (!io.json) io.out(renderDatasetRun(result, out));
    // --json: a summary (the whole result is in the file): counts instead of the prompts and skipped lists
    const { prompts, skipped, kind: _kind, schemaVersion: _v, ...summary } = result;
    return { kind: 'dataset-run-summary', schemaVersion: RESULTS_SCHEMA_VERSION, out, ...summary, prompts: prompts.length, skipped: skipped.length };
  },
};

/** --checkpoint S: seconds ≥ 0 (checked before the model is opened). */
function checkpointSeconds(s: number | undefined): number | undefined {
  if (s !== undefined && s < 0) throw new UserError(`--checkpoint must be a number of seconds ≥ 0, got ${s}`);
  return s;
}

export default runCommand;

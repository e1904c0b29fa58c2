// `mamba-explain run`: a knockout experiment over a dataset, results file written atomically, --resume after Ctrl-C.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command';
import { UserError, CancelledError } from '../../engine/types';
import type { DatasetRunResult } from '../../engine/experiments/resultTypes';
import { partialPath, type DatasetRunParams } from '../../engine/experiments/dataset';
import { parseSets } from '../../engine/experiments/positions';
import { renderDatasetRun } from '../../engine/experiments/render';
import { assertParentFolderExists } from '../../engine/util/atomicFile';
import { CONV_HELP, convPath, ENGINE_HELP, ENGINE_OPTIONS, maxBatch, progressPrinter, withEngine } from './trace';

export const runCommand: Command = {
  name: 'run',
  summary: 'run a macro or micro knockout experiment over a dataset (COUNTERFACT, known_1000, ROME COUNTERFACT)',
  usage: [
    'mamba-explain run [--model DIR|HUB-ID] --dataset FILE --experiment macro|micro [--window K[,K…]] [--limit N] [--seed S]',
    '                  [--no-filter] [--split] [--sets …] --out FILE [--resume] [--ep auto|cpu|cuda|webgpu] [--json]',
    '',
    '  --limit N     use N rows of the dataset (the first N, or N sampled with --seed S); the filter applies after.',
    '  --no-filter   keep prompts whose clean top-1 is not the target (default: drop them, as the seed paper).',
    '  --split       also aggregate separately by whether the subject contains position 0.',
    '  --out FILE    results file (its folder must exist); progress is checkpointed to FILE.partial.json.',
    '  --resume      continue an interrupted run from FILE.partial.json (same settings required).',
    '  --chunk N     prompts per chunk (batching and checkpoint unit, default 8).',
    CONV_HELP,
    '',
    ENGINE_HELP,
  ].join('\n'),
  flags: ['no-filter', 'split', 'resume'],
  options: ['dataset', 'experiment', 'window', 'limit', 'seed', 'sets', 'out', 'chunk', 'conv', ...ENGINE_OPTIONS],
  async run(opts, io) {
    const experiment = opts.required('experiment');
    if (experiment !== 'macro' && experiment !== 'micro') throw new UserError(`--experiment must be macro or micro, got '${experiment}'`);
    const out = path.resolve(opts.required('out'));
    assertParentFolderExists(out, 'results file');
    const dataset = path.resolve(opts.required('dataset'));
    if (!fs.existsSync(dataset)) throw new UserError(`dataset '${dataset}' cannot be read: no such file`);
    const sets = opts.string('sets');
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
      conv: convPath(opts),
    };
    let result: DatasetRunResult;
    try {
      result = await withEngine(opts, io, (client) => client.call<DatasetRunResult>('runDataset', params, { signal: io.signal, onProgress: progressPrinter(io, 'prompts') }));
    } catch (e) {
      if ((e instanceof CancelledError || io.signal.aborted) && fs.existsSync(partialPath(out)))
        io.err(`progress kept in ${partialPath(out)}: continue with the same command and --resume`);
      throw e;
    }
    if (!io.json) io.out(renderDatasetRun(result, out));
    const { prompts, skipped, ...summary } = result;
    return { out, ...summary, prompts: prompts.length, skipped: skipped.length };
  },
};

export default runCommand;

// `mamba-explain merge --out FILE SHARD.json …`: the results files of `run --shard I/N` → the unsharded run's file.
import type { Command } from '../command';
import { UserError } from '../../engine/types';
import { RESULTS_SCHEMA_VERSION } from '../../engine/experiments/resultTypes';
import { mergeShardFiles } from '../../engine/experiments/merge';
import { renderDatasetRun } from '../../engine/experiments/render';
import { printWarnings } from './trace';

export const mergeCommand: Command = {
  name: 'merge',
  summary: 'merge the results files of a sharded dataset run (run --shard I/N) into one',
  usage: [
    'mamba-explain merge --out FILE SHARD0.json SHARD1.json … [--json]',
    '',
    'Merges the results files of the N shards of one dataset run (`mamba-explain run … --shard I/N --out SHARD_I.json`)',
    'into the results file of the whole run: the same per-prompt records, aggregate (means and bootstrap intervals',
    'recomputed over all prompts), counts, skipped rows and warnings as one unsharded run; only timing and createdAt',
    'differ. The shards must be of the same model, dataset, settings, tool version and provider, each of 0 … N−1 given',
    'once (in any order). See docs/sharding.md.',
    '  --out FILE     the merged results file (its folder must exist; written atomically)',
  ].join('\n'),
  options: ['out'],
  async run(opts, io) {
    const out = opts.required('out');
    const files = opts.positionals;
    if (files.length === 0) throw new UserError('merge: no shard file given (mamba-explain merge --out FILE SHARD0.json SHARD1.json …)');
    const result = mergeShardFiles(files, out);
    printWarnings(io, result.warnings);
    if (!io.json) io.out(`merged ${files.length} shard${files.length === 1 ? '' : 's'}\n` + renderDatasetRun(result, out));
    const { prompts, skipped, kind: _kind, schemaVersion: _v, ...summary } = result;
    return { kind: 'dataset-run-summary', schemaVersion: RESULTS_SCHEMA_VERSION, out, shards: files.length, ...summary, prompts: prompts.length, skipped: skipped.length };
  },
};

export default mergeCommand;

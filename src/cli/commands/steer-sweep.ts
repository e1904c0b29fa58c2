// `mamba-explain steer-sweep`: what steering does to factual recall (SPEC §5): per scale, top-1 accuracy of the target
// and its mean log-probability with 95% intervals; with --leave-one-out, each channel's impact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command';
import type { SteerSweepResult } from '../../engine/experiments/steerSweep';
import { parseRangeList } from '../args';
import { UserError } from '../../engine/types';
import { ENGINE_HELP, ENGINE_OPTIONS, maxBatch, progressPrinter, withEngine } from './trace';

function scaleList(v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(',').map((s) => s.trim());
  if (xs.some((s) => s === '' || !Number.isFinite(Number(s)))) throw new UserError(`--scales must be a list of numbers such as 0,0.5,1,2,5,10, got '${v}'`);
  return xs.map(Number);
}

const ci = (m: { mean: number; low: number; high: number }, d = 3) => `${m.mean.toFixed(d)} [${m.low.toFixed(d)}, ${m.high.toFixed(d)}]`;

export const steerSweepCommand: Command = {
  name: 'steer-sweep',
  summary: 'top-1 accuracy and log p of the targets of a dataset per steering scale (and leave-one-out channel impacts)',
  usage: [
    'mamba-explain steer-sweep --dataset FILE --steer-layer L --channels LIST [--scales 0,0.5,1,2,5,10] [--metric accuracy|logprob]',
    '                          [--leave-one-out] [--limit N] [--seed S] [--model …] [--json]',
    '',
    'Per scale s, channels LIST of layer L\'s mixer output are multiplied by s (s = 1: unsteered) and each prompt\'s target',
    '(first token of target_true) is scored: top-1 accuracy and mean log-probability, with 95% Student-t intervals. With',
    '--leave-one-out, at each scale ≠ 1 every channel is left out in turn: impact = metric(all) − metric(all but it), paired',
    'over the prompts (--metric picks the metric, default accuracy). The unsteered prefix below layer L is computed once.',
    '',
    ENGINE_HELP,
  ].join('\n'),
  flags: ['leave-one-out'],
  options: ['dataset', 'steer-layer', 'channels', 'scales', 'metric', 'limit', 'seed', ...ENGINE_OPTIONS],
  async run(opts, io) {
    const dataset = path.resolve(opts.required('dataset'));
    if (!fs.existsSync(dataset)) throw new UserError(`dataset '${dataset}' cannot be read: no such file`);
    const layer = opts.int('steer-layer');
    if (layer === undefined) throw new UserError('missing required option --steer-layer');
    const channels = parseRangeList(opts.required('channels'), '--channels');
    const metric = opts.string('metric');
    if (metric !== undefined && metric !== 'accuracy' && metric !== 'logprob') throw new UserError(`--metric must be accuracy or logprob, got '${metric}'`);
    const params = {
      dataset,
      layer,
      channels,
      scales: scaleList(opts.string('scales')),
      metric: metric as 'accuracy' | 'logprob' | undefined,
      leaveOneOut: opts.flag('leave-one-out'),
      limit: opts.int('limit'),
      seed: opts.int('seed'),
      maxBatch: maxBatch(opts),
    };
    const r = await withEngine(opts, io, (client) => client.call<SteerSweepResult>('steerSweep', params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'passes') }));
    if (!io.json) {
      io.out(`${r.prompts} prompts of ${r.dataset.file} (${r.skipped.length} skipped); layer ${r.layer}, ${r.channels.length} channels`);
      io.out('scale   top-1 accuracy [95% CI]      mean log p(target) [95% CI]');
      for (const s of r.scales) io.out(`${String(s.scale).padStart(5)}   ${ci(s.accuracy).padEnd(28)} ${ci(s.logprob)}`);
      for (const l of r.leaveOneOut ?? []) {
        io.out(`leave-one-out at ×${l.scale} (${r.metric}: all − without the channel):`);
        io.out('  ' + l.channels.map((c) => `${c.channel} ${ci(c.impact, 4)}`).join('; '));
      }
    }
    return r;
  },
};

export default steerSweepCommand;

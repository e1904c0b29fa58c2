// `mamba-explain bottlenecks`: where to steer (SPEC §5): the effective rank of each layer's mixer output over a corpus
// (the dip marks the bottleneck) and the channels of a layer ranked by the variance across texts of their mean.
import * as path from 'node:path';
import type { Command } from '../command';
import type { BottleneckResult } from '../../engine/experiments/bottlenecks';
import { sparkline } from '../../engine/experiments/render';
import { ENGINE_HELP, ENGINE_OPTIONS, progressPrinter, withEngine } from './trace';

export const bottlenecksCommand: Command = {
  name: 'bottlenecks',
  summary: 'effective rank of every layer\'s mixer output over a corpus and the high-variance channels of the bottleneck layer',
  usage: [
    'mamba-explain bottlenecks --corpus FILE [--layer L] [--texts N] [--max-tokens 512] [--top K] [--model …] [--json]',
    '',
    '  --corpus FILE   a text file (one text per blank-line-separated paragraph), JSON Lines with "text", or a COUNTERFACT-style',
    '                  JSON file (its prompts)',
    '  --layer L       the layer whose channels are ranked (default: the layer of lowest effective rank)',
    '  --texts N       at most N texts (default 50); --max-tokens: tokens per text (default 512); --top K channels listed (default 32)',
    'Effective rank = exp(entropy(σ / Σσ)) of the singular values of the [tokens, d_model] mixer output; channel variance = sample',
    'variance across texts of the per-text mean over tokens. Use the channels with --steer L:CHANNELS:S.',
    '',
    ENGINE_HELP,
  ].join('\n'),
  options: ['corpus', 'layer', 'texts', 'max-tokens', 'top', ...ENGINE_OPTIONS],
  async run(opts, io) {
    const params = { corpus: path.resolve(opts.required('corpus')), layer: opts.int('layer'), texts: opts.int('texts'), maxTokens: opts.int('max-tokens'), top: opts.int('top') };
    const r = await withEngine(opts, io, (client) => client.call<BottleneckResult>('bottlenecks', params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'steps') }));
    if (!io.json) {
      io.out(`corpus ${r.corpus.file}: ${r.corpus.texts} texts, ${r.corpus.tokens} tokens`);
      const er = r.layers.map((l) => l.effectiveRank);
      io.out(`effective rank per layer  ${sparkline(er, [Math.min(...er), Math.max(...er)])}  min ${Math.min(...er).toFixed(1)} at layer ${r.bottleneck}, max ${Math.max(...er).toFixed(1)}`);
      io.out(r.layers.map((l) => `  ${String(l.layer).padStart(3)}  ${l.effectiveRank.toFixed(2)}`).join('\n'));
      io.out(`channels of layer ${r.layer} by variance of the per-text mean (top ${r.channels.length}):`);
      io.out('  ' + r.channels.map((c) => `${c.channel} (${c.variance.toExponential(2)})`).join(', '));
      io.out(`steer them: --steer ${r.layer}:${r.channels.slice(0, 16).map((c) => c.channel).sort((a, b) => a - b).join(',')}:5`);
    }
    return r;
  },
};

export default bottlenecksCommand;

// `mamba-explain micro`: per-position attention knockout heatmap for one prompt (SPEC §3), run in the engine worker.
import type { Command } from '../command';
import type { MicroResult } from '../../engine/experiments/resultTypes';
import type { MicroParams } from '../../engine/experiments/micro';
import { renderMicro } from '../../engine/experiments/render';
import { COMPARE_HELP, COMPARE_OPTION } from '../compareOption';
import { knockoutParams, runPromptExperiment } from '../promptExperiment';
import { CONV_HELP, FEATURE_HELP, ENGINE_HELP, ENGINE_OPTIONS } from './trace';

export const microCommand: Command = {
  name: 'micro',
  summary: 'micro attention knockout: position × window-start heatmap for one prompt',
  usage: [
    'mamba-explain micro [--model DIR|HUB-ID] --prompt TEXT [--target TEXT] [--subject TEXT] [--window K] [--conv keep|block]',
    '                    [--compare-model M2[,M3…]] [--ep auto|cpu|cuda|webgpu] [--json]',
    '',
    'For each single position c and each start ℓ = 0 … L−K, blocks (last ← c) in layers ℓ … ℓ+K−1 (every head) and reports p′',
    'and diff%.',
    '  --target TEXT  a leading space is added when missing; its first token is the target (default: the clean top-1)',
    '  --subject TEXT marks the subject\'s tokens (optional)',
    '  --window K     one window size (default 5, or the model depth when smaller)',
    CONV_HELP,
    FEATURE_HELP,
    COMPARE_HELP,
    '',
    ENGINE_HELP,
  ].join('\n'),
  options: ['prompt', 'subject', 'target', 'window', 'conv', 'features', 'feature-mode', 'steer', COMPARE_OPTION, ...ENGINE_OPTIONS],
  async run(opts, io) {
    const params: MicroParams = {
      prompt: opts.required('prompt'),
      subject: opts.string('subject'),
      target: opts.string('target'),
      window: opts.int('window'),
      ...knockoutParams(opts),
    };
    return runPromptExperiment<MicroResult>('micro', params, opts, io, { render: renderMicro, json: (r) => r });
  },
};

export default microCommand;

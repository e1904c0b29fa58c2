// `mamba-explain micro`: per-position attention knockout heatmap for one prompt (SPEC §3), run in the engine worker.
import type { Command } from '../command';
import type { MicroResult } from '../../engine/experiments/resultTypes';
import type { MicroParams } from '../../engine/experiments/micro';
import { renderMicro } from '../../engine/experiments/render';
import { CONV_HELP, convPath, ENGINE_HELP, ENGINE_OPTIONS, maxBatch, progressPrinter, withEngine } from './trace';

export const microCommand: Command = {
  name: 'micro',
  summary: 'micro attention knockout: position × window-start heatmap for one prompt',
  usage: [
    'mamba-explain micro [--model DIR|HUB-ID] --prompt TEXT [--target TEXT] [--subject TEXT] [--window K] [--ep auto|cpu|cuda|webgpu] [--json]',
    '',
    'For each single position c and each start ℓ = 0 … L−K, blocks (last ← c) in layers ℓ … ℓ+K−1 (every head) and reports p′',
    'and diff%. --target: a leading space is added when missing; default the clean top-1. --window default 5 (or the depth).',
    CONV_HELP,
    '',
    ENGINE_HELP,
  ].join('\n'),
  options: ['prompt', 'subject', 'target', 'window', 'conv', ...ENGINE_OPTIONS],
  async run(opts, io) {
    const params: MicroParams = {
      prompt: opts.required('prompt'),
      subject: opts.string('subject'),
      target: opts.string('target'),
      window: opts.int('window'),
      maxBatch: maxBatch(opts),
      conv: convPath(opts),
    };
    const r = await withEngine(opts, io, (client) =>
      client.call<MicroResult>('micro', params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'layer steps') }),
    );
    if (!io.json) io.out(renderMicro(r));
    return r;
  },
};

export default microCommand;

// `mamba-explain generate`: the greedy continuation of a prompt, steered beside clean (SPEC §5), through the recurrent
// step graphs (one position per token).
import type { Command } from '../command';
import type { GenerateResult } from '../../engine/experiments/generate';
import { parseSteer, steerLabel } from '../../engine/interventions/steering';
import { UserError } from '../../engine/types';
import { ENGINE_HELP, ENGINE_OPTIONS, progressPrinter, withEngine } from './trace';

export const STEER_HELP =
  '  --steer L:CHANNELS:S  multiply channels of layer L\'s mixer output (after out_proj, d_model wide) by S at every position\n' +
  '                 (CHANNELS = 4,38,84 or ranges 10-20); repeat for several layers; preset:mamba-130m = the steering paper\'s\n' +
  '                 preset (layer 20, ×5, 16 channels). Results record it (provenance.steer).';

export const generateCommand: Command = {
  name: 'generate',
  summary: 'greedy continuation of a prompt, with and without steering, side by side',
  usage: [
    'mamba-explain generate --prompt TEXT [--max-tokens N] [--steer L:CHANNELS:S …] [--top K] [--model …] [--json]',
    '',
    'Greedy decoding through each layer\'s recurrent step graph (conv and SSM state, one position per token).',
    '  --max-tokens N  tokens to generate (default 20, at most 1024)',
    '  --top K         the top-K tokens per step in the JSON (default 5)',
    STEER_HELP,
    'JSON: {"prompt", "promptIds", "clean": {"ids", "text", "steps": [{"id", "text", "top": [{id, text, prob}]}]}, "steered": {…}, "steer", "tokensPerSecond"}',
    '',
    ENGINE_HELP,
  ].join('\n'),
  options: ['prompt', 'max-tokens', 'steer', 'top', ...ENGINE_OPTIONS],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim() === '') throw new UserError('the prompt is empty');
    const steer = opts.strings('steer').flatMap((s) => parseSteer(s));
    const params = { prompt, maxTokens: opts.int('max-tokens'), top: opts.int('top'), steer };
    const r = await withEngine(opts, io, (client) => client.call<GenerateResult>('generate', params, { signal: io.signal, onProgress: io.json ? undefined : progressPrinter(io, 'tokens') }));
    if (!io.json) {
      io.out(`prompt    ${JSON.stringify(r.prompt)}   ep ${r.ep}`);
      io.out(`clean     ${JSON.stringify(r.clean.text)}   (${r.tokensPerSecond.clean.toFixed(1)} tokens/s)`);
      if (r.steered) io.out(`steered   ${JSON.stringify(r.steered.text)}   (${r.steer!.map(steerLabel).join(' + ')}; ${r.tokensPerSecond.steered!.toFixed(1)} tokens/s)`);
      else io.out('(no --steer given: only the clean continuation)');
    }
    return r;
  },
};

export default generateCommand;

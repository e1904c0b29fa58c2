// mamba-explain attention: the attention matrices M_h (SPEC §1) of one layer for a prompt.
import type { Command } from '../command';
import { closeEngineSession } from '../../engine/engine';
import { attention } from '../../engine/runtime/methods';
import { UserError } from '../../engine/types';
import { cliContext, openForCli } from './predict';

export const attentionCommand: Command = {
  name: 'attention',
  summary: "One layer's attention matrices M_h[i,j] for a prompt",
  usage: [
    'Usage: mamba-explain attention --prompt TEXT --layer I [--model DIR] [--tokenizer FILE] [--ep auto|cuda|webgpu|cpu] [--json]',
    '',
    '  --layer I   layer index (0-based)',
    '  JSON: {"layer":I,"tokens":[{id,text,start,end}],"heads":[[[...]]]} with heads[h][i][j] = M_h[i,j]',
  ].join('\n'),
  options: ['model', 'prompt', 'layer', 'tokenizer', 'ep', 'dtype'],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
    const layer = opts.int('layer');
    if (layer === undefined) throw new UserError('missing required option --layer');
    const session = await openForCli(opts, io);
    try {
      const r = await attention(session, { prompt, layers: [layer] }, cliContext(io));
      const heads = r.layers[0].heads;
      if (!io.json) {
        io.out(`layer ${layer}, ${heads.length} heads, tokens: ${r.tokens.map((t) => JSON.stringify(t.text)).join(' ')}`);
        heads.forEach((m, h) => {
          io.out(`head ${h}:`);
          for (const row of m) io.out('  ' + row.map((v) => v.toFixed(3).padStart(8)).join(' '));
        });
      }
      return { layer, tokens: r.tokens, heads };
    } finally {
      await closeEngineSession(session);
    }
  },
};

export default attentionCommand;

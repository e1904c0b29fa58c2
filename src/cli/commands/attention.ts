// mamba-explain attention: one layer's attention matrices for a prompt: Mamba-2 heads M_h (SPEC §1), Mamba-1
// channels α_c (SPEC §2).
import type { Command } from '../command';
import { closeEngineSession } from '../../engine/engine';
import { attention } from '../../engine/runtime/methods';
import { UserError } from '../../engine/types';
import { cliContext, openForCli } from './predict';

export const attentionCommand: Command = {
  name: 'attention',
  summary: "One layer's attention matrices for a prompt (Mamba-2 heads M_h, Mamba-1 channels α_c)",
  usage: [
    'Usage: mamba-explain attention --prompt TEXT --layer I [--channels LIST] [--model DIR] [--tokenizer FILE] [--ep auto|cuda|webgpu|cpu] [--json]',
    '',
    '  --layer I          layer index (0-based)',
    '  --channels LIST    Mamba-1 only: the channels to print, e.g. 0,5,10-20 (default: all)',
    '  JSON, Mamba-2: {"layer":I,"unit":"head","tokens":[{id,text,start,end}],"heads":[[[...]]]} with heads[h][i][j] = M_h[i,j]',
    '  JSON, Mamba-1: {"layer":I,"unit":"channel","tokens":[…],"channelIds":[c…],"channels":[[[...]]],"mean":[[...]],"maxAbs":[[...]]}',
    '                 with channels[k][i][j] = α_c[i,j] for c = channelIds[k], mean / maxAbs = mean α / max |α| over them',
  ].join('\n'),
  options: ['model', 'prompt', 'layer', 'channels', 'tokenizer', 'ep', 'dtype'],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
    const layer = opts.int('layer');
    if (layer === undefined) throw new UserError('missing required option --layer');
    const channels = opts.rangeList('channels');
    const session = await openForCli(opts, io);
    try {
      const r = await attention(session, { prompt, layers: [layer], channels }, cliContext(io));
      const a = r.layers[0];
      const printMatrix = (title: string, m: number[][]) => {
        io.out(`${title}:`);
        for (const row of m) io.out('  ' + row.map((v) => v.toFixed(3).padStart(8)).join(' '));
      };
      const toks = r.tokens.map((t) => JSON.stringify(t.text)).join(' ');
      if (a.unit === 'head') {
        const heads = a.heads!;
        if (!io.json) {
          io.out(`layer ${layer}, ${heads.length} heads, tokens: ${toks}`);
          heads.forEach((m, h) => printMatrix(`head ${h}`, m));
        }
        return { layer, unit: a.unit, tokens: r.tokens, heads };
      }
      if (!io.json) {
        const ids = a.channelIds!;
        io.out(`layer ${layer}, ${ids.length} channels, tokens: ${toks}`);
        printMatrix(`mean α over ${ids.length} channels`, a.mean!);
        printMatrix(`max |α| over ${ids.length} channels`, a.maxAbs!);
        if (channels) a.channels!.forEach((m, k) => printMatrix(`channel ${ids[k]}`, m));
        else io.out('(pass --channels LIST to print single channels, or --json for all of them)');
      }
      return { layer, unit: a.unit, tokens: r.tokens, channelIds: a.channelIds, channels: a.channels, mean: a.mean, maxAbs: a.maxAbs };
    } finally {
      await closeEngineSession(session);
    }
  },
};

export default attentionCommand;

// mamba-explain attention: one layer's attention matrices for a prompt: Mamba-2 heads M_h (SPEC §1), Mamba-1
// channels α_c (SPEC §2).
import type { Command } from '../command';
import { closeEngineSession } from '../../engine/engine';
import { attention } from '../../engine/runtime/methods';
import { UserError } from '../../engine/types';
import { cliContext, openForCli, PREDICT_ENGINE_HELP } from './predict';
import { printWarnings } from './trace';
import { promptWarnings, provenance } from '../../engine/experiments/common';
import { RESULTS_SCHEMA_VERSION } from '../../engine/experiments/resultTypes';
import { CONTINUATION, tokenLabels } from '../../engine/util/tokenText';

/** --head H|mean|max: one head, or the mean / (signed) max over the heads. */
export type HeadChoice = number | 'mean' | 'max';

export function parseHead(v: string | undefined): HeadChoice | undefined {
  if (v === undefined) return undefined;
  if (v === 'mean' || v === 'max') return v;
  if (/^\d+$/.test(v)) return Number(v);
  throw new UserError(`--head must be a head index (0-based), mean or max, got '${v}'`);
}

/** The matrix of a head choice: heads[h], or the element-wise mean / max over heads. */
export function selectHeads(heads: number[][][], choice: HeadChoice): number[][] {
  if (typeof choice === 'number') {
    if (choice >= heads.length) throw new UserError(`--head ${choice} is out of range: the model has ${heads.length} heads per layer (0…${heads.length - 1})`);
    return heads[choice];
  }
  return heads[0].map((row, i) =>
    row.map((_, j) => {
      let acc = choice === 'max' ? -Infinity : 0;
      for (const m of heads) acc = choice === 'max' ? Math.max(acc, m[i][j]) : acc + m[i][j];
      return choice === 'max' ? acc : acc / heads.length;
    }),
  );
}

export const attentionCommand: Command = {
  name: 'attention',
  summary: "One layer's attention matrices for a prompt (Mamba-2 heads M_h, Mamba-1 channels α_c)",
  usage: [
    'Usage: mamba-explain attention --prompt TEXT --layer I [--head H|mean|max] [--channels LIST] [--model DIR|HUB-ID] [--tokenizer FILE]',
    '                              [--ep auto|cuda|webgpu|cpu] [--json]',
    '',
    '  --layer I          layer index (0-based)',
    '  --head H|mean|max  Mamba-2: one head (0-based), or the mean / max over the heads (default: every head);',
    '                     Mamba-1: mean = mean α, max = max |α| over the channels',
    '  --channels LIST    Mamba-1 only: the channels to print, e.g. 0,5,10-20 (default: all)',
    PREDICT_ENGINE_HELP,
    '  JSON, Mamba-2: {"layer":I,"unit":"head","tokens":[{id,text,start,end}],"heads":[[[...]]]} with heads[h][i][j] = M_h[i,j]',
    '  JSON, Mamba-1: {"layer":I,"unit":"channel","tokens":[…],"channelIds":[c…],"channels":[[[...]]],"mean":[[...]],"maxAbs":[[...]]}',
    '                 with channels[k][i][j] = α_c[i,j] for c = channelIds[k], mean / maxAbs = mean α / max |α| over them',
    '  Every JSON result also has kind "attention", schemaVersion and provenance; with --head: "head" and "matrix" (the selection).',
  ].join('\n'),
  options: ['model', 'prompt', 'layer', 'head', 'channels', 'tokenizer', 'ep', 'dtype', 'device'],
  async run(opts, io) {
    const prompt = opts.required('prompt');
    if (prompt.trim().length === 0) throw new UserError('the prompt is empty');
    const layer = opts.int('layer');
    if (layer === undefined) throw new UserError('missing required option --layer');
    const channels = opts.rangeList('channels');
    const head = parseHead(opts.string('head'));
    const session = await openForCli(opts, io);
    try {
      const r = await attention(session, { prompt, layers: [layer], channels }, cliContext(io));
      const a = r.layers[0];
      const warnings = promptWarnings(session, prompt, session.tokenizer.encode(prompt), undefined, undefined);
      printWarnings(io, warnings);
      const head0 = { kind: 'attention', schemaVersion: RESULTS_SCHEMA_VERSION, provenance: provenance(session), prompt, ...(warnings.length ? { warnings } : {}) };
      const printMatrix = (title: string, m: number[][]) => {
        io.out(`${title}:`);
        for (const row of m) io.out('  ' + row.map((v) => v.toFixed(3).padStart(8)).join(' '));
      };
      const toks = tokenLabels(prompt, r.tokens, r.tokens.map((t) => t.text))
        .map((t, i) => `${i}:${t === CONTINUATION ? t : JSON.stringify(t)}`)
        .join(' ');
      if (a.unit === 'head') {
        const heads = a.heads!;
        if (head !== undefined) {
          const matrix = selectHeads(heads, head);
          const label = typeof head === 'number' ? `head ${head}` : `${head} over ${heads.length} heads`;
          if (!io.json) {
            io.out(`layer ${layer}, ${label}, tokens: ${toks}`);
            printMatrix(label, matrix);
          }
          return { ...head0, layer, unit: a.unit, tokens: r.tokens, head, matrix };
        }
        if (!io.json) {
          io.out(`layer ${layer}, ${heads.length} heads, tokens: ${toks}`);
          heads.forEach((m, h) => printMatrix(`head ${h}`, m));
        }
        return { ...head0, layer, unit: a.unit, tokens: r.tokens, heads };
      }
      if (typeof head === 'number')
        throw new UserError(`--head ${head}: this model (${session.identity.variant === 'falcon_mamba' ? 'Falcon-Mamba' : 'Mamba-1'}) has channels, not heads; use --channels LIST, or --head mean|max for the mean α / max |α| over the channels`);
      if (head !== undefined) {
        const matrix = head === 'mean' ? a.mean! : a.maxAbs!;
        const label = head === 'mean' ? `mean α over ${a.channelIds!.length} channels` : `max |α| over ${a.channelIds!.length} channels`;
        if (!io.json) {
          io.out(`layer ${layer}, ${label}, tokens: ${toks}`);
          printMatrix(label, matrix);
        }
        return { ...head0, layer, unit: a.unit, tokens: r.tokens, head, matrix, channelIds: a.channelIds };
      }
      if (!io.json) {
        const ids = a.channelIds!;
        io.out(`layer ${layer}, ${ids.length} channels, tokens: ${toks}`);
        printMatrix(`mean α over ${ids.length} channels`, a.mean!);
        printMatrix(`max |α| over ${ids.length} channels`, a.maxAbs!);
        if (channels) a.channels!.forEach((m, k) => printMatrix(`channel ${ids[k]}`, m));
        else io.out('(pass --channels LIST to print single channels, or --json for all of them)');
      }
      return { ...head0, layer, unit: a.unit, tokens: r.tokens, channelIds: a.channelIds, channels: a.channels, mean: a.mean, maxAbs: a.maxAbs };
    } finally {
      await closeEngineSession(session);
    }
  },
};

export default attentionCommand;

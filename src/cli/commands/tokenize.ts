// `mamba-explain tokenize [--tokenizer FILE | --model DIR|HUB-ID] --text TEXT [--json]`: ids, tokens and offsets of a
// text; the tokenizer defaults to the demo model's, like every other command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command';
import { loadTokenizer } from '../../engine/tokenizer/index';
import { UserError } from '../../engine/types';
import { defaultModelDir } from '../../engine/engine';
import { RESULTS_SCHEMA_VERSION, type ToolProvenance } from '../../engine/experiments/resultTypes';
import { sha256File } from '../../engine/util/hash';
import { TOOL_VERSION } from '../../engine/version';
import { MODEL_HELP, modelRef } from './trace';

export interface TokenizeResult {
  ids: number[];
  tokens: string[];
  /** [start, end) in UTF-16 code units of the text */
  offsets: [number, number][];
}

/** Quoted, with control characters escaped, so that whitespace tokens stay visible. */
function visible(s: string): string {
  return JSON.stringify(s);
}

export function renderTokenTable(text: string, r: TokenizeResult): string {
  const rows = r.ids.map((id, i) => [String(i), String(id), visible(r.tokens[i]), `${r.offsets[i][0]}-${r.offsets[i][1]}`, visible(text.slice(r.offsets[i][0], r.offsets[i][1]))]);
  const head = ['#', 'id', 'token', 'offsets', 'text'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => [...row[c]].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 4 ? cell : cell + ' '.repeat(widths[c] - [...cell].length))).join('  ').trimEnd();
  return [line(head), ...rows.map(line), `${r.ids.length} token${r.ids.length === 1 ? '' : 's'}`].join('\n');
}

export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'tokenise a text with a tokenizer.json (ids, tokens, offsets)',
  usage: [
    'Usage: mamba-explain tokenize --text TEXT [--tokenizer FILE | --model DIR|HUB-ID] [--json]',
    '',
    '  --text TEXT       the text to tokenise (no BOS is added)',
    '  --tokenizer FILE  a Hugging Face tokenizer.json (byte-level BPE, e.g. gpt-neox-20b)',
    "                    (default: the model's tokenizer.json, i.e. the bundled demo model's when --model is not given)",
    MODEL_HELP,
    '  --json            print {"kind":"tokenization","schemaVersion":…,"provenance":{…},"text":…,"ids":[...],"tokens":[...],',
    '                    "offsets":[[start,end],...]} (UTF-16 offsets)',
  ].join('\n'),
  options: ['tokenizer', 'text', 'model'],
  async run(opts, io) {
    const text = opts.required('text');
    const tokOpt = opts.string('tokenizer');
    const modelOpt = opts.string('model');
    let file: string;
    if (tokOpt !== undefined) file = path.resolve(tokOpt);
    else {
      const dir = modelOpt !== undefined ? modelRef(modelOpt) : defaultModelDir();
      file = path.join(dir, 'tokenizer.json');
      if (!fs.existsSync(file)) throw new UserError(`no tokenizer.json in ${dir}: pass --tokenizer FILE`);
    }
    const tokenizer = loadTokenizer(file);
    const e = tokenizer.encode(text);
    const result: TokenizeResult = { ids: e.ids, tokens: e.tokens, offsets: e.offsets };
    if (!io.json) io.out(renderTokenTable(text, result));
    const provenance: ToolProvenance = { tool: { name: 'mamba-explain', version: TOOL_VERSION }, createdAt: new Date().toISOString(), tokenizer: { file, sha256: sha256File(file) } };
    return { kind: 'tokenization', schemaVersion: RESULTS_SCHEMA_VERSION, provenance, text, ...result };
  },
};
